"""What duck-array libraries (xarray) ask of a LazyArray without wanting its values: ``real`` and
``imag`` are captured, ``np.zeros_like`` and its kin use only the shape and dtype."""
import numpy as np
import pytest

from fusenum import LazyArray, lazy

rng = np.random.default_rng(31)
A = rng.standard_normal((4, 9))
B = rng.standard_normal((4, 9))


@pytest.mark.parametrize("values", [A, A + 1j * B, (A > 0)], ids=["float", "complex", "bool"])
def test_real_and_imag_are_captured(values):
    y = lazy(values) * 1
    real, imag = y.real, y.imag
    assert type(real) is LazyArray and type(imag) is LazyArray and not y.is_forced
    expected = values * 1
    for got, wanted in ((np.asarray(real), expected.real), (np.asarray(imag), expected.imag)):
        assert got.dtype == wanted.dtype and got.tobytes() == wanted.tobytes()


@pytest.mark.parametrize("function, args", [(np.zeros_like, ()), (np.ones_like, ()), (np.empty_like, ()),
                                            (np.full_like, (7,))], ids=["zeros", "ones", "empty", "full"])
@pytest.mark.parametrize("kwargs", [{}, {"dtype": np.float32}, {"shape": (2, 3)}, {"order": "F"}])
def test_like_functions_do_not_compute_a_lazy_array(function, args, kwargs):
    y = lazy(A) * 2
    got = function(y, *args, **kwargs)
    expected = function(A, *args, **kwargs)
    assert not y.is_forced
    assert type(got) is np.ndarray and got.flags.writeable
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.flags.f_contiguous == expected.flags.f_contiguous
    if function is not np.empty_like:
        np.testing.assert_array_equal(got, expected)


def test_like_functions_with_a_lazy_fill_value_compute_it():
    y, fill = lazy(A) * 2, lazy(np.array(3.0)) + 1
    got = np.full_like(y, fill)
    assert type(got) is np.ndarray and (got == 4.0).all() and fill.is_forced and not y.is_forced
