"""exp and expm1: ``x = k*ln2 + r`` with ``|r| <= ln2/2``, a polynomial for the
exponential of ``r``, and ``2**k`` put into the exponent bits.

The fast path covers arguments whose result is a normal number; a vector with
any other lane (overflow, underflow to subnormals or zero, NaN) takes the slow
path, which clamps the argument and scales in two exact steps.
"""
from __future__ import annotations

import math

from ..half import float_bits
from .registry import register
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
# Largest |x| whose exp is a normal number with room to spare, for the fast path.
FAST_LIMIT = {"float": 86.0, "double": 705.0}
# Arguments are clamped to these before the slow path's scaling (results are then inf or 0).
CLAMP = {"float": (-110.0, 100.0), "double": (-760.0, 720.0)}


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


def _exp_fast(v: Vec, x):
    _, r, k_bits = reduce(v, x)
    p, _ = exp_of_reduced(v, r)
    return v.as_float(v.iadd(v.as_int(p), v.shl(k_bits, v.mantissa)))


def _exp_slow(v: Vec, x):
    low, high = CLAMP[str(v.ftype)]
    safe = v.select(v.isnan(x), v.c(0.0), x)
    safe = v.select(v.lt(safe, v.c(low)), v.c(low), v.select(v.gt(safe, v.c(high)), v.c(high), safe))
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
