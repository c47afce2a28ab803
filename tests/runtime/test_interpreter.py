"""Tier 0: blocks shared between threads, calls run straight on their operands, and the scratch
buffers give the kernel's bits and its errors."""
from __future__ import annotations

import sys
import threading
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fusenum
from fusenum.ir import nodes
from fusenum.ir.ops import OPS
from fusenum.runtime import interpreter
from fusenum.runtime import threads as threads_module

from ..strategies import DTYPES
from .test_tiers import assert_bits, both_tiers, cases, check_out_in_both_tiers


@contextmanager
def shared_from(elements: int, block: int, threads: int = 3):
    """Calls of ``elements`` or more run in blocks of ``block``, shared between ``threads``."""
    saved = interpreter.LARGE_ELEMENTS, interpreter.LARGE_BLOCK, interpreter.SHARED_BLOCK
    interpreter.LARGE_ELEMENTS, interpreter.LARGE_BLOCK, interpreter.SHARED_BLOCK = elements, block, block
    interpreter.clear()
    previous = fusenum.set_num_threads(threads)
    try:
        yield
    finally:
        interpreter.LARGE_ELEMENTS, interpreter.LARGE_BLOCK, interpreter.SHARED_BLOCK = saved
        interpreter.clear()
        fusenum.set_num_threads(previous)


@contextmanager
def counting_shares():
    """A list that gets the number of ranges of every shared call made in the block."""
    counts: list[int] = []
    original = threads_module.run_python

    def spy(function, ranges, threads):
        counts.append(len(ranges))
        return original(function, ranges, threads)
    threads_module.run_python = spy
    try:
        yield counts
    finally:
        threads_module.run_python = original


@given(cases())
def test_shared_blocks_give_the_kernels_bits(simd, case):
    tree, values = case
    with shared_from(2, 2):
        expected, got = both_tiers(lambda: fusenum.evaluate(tree.text(), local_dict=values))
    if expected is not None:
        assert_bits(expected, got)


@given(cases(), st.sampled_from(DTYPES), st.booleans(), st.sampled_from(["K", "C", "F"]))
def test_shared_blocks_write_out_like_the_kernel(simd, case, out_dtype, swapped, order):
    with shared_from(2, 2):
        check_out_in_both_tiers(case, out_dtype, swapped, order)


@pytest.mark.parametrize("threads", [1, 2, 3, 5])
def test_a_large_call_is_shared_in_ranges_of_blocks(threads):
    rng = np.random.default_rng(3)
    size = 2 * interpreter.LARGE_ELEMENTS + 123  # not a whole number of blocks
    a = rng.random(size)
    b = rng.random(size).astype(">f4")  # byte-swapped, cast in the iterator's buffers
    c = rng.random((size, 2))[:, 1]  # strided
    names = {"a": a, "b": b, "c": c}
    text = "sin(a) * b + where(a > c, c, 2.5)"
    previous = fusenum.set_num_threads(threads)
    try:
        with counting_shares() as counts:
            expected, got = both_tiers(lambda: fusenum.evaluate(text, local_dict=names))
    finally:
        fusenum.set_num_threads(previous)
    assert_bits(expected, got)
    if threads == 1:
        assert counts == []
    else:  # at least one range per thread, none longer than MAX_RANGE_ELEMENTS
        (ranges,) = counts
        assert ranges >= threads and ranges * interpreter.MAX_RANGE_ELEMENTS >= size


def test_a_small_call_runs_on_the_calling_thread():
    a = np.arange(interpreter.LARGE_ELEMENTS - 1, dtype=np.float64)
    with counting_shares() as counts:
        expected, got = both_tiers(lambda: fusenum.evaluate("a * 2 + 1", local_dict={"a": a}))
    assert_bits(expected, got)
    assert counts == []


@pytest.mark.parametrize("where", [0, -1])
def test_an_error_in_any_share_is_raised(where):
    """A one-node kernel's error (a negative integer power) raised by the calling thread's share
    or a worker's is the call's error, raised once every share is done."""
    exponent = np.ones(1000, np.int64)
    exponent[where] = -1
    names = {"a": np.arange(1000, dtype=np.int64), "e": exponent}
    with shared_from(10, 10), pytest.raises(ValueError, match="negative integer powers"):
        previous = fusenum.set_tiering("always")
        try:
            fusenum.evaluate("a ** e", local_dict=names)
        finally:
            fusenum.set_tiering(previous)


def test_shares_are_computed_whatever_the_thread_count():
    rng = np.random.default_rng(8)
    a, b = rng.random(10_001), rng.random(10_001)
    previous = fusenum.set_tiering("always")
    try:
        results = []
        for threads in (1, 2, 3, 7):
            with shared_from(1000, 64, threads):
                results.append(fusenum.evaluate("exp(a) - b * cos(a)", local_dict={"a": a, "b": b}))
    finally:
        fusenum.set_tiering(previous)
    for result in results[1:]:
        assert_bits(results[0], result)


@contextmanager
def through_the_iterator():
    """Every interpreted call walks its operands with the iterator, none straight on them."""
    original = interpreter._plain
    interpreter._plain = lambda operands, out, uniform_slots: False
    try:
        yield
    finally:
        interpreter._plain = original


def interpreted(run):
    previous = fusenum.set_tiering("always")
    try:
        return run()
    finally:
        fusenum.set_tiering(previous)


@given(cases())
def test_a_call_run_straight_on_its_operands_gives_the_iterators_bits(simd, case):
    tree, values = case
    run = lambda: fusenum.evaluate(tree.text(), local_dict=values)  # noqa: E731
    try:
        with through_the_iterator():
            expected = interpreted(run)
    except Exception as exc:
        with pytest.raises(type(exc)):
            interpreted(run)
        return
    assert_bits(expected, interpreted(run))


@pytest.mark.parametrize("size", [1, 2, interpreter.BLOCK, interpreter.DIRECT_ELEMENTS, interpreter.DIRECT_ELEMENTS + 1])
@pytest.mark.parametrize("text", ["2*a + 3*b - c", "sin(a)**2 + cos(b)**2", "where(a > b, a, c) ** 3",
                                  "fmax(a, 0.5) + x", "a ** 2 + x * c"])
def test_calls_of_any_size_give_the_kernels_bits_straight_or_through_the_iterator(size, text):
    rng = np.random.default_rng(size)
    names = {"a": rng.random(size) - 0.5, "b": rng.random(size), "c": rng.random((size, 1))[:, 0],  # c: a copy
             "x": 1.5}
    expected, got = both_tiers(lambda: fusenum.evaluate(text, local_dict=names))
    assert_bits(expected, got)
    with through_the_iterator():
        assert_bits(expected, interpreted(lambda: fusenum.evaluate(text, local_dict=names)))


@pytest.mark.parametrize("size", [1, 1000, 2 * interpreter.LARGE_ELEMENTS + 7])
@pytest.mark.parametrize("text", ["a * k", "a + sin(x) * k", "where(x > 1, x, k) - a", "fmax(x, 0.5) * a",
                                  "y * k", "-(x ** 2) + a", "(k + 1) // 2 * a"])
def test_steps_of_single_valued_arguments_give_the_kernels_bits(size, text):
    a = np.random.default_rng(size).random(size) - 0.5
    # y: one value broadcast to the call's shape (stride 0), so the whole of ``y * k`` is single-valued
    names = {"a": a, "x": 1.25, "k": 3, "y": np.broadcast_to(np.float64(1.25), (size,))}
    for run in (lambda: fusenum.evaluate(text, local_dict=names),
                lambda: fusenum.evaluate(text, local_dict=names, out=np.empty(size, ">f8"))):
        expected, got = both_tiers(run)
        assert_bits(expected, got)
        with through_the_iterator():
            assert_bits(expected, interpreted(run))


def test_a_step_of_single_valued_arguments_computes_one_element():
    """``a * k`` of a float array and an int: the cast of ``k`` is computed once per block, one
    element long, and the multiply broadcasts it (it filled a block-long buffer)."""
    float64 = np.dtype(np.float64)
    a, k = nodes.input_slot(0, float64), nodes.input_slot(1, np.dtype(np.int64))
    root = nodes.make("multiply", (a, nodes.cast(k, float64)), float64)
    program = interpreter.Program(root, 2, frozenset({1}))
    assert [step[3] for step in program.steps] == [True, False]
    lengths = []

    def spying(run):
        def spy(arguments, destination):
            lengths.append(destination.shape[0])
            run(arguments, destination)
        return spy
    program.steps = [(spying(run), *rest) for run, *rest in program.steps]
    values = np.arange(10_000.0)
    out = np.empty_like(values)
    program.run([values, np.array([3])], out)
    assert lengths == [1, 10_000]
    assert_bits(values * 3, out)


def _program(text: str, names: dict) -> interpreter.Program:
    """The program tier 0 runs for ``text`` over ``names`` (the root of its plan)."""
    from fusenum.frontend.evaluation import bind
    from fusenum.runtime.plan_cache import cached_plan
    parsed, values, key = bind(text, names, None, sys._getframe(0))
    plan = cached_plan(key, parsed, values)
    return interpreter.Program(plan.root, len(values))


def test_steps_share_buffers_once_their_values_are_read_for_the_last_time():
    f8 = np.ones(10)
    names = {"a": f8, "b": f8, "c": f8, "d": f8}
    # ``b * c`` is read by the add only, which writes over it; the subtract writes the output
    assert len(_program("a + b * c - d", names).dtypes) == 1
    # ``a * b`` is read twice: kept until its second reader, so two buffers
    assert len(_program("(a * b + c) * (a * b - c)", names).dtypes) == 2
    # a one-node kernel never writes over its argument, but a buffer read for the last time before it
    assert len(_program("sin(a + b) * c", names).dtypes) == 2
    assert len(_program("sin(a * b) + cos(c * d)", names).dtypes) == 3
    # only buffers of the step's own dtype: the comparison takes a bool one, the where (a copy, never
    # over its arguments) the product's, read for the last time by the comparison
    assert [d.kind for d in _program("where(a * b > c, d, 2.0) + 1", names).dtypes] == ["f", "b"]


@pytest.mark.parametrize("size", [1000, 2 * interpreter.LARGE_ELEMENTS + 7])
@pytest.mark.parametrize("text", ["(a * b + c) * (a * b - c)", "sin(a + b) * c - (a + b)", "sin(a * b) + cos(c * d)",
                                  "where(a * b > c, d, 2.0) + a * b", "a + b * c - d", "(a - b) ** 2 + (a - b) / c",
                                  "arctan2(a + 1, b) * (c + d) - (c + d) * 0.5", "-(a * b) + abs(a * b - 1)"])
def test_steps_sharing_buffers_give_the_kernels_bits(size, text):
    rng = np.random.default_rng(size)
    names = {n: rng.random(size) - 0.25 for n in "abcd"}
    for threads in (1, 3):
        previous = fusenum.set_num_threads(threads)
        try:
            expected, got = both_tiers(lambda: fusenum.evaluate(text, local_dict=names))
        finally:
            fusenum.set_num_threads(previous)
        assert_bits(expected, got)
        with through_the_iterator():
            assert_bits(expected, interpreted(lambda: fusenum.evaluate(text, local_dict=names)))


def test_operands_the_iterator_must_walk_are_not_run_straight():
    size, uniform = 100, frozenset({1, 2})
    plain = np.ones(size)
    assert interpreter._plain([plain, np.ones(1), np.float64(2.0).reshape(())], np.empty(size), uniform)
    # a one-element operand the program does not read as single-valued (a kernel would read past it)
    assert not interpreter._plain([plain, np.ones(1)], np.empty(size), frozenset({0}))
    assert interpreter._plain([np.ones(1)], np.empty(1), frozenset())
    assert not interpreter._plain([plain[::2]], np.empty(size // 2), uniform)  # strided
    assert not interpreter._plain([plain.astype(">f8")], np.empty(size), uniform)  # byte-swapped
    assert not interpreter._plain([np.ones(10)], np.empty((10, 10)), uniform)  # broadcast along a dimension
    assert not interpreter._plain([plain], np.empty((size, 2))[:, 0], uniform)  # strided output
    unaligned = np.zeros(8 * size + 1, np.uint8)[1:].view(np.float64)
    assert not unaligned.flags.aligned and not interpreter._plain([unaligned], np.empty(size), uniform)


def test_a_one_element_operand_not_read_as_single_valued_is_read_element_by_element():
    """(No public call makes one today: where operands may be one element, the call works out which
    are single-valued.) The iterator hands such an operand to a one-node kernel as a full block."""
    x = nodes.input_slot(0, np.dtype(np.float64))
    root = nodes.make("sin", (x,), np.dtype(np.float64))
    out = np.empty(1000)
    interpreter.run(root, [np.array([0.5])], out, scalars=frozenset())
    assert (out == out[0]).all()
    with through_the_iterator():
        expected = np.empty(1000)
        interpreter.run(root, [np.array([0.5])], expected, scalars=frozenset())
    assert_bits(expected, out)


def test_scratch_buffers_are_kept_per_thread_and_never_shared_by_nested_calls():
    dtypes = [np.dtype(np.float64), np.dtype(np.complex128), np.dtype(np.float32), np.dtype("S3")]
    size = 10_000
    with interpreter._buffers(dtypes, size) as outer:
        assert [b.dtype for b in outer] == dtypes and all(b.shape == (size,) for b in outer)
        assert all(b.flags.aligned and b.flags.writeable for b in outer)
        for k, b in enumerate(outer):
            b[...] = np.zeros((), b.dtype) if b.dtype.kind != "S" else b"abc"
            assert not any(np.shares_memory(b, other) for other in outer[k + 1:])
        with interpreter._buffers(dtypes, size) as nested:  # say, a signal handler's call
            assert not any(np.shares_memory(n, o) for n in nested for o in outer)
        outer_base = outer[0].base
    with interpreter._buffers(dtypes, size) as again:
        assert again[0].base is outer_base  # the thread's scratch, kept
    huge = [np.dtype(np.float64)] * 2
    with interpreter._buffers(huge, interpreter.SCRATCH_BYTES // 8) as big:
        big_base = big[0].base
    with interpreter._buffers(huge, interpreter.SCRATCH_BYTES // 8) as big:
        assert big[0].base is not big_base  # more than SCRATCH_BYTES is not kept


def test_a_loop_of_one_program_and_size_reuses_its_buffers_and_any_other_gets_its_own():
    dtypes = [np.dtype(np.float64), np.dtype(np.int32)]
    with interpreter._buffers(dtypes, 10_000) as first:
        pass
    with interpreter._buffers(dtypes, 10_000) as again:
        assert again is first  # the views themselves, made once
    # the same dtypes in another program's list, in another order, or another size: views of their own
    for other, size in (([np.dtype(np.int32), np.dtype(np.float64)], 10_000), (dtypes, 9_000),
                        (list(dtypes), 10_000), ([np.dtype(np.complex128)] * 2, 10_000)):
        with interpreter._buffers(other, size) as views:
            assert views is not first
            assert [v.dtype for v in views] == other and all(v.shape == (size,) for v in views)
            assert not np.shares_memory(views[0], views[1])


def test_threads_filling_a_full_program_table_at_once_keep_it_bounded(monkeypatch):
    # Making room is one step: a switch between finding the oldest key and dropping it let another
    # thread change the table ("dictionary changed size") or drop the same key (KeyError).
    monkeypatch.setattr(interpreter, "MAX_PROGRAMS", 4)
    table, errors = {}, []

    def fill(thread):
        try:
            for k in range(5000):
                interpreter._keep(table, (thread, k), k)
        except Exception as error:  # noqa: BLE001 -- any error is the failure reported
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        workers = [threading.Thread(target=fill, args=(thread,)) for thread in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == [] and len(table) == 4


@pytest.mark.parametrize("layout", ["contiguous", "reversed", "strided"])
def test_complex_absolute_gives_the_kernels_bits_whatever_the_layout(simd, layout):
    # NumPy's own complex absolute differs in the last bit between the loop it runs on contiguous
    # blocks and the one it runs on a reversed array's, so tier 0 computes it with a one-node kernel.
    z = np.array([2 - 111j, 32 - 47j, 84 - 56j, -0.5 + 3e-3j] * 40, np.complex64)
    z = {"contiguous": z, "reversed": z[::-1].copy()[::-1], "strided": np.repeat(z, 2)[::2]}[layout]
    expected, got = both_tiers(lambda: fusenum.evaluate("abs(z)", local_dict={"z": z}))
    assert_bits(expected, got)
    assert_bits(np.abs(np.ascontiguousarray(z)), got)  # (NumPy's vector loop's answer, for every layout)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_every_exact_row_gives_the_kernels_bits_on_a_reversed_array(dtype):
    # Tier 0 runs NumPy's loop for an exact row unless the row is known to answer differently with
    # the layout (KERNEL_ROWS, COMPLEX_KERNEL_ROWS). NumPy's loops for reversed arrays are where
    # they did: complex multiply, square and abs in complex64 round their last bit differently.
    rng = np.random.default_rng(1)
    names = {}
    for name in "xy":
        values = rng.standard_normal(600) * 100
        if np.dtype(dtype).kind == "c":
            values = values + 1j * rng.standard_normal(600) * 100
        names[name] = values.astype(dtype)[::-1].copy()[::-1]
    differ = []
    for op, row in OPS.items():
        if not (row.exact and row.ufunc is not None):
            continue
        text = f"{op}({', '.join('xy'[:row.ufunc.nin])})"
        with np.errstate(all="ignore"):
            expected, got = both_tiers(lambda: fusenum.evaluate(text, local_dict=names))
        if expected is not None and not _same_bits(expected, got):
            differ.append(text)
    assert differ == []


def _same_bits(expected: np.ndarray, got: np.ndarray) -> bool:
    try:
        assert_bits(expected, got)
    except AssertionError:
        return False
    return True


@pytest.mark.parametrize("function", ["isnan", "isinf", "isfinite", "signbit"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [16, 1000, 70_001])
def test_a_strided_out_is_written_whole(function, dtype, size):
    # NumPy 2.4's loops of these four left most of a strided bool ``out`` unwritten: tier 0 wrote
    # its last step straight there, and returned the old contents
    a = np.linspace(-3, 3, size).astype(dtype)
    a[::7] = np.nan
    a[::11] = -np.inf
    expected = getattr(np, function)(a - 1)
    for out in (np.ones(size, bool)[::-1], np.ones(2 * size, bool)[::2]):
        out[...] = ~expected
        fused, interpreted = both_tiers(lambda out=out: fusenum.evaluate(f"{function}(a - 1)", {"a": a}, out=out).copy())
        assert_bits(interpreted, expected)
        assert_bits(fused, expected)


@pytest.mark.parametrize("reduction", ["mean", "nansum", "nanmean", "count", "nanprod", "min", "nanmax", "all"])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "complex128", "bool"])
def test_reductions_share_a_one_node_kernel_only_where_its_code_is_the_same(reduction, dtype):
    """Tier 0 reduces ``mean``, ``nansum``, ``nanmean`` and ``count`` with ``sum``'s one-node kernel
    (one load serves them all): their kernels' code is the same, and others' is not."""
    from fusenum.codegen import settings
    from fusenum.codegen.spec import Access, KernelSpec
    from fusenum.codegen.target import make_target
    from fusenum.ir.reductions import ROWS, same_kernel
    from fusenum.runtime import kernels
    if (ROWS[reduction].combine in ("bitwise_and", "bitwise_or")) != (dtype == "bool"):
        pytest.skip("not a reduction of this dtype")
    values, accumulator = nodes.input_slot(0, np.dtype(dtype)), Access(stride="u", swapped=False)
    shared = interpreter.reduction_spec(values, reduction, accumulator, 1, False)
    assert shared.reduce == same_kernel(reduction)
    assert (same_kernel(reduction) != reduction) == (reduction in ("mean", "nansum", "nanmean", "count", "nanprod"))
    own = KernelSpec(values, shared.accesses, 1, reduce=reduction, pairwise=shared.pairwise, pieces=False)
    target = make_target(settings.key[0])
    assert kernels.module_text(own, target, False, settings.key) == kernels.module_text(shared, target, False,
                                                                                         settings.key)
