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
import struct
from decimal import Decimal, getcontext

from . import register
from .core import Vec

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


def _log_table():
    """``invc``, ``log(c)`` high and low parts of each subinterval of ``z``."""
    getcontext().prec = 50
    start = struct.unpack("<d", struct.pack("<Q", OFFSET))[0]
    invc, log_hi, log_lo = [], [], []
    for i in range(16):
        if i < 9:
            low, high = start + i / 32, start + (i + 1) / 32
        elif i == 9:
            low, high = 0.984375, 1.03125
        else:
            low, high = 1.03125 + (i - 10) / 16, 1.03125 + (i - 9) / 16
        inverse = 1.0 if i == 9 else 1 / ((low + high) / 2)
        invc.append(inverse)
        hi, lo = _split(-Decimal(inverse).ln())
        log_hi.append(hi)
        log_lo.append(lo)
    return invc, log_hi, log_lo


def _exp_table():
    """``2**(j/16)`` as high and low parts."""
    getcontext().prec = 50
    pairs = [_split((Decimal(2).ln() * j / 16).exp()) for j in range(16)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


INVC, LOGC_HI, LOGC_LO = _log_table()
EXP_HI, EXP_LO = _exp_table()


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
    i = v.iand(v.lshr(tmp, 48), 15)
    z = v.as_float(v.isub(ix, v.iand(tmp, -(1 << 52))))
    invc = v.lookup(INVC, i)
    product = v.mul(z, invc)
    r_lo = v.fma(z, invc, v.neg(product))  # the product's rounding error: exact
    r = v.sub(product, v.c(1.0))  # exact: product is within 4% of 1
    kf = v.to_float(k)
    big = v.mul(kf, v.c(LN2_HI))  # exact: LN2_HI has 42 bits
    logc = v.lookup(LOGC_HI, i)
    t = v.add(big, logc)
    t_err = v.add(v.sub(big, t), logc)  # exact: |big| >= |logc| unless big is 0
    hi, err = _two_sum(v, t, r)
    tail = v.mul(v.mul(r, r), v.poly(r, LOG1P_TAIL))
    small = v.fma(kf, v.c(LN2_LO), v.add(v.lookup(LOGC_LO, i), tail))
    lo = v.add(v.add(v.add(err, t_err), r_lo), small)
    return hi, lo


def _exp(v: Vec, hi, lo):
    """``exp(hi + lo)`` for ``|hi| <= OVERFLOW`` (a normal result)."""
    k = v.rint(v.mul(hi, v.c(16 / math.log(2))))
    r = v.fma(k, v.c(-LN2_16_HI), hi)
    r = v.add(v.fma(k, v.c(-LN2_16_LO), r), lo)
    q = v.fma(v.mul(r, r), v.poly(r, EXPM1_TAIL), r)
    ki = v.to_int(k)
    j = v.iand(ki, 15)
    t_hi = v.lookup(EXP_HI, j)
    result = v.add(t_hi, v.fma(t_hi, q, v.lookup(EXP_LO, j)))
    return v.as_float(v.iadd(v.as_int(result), v.shl(v.ashr(ki, 4), 52)))


@register("pow", "d", preferred="d")
def pow_(em, x, y):
    v = Vec(em, x)
    ordinary = v.both(v.ge(x, v.c(2.0**-1022)), v.lt(x, v.c(float("inf"))))
    ordinary = v.both(ordinary, v.lt(v.abs(y), v.c(float("inf"))))
    safe_x = v.select(ordinary, x, v.c(1.0))
    log_hi, log_lo = _log(v, safe_x)
    w_hi = v.mul(y, log_hi)
    w_lo = v.fma(y, log_lo, v.fma(y, log_hi, v.neg(w_hi)))
    ordinary = v.both(ordinary, v.le(v.abs(w_hi), v.c(OVERFLOW)))
    safe_hi = v.select(ordinary, w_hi, v.c(0.0))
    result = _exp(v, safe_hi, w_lo)
    return v.when_any(v.b.not_(ordinary), result, lambda: em.per_lane("pow", x, y))
