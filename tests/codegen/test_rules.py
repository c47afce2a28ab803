"""Lowering rules at NumPy's corners, under every SIMD level."""
import warnings

import numpy as np
import pytest

import fusenum

INTS = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]


def numpy(expression, **values):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return eval(expression, {"np": np}, values)


def corner_values(dtype):
    dtype = np.dtype(dtype)
    info = np.iinfo(dtype)
    base = [0, 1, 2, 3, 5, info.max, info.min, info.max - 1, info.min + 1]
    if dtype.kind == "i":
        base += [-1, -2, -3, -5]
    return np.array(base, dtype=dtype)


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("op", ["//", "%", "<<", ">>", "**"])
def test_integer_corners_against_every_other_value(simd, dtype, op):
    values = corner_values(dtype)
    x = np.repeat(values, len(values))
    y = np.tile(values, len(values))
    if op == "**":
        y = np.abs(y) % 70 if dtype[0] == "i" else y % 70
        y = y.astype(dtype)
    got = fusenum.evaluate(f"x {op} y")
    expected = numpy(f"x {op} y", x=x, y=y)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", ["f4", "f8"])
@pytest.mark.parametrize("op", ["//", "%", "/"])
def test_float_division_corners(simd, dtype, op):
    special = np.array([0.0, -0.0, 1.0, -1.0, 0.5, 7.0, -7.0, 1e-300, 1e300, np.inf, -np.inf, np.nan, 3.0, -2.5],
                       dtype=dtype)
    x = np.repeat(special, len(special))
    y = np.tile(special, len(special))
    got = fusenum.evaluate(f"x {op} y")
    expected = numpy(f"x {op} y", x=x, y=y)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


@pytest.mark.parametrize("dtype", ["f4", "f8"])
def test_power_with_single_valued_exponent_uses_numpys_fast_paths(simd, dtype):
    base = np.array([-0.0, 0.0, -np.inf, np.inf, np.nan, 4.0, 3.0, -2.0, 1e200, 7.5], dtype=dtype)
    for exponent in [0.5, 2.0, -1.0, 3.0]:
        e = exponent  # a Python float variable: one value for the whole call
        e0 = np.array(exponent, dtype)
        for text, values in [("base ** e", dict(base=base, e=e)), ("base ** e0", dict(base=base, e0=e0)),
                             (f"base ** {exponent!r}", dict(base=base))]:
            got = fusenum.evaluate(text, local_dict=values)
            expected = numpy(text, **values)
            np.testing.assert_array_equal(got, expected, err_msg=text)
            np.testing.assert_array_equal(np.signbit(got), np.signbit(expected), err_msg=text)


def test_power_with_array_exponent_uses_pow(simd):
    base = np.array([-0.0, -np.inf, 4.0])
    exponent = np.full(3, 0.5)
    np.testing.assert_array_equal(fusenum.evaluate("base ** exponent"), [0.0, np.inf, 2.0])


def test_float_power_is_within_one_ulp_of_numpy(simd):
    rng = np.random.default_rng(3)
    x = rng.random(1000) * 10
    y = rng.random(1000) * 6 - 3
    for dtype in ["f4", "f8"]:
        xs, ys = x.astype(dtype), y.astype(dtype)
        got = fusenum.evaluate("xs ** ys")
        expected = xs ** ys
        ulps = np.abs(got.view(f"i{xs.itemsize}").astype(np.int64) - expected.view(f"i{xs.itemsize}"))
        assert ulps.max() <= 1, dtype


def test_bool_operators_follow_numpy(simd):
    p = np.array([True, True, False, False])
    q = np.array([True, False, True, False])
    for op in ["+", "*", "&", "|", "^", "<", "<=", ">", ">=", "==", "!=", "//", "%", "**", "<<", ">>", "/"]:
        got = fusenum.evaluate(f"p {op} q")
        expected = numpy(f"p {op} q", p=p, q=q)
        assert got.dtype == expected.dtype, op
        np.testing.assert_array_equal(got, expected, err_msg=op)
    np.testing.assert_array_equal(fusenum.evaluate("~p"), ~p)
    np.testing.assert_array_equal(fusenum.evaluate("abs(p)"), abs(p))


def test_integer_overflow_wraps(simd):
    x = np.array([127, -128, 100], np.int8)
    np.testing.assert_array_equal(fusenum.evaluate("x + 100"), numpy("x + 100", x=x))
    np.testing.assert_array_equal(fusenum.evaluate("x * 3"), numpy("x * 3", x=x))
    np.testing.assert_array_equal(fusenum.evaluate("-x"), numpy("-x", x=x))
    np.testing.assert_array_equal(fusenum.evaluate("abs(x)"), numpy("abs(x)", x=x))


def test_byte_swapped_and_unaligned_operands(simd):
    x = np.arange(100, dtype=">f8")
    raw = np.zeros(801, np.uint8)[1:].view(np.float64)
    raw[:] = np.arange(100) * 0.5
    out = np.empty(100, ">i4")
    fusenum.evaluate("x + raw", out=out, casting="unsafe")
    np.testing.assert_array_equal(out, (x + raw).astype(np.int32))


@pytest.mark.parametrize("tiered", [True, False], ids=["quick build", "optimized build"])
@pytest.mark.parametrize("text", ["sqrt(a) % (b - b)", "arcsin(a) % (a // b)", "(a + 0.0) % (0 // b)",
                                  "sqrt(a) // (b - b)", "arcsin(a) % (a % b) + f", "(sqrt(a) % (b - b)) != 0",
                                  "where(sqrt(a) / (b - b) != 0, sqrt(a) / (b - b), 0)",
                                  "where(fmod(sqrt(a), b - b) != 0, fmod(sqrt(a), b - b), 0)",
                                  "where(fmod(sqrt(a), b ^ b) != 0, fmod(sqrt(a), b ^ b), 0)",
                                  "where((sqrt(a) + 0j) / (b - b) != 0, (sqrt(a) + 0j) / (b - b), 0)",
                                  "where(sqrt(a + 0j) / (0 // b) != 0, sqrt(a + 0j) / (0 // b), 0)",
                                  "where((b - b) / 0 != 0, (b - b) / 0, 0)",
                                  "where((b - b) // 0.0 != 0, (b - b) // 0.0, 0)",
                                  "where((0 // b) % 0.0 != 0, (0 // b) % 0.0, 0)",
                                  "where(fmod(b ^ b, 0.0) != 0, fmod(b ^ b, 0.0), 0)"])
def test_a_division_by_a_zero_llvm_finds_is_numpys(simd, tiered, text, monkeypatch, memory_only_kernels):
    # LLVM 22's code generation took 0 / y and frem(0, y) for 0 where it proved y zero (``b - b``,
    # ``0 // b``, a literal 0) and the dividend 0, in NumPy's divmod selects and in a user's
    # ``where``, also through ``fmod`` and the parts of a complex division: the kernel must give
    # NaN, as NumPy and tier 0 do.
    from fusenum.runtime import kernels
    monkeypatch.setattr(kernels, "TIERED", tiered)
    previous = fusenum.set_tiering("never")
    try:
        values = {"a": 0, "b": np.arange(-3, 8, dtype=np.int32), "f": np.zeros(11)}
        got = fusenum.evaluate(text, local_dict=values)
    finally:
        fusenum.set_tiering(previous)
    expected = numpy(text, sqrt=np.sqrt, arcsin=np.arcsin, where=np.where, fmod=np.fmod, **values)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    if expected.dtype.kind == "f":
        numbers = ~np.isnan(expected)  # (NaN's sign is the C library's)
        np.testing.assert_array_equal(np.signbit(got[numbers]), np.signbit(expected[numbers]))


@pytest.mark.parametrize("policy", ["never", "always"])
@pytest.mark.parametrize("dtype, signaling", [(np.float64, 0xFFF4000000000001), (np.float32, 0xFF800001),
                                              (np.float16, 0xFD01)])
def test_clip_passes_a_signaling_nan_through_as_numpy_does(policy, dtype, signaling):
    """clip's NaN was ``x + low + high``, which quieted a signaling NaN; NumPy returns its bits."""
    bits = np.dtype(f"u{np.dtype(dtype).itemsize}")
    x = np.array([signaling] * 9, bits).view(dtype)
    previous = fusenum.set_tiering(policy)
    try:
        for text, numpy in [("clip(x, -1.0, 1.0)", lambda: np.clip(x, -1.0, 1.0)),
                            ("clip(y, x, 2.0)", lambda: np.clip(np.ones_like(x), x, 2.0))]:
            got = fusenum.evaluate(text, {"x": x, "y": np.ones_like(x)})
            assert got.tobytes() == numpy().tobytes(), (text, got.view(bits), numpy().view(bits))
    finally:
        fusenum.set_tiering(previous)
