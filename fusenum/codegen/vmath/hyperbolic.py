"""sinh, cosh and tanh.

sinh and cosh need ``exp(|x|)`` and ``exp(-|x|)``: one argument reduction
``|x| = k*ln2 + r`` serves both, and the polynomial ``P`` of the exponential's
tail is evaluated as its even and odd parts, ``P(r) = E(r*r) + r*O(r*r)``, so
``P(-r)`` costs one more addition -- no division. Near zero the difference of the
two exponentials is formed from their ``q`` parts, which are accurate, so sinh
keeps full relative accuracy down to subnormals. Beyond the overflow threshold
of exp, ``exp(|x|)/2`` is scaled in two exact steps.

tanh is ``E / (E + 2)`` with ``E = expm1(2|x|)``, accurate across the range, at
every width. (A piecewise polynomial picked by in-register permutes was ~15%
faster for float32 on AVX-512, but other widths would have needed slow gathers
or another formula, with other bits.)
"""
from __future__ import annotations

from .registry import register
from .core import Vec
from .exp import CLAMP, EXP_TAIL, FAST_LIMIT, exp_of_reduced, reduce
from .exp import expm1 as _expm1

# |x| beyond which tanh(x) rounds to +-1.
TANH_ONE = {"float": 9.1, "double": 19.1}


def _combine(v: Vec, a, sign: float):
    """``(exp(a) + sign*exp(-a)) / 2`` for ``0 <= a <= FAST_LIMIT``.

    With ``a = k*ln2 + r``, ``exp(+-a) = 2**+-k * (1 + q(+-r))`` and
    ``q(r) = r + r**2*(E(r*r) + r*O(r*r))``: so with ``h = 2**k/2``, ``l = 2**-k/2``
    (``sinh``: ``D = h - l``, ``S = h + l``; ``cosh`` the other way round),
    ``D*(1 + r*r*E) + S*r*(1 + r*r*O)``. For ``k == 0``, ``D`` is exactly 0 and ``S``
    exactly 1 in sinh: it is then the odd polynomial itself, accurate near zero.
    """
    _, r, k_bits = reduce(v, a)
    tail = EXP_TAIL[str(v.ftype)]
    z = v.mul(r, r)
    even, odd = v.poly(z, tail[0::2]), v.poly(z, tail[1::2])
    half_up = v.pow2_bits(k_bits, offset=-1)  # 2**(k-1)
    half_down = v.pow2_bits(k_bits, negate=True, offset=-1)  # 2**(-k-1)
    d, s = v.sub(half_up, half_down), v.add(half_up, half_down)
    if sign > 0:
        d, s = s, d
    odd_part = v.fma(v.mul(r, z), odd, r)
    return v.fma(s, odd_part, v.fma(v.mul(d, z), even, d))


def _half_exp(v: Vec, a):
    """``exp(a)/2`` for large ``a`` (NaN and infinity pass through)."""
    low, high = CLAMP[str(v.ftype)]
    safe = v.select(v.lt(a, v.c(high)), a, v.c(high))
    k, r, _ = reduce(v, safe)
    p, _ = exp_of_reduced(v, r)
    result = v.scale(p, v.isub(v.to_int(k), v.ci(1)))
    return v.select(v.isnan(a), a, result)


def _hyperbolic(em, x, sign: float):
    v = Vec(em, x)
    a = v.abs(x)
    limit = FAST_LIMIT[str(v.ftype)]
    fast = _combine(v, v.select(v.le(a, v.c(limit)), a, v.c(0.0)), sign)
    result = v.when_any(v.b.fcmp_unordered(">", a, v.c(limit)), fast, lambda: _half_exp(v, a))  # or NaN
    return v.copysign(result, x) if sign < 0 else result


@register("sinh", "fd", preferred="fd")
def sinh(em, x):
    return _hyperbolic(em, x, -1.0)


@register("cosh", "fd", preferred="fd")
def cosh(em, x):
    return _hyperbolic(em, x, 1.0)


@register("tanh", "fd", preferred="fd")
def tanh(em, x):
    v = Vec(em, x)
    limit = v.c(TANH_ONE[str(v.ftype)])
    a = v.select(v.gt(v.abs(x), limit), limit, v.abs(x))
    e = _expm1(em, v.add(a, a))
    return v.copysign(v.div(e, v.add(e, v.c(2.0))), x)
