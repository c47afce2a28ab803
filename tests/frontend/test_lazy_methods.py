"""NumPy's own methods and functions that a LazyArray hands to NumPy (forced) answer as on ndarrays:
an ``out=`` given as a LazyArray is written into and returned, and NumPy's own rules (operator
deferral, argument checks, scalar results) hold."""
import math

import numpy as np
import pytest

import fusenum
from fusenum import LazyArray, lazy

from ..numpy_outcome import assert_same_outcome

A = np.arange(12.0).reshape(3, 4) ** 1.5


@pytest.mark.parametrize("call, out_shape", [
    (lambda x, out: x.std(axis=0, out=out), (4,)),
    (lambda x, out: x.var(axis=0, ddof=1, out=out), (4,)),
    (lambda x, out: x.mean(0, None, out), (4,)),  # out by position
    (lambda x, out: x.cumsum(axis=0, out=out), A.shape),
    (lambda x, out: x.round(1, out), A.shape),
    (lambda x, out: np.round(x, 1, out=out), A.shape),
    (lambda x, out: np.round(x, out=out), A.shape),
], ids=["std", "var", "mean", "cumsum", "round method", "np.round decimals", "np.round"])
def test_a_lazy_out_of_a_method_numpy_computes_is_written_and_returned(call, out_shape):
    """``lazy(a).std(out=o)`` ran NumPy's ``_std`` on the LazyArray ``o``, whose in-place operators
    rebind: ``o`` kept the sum of squares. Now the arguments are forced first, and the LazyArray
    given as ``out`` is what comes back, NumPy having written into its value."""
    numpy_out, lazy_out = np.zeros(out_shape), lazy(np.zeros(out_shape))
    expected = call(A, numpy_out)
    got = call(lazy(A), lazy_out)
    assert expected is numpy_out and got is lazy_out
    np.testing.assert_array_equal(np.asarray(lazy_out), numpy_out)


def test_matmul_defers_to_an_operand_of_higher_priority_as_numpys_operator():
    class Deferring:
        __array_priority__ = 100

        def __rmatmul__(self, other):
            return "reflected"

    class PriorityOnly:
        __array_priority__ = 100

    assert lazy(np.ones((2, 2))) @ Deferring() == np.ones((2, 2)) @ Deferring() == "reflected"
    assert_same_outcome(lambda: np.ones((2, 2)) @ PriorityOnly(), lambda: lazy(np.ones((2, 2))) @ PriorityOnly())
    np.testing.assert_array_equal(lazy(A) @ A.T, A @ A.T)


@pytest.mark.parametrize("arguments, keywords", [
    ((1,), {"max": 3}), ((), {"min": 1, "a_max": 3}), ((1, 3), {"max": 4}), ((), {}),
    ((), {"min": 1, "max": 3}), ((), {"max": 3}), ((1, None), {}), ((None, None), {}),
], ids=repr)
def test_clip_takes_its_bounds_as_numpy_does(arguments, keywords):
    x = np.arange(6) - 1
    if "min" in keywords or "max" in keywords:
        try:
            np.clip(x, min=0)
        except TypeError:
            pytest.skip("this NumPy's clip has no min=/max= keywords")
    assert_same_outcome(lambda: np.clip(x, *arguments, **keywords), lambda: np.clip(lazy(x), *arguments, **keywords))


def test_round_of_a_zero_d_result_is_numpys_scalar():
    r = np.round(lazy(np.array([2, 3])).sum())
    r += 0.5  # a NumPy scalar's += makes a float64; a 0-d int64 array's would refuse the cast
    assert np.asarray(r).dtype == np.float64 and float(r) == 5.5
    with pytest.raises(TypeError):
        np.round(lazy(np.array(2.5)))[()] = 7  # a scalar has no item assignment


@pytest.mark.parametrize("dtype", [">i2", ">u8", ">i8", ">f4", ">c8", ">c16", "<i4", "?"])
def test_np_round_gives_numpys_dtype_byte_order_included(dtype):
    """NumPy keeps a byte-swapped integer or complex operand's dtype (floats round into native order)."""
    x = (np.arange(-3, 4) * 1.3 + (0.6j if dtype.endswith(("c8", "c16")) else 0)).astype(dtype)
    for wrapped in (lazy(x), lazy(x) * 1, lazy(x[2])):  # (a product is native, as NumPy's; 0-d: a scalar)
        expected, got = np.round(np.asarray(wrapped)), np.round(wrapped)
        assert type(got) is LazyArray and np.asarray(got).dtype.str == expected.dtype.str
        assert np.asarray(got).tobytes() == expected.tobytes()
        assert (np.ndim(expected) == 0) == (type(np.asarray(got)[()]) is type(expected[()]) is not np.ndarray)


def test_math_trunc_is_numpys():
    assert math.trunc(lazy(np.array([2.7, 0.1])).sum()) == math.trunc(np.array([2.7, 0.1]).sum()) == 2
    assert_same_outcome(lambda: math.trunc(np.array([2.7])), lambda: math.trunc(lazy(np.array([2.7]))))
    assert isinstance(fusenum.lazy(np.array([2.7])).sum(), fusenum.LazyArray)


def test_dlpack_takes_the_computed_value():
    x = lazy(A) * 2 - 1
    got = np.from_dlpack(x)
    assert got.dtype == A.dtype and np.array_equal(got, A * 2 - 1)
    assert x.__dlpack_device__() == (A * 2).__dlpack_device__()
    # a LazyArray standing for a NumPy scalar has no DLPack, as the scalar has none
    # (NumPy 2.0 looks it up on the scalar's type: its message says so)
    assert_same_outcome(lambda: np.from_dlpack(np.sum(A)), lambda: np.from_dlpack(np.sum(lazy(A))),
                        message=False)
