"""log and log1p: ``x = 2**e * m`` with ``m`` in ``[sqrt(1/2), sqrt(2))``, ``f = m - 1``,
and a polynomial for ``log1p(f)``; ``e*ln2`` is added in two parts.

The fast path covers positive normal finite arguments; zero, negative numbers,
subnormals, infinity and NaN take the slow path.
"""
from __future__ import annotations

from . import register
from .core import Vec
from .exp import LN2_HI, LN2_LO

# tools/polyfit.py log1p_tail_f32: log1p(f) = f - f**2/2 + f**3 * P(f), f in [sqrt(1/2) - 1, sqrt(2) - 1).
LOG1P_TAIL = {
    "float": (0.3333333134651184, -0.2499999701976776, 0.20000717043876648, -0.16667798161506653,
              0.14249032735824585, -0.12425776571035385, 0.11685796082019806, -0.1147918775677681,
              0.0696975365281105),
}
# tools/polyfit.py atanh_tail_f64: log1p(f) = 2s + s**3 * P(s**2), s = f/(2+f), |s| <= 3 - 2*sqrt(2).
ATANH_TAIL = (0.6666666666666666, 0.4000000000000088, 0.28571428570803253, 0.22222222391794727,
              0.18181795631498243, 0.15386240172447838, 0.13268760562036724, 0.1308675766695207)
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
    """``(f, t)`` with ``log1p(f) = f + t`` for ``f`` in ``[sqrt(1/2) - 1, sqrt(2) - 1)``:
    ``t`` carries the small terms, to be added to ``f`` last.

    float32: ``-f**2/2 + f**3 * P(f)``. float64, where a polynomial in ``f`` would need
    degree 20: ``2*atanh(s)`` with ``s = f/(2+f)``, as fdlibm computes it,
    ``f - f**2/2 + s*(f**2/2 + R)`` with ``R = s**2 * P(s**2)``.
    """
    f2 = v.mul(f, f)
    if not v.is_double:
        return f, v.fma(v.mul(f, f2), v.poly(f, LOG1P_TAIL["float"]), v.mul(v.c(-0.5), f2))
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
    e, f = split(v, x)
    return add_exponent(v, e, log1p_small(v, f))


def _log_slow(v: Vec, x):
    t = str(v.ftype)
    subnormal = v.lt(x, v.c(TINY[t]))
    scaled = v.select(subnormal, v.mul(x, v.c(2.0 ** v.mantissa)), x)
    e, f = split(v, scaled)
    e = v.select(subnormal, v.isub(e, v.ci(v.mantissa)), e)
    result = add_exponent(v, e, log1p_small(v, f))
    result = v.select(v.eq(x, v.c(float("inf"))), x, result)
    result = v.select(v.eq(x, v.c(0.0)), v.c(float("-inf")), result)
    return v.select(v.either(v.lt(x, v.c(0.0)), v.isnan(x)), v.c(float("nan")), result)


@register("log", "fd", preferred="fd")
def log(em, x):
    v = Vec(em, x)
    normal = v.both(v.ge(x, v.c(TINY[str(v.ftype)])), v.lt(x, v.c(float("inf"))))
    return v.when_any(v.b.not_(normal), _log_of_normal(v, x), lambda: _log_slow(v, x))


def _log1p_fast(v: Vec, x):
    """``u = 1 + x`` rounded; ``log(u)`` plus the rounding error ``c`` of ``u`` divided by ``u``
    (approximately: ``c * 2**-e * (1 - f)``); for ``e == 0`` simply the polynomial at ``x``."""
    u = v.add(v.c(1.0), x)
    e, f = split(v, u)
    small = v.b.icmp_signed("==", e, v.ci(0))
    rounding = v.sub(x, v.sub(u, v.c(1.0)))  # exact
    # (2**-e vanishes against the result long before -e leaves the normal range)
    scaled = v.mul(rounding, v.pow2(v.isub(v.ci(0), v.imin(e, v.ci(100)))))
    f = v.select(small, x, f)
    f, t = log1p_small(v, f)
    near_zero = v.add(f, t)
    return v.select(small, near_zero, add_exponent(v, e, (f, v.fma(scaled, v.sub(v.c(1.0), f), t))))


def _log1p_slow(v: Vec, x):
    result = v.select(v.eq(x, v.c(float("inf"))), x, _log1p_fast(v, v.select(v.isnan(x), v.c(0.0), x)))
    result = v.select(v.eq(x, v.c(-1.0)), v.c(float("-inf")), result)
    return v.select(v.either(v.lt(x, v.c(-1.0)), v.isnan(x)), v.c(float("nan")), result)


@register("log1p", "f", preferred="f")
def log1p(em, x):
    v = Vec(em, x)
    ordinary = v.both(v.gt(x, v.c(-1.0)), v.lt(x, v.c(float("inf"))))
    return v.when_any(v.b.not_(ordinary), _log1p_fast(v, x), lambda: _log1p_slow(v, x))
