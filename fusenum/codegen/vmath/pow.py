"""pow(x, y) = exp(y * log(x)) for positive x, with log(x) carried as a double-double.

An error ``d`` in ``log(x)`` becomes a relative error ``|y|*d`` in the result,
and ``|y*log(x)|`` reaches 709, so ``log(x)`` must be about 2**-64 accurate
relative to itself:

* ``x = 2**k * z`` with ``z`` in ``[0.703125, 1.40625)``; a 16-entry table by
  the top mantissa bits gives ``invc ~ 1/c`` for ``z``'s subinterval (``c = 1``
  exactly for the one around 1) and ``log(c)`` as two doubles;
* ``r = z*invc - 1`` is kept exact as a double-double (``z*invc`` and its
  rounding error from an FMA; subtracting 1 is exact);
* ``log(x) = k*ln2 + log(c) + r - r**2/2 + r**3*Q(r)``: ``r**2`` is kept exact
  and the terms down to ``-r**2/2`` are summed with error-free transformations, so
  only ``r**3*Q(r)`` (below 2**-11 of the result, as ``|r| <= 0.0304``) and ``r``'s
  rounding error's own correction are rounded, well below 2**-64 of the result.

``exp(w)`` for ``w = y*log(x)`` as a double-double uses a 16-entry table of
``2**(j/16)`` (two doubles each). Everything else -- ``x <= 0``, subnormal,
infinite or NaN ``x``, non-finite ``y``, results that overflow or underflow
to subnormals -- is computed lane by lane by the C library's ``pow``, which has
C99's special values (NumPy's too).

float32 is computed in float64, with a plain logarithm and exponential (no low parts: see
:func:`_pow_float32`), and rounded once; results beyond float32's normal range are ``powf``'s.
"""
from __future__ import annotations

import math
from decimal import Decimal, localcontext
from functools import lru_cache

from .registry import register
from .core import Vec
from ..emitter import F64
from .log import subinterval_inverses

# tools/polyfit.py log1p_tail_table_f64: log1p(r) = r + r**2 * P(r), |r| <= 0.0304.
LOG1P_TAIL = (-0.5, 0.3333333333333333, -0.24999999999999406, 0.19999999999999452, -0.1666666667181501,
              0.14285714290466703, -0.12499984404525025, 0.11111096715016426, -0.10019278143669003,
              0.0910870455512666)
# tools/polyfit.py expm1_tail_table_f64: expm1(r) = r + r**2 * P(r), |r| <= ln2/32.
EXPM1_TAIL = (0.5000000000000001, 0.16666666666666669, 0.04166666666359028, 0.008333333332991513,
              0.0013889063588165835, 0.00019841463951370396)

OFFSET = 0x3FE6800000000000  # 0.703125: subinterval 9 is [0.984375, 1.03125), around 1
LN2_HI = 0.6931471805598903  # 42 significant bits: k*LN2_HI is exact
LN2_LO = 5.497923018708371e-14
LN2_16_HI = 0.04332169878499658  # ln2/16 in two parts, for exp's reduction
LN2_16_LO = 1.4494042586539372e-18
OVERFLOW = 700.0  # |y*log(x)| beyond this goes the slow way (exp overflows at 709.78)


def _split(value: Decimal) -> tuple[float, float]:
    hi = float(value)
    return hi, float(value - Decimal(hi))


@lru_cache(maxsize=None)
def _log_table():
    """``invc``, ``log(c)`` high and low parts of each subinterval of ``z`` (made on first use)."""
    invc = subinterval_inverses(OFFSET, 48, 16, "d")
    with localcontext() as context:
        context.prec = 50
        pairs = [_split(-Decimal(inverse).ln()) for inverse in invc]
    return invc, [p[0] for p in pairs], [p[1] for p in pairs]


@lru_cache(maxsize=None)
def _exp_table():
    """``2**(j/16)`` as high and low parts."""
    with localcontext() as context:
        context.prec = 50
        pairs = [_split((Decimal(2).ln() * j / 16).exp()) for j in range(16)]
    return [p[0] for p in pairs], [p[1] for p in pairs]



def _two_sum(v: Vec, a, b):
    """``(s, e)`` with ``s + e == a + b`` exactly."""
    s = v.add(a, b)
    bb = v.sub(s, a)
    return s, v.add(v.sub(a, v.sub(s, bb)), v.sub(b, bb))


def _log(v: Vec, x):
    """``log(x)`` as ``(hi, lo)`` for positive normal finite ``x``."""
    ix = v.as_int(x)
    tmp = v.isub(ix, v.ci(OFFSET))
    k = v.ashr(tmp, 52)
    i = v.lshr(tmp, 48)  # its low 4 bits: the lookups wrap it
    z = v.as_float(v.isub(ix, v.iand(tmp, -(1 << 52))))
    invc_table, logc_hi, logc_lo = _log_table()
    invc = v.lookup(invc_table, i, wrap=True)
    product = v.mul(z, invc)
    r_lo = v.fma(z, invc, v.neg(product))  # the product's rounding error: exact
    r = v.sub(product, v.c(1.0))  # exact: product is within 4% of 1
    kf = v.to_float(k)
    big = v.mul(kf, v.c(LN2_HI))  # exact: LN2_HI has 42 bits
    logc = v.lookup(logc_hi, i, wrap=True)
    t = v.add(big, logc)
    t_err = v.add(v.sub(big, t), logc)  # exact: |big| >= |logc| unless big is 0
    hi, err = _two_sum(v, t, r)
    # The series' first term past r, -r**2/2, is up to 1.5% of log(x) near 1: rounded, it alone was
    # 2**-58 of log(x), tens of ULP once multiplied by y. So r**2 is kept exact (a product and its
    # rounding error) and -r**2/2 added to the high part exactly; only r**3*Q(r) is rounded.
    rr = v.mul(r, r)
    rr_lo = v.fma(r, r, v.neg(rr))
    hi, err2 = _two_sum(v, hi, v.mul(rr, v.c(LOG1P_TAIL[0])))  # (exact: a product by -1/2)
    tail = v.fma(v.mul(rr, r), v.poly(r, LOG1P_TAIL[1:]), v.mul(rr_lo, v.c(LOG1P_TAIL[0])))
    small = v.fma(kf, v.c(LN2_LO), v.add(v.lookup(logc_lo, i, wrap=True), tail))
    # log1p(r + r_lo) ~ log1p(r) + r_lo/(1 + r) = ... + r_lo*(1 - r + r**2): the r**2 term is 2**-58 of log(x) too
    correction = v.fma(r_lo, v.sub(rr, r), r_lo)
    lo = v.add(v.add(v.add(v.add(err, err2), t_err), correction), small)
    return hi, lo


def _exp(v: Vec, hi, lo=None):
    """``exp(hi + lo)`` for ``|hi| <= OVERFLOW`` (a normal result); without ``lo``, ``exp(hi)`` within
    a few 2**-53 of itself (no low parts)."""
    k = v.rint(v.mul(hi, v.c(16 / math.log(2))))
    r = v.fma(k, v.c(-LN2_16_LO), v.fma(k, v.c(-LN2_16_HI), hi))
    if lo is not None:
        r = v.add(r, lo)
    q = v.fma(v.mul(r, r), v.poly(r, EXPM1_TAIL), r)
    ki = v.to_int(k)
    exp_hi, exp_lo = _exp_table()
    t_hi = v.lookup(exp_hi, ki, wrap=True)  # table[k mod 16]
    if lo is None:
        result = v.fma(t_hi, q, t_hi)
    else:
        result = v.add(t_hi, v.fma(t_hi, q, v.lookup(exp_lo, ki, wrap=True)))
    # k // 16 into the exponent field: (k << 48) masked, as instcombine writes ``(k >> 4) << 52``
    # (one arithmetic shift fewer: AVX2 has none of 64-bit lanes).
    return v.as_float(v.iadd(v.as_int(result), v.iand(v.shl(ki, 48), -(1 << 52))))


@register("pow", "fd", preferred="fd")
def pow_(em, x, y):
    v = Vec(em, x)
    if not v.is_double:
        return _pow_float32(em, x, y)
    # Positive normal finite x. (A non-finite y needs no check: it makes y*log(x) infinite or
    # NaN, which the range check below catches.)
    outside = v.not_(v.positive_normal(x))
    safe_x = v.select(outside, v.c(1.0), x)
    log_hi, log_lo = _log(v, safe_x)
    # Renormalized, so that y times the low part stays far inside exp's reduced range.
    log_hi, log_lo = _fast_two_sum(v, log_hi, log_lo)
    w_hi = v.mul(y, log_hi)
    w_lo = v.fma(y, log_lo, v.fma(y, log_hi, v.neg(w_hi)))
    special = v.either(outside, v.not_(v.le(v.abs(w_hi), v.c(OVERFLOW))))  # NaN: true
    safe_hi = v.select(special, v.c(0.0), w_hi)
    result = _exp(v, safe_hi, w_lo)
    return v.when_any(special, result, lambda: em.per_lane("pow", x, y))


def _fast_two_sum(v: Vec, a, b):
    """``(s, e)`` with ``s + e == a + b`` exactly, for ``|a| >= |b|`` or ``a == 0``."""
    s = v.add(a, b)
    return s, v.add(v.sub(a, s), b)


# ---- float32 ------------------------------------------------------------------------------------
#: |y*log(x)| within this has a normal float32 result (2**-126 is e**-87.3, the largest float32 e**88.7):
#: beyond it, results that overflow or are subnormal, whose rounding from float64 could differ from
#: the C library's ``powf`` at a tie (``0.5 ** 150`` is 0.0), go the slow way.
F32_LIMIT = 87.0


def _pow_float32(em, x, y):
    """float32 pow, computed in float64 and rounded once: ``y*log(x)`` within 2**-40 of itself needs
    neither a double-double logarithm nor ``exp``'s low part, and the result's error (~2**-40) is far
    below float32's rounding. (float32's own log2 as two floats was up to 75 ULP off for a base near
    1 and a large result: its polynomial and its rounding-error terms were 2**-28 of log2(x), where
    2**-33 was needed.) Every float32 base but 0, negatives and non-finite ones is a positive normal
    float64, subnormals too; the rest, and results beyond float32's normal range, go lane by lane
    through the C library's ``powf``, as NumPy's loop does."""
    wide = em.vector(F64)
    x64, y64 = em.b.fpext(x, wide), em.b.fpext(y, wide)
    v = Vec(em, x64)
    outside = v.not_(v.positive_normal(x64))
    w = v.mul(y64, _plain_log(v, v.select(outside, v.c(1.0), x64)))
    special = v.either(outside, v.not_(v.le(v.abs(w), v.c(F32_LIMIT))))  # NaN: true
    result = _exp(v, v.select(special, v.c(0.0), w))
    return v.when_any(special, em.b.fptrunc(result, x.type), lambda: em.per_lane("powf", x, y))


def _plain_log(v: Vec, x):
    """``log(x)`` in float64 (within a few 2**-53 of itself) for positive normal finite ``x``: the
    table and polynomial of :func:`_log`, without its extra precision."""
    ix = v.as_int(x)
    tmp = v.isub(ix, v.ci(OFFSET))
    i = v.lshr(tmp, 48)
    z = v.as_float(v.isub(ix, v.iand(tmp, -(1 << 52))))
    invc_table, logc_hi, _ = _log_table()
    r = v.fma(z, v.lookup(invc_table, i, wrap=True), v.c(-1.0))
    head = v.fma(v.to_float(v.ashr(tmp, 52)), v.c(math.log(2)), v.lookup(logc_hi, i, wrap=True))
    return v.add(head, v.fma(v.mul(r, r), v.poly(r, LOG1P_TAIL), r))
