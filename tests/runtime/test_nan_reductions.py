"""nansum, nanprod, nanmin, nanmax, nanmean: NumPy's dtypes, values, warnings and errors, both front ends.

The oracle is NumPy's ``np.nan*`` and, for the bits of float sums, NumPy's own recipe applied to
fusenum: ``nansum(x)`` is fusenum's ``sum(where(isnan(x), 0, x))`` bit for bit (so it is
NumPy's bits wherever fusenum's ``sum`` is), ``nanmean`` that sum divided by the count of values
as NumPy's ``nanmean`` divides. ``nanmin``/``nanmax`` are exact.
"""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fusenum
from fusenum import LazyArray, lazy

from ..numpy_outcome import assert_same_outcome, assert_same_warnings_and_outcome
from ..strategies import with_layout
from .test_staging import assert_reduced_like_numpy

NAN_REDUCTIONS = ["nansum", "nanprod", "nanmin", "nanmax", "nanmean"]
DTYPES = ["float64", "float32", "float16", "complex64", "complex128", "int32", "uint8", "bool"]
FILL = {"nansum": 0, "nanprod": 1, "nanmean": 0}


def with_nans(dtype: str, shape: tuple, seed: int, fraction: float = 0.3) -> np.ndarray:
    """Values of ``dtype`` (small, so products stay finite), a ``fraction`` of them NaN if it has NaNs."""
    rng = np.random.default_rng(seed)
    size = math.prod(shape)
    values = rng.uniform(0.5, 1.5, size) * rng.choice([-1, 1], size)
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.uniform(-1, 1, size)
    if np.dtype(dtype).kind in "iub":
        values = rng.integers(0, 2 if dtype == "bool" else 100, size)
    array = values.astype(dtype)
    if array.dtype.kind in "fc":
        array[rng.random(size) < fraction] = np.nan
    return array.reshape(shape)


def quietly(function, *args, **kwargs):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return function(*args, **kwargs)


def own_answer(name: str, x: np.ndarray, axis, keepdims: bool) -> np.ndarray | None:
    """What NumPy's recipe gives computed with fusenum's plain reductions (None for nanmin/nanmax)."""
    if name not in FILL:
        return None
    plain = {"nansum": "sum", "nanprod": "prod", "nanmean": "sum" if x.dtype.kind in "fc" else "mean"}[name]
    # replaced inside the same expression, so the sum walks x's own layout (the order of a sum
    # follows the memory order of what it reads, as NumPy's does)
    replaced = f"where(isnan(x), {FILL[name]}, x)" if x.dtype.kind in "fc" else "x"
    total = quietly(fusenum.evaluate, f"{plain}({replaced}, axis={axis!r}, keepdims={keepdims})",
                    local_dict={"x": x})
    if plain != "sum" or name != "nanmean":
        return total
    count = np.sum(~np.isnan(x), axis=axis, keepdims=keepdims, dtype=np.intp)
    with np.errstate(all="ignore"):
        return np.divide(total, count, out=total.copy(), casting="unsafe")


@st.composite
def cases(draw):
    name = draw(st.sampled_from(NAN_REDUCTIONS))
    dtype = draw(st.sampled_from(DTYPES))
    ndim = draw(st.integers(0, 3))
    shape = tuple(draw(st.sampled_from([0, 1, 2, 5, 33])) for _ in range(ndim - 1)) + \
        ((draw(st.sampled_from([1, 3, 17, 70])),) if ndim else ())
    values = with_nans(dtype, shape, draw(st.integers(0, 2**32 - 1)), draw(st.sampled_from([0.0, 0.3, 0.9])))
    x = with_layout(values, draw(st.sampled_from(["C", "F", "reversed", "strided"])))
    kind = draw(st.sampled_from(["none", "int", "tuple"] if ndim else ["none"]))
    axis = None if kind == "none" else draw(st.integers(-ndim, ndim - 1)) if kind == "int" else \
        tuple(draw(st.permutations(range(ndim)))[:draw(st.integers(1, ndim))])
    return name, x, axis, draw(st.booleans())


@settings(max_examples=120)
@given(case=cases())
def test_nan_reductions_match_numpy(case):
    name, x, axis, keepdims = case
    try:
        expected = quietly(getattr(np, name), x, axis=axis, keepdims=keepdims)
    except ValueError as refused:  # nanmin/nanmax of nothing
        with pytest.raises(ValueError, match=f"^{refused}$"):
            fusenum.evaluate(f"{name}(x, axis={axis!r}, keepdims={keepdims})")
        return
    got = quietly(fusenum.evaluate, f"{name}(x, axis={axis!r}, keepdims={keepdims})", local_dict={"x": x})
    assert_reduced_like_numpy(name, expected, got, np.where(np.isnan(x), 0, x) if x.dtype.kind in "fc" else x,
                              axis)
    own = own_answer(name, x, axis, keepdims)
    if own is not None:  # NumPy's recipe on fusenum's plain reductions, bit for bit
        assert got.dtype == own.dtype and got.tobytes() == own.tobytes(), (got, own)
    lazy_result = quietly(getattr(np, name), lazy(x), axis=axis, keepdims=keepdims)
    assert type(lazy_result) is LazyArray
    assert lazy_result.dtype == got.dtype and lazy_result.shape == got.shape
    assert np.asarray(quietly(np.asarray, lazy_result)).tobytes() == got.tobytes()


@pytest.mark.parametrize("name", NAN_REDUCTIONS)
def test_same_bits_on_any_thread_count_and_as_the_plain_reduction_at_every_simd_level(simd, name):
    # fusenum's float sums themselves differ in the last bits between SIMD levels (the lanes change the
    # order of additions): nansum and nanmean are exactly NumPy's recipe over them at each level, and
    # nanmin/nanmax (exact) have the same bits at every level.
    x = with_nans("float64", (3, 100_003), 5)
    if name == "nanprod":
        x = 1 + x / 10_000  # a product that neither underflows nor overflows
    results = []
    for threads in (1, 2):
        previous = fusenum.set_num_threads(threads)
        try:
            results.append([fusenum.evaluate(f"{name}(x, axis={axis})", local_dict={"x": x})
                            for axis in (None, 1, 0)])
        finally:
            fusenum.set_num_threads(previous)
    for got, expected in zip(*results):
        assert got.tobytes() == expected.tobytes()
    for got, axis in zip(results[0], (None, 1, 0)):
        own = own_answer(name, x, axis, False)
        expected = getattr(np, name)(x, axis=axis) if own is None else own
        assert got.dtype == expected.dtype and got.tobytes() == np.asarray(expected).tobytes()
    np.testing.assert_allclose(results[0][1], getattr(np, name)(x, axis=1), rtol=1e-12)


def test_nan_reductions_inside_expressions_in_both_tiers(tier):
    x = with_nans("float32", (40, 70), 6)
    got = fusenum.evaluate("x - nanmean(x, axis=0) + nanmax(x, axis=1, keepdims=True) * nansum(x)")
    expected = x - np.nanmean(x, axis=0) + np.nanmax(x, axis=1, keepdims=True) * np.nansum(x)
    assert got.dtype == expected.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)
    lazy_x = lazy(x)
    lazy_got = (lazy_x - np.nanmean(lazy_x, axis=0)
                + np.nanmax(lazy_x, axis=1, keepdims=True) * np.nansum(lazy_x))
    assert type(lazy_got) is LazyArray and np.asarray(lazy_got).tobytes() == got.tobytes()


ALL_NAN = np.array([[np.nan, 1.5, np.nan], [np.nan, -2.0, 3.0]])


@pytest.mark.parametrize("name", NAN_REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("front", ["string", "lazy"])
def test_warnings_and_values_of_all_nan_slices_are_numpys(name, axis, front):
    # NumPy warns "All-NaN slice encountered" (nanmin, nanmax) or "Mean of empty slice" (nanmean) for the
    # NaN column; nansum and nanprod give 0 and 1 silently.
    x = ALL_NAN
    if front == "string":
        def call():
            return fusenum.evaluate(f"{name}(x, axis={axis})", local_dict={"x": x})
    else:
        def call():
            return np.asarray(getattr(np, name)(lazy(x), axis=axis))
    assert_same_warnings_and_outcome(lambda: getattr(np, name)(x, axis=axis), call)


def test_warnings_point_at_the_callers_line():
    x = ALL_NAN
    with pytest.warns(RuntimeWarning, match="^All-NaN slice encountered$") as caught:
        fusenum.evaluate("nanmax(x, axis=0)")
    assert caught[0].filename == __file__


@pytest.mark.parametrize("name", NAN_REDUCTIONS)
@pytest.mark.parametrize("dtype", ["float64", "int64", "complex64"])
def test_empty_arrays_are_reduced_or_refused_as_numpy_does(name, dtype):
    x = np.empty((0, 3), dtype)
    # nanmean of integers is mean, which (like every fusenum operation) does not add NumPy's
    # "invalid value encountered" warning of 0/0 to "Mean of empty slice.".
    same = assert_same_outcome if (name, dtype) == ("nanmean", "int64") else assert_same_warnings_and_outcome
    for axis in (None, 0, 1):
        same(lambda: getattr(np, name)(x, axis=axis),
             lambda: fusenum.evaluate(f"{name}(x, axis={axis})", local_dict={"x": x}))


@pytest.mark.parametrize("name", ["nanmin", "nanmax"])
def test_nanmin_nanmax_of_nothing_raise_numpys_error_at_capture(name):
    message = f"zero-size array to reduction operation {name.replace('nan', 'f')} which has no identity"
    with pytest.raises(ValueError, match=f"^{message}$"):
        fusenum.evaluate(f"{name}(x)", local_dict={"x": np.empty(0)})
    with pytest.raises(ValueError, match=f"^{message}$"):
        getattr(np, name)(lazy(np.empty((2, 0))), axis=1)


@pytest.mark.parametrize("name", NAN_REDUCTIONS)
@pytest.mark.parametrize("dtype", ["int8", "uint16", "int64", "bool"])
def test_integers_reduce_as_the_plain_reductions(name, dtype):
    x = with_nans(dtype, (6, 9), 7)
    for axis in (None, 0):
        expected, got = getattr(np, name)(x, axis=axis), fusenum.evaluate(f"{name}(x, axis={axis})")
        assert got.dtype == np.asarray(expected).dtype
        np.testing.assert_array_equal(got, expected, strict=False)


def test_result_dtypes_are_numpys():
    for dtype, name, result in [("int32", "nanmean", "float64"), ("float32", "nanmean", "float32"),
                                ("float16", "nanmean", "float16"), ("complex64", "nanmean", "complex64"),
                                ("int8", "nanmax", "int8"), ("bool", "nansum", "int64"),
                                ("uint8", "nanprod", "uint64"), ("float16", "nansum", "float16")]:
        x = np.ones(4, dtype)
        assert fusenum.evaluate(f"{name}(x)").dtype == np.asarray(getattr(np, name)(x)).dtype == result
        assert getattr(np, name)(lazy(x)).dtype == result
    x = np.ones(4, np.float32)
    assert fusenum.evaluate("nanmean(x, dtype='float64')").dtype == np.float64
    assert fusenum.evaluate("nansum(x, axis=0, dtype='float64')").dtype == np.float64


def test_complex_nan_reductions():
    c = np.array([[np.nan + 1j, 1 + 2j, 2 + np.nan * 1j], [3 - 1j, np.nan, 1 + 5j]], np.complex64)
    for name in NAN_REDUCTIONS:
        for axis in (None, 0, 1):
            expected = getattr(np, name)(c, axis=axis)
            got = fusenum.evaluate(f"{name}(c, axis={axis})")
            assert got.dtype == expected.dtype
            np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_nanmean_refuses_an_integer_dtype_for_inexact_data():
    x = np.ones(3)
    with pytest.raises(TypeError, match="^If a is inexact, then dtype must be inexact\nin nanmean"):
        fusenum.evaluate("nanmean(x, dtype='int64')")
    with pytest.raises(TypeError, match="^If a is inexact, then dtype must be inexact$"):
        np.nanmean(lazy(x), dtype=np.int64)


def test_lazy_positional_arguments_and_fallbacks_follow_numpy():
    x = with_nans("float64", (5, 7), 8)
    r = np.nanmax(lazy(x), 1, None, True)
    assert type(r) is LazyArray and r.shape == (5, 1)
    np.testing.assert_array_equal(np.asarray(r), np.nanmax(x, 1, None, True))
    r = np.nansum(lazy(x), 0, np.float32)
    assert type(r) is LazyArray and r.dtype == np.float32
    # initial= and where= are NumPy's business: the forced array, NumPy's answer.
    got = np.nanmax(lazy(x), axis=0, initial=10.0)
    assert type(got) is np.ndarray and np.array_equal(got, np.nanmax(x, axis=0, initial=10.0))
    mask = x > 0
    assert np.nanmean(lazy(x), where=mask) == np.nanmean(x, where=mask)


def test_explain_shows_nanmean_as_a_sum_and_a_count():
    x = with_nans("float64", (4, 4), 9)
    text = fusenum.explain("nanmean(x, axis=0)")
    assert "reduction sum(axis=0)" in text and "reduction count(axis=0)" in text
