"""Casts between dtypes (``ndarray.astype``), with x86 NumPy's results for out-of-range floats."""
from __future__ import annotations

import numpy as np
from .. import ir_text as ir

from .. import half
from ..emitter import Emitter, Pair, component_dtype

F16 = np.dtype(np.float16)
F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)


def cast(em: Emitter, x, src: np.dtype, dst: np.dtype):
    """``x`` of dtype ``src`` converted to ``dst`` as ``ndarray.astype`` would."""
    if src.kind == "c" or dst.kind == "c":
        return _complex_cast(em, x, src, dst)
    if dst == F16:
        if src == F16:
            return x
        if src == F64:  # directly, like npy_double_to_half: rounding via float32 could round twice
            return half.to_float(em, half.from_double(em, x))
        return half.round_float(em, cast(em, x, src, F32))
    if src == F16:
        if dst == F64:  # (NumPy widens a float16's bits: a signaling NaN stays one, where fpext quiets it)
            return _widen_keeping_nans(em, x)
        src = F32  # its registers are float32
    return _real_cast(em, x, src, dst)


def _widen_keeping_nans(em: Emitter, x: ir.Value) -> ir.Value:
    """float32 ``x`` (a float16 value) as float64; a NaN keeps its sign and significand bits."""
    b = em.b
    bits = b.zext(b.bitcast(x, em.vector(ir.IntType(32))), em.vector(ir.IntType(64)))
    sign = b.shl(b.lshr(bits, em.constant_like(bits, 31)), em.constant_like(bits, 63))
    significand = b.shl(b.and_(bits, em.constant_like(bits, 0x7FFFFF)), em.constant_like(bits, 29))
    nan = b.or_(b.or_(sign, significand), em.constant_like(bits, 0x7FF0000000000000))
    widened = b.fpext(x, em.type(F64))
    return b.select(b.fcmp_unordered("uno", x, x), b.bitcast(nan, em.type(F64)), widened)


def _complex_cast(em: Emitter, x, src: np.dtype, dst: np.dtype):
    """Casts to and from complex: parts convert separately; to real keeps the real part
    (NumPy's ``astype`` does, with a ComplexWarning), to bool tests both parts."""
    if src.kind != "c":
        part = component_dtype(dst)
        return Pair(cast(em, x, src, part), em.const(part, 0.0))
    part = component_dtype(src)
    if dst.kind == "c":
        return Pair(cast(em, x.re, part, component_dtype(dst)), cast(em, x.im, part, component_dtype(dst)))
    if dst.kind == "b":
        zero = em.const(part, 0.0)
        return em.b.or_(em.b.fcmp_unordered("!=", x.re, zero), em.b.fcmp_unordered("!=", x.im, zero))
    return cast(em, x.re, part, dst)


def _real_cast(em: Emitter, x: ir.Value, src: np.dtype, dst: np.dtype) -> ir.Value:
    b = em.b
    target = em.type(dst)
    if dst.kind == "b":
        if src.kind == "f":
            return b.fcmp_unordered("!=", x, em.const(src, 0))
        return b.icmp_unsigned("!=", x, em.const(src, 0))
    if src.kind == "b":
        return b.uitofp(x, target) if dst.kind == "f" else b.zext(x, target)
    if src.kind == "f" and dst.kind == "f":
        if src.itemsize < dst.itemsize:
            return b.fpext(x, target)
        return b.fptrunc(x, target)
    if dst.kind == "f":
        return b.sitofp(x, target) if src.kind == "i" else b.uitofp(x, target)
    if src.kind == "f":
        return float_to_int(em, x, src, dst)
    if src.itemsize > dst.itemsize:
        return b.trunc(x, target)
    if src.itemsize < dst.itemsize:
        return b.sext(x, target) if src.kind == "i" else b.zext(x, target)
    return x


def float_to_int(em: Emitter, x, src: np.dtype, dst: np.dtype):
    """C's float-to-int conversion as compiled for x86-64, which NumPy uses.

    In range it truncates toward zero. Out of range (and NaN) the hardware
    returns the "integer indefinite" value INT_MIN of the 32- or 64-bit
    conversion; narrower integers are that 32-bit result truncated, uint32 is
    truncated from the 64-bit one, and uint64 above 2**63 is converted after
    subtracting 2**63.
    """
    b = em.b
    f64 = np.dtype(np.float64)
    if src != f64:
        x = b.fpext(x, em.type(f64))
    if dst.itemsize == 8 and dst.kind == "u":
        i64 = np.dtype(np.int64)
        big = em.const(f64, 2.0**63)
        high = b.fcmp_ordered(">=", x, big)
        low_part = _truncate(em, x, 64)
        high_part = b.xor(_truncate(em, b.fsub(x, big), 64), em.const(i64, np.iinfo(i64).min))
        return b.select(high, high_part, low_part)
    bits = 32 if dst.itemsize < 4 or (dst.itemsize == 4 and dst.kind == "i") else 64
    value = _truncate(em, x, bits)
    if bits // 8 > dst.itemsize:
        value = b.trunc(value, em.type(dst))
    return value


def _truncate(em: Emitter, x, bits: int):
    """cvttsd2si: truncate a double to a signed ``bits`` integer, INT_MIN when out of range."""
    b = em.b
    f64 = np.dtype(np.float64)
    itype = np.dtype(f"i{bits // 8}")
    limit = float(2 ** (bits - 1))
    in_range = b.and_(b.fcmp_ordered(">=", x, em.const(f64, -limit)),
                      b.fcmp_ordered("<", x, em.const(f64, limit)))
    safe = b.select(in_range, x, em.const(f64, 0.0))
    return b.select(in_range, b.fptosi(safe, em.type(itype)), em.const(itype, np.iinfo(itype).min))
