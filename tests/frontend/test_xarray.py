"""xarray on lazy arrays: DataArrays backed by LazyArrays stay lazy through arithmetic, ``xr.where`` and
reductions with xarray's default ``skipna`` (fused nan-reductions); ``xr.apply_ufunc`` runs
``fusenum.evaluate`` on NumPy-backed DataArrays.

"Stays lazy" is checked on the expression the DataArray holds: it is still not computed after the
xarray operation, and the result's data is a LazyArray.
"""
import warnings

import numpy as np
import pytest

import fusenum
from fusenum import LazyArray, lazy

xr = pytest.importorskip("xarray")

rng = np.random.default_rng(21)
A = rng.standard_normal((6, 40))
A[rng.random(A.shape) < 0.2] = np.nan
A[:, 3] = np.nan  # an all-NaN column
B = rng.standard_normal((6, 40))


def lazy_data_array() -> tuple:
    """A DataArray over the unforced expression ``2 * lazy(A)``, and that expression."""
    y = lazy(A) * 2
    return xr.DataArray(y, dims=("t", "s"), coords={"t": np.arange(6)}), y


def test_lazy_arrays_are_duck_arrays_without_being_computed():
    from xarray.core.utils import is_duck_array
    from xarray.namedarray._typing import _arrayfunction_or_api

    da, y = lazy_data_array()
    assert da.data is y
    assert is_duck_array(y) and isinstance(y, _arrayfunction_or_api)
    assert not y.is_forced  # the protocol check looks for real and imag (tests/frontend/test_lazy_duck.py)


@pytest.mark.parametrize("operation", [
    lambda d: d * 2 + 1,
    lambda d: xr.where(d > 0.5, d, 0),
    lambda d: d.where(d > 1),
    lambda d: d.fillna(-1.0),
    lambda d: np.abs(d) - d.isnull(),
    lambda d: (d - d.mean("t")) / d.max("t"),
], ids=["arithmetic", "xr.where", "where method", "fillna", "ufunc", "anomaly"])
def test_elementwise_operations_stay_lazy(operation):
    da, y = lazy_data_array()
    result = operation(da)
    assert type(result.data) is LazyArray and not y.is_forced
    expected = operation(xr.DataArray(A * 2, dims=("t", "s"), coords={"t": np.arange(6)}))
    assert result.dims == expected.dims and result.shape == expected.shape
    np.testing.assert_allclose(result.values, expected.values, rtol=1e-13, atol=1e-15)


def test_broadcasting_to_more_dimensions_computes_nothing_until_the_values(monkeypatch):
    from fusenum.frontend import forcing

    runs = []
    real_run = forcing.run
    monkeypatch.setattr(forcing, "run", lambda *args, **kwargs: runs.append(1) or real_run(*args, **kwargs))
    da, y = lazy_data_array()
    mean = da.mean("t")  # dims ("s",): xarray broadcasts it back with mean.data[None, ...]
    anomaly = da - mean
    chosen = xr.where(da > mean, da, mean)
    assert type(anomaly.data) is LazyArray and type(chosen.data) is LazyArray
    assert not runs and not mean.data.is_forced and not y.is_forced
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (column 3 is all NaN)
        values = anomaly.values
        assert len(runs) == 1 and not mean.data.is_forced  # one fused computation, mean included
        forced_mean = lazy_data_array()[0].mean("t").values
        assert values.tobytes() == fusenum.evaluate("y_values - forced_mean",
                                                    {"y_values": A * 2, "forced_mean": forced_mean}).tobytes()
        reference = A * 2 - np.nanmean(A * 2, axis=0)
        np.testing.assert_allclose(chosen.values, np.where(A * 2 > np.nanmean(A * 2, axis=0), A * 2,
                                                           np.nanmean(A * 2, axis=0)), rtol=1e-13)
    np.testing.assert_allclose(values, reference, rtol=1e-13)


def test_operands_whose_dimensions_are_transposed_to_line_up_stay_lazy(monkeypatch):
    from fusenum.frontend import forcing

    runs = []
    real_run = forcing.run
    monkeypatch.setattr(forcing, "run", lambda *args, **kwargs: runs.append(1) or real_run(*args, **kwargs))
    da, y = lazy_data_array()
    other = xr.DataArray(lazy(B.T) + 1, dims=("s", "t"))
    total = da + other  # xarray transposes other's data to ("t", "s")
    swapped = (da * 3).transpose("s", "t")
    assert type(total.data) is LazyArray and type(swapped.data) is LazyArray and not runs
    assert total.values.tobytes() == (A * 2 + (B + 1)).tobytes()
    assert swapped.values.tobytes() == (A * 2 * 3).T.tobytes() and swapped.dims == ("s", "t")


def test_differences_and_slices_along_a_dimension_stay_lazy(monkeypatch):
    from fusenum.frontend import forcing

    runs = []
    real_run = forcing.run
    monkeypatch.setattr(forcing, "run", lambda *args, **kwargs: runs.append(1) or real_run(*args, **kwargs))
    da, y = lazy_data_array()
    steps = da.diff("t")  # xarray subtracts two slices of the data: x[1:] - x[:-1]
    part = da.isel(s=slice(30, 4, -3)) - da.isel(t=slice(2, None), s=slice(30, 4, -3)).sum("t")
    first = da.isel(t=0) * da.isel(s=5)  # (integers take the dimension away)
    assert all(type(r.data) is LazyArray for r in (steps, part, first)) and not runs and not y.is_forced
    assert first.dims == ("s", "t")
    assert first.values.tobytes() == ((A * 2)[0][:, None] * (A * 2)[:, 5][None, :]).tobytes()
    assert steps.values.tobytes() == np.diff(A * 2, axis=0).tobytes()
    expected = (A * 2)[:, 30:4:-3] - np.asarray(np.nansum(lazy((A * 2)[2:, 30:4:-3]), axis=0))
    assert part.values.tobytes() == expected.tobytes()


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("dim", [None, "t", "s"])
def test_reductions_with_default_skipna_are_fused_nan_reductions(name, dim):
    da, y = lazy_data_array()
    result = getattr(da, name)(dim)
    assert type(result.data) is LazyArray and not y.is_forced
    axis = None if dim is None else ("t", "s").index(dim)
    # xarray's sum is its own where(isnan(x), 0, x) summed; the others call np.nanmean, np.nanmax...:
    # either way fusenum's nan-reduction of the same values, bit for bit.
    y_values = A * 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = result.values
        expected = fusenum.evaluate(f"nan{name}(y_values, axis={axis})")
        numpy_answer = getattr(np, f"nan{name}")(y_values, axis=axis)
    assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()
    np.testing.assert_allclose(got, numpy_answer, rtol=1e-13)


def test_all_nan_slices_warn_when_the_reduction_is_computed():
    da, _ = lazy_data_array()
    result = da.max("t")  # column 3 is all NaN
    with pytest.warns(RuntimeWarning, match="^All-NaN slice encountered$"):
        values = result.values
    assert np.isnan(values[3]) and not np.isnan(np.delete(values, 3)).any()


def test_skipna_false_and_min_count():
    da, y = lazy_data_array()
    plain = da.sum("s", skipna=False)
    counted = da.sum("t", min_count=5)
    assert type(plain.data) is LazyArray and type(counted.data) is LazyArray and not y.is_forced
    assert np.isnan(plain.values).all()  # every row has a NaN
    reference = xr.DataArray(A * 2, dims=("t", "s"))
    np.testing.assert_allclose(counted.values, reference.sum("t", min_count=5).values, rtol=1e-13)


def test_dataset_reductions_stay_lazy_and_values_compute_once():
    da, y = lazy_data_array()
    ds = xr.Dataset({"v": da, "w": ("s", lazy(B[0]))})
    means = ds.mean("s")
    assert type(means.v.data) is LazyArray and not y.is_forced
    values = da.values
    assert type(values) is np.ndarray and y.is_forced and values.tobytes() == (A * 2).tobytes()


def _fused(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return fusenum.evaluate("2*a + 3*b*b - sqrt(abs(a))", local_dict={"a": a, "b": b})


def _fused_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return fusenum.evaluate("sum(a*b, axis=-1)", local_dict={"a": a, "b": b})


def test_apply_ufunc_runs_fusenum_evaluate_on_numpy_backed_data_arrays():
    a = xr.DataArray(B, dims=("t", "s"), coords={"t": np.arange(6)})
    b = xr.DataArray(B[0] * 0.5, dims=("s",))
    result = xr.apply_ufunc(_fused, a, b, dask="allowed")
    assert result.dims == ("t", "s") and (result.t == a.t).all()
    c = B[0] * 0.5
    assert result.values.tobytes() == (2 * B + 3 * c * c - np.sqrt(np.abs(B))).tobytes()
    dot = xr.apply_ufunc(_fused_dot, a, b, input_core_dims=[["s"], ["s"]], dask="allowed")
    assert dot.dims == ("t",)
    assert dot.values.tobytes() == fusenum.evaluate("sum(B * c, axis=-1)").tobytes()
    np.testing.assert_allclose(dot.values, B @ c, rtol=1e-13)


def test_default_skipna_sum_over_lazy_dask_ships_no_array():
    dask_array = pytest.importorskip("dask.array")
    cloudpickle = pytest.importorskip("cloudpickle")
    big = dask_array.ones((1000, 1000), chunks=250)
    summed = fusenum.evaluate(xr.DataArray(lazy(big), dims=("t", "s")).sum("t").data)
    # xarray's skipna sum builds zeros_like of the data: dask's, not an 8 MB ndarray in the graph
    assert len(cloudpickle.dumps(dict(summed.__dask_graph__()))) < 100_000
    assert (summed.compute() == 1000).all()
