"""log and log1p: ``x = 2**e * m``, and ``log(x) = e*ln2 + log(m)`` with ``e*ln2`` added
in two parts.

* float64: ``m`` in ``[sqrt(1/2), sqrt(2))``, ``f = m - 1``, and fdlibm's
  ``log1p(f) = 2*atanh(f/(2+f))`` series (a polynomial in ``f`` would need degree 20).
* float32: ``m = z`` in ``[0.6953125, 1.390625)`` split into 32 subintervals (one
  AVX-512 permute holds 32 floats) with ``c = 1`` exactly for the one around 1:
  ``log(z) = log(c) + log1p(r)``, ``r = z/c - 1``, ``|r| <= 1/64``, so a cubic does.
  log1p folds the rounding error of ``1 + x`` into ``r``.

The fast path covers ordinary arguments; zero, negative numbers, subnormals,
infinity and NaN take the slow path.
"""
from __future__ import annotations

import struct
from decimal import Decimal, localcontext
from functools import lru_cache

from .registry import register
from .core import Vec
from .exp import LN2_HI, LN2_LO

# tools/polyfit.py atanh_tail_f64: log1p(f) = 2s + s**3 * P(s**2), s = f/(2+f), |s| <= 3 - 2*sqrt(2).
ATANH_TAIL = (0.6666666666666666, 0.4000000000000088, 0.28571428570803253, 0.22222222391794727,
              0.18181795631498243, 0.15386240172447838, 0.13268760562036724, 0.1308675766695207)
# tools/polyfit.py log1p_tail_table_f32: log1p(r) = r + r**2 * P(r), |r| <= 1/64.
LOG1P_TABLE_TAIL = (-0.5, 0.33337029814720154, -0.2500308156013489)
OFFSET_F32 = 0x3F320000  # 0.6953125: subinterval 19 is [0.9921875, 1.015625), around 1


def subinterval_inverses(offset: int, shift: int, count: int, fmt: str) -> list[float]:
    """``invc ~ 1/c`` for each subinterval ``i`` of bit patterns ``[offset + i<<shift,
    offset + (i+1)<<shift)`` (``fmt`` ``"f"`` or ``"d"``): the reciprocal of its middle,
    rounded to the format, and exactly 1 for the one containing 1."""
    int_fmt = "<I" if fmt == "f" else "<Q"

    def value(bits: int) -> float:
        return struct.unpack("<" + fmt, struct.pack(int_fmt, bits))[0]

    inverses = []
    for i in range(count):
        low, high = value(offset + (i << shift)), value(offset + ((i + 1) << shift))
        inverse = 1.0 if low <= 1.0 < high else 2 / (low + high)
        inverses.append(struct.unpack("<" + fmt, struct.pack("<" + fmt, inverse))[0])
    return inverses


@lru_cache(maxsize=None)
def f32_tables() -> tuple[list[float], list[float]]:
    """``invc`` and ``log(c)`` of float32 log's subintervals (50-digit logarithms; made on first
    use, as every table here: the code generator's import stays cheap)."""
    invc = subinterval_inverses(OFFSET_F32, 18, 32, "f")
    with localcontext() as context:
        context.prec = 50
        return invc, [float(-Decimal(inverse).ln()) for inverse in invc]



def split_float32(v: Vec, x):
    """``(e, i, z)`` with ``x = 2**e * z``, ``z`` in subinterval ``i & 31`` of ``[0.6953125, 1.390625)``
    (``i`` keeps higher bits: look tables up with ``wrap=True``)."""
    ix = v.as_int(x)
    tmp = v.isub(ix, v.ci(OFFSET_F32))
    e = v.ashr(tmp, 23)
    i = v.lshr(tmp, 18)  # its low 5 bits: :meth:`~.core.Vec.lookup` wraps it
    return e, i, v.as_float(v.isub(ix, v.iand(tmp, -(1 << 23))))


def _log_table_f32(v: Vec, x, correction=None):
    """float32 ``log(x)`` for positive normal finite ``x``; ``correction`` (an error in ``x``,
    scaled like ``z``) is folded into ``r``."""
    e, i, z = split_float32(v, x)
    invc_table, logc_table = f32_tables()
    invc = v.lookup(invc_table, i, wrap=True)
    r = v.fma(z, invc, v.c(-1.0))
    if correction is not None:
        r = v.fma(v.mul(correction, v.pow2(v.isub(v.ci(0), v.imin(e, v.ci(100))))), invc, r)
    p = v.fma(v.mul(r, r), v.poly(r, LOG1P_TABLE_TAIL), r)
    ef = v.to_float(e)
    return v.add(v.fma(ef, v.c(LN2_HI["float"]), v.lookup(logc_table, i, wrap=True)), v.fma(ef, v.c(LN2_LO["float"]), p))


SQRT_HALF_BITS = {"float": 0x3F3504F3, "double": 0x3FE6A09E667F3BCD}
TINY = {"float": 2.0**-126, "double": 2.0**-1022}


def split(v: Vec, x):
    """``(e, f)``: integer ``e`` and float ``f = m - 1`` with ``x = 2**e * m``, ``m`` in
    ``[sqrt(1/2), sqrt(2))``, for positive normal ``x``."""
    offset = SQRT_HALF_BITS[str(v.ftype)]
    shifted = v.isub(v.as_int(x), v.ci(offset))
    e = v.ashr(shifted, v.mantissa)
    m = v.as_float(v.iadd(v.iand(shifted, (1 << v.mantissa) - 1), v.ci(offset)))
    return e, v.sub(m, v.c(1.0))


def log1p_small(v: Vec, f):
    """float64 ``(f, t)`` with ``log1p(f) = f + t`` for ``f`` in ``[sqrt(1/2) - 1, sqrt(2) - 1)``:
    ``t`` carries the small terms, to be added to ``f`` last. ``2*atanh(s)`` with
    ``s = f/(2+f)``, as fdlibm computes it: ``f - f**2/2 + s*(f**2/2 + R)``,
    ``R = s**2 * P(s**2)``.
    """
    f2 = v.mul(f, f)
    s = v.div(f, v.add(v.c(2.0), f))
    z = v.mul(s, s)
    tail = v.mul(z, v.poly(z, ATANH_TAIL))
    half_square = v.mul(v.c(0.5), f2)
    return f, v.fma(s, v.add(half_square, tail), v.neg(half_square))


def add_exponent(v: Vec, e, y):
    """``e*ln2 + f + t`` for ``y = (f, t)``: small terms first, the large product last."""
    t = str(v.ftype)
    ef = v.to_float(e)
    f, small = y
    return v.fma(ef, v.c(LN2_HI[t]), v.add(f, v.fma(ef, v.c(LN2_LO[t]), small)))


def _log_of_normal(v: Vec, x):
    if not v.is_double:
        return _log_table_f32(v, x)
    e, f = split(v, x)
    return add_exponent(v, e, log1p_small(v, f))


def _log_slow(v: Vec, x):
    t = str(v.ftype)
    subnormal = v.lt(x, v.c(TINY[t]))
    scaled = v.select(subnormal, v.mul(x, v.c(2.0 ** v.mantissa)), x)
    scaled = v.select(v.either(v.le(x, v.c(0.0)), v.b.fcmp_unordered(">=", x, v.c(float("inf")))), v.c(1.0),
                      scaled)
    result = v.sub(_log_of_normal(v, scaled), v.select(subnormal, v.c(v.mantissa * LN2_HI[t]), v.c(0.0)))
    result = v.select(v.eq(x, v.c(float("inf"))), x, result)
    result = v.select(v.eq(x, v.c(0.0)), v.c(float("-inf")), result)
    return v.select(v.either(v.lt(x, v.c(0.0)), v.isnan(x)), v.c(float("nan")), result)


@register("log", "fd", preferred="fd")
def log(em, x):
    v = Vec(em, x)
    return v.when_any(v.not_(v.positive_normal(x)), _log_of_normal(v, x), lambda: _log_slow(v, x))


def _log1p_slow(v: Vec, x):
    ordinary = v.both(v.gt(x, v.c(-1.0)), v.lt(x, v.c(float("inf"))))
    result = _log1p_table_f32(v, v.select(ordinary, x, v.c(1.0)))
    result = v.select(v.eq(x, v.c(0.0)), x, result)
    result = v.select(v.eq(x, v.c(float("inf"))), x, result)
    result = v.select(v.eq(x, v.c(-1.0)), v.c(float("-inf")), result)
    return v.select(v.either(v.lt(x, v.c(-1.0)), v.isnan(x)), v.c(float("nan")), result)


def _log1p_table_f32(v: Vec, x):
    """``log(1 + x)`` with the rounding error of ``1 + x`` folded into ``r``."""
    u = v.add(v.c(1.0), x)
    rounding = v.sub(x, v.sub(u, v.c(1.0)))  # exact
    return _log_table_f32(v, u, correction=rounding)


@register("log1p", "f", preferred="f")
def log1p(em, x):
    v = Vec(em, x)
    ordinary = v.both(v.gt(x, v.c(-1.0)), v.lt(x, v.c(float("inf"))))
    ordinary = v.both(ordinary, v.ne(x, v.c(0.0)))  # -0.0 keeps its sign below
    return v.when_any(v.not_(ordinary), _log1p_table_f32(v, x), lambda: _log1p_slow(v, x))
