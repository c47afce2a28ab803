"""Reductions on lazy arrays: methods and NumPy functions, captured, nested, forced -- against NumPy.

Each test builds the lazy expression, checks what must hold before anything is
computed (a LazyArray of NumPy's dtype and shape, or NumPy's error), then
forces it and compares with NumPy's eager answer: integers and bools exactly
(integer overflow wraps the same in any order), ``min``/``max`` exactly
(``-0.0 == 0.0``, NaN matching NaN), float ``sum``/``prod``/``mean`` within a
tolerance any summation order meets (relative ``rtol`` plus ``n * eps`` times
the sum of ``|x|``).

Choices documented here: ``min``/``max`` of an empty selection raise NumPy's
``ValueError`` at capture (the shape is known then); a reduction to a scalar is
a 0-d LazyArray, forced to a 0-d ndarray, where NumPy returns a NumPy scalar.
"""
import warnings

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import fusenum
from fusenum import LazyArray, lazy
from fusenum.ir.reductions import BY_FUNCTION, REDUCTIONS

from ..numpy_outcome import assert_same_warnings_and_outcome, outcome
from ..strategies import assert_same, random_values, shapes, with_layout

# sum, prod, min, max, mean, any, all (nan*, without methods: tests/runtime/test_nan_reductions.py)
NAMES = [name for name in REDUCTIONS if hasattr(np.ndarray, name)]
FUNCTIONS = {name: row.numpy for name, row in REDUCTIONS.items()}
DTYPES = [np.dtype(c) for c in "?bhilqBHILQfd"]
LAYOUTS = ["C", "F", "reversed", "strided", "transposed"]
RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}

rng = np.random.default_rng(11)
A = rng.standard_normal((5, 7))
B = rng.standard_normal((5, 7))
I32 = rng.integers(-1000, 1000, (4, 6)).astype(np.int32)


# ---- values and comparison ----------------------------------------------------------------------

def values_for(name: str, dtype: np.dtype, shape: tuple, seed: int) -> np.ndarray:
    """Values whose float reductions do not depend on the order of operations beyond rounding:
    no finite overflow (inf and NaN are in; they give the same answer in any order)."""
    if dtype.kind != "f" or name in ("min", "max", "any", "all"):
        return random_values(dtype, shape, seed)
    r = np.random.default_rng(seed)
    size = int(np.prod(shape, dtype=np.int64))
    if name == "prod":
        values = r.choice([-1.0, 1.0], size) * r.uniform(0.5, 2.0, size)
    else:
        values = r.standard_normal(size) * r.choice([1.0, 10.0, 1e5], size)
    mask = r.random(size) < 0.1
    values[mask] = r.choice([0.0, -0.0, np.nan, np.inf, -np.inf, 1.0], mask.sum())
    return values.astype(dtype).reshape(shape)


def count_reduced(shape: tuple, axis) -> int:
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def assert_reduced(name: str, a: np.ndarray, expected, got: np.ndarray, axis=None, keepdims=False,
                   dtype=None) -> None:
    """``got`` (forced) equals NumPy's ``expected`` as the module docstring says."""
    expected = np.asarray(expected)
    assert type(got) is np.ndarray, type(got)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if expected.dtype.kind != "f" or name in ("min", "max"):
        np.testing.assert_array_equal(got, expected, strict=True)
        return
    work = np.asarray(a).astype(np.float64) if dtype is None else np.asarray(a).astype(dtype).astype(np.float64)
    compared = ~np.broadcast_to(_order_dependent(name, work, axis, keepdims, expected.dtype), expected.shape)
    # inf and NaN must be where NumPy has them; finite values within rounding of any order.
    assert np.array_equal(np.isnan(got)[compared], np.isnan(expected)[compared]), (got, expected)
    infinite = np.isinf(expected) & compared
    assert np.array_equal(got[infinite], expected[infinite]), (got, expected)
    eps = np.finfo(expected.dtype).eps
    n = max(count_reduced(a.shape, axis), 1)
    with np.errstate(all="ignore"):
        if name == "prod":
            scale = np.abs(expected.astype(np.float64)) * (4 * n * eps)
        else:
            scale = np.sum(np.abs(work), axis=axis, keepdims=keepdims) * (n * eps)
            if name == "mean":
                scale = scale / n
        error = np.abs(got.astype(np.float64) - expected.astype(np.float64))
        limit = scale + RTOL[expected.dtype] * np.abs(expected.astype(np.float64))
    finite = np.isfinite(expected) & compared
    assert np.all(error[finite] <= limit[finite]), (got, expected, error, limit)


def _order_dependent(name: str, work: np.ndarray, axis, keepdims: bool, dtype: np.dtype):
    """Where a float sum or product may leave the range in some order of its operations and not in
    another. There NumPy's order and fusenum's may end one finite and the other inf or NaN
    (``huge * huge * 0`` is NaN in NumPy's order, 0 in one that reaches the zero before the
    overflow; ``max + max - max`` is inf or max), so only elsewhere are values compared. Decided
    from the operands' magnitudes, which bound every partial result in any order: a sum is safe
    unless the positive or the negative operands add up to about the largest float while the other
    sign (or an infinity of it) is there too, a product unless its factors' growth or shrinking can
    leave the range while a factor pulling the other way (or a zero or an infinity) is there."""
    if name not in ("sum", "mean", "prod"):
        return False
    info = np.finfo(dtype)

    def per_result(values):
        return np.sum(values, axis=axis, keepdims=keepdims)

    with np.errstate(all="ignore"):
        finite = np.isfinite(work)
        if name == "prod":
            usable = finite & (work != 0)
            logs = np.log2(np.abs(np.where(usable, work, 1)))
            high, low = per_result(np.maximum(logs, 0)), per_result(np.minimum(logs, 0))
            zero_or_inf = per_result(~usable & ~np.isnan(work)) > 0
            grows = high >= info.maxexp - 1
            shrinks = low <= info.minexp
            return (grows & ((low < 0) | zero_or_inf)) | (shrinks & ((high > 0) | zero_or_inf)) \
                | (np.abs(high + low - info.maxexp) < 1)
        near = float(info.max) * 0.999
        up = per_result(np.where(finite & (work > 0), work, 0))
        down = per_result(np.where(finite & (work < 0), -work, 0))
        plus = (up > 0) | (per_result(work == np.inf) > 0)
        minus = (down > 0) | (per_result(work == -np.inf) > 0)
        borderline = (np.abs(up - float(info.max)) < float(info.max) * 1e-3) \
            | (np.abs(down - float(info.max)) < float(info.max) * 1e-3)
        return ((up >= near) & minus) | ((down >= near) & plus) | borderline


def numpy_answer(function, a, **kwargs):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return function(a, **kwargs)


def force(r: LazyArray) -> np.ndarray:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(r)


@st.composite
def axes_for(draw, ndim: int):
    """None, an int (maybe negative), or a tuple of distinct axes (maybe negative, any order)."""
    kind = draw(st.sampled_from(["none", "int", "tuple"] if ndim else ["none", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    chosen = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
    return tuple(ax - ndim if draw(st.booleans()) else ax for ax in chosen)


@st.composite
def reduction_cases(draw):
    name = draw(st.sampled_from(NAMES))
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(shapes())
    a = with_layout(values_for(name, dtype, shape, draw(st.integers(0, 2**32 - 1))), draw(st.sampled_from(LAYOUTS)))
    axis = draw(axes_for(len(shape)))
    keepdims = draw(st.booleans())
    requested = None
    if REDUCTIONS[name].takes_dtype and draw(st.integers(0, 3)) == 0:
        choices = [np.float64, np.float32] if dtype.kind == "f" else [np.int64, np.uint64, np.int32, np.float64]
        requested = np.dtype(draw(st.sampled_from(choices)))
    how = draw(st.sampled_from(["method", "function"]))
    return name, a, axis, keepdims, requested, how


def lazy_reduce(name, x, how, **kwargs):
    if how == "method":
        return getattr(x, name)(**kwargs)
    return FUNCTIONS[name](x, **kwargs)


# ---- differential --------------------------------------------------------------------------------

@given(reduction_cases())
def test_reductions_match_numpy(simd, case):
    name, a, axis, keepdims, requested, how = case
    kwargs = {"axis": axis, "keepdims": keepdims}
    if requested is not None:
        kwargs["dtype"] = requested
    try:
        expected = numpy_answer(FUNCTIONS[name], a, **kwargs)
    except ValueError as exc:  # min/max of nothing: the same error, raised at capture
        event("NumPy raised")
        with pytest.raises(type(exc), match=f"^{exc}$"):
            lazy_reduce(name, lazy(a), how, **kwargs)
        return
    r = lazy_reduce(name, lazy(a), how, **kwargs)
    assert type(r) is LazyArray and not r.is_forced
    assert r.dtype == np.asarray(expected).dtype and r.shape == np.shape(expected)
    assert_reduced(name, a, expected, force(r), axis, keepdims, requested)


@st.composite
def nested_cases(draw):
    dtype = draw(st.sampled_from([np.dtype(np.float64), np.dtype(np.float32)]))
    shape = tuple(max(n, 1) for n in draw(shapes(max_dims=3))) or (draw(st.integers(1, 9)),)
    seed = draw(st.integers(0, 2**32 - 1))
    a = with_layout(values_for("sum", dtype, shape, seed), draw(st.sampled_from(LAYOUTS)))
    b = with_layout(values_for("sum", dtype, shape, seed + 1), draw(st.sampled_from(LAYOUTS)))
    axis = draw(axes_for(len(shape)))
    return a, b, axis


# Programs written once for ndarrays: run eagerly and on lazy arrays. (name, function, tolerance kind)
NESTED = {
    "centered": (lambda x, y, ax: x - x.mean(axis=ax, keepdims=True), "mean"),
    "centered-np": (lambda x, y, ax: x - np.mean(x, axis=ax, keepdims=True), "mean"),
    "dot": (lambda x, y, ax: (x * y).sum(axis=ax), "sum"),
    "max-square": (lambda x, y, ax: np.max(x ** 2, axis=ax, keepdims=True), "max"),
    "normalized": (lambda x, y, ax: x / np.abs(x).max(axis=ax, keepdims=True), "max"),
    "range": (lambda x, y, ax: x.max(axis=ax) - x.min(axis=ax), "max"),
    "variance": (lambda x, y, ax: ((x - x.mean(axis=ax, keepdims=True)) ** 2).mean(axis=ax), "var"),
    "nested": (lambda x, y, ax: (x.sum(axis=ax, keepdims=True) * y).sum() + x.max(), "loose"),
    "where": (lambda x, y, ax: np.where(x > 0, x, 0).sum(axis=ax), "sum"),
    "any-all": (lambda x, y, ax: (x > y).any(axis=ax) & ~(x < y).all(axis=ax), "exact"),
}


@given(nested_cases(), st.sampled_from(sorted(NESTED)))
def test_reductions_nested_in_expressions_match_numpy(simd, case, which):
    a, b, axis = case
    program, kind = NESTED[which]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.asarray(program(a, b, axis))
        r = program(lazy(a), lazy(b), axis)
    assert type(r) is LazyArray and not r.is_forced
    assert r.dtype == expected.dtype and r.shape == expected.shape
    got = force(r)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    if kind in ("exact", "max"):
        np.testing.assert_array_equal(got, expected)
    elif kind in ("sum", "mean"):
        ref = program(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64), axis)
        eps = np.finfo(expected.dtype).eps
        bound = np.abs(ref) * count_reduced(a.shape, axis) * eps * 4 + RTOL[expected.dtype] * np.abs(expected)
        finite = np.isfinite(expected)
        assert np.array_equal(np.isnan(got), np.isnan(expected))
        assert np.all(np.abs(got - expected)[finite] <= bound[finite] + np.finfo(expected.dtype).tiny)
    else:  # variance and products of sums: a relative check on finite values
        rtol = 1e-9 if expected.dtype == np.float64 else 1e-2
        finite = np.isfinite(expected) & np.isfinite(got)
        assert np.array_equal(np.isnan(got), np.isnan(expected))
        scale = np.max(np.abs(expected[finite]), initial=1.0)
        np.testing.assert_allclose(got[finite], expected[finite], rtol=rtol, atol=rtol * scale)


# ---- fixed cases ---------------------------------------------------------------------------------

def test_a_reduction_is_lazy_until_forced_and_keeps_its_value():
    x = lazy(A)
    r = x.sum(axis=0)
    assert type(r) is LazyArray and not r.is_forced and r.shape == (7,) and r.dtype == np.float64
    np.testing.assert_allclose(r.compute(), A.sum(axis=0), rtol=1e-12)
    assert r.is_forced and r.compute().base is r.compute().base


@pytest.mark.parametrize("function", sorted(BY_FUNCTION, key=lambda f: f.__name__), ids=lambda f: f.__name__)
def test_every_numpy_reduction_function_is_captured(function):
    r = function(lazy(A) * 2, axis=1)
    assert type(r) is LazyArray and not r.is_forced
    expected = function(A * 2, axis=1)
    assert_reduced(REDUCTIONS.get(function.__name__, BY_FUNCTION[function]).name, A, expected, force(r), axis=1)


@pytest.mark.parametrize("name", NAMES)
def test_positional_arguments_follow_numpy(name):
    # ndarray.any/all take an undocumented dtype second, as sum does; np.any and np.all do not.
    method_args = (1, None, True) if name in ("min", "max") else (1, None, None, True)
    function_args = (1, None, None, True) if REDUCTIONS[name].takes_dtype else (1, None, True)
    expected = getattr(A, name)(*method_args)
    assert np.array_equal(expected, FUNCTIONS[name](A, *function_args))
    for r in (getattr(lazy(A), name)(*method_args), FUNCTIONS[name](lazy(A), *function_args)):
        assert type(r) is LazyArray and r.shape == expected.shape == (5, 1)
        assert_reduced(name, A, expected, force(r), axis=1, keepdims=True)


def test_issue_examples():
    x, y = lazy(A), lazy(B)
    np.testing.assert_allclose(np.asarray(x - x.mean(axis=0)), A - A.mean(axis=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(float((x * y).sum()), (A * B).sum(), rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(np.max(lazy(A) ** 2, keepdims=True)), np.max(A ** 2, keepdims=True))
    np.testing.assert_allclose(np.asarray((x * B).sum(axis=0)), (A * B).sum(axis=0), rtol=1e-12)


def test_reductions_of_reductions():
    x = lazy(A)
    r = x.sum(axis=1).max() - x.min(axis=0).mean()
    assert type(r) is LazyArray and r.shape == ()
    expected = A.sum(axis=1).max() - A.min(axis=0).mean()
    np.testing.assert_allclose(float(r), expected, rtol=1e-12)


def test_result_dtypes_are_numpy_s():
    cases = [(np.ones(3, np.int32), "sum", np.int64), (np.ones(3, bool), "sum", np.int64),
             (np.ones(3, np.uint8), "prod", np.uint64), (np.ones(3, np.int16), "mean", np.float64),
             (np.ones(3, np.float32), "sum", np.float32), (np.ones(3, np.float32), "mean", np.float32),
             (np.ones(3, np.int8), "max", np.int8), (np.ones(3, np.float64), "any", np.bool_),
             (np.ones(3, np.uint16), "all", np.bool_), (np.ones(3, bool), "mean", np.float64)]
    for a, name, dtype in cases:
        r = getattr(lazy(a), name)()
        assert r.dtype == dtype == getattr(a, name)().dtype, (a.dtype, name)
        assert np.asarray(r).dtype == dtype


def test_dtype_argument():
    a = np.arange(1, 40, dtype=np.int8)
    for dtype in (np.int8, np.int16, np.float32, np.uint64):
        for name in ("sum", "prod", "mean"):
            r = getattr(lazy(a), name)(dtype=dtype)
            expected = getattr(a, name)(dtype=dtype)
            assert r.dtype == expected.dtype
            assert_reduced(name, a, expected, force(r), dtype=dtype)


def test_integer_overflow_wraps_as_numpy():
    a = np.full(1000, 2**62, np.int64)
    assert int(lazy(a).sum()) == int(a.sum())
    b = np.full(100, 3, np.uint64)
    assert int(lazy(b).prod()) == int(b.prod())
    c = np.arange(1, 300, dtype=np.int8)
    assert int(lazy(c).sum(dtype=np.int8)) == int(c.sum(dtype=np.int8))


def test_min_max_propagate_nan():
    a = np.array([[1.0, np.nan, 3.0, -1.0], [2.0, 5.0, -0.0, 0.0]] * 20)
    for name in ("min", "max"):
        for axis in (None, 0, 1):
            expected = getattr(a, name)(axis=axis)
            np.testing.assert_array_equal(np.asarray(getattr(lazy(a), name)(axis=axis)), expected)
    f32 = np.ones(1000, np.float32)
    f32[777] = np.nan
    assert np.isnan(float(lazy(f32).max())) and np.isnan(float(np.min(lazy(f32))))


def test_empty_inputs():
    empty = np.zeros((0, 4))
    assert float(lazy(empty).sum()) == 0.0 and float(lazy(empty).prod()) == 1.0
    assert int(lazy(np.zeros(0, np.int32)).sum()) == 0 and int(lazy(np.zeros(0, np.uint8)).prod()) == 1
    assert bool(lazy(empty).any()) is False and bool(lazy(empty).all()) is True
    np.testing.assert_array_equal(np.asarray(lazy(empty).sum(axis=0)), np.zeros(4))
    np.testing.assert_array_equal(np.asarray(lazy(empty).prod(axis=0)), np.ones(4))
    assert lazy(empty).sum(axis=1).shape == (0,) and np.asarray(lazy(empty).sum(axis=1)).shape == (0,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan(float(lazy(empty).mean()))
    # min/max of nothing: NumPy's ValueError, raised at capture; an empty result is fine.
    for name in ("min", "max"):
        for axis in (None, 0):
            with pytest.raises(ValueError, match="zero-size array to reduction operation .* no identity"):
                getattr(lazy(empty), name)(axis=axis)
        assert getattr(lazy(empty), name)(axis=1).shape == (0,)
        np.testing.assert_array_equal(np.asarray(getattr(lazy(empty.T), name)(axis=0)), np.zeros(0))


def test_axis_forms():
    a = rng.standard_normal((2, 3, 4))
    for axis in (None, 0, -1, 2, (0, 2), (-1, 0), (), (0, 1, 2), np.int64(1), (np.int8(2),)):
        for keepdims in (False, True):
            expected = a.sum(axis=axis, keepdims=keepdims)
            r = lazy(a).sum(axis=axis, keepdims=keepdims)
            assert r.shape == np.shape(expected)
            np.testing.assert_allclose(np.asarray(r), expected, rtol=1e-12, atol=1e-14)


def numpy_error(function, *args, **kwargs) -> Exception:
    with pytest.raises(Exception) as info:
        function(*args, **kwargs)
    return info.value


@pytest.mark.parametrize("kwargs", [{"axis": 2}, {"axis": -3}, {"axis": (0, 0)}, {"axis": (1, -1)},
                                    {"axis": 1.0}, {"axis": [0, 1]}, {"axis": True}, {"dtype": "foo"},
                                    {"dtype": str}, {"axis": 5, "dtype": "foo"}, {"keepdims": "x"},
                                    {"dtype": ">f8"}], ids=repr)
def test_numpy_errors_are_raised_at_capture(kwargs):
    expected = numpy_error(np.sum, A, **kwargs)
    x = lazy(A) * 2
    for call in (lambda: x.sum(**kwargs), lambda: np.sum(x, **kwargs)):
        with pytest.raises(type(expected)) as info:
            call()
        assert str(info.value) == str(expected)
    assert not x.is_forced


def test_keepdims_given_a_numpy_bool_is_numpys_business():
    """NumPy 2.3 raises TypeError; earlier NumPy warns (DeprecationWarning) and keeps the dims."""
    x = lazy(A) * 2
    assert_same_warnings_and_outcome(lambda: np.sum(A * 2, keepdims=np.True_), lambda: x.sum(keepdims=np.True_))
    assert_same_warnings_and_outcome(lambda: np.sum(A * 2, keepdims=np.True_), lambda: np.sum(x, keepdims=np.True_))
    if outcome(lambda: np.sum(A, keepdims=np.True_))[1] is not None:
        assert not x.is_forced  # NumPy's error is raised at capture


def test_a_dtype_given_to_min_is_numpy_s_business():
    for function in (np.min, np.amax, np.any, np.all):
        expected = numpy_error(function, A, dtype=np.float32)
        with pytest.raises(type(expected)) as info:
            function(lazy(A), dtype=np.float32)
        assert str(info.value) == str(expected)
    with pytest.raises(TypeError):
        lazy(A).max(dtype=np.float32)
    # ndarray.any and .all take an undocumented dtype: NumPy computes it.
    assert lazy(A).any(dtype=bool, axis=0).tolist() == A.any(dtype=bool, axis=0).tolist()


def test_a_scalar_reduction_behaves_as_the_other_0d_results():
    x = lazy(A)
    s = x.sum()
    assert s.shape == () and s.ndim == 0 and not s.is_forced
    assert isinstance(float(s), float) and float(s) == pytest.approx(A.sum(), rel=1e-12)
    assert np.asarray(s).shape == ()
    t = s + 1  # still lazy
    assert type(t) is LazyArray and float(t) == pytest.approx(A.sum() + 1, rel=1e-12)
    # In place on a reduction to a scalar rebinds with promotion, as on NumPy's scalar.
    u = lazy(I32).sum()
    v = I32.sum()
    u += 1.5
    v += 1.5
    assert u.dtype == np.asarray(v).dtype == np.float64 and float(u) == float(v)
    # keepdims keeps an array: in place keeps the dtype.
    w = lazy(I32).sum(keepdims=True)
    w += 1
    assert w.dtype == np.int64 and w.shape == (1, 1)
    assert bool(lazy(A > 0).any()) is True
    assert int(lazy(I32).max()) == int(I32.max())
    assert repr(lazy(np.ones(3)).sum()) == "LazyArray(array(3.))"


def test_reduction_of_a_computed_lazy_array_and_of_repeated_arrays():
    x = lazy(A) * 2
    x.compute()
    np.testing.assert_allclose(np.asarray(x.sum(axis=1)), (A * 2).sum(axis=1), rtol=1e-12)
    y = lazy(A)
    np.testing.assert_allclose(np.asarray((y * y).sum(axis=0) + y.sum(axis=0)),
                               (A * A).sum(axis=0) + A.sum(axis=0), rtol=1e-12)
    shared = lazy(A) + 1
    np.testing.assert_allclose(np.asarray(shared - shared.mean()), (A + 1) - (A + 1).mean(), rtol=1e-12,
                               atol=1e-14)


def test_plan_cache_distinguishes_axis_keepdims_and_dtype():
    x = lazy(I32)
    results = [x.sum(axis=0), x.sum(axis=1), x.sum(axis=1, keepdims=True), x.sum(axis=-1),
               x.sum(), x.sum(dtype=np.int8), x.sum(axis=(0, 1), keepdims=True), x.prod(axis=0), x.max(axis=0)]
    expected = [I32.sum(axis=0), I32.sum(axis=1), I32.sum(axis=1, keepdims=True), I32.sum(axis=-1),
                I32.sum(), I32.sum(dtype=np.int8), I32.sum(axis=(0, 1), keepdims=True), I32.prod(axis=0),
                I32.max(axis=0)]
    for r, e in zip(results, expected):
        np.testing.assert_array_equal(np.asarray(r), e, strict=True)


def test_out_forces_into_the_array():
    x = lazy(A) * 2
    out = np.empty(7)
    assert np.sum(x, axis=0, out=out) is out
    np.testing.assert_allclose(out, (A * 2).sum(axis=0), rtol=1e-12)
    out2 = np.empty((5, 1))
    assert x.max(axis=1, keepdims=True, out=out2) is out2
    np.testing.assert_array_equal(out2, (A * 2).max(axis=1, keepdims=True))
    lazy_out = lazy(np.empty(5))
    assert x.mean(axis=1, out=lazy_out) is lazy_out
    np.testing.assert_allclose(np.asarray(lazy_out), (A * 2).mean(axis=1), rtol=1e-12)
    scalar_out = np.empty(())
    assert np.sum(x, out=scalar_out) is scalar_out
    assert float(scalar_out) == pytest.approx((A * 2).sum(), rel=1e-12)


def _read_only(shape=()):
    array = np.zeros(shape)
    array.flags.writeable = False
    return array


@pytest.mark.parametrize("call", [
    lambda x: np.min(x, 2, "f8"), lambda x: np.nanmax(x[:0], None, np.float32), lambda x: np.any(x, 5, [1]),
    lambda x: np.sum(x, axis=3, out=_read_only()), lambda x: x.max(axis=0, out=_read_only(7)),
    lambda x: np.mean(x, axis=(0, 0), out=_read_only(7)),
])
def test_an_out_numpy_refuses_is_its_error_before_the_axis_is_looked_at(call):
    """NumPy checks ``out`` first: not an array (a positional third argument of ``np.min`` is ``out``)
    is its TypeError and a read-only one its ValueError, whatever the axis or the data."""
    with pytest.raises(Exception) as expected:
        call(A * 2)
    with pytest.raises(type(expected.value)) as got:
        call(lazy(A) * 2)
    assert str(got.value) == str(expected.value)


def test_out_of_another_dtype_or_shape_falls_back_to_numpy():
    x = lazy(A) * 10
    out, expected = np.empty(7, np.int64), np.empty(7, np.int64)
    assert np.sum(x, axis=0, out=out) is out
    np.sum(A * 10, axis=0, out=expected)
    np.testing.assert_array_equal(out, expected)
    out32, expected32 = np.empty(7, np.float32), np.empty(7, np.float32)
    assert x.sum(axis=0, out=out32) is out32
    (A * 10).sum(axis=0, out=expected32)
    np.testing.assert_array_equal(out32, expected32)
    with pytest.raises(ValueError):  # NumPy's error for an out of the wrong shape
        x.sum(axis=0, out=np.empty(3))


@pytest.mark.parametrize("call, numpy_call", [
    (lambda x: x.sum(where=A > 0), lambda a: a.sum(where=A > 0)),
    (lambda x: np.sum(x, where=lazy(A > 0), axis=0), lambda a: np.sum(a, where=A > 0, axis=0)),
    (lambda x: x.max(initial=0.5), lambda a: a.max(initial=0.5)),
    (lambda x: np.prod(x, axis=1, initial=2.0), lambda a: np.prod(a, axis=1, initial=2.0)),
    (lambda x: x.mean(where=A < 0), lambda a: a.mean(where=A < 0)),
    (lambda x: x.sum(keepdims=1), lambda a: a.sum(keepdims=1)),
    (lambda x: x.sum(dtype=np.longdouble), lambda a: a.sum(dtype=np.longdouble)),
], ids=["where", "np-where", "initial", "np-initial", "mean-where", "int-keepdims", "longdouble-dtype"])
def test_what_fusenum_does_not_capture_falls_back_to_numpy(call, numpy_call):
    got, expected = call(lazy(A)), numpy_call(A)
    assert type(got) is type(expected) and type(got) is not LazyArray
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("call, numpy_call", [
    (lambda x: x.sum(dtype=np.complex128), lambda a: a.sum(dtype=np.complex128)),
    (lambda x: (x * 1j).sum(axis=0), lambda a: (a * 1j).sum(axis=0)),
    (lambda x: np.mean(x.astype(np.complex64)), lambda a: np.mean(a.astype(np.complex64))),
    (lambda x: np.max(x + 1j * x[::-1], axis=1), lambda a: np.max(a + 1j * a[::-1], axis=1)),
    (lambda x: (x - 2j).prod(axis=0, keepdims=True), lambda a: (a - 2j).prod(axis=0, keepdims=True)),
], ids=["sum-dtype", "sum-operand", "mean", "max", "prod"])
def test_complex_reductions_are_captured(call, numpy_call):
    got, expected = call(lazy(A)), numpy_call(A)
    assert type(got) is LazyArray and got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-6 if got.dtype == np.complex64 else 1e-12)


def test_where_true_and_unset_initial_are_captured():
    assert type(lazy(A).sum(where=True)) is LazyArray
    assert type(np.max(lazy(A), initial=np._NoValue, where=True)) is LazyArray


def test_reduction_of_0d_arrays():
    z = np.array(5, np.int8)
    for name in NAMES:
        r, expected = getattr(lazy(z), name)(), getattr(z, name)()
        assert type(r) is LazyArray and r.shape == () and r.dtype == expected.dtype
        np.testing.assert_array_equal(np.asarray(r), expected)
    # NumPy lets a 0-d array be reduced over axis 0 or -1; fusenum leaves that to NumPy.
    assert lazy(z).sum(axis=0) == z.sum(axis=0) and lazy(z).sum(axis=()) == z.sum(axis=())


@pytest.mark.parametrize("dtype", [np.int64, np.float64, np.bool_, np.complex128])
@pytest.mark.parametrize("function", [np.nanmean, np.mean, np.nansum, np.nanmax, np.sum, np.max])
@pytest.mark.parametrize("axis", [0, -1])
def test_a_0d_array_reduced_over_axis_0_is_refused_at_capture_where_numpy_refuses_it(dtype, function, axis):
    """NumPy takes the axis for some functions and dtypes, not others (``nanmean`` of integers is
    its ``mean``, which refuses it): the dtype's own answer, when the call is made."""
    z = np.array(3, dtype)
    try:
        expected = function(z, axis=axis)
    except np.exceptions.AxisError as exc:
        with pytest.raises(np.exceptions.AxisError, match=str(exc)):
            function(lazy(z), axis=axis)
        return
    assert_same(np.asarray(expected), np.asarray(function(lazy(z), axis=axis)))


def test_an_array_given_as_dtype_is_refused_as_numpy_refuses_it():
    """A LazyArray stands for an array: ``np.dtype`` would read its ``dtype`` attribute, but NumPy
    refuses an array."""
    expected = numpy_error(np.sum, A, dtype=np.ones(2, np.float32))
    x = lazy(A)
    for given in (lazy(np.ones(2, np.float32)), np.ones(2, np.float32)):
        calls = (lambda: np.sum(x, dtype=given), lambda: x.sum(dtype=given), lambda: np.mean(x, dtype=given),
                 lambda: np.nansum(x, dtype=given), lambda: x.astype(given))
        for call in calls:
            with pytest.raises(TypeError, match=str(expected)):
                call()


def test_evaluate_out_of_a_lazy_reduction():
    r = lazy(A).sum(axis=1)
    out = np.empty(5, np.float32)
    assert fusenum.evaluate(r, out=out) is out
    np.testing.assert_allclose(out, A.sum(axis=1).astype(np.float32), rtol=1e-6)
    assert not r.is_forced


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis", [((200_001,), None), ((301, 517), 0), ((301, 517), 1),
                                          ((61, 67, 71), (0, 2))])
def test_large_float_reductions(simd, dtype, shape, axis):
    a = values_for("sum", np.dtype(dtype), shape, 3)
    a = np.where(np.isfinite(a), a, 1.0).astype(dtype)
    for name in ("sum", "mean", "min", "max"):
        expected = getattr(a, name)(axis=axis)
        assert_reduced(name, a, expected, force(getattr(lazy(a), name)(axis=axis)), axis=axis)
    expected = (a * 2 - 1).sum(axis=axis)
    assert_reduced("sum", a * 2 - 1, expected, force((lazy(a) * 2 - 1).sum(axis=axis)), axis=axis)


def test_float32_sum_of_many_ones_is_exact():
    a = np.ones(2**25, np.float32)
    assert float(lazy(a).sum()) == float(a.sum()) == 33554432.0


def test_out_overlapping_an_input_gives_numpy_s_answer():
    a, b = np.arange(12.0).reshape(3, 4), np.arange(12.0).reshape(3, 4)
    lazy(a).sum(axis=1, out=a[:, 0])
    np.sum(b, axis=1, out=b[:, 0])
    np.testing.assert_array_equal(a, b)


DISCARDING = {
    "np.sum": lambda z, **kw: np.sum(z, dtype=np.float64, **kw),
    ".mean": lambda z, **kw: z.mean(axis=0, dtype=np.float32, **kw),
    "np.nanprod": lambda z, **kw: np.nanprod(z, axis=1, dtype=np.int64, **kw),
    ".sum(dtype=bool)": lambda z, **kw: z.sum(dtype=bool, **kw),
    "np.sum(out=) captured": lambda z: np.sum(z, axis=0, dtype=np.float64, out=np.zeros(3)),
    "np.sum(out=) by NumPy": lambda z: np.sum(z, axis=0, dtype=np.float64, out=np.zeros(3, np.float32)),
}


@pytest.mark.parametrize("how", list(DISCARDING))
def test_complex_reduced_in_a_real_dtype_warns_at_each_call_as_numpy(how):
    """NumPy's ComplexWarning (none for bool), once per call, every call: typing warns only once."""
    z = np.array([[1 + 2j, 3 - 1j, 0.5j], [2, 1j, 4 + 4j]])
    for _ in range(3):
        with warnings.catch_warnings(record=True) as expected:
            warnings.simplefilter("always")
            DISCARDING[how](z)
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            np.asarray(DISCARDING[how](lazy(z)))
        assert [(w.category, str(w.message)) for w in got] == [(w.category, str(w.message)) for w in expected]
