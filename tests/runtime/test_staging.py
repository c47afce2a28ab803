"""Reductions through ``fusenum.evaluate``: NumPy's dtypes, shapes, values and errors, in every layout."""
import math
import sys
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import fusenum
from fusenum.ir.reductions import REDUCTIONS

from .test_tiers import BACKGROUND_THREADS, assert_bits, both_tiers, compiling_threads  # noqa: F401 (a fixture)

REDUCTION_NAMES = sorted(REDUCTIONS)
DTYPES = [np.bool_, np.int8, np.int32, np.int64, np.uint16, np.uint64, np.float16, np.float32, np.float64,
          np.complex64, np.complex128]
SPECIALS = [np.nan, np.inf, -np.inf, -0.0, 0.0]


def assert_reduced_like_numpy(reduction: str, expected, got, argument, axis) -> None:
    """Same dtype and shape; integers, booleans, min and max exactly; float sums within rounding."""
    expected = np.asarray(expected)
    assert isinstance(got, np.ndarray)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    reduction = REDUCTIONS[reduction].plain or reduction  # nansum is judged as sum, ...
    if expected.dtype.kind not in "fc" or reduction in ("min", "max", "nanmin", "nanmax"):
        np.testing.assert_array_equal(got, expected)  # NaN matches NaN, -0.0 matches 0.0
        return
    wide = np.complex128 if expected.dtype.kind == "c" else np.float64
    given, argument = argument, np.abs(np.asarray(argument, dtype=wide))
    count = max(1, argument.size // max(1, expected.size))
    eps = np.finfo(expected.dtype).eps
    if reduction == "prod":  # relative error, down to the normal range (subnormals have no relative precision)
        tiny = np.finfo(expected.dtype).tiny
        if expected.dtype.kind == "c":
            # A complex product with an infinite part is not finite in any order, but which of its
            # parts are inf and which NaN depends on the order (NumPy's own: prod([inf+0j]) is
            # inf+nanj, prod([inf+0j, 2+0j]) nan+nanj), and fusenum multiplies in another.
            unbounded = ~np.isfinite(expected)
            assert np.array_equal(unbounded, ~np.isfinite(got)), (got, expected)
            got, expected = np.where(unbounded, 0, got), np.where(unbounded, 0, expected)
        else:
            # A real product whose partial products overflow in some order of its factors, and that
            # has a zero, is 0, inf or NaN (0 * inf) depending on the order: only there may they differ.
            with np.errstate(all="ignore"):
                keepdims = expected.shape != np.prod(argument, axis=axis).shape
                logs = np.sum(np.where(argument > 1, np.log(argument), 0), axis=axis, keepdims=keepdims)
            may_overflow = np.broadcast_to(logs > np.log(np.finfo(expected.dtype).max), expected.shape)
            order_dependent = may_overflow & (np.isnan(got) != np.isnan(expected))
            got, expected = np.where(order_dependent, 0, got), np.where(order_dependent, 0, expected)
        np.testing.assert_allclose(got, expected, rtol=4 * count * eps, atol=tiny, equal_nan=True)
        return
    # A complex sum is a sum of the real parts and one of the imaginary parts, each bounded by its own
    # parts' magnitudes (and compared alone: with an infinite part, NumPy's comparison takes the whole
    # number as infinite and wants the other part exact, though the orders of summing differ)
    given = np.asarray(given, dtype=wide)
    parts = [(got, expected, given)] if expected.dtype.kind == "f" else \
        [(got.real, expected.real, given.real), (got.imag, expected.imag, given.imag)]
    for got_part, expected_part, given_part in parts:
        magnitudes = np.abs(given_part)
        with np.errstate(all="ignore"):
            keepdims = expected.shape != np.sum(magnitudes, axis=axis).shape
            # Finite magnitudes only: an infinite part must not void the bound on the other parts' sum.
            scale = np.nansum(np.where(np.isfinite(magnitudes), magnitudes, 0), axis=axis, keepdims=keepdims)
            if reduction == "mean":
                scale = scale / count
        scale = np.broadcast_to(np.where(np.isfinite(scale), scale, 0), expected.shape)
        bound = (count + 2) * eps * scale.max(initial=0) + np.finfo(expected.dtype).tiny
        np.testing.assert_allclose(got_part.astype(np.float64), expected_part.astype(np.float64), rtol=0,
                                   atol=bound, equal_nan=True)


def _complex(real, imag) -> np.ndarray:
    """Complex numbers with exactly these parts (``real + 1j * imag`` would make NaNs of infinities)."""
    values = np.empty(len(real), np.complex128)
    values.real, values.imag = real, imag
    return values


@st.composite
def reduction_cases(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 6), max_size=3)))
    if dtype.kind in "fc" and draw(st.booleans()):
        parts = 2 if dtype.kind == "c" else 1
        values = np.array(draw(st.lists(st.sampled_from(SPECIALS) | st.floats(-100, 100),
                                        min_size=parts * math.prod(shape), max_size=parts * math.prod(shape))))
        if dtype.kind == "c":
            values = _complex(values[0::2], values[1::2])
    else:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        values = rng.integers(-120, 120, math.prod(shape))
        if dtype.kind == "c":
            values = _complex(values, rng.integers(-120, 120, math.prod(shape)))
    with np.errstate(all="ignore"):
        array = values.astype(dtype).reshape(shape)
    layout = draw(st.sampled_from(["C", "F", "reversed", "strided"]))
    if layout == "F":
        array = np.asfortranarray(array)
    elif layout == "reversed":
        array = array[tuple(slice(None, None, -1) for _ in shape)]
    elif layout == "strided" and shape:
        big = np.zeros(shape[:-1] + (2 * shape[-1],), dtype)
        big[..., ::2] = array
        array = big[..., ::2]
    reduction = draw(st.sampled_from(REDUCTION_NAMES))
    ndim = len(shape)
    axis = draw(st.sampled_from(["none", "int", "tuple"]))
    if axis == "int" and ndim:
        axis = draw(st.integers(-ndim, ndim - 1))
    elif axis == "tuple":
        axis = tuple(draw(st.permutations(range(ndim)))[:draw(st.integers(0, ndim))])
    else:
        axis = None
    keepdims = draw(st.booleans())
    requested = None
    if REDUCTIONS[reduction].takes_dtype and draw(st.booleans()):
        requested = np.dtype(draw(st.sampled_from([np.float64, np.float32, np.float16, np.int64])))
    return reduction, array, axis, keepdims, requested


def _keywords(axis, keepdims, requested) -> str:
    text = f", axis={axis!r}, keepdims={keepdims}"
    return text + (f", dtype='{requested}'" if requested is not None else "")


@given(case=reduction_cases(), scaled=st.booleans())
def test_reductions_match_numpy(simd, case, scaled):
    reduction, x, axis, keepdims, requested = case
    kwargs = {"axis": axis, "keepdims": keepdims, **({"dtype": requested} if requested is not None else {})}
    argument = "x * 3" if scaled and x.dtype.kind != "b" else "x"
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = x * 3 if argument == "x * 3" else x
        try:
            expected = getattr(np, reduction)(value, **kwargs)
        except Exception as refused:
            with pytest.raises(type(refused)):
                fusenum.evaluate(f"{reduction}({argument}{_keywords(axis, keepdims, requested)})")
            return
        got = fusenum.evaluate(f"{reduction}({argument}{_keywords(axis, keepdims, requested)})")
        if expected.dtype == np.float16 and (reduction != "mean" or requested == np.float16):
            expected = _float16_reduction(reduction, value, kwargs)
    assert_reduced_like_numpy(reduction, expected, got, value, axis)


def _float16_reduction(reduction: str, value: np.ndarray, kwargs: dict) -> np.ndarray:
    """NumPy's float16 ``reduction`` as fusenum computes it. NumPy's float16 loops round each value to
    float16 and accumulate in float32; fusenum does so along every axis, NumPy only along its inner loop
    (it rounds each step elsewhere, where a partial sum or product can overflow to inf). ``mean`` with
    ``dtype='float16'`` and ``nanmean`` divide that total, rounded to float16, by an intp count.
    (``mean`` of float16 without ``dtype=`` sums in float32 in NumPy too.)"""
    if reduction in ("min", "max", "nanmin", "nanmax"):
        return getattr(np, reduction)(value, **kwargs)
    counted = np.ones(value.shape, bool)
    if reduction.startswith("nan"):  # NaNs (a complex one: either part) replaced before the cast
        counted = ~np.isnan(value)
        value = np.where(counted, value, 1 if reduction == "nanprod" else 0)
        reduction = reduction[3:]
    halves = value.astype(np.float16).astype(np.float32)
    wide = {**kwargs, "dtype": np.float32} if "dtype" in kwargs else kwargs
    if reduction != "mean":
        return getattr(np, reduction)(halves, **wide).astype(np.float16)
    total = np.sum(halves, **wide).astype(np.float16)
    count = np.sum(counted, axis=kwargs["axis"], keepdims=kwargs["keepdims"], dtype=np.intp)
    return np.asarray(np.true_divide(total, count)).astype(np.float16)


NESTED = [
    ("a - mean(a, axis=0)", lambda a, b: a - np.mean(a, axis=0)),
    ("a - mean(a, axis=1, keepdims=True)", lambda a, b: a - np.mean(a, axis=1, keepdims=True)),
    ("sum(a * b, axis=-1) / sum(b, 1)", lambda a, b: np.sum(a * b, axis=-1) / np.sum(b, 1)),
    ("sum((a - mean(a)) ** 2)", lambda a, b: np.sum((a - np.mean(a)) ** 2)),
    ("max(a, axis=0) - min(b, axis=0) + sum(where(a > b, 1, 0))",
     lambda a, b: np.max(a, axis=0) - np.min(b, axis=0) + np.sum(np.where(a > b, 1, 0))),
    ("(a - min(a)) / (max(a) - min(a))", lambda a, b: (a - np.min(a)) / (np.max(a) - np.min(a))),
    ("any(a > 0.99, axis=0) | all(b < 1.0, axis=0)",
     lambda a, b: np.any(a > 0.99, axis=0) | np.all(b < 1.0, axis=0)),
    ("prod(1 + a / 100, axis=(0, 1))", lambda a, b: np.prod(1 + a / 100, axis=(0, 1))),
    ("sum(a - mean(a, axis=0), axis=0)", lambda a, b: np.sum(a - np.mean(a, axis=0), axis=0)),
]


@pytest.mark.parametrize("text, numpy_code", NESTED, ids=[t for t, _ in NESTED])
@pytest.mark.parametrize("shape", [(5, 7), (300, 257)])
def test_reductions_nested_in_expressions(simd, text, numpy_code, shape):
    rng = np.random.default_rng(1)
    a, b = rng.random(shape), rng.random(shape)
    expected = numpy_code(a, b)
    got = fusenum.evaluate(text)
    assert got.dtype == expected.dtype and got.shape == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


# (3, 400_000) and (4, 30, 9_000) are split into tiles of their kept innermost axis; 300_007 is prime,
# so (3, 300_007) cannot be and runs whole.
LARGE = [((300_001,), None), ((1000, 700), 0), ((1000, 700), 1), ((7, 50_001), 0), ((50_001, 7), 1),
         ((20, 30, 400), (0, 2)), ((400, 30, 20), 1), ((3, 400_000), 0), ((4, 30, 9_000), (0, 1)),
         ((3, 300_007), 0)]


def on_one_and_two_threads(text: str) -> list[np.ndarray]:
    """``evaluate(text)`` (names from the caller's frame) on one thread, then on two."""
    names = sys._getframe(1).f_locals
    results = []
    for threads in (1, 2):
        previous = fusenum.set_num_threads(threads)
        try:
            results.append(fusenum.evaluate(text, local_dict=names))
        finally:
            fusenum.set_num_threads(previous)
    return results


@pytest.mark.parametrize("shape, axis", LARGE)
@pytest.mark.parametrize("reduction", ["sum", "max", "prod", "any"])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_large_reductions_split_over_threads_match_numpy(shape, axis, reduction, layout):
    rng = np.random.default_rng(2)
    x = rng.random(shape) + 0.5
    if layout == "F":
        x = np.asfortranarray(x)
    argument = {"prod": "x ** 0 * (1 + x / 10000)", "any": "x > 1.4999"}.get(reduction, "x")
    value = {"prod": 1 + x / 10000, "any": x > 1.4999}.get(reduction, x)
    expected = getattr(np, reduction)(value, axis=axis)
    results = on_one_and_two_threads(f"{reduction}({argument}, axis={axis!r})")
    assert_reduced_like_numpy(reduction, expected, results[0], value, axis)
    # Deterministic: the same bits whatever the thread count.
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("length, threads_used", [(300_007, 1), (300_000, 2)])
def test_explain_says_how_many_threads_a_reduction_runs_on(length, threads_used, monkeypatch):
    from fusenum.runtime import threads as pool

    thread_counts = []
    run_ranges = pool.run_ranges
    def counted(kernel, operands, layout, ranges, threads, *args, **kwargs):
        thread_counts.append(threads)
        return run_ranges(kernel, operands, layout, ranges, threads, *args, **kwargs)
    monkeypatch.setattr(pool, "run_ranges", counted)
    previous, policy = fusenum.set_num_threads(2), fusenum.set_tiering("never")  # (the kernel, not tier 0)
    try:
        x = np.ones((3, length))  # 300,007 is prime: no tiles of the kept axis for threads to take
        assert (fusenum.evaluate("sum(x, axis=0)") == 3.0).all()
        work = [line for line in fusenum.explain("sum(x, axis=0)").splitlines() if "work:" in line]
    finally:
        fusenum.set_num_threads(previous)
        fusenum.set_tiering(policy)
    assert thread_counts == ([] if threads_used == 1 else [2])
    assert len(work) == 1 and work[0].endswith(f"on {threads_used} thread{'s' if threads_used > 1 else ''}")


def test_integer_reductions_wrap_exactly_across_threads():
    x = np.random.default_rng(3).integers(-2**62, 2**62, 1_000_003)
    for threads in (1, 2):
        previous = fusenum.set_num_threads(threads)
        try:
            assert fusenum.evaluate("sum(x * 3)")[()] == np.sum(x * 3)
            assert fusenum.evaluate("prod(x | 1)")[()] == np.prod(x | 1)
        finally:
            fusenum.set_num_threads(previous)


def test_result_dtypes_follow_numpy():
    cases = {np.int32: ("sum", np.int64), np.bool_: ("sum", np.int64), np.uint8: ("sum", np.uint64),
             np.int16: ("mean", np.float64), np.float32: ("mean", np.float32), np.float16: ("mean", np.float16),
             np.int8: ("prod", np.int64), np.float32: ("sum", np.float32)}
    for dtype, (reduction, result) in cases.items():
        x = np.ones(5, dtype)
        assert fusenum.evaluate(f"{reduction}(x)").dtype == result
    assert fusenum.evaluate("max(x)", local_dict={"x": np.ones(3, np.int8)}).dtype == np.int8
    assert fusenum.evaluate("any(x)", local_dict={"x": np.ones(3)}).dtype == np.bool_


def test_float16_loops_take_float16_values():
    # sum(x, dtype='float16') rounds each value to float16 first, as NumPy's cast into its float16 loop
    # does: 70000 is inf there, and inf - inf is NaN.
    big = np.array([70000.0, -70000.0, 1.0])
    unsigned = np.array([2**64 - 1, 0, 3], np.uint64)
    close = np.full(3, 1.0 + 2**-11 + 2**-20)  # each value is 1.000977 in float16; the float64 sum 3.0029
    with np.errstate(all="ignore"):
        for text, expected in [("sum(big, dtype='float16')", np.sum(big, dtype=np.float16)),
                               ("nansum(big, dtype='float16')", np.nansum(big, dtype=np.float16)),
                               ("mean(big, dtype='float16')", np.mean(big, dtype=np.float16)),
                               ("prod(unsigned, dtype='float16')", np.prod(unsigned, dtype=np.float16)),
                               ("sum(close, dtype='float16')", np.sum(close, dtype=np.float16))]:
            got = fusenum.evaluate(text)
            assert got.dtype == np.float16 and got.tobytes() == expected.tobytes(), (text, got, expected)
    assert np.isnan(np.sum(big, dtype=np.float16)) and np.sum(close, dtype=np.float16) == np.float16(3.004)


def test_mean_with_dtype_float16_divides_the_float16_sum():
    # NumPy's mean(x, dtype='float16') rounds the sum to float16, then divides by an intp (in float64).
    rng = np.random.default_rng(5)
    for values in ([-65.6, -67.2, 38.03], [653, -2459, -2200], rng.normal(0, 300, 97),
                   rng.integers(-3000, 3000, 101)):
        x = np.array(values, np.float16 if isinstance(values, list) and isinstance(values[0], float)
                     else None)
        expected = np.mean(x, dtype=np.float16)
        got = fusenum.evaluate("mean(x, dtype='float16')")
        assert got.dtype == np.float16 and got.tobytes() == expected.tobytes(), (x, got, expected)
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"):
        assert np.isnan(fusenum.evaluate("mean(x, dtype='float16')", {"x": np.zeros(0)})[()])


def test_mean_of_float16_sums_in_float32_and_rounds_as_numpy():
    # NumPy's mean of float16 (no dtype=) sums in float32: no overflow where a float16 sum would
    # overflow. It then divides in float64 and rounds to float16: through float32 when the result is
    # an array, straight from float64 when it is a NumPy scalar (here a 0-d array). The two differ
    # for some sums of 8,192 elements and more, such as this one (1,853,414 / 19,750).
    for x in (np.full(1000, 100, np.float16), np.array([60000, 60000, 1], np.float16)):
        expected = np.mean(x)
        assert np.isfinite(expected)
        for got in (fusenum.evaluate("mean(x)"), np.asarray(fusenum.lazy(x).mean())):
            assert got.dtype == np.float16 and got.tobytes() == expected.tobytes(), (x, got, expected)
    x = np.array([94] * 16664 + [93] * 3086, np.float16)
    rows = np.stack([x, x[::-1]])
    assert np.mean(x) != np.mean(x, keepdims=True)[0]  # (the case where the roundings differ)
    lazy_x, lazy_rows = fusenum.lazy(x), fusenum.lazy(rows)
    for text, expected, lazy in [
            ("mean(x)", np.mean(x), lazy_x.mean()),
            ("mean(x, axis=0)", np.mean(x, axis=0), lazy_x.mean(axis=0)),
            ("mean(x, keepdims=True)", np.mean(x, keepdims=True), lazy_x.mean(keepdims=True)),
            ("mean(rows, axis=1)", np.mean(rows, axis=1), lazy_rows.mean(axis=1)),
            ("mean(rows, axis=-1, keepdims=True)", np.mean(rows, axis=-1, keepdims=True),
             lazy_rows.mean(axis=-1, keepdims=True)),
            ("mean(rows)", np.mean(rows), lazy_rows.mean())]:
        for got in (fusenum.evaluate(text), np.asarray(lazy)):
            assert got.dtype == np.float16 and got.tobytes() == np.asarray(expected).tobytes(), (text, got)
    zero_d = np.array(np.float16(3.25))
    assert fusenum.evaluate("mean(zero_d, keepdims=True)").tobytes() == np.mean(zero_d, keepdims=True).tobytes()


def test_mean_divides_by_an_intp_count_as_numpy():
    # float32 and complex64 sums are divided in float64 and complex128 (NumPy's true_divide by an intp),
    # not in their own dtype: whatever the sum's own bits, the mean is that sum divided so.
    rng = np.random.default_rng(6)
    z = (rng.standard_normal(1000) + 1j * rng.standard_normal(1000)).astype(np.complex64) * np.float32(37.1)
    x = rng.random(2**24 + 3, dtype=np.float32)  # a count that float32 does not hold
    for name, array, axis in (("z", z, None), ("x", x, None), ("x", x[:1000].reshape(10, 100), 0)):
        total = fusenum.evaluate(f"sum({name}, axis={axis})", {name: array})
        count = np.intp(array.size // total.size)
        expected = np.true_divide(total, count).astype(array.dtype)
        got = fusenum.evaluate(f"mean({name}, axis={axis})", {name: array})
        assert got.tobytes() == expected.tobytes(), (name, axis)


def test_empty_inputs_follow_numpy():
    empty = np.zeros((0, 3))
    assert fusenum.evaluate("sum(empty)")[()] == 0 and fusenum.evaluate("prod(empty)")[()] == 1
    np.testing.assert_array_equal(fusenum.evaluate("sum(empty, axis=0)"), np.zeros(3))
    assert fusenum.evaluate("max(empty, axis=1)").shape == (0,)
    assert fusenum.evaluate("any(empty)")[()] == np.False_ and fusenum.evaluate("all(empty)")[()] == np.True_
    for reduction, name in (("max", "maximum"), ("min", "minimum")):
        with pytest.raises(ValueError, match=f"^zero-size array to reduction operation {name} which has no "
                                             "identity$"):
            fusenum.evaluate(f"{reduction}(empty, axis=0)")
    with pytest.warns(RuntimeWarning, match="Mean of empty slice") as caught:
        assert np.isnan(fusenum.evaluate("mean(empty)")[()])
    assert caught[0].filename == __file__  # attributed to the caller's line, as NumPy's warning is
    with pytest.warns(RuntimeWarning) as numpy_caught:
        np.mean(empty)
    # the installed NumPy's very text: NumPy 2.4 dropped the period its earlier releases had
    assert str(caught[0].message) == str(numpy_caught[0].message)


@pytest.mark.parametrize("shape", [(0, 0), (3, 0), (0, 3)])
def test_a_float16_mean_warns_of_an_empty_slice_as_numpy_even_into_an_empty_result(shape):
    # (NumPy's mean warns when it reduces nothing, whatever the result's size; a float16 mean is a sum
    # over a count, whose warning looked at the counts: none in an empty result)
    z = np.zeros(shape)
    for text, call in (("mean(z, axis=1, dtype='float16')", lambda x: np.mean(x, axis=1, dtype=np.float16)),
                       ("mean(z, axis=0, dtype='float16')", lambda x: np.mean(x, axis=0, dtype=np.float16))):
        with warnings.catch_warnings(record=True) as numpy_caught:
            warnings.simplefilter("always")
            expected = call(z)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = fusenum.evaluate(text)
            lazily = np.asarray(call(fusenum.lazy(z)))
        empty = [str(w.message) for w in numpy_caught if "Mean of empty slice" in str(w.message)]
        assert [str(w.message) for w in caught] == empty * 2, (text, shape)
        assert got.shape == lazily.shape == expected.shape


def test_a_complex_reduction_in_a_real_dtype_warns_at_each_call_as_numpy():
    """NumPy warns each time it sums complex values into a real dtype; fusenum gave the warning only
    when it first typed the reduction in a process."""
    c = np.array([1 + 2j, 3 - 4j, 0.5j])
    texts = ("sum(c, dtype='float64')", "mean(c, dtype='float32') + 1", "sum(c * 2, dtype='int8')",
             "sum(1j, dtype='float64')")
    for _ in range(3):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for text in texts:
                fusenum.evaluate(text)
            fusenum.evaluate("sum(c, dtype='bool') + sum(c, dtype='complex64')")  # (NumPy warns for neither)
        assert [(w.category, w.filename) for w in caught] == [(np.exceptions.ComplexWarning, __file__)] * 4


def test_nan_propagates_through_min_and_max_at_every_position(simd):
    for size in (1, 7, 64, 1000, 5001):
        for position in {0, size // 2, size - 1}:
            x = np.arange(size, dtype=np.float64)
            x[position] = np.nan
            assert np.isnan(fusenum.evaluate("max(x)")[()]) and np.isnan(fusenum.evaluate("min(x)")[()])
            assert np.isnan(fusenum.evaluate("sum(x)")[()])


def test_float32_sum_of_2_to_the_25_ones_is_exact():
    ones = np.ones(2**25, np.float32)
    assert np.sum(ones) == 33554432.0
    assert fusenum.evaluate("sum(ones)")[()] == np.float32(33554432.0)
    assert fusenum.evaluate("sum(ones, axis=0)")[()] == np.float32(33554432.0)


def _cancelling(rng, n: int) -> np.ndarray:
    """Terms whose sum is tiny next to them: +-big pairs, scaled and shuffled, plus a little noise."""
    big = rng.standard_normal(n // 2) * 1e6
    x = np.concatenate([big, -big, rng.standard_normal(n - 2 * (n // 2))]) * np.exp(rng.uniform(-3, 3, n))
    rng.shuffle(x)
    return x


def _halving_sum(x: np.ndarray):
    """The textbook pairwise sum: neighbours added, level by level, down to one term."""
    while x.size > 1:
        if x.size % 2:
            x = np.append(x, x.dtype.type(0))
        x = x[0::2] + x[1::2]
    return x[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_summation_is_as_accurate_as_pairwise_summation(simd, dtype):
    """Against math.fsum on data that cancels (the sum is tiny next to the terms): over several
    seeds fusenum's total error is about that of the textbook pairwise sum, and far below a running
    sum's. (NumPy's own error is no reference: its summation order follows the machine's SIMD
    dispatch; on data like this it was 0.7x to 1.3x the textbook sum's on two machines, and fusenum's
    0.76x to 1.3x.) Complex sums add each part on its own, so each part is checked."""
    ours = pairwise = running = 0.0
    for seed in range(12):
        rng = np.random.default_rng(seed)
        n = 1_000_003
        x = _cancelling(rng, n)
        if np.dtype(dtype).kind == "c":
            x = _complex(x, _cancelling(rng, n))
        x = x.astype(dtype)
        exact = complex(math.fsum(x.real.astype(np.float64)), math.fsum(np.imag(x).astype(np.float64)))
        ours += abs(complex(fusenum.evaluate("sum(x)")[()]) - exact)
        pairwise += abs(complex(_halving_sum(x)) - exact)
        running += abs(complex(np.cumsum(x)[-1]) - exact)
    assert ours <= 1.5 * pairwise and ours <= running / 20, (ours, pairwise, running)


def test_summation_error_grows_like_pairwise_not_like_a_running_sum():
    x = np.full(2**24 + 5, 0.1, np.float32)
    exact = math.fsum(x.astype(np.float64))
    running_sum_error = abs(float(np.cumsum(x)[-1]) - exact)  # naive order: huge error
    ours = abs(float(fusenum.evaluate("sum(x)")[()]) - exact)
    theirs = abs(float(np.sum(x)) - exact)
    assert ours <= max(2 * theirs, 4 * float(np.spacing(np.float32(exact)))) < running_sum_error / 1000


def test_reductions_axis_errors_are_numpys():
    x = np.ones((2, 3))
    with pytest.raises(np.exceptions.AxisError, match="^axis 2 is out of bounds for array of dimension 2$"):
        fusenum.evaluate("sum(x, axis=2)")
    with pytest.raises(np.exceptions.AxisError, match="^axis -3 is out of bounds for array of dimension 2$"):
        fusenum.evaluate("sum(x, -3)")
    with pytest.raises(ValueError, match="^duplicate value in 'axis'$"):
        fusenum.evaluate("max(x, axis=(0, -2))")


@pytest.mark.parametrize("text, message", [
    ("sum(x, axis=1.5)", "the axis of sum() must be an integer"),
    ("sum(x, axis=y)", "the axis of sum() must be an integer"),
    ("sum(x, 0, axis=1)", "sum() got the axis twice"),
    ("max(x, dtype='float32')", "keyword argument 'dtype' is not allowed in max()"),
    ("sum(x, keepdims=1.0)", "keepdims of sum() must be True, False or an integer"),
    ("sum(x, initial=3)", "keyword argument 'initial' is not allowed in sum()"),
    ("sum(x, dtype='no such type')", "the dtype of sum() must be a dtype name"),
    ("sum()", "sum() takes an expression and optionally an axis"),
    ("sum(x, 0, 1)", "sum() takes an expression and optionally an axis"),
])
def test_reduction_syntax_errors(text, message):
    x = y = np.ones(3)  # noqa: F841
    with pytest.raises(fusenum.ExpressionError) as raised:
        fusenum.evaluate(text)
    assert message in str(raised.value)


def test_reductions_of_constants_and_python_scalars_mean_what_numpy_gives():
    assert fusenum.evaluate("sum(2)").dtype == np.int64
    s = 2.5  # noqa: F841
    assert fusenum.evaluate("mean(s) + 1")[()] == 3.5
    assert fusenum.evaluate("sum(x, dtype=float32)", local_dict={"x": np.arange(4)}).dtype == np.float32


def test_out_and_casting_apply_to_the_result():
    a = np.arange(12.0).reshape(3, 4)
    out = np.empty(4)
    assert fusenum.evaluate("sum(a, axis=0)", out=out) is out
    np.testing.assert_array_equal(out, a.sum(axis=0))
    with pytest.raises(fusenum.CastingError):
        fusenum.evaluate("sum(a, axis=0)", out=np.empty(4, np.int32))
    with pytest.raises(ValueError, match="shape"):
        fusenum.evaluate("sum(a, axis=0)", out=np.empty(3))


def test_a_reduced_plan_is_reused_and_compiles_once_per_layout():
    fusenum.clear_cache()
    a = np.random.rand(100, 50)
    fusenum.evaluate("a - mean(a, axis=0)")
    misses = fusenum.cache_info().misses
    b = np.random.rand(100, 50)
    fusenum.evaluate("b - mean(b, axis=0)")
    assert fusenum.cache_info().misses == misses


def test_one_reduction_on_changing_layouts_matches_numpy_every_call():
    # A reduction prepares its pass per layout: each layout must get its own, and a repeat its own again.
    base = np.random.default_rng(5).random((40, 60))
    layouts = [base, base.T, base[::2, ::3], base[:, :1], base.astype(">f8"), base[:0], base, base.T]
    results = []
    for x in layouts:
        for axis in (None, 0, 1, -1):
            got = fusenum.evaluate(f"sum(x * 2, axis={axis})")
            np.testing.assert_allclose(got, np.sum(x * 2, axis=axis), rtol=1e-13)
            results.append((got, got.copy()))
    # Every call returns a new array: later calls do not overwrite earlier answers.
    for got, copy in results:
        np.testing.assert_array_equal(got, copy)


def test_reduced_values_broadcast_back_with_scalars_and_swapped_bytes():
    a = np.arange(6.0).reshape(2, 3).astype(">f8")
    zero_d = np.array(4.0, ">f8")
    np.testing.assert_array_equal(fusenum.evaluate("a - mean(a) + zero_d"), a - np.mean(a) + zero_d)
    np.testing.assert_array_equal(fusenum.evaluate("a * sum(a, axis=1, keepdims=True)"),
                                  a * np.sum(a, axis=1, keepdims=True))
    both = fusenum.evaluate("sum(a) + max(zero_d)")
    assert both.shape == () and both[()] == np.sum(a) + zero_d


@pytest.mark.parametrize("shape, axis", [((300_001,), None), ((1000, 700), 0), ((1000, 700), 1)])
@pytest.mark.parametrize("reduction", ["sum", "max", "prod", "mean"])
def test_large_complex_reductions_split_over_threads_match_numpy(shape, axis, reduction):
    rng = np.random.default_rng(4)
    z = _complex(rng.random(math.prod(shape)) - 0.5, rng.random(math.prod(shape)) - 0.5).reshape(shape)
    argument = "1 + z / 10000" if reduction == "prod" else "z * (1 - 2j)"
    value = 1 + z / 10000 if reduction == "prod" else z * (1 - 2j)
    expected = getattr(np, reduction)(value, axis=axis)
    results = on_one_and_two_threads(f"{reduction}({argument}, axis={axis!r})")
    assert_reduced_like_numpy(reduction, expected, results[0], value, axis)
    np.testing.assert_array_equal(results[0], results[1])


def test_complex_min_and_max_order_lexicographically_and_propagate_nan():
    z = np.array([1 + 5j, 2 - 1j, 2 - 3j, -4 + 9j, 2 - 1j])
    assert fusenum.evaluate("max(z)")[()] == 2 - 1j and fusenum.evaluate("min(z)")[()] == -4 + 9j
    for nan in (complex(np.nan, 0), complex(0, np.nan)):
        with_nan = np.concatenate([z, [nan], z])
        assert np.isnan(fusenum.evaluate("max(with_nan)")[()]) and np.isnan(fusenum.evaluate("min(with_nan)")[()])


#: Arguments of the tier-0 reduction tests: a cheap one, an expensive one (fewer virtual lanes), one
#: whose widest node is wider than its result (the bool of a comparison), one with a constant, one
#: with a single-valued operand (``k``, 0-d: power's single-valued path), one broadcast along rows.
TIER0_ARGUMENTS = ["x", "x * 3", "sin(x) * 2", "abs(x) > 1", "where(x > 0, x, 1.5)", "abs(x) ** k", "x + row"]


@given(case=reduction_cases(), argument=st.sampled_from(TIER0_ARGUMENTS))
def test_interpreted_reductions_give_the_kernels_bits(simd, case, argument):
    """Tier 0 reduces its interpreted argument with a one-node kernel told the fused kernel's virtual
    lanes, over the same dims: the same grouping, so the same bits, at every SIMD level."""
    reduction, x, axis, keepdims, requested = case
    assume(x.size > 0)  # (an empty pass runs no code in either tier)
    text = f"{reduction}({argument}{_keywords(axis, keepdims, requested)})"
    names = {"x": x, "k": np.array(2, x.dtype), "row": x[(0,) * (x.ndim - 1)] if x.ndim else x}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected, got = both_tiers(lambda: np.asarray(fusenum.evaluate(text, local_dict=names)))
    if expected is not None:
        assert_bits(expected, got)


@pytest.mark.parametrize("shape, axis", [((1000,), None), ((37, 129), 1), ((129, 37), None), ((300_001,), None),
                                         ((1000, 700), 0), ((20, 30, 400), (0, 2)), ((3, 300_007), 0)], ids=str)
@pytest.mark.parametrize("text", ["sum(sin(x){})", "nansum(where(x > 0, f, -f){})", "mean(x - 0.5{})"])
def test_interpreted_reductions_of_long_rows_give_the_kernels_bits_on_any_thread_count(shape, axis, text):
    """Rows long enough for whole steps of virtual lanes: an expensive argument (fewer lanes than its
    float64 result alone would get) and one wider than its float32 result; pieces, tiles and thread
    ranges as in the fused pass. At the widest level, whose registers the lanes are capped most at
    (the hypothesis test above runs every level, on shorter rows)."""
    x = np.random.default_rng(4).random(shape) * 4 - 1
    names = {"x": x, "f": x.astype(np.float32)}
    text = text.format(f", axis={axis!r}")
    results = []
    for threads in (1, 2):
        previous = fusenum.set_num_threads(threads)
        try:
            results += both_tiers(lambda: fusenum.evaluate(text, local_dict=names))
        finally:
            fusenum.set_num_threads(previous)
    for got in results[1:]:
        assert_bits(results[0], got)


def test_a_new_reduction_is_interpreted_once_its_one_node_kernel_exists(memory_only_kernels, compiling_threads):
    """Under auto, the first reduction waits for its kernel and queues the one-node kernel tier 0
    reduces with; a new reduction grouped alike is then interpreted from its first call, with
    nothing compiled on the caller's behalf, and gives the fused kernel's bits."""
    from fusenum.runtime import kernels, tiering
    a, b = np.linspace(0.5, 2, 3000), np.linspace(-1, 1, 3000)
    previous = fusenum.set_tiering("auto")
    try:
        fusenum.evaluate("sum(a * b)")
        assert tiering.wait_for_compiles(120)
        compiling_threads.clear()
        before = kernels.stats.tier0_calls
        got = fusenum.evaluate("sum(a * 2.0 + b)")
        assert kernels.stats.tier0_calls == before + 1
        assert set(compiling_threads) <= BACKGROUND_THREADS
    finally:
        fusenum.set_tiering(previous)
    fusenum.set_tiering("never")
    try:
        assert got.tobytes() == fusenum.evaluate("sum(a * 2.0 + b)").tobytes()
    finally:
        fusenum.set_tiering(previous)


def test_threads_sharing_a_pass_while_its_kernel_arrives_reduce_once(memory_only_kernels):
    """A pass that one thread interprets while another finds the kernel arrived is not reduced twice
    (the pass's kernel is read once per call)."""
    import threading
    from fusenum.runtime import tiering
    a = np.arange(1.0, 2001.0)
    wrong = []

    def calls():
        try:
            for _ in range(40):
                value = fusenum.evaluate("sum(a * 0.5)", {"a": a})  # (a thread's frame does not hold a)
                if value != 1000.5 * 1000:
                    wrong.append(value)
        except Exception as error:  # noqa: BLE001 -- reported by the assert below
            wrong.append(error)
    previous = fusenum.set_tiering("auto")
    try:
        fusenum.evaluate("sum(a)")  # LLVM up and the one-node sum kernel queued: the pass below is interpreted
        assert tiering.wait_for_compiles(120)
        threads = [threading.Thread(target=calls) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        fusenum.set_tiering(previous)
    assert wrong == []


@pytest.mark.parametrize("text", ["sum(s == b'ab', axis=0)", "sum(w * 1.5)", "max(sin(w), axis=1)",
                                  "mean(where(s != b'x', w, -w))"])
def test_interpreted_reductions_of_swapped_and_bytes_operands_give_the_kernels_bits(simd, text):
    rng = np.random.default_rng(8)
    w = (rng.random((300, 40)) * 4 - 2).astype(">f8")
    s = rng.choice(np.array([b"ab", b"x", b"abc"]), (300, 40))
    expected, got = both_tiers(lambda: np.asarray(fusenum.evaluate(text, local_dict={"w": w, "s": s})))
    assert_bits(expected, got)


@pytest.mark.parametrize("text", ["sum(x)", "mean(x, axis=1)", "max(x)"])
def test_tier_0_reduces_an_operand_itself_where_its_kernel_is_the_fused_one(text, monkeypatch):
    """No interpreted copy of ``x``: the one-node kernel tier 0 reduces with is the fused kernel, so
    it runs on ``x`` itself, with the fused kernel's bits."""
    from fusenum.runtime import interpreter

    x = np.random.default_rng(3).normal(size=(30, 4000))
    previous = fusenum.set_tiering("never")
    try:
        compiled = fusenum.evaluate(text)
        fusenum.set_tiering("always")
        runs = []
        monkeypatch.setattr(interpreter, "run", lambda *args, **kwargs: runs.append(args))
        tier0 = fusenum.evaluate(text)
    finally:
        fusenum.set_tiering(previous)
    assert not runs and compiled.tobytes() == tier0.tobytes()


@pytest.mark.parametrize("text, numpy_call", [
    ("sum(m, axis=1)", lambda m: np.sum(m, axis=1)),
    ("sum(m)", lambda m: np.sum(m)),
    ("mean(m, axis=0)", lambda m: np.mean(m, axis=0)),
    ("max(m * 2, axis=-1)", lambda m: np.max(m * 2, axis=-1)),
    ("prod(m + 1, axis=(0, 1))", lambda m: np.prod(m + 1, axis=(0, 1))),
])
def test_a_reductions_result_owns_its_memory(text, numpy_call):
    # (it was a reshaped view of the accumulator: ``resize`` refused it, ``.base`` was not None)
    m = np.arange(12.0).reshape(3, 4)
    expected = np.asarray(numpy_call(m))
    for tiering in ("never", "always"):
        previous = fusenum.set_tiering(tiering)
        try:
            got = fusenum.evaluate(text, local_dict={"m": m})
        finally:
            fusenum.set_tiering(previous)
        assert got.shape == expected.shape and np.array_equal(got, expected)
        assert got.flags.owndata and got.base is None
        got.resize(got.size + 1, refcheck=False)  # (NumPy's own results take this)


_KERNELS_KEPT = r'''
import gc, json, sys, numpy as np, fusenum
from fusenum.codegen import loader
gc.disable()  # (what is given back must not wait for the collector)
a = np.arange(1.0, 13.0)
layouts = [a, a[::2], a.reshape(3, 4), a.reshape(3, 4).T]
for k in range(40):
    for x in layouts:
        fusenum.evaluate(f"a - sum(a * {k}.5 + 1, axis=0)", local_dict={"a": x})
loader.release_dropped()
kept = len(loader._releases)
fusenum.clear_cache()
print(json.dumps([kept, len(loader._releases)]))
'''


def test_reductions_keep_no_more_kernels_than_the_bound_and_clear_cache_gives_them_back(tmp_path):
    """Prepared passes and final plans keep their kernels, as plans do: their tables follow
    FUSENUM_MAX_KERNELS (40 distinct reductions over 4 layouts kept ~300 machine-code images with a
    bound of 4), and clear_cache() gives their code back at once (a pass's reference to its step made
    a cycle, freed only by the garbage collector, after clear_cache had released what it could)."""
    import json
    import os
    import subprocess
    env = {**os.environ, "FUSENUM_MAX_KERNELS": "4", "FUSENUM_TIERING": "never", "FUSENUM_CACHE": "off"}
    done = subprocess.run([sys.executable, "-c", _KERNELS_KEPT], capture_output=True, text=True, timeout=600,
                          env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    kept, after_clear = json.loads(done.stdout)
    # the kernel cache's 4, the plan cache's plans', and the stages' passes: 4 layouts of 4 roots
    assert kept <= 4 + 4 + 4 * 4 * 2, kept
    assert after_clear == 0
