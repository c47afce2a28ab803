"""exp, exp2 (float64) and expm1: ``x = k*ln2 + r`` with ``|r| <= ln2/2``, a polynomial for the
exponential of ``r``, and ``2**k`` put into the exponent bits.

float64 exp is nearly correctly rounded: ``x = (8m + j)*ln2/8 + r`` with ``|r| <= ln2/16``,
and an eight-entry table gives ``2**(j/8) = t * e**tau`` (``t`` the double nearest, ``tau`` the
tiny rest). Of ``exp(x) = 2**m * t * exp(r_hi + tau - k*ln2_lo)``, the part ``t*(1 + r_hi)`` is
kept exactly as two doubles (``r_hi`` the exact first step of the reduction) and the rest, below
2**-10 of the result, is computed to within about 2**-61 of it and added with one final rounding:
about 1 in 4,000 random arguments has a misrounded result (glibc's ``exp``: 1 in 1,100; rounding
``1 + q`` of the scheme above: 1 in 11). A table of eight is looked up by one in-register permute
on AVX-512 and at most two on AVX2 (:meth:`~fusenum.codegen.vmath.core.Vec.lookup`); sixteen
entries, for all their shorter polynomial, made exp 25-60% slower on AVX2 (gathers, or four
permutes and three blends a table).
float64 exp2 is the same with an exact reduction, ``x = k/8 + s`` with ``|s| <= 1/16``, and
``s*ln2`` kept as two doubles: about 1 in 1,000 random arguments is misrounded (libmvec's, used
before: 1 in 3.6; NumPy's: 1 in 19), and exp2 of an integer is exact. It costs 16% more than
libmvec's AVX-512 variant, and 42% more than its AVX2 one at AVX2: it is preferred on AVX-512
machines only.
float32 exp and expm1 use the reduction to ``|r| <= ln2/2`` above (float32 exp2 is libmvec's).

The fast path covers arguments whose result is a normal number; a vector with
any other lane (overflow, underflow to subnormals or zero, NaN) takes the slow
path, which clamps the argument and scales in two exact steps.
"""
from __future__ import annotations

import math
import struct
from decimal import Decimal, localcontext
from functools import lru_cache

from ..half import float_bits
from .registry import AVX512_MACHINES, register
from .core import Vec

LN2 = math.log(2.0)
# Cody-Waite split: LN2_HI[t] is ln2 rounded to the type, LN2_LO the rest.
LN2_HI = {"float": 0.6931471824645996, "double": 0.6931471805599453}
LN2_LO = {"float": -1.904654323148236e-09, "double": 2.3190468138462996e-17}
# tools/polyfit.py exp_tail_f32 / exp_tail_f64: exp(r) = 1 + r + r**2 * P(r) on |r| <= ln2/2.
EXP_TAIL = {
    "float": (0.5, 0.16666576266288757, 0.041666556149721146, 0.008363177999854088, 0.0013926181709393859),
    "double": (0.5, 0.1666666666666667, 0.04166666666666667, 0.008333333333326136, 0.001388888888888375,
               0.00019841269874815834, 2.480158732554432e-05, 2.7557255406285044e-06, 2.7557273647451087e-07,
               2.5105214474751413e-08, 2.0914685161418067e-09),
}
# float64 exp: ln2/8 in two parts, and exp(r) = 1 + r + r**2 * P(r) on |r| <= ln2/16 (tools/polyfit.py
# exp_tail_table8_f64: degree 6, relative error 2.5e-17).
LN2_EIGHTH = (0.08664339756999316, 2.8988085173078744e-18)
EXP_TAIL_EIGHTH = (0.5, 0.16666666666666866, 0.041666666666666866, 0.008333333324833473, 0.0013888888880389067,
                   0.0001984217528540417, 2.4802492742502004e-05)
# Largest |x| whose exp is a normal number with room to spare, for the fast path.
FAST_LIMIT = {"float": 86.0, "double": 705.0}
# Arguments are clamped to these before the slow path's scaling (results are then inf or 0).
CLAMP = {"float": (-110.0, 100.0), "double": (-760.0, 720.0)}
# The same for float64 exp2.
EXP2_FAST_LIMIT, EXP2_CLAMP = 1020.0, (-1100.0, 1030.0)


def reduce(v: Vec, x):
    """``(k, r, k_bits)`` with ``x = k*ln2 + r``, ``k`` an integer-valued float, ``|r| <= ln2/2``,
    and ``k_bits`` integer lanes with ``k_bits << mantissa == k << mantissa``
    (see :meth:`~fusenum.codegen.vmath.core.Vec.round_to_integer`; ``|x|`` below 2**20)."""
    t = str(v.ftype)
    k, k_bits = v.round_to_integer(x, 1 / LN2)
    r = v.fma(k, v.c(-LN2_HI[t]), x)  # exact: the difference needs few bits
    return k, v.fma(k, v.c(-LN2_LO[t]), r), k_bits


def exp_of_reduced(v: Vec, r):
    """``exp(r)`` for ``|r| <= ln2/2``, as ``1 + q`` with ``q`` returned separately too."""
    tail = v.poly(r, EXP_TAIL[str(v.ftype)])
    q = v.fma(v.mul(r, r), tail, r)
    return v.add(v.c(1.0), q), q


@lru_cache(maxsize=None)
def _eighths_table() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``t[j]``, the double nearest ``2**(j/8)``, and ``tau[j]``, close to ``log(2**(j/8) / t[j])``
    (below 2**-53): a double whose low 32 bits repeat its high 32 bits, within 2**-20 of itself
    of the exact value (2**-73 of the result: far below what matters), so that on AVX2 its
    lookup is one ``vpermd`` (:meth:`~fusenum.codegen.vmath.core.Vec.lookup`). Made on first use,
    at a precision set here (a thread's decimal context is its own)."""
    with localcontext() as context:
        context.prec = 50
        exact = [Decimal(2).ln() * j / 8 for j in range(8)]
        t = tuple(float(e.exp()) for e in exact)
        tau = tuple(_repeating_words(e - Decimal(h).ln()) for e, h in zip(exact, t))
    return t, tau


def _repeating_words(value: Decimal) -> float:
    """The double nearest ``value`` among those whose two 32-bit halves are equal."""
    high = struct.unpack("<Q", struct.pack("<d", float(value)))[0] >> 32
    candidates = [struct.unpack("<d", struct.pack("<Q", (word << 32) | word))[0]
                  for word in (high - 1, high, high + 1) if 0 <= word < 1 << 32]
    return min(candidates, key=lambda c: abs(Decimal(c) - value))


def _exp_double(v: Vec, x):
    """``(p, k, k_bits)`` with ``exp(x) = 2**(k >> 3) * p``, ``p`` in ``[0.95, 1.92]``, for
    ``|x| < 760`` (the module docstring: ``k = 8m + j`` and ``k_bits`` as in :func:`reduce`)."""
    k, k_bits = v.round_to_integer(x, 8 / LN2)
    hi, lo = LN2_EIGHTH
    # Exact: x and k*hi are multiples of 2**-56 or of x's ULP, and their difference is below ln2/16.
    r_hi = v.fma(k, v.c(-hi), x)
    _, tau_table = _eighths_table()
    small = v.fma(k, v.c(-lo), v.lookup(tau_table, k_bits, wrap=True))  # tau - k*lo, below 2**-45
    return _eighths_times_exp(v, k_bits, r_hi, small), k, k_bits


def _exp2_double(v: Vec, x):
    """``(p, k, k_bits)`` with ``2**x = 2**(k >> 3) * p`` as in :func:`_exp_double`, for
    ``|x| < 1100``: ``x = k/8 + s`` exactly, and ``s*ln2`` as two doubles."""
    k, k_bits = v.round_to_integer(x, 8.0)
    s = v.fma(k, v.c(-0.125), x)  # exact: |s| <= 1/16, and x and k/8 are multiples of x's ULP or 2**-3
    r_hi = v.mul(s, v.c(LN2))
    _, tau_table = _eighths_table()
    # s*ln2 - r_hi (exact by the fma, below 2**-58) and s*(ln2 - LN2) (below 2**-59), with tau.
    r_lo_negated = v.fma(s, v.c(-LN2), r_hi)
    small = v.sub(v.fma(s, v.c(LN2_LO["double"]), v.lookup(tau_table, k_bits, wrap=True)), r_lo_negated)
    return _eighths_times_exp(v, k_bits, r_hi, small), k, k_bits


def _eighths_times_exp(v: Vec, k_bits, r_hi, small):
    """The table's ``t[k mod 8]`` times ``exp(r_hi + small)``, with one final rounding: ``|r_hi| <=
    ln2/16`` and ``small`` below 2**-45, the table's ``tau`` included (the module docstring)."""
    t_table, _ = _eighths_table()
    t = v.lookup(t_table, k_bits, wrap=True)  # (table[k mod 8])
    # exp(r_hi + small) - 1 - r_hi = small + r**2 * P(r) with r = r_hi + small: of r's rounding
    # (below 2**-58) only its product with r is lost, below 2**-62.5 of the result.
    r = v.add(r_hi, small)
    r2 = v.mul(r, r)
    tail = v.fma(r2, v.estrin(r, EXP_TAIL_EIGHTH, r2), small)
    # t * (1 + r_hi) = head + error, error rounded only to 2**-53 of itself (t - head is exact).
    head = v.fma(t, r_hi, t)
    error = v.fma(t, r_hi, v.sub(t, head))
    return v.add(head, v.fma(t, tail, error))


def _exp_fast(v: Vec, x, eighths=_exp_double):
    if v.is_double:
        p, _, k_bits = eighths(v, x)
        # (k >> 3) << 52 as the masked k << 49, as instcombine writes it (AVX2 has no 64-bit arithmetic shift).
        return v.as_float(v.iadd(v.as_int(p), v.iand(v.shl(k_bits, v.mantissa - 3), -(1 << v.mantissa))))
    _, r, k_bits = reduce(v, x)
    p, _ = exp_of_reduced(v, r)
    return v.as_float(v.iadd(v.as_int(p), v.shl(k_bits, v.mantissa)))


def _exp_slow(v: Vec, x, eighths=_exp_double, clamp=None):
    low, high = clamp or CLAMP[str(v.ftype)]
    safe = v.select(v.isnan(x), v.c(0.0), x)
    safe = v.select(v.lt(safe, v.c(low)), v.c(low), v.select(v.gt(safe, v.c(high)), v.c(high), safe))
    if v.is_double:
        p, k, _ = eighths(v, safe)
        return v.select(v.isnan(x), x, v.scale(p, v.ashr(v.to_int(k), 3)))
    k, r, _ = reduce(v, safe)
    p, _ = exp_of_reduced(v, r)
    return v.select(v.isnan(x), x, v.scale(p, v.to_int(k)))


def beyond(v: Vec, x, limit: float):
    """Lanes where ``|x| > limit`` or ``x`` is NaN."""
    return v.b.fcmp_unordered(">", v.abs(x), v.c(limit))


@register("exp", "fd", preferred="fd")
def exp(em, x):
    v = Vec(em, x)
    special = beyond(v, x, FAST_LIMIT[str(v.ftype)])
    return v.when_any(special, _exp_fast(v, x), lambda: _exp_slow(v, x))


@register("exp2", "d", preferred="d", machines=AVX512_MACHINES)
def exp2(em, x):
    """float64 ``2**x``, nearly correctly rounded as exp is (float32 keeps libmvec's, NumPy's SVML)."""
    v = Vec(em, x)
    special = beyond(v, x, EXP2_FAST_LIMIT)
    return v.when_any(special, _exp_fast(v, x, _exp2_double), lambda: _exp_slow(v, x, _exp2_double, EXP2_CLAMP))


def _expm1_fast(v: Vec, x):
    """``2**k * (1 + q) - 1`` as ``fma(2**k, q, 2**k - 1)``: one rounding, and exactly ``q``
    when ``k == 0``."""
    _, r, k_bits = reduce(v, x)
    _, q = exp_of_reduced(v, r)
    s = v.pow2_bits(k_bits)
    return v.fma(s, q, v.sub(s, v.c(1.0)))


def _expm1_slow(v: Vec, x, fast):
    """Large arguments: ``exp(x) - 1`` (infinite beyond the overflow threshold); very
    negative ones: -1; zeros keep their sign; NaN: NaN. ``fast`` is :func:`_expm1_fast`'s value,
    kept for the ordinary lanes."""
    big = v.sub(_exp_slow(v, x), v.c(1.0))
    result = v.select(v.lt(x, v.c(0.0)), v.c(-1.0), big)
    ordinary = v.le(v.abs(x), v.c(FAST_LIMIT[str(v.ftype)]))
    return v.select(v.eq(x, v.c(0.0)), x, v.select(ordinary, fast, result))


@register("expm1", "fd", preferred="fd")
def expm1(em, x):
    v = Vec(em, x)
    # |x| beyond the limit, NaN, or zero (whose sign the slow path keeps): as one unsigned compare of
    # |x|'s bits minus one, which wraps zero to the top (two float compares cost float32 ~12%):
    # ``|x| - 1 >=u limit``, made signed by flipping the sign bits (``+ sign``), so as one add and
    # one ``pcmpgt`` (AVX2/SSE compare only signed integers).
    sign = 1 << (v.bits - 1)
    magnitude = v.iand(v.as_int(x), sign - 1)
    limit_bits = float_bits(v.ftype, FAST_LIMIT[str(v.ftype)])
    special = v.b.icmp_signed(">", v.iadd(magnitude, v.ci(sign - 1)), v.ci(limit_bits - sign - 1))
    # The slow path reuses the fast path's value rather than computing it again: code generation
    # with no module passes (no GVN) keeps a second copy in the loop's rare block, whose register
    # pressure then made the hot path reload its constants every iteration.
    fast = _expm1_fast(v, x)
    return v.when_any(special, fast, lambda: _expm1_slow(v, x, fast))
