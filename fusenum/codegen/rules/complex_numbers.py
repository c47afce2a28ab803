"""Lowering rules for complex64 and complex128, with NumPy's algorithms.

A complex value is a :class:`~fusenum.codegen.emitter.Pair` of float vectors.
The arithmetic is NumPy's, bit for bit: its SIMD multiply is
``(fma(ar, br, -ai*bi), fma(ar, bi, ai*br))`` (so ``llvm.fma``, which is exact
on every target: without FMA hardware it is the C library's ``fma``), division
is Smith's algorithm without fused operations, ``abs`` is NumPy's scaled
``larger * sqrt(1 + (smaller/larger)**2)`` and comparisons are lexicographic
with NumPy's NaN rules.

The transcendental functions (``sqrt exp log sin cos tan sinh cosh tanh`` and
the inverse ones) are the C library's ``csqrt``, ``cexp``, ... called for each
lane: NumPy calls the same glibc functions, so the results, branch cuts and
special values are NumPy's exactly. ``exp2``, ``expm1``, ``log2``, ``log10`` and
``log1p`` follow NumPy's formulas (``clog`` or ``cexp`` with a constant factor,
or real ``expm1``/``cos``/``sin``/``exp`` and ``hypot``/``log``/``atan2``) on the
same C library calls, so they too are NumPy's bit for bit. ``power`` follows NumPy's ``npy_cpow``
(repeated multiplication for small integer exponents) and calls ``cpow``
otherwise.
"""
from __future__ import annotations

import numpy as np
from .. import ir_text as ir

from .. import mathlib
from ..control import when
from ..emitter import F32, I32, Emitter, Pair, component_dtype
from .basic import opaque_divisor
from .floats import is_nan
from .registry import rule


def _part(node, index: int = 0) -> np.dtype:
    return component_dtype(node.args[index].dtype)


def _fma(em: Emitter, a, b, c):
    return em.intrinsic("llvm.fma", a, b, c)


def multiply(em: Emitter, x: Pair, y: Pair) -> Pair:
    """NumPy's vectorized complex product (fused multiply-adds)."""
    b = em.b
    return Pair(_fma(em, x.re, y.re, b.fneg(b.fmul(x.im, y.im))), _fma(em, x.re, y.im, b.fmul(x.im, y.re)))


def plain_multiply(em: Emitter, x: Pair, y: Pair) -> Pair:
    """The textbook product, as ``npy_cpow`` computes it."""
    b = em.b
    return Pair(b.fsub(b.fmul(x.re, y.re), b.fmul(x.im, y.im)),
                b.fadd(b.fmul(x.re, y.im), b.fmul(x.im, y.re)))


def divide(em: Emitter, x: Pair, y: Pair, zero_divisor_imag_by_imag: bool = False) -> Pair:
    """Smith's algorithm, as NumPy's divide loop (and ``npy_cpow``'s ``cdiv``) computes it."""
    b = em.b
    abs_re, abs_im = em.intrinsic("llvm.fabs", y.re), em.intrinsic("llvm.fabs", y.im)
    real_larger = b.fcmp_ordered(">=", abs_re, abs_im)
    both_zero = b.and_(real_larger, b.fcmp_ordered("==", abs_re, em.constant_like(abs_re, 0.0)))
    one = em.constant_like(y.re, 1.0)
    # |re| >= |im|:
    rat1 = b.fdiv(y.im, y.re)
    scl1 = b.fdiv(one, b.fadd(y.re, b.fmul(y.im, rat1)))
    re1 = b.fmul(b.fadd(x.re, b.fmul(x.im, rat1)), scl1)
    im1 = b.fmul(b.fsub(x.im, b.fmul(x.re, rat1)), scl1)
    # otherwise (and whenever a NaN is involved):
    rat2 = b.fdiv(y.re, y.im)
    scl2 = b.fdiv(one, b.fadd(y.im, b.fmul(y.re, rat2)))
    re2 = b.fmul(b.fadd(b.fmul(x.re, rat2), x.im), scl2)
    im2 = b.fmul(b.fsub(b.fmul(x.im, rat2), x.re), scl2)
    # Division by zero: a complex inf or nan.
    re0 = b.fdiv(x.re, abs_re)
    im0 = b.fdiv(x.im, abs_im if zero_divisor_imag_by_imag else abs_re)
    re = b.select(real_larger, b.select(both_zero, re0, re1), re2)
    im = b.select(real_larger, b.select(both_zero, im0, im1), im2)
    return Pair(re, im)


# ---- arithmetic ---------------------------------------------------------------------------
@rule("cadd")
def _cadd(em, node, args, arg):
    x, y = args
    return Pair(em.b.fadd(x.re, y.re), em.b.fadd(x.im, y.im))


@rule("csub")
def _csub(em, node, args, arg):
    x, y = args
    return Pair(em.b.fsub(x.re, y.re), em.b.fsub(x.im, y.im))


@rule("cmul")
def _cmul(em, node, args, arg):
    return multiply(em, *args)


@rule("csquare")
def _csquare(em, node, args, arg):
    return multiply(em, args[0], args[0])


@rule("cdiv")
def _cdiv(em, node, args, arg):
    x, y = args
    return divide(em, x, Pair(opaque_divisor(em, node.args[1], y.re), opaque_divisor(em, node.args[1], y.im)))


@rule("creciprocal")
def _creciprocal(em, node, args, arg):
    """NumPy's reciprocal loop: Smith's algorithm specialised to a numerator of 1."""
    z, b = args[0], em.b
    one = em.constant_like(z.re, 1.0)
    imag_smaller = b.fcmp_ordered("<=", em.intrinsic("llvm.fabs", z.im), em.intrinsic("llvm.fabs", z.re))
    r1 = b.fdiv(z.im, z.re)
    d1 = b.fadd(z.re, b.fmul(z.im, r1))
    r2 = b.fdiv(z.re, z.im)
    d2 = b.fadd(b.fmul(z.re, r2), z.im)
    return Pair(b.select(imag_smaller, b.fdiv(one, d1), b.fdiv(r2, d2)),
                b.select(imag_smaller, b.fdiv(b.fneg(r1), d1), b.fdiv(b.fneg(one), d2)))


@rule("cneg", exact=True)
def _cneg(em, node, args, arg):
    return em.opaque(Pair(em.b.fneg(args[0].re), em.b.fneg(args[0].im)))  # (see _fneg in basic.py)


@rule("conj", exact=True)
def _conj(em, node, args, arg):
    return Pair(args[0].re, em.opaque(em.b.fneg(args[0].im)))


@rule("real", exact=True)
def _real(em, node, args, arg):
    return args[0].re


@rule("imag", exact=True)
def _imag(em, node, args, arg):
    return args[0].im


@rule("complex", exact=True)
def _complex(em, node, args, arg):
    return Pair(*args)


@rule("crint")
def _crint(em, node, args, arg):
    return Pair(em.intrinsic("llvm.rint", args[0].re), em.intrinsic("llvm.rint", args[0].im))


# ---- classification and comparison -----------------------------------------------------------
@rule("cisnan")
def _cisnan(em, node, args, arg):
    return em.b.or_(is_nan(em, args[0].re), is_nan(em, args[0].im))


def _isinf(em, x):
    return em.b.fcmp_ordered("==", em.intrinsic("llvm.fabs", x), em.constant_like(x, np.inf))


@rule("cisinf")
def _cisinf(em, node, args, arg):
    return em.b.or_(_isinf(em, args[0].re), _isinf(em, args[0].im))


@rule("cisfinite")
def _cisfinite(em, node, args, arg):
    finite = [em.b.fcmp_ordered("<", em.intrinsic("llvm.fabs", x), em.constant_like(x, np.inf))
              for x in args[0]]
    return em.b.and_(*finite)


def compare(em: Emitter, predicate: str, x: Pair, y: Pair) -> ir.Value:
    """NumPy's lexicographic complex comparison (real parts first; NaN parts compare false)."""
    b = em.b
    if predicate == "==":
        return b.and_(b.fcmp_ordered("==", x.re, y.re), b.fcmp_ordered("==", x.im, y.im))
    if predicate == "!=":
        return b.or_(b.fcmp_unordered("!=", x.re, y.re), b.fcmp_unordered("!=", x.im, y.im))
    no_nan_imag = b.not_(b.or_(is_nan(em, x.im), is_nan(em, y.im)))
    by_real = b.and_(b.fcmp_ordered(predicate[0], x.re, y.re), no_nan_imag)
    by_imag = b.and_(b.fcmp_ordered("==", x.re, y.re), b.fcmp_ordered(predicate, x.im, y.im))
    return b.or_(by_real, by_imag)


@rule("ccmp")
def _ccmp(em, node, args, arg):
    return compare(em, arg, *args)


@rule("cminmax", exact=True)
def _cminmax(em, node, args, arg):
    """``maximum``/``minimum`` keep a NaN first argument; ``fmax``/``fmin`` drop a NaN second one."""
    x, y = args
    order = ">=" if arg in ("maximum", "fmax") else "<="
    if arg in ("maximum", "minimum"):
        first = em.b.or_(_cisnan(em, None, [x], ""), compare(em, order, x, y))
    else:
        first = em.b.or_(_cisnan(em, None, [y], ""), compare(em, order, x, y))
    return em.select(first, x, y)


@rule("cclip", exact=True)
def _cclip(em, node, args, arg):
    """NumPy's complex clip: ``min(max(x, low), high)``, ordering by real part, then
    imaginary part; an argument of max/min with a NaN part is kept."""
    x, low, high = args
    b = em.b

    def keep_first(a, other, predicate):
        by_real = b.fcmp_ordered(predicate, a.re, other.re)
        by_imag = b.fcmp_ordered(predicate, a.im, other.im)
        ordered = b.select(b.fcmp_ordered("==", a.re, other.re), by_imag, by_real)
        return em.select(b.or_(_cisnan(em, None, [a], ""), ordered), a, other)

    return keep_first(keep_first(x, low, ">"), high, "<")


# ---- abs, sign, angle --------------------------------------------------------------------------
@rule("cabs")
def _cabs(em, node, args, arg):
    """NumPy's SIMD loop: inf beats NaN, then ``larger * sqrt(1 + (smaller/larger)**2)``."""
    b = em.b
    re, im = (em.intrinsic("llvm.fabs", part) for part in args[0])
    inf, zero, one = (em.constant_like(re, v) for v in (np.inf, 0.0, 1.0))
    nan = em.constant_like(re, np.nan)
    re_inf, im_inf = b.fcmp_ordered("==", re, inf), b.fcmp_ordered("==", im, inf)
    im = b.select(re_inf, inf, im)
    re = b.select(im_inf, inf, re)
    re_nan, im_nan = is_nan(em, re), is_nan(em, im)
    im = b.select(re_nan, nan, im)
    re = b.select(im_nan, nan, re)
    larger = b.select(b.fcmp_ordered(">", re, im), re, im)
    smaller = b.select(b.fcmp_ordered("<", im, re), im, re)
    no_division = b.or_(b.fcmp_ordered("==", larger, zero), b.fcmp_ordered("==", smaller, inf))
    ratio = b.select(no_division, zero, b.fdiv(smaller, larger))
    return b.fmul(em.intrinsic("llvm.sqrt", _fma(em, ratio, ratio, one)), larger)


@rule("csign")
def _csign(em, node, args, arg):
    """NumPy 2's ``z / |z|`` with ``|z|`` from ``hypot``, and its special cases."""
    z, b = args[0], em.b
    part = _part(node)
    size = em.per_lane(mathlib.libm_name("hypot", part), z.re, z.im)
    zero, one, nan = (em.constant_like(z.re, v) for v in (0.0, 1.0, np.nan))
    result = Pair(b.fdiv(z.re, size), b.fdiv(z.im, size))
    result = em.select(b.fcmp_ordered("==", size, zero), Pair(zero, zero), result)
    re_inf, im_inf = _isinf(em, z.re), _isinf(em, z.im)
    infinite = em.select(re_inf, Pair(em.intrinsic("llvm.copysign", one, z.re), zero),
                         Pair(zero, em.intrinsic("llvm.copysign", one, z.im)))
    infinite = em.select(b.and_(re_inf, im_inf), Pair(nan, nan), infinite)
    result = em.select(_isinf(em, size), infinite, result)
    return em.select(is_nan(em, size), Pair(nan, nan), result)


@rule("cangle")
def _cangle(em, node, args, arg):
    return mathlib.call(em, "atan2", _part(node), args[0].im, args[0].re)


# ---- transcendental functions: the C library's, lane by lane ---------------------------------
@rule("cmath")
def _cmath(em, node, args, arg):
    return c_library(em, arg, _part(node), args[0])


def c_library(em: Emitter, name: str, part: np.dtype, *args: Pair) -> Pair:
    """Call C99 complex function ``name`` (``csqrt``...) on each lane.

    The x86-64 C calling convention passes and returns a ``double complex`` as two
    doubles and a ``float complex`` as one vector of two floats; the declarations
    below are how C compilers spell that in LLVM IR.
    """
    b = em.b
    element = args[0].re.type.element if em.lanes > 1 else args[0].re.type
    if part.itemsize == 8:
        fn = em.function(name, ir.LiteralStructType([element, element]), [element] * (2 * len(args)))
    else:
        packed = ir.VectorType(F32, 2)
        fn = em.function(name + "f", packed, [packed] * len(args))
    lanes = [_call_lane(em, fn, part, [_lane(em, z, lane) for z in args]) for lane in range(em.lanes)]
    if em.lanes == 1:
        return lanes[0]
    re = im = ir.Constant(args[0].re.type, ir.Undefined)
    for lane, (lane_re, lane_im) in enumerate(lanes):
        re = b.insert_element(re, lane_re, ir.Constant(I32, lane))
        im = b.insert_element(im, lane_im, ir.Constant(I32, lane))
    return Pair(re, im)


def _lane(em: Emitter, z: Pair, lane: int) -> Pair:
    if em.lanes == 1:
        return z
    return Pair(*(em.b.extract_element(part, ir.Constant(I32, lane)) for part in z))


def _call_lane(em: Emitter, fn, part: np.dtype, args: list[Pair]) -> Pair:
    b = em.b
    if part.itemsize == 8:
        result = b.call(fn, [x for z in args for x in z])
        return Pair(b.extract_value(result, 0), b.extract_value(result, 1))
    packed = []
    for z in args:
        vector = b.insert_element(ir.Constant(ir.VectorType(F32, 2), ir.Undefined), z.re, ir.Constant(I32, 0))
        packed.append(b.insert_element(vector, z.im, ir.Constant(I32, 1)))
    result = b.call(fn, packed)
    return Pair(*(b.extract_element(result, ir.Constant(I32, part)) for part in (0, 1)))


# ---- power ------------------------------------------------------------------------------------
@rule("cpower")
def _cpower(em, node, args, arg):
    """NumPy's ``npy_cpow``: special zero cases, repeated multiplication for integer
    exponents below 100 in magnitude, the C library's ``cpow`` otherwise."""
    a, e = args
    b = em.b
    part = _part(node)
    zero, one, nan = (em.constant_like(a.re, v) for v in (0.0, 1.0, np.nan))
    # Integer exponents: the bits of |n| (n < 100 needs 7), multiplying as npy_cpow's loop does.
    integral = b.and_(b.fcmp_ordered("==", e.im, zero),
                      b.and_(b.fcmp_ordered(">", e.re, em.constant_like(e.re, -100.0)),
                             b.fcmp_ordered("<", e.re, em.constant_like(e.re, 100.0))))
    int_type = em.vector(ir.IntType(32))
    n = b.fptosi(b.select(integral, e.re, zero), int_type)
    integral = b.and_(integral, b.fcmp_ordered("==", b.sitofp(n, e.re.type), e.re))
    magnitude = em.intrinsic("llvm.abs", n, ir.Constant(ir.IntType(1), 0))
    product, power = Pair(one, zero), a
    for bit in range(7):
        set_ = b.icmp_unsigned("!=", b.and_(magnitude, em.constant_like(magnitude, 1 << bit)),
                               em.constant_like(magnitude, 0))
        product = em.select(set_, plain_multiply(em, product, power), product)
        power = plain_multiply(em, power, power)
    product = em.select(b.fcmp_ordered("<", e.re, zero), divide(em, Pair(one, zero), product, True), product)
    square = plain_multiply(em, a, a)
    for value, exact in ((3, plain_multiply(em, a, square)), (2, square), (1, a)):
        product = em.select(b.icmp_signed("==", n, em.constant_like(n, value)), exact, product)
    general = when(b, em.any(b.not_(integral)), lambda: c_library(em, "cpow", part, a, e), Pair(nan, nan))
    result = em.select(integral, product, general)
    # 0 ** b: 0 for a positive real part of b, else NaN; anything ** 0 is 1.
    base_zero = b.and_(b.fcmp_ordered("==", a.re, zero), b.fcmp_ordered("==", a.im, zero))
    zero_power = em.select(b.fcmp_ordered(">", e.re, zero), Pair(zero, zero), Pair(nan, nan))
    result = em.select(base_zero, zero_power, result)
    exponent_zero = b.and_(b.fcmp_ordered("==", e.re, zero), b.fcmp_ordered("==", e.im, zero))
    return em.select(exponent_zero, Pair(one, zero), result)


# ---- exp2, expm1, log2, log10, log1p: NumPy's formulas (funcs.inc.src) on libm calls ---------------
def _libm(em: Emitter, name: str, part: np.dtype, *args):
    return em.per_lane(mathlib.libm_name(name, part), *args)


def _scaled(em: Emitter, z: Pair, factor: float, part: np.dtype) -> Pair:
    """Both parts of ``z`` times NumPy's constant ``factor`` rounded to the part's precision."""
    constant = em.constant_like(z.re, float(np.asarray(factor, part)))
    return Pair(em.b.fmul(z.re, constant), em.b.fmul(z.im, constant))


@rule("clog_scaled")
def _clog_scaled(em, node, args, arg):
    """``log2``/``log10``: NumPy's ``clog(z)`` with both parts times ``log2(e)``/``log10(e)``."""
    part = _part(node)
    return _scaled(em, c_library(em, "clog", part, args[0]), {"log2": np.log2(np.e), "log10": np.log10(np.e)}[arg],
                   part)


@rule("cexp2")
def _cexp2(em, node, args, arg):
    """NumPy's ``exp2``: ``cexp`` of both parts times ``ln 2``."""
    part = _part(node)
    return c_library(em, "cexp", part, _scaled(em, args[0], np.log(2.0), part))


@rule("cexpm1")
def _cexpm1(em, node, args, arg):
    """NumPy's ``expm1``: ``(expm1(x) cos(y) - 2 sin(y/2)**2, exp(x) sin(y))``."""
    part, z, b = _part(node), args[0], em.b
    half = _libm(em, "sin", part, b.fdiv(z.im, em.constant_like(z.im, 2.0)))
    re = b.fsub(b.fmul(_libm(em, "expm1", part, z.re), _libm(em, "cos", part, z.im)),
                b.fmul(b.fmul(em.constant_like(half, 2.0), half), half))
    return Pair(re, b.fmul(_libm(em, "exp", part, z.re), _libm(em, "sin", part, z.im)))


@rule("clog1p")
def _clog1p(em, node, args, arg):
    """NumPy's ``log1p``: ``(log(hypot(x + 1, y)), atan2(y, x + 1))``."""
    part, z, b = _part(node), args[0], em.b
    shifted = b.fadd(z.re, em.constant_like(z.re, 1.0))
    return Pair(_libm(em, "log", part, _libm(em, "hypot", part, shifted, z.im)),
                _libm(em, "atan2", part, z.im, shifted))
