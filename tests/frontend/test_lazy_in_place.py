"""In-place operators on one-element complex lazy arrays give NumPy's bits.

NumPy's complex multiply and square loops compute a one-element in-place call
(output = input) without the fused multiply-add of their SIMD loops, so the
last bit differs from ``x * y``; a lazy ``t *= y`` must match the in-place call.
"""
import operator

import numpy as np
import pytest

import fusenum
from fusenum import LazyArray, lazy

from ..strategies import assert_same

rng = np.random.default_rng(7)
VALUES = rng.standard_normal(300) + 1j * rng.standard_normal(300)
IN_PLACE = {"*= itself": lambda t, a: operator.imul(t, t), "*= other": lambda t, a: operator.imul(t, a),
            "*= python": lambda t, a: operator.imul(t, 1.3 - 0.7j), "**= 2": lambda t, a: operator.ipow(t, 2),
            "+= other": lambda t, a: operator.iadd(t, a)}


@pytest.mark.parametrize("how", list(IN_PLACE))
@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (3,)], ids=str)
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_in_place_complex_matches_numpy(dtype, shape, how):
    update = IN_PLACE[how]
    for value in VALUES:
        a = np.full(shape, value, dtype)
        other = np.full(shape, value * (0.9 + 0.2j), dtype)
        expected = update(a.copy(), other)
        got = update(lazy(a.copy()), other)
        assert type(got) is LazyArray
        assert_same(expected, np.asarray(got))


@pytest.mark.parametrize("exponent", [2, -1, 0.5, 3])
@pytest.mark.parametrize("shape", [(), (2,)], ids=str)
def test_in_place_power_refused_with_numpys_message(shape, exponent):
    """``bools **= 2`` fails in NumPy's ``square`` shortcut (int8), other exponents in ``power``:
    the lazy operator raises what NumPy's operator raises, message included."""
    data = np.ones(shape, bool)
    with pytest.raises(Exception) as numpy_error:
        data.copy().__ipow__(exponent)
    target = lazy(data)
    with pytest.raises(type(numpy_error.value)) as raised:
        target **= exponent
    assert str(raised.value) == str(numpy_error.value)


@pytest.mark.parametrize("force_early", [False, True])
@pytest.mark.parametrize("cast, other", [(np.int8, np.int16), (np.bool_, None)])
def test_in_place_on_the_astype_of_a_scalar_result_rebinds_as_numpy_does(cast, other, force_early):
    """``(a != a)`` of a 0-d ``a`` is a NumPy scalar, and so is its ``astype``: ``%=`` rebinds it
    to ``t % o``, promotion included. Forcing the comparison first must not make it an array."""
    a = np.array(True)
    expected = (a != a).astype(cast)
    expected %= a if other is None else a.astype(other)
    x = lazy(a)
    comparison = x != x
    if force_early:
        np.asarray(comparison)
    got = comparison.astype(cast)
    got %= x if other is None else x.astype(other)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    assert np.asarray(got) == expected


MATMUL = {"(2,3) @= (3,4)": (np.ones((2, 3)), np.ones((3, 4))),
          "int @= float": (np.ones((2, 2), int), np.eye(2)),
          "(3,) @= (3,3)": (np.arange(3.0), np.arange(9.0).reshape(3, 3)),
          "(2,2) @= int (2,2)": (np.arange(4.0).reshape(2, 2), np.arange(4).reshape(2, 2)),
          "float32 @= float64": (np.ones((2, 2), np.float32), np.full((2, 2), 1 / 3)),
          "(2,2) @= (2,)": (np.ones((2, 2)), np.ones(2))}


@pytest.mark.parametrize("case", list(MATMUL))
def test_in_place_matmul_follows_numpys_in_place_rules(case):
    """``x @= y`` is ``np.matmul(x, y, out=x)``: NumPy's ValueError if the shape would change, its
    casting error for ``same_kind``; the wrapped array is never written, as for ``+=``."""
    target, other = MATMUL[case]
    expected, error = target.copy(), None
    try:
        expected @= other
    except (TypeError, ValueError) as exc:
        error = exc
    x = lazy(target.copy())
    if error is not None:
        with pytest.raises(type(error)) as raised:
            x @= other
        assert str(raised.value) == str(error)
        return
    x @= lazy(other)
    assert type(x) is LazyArray
    assert_same(expected, np.asarray(x))
    assert x.dtype == expected.dtype


def test_in_place_matmul_never_writes_the_wrapped_array():
    a = np.ones((2, 2))
    x = lazy(a)
    x @= np.full((2, 2), 2.0)
    assert (a == 1).all() and (np.asarray(x) == 4).all()



IN_PLACE_SWAPPED = {"+= 1": lambda t: operator.iadd(t, 1), "-= 2 then += uint8": lambda t: operator.iadd(
    operator.isub(t, 2), np.array(3, np.uint8)), "+= itself": lambda t: operator.iadd(t, t)}


@pytest.mark.parametrize("how", list(IN_PLACE_SWAPPED))
@pytest.mark.parametrize("shape", [(), (5,), (2, 3)], ids=str)
@pytest.mark.parametrize("dtype", [">f8", ">i4", ">c16", ">f4", ">u2"])
def test_in_place_on_a_byte_swapped_array_is_lazy_and_keeps_the_byte_order(dtype, shape, how):
    """As on a native array: a new expression whose wrapped array is read when forced (a write
    before that is seen), NumPy's in-place dtype (byte order included) and values, also when
    used in a further expression or given to ``fusenum.evaluate``."""
    update = IN_PLACE_SWAPPED[how]
    a = (np.arange(np.prod(shape, dtype=int)) * 3 + 5).reshape(shape).astype(dtype)
    x = update(lazy(a))
    assert type(x) is LazyArray and not x.is_forced and x.dtype == np.dtype(dtype)
    a[...] += 1
    expected = update(a.copy())
    assert_same(expected, np.asarray(x))
    assert np.asarray(x).dtype == x.compute().dtype == expected.dtype
    assert_same(expected * 2 - 1, np.asarray(update(lazy(a)) * 2 - 1))
    assert fusenum.evaluate(update(lazy(a)), order="C").dtype == expected.dtype


class _OptsOut:
    """Opts out of NumPy's operators: NumPy's binary operators defer to it, its in-place ones refuse it."""

    __array_ufunc__ = None

    def __radd__(self, other):
        return "_OptsOut.__radd__"

    def __rmatmul__(self, other):
        return "_OptsOut.__rmatmul__"


class _Prior:
    """A higher ``__array_priority__`` and a reflected ``+``: NumPy's ``+=`` defers to it."""

    __array_priority__ = 1000

    def __radd__(self, other):
        return "_Prior.__radd__"


def _outcome(function):
    try:
        result = function()
    except TypeError as exc:  # NumPy's error is the expected answer
        return TypeError, str(exc)
    return np.asarray(result) if type(result) is LazyArray else result


OTHERS = {
    "*= matrix": (lambda: np.matrix([[1.0, 2.0], [3.0, 4.0]]), operator.imul),
    "+= matrix": (lambda: np.matrix([[1.0, 2.0], [3.0, 4.0]]), operator.iadd),
    "-= masked": (lambda: np.ma.array([[1.0, 2.0], [3.0, 4.0]], mask=[[0, 1], [0, 0]]), operator.isub),
    "+= opted out": (_OptsOut, operator.iadd),
    "@= opted out": (_OptsOut, operator.imatmul),
    "+= priority": (_Prior, operator.iadd),
}


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize("how", list(OTHERS))
def test_in_place_with_an_operand_fusenum_does_not_capture_is_numpys_in_place(how):
    """NumPy's in-place operator, not its binary one: the target stays an ndarray (``*=`` a matrix
    multiplies elementwise, a masked array's data is used), an opted-out operand is refused, and
    a priority operand with a reflected operator answers itself."""
    make, update = OTHERS[how]
    a = np.arange(4.0).reshape(2, 2)
    expected = _outcome(lambda: update(a.copy(), make()))
    got = _outcome(lambda: update(lazy(a.copy()), make()))
    assert type(got) is type(expected)
    if type(expected) is np.ndarray:
        assert_same(expected, got)
    else:
        assert got == expected


def test_matmul_with_an_operand_that_opted_out_asks_it():
    assert lazy(np.ones(3)) @ _OptsOut() == np.ones(3) @ _OptsOut() == "_OptsOut.__rmatmul__"
    s = lazy(np.ones(3)).sum()
    s @= _OptsOut()  # a NumPy scalar has no in-place @: Python asks the other operand
    assert s == "_OptsOut.__rmatmul__"


@pytest.mark.parametrize("how", ["read-only array", "setflags", "forced, then setflags"])
def test_in_place_on_a_read_only_lazy_array_raises_numpys_error(how):
    """NumPy refuses ``x += v`` on a read-only ``x`` before anything else; fusenum rebound ``x`` to a
    new expression. An unforced expression is no array yet, so it is not read-only."""
    a = np.arange(3.0)
    if how == "read-only array":
        a.setflags(write=False)
        x = lazy(a)
    elif how == "setflags":
        x = lazy(a)
        x.setflags(write=False)
    else:
        x = lazy(a) * 2
        np.asarray(x)
        x.setflags(write=False)
    for other in (1, "s", np.zeros(4)):
        y = x
        with pytest.raises(ValueError, match="^output array is read-only$"):
            y += other
        assert y is x
    z = lazy(a) * 2
    z += 1  # (still an expression: rebound, as before)
    assert_same(np.asarray(z), a * 2 + 1)


def test_in_place_on_the_imag_of_a_real_expression_raises_numpys_error():
    """NumPy's ``.imag`` of a real array is read-only zeros; of a complex one, a view (rebound here)."""
    x = np.array([1, 2, 3], "u2")
    v = (lazy(x) * 2).imag
    with pytest.raises(ValueError, match="^output array is read-only$"):
        v += 1
    w = (lazy(x) * 2j).imag
    w += 1
    assert_same(w, (x * 2j).imag + 1)
