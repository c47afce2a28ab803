"""Random expressions over every op, dtype, shape and layout: fusenum == NumPy, at every SIMD width,
compiled and interpreted (the ``tier`` fixture)."""
import numpy as np
import pytest
from hypothesis import assume, given

import fusenum
from fusenum.ir.typing import SUPPORTED

from .strategies import Inexact, Tree, UnsupportedValue, assert_same, expressions, oracle, with_layout


# fusenum types a whole expression before running it; NumPy runs each operator as
# it goes. So when an expression has both a typing error and a data-dependent one
# (a negative integer exponent), NumPy may report the data error first.
TYPING_ERRORS = (TypeError, OverflowError)


def is_data_error(exc: Exception) -> bool:
    """An error NumPy raises for a value, which a type error elsewhere in the expression may come
    before in fusenum (it types the whole expression first: the README's "Exactly NumPy's answer")."""
    return ((isinstance(exc, ValueError) and "negative integer powers" in str(exc))
            or (isinstance(exc, OverflowError) and "out of bounds for" in str(exc)))


def _run_both(tree, values):
    try:
        expected = oracle(tree, values)
    except Inexact:
        assume(False)
    except UnsupportedValue:
        with pytest.raises(fusenum.UnsupportedDTypeError):
            fusenum.evaluate(tree.text(), local_dict=values)
        return None, None
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


_A = Tree("name", "a", ())


@pytest.mark.parametrize("tree, values", [
    # NumPy's last bit of a complex abs depends on the layout (the README's "Exactly NumPy's answer"):
    # the oracle gives the contiguous one, fusenum's for every layout
    (Tree("call", "abs", (_A,)),
     {"a": with_layout(np.array([8.2161818 - 0.5227485j, 3.3043709 - 4.1306353j] * 4, np.complex64), "reversed")}),
    # 0-d: the oracle's answer keeps its shape
    (Tree("call", "abs", (Tree("call", "add", (_A, Tree("literal", 2j, ()))),)), {"a": np.array(True)}),
])
def test_the_oracle_s_complex_abs_is_fusenum_s_on_any_layout_and_shape(tree, values):
    expected, got = _run_both(tree, values)
    assert expected.shape == np.shape(values["a"])
    assert_same(expected, got)
    out = np.full(expected.shape, 7, expected.dtype)
    assert_same(expected, fusenum.evaluate(tree.text(), local_dict=values, out=out))


def test_a_type_error_comes_before_a_value_error():
    # (a CI draw: NumPy meets the int8 overflow of 128 + conj(True) first; fusenum types the whole
    # expression first, and complex % has no loop)
    values = {"a": 128, "b": np.array(True)}
    with pytest.raises(OverflowError, match="out of bounds for int8"):
        2j % (values["a"] + np.conj(values["b"]))
    with pytest.raises(TypeError, match="remainder"):
        fusenum.evaluate("2j % (a + conj(b))", local_dict=values)
