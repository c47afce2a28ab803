"""sinh, cosh and tanh.

sinh and cosh need ``exp(|x|)`` and ``exp(-|x|)``: one argument reduction
``|x| = k*ln2 + r`` serves both, and the polynomial ``P`` of the exponential's
tail is evaluated as its even and odd parts, ``P(r) = E(r*r) + r*O(r*r)``, so
``P(-r)`` costs one more addition -- no division. Near zero the difference of the
two exponentials is formed from their ``q`` parts, which are accurate, so sinh
keeps full relative accuracy down to subnormals. Beyond the overflow threshold
of exp, ``exp(|x|)/2`` is scaled in two exact steps.

tanh of float64 is ``E / (E + 2)`` with ``E = expm1(2|x|)``, accurate across the
range. For float32 a division costs as much as the rest, so on AVX-512 tanh is
piecewise: two intervals per binade from 2**-5 to 16 (and ``[0, 2**-5)``, and a
constant 1 beyond), each a degree-6 polynomial in ``|x| - B``, its coefficients
picked from 32-entry tables by in-register permutes (elsewhere the expm1 form).
"""
from __future__ import annotations

from .registry import register
from .core import Vec
from .exp import CLAMP, EXP_TAIL, FAST_LIMIT, exp_of_reduced, reduce
from .exp import expm1 as _expm1

# tools/polyfit.py tanh_table_f32: relative error 6.95e-08
TANH_CENTERS = [0.0, 0.0390625, 0.0546875, 0.078125, 0.109375, 0.15625, 0.21875, 0.3125, 0.4375, 0.625, 0.875,
    1.25, 1.75, 2.5, 3.5, 5.0, 7.0, 10.0, 14.0, 0.0]
TANH_COEFFICIENTS = (
    [0.0, 0.0390426442027092, 0.05463304743170738, 0.07796644419431686, 0.10894092917442322,
     0.15499073266983032, 0.21532633900642395, 0.3027097284793854, 0.4115700423717499,
     0.5545997023582458, 0.7039055824279785, 0.8482836484909058, 0.9413755536079407,
     0.9866142868995667, 0.9981778860092163, 0.9999092221260071, 0.9999983310699463, 1.0, 1.0, 1.0],
    [1.0, 0.9984756708145142, 0.9970152378082275, 0.9939212203025818, 0.9881318807601929,
     0.975977897644043, 0.9536345601081848, 0.9083667993545532, 0.8306100964546204,
     0.692419171333313, 0.5045168995857239, 0.28041476011276245, 0.11381204426288605,
     0.02659233845770359, 0.0036409557797014713, 0.00018185896624345332, 3.3311982861050637e-06,
     9.320620719677208e-09, 3.126720020049656e-12, 0.0],
    [0.0, -0.03898312896490097, -0.05446998029947281, -0.07749250531196594, -0.10764800757169724,
     -0.15126752853393555, -0.205342635512352, -0.27497148513793945, -0.3418542444705963,
     -0.3840154707431793, -0.3551322817802429, -0.23787136375904083, -0.10713990032672882,
     -0.026236195117235184, -0.0036342658568173647, -0.00018163389177061617, -3.327351578263915e-06,
     -8.494359882149638e-09, -2.8495404820472192e-12, 0.0],
    [-0.3333333333333333, -0.331303209066391, -0.32936254143714905, -0.3252652585506439,
     -0.3176500201225281, -0.3018808662891388, -0.2736624777317047, -0.2195523977279663,
     -0.13617336750030518, -0.017837828025221825, 0.08180493116378784, 0.10832613706588745,
     0.0629282295703888, 0.01701737940311432, 0.002411727560684085, 0.00011883109982591122,
     2.1769565137219615e-06, 3.3969225210483955e-09, 1.139540068209599e-12, 0.0],
    [0.0, 0.02592932991683483, 0.0361507385969162, 0.051190607249736786, 0.07048775255680084,
     0.09721122682094574, 0.12737426161766052, 0.15811742842197418, 0.1699959635734558,
     0.13789547979831696, 0.060794953256845474, -0.012584512121975422, -0.023522445932030678,
     -0.008050133474171162, -0.0011976950336247683, -5.99548511672765e-05, -1.098761231332901e-06,
     -2.2587887116287675e-09, -7.577389779002408e-13, 0.0],
    [0.13333333333333333, 0.13160477578639984, 0.12996287643909454, 0.12649670243263245,
     0.12014361470937729, 0.10718633234500885, 0.08494746685028076, 0.0455060638487339,
     -0.0059618158265948296, -0.05433540791273117, -0.05854741856455803, -0.01969091221690178,
     0.0034823284950107336, 0.0028876247815787792, 0.0004903695080429316, 2.8474347345763817e-05,
     5.22717186868249e-07, 2.072011451303979e-09, 6.950826633017604e-13, 0.0],
    [0.0, -0.014647007919847965, -0.020360134541988373, -0.028643453493714333, -0.03897033631801605,
     -0.052344076335430145, -0.06526992470026016, -0.07239851355552673, -0.061637215316295624,
     -0.02403979003429413, 0.012994145043194294, 0.015089277178049088, 0.0020743715576827526,
     -0.0007009219261817634, -0.0001566666178405285, -9.099818271351978e-06,
     -1.6735452845750842e-07, -5.963115556895104e-10, -2.0004032881115047e-13, 0.0],
)
# float32 bits of 2**-5 and of 16, shifted to index halves of binades: the table's range.
TANH_FIRST = (0x3D000000 >> 22) - 1
TANH_LAST = len(TANH_CENTERS) - 1

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


def _tanh_piecewise(v: Vec, x):
    a = v.abs(x)
    a = v.select(v.gt(a, v.c(16.0)), v.c(16.0), a)  # the constant-1 interval (keeps inf out of t)
    index = v.isub(v.ashr(v.as_int(a), 22), v.ci(TANH_FIRST))
    index = v.imin(v.imax(index, v.ci(0)), v.ci(TANH_LAST))
    t = v.sub(a, v.lookup(TANH_CENTERS, index))
    result = v.lookup(TANH_COEFFICIENTS[-1], index)
    for column in reversed(TANH_COEFFICIENTS[:-1]):
        result = v.fma(result, t, v.lookup(column, index))
    return v.select(v.isnan(x), x, v.copysign(result, x))


@register("tanh", "fd", preferred="fd")
def tanh(em, x):
    v = Vec(em, x)
    if not v.is_double and v.avx512():  # every width, so the scalar tail computes the same
        return _tanh_piecewise(v, x)
    limit = v.c(TANH_ONE[str(v.ftype)])
    a = v.select(v.gt(v.abs(x), limit), limit, v.abs(x))
    e = _expm1(em, v.add(a, a))
    return v.copysign(v.div(e, v.add(e, v.c(2.0))), x)
