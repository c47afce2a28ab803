"""float64 sin, cos and tan, nearly correctly rounded.

``|x| = k*pi/16 + t`` with ``|t| <= pi/32``: ``k = 8q + j`` names the quadrant ``q`` and the
step ``j`` of pi/16 within it. pi/16 is split in three (the first part the nearest double, the second
of 30 bits so that ``k`` times it is exact for ``|x| <= 2**20``), and ``t`` is kept as two doubles
``t_hi + t_lo`` to within about 2**-120 (a Fast2Sum). With ``A`` and ``B`` the sin and cos of
``(k mod 16)*pi/16`` (tables of sixteen doubles, their rests packed in a third; the sign comes
from ``q >= 2``, and for sin from ``x``'s sign; cos is sin at ``k + 8``), ``sin(x) = A*cos(t) +
B*sin(t)``: ``A + B*t_hi`` is a rounded head plus its error (an FMA, an exact subtraction and an
FMA), and the rest -- the tables' rests, ``B*t_lo``, and ``t**2*(A*Pc + B*t*Ps)`` with polynomials
of degree 3 in ``t**2`` -- is below 2**-7 of the result and added with one final rounding.

Misrounded against the correctly rounded result (glibc's scalar ``sin``/``cos``, which NumPy
calls), 10**6 random arguments each, the same at every SIMD level: [-10, 10] sin 0.22%, cos 0.21%;
[-1e5, 1e5] 0.20%, 0.21%; [-1e-3, 1e-3] none; never more than 1 ULP off (libmvec's AVX-512
variant: 63-64% misrounded, up to 4 ULP). Multiples of pi/2 up to 20,000 of them and the classic
hard cases (355, 103993, ...) are correctly rounded. Adding ``-A*t*t_lo`` (one FMA) misrounds 0.03%
fewer, a degree-4 ``Pc`` 0.01% fewer, for 2-3% more time each on AVX-512; the rest of the small
part is rounded as a double, and reaches 2**-8 of the result.

Cost, one thread, against libmvec (the machine's AVX-512 variant), sin / cos / sin(a)**2+cos(b)**2:
AVX-512 kernels +9% / +13% / +4% at 10**5 elements, +12% / +13% / +12% at 10**7; AVX2 kernels on
the same machine -10% / -6% / -15% (libmvec's variant through its wrapper). Against libmvec's AVX2
variant, as on a machine without AVX-512: +40-50%. Four lanes on AVX2 look sixteen entries up as
two lookups of eight and a blend (gathers cost 30% more). Kernels without FMA instructions (the
``sse2`` and ``scalar`` levels) call the C library's ``fma``, as every own kernel does there:
about 24 ns an element.

tan shares the reduction (:func:`_reduce`) and has a table of its own: with ``T = tan(j*pi/16)``
for ``j = k mod 16`` (tan's period is pi: no quadrant's sign; tan is odd: ``x``'s sign at the end)
and its rest, ``tan(x) = N/D``, ``N = T + tan(t)``, ``D = 1 - T*tan(t)``, ``tan(t) = t + t**3*P(t**2)``
(degree 5). ``tan(t)``, ``N`` and ``D`` are each two doubles (a Fast2Sum, or an FMA's error), and
``N/D`` is a double-double division: ``q = N_hi*(1/D_hi)``, the remainder ``N - q*D`` (its first part
exact or nearly, by an FMA) and ``q + remainder/D_hi``, one final rounding. At the pole, ``j = 8``, ``T`` is
2**500 and ``N/D`` is ``-1/tan(t)`` to within 2**-500 (the 1 in ``D`` is lost): no choice between
``N/D`` and ``-D/N`` (its four blends cost 10% on AVX-512); elsewhere ``|T| <= 5.03`` keeps ``D`` in
[1/2, 3/2]. Forming sin and cos from their tables and dividing them instead misrounds 0.30% and costs
50% more than libmvec on AVX-512.

tan misrounded against glibc's scalar ``tan`` (not correctly rounded either; NumPy's float64 tan is its
own SIMD loop, 0.5% misrounded), 10**6 random arguments each, the same at every SIMD level:
[-10, 10] 0.25%, [-1e5, 1e5] 0.24%, [2**19, 2**20] 0.25%, [-1e-3, 1e-3] none; never more than 1 ULP
off (libmvec's AVX-512 variant: 40% misrounded, up to 3 ULP; 58% near odd multiples of pi/2). Against
the exact value most of these are glibc's: of 300 disagreements in [-10, 10], 285 are (fusenum's
tan misrounds 0.01-0.02%). Multiples of pi/2 up to 20,000 of them and their neighbours are
correctly rounded.

tan's cost, one thread, against libmvec (the machine's AVX-512 variant): AVX-512 kernels +20% at 10**5
elements, +25% at 10**7; AVX2 kernels on the same machine +17% / +18% (libmvec's variant through
its wrapper); against libmvec's AVX2 variant, as on a machine without AVX-512, +88% / +90% (its
AVX2 tan is nearly as fast as its AVX-512 one, and four lanes look two sixteen-entry tables up as
four lookups of eight). Kernels without FMA instructions: about 26 ns an element. Without libmvec,
tan was the C library lane by lane: 13 times as long.

Lanes with ``|x| > 2**20``, infinities and NaN go to the C library's ``sin``/``cos``/``tan`` lane by
lane; the other lanes keep the fast path's result, so no lane depends on its neighbours.

So the three are preferred over libmvec on machines with AVX-512 (:data:`.registry.AVX512_MACHINES`); a machine
whose widest level is AVX2 calls libmvec's AVX2 variants, and has these where libmvec is missing.
"""
from __future__ import annotations

import math
import struct
from decimal import Decimal, localcontext
from functools import lru_cache

from .. import ir_text as ir

from .registry import AVX512_MACHINES, register
from .core import Vec

# pi/16 = P1 + P2 + P3 + (2**-144.8): P1 the nearest double, P2 the rest rounded to 30 bits (so k*P2
# is exact for k < 2**23), P3 the rest.
PI_16 = (0.19634954084936207, 7.654042492615175e-18, 2.0557821170405322e-27)
LIMIT = 2.0 ** 20
# tools/polyfit.py sin_tail_pi32_f64: sin(t) = t + t**3 * P(t**2), |t| <= pi/32.
SIN_TAIL = (-0.16666666666666666, 0.008333333333327706, -0.00019841269549687938, 2.7552484578296203e-06)
# tools/polyfit.py cos_tail_pi32_f64: cos(t) = 1 + t**2 * P(t**2), |t| <= pi/32.
COS_TAIL = (-0.5, 0.04166666666660476, -0.001388888856815529, 2.4796269273569918e-05)
# tools/polyfit.py tan_tail_pi32_f64: tan(t) = t + t**3 * P(t**2), |t| <= pi/32.
TAN_TAIL = (0.3333333333333333, 0.13333333333333766, 0.05396825396301642, 0.02186949085054702,
            0.008862773507920356, 0.0036345853428956343)
SHIFTER = 1.5 * 2.0 ** 52
TAN_POLE = 2.0 ** 500
_PI = "3.14159265358979323846264338327950288419716939937510582097494459230781640628620899862803"


def _sin_cos(x: Decimal) -> tuple[Decimal, Decimal]:
    """sin and cos of ``|x| <= 3`` by their Taylor series, at the context's precision."""
    s, c, term, n = Decimal(0), Decimal(0), Decimal(1), 0
    while abs(term) > Decimal(10) ** -60:
        if n % 2:
            s += term if n % 4 == 1 else -term
        else:
            c += term if n % 4 == 0 else -term
        n += 1
        term = term * x / n
    return s, c


@lru_cache(maxsize=None)
def _tables() -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """``A, B, rests``, sixteen entries each: ``A[m]`` is the double nearest sin(m*pi/16) and
    ``B[m]`` the one nearest cos(m*pi/16); ``rests[m]`` holds what they leave, as one double: itself
    A's rest (within 2**-20 of it, 2**-73 of the value), and its low 32 bits, shifted up to be a
    double's high word, B's. Made on first use, at a precision set here (a thread's decimal
    context is its own)."""
    with localcontext() as context:
        context.prec = 50
        pi = Decimal(_PI)
        values = [_sin_cos(pi * j / 16) for j in range(8)]
        sines = [s for s, _ in values] + [c for _, c in values]
        cosines = sines[8:] + [-s for s in sines[:8]]
        a = tuple(float(value) for value in sines)
        b = a[8:] + tuple(-h for h in a[:8])
        rests = []
        for exact_a, high_a, exact_b, high_b in zip(sines, a, cosines, b):
            low = _nearest_word(exact_b - Decimal(high_b), 0, 32)
            rests.append(_double(_nearest_word(exact_a - Decimal(high_a), low, 0) | low))
    return a, b, tuple(rests)


def _nearest_word(value: Decimal, low: int, shift: int) -> int:
    """Of the doubles ``(w << 32) | low``, the one nearest ``value``, as its bits shifted right by
    ``shift``."""
    high = struct.unpack("<Q", struct.pack("<d", float(value)))[0] >> 32
    words = [word for word in (high - 1, high, high + 1) if 0 <= word < 1 << 32]
    best = min(words, key=lambda word: abs(Decimal(_double((word << 32) | low)) - value))
    return ((best << 32) | low) >> shift


def _double(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def _lookup16(v: Vec, table, index):
    """``table[index mod 16]``: at four lanes on AVX2 two eight-entry lookups (one or two ``vpermd``
    each) and a blend, where one of sixteen would gather."""
    em = v.em
    level = em.target.name if em.target is not None else None
    if level in ("avx2", "avx512") and em.lanes == 4:
        upper = v.b.trunc(v.lshr(index, 3), em.vector(ir.IntType(1)))
        return v.select(upper, v.lookup(table[8:], index, wrap=True), v.lookup(table[:8], index, wrap=True))
    return v.lookup(table, index, wrap=True)


def _reduce(v: Vec, a, offset: int):
    """``(n, t_hi, t_lo)``: ``a = k*pi/16 + t_hi + t_lo`` (to about 2**-120) with ``|t_hi| <= pi/32``,
    for ``0 <= a <= LIMIT``; the low bits of the integer lanes ``n`` are ``k + offset``'s."""
    # k = a*16/pi rounded, and its low bits (plus the offset: a shifter that much larger, as
    # rounding is on the same grid: see Vec.round_to_integer).
    shifter = v.c(SHIFTER + offset)
    shifted = v.fma(a, v.c(16 / math.pi), shifter)
    k, n = v.sub(shifted, shifter), v.as_int(shifted)
    p1, p2, p3 = PI_16
    t1 = v.fma(k, v.c(-p1), a)  # exact: a multiple of 2**-56 below 1/8
    w = v.mul(k, v.c(p2))  # exact
    t_hi = v.sub(t1, w)
    # Exact (Fast2Sum): t1 is at least w in magnitude, or a multiple of w's ULP.
    t_lo = v.fma(k, v.c(-p3), v.sub(v.sub(t1, t_hi), w))
    return n, t_hi, t_lo


def _sin_of_reduced(v: Vec, a, cosine: bool):
    """``(value, n)``: ``value = sin(a + pi/2 if cosine else a)`` up to its sign, for
    ``0 <= a <= LIMIT``; the sign is negative where bit 4 of the integer lanes ``n`` is set."""
    n, t_hi, t_lo = _reduce(v, a, 8 if cosine else 0)  # cos(a) = sin(a + pi/2), k + 8
    a_table, b_table, rests = _tables()
    big_a, big_b = _lookup16(v, a_table, n), _lookup16(v, b_table, n)
    rest = _lookup16(v, rests, n)
    # A*cos(t) + B*sin(t) = head + [error + A_rest + B_rest*t + B*t_lo + t**2*(A*Pc + B*t*Ps)]
    # (not -A*t*t_lo, below 2**-60: see the module docstring).
    head = v.fma(big_b, t_hi, big_a)
    error = v.fma(big_b, t_hi, v.sub(big_a, head))  # the difference is exact (Sterbenz)
    small = v.fma(v.as_float(v.shl(v.as_int(rest), 32)), t_hi, rest)
    small = v.add(v.fma(t_lo, big_b, small), error)
    z = v.mul(t_hi, t_hi)
    tails = v.fma(big_a, v.poly(z, COS_TAIL), v.mul(v.mul(big_b, t_hi), v.poly(z, SIN_TAIL)))
    return v.add(head, v.fma(z, tails, small)), n


def _sine_or_cosine(em, x, cosine: bool):
    v = Vec(em, x)
    a = v.abs(x)
    special = v.b.fcmp_unordered(">", a, v.c(LIMIT))
    value, n = _sin_of_reduced(v, a, cosine)
    sign = v.shl(n, v.bits - 5)
    if not cosine:
        sign = v.b.xor(sign, v.as_int(x))  # sin is odd
    sign = v.iand(sign, 1 << (v.bits - 1))
    result = v.as_float(v.b.xor(v.as_int(value), sign))
    return v.when_any(special, result, lambda: em.per_lane("cos" if cosine else "sin", x))


@register("sin", "d", preferred="d", machines=AVX512_MACHINES)
def sin(em, x):
    return _sine_or_cosine(em, x, cosine=False)


@register("cos", "d", preferred="d", machines=AVX512_MACHINES)
def cos(em, x):
    return _sine_or_cosine(em, x, cosine=True)


@lru_cache(maxsize=None)
def _tan_tables() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``T, rests``: ``T[j]`` the double nearest tan(j*pi/16) and ``rests[j]`` the double nearest
    what it leaves, for j = 0..15, but ``T[8]`` is ``TAN_POLE`` (and its rest 0)."""
    with localcontext() as context:
        context.prec = 50
        pi = Decimal(_PI)
        exact = [s / c for s, c in (_sin_cos(pi * j / 16) for j in range(16))]
        exact[8] = Decimal(TAN_POLE)
        table = tuple(float(value) for value in exact)
        return table, tuple(float(value - Decimal(high)) for value, high in zip(exact, table))


def _tan_of_reduced(v: Vec, a):
    """``tan(a)`` for ``0 <= a <= LIMIT``."""
    n, t_hi, t_lo = _reduce(v, a, 0)
    table, rests = _tan_tables()
    big_t, rest = _lookup16(v, table, n), _lookup16(v, rests, n)
    z = v.mul(t_hi, t_hi)
    # tan(t) = t_hi + small = tau_hi + tau_lo (Fast2Sum: small, t_lo + t**3*P, is below 2**-8 of t_hi).
    small = v.fma(v.mul(t_hi, z), v.poly(z, TAN_TAIL), t_lo)
    tau_hi = v.add(t_hi, small)
    tau_lo = v.add(v.sub(t_hi, tau_hi), small)
    # N = T + tan(t) = n_hi + n_lo: T + tau_hi rounded, and its error (Fast2Sum: T is 0 or above
    # pi/16 in magnitude) plus the rests.
    n_hi = v.add(big_t, tau_hi)
    n_lo = v.add(v.sub(tau_hi, v.sub(n_hi, big_t)), v.add(tau_lo, rest))
    # D = 1 - T*tan(t) = d_hi + d_lo: 1 - T*tau_hi rounded, and its error (1 - d_hi is exact: d_hi is
    # in [1/2, 3/2], or at the pole beyond 2**400, where the 1 is lost as it should be) plus the rests.
    minus_t = v.neg(big_t)
    d_hi = v.fma(minus_t, tau_hi, v.c(1.0))
    d_lo = v.fma(minus_t, tau_lo, v.fma(v.neg(rest), tau_hi, v.fma(minus_t, tau_hi, v.sub(v.c(1.0), d_hi))))
    # N/D: q = n_hi/d_hi within an ULP, the remainder N - q*D (its first part exact or nearly, by an
    # FMA), and q plus the remainder over d_hi.
    y = v.reciprocal(d_hi)
    q = v.mul(n_hi, y)
    r = v.fma(v.neg(q), d_hi, n_hi)
    r = v.fma(v.neg(q), d_lo, v.add(r, n_lo))
    return v.fma(r, y, q)


@register("tan", "d", preferred="d", machines=AVX512_MACHINES)
def tan(em, x):
    v = Vec(em, x)
    a = v.abs(x)
    special = v.b.fcmp_unordered(">", a, v.c(LIMIT))
    result = v.times_sign(_tan_of_reduced(v, a), x)  # tan is odd
    return v.when_any(special, result, lambda: em.per_lane("tan", x))
