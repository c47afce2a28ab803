"""Tier 0 (the interpreter) against tier 1 (the fused kernel): the same bits, the same errors.

Random expressions over the whole op table -- transcendental rows too, since both tiers use
fusenum's own vector math -- every dtype, shape and layout, at every SIMD width, run once with
the tiering policy ``never`` (compiled before running) and once with ``always`` (interpreted).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fusenum
from fusenum.ir.ops import FUNCTIONS

from ..strategies import (DTYPES, LITERALS, PY_OPERATORS, UNARY_OPERATORS, Tree, array_operands,
                          scalar_operands, shapes)


def all_trees(names: list[str], max_leaves: int = 6):
    """Expression trees over every operator and every function of the op table."""
    leaves = st.one_of(st.sampled_from(names).map(lambda n: Tree("name", n)),
                       LITERALS.map(lambda v: Tree("literal", v)))

    def extend(children):
        unary = st.builds(lambda s, c: Tree("unary", s, (c,)), st.sampled_from(sorted(UNARY_OPERATORS)), children)
        binary = st.builds(lambda s, l, r: Tree("binary", s, (l, r)), st.sampled_from(sorted(PY_OPERATORS)),
                           children, children)
        calls = [st.builds(lambda n, *args: Tree("call", n, args),
                           st.sampled_from(sorted(n for n, op in FUNCTIONS.items() if op.arity == arity)),
                           *[children] * arity) for arity in (1, 2, 3)]
        return st.one_of(unary, binary, *calls)
    return st.recursive(leaves, extend, max_leaves=max_leaves)


@st.composite
def cases(draw):
    shape = draw(shapes())
    values = {}
    for name in "abc"[:draw(st.integers(1, 3))]:
        values[name] = draw(scalar_operands()) if draw(st.integers(0, 9)) == 0 else draw(array_operands(shape))
    return draw(all_trees(list(values))), values


def assert_bits(expected: np.ndarray, got: np.ndarray) -> None:
    """The same dtype, shape and bytes (NaN payloads and signs included)."""
    assert got.dtype == expected.dtype and got.shape == expected.shape, (got.dtype, expected.dtype)
    e, g = np.ascontiguousarray(expected), np.ascontiguousarray(got)
    same = e.view(np.uint8) == g.view(np.uint8)
    assert same.all(), f"bits differ:\n{e}\n{g}"


def both_tiers(run):
    """``run()`` compiled and interpreted: both results, or both the same error (type and message)."""
    previous = fusenum.set_tiering("never")
    try:
        try:
            expected = run()
        except Exception as exc:
            fusenum.set_tiering("always")
            with pytest.raises(type(exc)) as raised:
                run()
            assert str(raised.value) == str(exc)
            return None, None
        fusenum.set_tiering("always")
        before = fusenum.cache_info().tier0_calls
        got = run()
        assert fusenum.cache_info().tier0_calls > before or got.size == 0
        return expected, got
    finally:
        fusenum.set_tiering(previous)


@given(cases())
def test_interpreter_gives_the_kernels_bits(simd, case):
    tree, values = case
    expected, got = both_tiers(lambda: fusenum.evaluate(tree.text(), local_dict=values))
    if expected is not None:
        assert_bits(expected, got)


@given(cases(), st.sampled_from(DTYPES), st.booleans(), st.sampled_from(["K", "C", "F"]))
def test_interpreter_writes_out_like_the_kernel(simd, case, out_dtype, swapped, order):
    tree, values = case
    try:
        shape = np.broadcast_shapes(*(np.shape(v) for v in values.values()))
    except ValueError:
        return
    dtype = out_dtype.newbyteorder() if swapped else out_dtype

    def run():
        out = np.zeros(shape, dtype, order=order)
        result = fusenum.evaluate(tree.text(), local_dict=values, out=out, casting="unsafe")
        assert result is out
        return out
    expected, got = both_tiers(run)
    if expected is not None:
        assert_bits(expected, got)
