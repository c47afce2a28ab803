"""fusenum's own float64 sin, cos and tan (:mod:`fusenum.codegen.vmath.trig64`): nearly correctly
rounded (against glibc's scalar ``sin``/``cos``/``tan``; NumPy calls the first two), within 1 ULP,
special values as NumPy's, and the same bits at every SIMD level, in both tiers and whatever a
lane's neighbours."""
import math
from decimal import Decimal, localcontext

import numpy as np
import pytest

import fusenum
from fusenum.codegen import mathlib
from fusenum.codegen.vmath import trig64

from ..ulp import ulp_distance

FUNCTIONS = {"sin": math.sin, "cos": math.cos}
#: The fraction of random arguments whose result may be misrounded (by one ULP). Measured: 0.20-0.22%
#: over [-10, 10] and [-1e5, 1e5], none over [-1e-3, 1e-3]; libmvec's misrounds 63-64%.
MISROUNDED = 0.005
#: Arguments near multiples of pi/2 and pi (where the reduced argument cancels most), at and around
#: the fast path's limit 2**20, and beyond it up to the largest double.
HARD = [355.0, 103993.0, 104348.0, 208341.0, 312689.0, 833719.0, 1146408.0, 22.0, 44.0, 710.0,
        1068966896.0, 2.0 ** 20, float(np.nextafter(2.0 ** 20, 0)), float(np.nextafter(2.0 ** 20, np.inf)),
        1e6, 1e22, 1e300, 6381956970095103 * 2.0 ** 797, float(np.finfo(float).max),
        math.pi / 4, math.pi / 2, math.pi, 2 * math.pi]


@pytest.fixture(autouse=True)
def own_kernels():
    """These test the own kernels, which ``builtin`` vector math uses on any machine (``auto`` prefers
    libmvec's on a machine without AVX-512: test_mathlib checks that choice)."""
    previous = mathlib.set_mode("builtin")
    yield
    mathlib.set_mode(previous)


def _reference(name: str, x: np.ndarray) -> np.ndarray:
    return np.array([FUNCTIONS[name](float(v)) for v in x])


def _evaluate(name: str, x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return fusenum.evaluate(f"{name}(x)")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_nearly_correctly_rounded_at_every_level(simd, name):
    assert mathlib.implementation(name, np.dtype("f8"), simd) == "own"
    rng = np.random.default_rng(3)
    for low, high in [(-10.0, 10.0), (-1e5, 1e5), (-1e-3, 1e-3), (2.0 ** 19, 2.0 ** 20)]:
        x = rng.uniform(low, high, 20000)
        got, expected = _evaluate(name, x), _reference(name, x)
        distance = ulp_distance(expected, got)
        assert distance.max() <= 1, (low, high, x[np.argmax(distance)])
        assert np.mean(distance != 0) <= MISROUNDED, (low, high, np.mean(distance != 0))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_hard_and_special_arguments(simd, name):
    """Multiples of pi/2 up to 20,000 of them and the hard cases are correctly rounded; arguments
    beyond 2**20 are the C library's; zeros keep their sign in sin, tiny arguments give themselves
    (sin) or 1 (cos); infinities and NaN give NaN, as in NumPy."""
    tiny = [5e-324, 2.0 ** -1022, 1e-300, 1e-20, 2.0 ** -27, 1.4901161193847656e-08]
    multiples = list(np.arange(1, 20001) * (math.pi / 2))
    ordinary = np.array(HARD + multiples + tiny)
    x = np.concatenate([ordinary, -ordinary, [0.0, -0.0, np.inf, -np.inf, np.nan]])
    got = _evaluate(name, x)
    with np.errstate(invalid="ignore"):
        numpy = getattr(np, name)(x)
    assert (ulp_distance(numpy, got) == 0).all(), x[ulp_distance(numpy, got) != 0]
    assert (ulp_distance(_reference(name, x[:-3]), got[:-3]) == 0).all()
    if name == "sin":
        assert got[-5:-3].tolist() == [0.0, -0.0] and np.signbit(got[-4])
        small = np.array(tiny)
        assert (_evaluate(name, small) == small).all() and (_evaluate(name, -small) == -small).all()
    assert np.isnan(got[-3:]).all()


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.uint64)


@pytest.mark.parametrize("name", [*FUNCTIONS, "tan"])
def test_a_lanes_bits_depend_on_nothing_but_its_argument(name):
    """The same bits at every SIMD level and in both tiers, in the vector body and in the scalar
    tail, and whether or not a lane shares its vector with lanes the slow path computes: one such
    lane at each position of a short array leaves every other lane's bits as they were."""
    rng = np.random.default_rng(8)
    ordinary = rng.uniform(-50.0, 50.0, 37)
    results = {}
    previous_level, previous_tiering = fusenum.get_simd(), fusenum.set_tiering("never")
    try:
        for level in fusenum.available_simd():
            fusenum.set_simd(level)
            for tiering in ("never", "always"):
                fusenum.set_tiering(tiering)
                alone = _evaluate(name, ordinary)
                for slow in (1e300, np.inf, np.nan, -3e6):
                    for at in range(17):
                        x = ordinary.copy()
                        x[at] = slow
                        got = _evaluate(name, x)
                        others = np.arange(len(x)) != at
                        assert (_bits(got[others]) == _bits(alone[others])).all(), (level, tiering, slow, at)
                        with np.errstate(invalid="ignore"):
                            expected = getattr(np, name)(np.float64(slow))
                        assert ulp_distance(np.array([expected]), got[at:at + 1])[0] == 0, (level, slow, at)
                results[level, tiering] = alone
    finally:
        fusenum.set_simd(previous_level)
        fusenum.set_tiering(previous_tiering)
    first = next(iter(results.values()))
    for key, got in results.items():
        assert (_bits(got) == _bits(first)).all(), key


def test_the_constants_are_what_their_comments_say():
    """pi/16's three parts (the second of 30 bits, so that k times it is exact for the fast path's
    k), the tables' entries and the rests packed with them."""
    with localcontext() as context:
        context.prec = 60
        pi = Decimal(trig64._PI)
        p1, p2, p3 = (Decimal(p) for p in trig64.PI_16)
        assert abs(pi / 16 - p1 - p2 - p3) < Decimal(2) ** -140
        assert float(p1) == math.pi / 16
        mantissa, _ = math.frexp(trig64.PI_16[1])
        assert (mantissa * 2 ** 30).is_integer()
        assert trig64.LIMIT * 16 / math.pi < 2 ** 23
        a, b, rests = trig64._tables()
        for m in range(16):
            sine, cosine = trig64._sin_cos(pi * m / 16)
            for table, exact in ((a, sine), (b, cosine)):  # the nearest doubles (0 where they are 0)
                assert abs(Decimal(table[m]) - exact) <= Decimal(math.ulp(table[m])) / 2 + Decimal(2) ** -150
            bits = int(np.float64(rests[m]).view(np.uint64))
            rest_b = float(np.uint64((bits << 32) & (2 ** 64 - 1)).view(np.float64))
            assert abs(Decimal(a[m]) + Decimal(rests[m]) - sine) < Decimal(2) ** -72
            assert abs(Decimal(b[m]) + Decimal(rest_b) - cosine) < Decimal(2) ** -72


#: tan's misrounded fraction against glibc's ``tan``. Measured 0.24-0.25% over [-10, 10], [-1e5, 1e5] and
#: [2**19, 2**20], none over [-1e-3, 1e-3]; most of them are glibc's (its tan is not correctly rounded:
#: against the exact value fusenum's misrounds 0.01-0.02%); libmvec's misrounds 40%.
TAN_MISROUNDED = 0.005


def _exact_tan(x: float) -> Decimal:
    with localcontext() as context:
        context.prec = 90
        pi = Decimal(trig64._PI)
        reduced = Decimal(x) - (Decimal(x) / pi).to_integral_value() * pi
        sine, cosine = trig64._sin_cos(reduced)
        return sine / cosine


def _correctly_rounded(x: np.ndarray, got: np.ndarray) -> np.ndarray:
    """Where ``got`` is tan(x) correctly rounded: glibc's value, or else nearer the exact one."""
    same = got == np.array([math.tan(float(v)) for v in x])
    for i in np.flatnonzero(~same):
        exact = _exact_tan(float(x[i]))
        error = abs(Decimal(float(got[i])) - exact)
        neighbours = (np.nextafter(got[i], -np.inf), np.nextafter(got[i], np.inf))
        same[i] = all(error < abs(Decimal(float(n)) - exact) for n in neighbours)
    return same


def test_tan_nearly_correctly_rounded_at_every_level(simd):
    assert mathlib.implementation("tan", np.dtype("f8"), simd) == "own"
    rng = np.random.default_rng(4)
    for low, high in [(-10.0, 10.0), (-1e5, 1e5), (-1e-3, 1e-3), (2.0 ** 19, 2.0 ** 20)]:
        x = rng.uniform(low, high, 20000)
        got, expected = _evaluate("tan", x), np.array([math.tan(v) for v in x])
        distance = ulp_distance(expected, got)
        assert distance.max() <= 1, (low, high, x[np.argmax(distance)])
        assert np.mean(distance != 0) <= TAN_MISROUNDED, (low, high, np.mean(distance != 0))


def test_tan_near_its_poles_and_zeros(simd):
    """Near odd multiples of pi/2 (results up to 1e16) and multiples of pi (down to 1e-16: relative
    accuracy), multiples of pi/2 themselves and their neighbours are correctly rounded, the
    pseudo-random ones around them within 1 ULP."""
    multiples = np.arange(1, 20001) * (math.pi / 2)
    x = np.concatenate([multiples, np.nextafter(multiples, np.inf), np.nextafter(multiples, 0)])
    x = np.concatenate([x, -x])
    got = _evaluate("tan", x)
    assert _correctly_rounded(x, got).all(), x[~_correctly_rounded(x, got)]
    rng = np.random.default_rng(6)
    near = multiples[:2000] + rng.uniform(-1e-6, 1e-6, 2000)
    assert ulp_distance(np.array([math.tan(v) for v in near]), _evaluate("tan", near)).max() <= 1


def test_tan_special_and_hard_arguments(simd):
    """Zeros keep their sign, tiny arguments give themselves, infinities and NaN give NaN, as in
    NumPy; the classic hard cases are correctly rounded, and arguments beyond 2**20 are the C
    library's."""
    tiny = np.array([5e-324, 2.0 ** -1022, 1e-300, 1e-20, 2.0 ** -27, 1.4901161193847656e-08])
    special = np.concatenate([tiny, -tiny, [0.0, -0.0, np.inf, -np.inf, np.nan]])
    got = _evaluate("tan", special)
    with np.errstate(invalid="ignore"):
        distance = ulp_distance(np.tan(special), got)
    assert (distance == 0).all(), special[distance != 0]
    assert (got[:12] == special[:12]).all() and np.signbit(got[13]) and not np.signbit(got[12])
    hard = np.array(HARD)
    hard = np.concatenate([hard, -hard])
    got = _evaluate("tan", hard)
    fast = np.abs(hard) <= trig64.LIMIT
    assert _correctly_rounded(hard[fast], got[fast]).all()
    assert (got[~fast] == np.array([math.tan(v) for v in hard[~fast]])).all()


def test_the_tan_tables_are_what_their_docstring_says():
    with localcontext() as context:
        context.prec = 60
        pi = Decimal(trig64._PI)
        table, rests = trig64._tan_tables()
        assert table[8] == trig64.TAN_POLE and rests[8] == 0
        for j in set(range(16)) - {8}:
            sine, cosine = trig64._sin_cos(pi * j / 16)
            exact = sine / cosine
            assert abs(Decimal(table[j]) - exact) <= Decimal(math.ulp(table[j])) / 2 + Decimal(2) ** -150
            assert abs(Decimal(table[j]) + Decimal(rests[j]) - exact) < Decimal(2) ** -100
