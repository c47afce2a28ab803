"""cbrt without division: Newton's iteration for ``z = |x|**(-1/3)``,
``z <- z + z*(1 - |x|*z**3)/3``, from an initial guess made of the bits (dividing
the exponent by 3 in integer arithmetic gives about 5 correct bits), then
``y = |x|*z*z`` and one Newton correction of ``y`` itself, ``y -= (y**3 - |x|)/(3*y*y)``
with ``1/(3*y*y)`` taken as ``z*z/3``. Zero, subnormal, infinite and NaN
arguments take a slow path that scales subnormals into range.
"""
from __future__ import annotations

from .registry import register
from .core import Vec

# The integer trick for a**(-1/3): its constant, chosen to minimise the initial error:
# bits(z0) = MAGIC - bits(a)/3 (as integers) approximates a**(-1/3).
MAGIC = {"float": 0x54A289CF, "double": 0x553F2E7D566CF400}  # searched: about 4% accurate
ITERATIONS = {"float": 3, "double": 4}
TINY = {"float": 2.0**-126, "double": 2.0**-1022}


def _cbrt_normal(v: Vec, a):
    """cbrt of positive normal finite ``a``."""
    t = str(v.ftype)
    third_of_bits = v.to_int(v.mul(v.to_float(v.as_int(a)), v.c(1 / 3)))
    z = v.as_float(v.isub(v.ci(MAGIC[t]), third_of_bits))
    third = v.c(1 / 3)
    for _ in range(ITERATIONS[t]):
        z3 = v.mul(v.mul(z, z), z)
        z = v.fma(v.mul(z, third), v.fma(v.neg(a), z3, v.c(1.0)), z)
    z2 = v.mul(z, z)
    y = v.mul(a, z2)
    error = v.fma(v.mul(y, y), y, v.neg(a))  # y**3 - a
    return v.fma(v.neg(error), v.mul(z2, third), y)


@register("cbrt", "fd")  # a fallback: slower than libmvec here
def cbrt(em, x):
    v = Vec(em, x)
    a = v.abs(x)
    tiny = v.c(TINY[str(v.ftype)])
    special = v.not_(v.both(v.ge(a, tiny), v.lt(a, v.c(float("inf")))))
    fast = v.copysign(_cbrt_normal(v, v.select(special, v.c(1.0), a)), x)

    def slow():
        # Subnormals: cbrt(a) = cbrt(a * 2**3m) / 2**m with a * 2**3m normal.
        m = v.mantissa + 1 - (v.mantissa + 1) % 3 + 3
        scaled = v.select(v.lt(a, tiny), v.mul(a, v.c(2.0 ** m)), a)
        root = _cbrt_normal(v, v.select(v.gt(scaled, v.c(0.0)), v.select(v.lt(scaled, v.c(float("inf"))),
                                                                      scaled, v.c(1.0)), v.c(1.0)))
        root = v.select(v.lt(a, tiny), v.mul(root, v.c(2.0 ** -(m // 3))), root)
        root = v.select(v.either(v.eq(a, v.c(0.0)), v.eq(a, v.c(float("inf")))), a, root)
        return v.select(v.isnan(x), x, v.copysign(root, x))

    return v.when_any(special, fast, slow)
