"""Writes and in-place operators on LazyArrays over dask arrays, and LazyArrays bound to a text's names
beside dask arrays: NumPy's values, and nothing computed until the user computes, but for item
assignment into an expression (as over ndarrays, into its computed value)."""
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


def test_item_assignment_into_an_expression_over_dask_computes_it_and_is_numpys():
    # (expressions built from it before read it through its operation and operands: they must not
    # see the write, as in NumPy, so the write goes into its computed value)
    la = lazy(np.ones(4))
    x = lazy(da.ones(4, chunks=2)) + la
    before, through_operands = x * 2, x + la  # (the second reads ``la`` twice: expanded, not captured)
    x[0] = 100.0
    x[1:3] = lazy(np.ones(2)) * 7
    assert x.is_forced
    np.testing.assert_array_equal(np.asarray(x), [100.0, 7.0, 7.0, 2.0], strict=True)
    np.testing.assert_array_equal(computed(before), [4.0] * 4, strict=True)
    np.testing.assert_array_equal(computed(through_operands), [3.0] * 4, strict=True)


@pytest.mark.parametrize("part", ["real", "imag"])
def test_writes_into_real_or_imag_of_an_expression_over_dask_reach_it(part):
    value = np.array([1 + 1j, 2 + 2j, 3 + 3j])
    x = lazy(da.from_array(value, chunks=2)) * 1
    getattr(x, part)[0] = -7.0
    expected = value.copy()
    getattr(expected, part)[0] = -7.0
    np.testing.assert_array_equal(np.asarray(x), expected, strict=True)


@pytest.mark.parametrize("operand", [np.ones((3, 3)), "abc", 2.0])
def test_matmul_in_place_that_dask_refuses_is_numpys_error(operand):
    x = lazy(da.ones((3, 2), chunks=(1, 2)))
    with pytest.raises(Exception) as ours:
        x @= operand
    with pytest.raises(Exception) as numpys:
        copy = np.ones((3, 2))
        copy @= operand
    assert (ours.type, str(ours.value)) == (numpys.type, str(numpys.value))


def test_a_lazy_array_over_ndarrays_bound_beside_dask_arrays_is_not_computed_at_build():
    a = np.arange(6.0)
    operand = lazy(a) * 2 + 1
    result = fusenum.evaluate("l + A", local_dict={"l": operand, "A": da.from_array(np.ones(6), chunks=3)})
    assert is_dask_array(result) and not operand.is_forced
    # (the graph holds the inputs given, never a value fusenum computed)
    assert not any(isinstance(v, np.ndarray) and np.array_equal(v, 2 * a + 1) for v in dict(result.dask).values())
    np.testing.assert_array_equal(result.compute(), 2 * a + 1 + 1, strict=True)


def test_lazy_arrays_over_ndarrays_equal_when_bound_stay_apart_in_the_graph():
    zeros = da.zeros(4, chunks=2)
    a, b = np.zeros(4), np.zeros(4)
    first, second = lazy(a) + 1, lazy(b) + 1
    difference = fusenum.evaluate("l - m + d", local_dict={"l": first, "m": second, "d": zeros})
    r = fusenum.evaluate("l + d", local_dict={"l": first, "d": zeros})
    s = fusenum.evaluate("m + d", local_dict={"m": second, "d": zeros})
    b[:] = 5  # (their operands are read when the graph runs)
    np.testing.assert_array_equal(difference.compute(), [-5.0] * 4, strict=True)
    assert [v.tolist() for v in dask.compute(r, s)] == [[1.0] * 4, [6.0] * 4]


def test_a_lazy_array_over_ndarrays_bound_without_dask_arrays_is_computed_as_before():
    operand = lazy(np.arange(6.0)) * 2 + 1
    np.testing.assert_array_equal(fusenum.evaluate("l * 3", local_dict={"l": operand}),
                                  (np.arange(6.0) * 2 + 1) * 3, strict=True)
