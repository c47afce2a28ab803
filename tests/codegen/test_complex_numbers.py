"""complex64 and complex128: NumPy's arithmetic bit for bit, its branch cuts and special values."""

import itertools

import numpy as np
import pytest

import fusenum
from fusenum.ir import numpy_behaviour, records
from fusenum.runtime import background

from ..strategies import assert_same
from ..ulp import ulp_distance

COMPLEX = [np.complex64, np.complex128]
PARTS = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, np.inf, -np.inf, np.nan, 1e-300, 1e300]
C_LIBRARY = ["sqrt", "exp", "log", "sin", "cos", "tan", "sinh", "cosh", "tanh",
             "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh"]


def grid(dtype) -> np.ndarray:
    """Every combination of special and ordinary real and imaginary parts."""
    with np.errstate(over="ignore"):
        parts = np.array(PARTS, dtype=np.dtype(dtype).char.lower())
    z = np.empty(len(parts) ** 2, dtype)
    z.real, z.imag = np.repeat(parts, len(parts)), np.tile(parts, len(parts))
    return z


def numpy(fn, *args):
    with np.errstate(all="ignore"):
        return fn(*args)


def assert_numpys_or_refused(name: str, values: np.ndarray) -> None:
    """fusenum's ``name(values)`` is NumPy's, or -- where the installed NumPy computes it with its
    own code instead of the C library's (NumPy <= 2.2 wheels: the arc functions) -- refused."""
    why = numpy_behaviour.complex_differs_from_c_library(name)
    if why is None:
        assert_same(numpy(getattr(np, name), values), fusenum.evaluate(f"{name}(values)"))
    else:
        with pytest.raises(NotImplementedError, match=rf"fusenum does not implement {name}\(\) for "
                                                      rf"{values.dtype}: the installed NumPy"):
            fusenum.evaluate(f"{name}(values)")


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("name", C_LIBRARY)
def test_functions_match_numpy_on_special_values(simd, name, dtype):
    assert_numpys_or_refused(name, grid(dtype))


@pytest.mark.parametrize("dtype", COMPLEX)
def test_branch_cuts_follow_the_sign_of_zero(simd, dtype):
    """Points on the cuts (negative real axis for sqrt/log, |re| > 1 for arcsin...) with +0 and -0."""
    reals = [-4.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 4.0]
    imags = [0.0, -0.0, 1e-30, -1e-30]
    z = np.array([complex(r, i) for r in reals for i in imags], dtype)
    z.imag = np.tile(imags, len(reals))  # keep -0.0, which complex() arithmetic would lose
    cuts = np.array([complex(0.0, r) for r in reals], dtype)  # the imaginary axis, for arctan/arcsinh
    cuts.real = -0.0
    for name in C_LIBRARY:
        for values in (z, cuts):
            assert_numpys_or_refused(name, values)


@pytest.mark.parametrize("name", ["arcsin", "arccosh"])
def test_arc_functions_are_refused_where_numpy_does_not_call_the_c_library(name, monkeypatch, memory_only_kernels):
    """As under NumPy <= 2.2 wheels: evaluate names the function and the reason, lazy arrays
    hand the call to NumPy."""
    reason = "the installed NumPy computes it with its own code"
    background.wait()  # optimized builds queued by earlier tests make their IR now: not under the patch
    monkeypatch.setattr(numpy_behaviour, "complex_differs_from_c_library", lambda op: reason if op == name else None)
    fusenum.clear_cache()
    z = grid(np.complex64)
    with pytest.raises(NotImplementedError, match=rf"^fusenum does not implement {name}\(\) for complex64: {reason}$"):
        fusenum.evaluate(f"{name}(z) * 2")
    result = getattr(np, name)(fusenum.lazy(z) * 2)
    assert type(result) is np.ndarray
    assert_same(numpy(getattr(np, name), z * 2), result)
    assert_same(np.sqrt(z), fusenum.evaluate("sqrt(z)"))  # other functions are still compiled
    fusenum.clear_cache()


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("op", ["*", "/", "+", "-", "==", "!=", "<", "<=", ">", ">="])
def test_arithmetic_and_comparisons_on_special_values(simd, op, dtype):
    z = grid(dtype)
    a, b = np.repeat(z, len(z)), np.tile(z, len(z))
    expected = numpy(lambda x, y: eval(f"x {op} y"), a, b)
    assert_same(expected, fusenum.evaluate(f"a {op} b"))


@pytest.mark.parametrize("dtype", COMPLEX)
def test_multiplication_uses_numpys_fused_formula(simd, dtype):
    """NumPy's SIMD loop computes re = fma(ar, br, -ai*bi): ordinary values differ from
    the textbook formula in the last bit about a quarter of the time."""
    rng = np.random.default_rng(0)
    a = (rng.standard_normal(5000) + 1j * rng.standard_normal(5000)).astype(dtype)
    b = (rng.standard_normal(5000) + 1j * rng.standard_normal(5000)).astype(dtype)
    for text, expected in [("a * b", a * b), ("a / b", a / b), ("a * a", a * a), ("abs(a)", np.abs(a)),
                           ("a ** 2", a ** 2), ("a ** -1", a ** -1), ("a ** 0.5", a ** 0.5)]:
        assert_same(expected, fusenum.evaluate(text))


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("name", ["absolute", "reciprocal", "square", "sign", "conjugate", "negative",
                                  "isnan", "isinf", "isfinite", "real", "imag", "rint"])
def test_unary_operations_on_special_values(simd, name, dtype):
    z = grid(dtype)
    text = "-z" if name == "negative" else f"{name}(z)"
    assert_same(numpy(getattr(np, name), z), fusenum.evaluate(text))


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
def test_minimum_and_maximum_are_lexicographic_with_numpys_nan_rules(simd, name, dtype):
    z = grid(dtype)
    a, b = np.repeat(z, len(z)), np.tile(z, len(z))
    assert_same(numpy(getattr(np, name), a, b), fusenum.evaluate(f"{name}(a, b)"))


@pytest.mark.parametrize("dtype", COMPLEX)
def test_clip(simd, dtype):
    z = grid(dtype)[::5]
    a, low, high = (np.array(c, dtype) for c in zip(*itertools.product(z, repeat=3)))
    assert_same(numpy(np.clip, a, low, high), fusenum.evaluate("clip(a, low, high)"))


@pytest.mark.parametrize("dtype", COMPLEX)
def test_power_follows_npy_cpow(simd, dtype):
    """Integer exponents below 100 by repeated multiplication, 0**b and b == 0 special cases,
    the C library's cpow otherwise."""
    bases = grid(dtype)[::3]
    exponents = np.array([0, 1, 2, 3, 4, 7, -1, -2, -3, 99, 100, -99, 0.5, 1.5, -0.5, 2 + 1j, 1j, -1 - 2j,
                          complex(np.inf, 0), complex(np.nan, 0), complex(0, np.nan), -0.0], dtype)
    a, b = np.repeat(bases, len(exponents)), np.tile(exponents, len(bases))
    assert_same(numpy(np.power, a, b), fusenum.evaluate("power(a, b)"))
    assert_same(numpy(lambda x, y: x ** y, a, b), fusenum.evaluate("a ** b"))


def test_power_operator_fast_paths_need_python_literals():
    """``z ** 2`` is np.square but ``z ** 2.0`` and ``power(z, 2)`` are pow's repeated
    multiplication (no fused multiply-add): NumPy's fast path takes Python int 2 and -1
    and float 0.5 only."""
    rng = np.random.default_rng(1)
    z = rng.standard_normal(4000) + 1j * rng.standard_normal(4000)
    e = 2
    for text, expected in [("z ** 2", z ** 2), ("z ** 2.0", z ** 2.0), ("power(z, 2)", np.power(z, 2)),
                           ("z ** e", z ** e), ("z ** -1", z ** -1), ("z ** 0.5", z ** 0.5)]:
        assert_same(expected, fusenum.evaluate(text))
    assert not np.array_equal(z ** 2, np.power(z, 2))  # the test can tell them apart


def test_angle_is_arctan2_of_the_parts(simd):
    for dtype in COMPLEX:
        z = grid(dtype)
        expected = numpy(np.angle, z)
        got = fusenum.evaluate("angle(z)")
        assert got.dtype == expected.dtype
        assert ulp_distance(expected, got).max() <= 4
    x = np.arange(-3, 4, dtype=np.int8)
    assert_same(np.angle(x), fusenum.evaluate("angle(x)"))  # arctan2(0, x): float16 for int8


@pytest.mark.parametrize("re_dtype, im_dtype", [("f4", "f4"), ("f8", "f4"), ("i1", "f2"), ("i4", "u1"), ("?", "f4")])
def test_complex_builds_numbers_from_their_parts(re_dtype, im_dtype):
    parts = [0.0, -0.0, 1.5, np.inf, -np.inf, np.nan, 7.0]
    with np.errstate(invalid="ignore"):
        re = np.array(parts).astype(re_dtype)
        im = np.array(parts[::-1]).astype(im_dtype)
    got = fusenum.evaluate("complex(re, im)")
    assert got.dtype == np.result_type(re, im, np.complex64)
    assert_same(re.astype(got.real.dtype), got.real)
    assert_same(im.astype(got.imag.dtype), got.imag)
    assert fusenum.evaluate("complex(re, 2)").dtype == np.result_type(re, np.complex64)


def test_complex_of_literals_is_a_python_complex():
    f = np.ones(3, np.float32)
    assert fusenum.evaluate("f * complex(1, 2)").dtype == np.complex64  # weak, like 1+2j
    np.testing.assert_array_equal(fusenum.evaluate("f * complex(1, 2)"), f * (1 + 2j))


@pytest.mark.parametrize("text", ["complex(z, 1)", "complex(1, z)", "complex(a, complex(a, a))"])
def test_complex_rejects_complex_parts(text):
    z, a = np.ones(3, np.complex64), np.arange(3.0)
    # (fusenum's error, a TypeError, as every error of bad input is)
    with pytest.raises(fusenum.ArgumentTypeError, match="complex\\(re, im\\) takes real arguments"):
        fusenum.evaluate(text)


def test_real_imag_conj_of_real_numbers_follow_numpy():
    x = np.array([1.5, -0.0, np.nan], np.float32)
    i = np.arange(3, dtype=np.int16)
    assert_same(np.real(x), fusenum.evaluate("real(x)"))
    assert_same(np.imag(x), fusenum.evaluate("imag(x)"))
    assert_same(np.imag(i), fusenum.evaluate("imag(i)"))
    assert_same(np.conjugate(i), fusenum.evaluate("conj(i)"))
    k = 2.5
    assert fusenum.evaluate("x + real(k)").dtype == np.float32  # a Python float stays weak


def test_functions_numpy_has_but_fusenum_does_not_are_named(monkeypatch, memory_only_kernels):
    # every complex loop NumPy has is implemented now: take one away to see the message
    from fusenum.ir.ops import FUNCTIONS, OPS
    real_only = records.replace(OPS["log2"], lower={"f": OPS["log2"].lower["f"]})
    monkeypatch.setitem(OPS, "log2", real_only)
    monkeypatch.setitem(FUNCTIONS, "log2", real_only)
    z = np.ones(3, np.complex128)
    with pytest.raises(fusenum.UnsupportedOperationError, match=r"^fusenum does not implement log2\(\) for complex128"):
        fusenum.evaluate("log2(z) + 1")
    assert issubclass(fusenum.UnsupportedOperationError, NotImplementedError)


def test_functions_numpy_rejects_for_complex_raise_numpys_error():
    z = np.ones(3, np.complex128)
    for text in ["floor(z)", "z // z", "arctan2(z, z)", "fmod(z, z)"]:
        with pytest.raises(TypeError):
            fusenum.evaluate(text)


def test_complex_layouts_and_byte_order(simd):
    z = grid(np.complex128)
    swapped = z.astype(">c16")
    strided = np.repeat(z, 3)[::3]
    out = np.empty(len(z), ">c16")
    fusenum.evaluate("swapped * strided + 1j", out=out)
    assert_same(numpy(lambda a, b: a * b + 1j, z, z), out.astype("c16"))
    half = np.arange(40, dtype=np.float16).astype(">f2")
    assert_same(half * half, fusenum.evaluate("half * half"))
