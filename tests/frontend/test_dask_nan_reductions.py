"""nan-reductions over dask arrays (fusenum's dask graphs), and xarray DataArrays backed by dask arrays
or by lazy arrays over dask arrays, on the threaded scheduler."""
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
xr = pytest.importorskip("xarray")

import fusenum  # noqa: E402
from fusenum import LazyArray, lazy  # noqa: E402

RNG = np.random.default_rng(17)
# Small integers as floats, a quarter NaN: every partial sum is exact, so any chunking gives NumPy's bits.
WHOLE = RNG.integers(-50, 50, (8, 12)).astype(np.float64)
WHOLE[RNG.random(WHOLE.shape) < 0.25] = np.nan
WHOLE[:, 4] = np.nan


@pytest.fixture(autouse=True)
def threaded():
    with dask.config.set(scheduler="threads"):
        yield


def quietly(function, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return function(*args)


@pytest.mark.parametrize("name", ["nansum", "nanprod", "nanmin", "nanmax", "nanmean"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_nan_reductions_over_dask_arrays_are_fusenums_bits(name, axis):
    w = da.from_array(WHOLE, chunks=(3, 5))
    text = f"{name}(w, axis={axis})"
    result = fusenum.evaluate(text)
    assert isinstance(result, da.Array)
    expected = quietly(fusenum.evaluate, text, {"w": WHOLE})
    value = quietly(result.compute)
    assert value.dtype == expected.dtype and value.tobytes() == expected.tobytes()
    np.testing.assert_array_equal(value, quietly(getattr(np, name), WHOLE, axis))


def _fused(a, b):
    return fusenum.evaluate("2*a + 3*b*b - sqrt(abs(a))", local_dict={"a": a, "b": b})


def _fused_dot(a, b):
    return fusenum.evaluate("nansum(a*b, axis=-1)", local_dict={"a": a, "b": b})


def test_apply_ufunc_on_dask_backed_data_arrays_builds_fusenum_graphs():
    a = xr.DataArray(da.from_array(WHOLE, chunks=(3, 5)), dims=("t", "s"))
    b = xr.DataArray(da.from_array(WHOLE[0] + 1, chunks=5), dims=("s",))
    result = xr.apply_ufunc(_fused, a, b, dask="allowed")
    assert isinstance(result.data, da.Array) and result.data.chunks == ((3, 3, 2), (5, 5, 2))
    assert any(name.startswith("fusenum") for name in result.data.dask.layers)
    assert result.values.tobytes() == _fused(WHOLE, WHOLE[0] + 1).tobytes()
    dot = xr.apply_ufunc(_fused_dot, a, b, input_core_dims=[["s"], ["s"]], dask="allowed")
    assert isinstance(dot.data, da.Array) and dot.dims == ("t",)
    assert dot.values.tobytes() == _fused_dot(WHOLE, WHOLE[0] + 1).tobytes()


def test_data_arrays_of_lazy_arrays_over_dask_stay_lazy():
    y = lazy(da.from_array(WHOLE, chunks=(3, 5))) * 2
    d = xr.DataArray(y, dims=("t", "s"))
    anomaly = d - d.mean("t")
    total = d.sum("s")
    assert type(anomaly.data) is LazyArray and type(total.data) is LazyArray
    assert quietly(lambda: total.values).tobytes() == quietly(
        fusenum.evaluate, "nansum(w * 2, axis=1)", {"w": WHOLE}).tobytes()
    np.testing.assert_allclose(quietly(lambda: anomaly.values),
                               WHOLE * 2 - quietly(np.nanmean, WHOLE * 2, 0), rtol=1e-15)


@pytest.mark.parametrize("name, message", [("nanmax", "All-NaN slice encountered"),
                                           ("nanmean", "Mean of empty slice")])
@pytest.mark.parametrize("split_every", [None, 2])
def test_only_an_all_nan_slice_warns_not_an_all_nan_block(name, message, split_every):
    blocks_nan = np.arange(48.0).reshape(8, 6)
    blocks_nan[:3, 2] = np.nan  # all NaN in the first block of column 2 only
    slice_nan = blocks_nan.copy()
    slice_nan[:, 4] = np.nan
    for data, expected in [(blocks_nan, []), (slice_nan, [message])]:
        w = da.from_array(data, chunks=(3, 6))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = fusenum.evaluate(f"{name}(w, axis=0)", split_every=split_every).compute()
        assert [str(w.message) for w in caught] == expected
        np.testing.assert_array_equal(value, quietly(getattr(np, name), data, 0))
