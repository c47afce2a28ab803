"""Forcing: the postfix program (plan key) of a lazy graph, built at capture or by walking the graph."""
import sys

import numpy as np
from hypothesis import assume, given

import fusenum
from fusenum import LazyArray, lazy
from fusenum.frontend.forcing import Program, linearize

from ..lazy_strategies import NumpyRefused, lazy_cases, run_case

f8 = np.dtype(np.float64)
a = np.arange(4.0)
b = np.ones(4)


def test_a_tree_of_distinct_arrays_has_its_program_from_capture():
    r = lazy(a) + lazy(b) * 2.5
    assert r._program == (f8, f8, float, "multiply", "add")
    assert [leaf.base for leaf in r._leaves[:2]] == [a, b] and r._leaves[2] == 2.5
    program, values = linearize(r)
    assert program == r._program and all(x is y for x, y in zip(values, r._leaves))


def test_the_same_array_twice_is_one_leaf():
    x = lazy(a)
    program, values = linearize(x * x + x)
    assert program == (f8, 0, "multiply", 0, "add")
    assert len(values) == 1 and values[0].base is a


def test_a_shared_subexpression_is_referenced_not_repeated():
    y = lazy(a) + 1
    program, values = linearize(y * y)
    assert program == (f8, int_fits_token(1), "add", ~0, "multiply")
    assert len(values) == 2


def int_fits_token(value: int):
    from fusenum.ir.typing import int_fits
    return int_fits(value)


def test_python_scalars_are_never_merged():
    two = 2
    program, values = linearize(lazy(a) * two + lazy(b) * two)
    assert program.count(int_fits_token(2)) == 2 and len(values) == 4


def test_a_computed_operand_is_recorded_as_its_array():
    r = lazy(a) + 1
    r.compute()  # (a view of the kept value: the operand is the kept value itself)
    s = r * 2
    assert s._args[0] is r._value and s._program == (f8, int_fits_token(2), "multiply")


def test_astype_is_a_cast_token():
    r = (lazy(a) * 2).astype(np.int16)
    assert r._program[-1] == ("astype", np.dtype(np.int16))
    assert linearize(r)[0] == r._program


def test_large_trees_are_walked(monkeypatch):
    monkeypatch.setattr(sys.modules["fusenum.frontend.lazy"], "MAX_INLINE_LEAVES", 2)
    r = lazy(a) + lazy(b) + lazy(a * 3)
    assert r._program is None
    np.testing.assert_array_equal(np.asarray(r), a + b + a * 3)


def test_a_long_chain_of_one_operand_operations_keeps_bounded_programs():
    # Each node holds its own program: unbounded, a chain of 20,000 ``sqrt`` took 1.5 GB and 2.7 s.
    from fusenum.frontend.lazy import MAX_INLINE_STEPS
    x, expected = lazy(a), a
    for step in range(3 * MAX_INLINE_STEPS):
        x, expected = (np.sqrt(x), np.sqrt(expected)) if step % 2 else (abs(-x), abs(-expected))
    node, programs = x, []
    while type(node) is LazyArray:
        programs.append(node._program)
        node = node._args[0]
    assert max(len(p) for p in programs if p is not None) <= MAX_INLINE_STEPS
    assert programs[0] is None and programs[-1] is not None  # (the chain's start is captured as before)
    np.testing.assert_array_equal(np.asarray(x), expected)


def test_program_names_label_each_leaf():
    x = lazy(a)
    program, _ = linearize(x * lazy(b) + x)
    assert program.names == ("lazy operand 0", "lazy operand 1")


@given(lazy_cases())
def test_captured_programs_are_what_the_walk_gives(case):
    try:
        _, got = run_case(case)
    except NumpyRefused:
        assume(False)
    assume(type(got) is LazyArray and got._program is not None and not got.is_forced)
    distinct = len({id(v) for v in got._leaves}) == len(got._leaves)
    assume(distinct)
    walked, values = linearize(got)
    assert walked == got._program
    assert all(x is y for x, y in zip(values, got._leaves)) and len(values) == len(got._leaves)


def test_lazy_plans_live_in_the_shared_plan_cache():
    fusenum.clear_cache()
    np.asarray(lazy(a) * lazy(b))
    from fusenum.runtime import PLANS
    assert Program((f8, f8, "multiply")) in PLANS
    fusenum.clear_cache()
    assert Program((f8, f8, "multiply")) not in PLANS


def test_two_threads_forcing_at_once_keep_one_value(monkeypatch):
    """Both compute (neither waits for the other), but the value kept is the first stored and both
    get views of it: a write through either reaches the lazy array."""
    import threading

    from fusenum.frontend import forcing
    run, both_inside = forcing.run, threading.Barrier(2, timeout=60)

    def run_when_both_are_inside(x, **options):
        both_inside.wait()
        return run(x, **options)
    monkeypatch.setattr(forcing, "run", run_when_both_are_inside)
    r = lazy(a) * 2 + 1
    got = [None, None]
    threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, np.asarray(r))) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert np.shares_memory(got[0], got[1]) and np.shares_memory(got[0], np.asarray(r))
    got[1][0] = -7.0
    assert np.asarray(r)[0] == -7.0
