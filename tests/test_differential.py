"""Random expressions over every op, dtype, shape and layout: fusenum == NumPy, at every SIMD width,
compiled and interpreted (the ``tier`` fixture)."""
import numpy as np
import pytest
from hypothesis import assume, given

import fusenum
from fusenum.ir.typing import SUPPORTED

from .strategies import Inexact, assert_same, expressions, oracle


# fusenum types a whole expression before running it; NumPy runs each operator as
# it goes. So when an expression has both a typing error and a data-dependent one
# (a negative integer exponent), NumPy may report the data error first.
TYPING_ERRORS = (TypeError, OverflowError)


def is_data_error(exc: Exception) -> bool:
    return isinstance(exc, ValueError) and "negative integer powers" in str(exc)


def _run_both(tree, values):
    try:
        expected = oracle(tree, values)
    except Inexact:
        assume(False)
    except Exception as exc:  # NumPy rejects it: fusenum must raise the same type (or its fusenum subclass)
        with pytest.raises(Exception) as raised:
            fusenum.evaluate(tree.text(), local_dict=values)
        if not (is_data_error(exc) and isinstance(raised.value, TYPING_ERRORS)):
            same = type(raised.value) is type(exc) or (
                isinstance(raised.value, fusenum.FusenumError) and isinstance(raised.value, type(exc)))
            assert same, (raised.value, exc)
        return None, None
    if expected.dtype.newbyteorder("=") not in SUPPORTED:  # e.g. an int beyond 64 bits, which only object arrays hold
        with pytest.raises(fusenum.UnsupportedDTypeError):
            fusenum.evaluate(tree.text(), local_dict=values)
        return None, None
    return expected, fusenum.evaluate(tree.text(), local_dict=values)


@given(expressions())
def test_random_expressions_match_numpy(simd, tier, case):
    tree, values = case
    expected, got = _run_both(tree, values)
    if expected is not None:
        assert got.dtype.isnative
        assert_same(expected, got)


@given(expressions())
def test_out_argument_matches_numpy(simd, tier, case):
    tree, values = case
    expected, _ = _run_both(tree, values)
    if expected is None:
        return
    out = np.full(expected.shape, 7, expected.dtype)
    result = fusenum.evaluate(tree.text(), local_dict=values, out=out)
    assert result is out
    assert_same(expected, out)
