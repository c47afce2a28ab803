"""Bytes (S) arrays in kernels: comparisons are NumPy's, ``contains`` is numexpr's, at every SIMD
level, both tiers, every layout, with broadcasting and threads, fused with numeric operations."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fusenum

from ..strategies import LAYOUTS, broadcastable, numexpr_contains, shapes, with_layout

COMPARISONS = ["==", "!=", "<", "<=", ">", ">="]
# NUL twice as likely: empty strings, trailing and embedded NULs; 0x7f/0x80/0xff: unsigned order.
ALPHABET = np.array([0, 0, 1, ord("a"), ord("b"), 0x7F, 0x80, 0xFF], np.uint8)
ITEMSIZES = [1, 2, 3, 5, 8, 17, 40]


def random_bytes(rng: np.random.Generator, shape, itemsize: int) -> np.ndarray:
    """An S array of ``shape``: random bytes from ALPHABET, each element cut short at a random length."""
    raw = rng.choice(ALPHABET, size=tuple(shape) + (itemsize,))
    lengths = rng.integers(0, itemsize + 1, size=tuple(shape) + (1,))
    raw[np.arange(itemsize) >= lengths] = 0
    return np.ascontiguousarray(raw).view(f"S{itemsize}").reshape(shape)


@st.composite
def bytes_operands(draw, shape):
    itemsize = draw(st.sampled_from(ITEMSIZES))
    values = random_bytes(np.random.default_rng(draw(st.integers(0, 2**32 - 1))), draw(broadcastable(shape)),
                          itemsize)
    return with_layout(values, draw(st.sampled_from(LAYOUTS)))


LITERALS = st.binary(max_size=6).map(lambda raw: raw.replace(b"\2", b"\0")) | st.sampled_from(
    [b"", b"\0", b"a", b"ab\0", b"\xff", b"a" * 33])


@st.composite
def cases(draw):
    """(expression, names, expected result) over bytes arrays (and a float array)."""
    shape = draw(shapes())
    values = {"a": draw(bytes_operands(shape)), "b": draw(bytes_operands(shape)),
              "x": with_layout(np.random.default_rng(draw(st.integers(0, 99))).normal(size=draw(broadcastable(shape))),
                               draw(st.sampled_from(LAYOUTS)))}
    literal = draw(LITERALS)
    k = np.array(literal)  # NumPy's conversion of a bytes constant
    op = draw(st.sampled_from(COMPARISONS))
    compare = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
               ">=": np.greater_equal}[op]
    a, b, x = values["a"], values["b"], values["x"]
    choices = [
        (f"a {op} b", lambda: compare(a, b)),
        (f"a {op} {literal!r}", lambda: compare(a, k)),
        (f"{literal!r} {op} b", lambda: compare(k, b)),
        ("contains(a, b)", lambda: numexpr_contains(a, b)),
        (f"contains(a, {literal!r})", lambda: numexpr_contains(a, k)),
        (f"contains({literal!r}, b)", lambda: numexpr_contains(k, b)),
        (f"(a {op} b) & (x > 0) | contains(b, {literal!r})",
         lambda: compare(a, b) & (x > 0) | numexpr_contains(b, k)),
        (f"where(a {op} b, x, -x)", lambda: np.where(compare(a, b), x, -x)),
    ]
    text, expected = draw(st.sampled_from(choices))
    return text, values, np.asarray(expected())


@settings(max_examples=40)
@given(cases())
def test_bytes_expressions_match_numpy_and_numexpr(simd, tier, case):
    text, values, expected = case
    got = fusenum.evaluate(text, local_dict=values)
    assert got.dtype == expected.dtype and got.shape == expected.shape, (got.dtype, got.shape)
    assert np.array_equal(got, expected), text


@given(st.integers(0, 2**32 - 1), st.sampled_from(ITEMSIZES), st.sampled_from(ITEMSIZES))
def test_contains_is_numpys_find_where_no_element_holds_an_embedded_nul(seed, n, m):
    rng = np.random.default_rng(seed)
    a, b = random_bytes(rng, (50,), n), random_bytes(rng, (50,), m)
    a, b = (np.array([s.replace(b"\0", b"a") for s in x.tolist()], x.dtype) for x in (a, b))
    assert np.array_equal(fusenum.evaluate("contains(a, b)"), np.strings.find(a, b) >= 0)


def test_contains_and_equality_agree_with_numexpr():
    numexpr = pytest.importorskip("numexpr")
    rng = np.random.default_rng(5)
    for n, m in [(1, 1), (3, 5), (8, 2), (17, 40)]:
        a, b = random_bytes(rng, (300,), n), random_bytes(rng, (300,), m)
        for text in ["contains(a, b)", "contains(b, a)", "a == b", "a != b", "contains(a, b'a')", "a == b'a'"]:
            assert np.array_equal(fusenum.evaluate(text), numexpr.evaluate(text)), (text, n, m)


def test_numpys_order_is_unsigned_and_ignores_trailing_nuls():
    a = np.array([b"a", b"a\0", b"\xff", b"a\0b", b""])
    b = np.array([b"a\0\0", b"a", b"a", b"a", b"\0"], "S4")
    assert fusenum.evaluate("a == b").tolist() == [True, True, False, False, True]
    assert fusenum.evaluate("a > b").tolist() == [False, False, True, True, False]
    assert fusenum.evaluate("contains(a, b)").tolist() == [True, True, False, True, True]


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_threads_give_the_same_bits(threads):
    rng = np.random.default_rng(1)
    a, b = random_bytes(rng, (200_003,), 5), random_bytes(rng, (200_003,), 3)
    expected = (a < b) | numexpr_contains(a, b)
    previous = fusenum.set_num_threads(threads)
    try:
        assert np.array_equal(fusenum.evaluate("(a < b) | contains(a, b)"), expected)
    finally:
        fusenum.set_num_threads(previous)


def test_a_comparison_fused_with_numbers_is_one_kernel():
    a = np.array([b"x", b"y", b"x"])
    c = np.array([1.0, 2.0, -1.0])
    fusenum.clear_cache()
    assert fusenum.evaluate("(a == b'x') & (c > 0)").tolist() == [True, False, False]
    assert fusenum.cache_info().misses == 1


def test_a_bytes_value_bound_to_a_name_and_a_0d_array():
    a = np.array([[b"ab", b"b"], [b"", b"abc"]])
    k, zero_d = b"ab", np.array(b"b")
    assert fusenum.evaluate("a >= k").tolist() == (a >= k).tolist()
    assert fusenum.evaluate("contains(a, zero_d)").tolist() == [[True, True], [False, True]]
    assert fusenum.evaluate("zero_d == b'b'").tolist() is True


def test_long_constants_and_wide_elements():
    a = np.array([b"x" * 100 + b"needle", b"x" * 106])
    assert fusenum.evaluate("contains(a, b'needle')").tolist() == [True, False]
    assert fusenum.evaluate("a == " + repr(b"x" * 100 + b"needle")).tolist() == [True, False]
