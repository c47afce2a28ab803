"""pow(x, y) = exp(y * log(x)) for positive x, with log(x) carried as a double-double.

An error ``d`` in ``log(x)`` becomes a relative error ``|y|*d`` in the result,
and ``|y*log(x)|`` reaches 709, so ``log(x)`` must be about 2**-64 accurate
relative to itself:

* ``x = 2**k * z`` with ``z`` in ``[0.703125, 1.40625)``; a 16-entry table by
  the top mantissa bits gives ``invc ~ 1/c`` for ``z``'s subinterval (``c = 1``
  exactly for the one around 1) and ``log(c)`` as two doubles;
* ``r = z*invc - 1`` is kept exact as a double-double (``z*invc`` and its
  rounding error from an FMA; subtracting 1 is exact);
* ``log(x) = k*ln2 + log(c) + r + r**2*P(r)``, the polynomial's rounding errors
  are below 2**-64 of the result since ``|r| <= 0.0304``, and the large terms
  are summed with error-free transformations.

``exp(w)`` for ``w = y*log(x)`` as a double-double uses a 16-entry table of
``2**(j/16)`` (two doubles each). Everything else -- ``x <= 0``, subnormal,
infinite or NaN ``x``, non-finite ``y``, results that overflow or underflow
to subnormals -- is computed lane by lane by the C library's ``pow``, which has
C99's special values (NumPy's too).
"""
from __future__ import annotations

import math
from decimal import Decimal, localcontext
from functools import lru_cache

from .registry import register
from .core import Vec
from .log import f32_tables, split_float32, subinterval_inverses

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
    tail = v.mul(v.mul(r, r), v.poly(r, LOG1P_TAIL))
    small = v.fma(kf, v.c(LN2_LO), v.add(v.lookup(logc_lo, i, wrap=True), tail))
    lo = v.add(v.add(v.add(err, t_err), v.fma(v.neg(r), r_lo, r_lo)), small)  # log1p(r + r_lo) ~ log1p(r) + r_lo*(1 - r)
    return hi, lo


def _exp(v: Vec, hi, lo):
    """``exp(hi + lo)`` for ``|hi| <= OVERFLOW`` (a normal result)."""
    k = v.rint(v.mul(hi, v.c(16 / math.log(2))))
    r = v.fma(k, v.c(-LN2_16_HI), hi)
    r = v.add(v.fma(k, v.c(-LN2_16_LO), r), lo)
    q = v.fma(v.mul(r, r), v.poly(r, EXPM1_TAIL), r)
    ki = v.to_int(k)
    exp_hi, exp_lo = _exp_table()
    t_hi = v.lookup(exp_hi, ki, wrap=True)  # table[k mod 16]
    result = v.add(t_hi, v.fma(t_hi, q, v.lookup(exp_lo, ki, wrap=True)))
    return v.as_float(v.iadd(v.as_int(result), v.shl(v.ashr(ki, 4), 52)))


@register("pow", "fd", preferred="fd")
def pow_(em, x, y):
    v = Vec(em, x)
    # Positive normal finite x. (A non-finite y needs no check: it makes y*log(x) infinite or
    # NaN, which the range check below catches.)
    outside = v.not_(v.positive_normal(x))
    safe_x = v.select(outside, v.c(1.0), x)
    log_hi, log_lo = _log(v, safe_x) if v.is_double else _log2_f32(v, safe_x)
    # Renormalized: where k*ln2 + log(c) is 0 (x near 1), the low part holds the whole series tail
    # (-r**2/2), and y times it would push exp's reduced argument beyond its polynomial's range.
    log_hi, log_lo = _fast_two_sum(v, log_hi, log_lo)
    w_hi = v.mul(y, log_hi)
    w_lo = v.fma(y, log_lo, v.fma(y, log_hi, v.neg(w_hi)))
    special = v.either(outside, v.not_(v.le(v.abs(w_hi), v.c(OVERFLOW if v.is_double else 126.0))))  # NaN: true
    safe_hi = v.select(special, v.c(0.0), w_hi)
    result = _exp(v, safe_hi, w_lo) if v.is_double else _exp2_f32(v, safe_hi, w_lo)
    return v.when_any(special, result, lambda: em.per_lane("pow" if v.is_double else "powf", x, y))


# ---- float32 ------------------------------------------------------------------------------------
# float32 pow carries log2(x) as two floats instead: the same argument with about 2**-32.
# x = 2**e * z in float32 log's 32 subintervals (vmath/log.py); exp2 uses a 32-entry table
# of 2**(j/32).
# tools/polyfit.py log2_tail_f32 and exp2m1_tail_f32.
LOG2_TAIL_F32 = (-0.7213475108146667, 0.4809516966342926, -0.3607182204723358)
EXP2M1_TAIL_F32 = (0.24022768437862396, 0.055504269897937775)
INV_LN2 = (1.4426950216293335, 1.925963033500011e-08)  # 1/ln2 as two floats
LN2_F32 = 0.6931471824645996


@lru_cache(maxsize=None)
def _log2c_f32():
    """``log2(c)`` of float32 log's subintervals: high parts rounded to 2**-16 (so that
    ``e + high`` is exact for ``|e| < 256``), and the rest."""
    high, low = [], []
    with localcontext() as context:
        context.prec = 50
        for inverse in f32_tables()[0]:
            value = -Decimal(inverse).ln() / Decimal(2).ln()
            high.append(round(float(value) * 2**16) / 2**16)
            low.append(float(value - Decimal(high[-1])))
    return high, low


@lru_cache(maxsize=None)
def _exp2_table_f32() -> list[float]:
    """``2**(j/32)``, rounded to float."""
    with localcontext() as context:
        context.prec = 50
        return [float((Decimal(2).ln() * j / 32).exp()) for j in range(32)]


def _fast_two_sum(v: Vec, a, b):
    """``(s, e)`` with ``s + e == a + b`` exactly, for ``|a| >= |b|`` or ``a == 0``."""
    s = v.add(a, b)
    return s, v.add(v.sub(a, s), b)


def _log2_f32(v: Vec, x):
    """``log2(x)`` as ``(hi, lo)`` for positive normal finite float32 ``x``."""
    e, i, z = split_float32(v, x)
    e = v.to_float(e)
    invc = v.lookup(f32_tables()[0], i, wrap=True)
    product = v.mul(z, invc)
    r_lo = v.fma(z, invc, v.neg(product))  # exact
    r = v.sub(product, v.c(1.0))  # exact
    h = v.mul(r, v.c(INV_LN2[0]))
    h_lo = v.fma(r, v.c(INV_LN2[0]), v.neg(h))  # exact
    tail = v.mul(v.mul(r, r), v.poly(r, LOG2_TAIL_F32))
    s1 = v.add(e, v.lookup(_log2c_f32()[0], i, wrap=True))  # exact: the table's high parts have 16 bits
    # |e + log2(c)| >= |h| whenever e + log2(c) is not 0 (subintervals are twice |r|'s range).
    hi, e2 = _fast_two_sum(v, s1, h)
    small = v.fma(r, v.c(INV_LN2[1]), v.lookup(_log2c_f32()[1], i, wrap=True))
    small = v.fma(r_lo, v.c(INV_LN2[0]), v.add(small, tail))
    return hi, v.add(e2, v.add(h_lo, small))


def _exp2_f32(v: Vec, hi, lo):
    """``2**(hi + lo)`` for ``|hi| <= 126``."""
    k, k_bits = v.round_to_integer(hi, 32.0)
    f = v.add(v.fma(k, v.c(-1 / 32), hi), lo)
    q = v.mul(f, v.fma(f, v.poly(f, EXP2M1_TAIL_F32), v.c(LN2_F32)))
    t = v.lookup(_exp2_table_f32(), k_bits, wrap=True)
    result = v.fma(t, q, t)
    return v.as_float(v.iadd(v.as_int(result), v.shl(v.ashr(k_bits, 5), 23)))
