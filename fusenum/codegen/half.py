"""float16 conversions in integer and float32 arithmetic that any SIMD level has.

float16 values live in float32 registers (see :mod:`fusenum.codegen.emitter`).
Converting them needs no F16C instructions and no compiler-rt helpers (LLVM
lowers ``half`` conversions to ``__truncsfhf2``-style library calls on plain
x86-64, which a JIT process may not have): the conversions below are exact
bit manipulations and one exactly rounded float addition, identical at every
SIMD level. Rounding is to nearest, ties to even, as NumPy's
``npy_float_to_half`` and ``npy_double_to_half`` do; values from 65520 up
become infinity and a NaN keeps its sign and the top bits of its payload, as there.
"""
from __future__ import annotations

import struct

from . import ir_text as ir

from .emitter import F32, F64, I32, I64, Emitter

I16 = ir.IntType(16)


def to_float(em: Emitter, bits: ir.Value) -> ir.Value:
    """float32 value of float16 bit patterns (``i16`` lanes); exact."""
    b = em.b
    h = b.zext(bits, em.vector(I32))
    sign = b.shl(b.and_(h, em.constant_like(h, 0x8000)), em.constant_like(h, 16))
    magnitude = b.and_(h, em.constant_like(h, 0x7FFF))
    shifted = b.shl(magnitude, em.constant_like(h, 13))
    # Moving the exponent field into float32's lands 112 binades low: scale back up (exact,
    # and it turns float16 subnormals into float32 normals).
    scaled = b.bitcast(b.fmul(b.bitcast(shifted, em.vector(F32)), em.splat_constant(F32, 2.0**112)),
                       em.vector(I32))
    special = b.icmp_unsigned(">=", magnitude, em.constant_like(h, 0x7C00))
    inf_nan = b.or_(shifted, em.constant_like(h, 0x7F800000))
    return b.bitcast(b.or_(sign, b.select(special, inf_nan, scaled)), em.vector(F32))


def from_float(em: Emitter, x: ir.Value) -> ir.Value:
    """float16 bits (``i16`` lanes) of float32 ``x`` rounded to nearest even."""
    return _round_bits(em, x, F32, I32, mantissa=23, bias=127)


def from_double(em: Emitter, x: ir.Value) -> ir.Value:
    """float16 bits (``i16`` lanes) of float64 ``x`` rounded to nearest even (directly, once)."""
    return _round_bits(em, x, F64, I64, mantissa=52, bias=1023)


def round_float(em: Emitter, x: ir.Value) -> ir.Value:
    """float32 ``x`` rounded to the nearest float16 value (still a float32)."""
    return to_float(em, from_float(em, x))


def _round_bits(em: Emitter, x, float_type, int_type, mantissa: int, bias: int):
    b = em.b
    shift = mantissa - 10  # mantissa bits float16 does not keep
    u = b.bitcast(x, em.vector(int_type))
    sign_bit = 1 << (int_type.width - 1)
    magnitude = b.and_(u, em.constant_like(u, sign_bit - 1))

    def bits_of(value: float) -> int:
        return float_bits(float_type, value)

    # A NaN keeps the top 10 bits of its significand, as NumPy's conversion does (a payload, and a
    # signaling NaN stays one), made 1 if they are all 0 (it stays a NaN); infinity and everything
    # from 65536 up become infinity (values in [65520, 65536) reach it by rounding in the normal path).
    is_nan = b.icmp_unsigned(">", magnitude, em.constant_like(u, bits_of(float("inf"))))
    huge = b.icmp_unsigned(">=", magnitude, em.constant_like(u, bits_of(65536.0)))
    payload = b.lshr(b.and_(magnitude, em.constant_like(u, (1 << mantissa) - 1)), em.constant_like(u, shift))
    no_payload = b.icmp_unsigned("==", payload, em.constant_like(u, 0))
    payload = b.select(no_payload, em.constant_like(u, 1), payload)
    inf_nan = b.select(is_nan, b.or_(payload, em.constant_like(u, 0x7C00)), em.constant_like(u, 0x7C00))
    # Below 2**-14 the result is a multiple of 2**-24: adding a number whose last
    # mantissa bit is worth 2**-24 rounds exactly there (to nearest even) in one addition.
    magic = 2.0 ** (mantissa - 24)
    tiny = b.icmp_unsigned("<", magnitude, em.constant_like(u, bits_of(2.0**-14)))
    summed = b.fadd(b.bitcast(magnitude, em.vector(float_type)), em.splat_constant(float_type, magic))
    subnormal = b.sub(b.bitcast(summed, em.vector(int_type)), em.constant_like(u, bits_of(magic)))
    # Normal: rebias the exponent and round the dropped bits to nearest even.
    odd = b.and_(b.lshr(magnitude, em.constant_like(u, shift)), em.constant_like(u, 1))
    rebias = ((15 - bias) << mantissa) + (1 << (shift - 1)) - 1  # and rounding: add half an ULP - 1
    rounded = b.add(b.add(magnitude, em.constant_like(u, rebias)), odd)
    normal = b.lshr(rounded, em.constant_like(u, shift))
    half = b.select(huge, inf_nan, b.select(tiny, subnormal, normal))
    sign = b.lshr(u, em.constant_like(u, int_type.width - 16))
    half = b.or_(half, b.and_(sign, em.constant_like(u, 0x8000)))
    return b.trunc(half, em.vector(I16))


def float_bits(float_type: ir.Type, value: float) -> int:
    """The IEEE bit pattern of ``value`` as a float32 or float64."""
    if float_type == F32:
        return struct.unpack("<I", struct.pack("<f", value))[0]
    return struct.unpack("<Q", struct.pack("<d", value))[0]
