"""``round()`` and ``float()``/``int()``/``complex()`` of lazy results as NumPy answers them:
for a result that stands for a NumPy scalar (a full reduction, a ufunc of 0-d operands) the
scalar's answer, for any other lazy array the ndarray's."""
import operator
import warnings

import numpy as np
import pytest

import fusenum
from fusenum import LazyArray, lazy

X = np.array([1.2345, 2.5, 3.75])
I = np.array([12, 25, 3])


def _outcome(function):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = function()
        except Exception as exc:  # noqa: BLE001 -- NumPy's error is the expected answer
            result = (type(exc), str(exc))
    return result, [(w.category, str(w.message)) for w in caught]


def _plain(value):
    """A LazyArray standing for a NumPy scalar as that scalar (type and dtype compared below)."""
    return np.asarray(value)[()] if type(value) is LazyArray else value


CASES = {
    "round(mean)": (X, lambda a: round(a.mean())),
    "round(mean, 2)": (X, lambda a: round(a.mean(), 2)),
    "round(mean, None)": (X, lambda a: round(a.mean(), None)),
    "round(float32 sum, 1)": (X.astype(np.float32), lambda a: round(a.sum(), 1)),
    "round(int sum, -1)": (I, lambda a: round(a.sum(), -1)),
    "round(int sum)": (I, lambda a: round(a.sum())),
    "round(bool all)": (I, lambda a: round(a.all())),
    "round(complex sum)": (X, lambda a: round(a.sum() * 1j)),
    "round(complex sum .real)": (X * (1 + 2j), lambda a: round(a.sum().real)),
    "round(np.imag(complex sum))": (X * (1 + 2j), lambda a: round(np.imag(a.sum()))),
    "round(0-d array .real)": (np.array(2.5 + 1j), lambda a: round((a * 1).real)),
    "round(inf max)": (np.array([1.0, np.inf]), lambda a: round(a.max())),
    "round(array)": (X, lambda a: round(a * 2)),
    "round(0-d array, 1)": (np.array(2.5), lambda a: round(a * 1, 1)),
    "float(complex sum)": (X, lambda a: float(a.sum() + 1j)),
    "int(complex max)": (X, lambda a: int(a.max() * (1 + 0j))),
    "complex(complex sum)": (X, lambda a: complex(a.sum() + 1j)),
    "float(complex 0-d array)": (np.array(1 + 2j), lambda a: float(a + 0)),
    "int(complex 1-element array)": (np.array([1 + 2j]), lambda a: int(a + 0)),
    "index(float sum)": (X, lambda a: operator.index(a.sum())),
    "index(int sum)": (I, lambda a: operator.index(a.sum())),
}


@pytest.mark.parametrize("case", list(CASES))
def test_scalar_protocols_follow_numpy(case):
    values, function = CASES[case]
    (expected, expected_warnings) = _outcome(lambda: function(values))
    (got, got_warnings) = _outcome(lambda: function(lazy(values)))
    if type(expected) is tuple:  # NumPy's error, message included
        assert got == expected
    else:
        got = _plain(got)
        assert type(got) is type(expected) and got == expected
    assert got_warnings == expected_warnings


def test_lazy_arrays_are_unhashable_as_ndarrays_are():
    """Even one standing for a NumPy scalar: ``Hashable`` checks (xarray, pandas) see an array."""
    from collections.abc import Hashable
    for x in (lazy(X), lazy(X).max(), lazy(X) * 2):
        assert not isinstance(x, Hashable)
        with pytest.raises(TypeError, match="unhashable type"):
            hash(x)


def test_round_of_an_array_is_numpys_error_without_computing():
    fusenum.clear_cache()
    r = lazy(X) * 2
    with pytest.raises(TypeError, match="^type numpy.ndarray doesn't define __round__ method$"):
        round(r)
    assert not r.is_forced and fusenum.cache_info().misses == 0


@pytest.mark.parametrize("make", [
    lambda m: np.sum(X if m is np else lazy(X)),
    lambda m: (np.array(2.5) if m is np else lazy(np.array(2.5))) + 1,
    lambda m: (np.array(7, np.int16) if m is np else lazy(np.array(7, np.int16))) * 2,
], ids=["full reduction", "0-d float ufunc", "0-d int16 ufunc"])
def test_item_assignment_to_a_result_that_stands_for_a_scalar_is_numpys_error(make):
    def assign(m):
        value = make(m)
        value[()] = 3
        return value
    expected = _outcome(lambda: assign(np))
    assert expected[0][0] is TypeError
    assert _outcome(lambda: assign(fusenum)) == expected


def test_item_assignment_to_a_0d_array_still_writes():
    base = np.array(2.5)
    view = lazy(base)
    view[()] = 4
    assert base[()] == 4.0


# Ways NumPy code can try to change a value in place; a NumPy scalar is immutable, so none may change
# what a lazy result standing for one keeps (NumPy's error where NumPy raises one).
CHANGES = {
    "np.asarray() += 1": lambda s: np.asarray(s).__iadd__(1),
    "np.array(copy=False)": lambda s: np.array(s, copy=False).fill(7),
    "[...] = 7": lambda s: s[...].fill(7),
    "evaluate() += 1": lambda s: np.add(fusenum.evaluate(s) if type(s) is LazyArray else s, 1,
                                        out=fusenum.evaluate(s) if type(s) is LazyArray else np.asarray(s)),
    "np.copyto": lambda s: np.copyto(s, 7),
    "np.put": lambda s: np.put(s, 0, 7),
    "np.add.at": lambda s: np.add.at(s, (), 7),
    ".fill": lambda s: s.fill(7),
    ".byteswap(inplace=True)": lambda s: s.byteswap(inplace=True),
    ".flags.writeable = True": lambda s: setattr(s.flags, "writeable", True),
    "np.add(out=)": lambda s: np.add(np.array(1.0), 1, out=s),
    "np.add(out=) over a lazy 0-d": lambda s: np.add(lazy(np.array(1.0)), 1, out=s),
    "np.sum(out=)": lambda s: np.sum(lazy(X) * 2, out=s),
    ".sum(out=)": lambda s: lazy(X).sum(out=s),
    "np.gcd(out=) (NumPy computes)": lambda s: np.gcd(lazy(np.array(4)), 6, out=s),
}


@pytest.mark.parametrize("how", list(CHANGES))
def test_a_result_standing_for_a_scalar_never_changes(how):
    expected = _outcome(lambda: CHANGES[how](X.sum()))
    s = lazy(X).sum()
    got = _outcome(lambda: CHANGES[how](s))
    if type(expected[0]) is tuple:
        assert got[0] == expected[0]  # NumPy's error, message included
    assert float(s) == X.sum()
    assert float(s * 1) == X.sum()


@pytest.mark.parametrize("make", [lambda a: a.sum(),
                                  lambda a: np.array(2.5) + 1 if a is X else lazy(np.array(2.5)) + 1],
                         ids=["full reduction", "0-d ufunc"])
def test_a_result_standing_for_a_scalar_answers_as_the_scalar(make):
    """``in``, iteration, indexing and the ndarray methods are the NumPy scalar's: ``copy()`` is
    hashable, ``setflags`` and ``resize`` change nothing."""
    scalar, s = make(X), make(lazy(X))
    for question in (lambda v: 3.0 in v, lambda v: iter(v), lambda v: v[0], lambda v: hash(v.copy()),
                     lambda v: type(v.conj()), lambda v: type(v.T), lambda v: v.flags.writeable,
                     lambda v: v.setflags(write=False), lambda v: v.resize(2), lambda v: float(v)):
        assert _outcome(lambda: question(s)) == _outcome(lambda: question(scalar))


# 0-d results NumPy makes scalars beyond ufuncs and full reductions: a reduction of a 0-d array with
# keepdims=True is 0-d too, and np.angle and np.sinc end in a ufunc.
ZERO_D_SCALARS = {
    "sum(keepdims=True)": lambda a: np.sum(a, keepdims=True),
    ".max(axis=(), keepdims=True)": lambda a: a.max(axis=(), keepdims=True),
    "nanmean(keepdims=True)": lambda a: np.nanmean(a, keepdims=True),
    "angle": np.angle,
    "sinc": np.sinc,
}


@pytest.mark.parametrize("make", list(ZERO_D_SCALARS))
def test_other_0d_results_numpy_makes_scalars_are_scalars(make):
    """They answer as NumPy's scalar: no item assignment, and ``+=`` rebinds with promotion."""
    zero_d = np.array(3, np.int8)
    scalar, s = ZERO_D_SCALARS[make](zero_d), ZERO_D_SCALARS[make](lazy(zero_d))
    assert isinstance(scalar, np.generic)
    assert _outcome(lambda: operator.setitem(s, (), 1)) == _outcome(lambda: operator.setitem(scalar, (), 1))
    scalar += 1.5j
    s += 1.5j
    assert type(s) is LazyArray and np.asarray(s).dtype == scalar.dtype and np.asarray(s)[()] == scalar


class _Complex(complex):
    """A subclass that keeps complex's operators."""


@pytest.mark.parametrize("python_operator", [operator.add, operator.sub, operator.mul, operator.truediv,
                                             operator.pow])
def test_a_python_complex_with_a_float64_standing_for_a_scalar_is_pythons_arithmetic(python_operator):
    """An np.float64 is a Python float: ``complex`` computes ``c / x`` itself (rounding its division
    otherwise than NumPy's loop) and gives a Python complex; so does a result standing for one."""
    rng = np.random.default_rng(5)
    for value in [*(rng.random(50) * 10), 0.0, -0.0, np.inf, np.nan, 1e-310]:
        a = np.array([value, -np.inf])
        for c in (1.5 + 0.7j, complex(1e300, 1e-300), complex(np.inf, 0.0), -0.0j, _Complex(2.5, -1.0)):
            outcomes = []
            for x in (a.max(), lazy(a).max()):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        outcomes.append(python_operator(c, x))
                except (ZeroDivisionError, OverflowError) as error:
                    outcomes.append(type(error))
            expected, got = outcomes
            assert type(got) is type(expected), (c, value)
            if type(expected) is complex:
                assert np.asarray(got).tobytes() == np.asarray(expected).tobytes(), (c, value, got, expected)


@pytest.mark.parametrize("dtype", [">i4", ">f8", ">c8", "O"])
@pytest.mark.parametrize("how", ["method", "np.astype"])
def test_astype_of_a_scalar_result_into_a_dtype_fusenum_does_not_cast_is_the_scalars(dtype, how):
    """A NumPy scalar's ``astype`` gives a scalar, in native byte order (an ``int32`` for ``'>i4'``),
    not a writable 0-d array."""
    a = np.array([1.5, 2.5], "f4")
    if how == "np.astype" and not hasattr(np, "astype"):
        pytest.skip("this NumPy has no np.astype")
    cast = (lambda x: x.astype(dtype)) if how == "method" else (lambda x: np.astype(x, dtype))
    expected, _ = _outcome(lambda: cast(np.sum(a)))
    got, _ = _outcome(lambda: cast(np.sum(lazy(a))))
    if type(expected) is tuple:  # (NumPy 2.0's np.astype refuses a scalar)
        assert got == expected
        return
    assert type(got) is type(expected) and np.asarray(got).dtype.str == np.asarray(expected).dtype.str
    assert got == expected


SEQUENCE_PRODUCTS = {
    "s * [7]": lambda s: s * [7], "[7] * s": lambda s: [7] * s, "s * (7, 8)": lambda s: s * (7, 8),
    "(7,) * s": lambda s: (7,) * s, "s + [7]": lambda s: s + [7], "s * range(2)": lambda s: s * range(2),
}


@pytest.mark.parametrize("make", [lambda m: m(np.array([1, 2])).sum(),
                                  lambda m: m(np.array([1.5, 2.5])).sum(), lambda m: m(np.array([True])).any(),
                                  lambda m: m(np.array(2j)) * 1, lambda m: m(np.array([1, 2], np.int8)).max()],
                         ids=["int64 sum", "float64 sum", "bool any", "complex 0-d product", "int8 max"])
@pytest.mark.parametrize("write", SEQUENCE_PRODUCTS)
def test_a_scalar_times_a_python_sequence_is_numpys(make, write):
    """A NumPy scalar hands ``*`` with a list or tuple back to it: an integer repeats it, any other is
    Python's TypeError; ``+`` and a ``range`` are arrays. A result standing for that scalar did
    elementwise arithmetic with the list instead (``x.sum() * [7]`` was ``array([21])``)."""
    def outcome(value):
        try:
            result = SEQUENCE_PRODUCTS[write](value)
        except TypeError as exc:
            return TypeError, str(exc)
        return type(result), np.asarray(result).tolist()
    expected = outcome(make(lambda a: a))
    got = outcome(make(lazy))
    if expected[0] is np.ndarray:
        expected = (LazyArray, expected[1]) if got[0] is LazyArray else expected
    assert got == expected
