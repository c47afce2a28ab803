"""``fusenum.evaluate(..., casting=...)`` covers the inputs of each operation, as NumPy's ufuncs'
``casting=`` does: ``'no'`` and ``'equiv'`` refuse what NumPy refuses (an input converted to another
dtype, a byte-swapped input under ``'no'``, a Python scalar where the installed NumPy refuses it),
with NumPy's ``TypeError``; ``'safe'`` and ``'same_kind'`` take what NumPy takes. The same holds
over dask arrays and in ``fusenum.explain``."""
import itertools
import re

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
    f = _array("f4")
    try:
        np.multiply(f, 2.5, casting="equiv")
    except TypeError as error:  # (NumPy 2.4 refuses it, 2.0 takes it)
        with pytest.raises(fusenum.CastingError, match=f"^{re.escape(str(error))}$"):
            fusenum.evaluate("f * 2.5", casting="equiv")
    else:
        assert fusenum.evaluate("f * 2.5", casting="equiv").dtype == np.float32


@pytest.mark.parametrize("casting", CASTINGS)
def test_logical_operations_take_inputs_of_any_dtypes_as_numpys_do(casting):
    for name in ("logical_and", "logical_or", "logical_xor"):
        for left, right in itertools.product(["?", "i4", "f4", "f8"], repeat=2):
            a, b = _array(left), _array(right)
            expected, got = _both(f"{name}(a, b)", {"a": a, "b": b},
                                  lambda: getattr(np, name)(a, b, casting=casting), casting)
            assert expected == got, (name, left, right)


@pytest.mark.parametrize("casting", CASTINGS)
def test_clip_refuses_what_numpys_clip_refuses(casting):
    """``clip`` is typed through an expansion (an out-of-range bound of an integer array is dropped,
    as NumPy 2.1+ drops it); the conversions are still judged as NumPy's ``clip`` judges them."""
    u, f = _array("u1"), _array("f8")
    for text, arguments in [("clip(u, 0, f)", (u, 0, f)), ("clip(u, -1, f)", (u, -1, f)),
                            ("clip(u, f, 300)", (u, f, 300)), ("clip(2, u, f)", (2, u, f)),
                            ("clip(2.5, u, 5)", (2.5, u, 5)), ("clip(f, 0, 1)", (f, 0, 1)),
                            ("clip(u, u, u)", (u, u, u))]:
        try:
            expected, got = _both(text, {"u": u, "f": f}, lambda: np.clip(*arguments, casting=casting), casting)
        except OverflowError:  # NumPy 2.0 refuses the out-of-range bound itself, as fusenum then does
            with pytest.raises(OverflowError):
                fusenum.evaluate(text, {"u": u, "f": f}, casting=casting)
            continue
        assert expected == got, text


@pytest.mark.parametrize("casting", CASTINGS)
def test_a_numpy_function_of_python_scalars_is_checked_as_numpys_ufunc_checks_it(casting):
    """``sqrt(2)`` is computed when the text is typed, but it is NumPy's ufunc on Python scalars
    (``np.sqrt(2, casting='no')`` refuses the int64 -> float64 conversion); an operator on them
    (``2.5 * 2``) is Python's arithmetic, which ``casting=`` does not cover, and on a NumPy scalar
    (``absolute(-3) * 1.5``) NumPy's ufunc, which it does."""
    x = _array("f8")
    cases = [("sqrt(s)", {"s": 2}, lambda: np.sqrt(2, casting=casting)),
             ("sqrt(2)", {}, lambda: np.sqrt(2, casting=casting)),
             ("sqrt(2.0)", {}, lambda: np.sqrt(2.0, casting=casting)),
             ("add(s, t)", {"s": True, "t": 1}, lambda: np.add(True, 1, casting=casting)),
             ("multiply(2.5, 2)", {}, lambda: np.multiply(2.5, 2, casting=casting)),
             ("minimum(s, 3)", {"s": np.float32(2)}, lambda: np.minimum(np.float32(2), 3, casting=casting)),
             ("2.5 * 2", {}, lambda: 2.5 * 2),
             # an operator on a NumPy scalar that a function of literals gave is NumPy's ufunc again
             ("absolute(-3) * 1.5", {},
              lambda: np.multiply(np.absolute(-3, casting=casting), 1.5, casting=casting)),
             ("max(3) * 1.5", {}, lambda: np.multiply(np.max(3), 1.5, casting=casting)),
             ("amax(1e300) * -2", {}, lambda: np.multiply(np.max(1e300), -2, casting=casting)),
             ("absolute(True) - 1.5", {}, lambda: np.subtract(np.absolute(True, casting=casting), 1.5,
                                                               casting=casting))]
    for inner, names, numpy_inner in cases:
        expected, got = _both(f"x + {inner}", {"x": x, **names},
                              lambda: np.add(x, numpy_inner(), casting=casting), casting)
        assert expected == got, inner


def test_explain_raises_what_evaluate_raises():
    a, b = _array("i4"), _array("f8")
    with pytest.raises(fusenum.CastingError, match="Cannot cast ufunc 'add' input 0"):
        fusenum.explain("a + b", casting="no")
    with pytest.raises(fusenum.CastingError, match="with casting rule 'no'"):
        fusenum.explain("b + 1", {"b": b.astype(">f8")}, casting="no")
    assert "elementwise" in str(fusenum.explain("a + b", casting="safe"))


def test_dask_arrays_are_checked_as_ndarrays_are():
    da = pytest.importorskip("dask.array")
    a, b = da.from_array(_array("i4"), chunks=2), da.from_array(_array("f8"), chunks=2)
    with pytest.raises(fusenum.CastingError, match="Cannot cast ufunc 'add' input 0"):
        fusenum.evaluate("a + b", casting="equiv")
    with pytest.raises(fusenum.CastingError, match="with casting rule 'no'"):
        fusenum.evaluate("b * b", {"b": da.from_array(_array(">f8"), chunks=2)}, casting="no")
    np.testing.assert_array_equal(fusenum.evaluate("b * b", casting="no").compute(), _array("f8") ** 2)


def test_reductions_and_where_convert_as_they_do_whatever_the_casting():
    """NumPy's reductions and ``np.where`` take no ``casting=``: what they convert is not refused."""
    a, f = _array("i4"), _array("f4")
    np.testing.assert_array_equal(fusenum.evaluate("mean(a)", casting="no"), np.mean(a))
    np.testing.assert_array_equal(fusenum.evaluate("where(a > 1, a, f)", casting="no"), np.where(a > 1, a, f))


@pytest.mark.parametrize("casting", CASTINGS)
def test_an_operator_is_judged_by_the_ufunc_numpys_operator_calls(casting):
    """NumPy's ``f ** 2`` is ``np.square(f)``, which converts nothing, so any ``casting`` takes it;
    ``power(f, 2)`` and ``f ** 3`` convert the Python int as ``np.power(f, 2)`` does."""
    f = _array("f8")
    for text, expected in [("f ** 2", np.square(f)), ("f ** -1", np.reciprocal(f)), ("f ** 0.5", np.sqrt(f))]:
        np.testing.assert_array_equal(fusenum.evaluate(text, casting=casting), expected)
    for text, exponent in [("power(f, 2)", 2), ("f ** 3", 3)]:
        expected, got = _both(text, {"f": f}, lambda: np.power(f, exponent, casting=casting), casting)
        assert expected == got, text


def test_out_receives_a_top_level_reduction_in_its_own_dtype():
    """``out=`` is the expression's: ``sum(a)`` is reduced in float32 and converted into ``out``
    (``np.sum(a, out=o)`` reduces in ``o``'s dtype, as ``sum(a, dtype=...)`` does)."""
    a = np.array([1.0] + [2.0 ** -25] * 4, np.float32)
    out = np.zeros(())
    assert fusenum.evaluate("sum(a)", out=out) is out and out[()] == np.float64(np.sum(a)) == 1.0
    fusenum.evaluate("sum(a, dtype='f8')", out=out)
    assert out[()] == np.sum(a, out=np.zeros(())) == 1 + 2.0 ** -23
