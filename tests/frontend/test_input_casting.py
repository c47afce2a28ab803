"""``fusenum.evaluate(..., casting=...)`` covers the inputs of each operation, as NumPy's ufuncs'
``casting=`` does: ``'no'`` and ``'equiv'`` refuse what NumPy refuses (an input converted to another
dtype, a byte-swapped input under ``'no'``, a Python scalar under ``'equiv'`` unless its own dtype
is the loop's), with NumPy's ``TypeError``; ``'safe'`` and ``'same_kind'`` take what NumPy takes."""
import itertools

import numpy as np
import pytest

import fusenum

DTYPES = ["?", "u1", "i4", "i8", "f4", "f8", "c16", ">f8", ">i4"]
SCALARS = [1, 2.5, 1j, True]
BINARY = {"+": np.add, "*": np.multiply, "/": np.true_divide, ">": np.greater, "==": np.equal}
CASTINGS = ["no", "equiv", "safe", "same_kind"]


def _array(dtype: str) -> np.ndarray:
    return np.array([0, 1, 3], dtype=dtype)


def _outcome(compute):
    """The result's dtype and bytes, or the exception's kind (``TypeError`` for NumPy's casting errors)."""
    try:
        with np.errstate(all="ignore"):
            result = np.asarray(compute())
    except TypeError:
        return "TypeError"
    return result.dtype.newbyteorder("="), result.astype(result.dtype.newbyteorder("=")).tobytes()


def _both(text: str, names: dict, numpy_compute, casting: str) -> tuple:
    expected = _outcome(numpy_compute)
    got = _outcome(lambda: fusenum.evaluate(text, names, casting=casting))
    return expected, got


@pytest.mark.parametrize("casting", CASTINGS)
@pytest.mark.parametrize("symbol", BINARY)
def test_a_binary_operation_takes_and_refuses_what_numpys_ufunc_does(casting, symbol):
    ufunc = BINARY[symbol]
    differences = []
    for left, right in itertools.product(DTYPES, DTYPES + SCALARS):
        a = _array(left)
        b = right if not isinstance(right, str) else _array(right)[::-1].copy()
        if left == "?" and right == "?" and symbol in "+*":
            continue  # (a logical or/and: the same either way)
        expected, got = _both(f"a {symbol} b", {"a": a, "b": b}, lambda: ufunc(a, b, casting=casting), casting)
        if expected == "TypeError" and symbol == "/" and casting in ("safe", "same_kind"):
            continue  # NumPy refuses ``/`` of bools; not a casting matter
        if expected != got:
            differences.append((left, right, expected if expected == "TypeError" else "a result",
                                got if got == "TypeError" else "a result"))
    assert differences == []


@pytest.mark.parametrize("casting", CASTINGS)
def test_each_operation_of_an_expression_is_checked(casting):
    for dtypes in itertools.product(["i4", "f4", "f8"], repeat=3):
        a, b, c = (_array(dtype) for dtype in dtypes)
        expected, got = _both("a * b + sqrt(c)", {"a": a, "b": b, "c": c},
                              lambda: np.add(np.multiply(a, b, casting=casting), np.sqrt(c, casting=casting),
                                             casting=casting), casting)
        assert expected == got, dtypes


def test_the_error_names_the_operation_and_the_dtypes_as_numpy_does():
    a, b = _array("i4"), _array("f8")
    with pytest.raises(fusenum.CastingError) as info:
        fusenum.evaluate("b + a", casting="no")
    with pytest.raises(TypeError) as numpy_info:
        np.add(b, a, casting="no")
    assert str(info.value) == str(numpy_info.value)
    with pytest.raises(fusenum.CastingError, match=r"^cannot cast Python float to float32 under the casting rule 'equiv'$"):
        fusenum.evaluate("f * 2.5", {"f": _array("f4")}, casting="equiv")


def test_reductions_and_where_convert_as_they_do_whatever_the_casting():
    """NumPy's reductions and ``np.where`` take no ``casting=``: what they convert is not refused."""
    a, f = _array("i4"), _array("f4")
    np.testing.assert_array_equal(fusenum.evaluate("mean(a)", casting="no"), np.mean(a))
    np.testing.assert_array_equal(fusenum.evaluate("where(a > 1, a, f)", casting="no"), np.where(a > 1, a, f))
