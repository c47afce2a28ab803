"""What the installed NumPy computes where NumPy versions or builds differ.

fusenum promises the installed NumPy's answer. Where that answer changed between the
NumPy versions fusenum supports (2.0 onwards), or depends on how NumPy was built,
fusenum asks NumPy itself: each question below runs NumPy once on a few values, the
first time it is needed, and the answer is kept for the process (NumPy cannot change
under a running process; :mod:`.answers` keeps them, and may adopt them recorded where the same
NumPy release asked them). No answer here is derived from a version number.

:func:`installation` names what decides them all (with the CPU and the C library), for the keys
of what follows them on disk: asking costs ~0.5 ms of a process's first call, naming ~20 µs.
"""
from __future__ import annotations

import ctypes
import functools
import os

import numpy as np

from .answers import question

_SINGLE_VALUED_REWRITES = {2.0: np.square, -1.0: np.reciprocal, 0.5: np.sqrt}


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


#: float32 values (bit patterns) whose reciprocal, square or square root lies nearest halfway between
#: two float32s (``python3 tools/near_ties.py``: 48 per function, the last for roots in [2, 4)).
#: A float32 ``pow`` that is not correctly rounded differs from the shortcut there first: NumPy
#: 2.0's loop (the C library's ``powf``) differed on 7, 41 and 37 of them on an AVX2 machine,
#: where the ordinary numbers below showed no reciprocal difference at all.
_NEAR_TIES_FLOAT32 = (
    0x3f869913, 0x3f87cc45, 0x3f8c1284, 0x3f8efa43, 0x3f909909, 0x3f92abab, 0x3f94f105, 0x3f986799,
    0x3f9beaaf, 0x3fa013d1, 0x3fa0ddd1, 0x3fa24cf7, 0x3fa6449f, 0x3faaaaac, 0x3fab8be1, 0x3fad1367,
    0x3fae4f88, 0x3fb1f990, 0x3fb84a93, 0x3fc100c1, 0x3fc23dc3, 0x3fc66730, 0x3fc698d0, 0x3fccccd0,
    0x3fcf7d05, 0x3fcfba38, 0x3fd0ac19, 0x3fd0dd0d, 0x3fd25d25, 0x3fd43d43, 0x3fdc23dd, 0x3fde86a9,
    0x3fde9bd0, 0x3fe05475, 0x3fe1368b, 0x3fe25473, 0x3fe401c8, 0x3fe58fd0, 0x3fec7ec7, 0x3fee4bc5,
    0x3ff00ff1, 0x3ff02a3b, 0x3ff0ff0f, 0x3ffc3237, 0x3ffe01ff, 0x3fff44fe, 0x3ffffffd, 0x3fffffff,
    0x3f800800, 0x3f801800, 0x3f802800, 0x3f803800, 0x3f804800, 0x3f805800, 0x3f806800, 0x3f807800,
    0x3f808800, 0x3f809800, 0x3f80a800, 0x3f80b800, 0x3f80c800, 0x3f80d800, 0x3f80e800, 0x3f80f800,
    0x3f810800, 0x3f811800, 0x3f812800, 0x3f813800, 0x3f814800, 0x3f815800, 0x3f816800, 0x3f817800,
    0x3f818800, 0x3f819800, 0x3f81a800, 0x3f81b800, 0x3f81c800, 0x3f81d800, 0x3f81e800, 0x3f81f800,
    0x3f820800, 0x3f821800, 0x3f822800, 0x3f823800, 0x3f824800, 0x3f825800, 0x3f826800, 0x3f827800,
    0x3f828800, 0x3f829800, 0x3f82a800, 0x3f82b800, 0x3f82c800, 0x3f82d800, 0x3f82e800, 0x3f82f800,
    0x3f800001, 0x3f800003, 0x3f800005, 0x3f800007, 0x3f800009, 0x3f80000b, 0x3f80000d, 0x3f833a4e,
    0x3f844570, 0x3f8efcc1, 0x3f925859, 0x3f97868c, 0x3f9e49af, 0x3fa04974, 0x3fa3f60b, 0x3fa97bef,
    0x3fad336c, 0x3fb0112d, 0x3fb0c6c3, 0x3fb2140b, 0x3fb3018b, 0x3fb5ad95, 0x3fb69aab, 0x3fb8cc66,
    0x3fbab837, 0x3fbb61f7, 0x3fc1b19a, 0x3fc3d4c6, 0x3fc88879, 0x3fc8ba2e, 0x3fcb41e9, 0x3fcd8800,
    0x3fcdaeb2, 0x3fd26240, 0x3fd461f1, 0x3fd46581, 0x3fd936ce, 0x3fddd908, 0x3fe1972d, 0x3fe910cb,
    0x3fef36ba, 0x3ff0249a, 0x3ff028ab, 0x3ff0d9ce, 0x3ff42faa, 0x3ff4b74a, 0x3ff9cf73, 0x3ffc114a,
    0x4001ef9f, 0x400b2241, 0x400fb70b, 0x400fe042, 0x40121e3f, 0x40158ecb, 0x4017cf1b, 0x40195905,
    0x401b9bd1, 0x401c3158, 0x401dc3f5, 0x402473d4, 0x402a177f, 0x402e5eff, 0x403302be, 0x403b8bcc,
    0x403b8e2a, 0x403d500e, 0x4041bc4e, 0x4043a094, 0x40469903, 0x404d142a, 0x404d91ec, 0x4050a6e2,
    0x40515a77, 0x405364e1, 0x40541bc5, 0x4054b46a, 0x40551dbf, 0x4055aaf6, 0x405ae03b, 0x405b64dc,
    0x405f5fa5, 0x4063f6b8, 0x40641f46, 0x406e9372, 0x40702086, 0x40705e84, 0x4071a284, 0x407fffef,
    0x407ffff1, 0x407ffff3, 0x407ffff5, 0x407ffff7, 0x407ffff9, 0x407ffffb, 0x407ffffd, 0x407fffff,
)


@functools.lru_cache(maxsize=None)
def _float_probe(dtype: np.dtype) -> np.ndarray:
    """Values on which ``pow`` and its shortcuts (square, reciprocal, sqrt) disagree somewhere:
    signed zeros and infinities (sqrt's -0.0 and -inf), many ordinary numbers and, for float32,
    numbers whose exact results are nearly halfway between two float32s. Kept (read-only): the
    loop's and the operator's questions both ask, and making it is most of a question's cost."""
    # Signed numbers spread over 2**-44 .. 2**44, from a fixed integer hash: numpy.random would
    # cost its import (~8 ms) in processes that never use it.
    # Each number's bits are put together directly (sign, biased exponent, 52 mantissa bits), in
    # integer operations only: half the time of float arithmetic and ldexp in a new process.
    k = np.arange(1, 4001, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    mantissa = k >> np.uint64(12)
    exponent = k % np.uint64(89) + np.uint64(1023 - 44)
    sign = k & np.uint64(1 << 11)
    ordinary = (mantissa | exponent << np.uint64(52) | sign << np.uint64(52)).view(np.float64)
    special = [-0.0, 0.0, -np.inf, np.inf, np.nan, -1.0, 1.0, 3.0, -2.5]
    with np.errstate(all="ignore"):
        probe = np.concatenate([special, ordinary]).astype(dtype)
    if np.dtype(dtype) == np.float32:
        probe = np.concatenate([probe, np.array(_NEAR_TIES_FLOAT32, np.uint32).view(np.float32)])
    probe.flags.writeable = False
    return probe


@question
def power_loop_rewrites(dtype: np.dtype) -> frozenset[float]:
    """The exponents for which ``np.power``'s loop for float ``dtype``, given a single-valued
    exponent, computes ``square``, ``reciprocal`` or ``sqrt`` instead of ``pow`` (NumPy 2.0:
    none; 2.1 and 2.2: 2; from 2.3: 2, -1 and 0.5)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        return frozenset()
    x = _float_probe(dtype)
    found = set()
    with np.errstate(all="ignore"):
        for value, rewrite in _SINGLE_VALUED_REWRITES.items():
            if _same_bits(np.power(x, dtype.type(value)), rewrite(x)):
                found.add(value)
    return frozenset(found)


# The unary ufuncs NumPy's ``**`` operator may compute instead of ``power``, by exponent value
# (its fast_scalar_power: up to NumPy 2.2 for any int or float scalar or 0-d array of these
# values, and 1 too; from 2.3 for the Python int 2 and -1 and the Python float 0.5 only).
_OPERATOR_REWRITES = {2.0: np.square, -1.0: np.reciprocal, 0.5: np.sqrt, 1.0: np.positive}


def _base_probe(dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "f":
        return _float_probe(dtype)
    if dtype.kind == "c":
        ordinary = _float_probe(np.float64)[9:]
        with np.errstate(all="ignore"):
            return np.concatenate([_complex_grid(np.dtype(np.complex128)), ordinary + 1j * ordinary[::-1]]).astype(dtype)
    return np.arange(-3, 4).astype(dtype)


def operator_power_rewrite(base: np.dtype, exponent) -> str | None:
    """The name of the unary ufunc (``square``, ``reciprocal``, ``sqrt``, ``positive``) that the
    installed NumPy's ``array ** exponent`` computes instead of ``power`` for an array of dtype
    ``base``, or None. ``exponent`` is a Python or NumPy scalar or a 0-d array. Only a rewrite
    that changes the result (its bits or its dtype) on some value counts."""
    if isinstance(exponent, np.ndarray):
        if exponent.ndim:
            return None
        key = (np.ndarray, exponent.dtype, exponent.item())
    elif isinstance(exponent, np.generic):
        key = (type(exponent), None, exponent.item())
    else:
        key = (type(exponent), None, exponent)
    value = key[2]
    if isinstance(value, complex) or not isinstance(value, (int, float)) or float(value) not in _OPERATOR_REWRITES:
        return None
    return _operator_rewrite(np.dtype(base), key)


@question
def _operator_rewrite(base: np.dtype, key: tuple) -> str | None:
    kind, dtype, value = key
    exponent = np.asarray(value, dtype) if kind is np.ndarray else kind(value)
    rewrite = _OPERATOR_REWRITES[float(value)]
    x = _base_probe(base)
    with np.errstate(all="ignore"):
        try:
            by_operator = x ** exponent
            by_rewrite = rewrite(x)
            by_power = np.power(x, exponent)
        except (TypeError, ValueError, ArithmeticError):
            return None
    return rewrite.__name__ if _same_bits(by_operator, by_rewrite) and not _same_bits(by_operator, by_power) else None


@question
def clip_single_valued_bounds_win_ties(dtype: np.dtype) -> bool:
    """Whether ``np.clip`` of float ``dtype`` with single-valued bounds returns the bound when
    it equals ``x`` (``clip(0.0, -0.0, 1.0)`` is -0.0: NumPy 2.0) rather than ``x`` (from 2.1)."""
    x = np.zeros(16, dtype)
    return bool(np.signbit(np.clip(x, dtype.type(-0.0), dtype.type(1.0))).all())


@question
def clip_ignores_out_of_range_int_bounds() -> bool:
    """Whether ``np.clip`` of an integer array ignores a Python int bound beyond its dtype
    (from NumPy 2.1) rather than raising ``OverflowError`` (NumPy 2.0)."""
    try:
        np.clip(np.zeros(1, np.uint8), -1, 0)
    except OverflowError:
        return False
    return True


@question
def bool_loops_refuse_ints_beyond_int64() -> bool:
    """Whether a bool loop takes a Python int beyond int64 as an ``OverflowError``
    (``np.logical_and(True, 2**63)``: NumPy 2.4, through a C long) rather than as True (2.0)."""
    try:
        np.logical_and(np.ones(1, bool), 2**63)
    except OverflowError:
        return True
    return False


@question
def where_wraps_out_of_range_ints() -> bool:
    """Whether ``np.where(c, int8_array, 300)`` wraps the Python int into the branch dtype
    (NumPy up to 2.4) rather than raising ``OverflowError`` (from 2.5)."""
    try:
        np.where(np.ones(1, bool), np.zeros(1, np.int8), 300)
    except OverflowError:
        return False
    return True


# NumPy name -> C99 <complex.h> name, for the functions whose complex loops NumPy takes from
# the C library only when it trusts it (NumPy's npy_config.h turns them off for glibc < 2.18,
# so wheels built on glibc 2.17 -- NumPy 2.2 and earlier -- use NumPy's own code instead).
_C_COMPLEX = {"arcsin": "casin", "arccos": "cacos", "arctan": "catan",
              "arcsinh": "casinh", "arccosh": "cacosh", "arctanh": "catanh"}


def _complex_grid(dtype: np.dtype) -> np.ndarray:
    parts = [0.0, -0.0, 0.5, -2.5, 3.0, 1e-30, -1e-30, 1.5, -4.0, np.inf, -np.inf, np.nan]
    real = np.repeat(parts, len(parts))
    imag = np.tile(parts, len(parts))
    z = np.empty(real.size, dtype)
    z.real, z.imag = real, imag
    return z


def _c_library_results(cname: str, z: np.ndarray) -> np.ndarray | None:
    """The C library's ``cname`` (``f`` suffix for complex64) of each element, or None if absent."""
    try:
        libm = ctypes.CDLL("libm.so.6")
    except OSError:
        from ctypes.util import find_library  # only here: it imports subprocess (~4 ms at import)
        found = find_library("m")
        if found is None:
            return None
        libm = ctypes.CDLL(found)
    part = ctypes.c_float if z.dtype == np.complex64 else ctypes.c_double

    class Complex(ctypes.Structure):
        _fields_ = [("re", part), ("im", part)]

    function = getattr(libm, cname + ("f" if z.dtype == np.complex64 else ""), None)
    if function is None:
        return None
    function.restype, function.argtypes = Complex, [Complex]
    results = (function(Complex(v.real, v.imag)) for v in z)
    out = np.empty_like(z)
    for i, r in enumerate(results):
        out.real[i], out.imag[i] = r.re, r.im
    return out


@question
def complex_differs_from_c_library(name: str) -> str | None:
    """Why fusenum cannot give the installed NumPy's complex ``name`` (fusenum's kernels call the
    C library's complex function), or None when NumPy's results are the C library's."""
    cname = _C_COMPLEX.get(name)
    if cname is None:
        return None
    for dtype in (np.complex64, np.complex128):
        z = _complex_grid(np.dtype(dtype))
        expected = _c_library_results(cname, z)
        with np.errstate(all="ignore"):
            got = getattr(np, name)(z)
        if expected is None or not _same_bits(got, expected):
            return (f"the installed NumPy ({np.__version__}) computes complex {name} with its own "
                    f"code, not the C library's {cname}() that fusenum calls, and their results differ "
                    f"(NumPy wheels built on glibc older than 2.18, such as NumPy 2.2 and earlier, do this)")
    return None


@functools.lru_cache(maxsize=None)
def installation() -> str:
    """The installed NumPy, as text: its version and path, and the path, size and modification time
    of its core extension module, where its loops are (a rebuild in place changes them), and the
    environment variables that choose among its loops by CPU feature. With the CPU and the C
    library, which its loops call, it decides every answer here."""
    path = _core_module()
    status = os.stat(path)
    return f"numpy {np.__version__} {np.__file__}; {path} {status.st_size} {status.st_mtime_ns}; {_CPU_FEATURES}"


def _core_module() -> str:
    """The path of NumPy's core extension module, where its loops are."""
    core = getattr(getattr(np, "_core", None), "_multiarray_umath", None)
    return getattr(core, "__file__", None) or np.__file__


@functools.lru_cache(maxsize=None)
def release() -> str:
    """The installed NumPy as :func:`installation` says, but not where it is: its version, the name
    and size of its core extension module, the CPU features it dispatches its loops on (its answers
    differ between CPUs: ``log(-1)`` is -NaN in its AVX-512 loops, +NaN in the others) and the same
    environment variables. Two installations of one release from one wheel on one machine (a build
    environment's and the user's, say) have the same text: what names NumPy's answers in kernels
    built elsewhere (the kernels shipped with fusenum). Where NumPy does not list its CPU features,
    :func:`installation` (no other installation has that text)."""
    path = _core_module()
    features = getattr(getattr(getattr(np, "_core", None), "_multiarray_umath", None), "__cpu_features__", None)
    if not isinstance(features, dict):
        return installation()
    dispatched = " ".join(sorted(name for name, on in features.items() if on))
    return (f"numpy {np.__version__}; {os.path.basename(path)} {os.stat(path).st_size}; cpu {dispatched}; "
            f"{_CPU_FEATURES}")


#: NumPy's run-time switches between its loops for different CPU features, as NumPy read them at its
#: import (before this module's).
_CPU_FEATURES = " ".join(f"{name}={os.environ.get(name)!r}"
                         for name in ("NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES"))


@question
def half_nextafter_gives_y_on_ties() -> bool:
    """Whether the installed NumPy's float16 ``nextafter(x, y)`` gives ``y`` where ``x == y`` (as C's
    ``nextafter`` does: ``nextafter(0.0, -0.0)`` is -0.0; NumPy 2.5), rather than ``x`` (NumPy 2.4
    and earlier)."""
    zero, negative_zero = np.zeros(1, np.float16), np.array([-0.0], np.float16)
    return bool(np.signbit(np.nextafter(zero, negative_zero))[0])


@question
def nextafter_nan_operand(dtype: np.dtype) -> str | None:
    """Whose NaN the installed NumPy's float32/float64 ``nextafter`` gives, quieted, when an operand
    is NaN: ``"y"`` (``y``'s if it is NaN, else ``x``'s) or ``"x"`` (the other way round); None if
    it does not pass an operand's NaN through. (It returns the C library's ``x + y`` there, and
    which NaN an add keeps depends on how it was compiled; ``signbit`` shows the difference.)"""
    quiet_nan = np.array([np.nan], dtype).view(f"u{np.dtype(dtype).itemsize}")
    sign = quiet_nan.dtype.type(1) << quiet_nan.dtype.type(8 * quiet_nan.itemsize - 1)
    nan_x, nan_y = (quiet_nan | 0x123).view(dtype), (quiet_nan | sign | 0x456).view(dtype)
    one = np.ones(1, dtype)
    with np.errstate(all="ignore"):
        both, both_swapped = np.nextafter(nan_x, nan_y), np.nextafter(nan_y, nan_x)
        only_x, only_y = np.nextafter(nan_x, one), np.nextafter(one, nan_y)
    if not (_same_bits(only_x, nan_x) and _same_bits(only_y, nan_y)):
        return None
    if _same_bits(both, nan_y) and _same_bits(both_swapped, nan_x):
        return "y"
    if _same_bits(both, nan_x) and _same_bits(both_swapped, nan_y):
        return "x"
    return None


#: Inputs that lie outside the domain of some function (arcsin, log, log1p, arccosh, ...).
_DOMAIN_PROBES = (-np.inf, -2.0, -0.5, 0.5, 2.0, np.inf)


@functools.lru_cache(maxsize=None)
def empty_mean_message() -> str:
    """The text of NumPy's warning for ``mean`` of an empty slice: ``"Mean of empty slice."`` up to
    NumPy 2.3, without the period from 2.4 on (``nanmean``'s never had one). Read from the constants
    of NumPy's own function that gives it, rather than by running it: catching a warning changes the
    process's filters for every thread meanwhile. The newest text if that function is not found."""
    newest = "Mean of empty slice"
    try:
        from numpy._core import _methods
        constants = _methods._mean.__code__.co_consts
    except (ImportError, AttributeError):
        return newest
    return next((c for c in constants if isinstance(c, str) and c.startswith(newest)), newest)


@functools.lru_cache(maxsize=None)
def domain_nan(ufunc: np.ufunc, dtype: np.dtype) -> float | None:
    """The NaN (sign and payload) the installed NumPy's ``ufunc`` gives for numbers outside the
    function's domain on this machine, or None if it gives none or NaNs of different signs.

    Implementations disagree there (glibc's ``acos(2)`` and libmvec's ``log(-1)`` are
    +NaN, the x86 default NaN of an invalid operation and NumPy's SIMD loops -NaN), and
    ``signbit``/``copysign`` show the difference; so the kernels replace a NaN made from a
    non-NaN input by NumPy's.
    """
    with np.errstate(all="ignore"):
        results = np.asarray(ufunc(np.array(_DOMAIN_PROBES, dtype)))
    nans = results[np.isnan(results)]
    if not nans.size or len(set(np.signbit(nans).tolist())) != 1:
        return None
    return float(nans[0])
