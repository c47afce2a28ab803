"""Where NumPy versions differ, fusenum gives the installed NumPy's answer.

Every expected value here is computed by the installed NumPy; the CI runs this suite on the
oldest NumPy fusenum supports (2.0.0) and on the newest, so each branch is exercised.
"""
import os
import subprocess
import sys
import numpy as np
import pytest

import fusenum
from fusenum.ir import numpy_behaviour
from fusenum.ir.typing import operator_rewrite

from ..numpy_outcome import outcome
from ..strategies import assert_same
from ..ulp import ulp_distance

# Every kind of scalar NumPy's ** may take a shortcut for (up to 2.2: any of them; from 2.3 only
# the Python int 2 and -1 and the Python float 0.5), and a few it never does.
EXPONENTS = [2, -1, 1, True, 2.0, -1.0, 0.5, 1.0, 3.0, np.float64(2), np.float32(0.5), np.int64(-1),
             np.float64(1), np.array(2.0), np.array(-1.0, np.float32), np.array(0.5), np.array(2)]
BASES = [np.float16, np.float32, np.float64, np.complex64, np.complex128, np.int8, np.bool_]
POWER_ULP = 4


def _base(dtype) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.array([False, True])
    if dtype.kind in "iu":
        return np.arange(-3, 4, dtype=dtype)
    rng = np.random.default_rng(7)
    real = np.concatenate([[-0.0, 0.0, -np.inf, np.inf, np.nan, -1.0, 1.0, 2.5], rng.standard_normal(200) * 10])
    if dtype.kind == "c":
        return (real + 1j * np.roll(real, 3)).astype(dtype)
    return real.astype(dtype)


def _assert_power_matches(expected, got, exact: bool) -> None:
    expected_value, expected_error = expected
    got_value, got_error = got
    if expected_error is not None:
        assert isinstance(got_error, type(expected_error)), (expected_error, got_error)
        return
    assert got_error is None, got_error
    if exact or expected_value.dtype.kind not in "fc":
        assert_same(expected_value, got_value)
        return
    assert got_value.dtype == expected_value.dtype
    for part in ("real", "imag") if expected_value.dtype.kind == "c" else ("real",):
        e, g = getattr(expected_value, part), getattr(got_value, part)
        finite = np.isfinite(e)  # complex pow's special values are the C library's, checked elsewhere
        assert (ulp_distance(e[finite], g[finite]) <= POWER_ULP).all(), (e, g)


@pytest.mark.parametrize("exponent", EXPONENTS, ids=lambda e: f"{type(e).__name__}({e})")
@pytest.mark.parametrize("dtype", BASES, ids=lambda d: np.dtype(d).name)
def test_power_operator_is_the_installed_numpys_for_every_kind_of_exponent(dtype, exponent):
    x = _base(dtype)
    expected = outcome(lambda: x ** exponent)
    rewritten = operator_rewrite(x.dtype, exponent) is not None
    answers = {"lazy": lambda: np.asarray(fusenum.lazy(x) ** exponent),
               "name": lambda: fusenum.evaluate("x ** k", local_dict={"x": x, "k": exponent})}
    if type(exponent) in (int, float, bool):
        answers["literal"] = lambda: fusenum.evaluate(f"x ** {exponent!r}", local_dict={"x": x})
    for how, answer in answers.items():
        try:
            _assert_power_matches(expected, outcome(answer), exact=rewritten)
        except AssertionError as exc:
            raise AssertionError(f"{how}: {exc}") from None


def test_a_zero_d_exponent_is_specialised_by_value_and_an_array_exponent_is_not():
    x = _base(np.complex128)
    for k in (np.array(2.0), np.array(3.0), np.float64(-1), np.full(x.shape, 2.0)):
        _assert_power_matches(outcome(lambda: x ** k), outcome(lambda: fusenum.evaluate("x ** k", local_dict={"x": x, "k": k})),
                              exact=operator_rewrite(x.dtype, k) is not None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [2.0, -1.0, 0.5, 3.0])
def test_power_function_with_a_single_valued_exponent_is_the_installed_numpys(dtype, value, simd):
    """np.power's float loops take their own shortcuts (none in 2.0, 2 in 2.1 and 2.2, 2, -1 and
    0.5 from 2.3): exactly NumPy's bits where it takes one, within pow's ULP bound otherwise."""
    x = _base(dtype)
    exact = value in numpy_behaviour.power_loop_rewrites(np.dtype(dtype))
    expected = outcome(lambda: np.power(x, dtype(value)))
    names = {"x": x, "k": value, "z": np.asarray(value, dtype)}
    for text in (f"power(x, {value!r})", "power(x, k)", "power(x, z)"):
        _assert_power_matches(expected, outcome(lambda: fusenum.evaluate(text, local_dict=names)), exact)


_SHORTCUTS = {2.0: np.square, -1.0: np.reciprocal, 0.5: np.sqrt}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_power_loop_rewrite_the_probe_finds_holds_on_a_million_other_values(dtype):
    """Where the probe says NumPy's loop computes a shortcut, fusenum computes the shortcut and
    promises NumPy's bits: they must hold beyond the probe (on an AVX2 machine NumPy 2.0's float32
    ``powf`` differed from ``1/x`` on 6 in 10,000 values, none of them in the probe's ordinary ones)."""
    bits = np.arange(1 << 20, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    if dtype == np.float32:  # every exponent from 2**-30 to 2**30, mantissas spread
        x = ((bits >> np.uint64(41)).astype(np.uint32) | np.uint32(0x3F800000)).view(np.float32)
        x = x * np.exp2(np.arange(x.size) % 61 - 30).astype(np.float32)
    else:
        x = ((bits >> np.uint64(12)) | np.uint64(0x3FF0000000000000)).view(np.float64)
        x = x * np.exp2(np.arange(x.size) % 121 - 60)
    for value in numpy_behaviour.power_loop_rewrites(np.dtype(dtype)):
        with np.errstate(all="ignore"):
            assert np.power(x, dtype(value)).tobytes() == _SHORTCUTS[value](x).tobytes(), value


def test_the_float32_probe_holds_near_ties():
    """Each value the probe adds for float32 has a reciprocal, square or root within 2**-10 of
    an ULP of halfway between two float32s (see tools/near_ties.py)."""
    x = np.array(numpy_behaviour._NEAR_TIES_FLOAT32, np.uint32).view(np.float32).astype(np.float64)
    for results in (1 / x, x * x, np.sqrt(x)):
        fraction = np.frexp(results)[0] * 2.0**24
        near = np.abs(fraction - np.floor(fraction) - 0.5) < 2.0**-10
        assert near.sum() >= 48
    assert x.size == 192


def test_power_loop_rewrites_are_found_on_values_where_they_matter():
    """The probe's answer is what np.power does on sqrt's telling values, -0.0 and -inf."""
    for dtype in (np.float32, np.float64):
        x = np.array([-0.0, -np.inf], dtype)
        with np.errstate(invalid="ignore"):
            takes_sqrt = np.signbit(np.power(x, dtype(0.5))[0]) and np.isnan(np.power(x, dtype(0.5))[1])
        assert (0.5 in numpy_behaviour.power_loop_rewrites(np.dtype(dtype))) == takes_sqrt


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_clip_ties_with_signed_zero_bounds_are_the_installed_numpys(dtype, simd):
    """A tie between x and a bound (0.0 and -0.0) gives x or the bound depending on NumPy's loop:
    the bound with array bounds, x with single-valued ones (NumPy 2.0: the bound there too)."""
    zeros = np.array([0.0, -0.0, 0.0, -0.0, 1.0, np.nan, -2.0, 0.5], dtype)
    low = np.array([-0.0, 0.0, -1.0, -1.0, 1.0, 0.0, -0.0, np.nan], dtype)
    high = np.array([1.0, 1.0, -0.0, 0.0, 2.0, 1.0, 1.0, 1.0], dtype)
    scalar = dtype(-0.0)
    for text, expected in [("clip(zeros, low, high)", np.clip(zeros, low, high)),
                           ("clip(zeros, -0.0, 1.0)", np.clip(zeros, scalar, dtype(1.0))),
                           ("clip(zeros, 0.0, -0.0)", np.clip(zeros, dtype(0.0), scalar)),
                           ("clip(zeros, s, 1.0)", np.clip(zeros, np.asarray(scalar), dtype(1.0))),
                           ("clip(zeros, low, 1.0)", np.clip(zeros, low, dtype(1.0))),
                           ("clip(zeros, -0.0, high)", np.clip(zeros, scalar, high))]:
        got = fusenum.evaluate(text, local_dict={"zeros": zeros, "low": low, "high": high, "s": np.asarray(scalar)})
        assert_same(expected, got)
        assert np.array_equal(np.signbit(expected), np.signbit(got)), (text, expected, got)


@pytest.mark.parametrize("dtype, bits", [(np.float16, np.uint16), (np.float32, np.uint32), (np.float64, np.uint64)])
def test_nextafter_of_nans_has_the_installed_numpys_bits(dtype, bits, simd):
    """The NaN of ``nextafter`` with a NaN operand is NumPy's, bit for bit: for float32/float64 the
    C library's ``x + y``, whose NaN (which operand's, its sign and payload, quieted) ``signbit``
    shows; float16's is a constant. (The kernel gave a constant NaN: ``signbit(nextafter(1, -nan))``
    was False, NumPy's True.)"""
    info = np.finfo(dtype)
    quiet = 1 << (info.nmant - 1)
    exponent = ((1 << info.nexp) - 1) << info.nmant
    sign = 1 << (8 * np.dtype(dtype).itemsize - 1)
    patterns = [exponent | quiet | 0x23, sign | exponent | quiet | 0x45, exponent | 0x7, sign | exponent | 0x9]
    values = np.concatenate([np.array(patterns, bits).view(dtype), np.array([0.0, -0.0, 1.0, -2.5, np.inf], dtype)])
    x, y = np.repeat(values, len(values)), np.tile(values, len(values))
    with np.errstate(invalid="ignore"):
        expected = np.nextafter(x, y)
        for policy in ("never", "always"):
            previous = fusenum.set_tiering(policy)
            try:
                got = fusenum.evaluate("nextafter(x, y)", local_dict={"x": x, "y": y})
            finally:
                fusenum.set_tiering(previous)
            assert got.view(bits).tolist() == expected.view(bits).tolist(), policy
    if dtype is not np.float16:
        assert numpy_behaviour.nextafter_nan_operand(np.dtype(dtype)) in ("x", "y")  # (glibc passes NaNs through)


def test_the_probes_answer_what_numpy_does():
    x = np.zeros(1, np.uint8)
    assert numpy_behaviour.clip_ignores_out_of_range_int_bounds() == (outcome(lambda: np.clip(x, -1, 0))[1] is None)
    i8 = np.zeros(1, np.int8)
    wraps = outcome(lambda: np.where(True, i8, 300))[1] is None
    assert numpy_behaviour.where_wraps_out_of_range_ints() == wraps
    assert numpy_behaviour.complex_differs_from_c_library("sqrt") is None  # not asked: NumPy's is the C library's
    core = np._core._multiarray_umath.__file__
    assert numpy_behaviour.installation().startswith(f"numpy {np.__version__} {np.__file__}; {core} "
                                                     f"{os.stat(core).st_size} {os.stat(core).st_mtime_ns}; ")


def test_the_installation_names_numpys_cpu_feature_switches():
    """``NPY_DISABLE_CPU_FEATURES`` makes NumPy run other loops, whose answers kernels follow."""
    code = "from fusenum.ir import numpy_behaviour; print(numpy_behaviour.installation())"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NPY_")}
    plain = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    switched = subprocess.run([sys.executable, "-c", code], env={**environment, "NPY_DISABLE_CPU_FEATURES": "AVX512F"},
                              capture_output=True, text=True, check=True)
    assert plain.stdout != switched.stdout
    assert "NPY_DISABLE_CPU_FEATURES='AVX512F'" in switched.stdout
