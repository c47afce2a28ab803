"""float32 tan, arctan and arctan2 (float64 arctan and arctan2 come from libmvec, or the C library;
float64 sin, cos and tan: :mod:`~fusenum.codegen.vmath.trig64`).

* tan: ``x = k*pi/2 + r`` with pi/2 in three parts (fused multiply-adds keep ``r``
  accurate for ``|x| <= 2**15``), ``tan(r) = r + r**3*P(r**2)`` on ``|r| <= pi/4``,
  and ``-1/tan(r)`` for odd ``k``. Larger arguments, infinities and NaN go to the C
  library lane by lane.
* arctan: ``x + x**3*P(x**2)`` on ``[0, 1]``; beyond, ``pi/2 - arctan(1/x)``.
* arctan2: ``arctan(min/max)`` of the magnitudes, moved to its octant; zeros,
  infinities and NaN (where C99 defines a dozen special cases) go to the C library.

Reciprocals use AVX-512's estimate and a Newton step where available
(:meth:`~fusenum.codegen.vmath.core.Vec.reciprocal`): a division costs as much
as the rest of the kernel.
"""
from __future__ import annotations

import math

from .. import ir_text as ir

from .registry import register
from .core import Vec

# tools/polyfit.py tan_f32: tan(r) = r + r**3 * P(r**2), |r| <= pi/4.
TAN_TAIL = (0.3333333432674408, 0.13333231210708618, 0.05399447679519653, 0.02162102609872818,
            0.009962501004338264, 0.0011847561690956354, 0.003843475366011262)
# tools/polyfit.py atan_f32: atan(x) = x + x**3 * P(x**2), |x| <= 1.
ATAN_TAIL = (-0.3333333134651184, 0.19999739527702332, -0.1427856832742691, 0.11033764481544495,
             -0.08656880259513855, 0.0625016912817955, -0.035871539264917374, 0.01350777130573988,
             -0.0023869972210377455)
# pi/2 in three float32 parts, and pi/2 and pi as float32 high and low parts.
HALF_PI = (1.5707963705062866, -4.371138828673793e-08, -1.7151245100058819e-15)
PI = (3.1415927410125732, -8.742277657347586e-08)
TAN_LIMIT = 32768.0


def _tan_fast(v: Vec, a):
    """tan of ``a`` in ``[0, TAN_LIMIT]``."""
    k, k_bits = v.round_to_integer(v.mul(a, v.c(2 / math.pi)))
    r = a
    for part in HALF_PI:
        r = v.fma(k, v.c(-part), r)
    z = v.mul(r, r)
    t = v.fma(v.mul(r, z), v.poly(z, TAN_TAIL), r)
    odd = v.b.trunc(k_bits, v.em.vector(ir.IntType(1)))
    return v.select(odd, v.neg(v.reciprocal(t)), t)


@register("tan", "f", preferred="f")
def tan(em, x):
    v = Vec(em, x)
    a = v.abs(x)
    special = v.b.fcmp_unordered(">", a, v.c(TAN_LIMIT))
    result = v.times_sign(_tan_fast(v, v.select(special, v.c(0.0), a)), x)  # tan is odd
    return v.when_any(special, result, lambda: em.per_lane("tanf", x))


def _atan_unit(v: Vec, t):
    """``arctan(t)`` for ``t`` in ``[0, 1]``."""
    z = v.mul(t, t)
    return v.fma(v.mul(t, z), v.poly(z, ATAN_TAIL), t)


def _half_pi_minus(v: Vec, a):
    """``pi/2 - a`` with pi/2 in two parts."""
    return v.add(v.sub(v.c(HALF_PI[0]), a), v.c(HALF_PI[1]))


@register("atan", "f", preferred="f")
def atan(em, x):
    v = Vec(em, x)
    a = v.abs(x)
    big = v.gt(a, v.c(1.0))  # false for NaN, which then runs through the polynomial
    # arctan is pi/2 in float32 from 2**25 on; capping keeps infinity out of the reciprocal.
    t = v.select(big, v.reciprocal(v.min_number(a, v.c(2.0**30))), a)
    angle = _atan_unit(v, t)
    angle = v.select(big, _half_pi_minus(v, angle), angle)
    return v.copysign(angle, x)


@register("atan2", "f", preferred="f")
def atan2(em, y, x):
    v = Vec(em, y)
    ay, ax = v.abs(y), v.abs(x)
    steep = v.gt(ay, ax)
    larger, smaller = v.select(steep, ay, ax), v.select(steep, ax, ay)
    # Zeros, infinities, NaN, and magnitudes whose reciprocal is not a normal number go to C.
    special = v.not_(v.both(v.both(v.lt(larger, v.c(2.0**120)), v.gt(larger, v.c(2.0**-120))),
                            v.gt(smaller, v.c(0.0))))
    # The reciprocal of ``larger`` itself, its special lanes replaced after (as instcombine moves
    # the select; the same bits, 1/1 being 1): the division then waits for no compare.
    ratio = v.mul(smaller, v.select(special, v.c(1.0), v.reciprocal(larger)))
    angle = _atan_unit(v, ratio)
    angle = v.select(steep, _half_pi_minus(v, angle), angle)
    behind = v.lt(x, v.c(0.0))
    angle = v.copysign(v.select(behind, v.add(v.sub(v.c(PI[0]), angle), v.c(PI[1])), angle), y)
    return v.when_any(special, angle, lambda: em.per_lane("atan2f", y, x))
