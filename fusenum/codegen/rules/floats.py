"""Lowering rules of the exact elementwise functions: rounding, signs, ``heaviside``, classification,
minimum and maximum, ``clip``, ``fmod``, ``nextafter``, degree conversion.

Each reproduces NumPy's result bit for bit, including its choices where C
leaves a choice open: which of two equal zeros ``maximum`` returns (float32 and
float64 return the second argument, float16 the first), ``nextafter(x, y)`` for
``x == y`` (C returns ``y``, NumPy's float16 loop ``x``), and the float16
loops, which compute in float32 and round.
"""
from __future__ import annotations

import numpy as np
from .. import ir_text as ir

from .. import half
from ...ir import numpy_behaviour
from ..emitter import I1, Emitter, scalar_type
from ..half import I16
from .basic import opaque_divisor, safe_divisor
from .casts import F16, F32, F64, float_to_int
from .registry import rule


def is_nan(em: Emitter, x):
    """Lanes of ``x`` that are NaN."""
    return em.b.fcmp_unordered("uno", x, x)


# ---- rounding and signs -------------------------------------------------------------
@rule("round", exact=True)
def _round(em, node, args, arg):
    # rint rounds to nearest even in the default rounding mode, which kernels never change
    # (and unlike llvm.roundeven it has a C library fallback on every x86-64).
    return em.intrinsic("llvm.rint" if arg == "roundeven" else f"llvm.{arg}", args[0])


@rule("copysign", exact=True)
def _copysign(em, node, args, arg):
    return em.intrinsic("llvm.copysign", *args)


@rule("fsign", exact=True)
def _fsign(em, node, args, arg):
    """1, -1, +0 for either zero, NaN for NaN."""
    x, dtype = args[0], node.dtype
    zero = em.const(dtype, 0.0)
    result = em.b.select(em.b.fcmp_ordered("==", x, zero), zero, x)
    result = em.b.select(em.b.fcmp_ordered("<", x, zero), em.const(dtype, -1.0), result)
    return em.b.select(em.b.fcmp_ordered(">", x, zero), em.const(dtype, 1.0), result)


@rule("isign")
def _isign(em, node, args, arg):
    x, dtype = args[0], node.dtype
    zero = em.const(dtype, 0)
    result = em.b.select(em.b.icmp_signed("<", x, zero), em.const(dtype, -1), zero)
    return em.b.select(em.b.icmp_signed(">", x, zero), em.const(dtype, 1), result)


@rule("usign")
def _usign(em, node, args, arg):
    return em.b.zext(em.b.icmp_unsigned("!=", args[0], em.const(node.dtype, 0)), em.type(node.dtype))


@rule("heaviside", exact=True)
def _heaviside(em, node, args, arg):
    """NumPy's ``npy_heaviside(x, h0)``: NaN (NumPy's, sign bit clear) for a NaN ``x``, ``h0`` where
    ``x == 0``, 0 below zero, 1 above."""
    x, h0 = args
    b = em.b
    zero = em.constant_like(x, 0.0)
    result = b.select(b.fcmp_ordered("<", x, zero), zero, em.constant_like(x, 1.0))
    result = b.select(b.fcmp_ordered("==", x, zero), h0, result)
    return b.select(is_nan(em, x), em.constant_like(x, np.nan), result)


# ---- classification ---------------------------------------------------------------------
@rule("const")
def _constant_bool(em, node, args, arg):
    """isnan, isinf, isfinite of integers: the same answer for every value."""
    return em.splat_constant(I1, int(arg))


@rule("isnan")
def _isnan(em, node, args, arg):
    return is_nan(em, args[0])


@rule("isinf")
def _isinf(em, node, args, arg):
    return em.b.fcmp_ordered("==", em.intrinsic("llvm.fabs", args[0]), em.const(node.args[0].dtype, np.inf))


@rule("isfinite")
def _isfinite(em, node, args, arg):
    return em.b.fcmp_ordered("<", em.intrinsic("llvm.fabs", args[0]), em.const(node.args[0].dtype, np.inf))


@rule("signbit")
def _signbit(em, node, args, arg):
    x = args[0]
    width = 32 if scalar_type(node.args[0].dtype) == ir.FloatType() else 64
    bits = em.b.bitcast(x, em.vector(ir.IntType(width)))
    return em.b.icmp_signed("<", bits, em.constant_like(bits, 0))


# ---- minimum, maximum, clip ------------------------------------------------------------
@rule("minmax", exact=True)
def _int_minmax(em, node, args, arg):
    return em.intrinsic(f"llvm.{arg}", *args)


# Which argument NumPy's float loops return: the first when ``first_wins(a, b)``.
_GREATER = {"maximum": ">", "fmax": ">", "minimum": "<", "fmin": "<"}


def float_minmax(em: Emitter, which: str, a, b, dtype: np.dtype):
    """NumPy's ``maximum``/``minimum`` (NaN wins) or ``fmax``/``fmin`` (NaN loses) of floats."""
    predicate = _GREATER[which]
    if dtype == F16:  # the float16 loops compare with >= and <=: equal zeros give the first
        predicate += "="
    first_wins = em.b.fcmp_ordered(predicate, a, b)
    nan_decides = is_nan(em, a if which in ("maximum", "minimum") else b)
    return em.b.select(em.b.or_(first_wins, nan_decides), a, b)


@rule("fminmax", exact=True)
def _float_minmax(em, node, args, arg):
    return float_minmax(em, arg, *args, node.args[0].dtype)


@rule("clip", exact=True)
def _int_clip(em, node, args, arg):
    x, low, high = args
    kind = "s" if node.dtype.kind == "i" else "u"  # bool clips as unsigned (False < True)
    return em.intrinsic(f"llvm.{kind}min", em.intrinsic(f"llvm.{kind}max", x, low), high)


@rule("fclip", exact=True)
def _float_clip(em, node, args, arg):
    """NaN if any argument is NaN; else ``x`` limited to the bounds. Which wins a tie with a bound
    (``clip(0.0, -0.0, 1.0)``) is NumPy's loop's choice: ``x`` in the float16 loop and, from NumPy
    2.1, in the float32/float64 loops when both bounds are single-valued; otherwise the bound."""
    x, low, high = args
    b = em.b
    if _clip_ties_to_bound(em, node):
        raised = b.select(b.fcmp_ordered(">", x, low), x, low)
        clipped = b.select(b.fcmp_ordered("<", raised, high), raised, high)
    else:
        raised = b.select(b.fcmp_ordered(">=", x, low), x, low)
        clipped = b.select(b.fcmp_ordered("<=", raised, high), raised, high)
    # A NaN argument's own bits, the first in NumPy's scalar loop's order (an addition of the three
    # quieted a signaling one, and which of two NaNs it gave depended on the operands' order).
    low_nan, high_nan = is_nan(em, low), is_nan(em, high)
    any_nan = b.or_(is_nan(em, x), b.or_(low_nan, high_nan))
    nan = b.select(is_nan(em, x), x, b.select(low_nan, low, high))
    return b.select(any_nan, nan, clipped)


def _clip_ties_to_bound(em, node) -> bool:
    dtype = node.args[0].dtype
    if dtype.itemsize < 4:
        return False
    single_valued = em.uniform(node.args[1]) and em.uniform(node.args[2])
    return not single_valued or numpy_behaviour.clip_single_valued_bounds_win_ties(dtype)


# ---- fmod, reciprocal -------------------------------------------------------------------
@rule("sfmod")
def _sfmod(em, node, args, arg):
    """C's ``%``: the sign of the dividend; by zero gives 0, ``MIN % -1`` gives 0."""
    divisor, by_zero = safe_divisor(em, node.dtype, *args)
    return em.b.select(by_zero, em.const(node.dtype, 0), em.b.srem(args[0], divisor))


@rule("ufmod")
def _ufmod(em, node, args, arg):
    divisor, by_zero = safe_divisor(em, node.dtype, *args)
    return em.b.select(by_zero, em.const(node.dtype, 0), em.b.urem(args[0], divisor))


@rule("ffmod")
def _ffmod(em, node, args, arg):
    return em.b.frem(args[0], opaque_divisor(em, node.args[1], args[1]))  # LLVM's frem is C's fmod


@rule("ireciprocal")
def _int_reciprocal(em, node, args, arg):
    """NumPy computes ``1.0 / x`` in float64 and converts it to the integer type."""
    x, dtype = args[0], node.dtype
    wide = em.b.sitofp(x, em.type(F64)) if dtype.kind == "i" else em.b.uitofp(x, em.type(F64))
    return float_to_int(em, em.b.fdiv(em.const(F64, 1.0), wide), F64, dtype)


# ---- nextafter ---------------------------------------------------------------------------
@rule("nextafter", exact=True)
def _nextafter(em, node, args, arg):
    x, y = args
    dtype = node.args[0].dtype
    if dtype == F16:  # NumPy steps through float16 bit patterns, and returns x or y when x == y
        stepped = _step_bits(em, half.from_float(em, x), half.from_float(em, y), x, y, I16)
        result = half.to_float(em, stepped)
        tie = y if numpy_behaviour.half_nextafter_gives_y_on_ties() else x
        return em.b.select(em.b.fcmp_ordered("==", x, y), tie, result)
    int_type = ir.IntType(8 * dtype.itemsize)
    bits = _step_bits(em, em.b.bitcast(x, em.vector(int_type)), None, x, y, int_type,
                      numpy_behaviour.nextafter_nan_operand(dtype))
    result = em.b.bitcast(bits, em.type(dtype))
    return em.b.select(em.b.fcmp_ordered("==", x, y), y, result)


def _step_bits(em: Emitter, bits, y_bits, x, y, int_type, nan_first: str | None = None):
    """The bit pattern next to ``x`` (as ``bits``) in the direction of ``y``; NaN if either is:
    the NaN operand's, quieted (``nan_first``'s if both are, "x" or "y"), or with None the
    default quiet NaN (NumPy's float16 loop gives that one)."""
    b = em.b
    zero = em.constant_like(x, 0.0)
    sign_bit = 1 << (int_type.width - 1)
    # Sign-magnitude: away from zero is +1 on the bits, toward zero -1.
    away = b.icmp_unsigned("==", b.fcmp_ordered(">", x, zero), b.fcmp_ordered("<", x, y))
    stepped = b.select(away, b.add(bits, em.constant_like(bits, 1)), b.sub(bits, em.constant_like(bits, 1)))
    # From zero: the smallest subnormal with y's sign.
    y_sign_bits = y_bits if y_bits is not None else b.bitcast(y, em.vector(int_type))
    tiny = b.or_(b.and_(y_sign_bits, em.constant_like(bits, sign_bit)), em.constant_like(bits, 1))
    stepped = b.select(b.fcmp_ordered("==", x, zero), tiny, stepped)
    nan = b.or_(is_nan(em, x), is_nan(em, y))
    if nan_first is None:
        nan_bits = em.constant_like(bits, 0x7E00 if int_type.width == 16 else (0x7FC00000 if int_type.width == 32
                                                                              else 0x7FF8000000000000))
    else:
        first, second = (y_sign_bits, bits) if nan_first == "y" else (bits, y_sign_bits)
        kept = b.select(is_nan(em, y if nan_first == "y" else x), first, second)
        nan_bits = b.or_(kept, em.constant_like(bits, 1 << (22 if int_type.width == 32 else 51)))
    return b.select(nan, nan_bits, stepped)


# ---- degrees and radians -------------------------------------------------------------------
def _degree_constants(dtype: np.dtype) -> dict[str, float]:
    """NumPy's factors: ``pi/180`` and ``180/pi`` computed in the loop's precision."""
    ftype = np.float32 if dtype.itemsize <= 4 else np.float64
    pi, c180 = ftype(np.pi), ftype(180.0)
    return {"deg2rad": float(pi / c180), "rad2deg": float(c180 / pi)}


@rule("scale")
def _scale(em, node, args, arg):
    dtype = node.args[0].dtype
    register = F32 if dtype == F16 else dtype
    return em.b.fmul(args[0], em.const(register, _degree_constants(dtype)[arg]))


