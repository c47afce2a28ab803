"""Writes and in-place operators on LazyArrays over dask arrays, and LazyArrays bound to a text's names
beside dask arrays: nothing is computed until the user computes, and the values are NumPy's."""
import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import fusenum  # noqa: E402
from fusenum import LazyArray, lazy  # noqa: E402
from fusenum.frontend.dask_types import is_dask_array  # noqa: E402

M = np.arange(16.0).reshape(4, 4)


@pytest.fixture(autouse=True)
def threaded():
    with dask.config.set(scheduler="threads"):
        yield


def counted(value: np.ndarray, chunks, loads: list):
    """A dask array of ``value`` whose one source task records each time it runs in ``loads``."""
    def load():
        loads.append(1)
        return value.copy()
    return da.from_delayed(dask.delayed(load)(), value.shape, dtype=value.dtype).rechunk(chunks)


def computed(x) -> np.ndarray:
    return np.asarray(fusenum.evaluate(x))


def test_matmul_in_place_stays_lazy_and_is_numpys():
    loads = []
    x = lazy(counted(M, 2, loads))
    x @= np.eye(4) * 2
    assert type(x) is LazyArray and not x.is_forced and loads == []
    expected = M.copy()
    expected @= np.eye(4) * 2
    np.testing.assert_array_equal(computed(x), expected, strict=True)


@pytest.mark.parametrize("operand, error", [(np.ones((4, 3)), ValueError), (np.ones(4), ValueError)])
def test_matmul_in_place_that_would_change_the_shape_is_numpys_error(operand, error):
    x = lazy(counted(M, 2, []))
    with pytest.raises(error) as ours:
        x @= operand
    with pytest.raises(error) as numpys:
        copy = M.copy()
        copy @= operand
    assert str(ours.value) == str(numpys.value)


def test_matmul_in_place_that_needs_an_unsafe_cast_is_numpys_error():
    x = lazy(counted(M.astype(np.int64), 2, []))
    with pytest.raises(TypeError, match="same_kind"):  # (NumPy's UFuncTypeError)
        x @= np.eye(4)


@pytest.mark.parametrize("operator", ["*=", "**="])
def test_a_one_element_complex_in_place_operator_stays_lazy(operator):
    loads = []
    value = np.array([1.5 + 2j])
    x = lazy(counted(value, 1, loads))
    exec(f"x {operator} 1j", {}, scope := {"x": x})
    x = scope["x"]
    assert not x.is_forced and loads == []
    expected = value * 1j if operator == "*=" else value ** 1j  # (dask computes it out of place too)
    np.testing.assert_array_equal(computed(x), expected, strict=True)


def test_item_assignment_into_lazy_of_a_dask_array_writes_into_it_lazily():
    loads = []
    d = counted(M, 2, loads)
    x = lazy(d)
    before = x + 1  # an expression read later sees the write, as over an ndarray
    x[0, 0] = 100.0
    assert not x.is_forced and loads == []
    expected = M.copy()
    expected[0, 0] = 100.0
    np.testing.assert_array_equal(d.compute(), expected, strict=True)
    np.testing.assert_array_equal(computed(before), expected + 1, strict=True)


def test_item_assignment_into_an_expression_over_dask_stays_lazy():
    loads = []
    x = lazy(counted(M, 2, loads)) * 2
    x[1:3, 1] = -1.0
    x[0] = lazy(np.ones(4)) * 7
    assert type(x) is LazyArray and not x.is_forced and loads == []
    expected = M * 2
    expected[1:3, 1] = -1.0
    expected[0] = 7.0
    np.testing.assert_array_equal(computed(x), expected, strict=True)
    assert loads == [1]


def test_a_lazy_array_over_ndarrays_bound_beside_dask_arrays_is_not_computed_at_build():
    a = np.arange(6.0)
    operand = lazy(a) * 2 + 1
    result = fusenum.evaluate("l + A", local_dict={"l": operand, "A": da.from_array(np.ones(6), chunks=3)})
    assert is_dask_array(result) and not operand.is_forced
    # (the graph holds the inputs given, never a value fusenum computed)
    assert not any(isinstance(v, np.ndarray) and np.array_equal(v, 2 * a + 1) for v in dict(result.dask).values())
    np.testing.assert_array_equal(result.compute(), 2 * a + 1 + 1, strict=True)


def test_a_lazy_array_over_ndarrays_bound_without_dask_arrays_is_computed_as_before():
    operand = lazy(np.arange(6.0)) * 2 + 1
    np.testing.assert_array_equal(fusenum.evaluate("l * 3", local_dict={"l": operand}),
                                  (np.arange(6.0) * 2 + 1) * 3, strict=True)
