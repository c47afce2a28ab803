"""``x ** k`` for a Python scalar ``k``: every exponent kind, every dtype, both front ends, against NumPy.

NumPy's ``**`` operator computes a few exponents with another ufunc
(``square``, ``reciprocal``, ``sqrt``), which changes the last bits, the sign
of zeros and NaNs, and for bools the dtype; ``np.power`` does not. The answers
here must be NumPy's exactly wherever NumPy takes such a path.
"""
import warnings

import numpy as np
import pytest

import fusenum
from fusenum import lazy

from ..strategies import DTYPES, assert_same, special_values

EXPONENTS = [2, -1, 0.5, 2.0, -1.0, 3, 0, 1, True, False, 1.5, -0.5, 2 + 0j, 0.5j]
REWRITTEN = {(int, 2), (int, -1), (float, 0.5), (float, 2.0), (float, -1.0)}


def _numpy(function):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return function(), None
        except Exception as exc:  # noqa: BLE001 -- NumPy's error is the expected answer
            return None, exc


def _assert_matches(expected, error, got, got_error, exact):
    if error is not None:
        assert type(got_error) is type(error) and str(got_error) == str(error), (got_error, error)
        return
    assert got_error is None, got_error
    got = np.asarray(got)
    if exact or expected.dtype.kind not in "fc":
        assert_same(expected, got)
    else:
        assert got.dtype == expected.dtype
        rtol = {2: 4e-3, 4: 1e-6, 8: 1e-13, 16: 1e-13}[np.finfo(expected.dtype).dtype.itemsize]
        np.testing.assert_allclose(got, expected, rtol=rtol, equal_nan=True)


@pytest.mark.parametrize("exponent", EXPONENTS, ids=repr)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_power_operator_matches_numpy(dtype, exponent):
    x = special_values(dtype)
    expected, error = _numpy(lambda: x ** exponent)
    exact = (type(exponent), exponent) in REWRITTEN or type(exponent) is bool
    answers = {
        "lazy": lambda: np.asarray(lazy(x) ** exponent),
        "literal": lambda: fusenum.evaluate(f"x ** {exponent!r}", local_dict={"x": x}),
        "name": lambda: fusenum.evaluate("x ** k", local_dict={"x": x, "k": exponent}),
    }
    for how, answer in answers.items():
        got, got_error = _numpy(answer)
        try:
            _assert_matches(expected, error, got, got_error, exact)
        except AssertionError as exc:
            raise AssertionError(f"{how}: {exc}") from None


@pytest.mark.parametrize("exponent", [2, -1, 0.5], ids=repr)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_in_place_power_operator_matches_numpy(dtype, exponent):
    x = special_values(dtype)

    def numpy_in_place():
        target = x.copy()
        target **= exponent
        return target

    def lazy_in_place():
        target = lazy(x)
        target **= exponent
        return np.asarray(target)

    expected, error = _numpy(numpy_in_place)
    got, got_error = _numpy(lazy_in_place)
    if error is not None:  # NumPy's in-place casting error: the type is what must match
        assert type(got_error) is type(error)
        return
    _assert_matches(expected, error, got, got_error, exact=True)


@pytest.mark.parametrize("exponent", EXPONENTS, ids=repr)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_power_of_a_result_standing_for_a_scalar_takes_no_array_shortcut(dtype, exponent):
    # A reduction's 0-d result stands for a NumPy scalar, whose ``**`` is ``power`` itself:
    # ``np.True_ ** 2`` is int64 where the array shortcut (``square``) gives int8.
    x = special_values(dtype)[:1]
    expected, error = _numpy(lambda: x.max() ** exponent)
    got, got_error = _numpy(lambda: np.asarray(lazy(x).max() ** exponent))
    if error is None:
        expected = np.asarray(expected)
    _assert_matches(expected, error, got, got_error, exact=True)
