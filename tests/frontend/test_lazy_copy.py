"""copy.copy, copy.deepcopy and pickle of lazy arrays: independent values, and what NumPy makes a
scalar stays a scalar through the round trip."""
import copy
import pickle

import numpy as np
import pytest

from fusenum import LazyArray, lazy

ROUND_TRIPS = {"pickle": lambda x: pickle.loads(pickle.dumps(x)), "copy": copy.copy, "deepcopy": copy.deepcopy}


@pytest.mark.parametrize("how", ["copy", "deepcopy"])
def test_copy_of_a_wrapped_array_is_independent_of_it(how):
    a = np.arange(3.0)
    c = ROUND_TRIPS[how](lazy(a))
    c[0] = 99
    assert a.tolist() == [0.0, 1.0, 2.0]
    assert np.asarray(c).tolist() == [99.0, 1.0, 2.0]


@pytest.mark.parametrize("how", ["copy", "deepcopy"])
def test_copy_of_a_computed_result_is_independent_of_it(how):
    r = lazy(np.arange(3.0)) * 2
    r.compute()
    c = ROUND_TRIPS[how](r)
    c[0] = 99
    assert np.asarray(r).tolist() == [0.0, 2.0, 4.0]
    assert type(c) is LazyArray and np.asarray(c).tolist() == [99.0, 2.0, 4.0]


def test_copy_keeps_the_memory_order_as_ndarray_copy_does():
    a = np.asfortranarray(np.ones((2, 3)))
    assert np.asarray(copy.copy(lazy(a))).flags.f_contiguous == copy.copy(a).flags.f_contiguous


def test_copy_of_an_unforced_expression_stays_unforced():
    r = lazy(np.arange(3.0)) * 2
    c = copy.copy(r)
    assert not c.is_forced and not r.is_forced
    assert np.asarray(c).tolist() == [0.0, 2.0, 4.0] and not r.is_forced


@pytest.mark.parametrize("how", list(ROUND_TRIPS))
def test_round_trip_keeps_the_astype_of_a_scalar_result_a_scalar(how):
    """``np.add(0-d, 1)`` is a NumPy scalar, so is its astype, and ``+= 1.5`` promotes it."""
    expected = np.add(np.array(1), 1).astype(np.int64)
    expected += 1.5
    s = np.add(lazy(np.array(1)), 1)
    s.compute()
    got = ROUND_TRIPS[how](s.astype(np.int64))
    got += 1.5
    assert np.asarray(got).dtype == np.asarray(expected).dtype and np.asarray(got) == expected


@pytest.mark.parametrize("how", list(ROUND_TRIPS))
def test_round_trip_keeps_a_computed_reduction_a_scalar(how):
    expected = np.array([1, 2, 3]).sum()
    expected += 0.5
    m = lazy(np.array([1, 2, 3])).sum()
    m.compute()
    got = ROUND_TRIPS[how](m)
    assert got.is_forced
    got += 0.5
    assert np.asarray(got).dtype == np.float64 and np.asarray(got) == expected


@pytest.mark.parametrize("how", list(ROUND_TRIPS))
def test_round_trip_keeps_an_in_place_0d_result_an_array(how):
    """An in-place operator's 0-d target stays a 0-d array in NumPy: ``+= 1.5`` refuses to cast."""
    target = lazy(np.array(1))
    target += 1
    with pytest.raises(TypeError, match="^Cannot cast ufunc 'add' output from dtype"):
        restored = ROUND_TRIPS[how](target)
        restored += 1.5


@pytest.mark.parametrize("how", list(ROUND_TRIPS))
def test_complex_scalar_product_after_a_round_trip_is_numpys_scalar_product(how):
    """NumPy's complex scalar ``*`` has no fused multiply-add; the ufunc loop's may: bits differ."""
    rng = np.random.default_rng(1)
    for _ in range(300):
        z = (rng.standard_normal(3) + 1j * rng.standard_normal(3)) * 10.0 ** rng.integers(-3, 3)
        s = lazy(z).sum()
        s.compute()
        t = ROUND_TRIPS[how](s.astype(np.complex128))
        assert np.asarray(t * t).tobytes() == np.asarray(z.sum() * z.sum()).tobytes()


@pytest.mark.parametrize("part", ["real", "imag"])
def test_copy_of_the_real_part_of_an_expression_is_independent_of_it(part):
    """Forced, ``r.real`` is a view of ``r``'s value; a copy of it is not."""
    z = np.array([1 + 1j, 2 + 2j])
    r = lazy(z) * 2
    c = copy.copy(getattr(r, part))
    assert not c.is_forced
    c[0] = 99
    assert np.asarray(r).tobytes() == (z * 2).tobytes()
    assert np.asarray(c).tolist() == [99.0, 4.0]


BYTE_ORDER_TRIPS = {**ROUND_TRIPS, "pickle protocol 5": lambda x: pickle.loads(pickle.dumps(x, protocol=5)),
                    "pickle protocol 2": lambda x: pickle.loads(pickle.dumps(x, protocol=2))}


@pytest.mark.parametrize("how", list(BYTE_ORDER_TRIPS))
def test_round_trip_of_an_in_place_result_on_a_byte_swapped_array_keeps_numpys_byte_order(how):
    """NumPy's ``+=`` keeps the target's byte order; its arrays keep it through ``copy``, ``deepcopy``
    and pickle protocol 5, and unpickle native below it: so does the unforced expression."""
    expected = np.arange(3.0, dtype=">f8")
    expected += 1
    r = lazy(np.arange(3.0, dtype=">f8"))
    r += 1
    expected, got = BYTE_ORDER_TRIPS[how](expected), BYTE_ORDER_TRIPS[how](r)
    assert type(got) is LazyArray and not got.is_forced
    assert got.dtype == expected.dtype
    assert np.asarray(got).dtype == expected.dtype and np.asarray(got).tolist() == [1.0, 2.0, 3.0]
