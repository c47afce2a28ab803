"""Hypothesis strategies and the NumPy oracle for differential tests.

An expression is drawn as a small tree over the op table, rendered to text for
``fusenum.evaluate`` and evaluated eagerly by :func:`oracle` with Python's own
operators and NumPy's functions -- exactly what NumPy code would compute.
Operands are drawn with every dtype fusenum supports, shapes that broadcast
(including 0-d and empty), and every memory layout (C, Fortran, reversed,
strided, transposed, byte-swapped, unaligned).
"""
from __future__ import annotations

import operator
import warnings
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from fusenum.ir.ops import BINARY_SYMBOLS, FUNCTIONS, UNARY_SYMBOLS
from fusenum.ir.typing import MAX_CONSTANT_BITS, SUPPORTED

DTYPES = [np.dtype(c) for c in "?bhilqBHILQefdFD"]
LAYOUTS = ["C", "F", "reversed", "strided", "transposed", "swapped", "unaligned"]

PY_OPERATORS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "<<": operator.lshift,
    ">>": operator.rshift, "&": operator.and_, "|": operator.or_, "^": operator.xor,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}
UNARY_OPERATORS = {"-": operator.neg, "+": operator.pos, "~": operator.invert}


def _complex(re, im):
    """``complex(re, im)``: NumPy has no such function; this builds it from the parts exactly
    (``re + 1j*im`` would not: ``1j*inf`` is ``nan+infj``)."""
    if all(type(v) in (bool, int, float) for v in (re, im)):
        return complex(re, im)
    if any(np.asarray(v).dtype.kind == "c" for v in (re, im)):
        raise TypeError("complex(re, im) takes real arguments")
    dtype = np.result_type(re, im, np.complex64)  # Python scalars stay weak here
    re, im = np.asarray(re), np.asarray(im)
    out = np.empty(np.broadcast_shapes(re.shape, im.shape), dtype)
    out.real, out.imag = re, im
    return out if out.ndim else out[()]


def _equal_zeros_pick(fn):
    """``np.fmax``/``np.fmin``, with NumPy's ``maximum`` choice where the arguments are equal
    (the second argument for float32/float64, the first for float16). NumPy's own fmax
    leaves that to C's ``fmax``, whose choice between +0.0 and -0.0 is unspecified: its
    vector loop and its scalar tail differ, so its answer depends on the element's position."""
    def picked(a, b):
        result = fn(a, b)
        a_, b_, r = np.asarray(a), np.asarray(b), np.asarray(result)
        if r.dtype.kind not in "fc":
            return result
        first = r.dtype == np.float16
        tie = np.asarray(a_ == b_) & ~np.isnan(a_) if r.dtype.kind == "f" else False
        chosen = np.where(tie, a_ if first else b_, r).astype(r.dtype)
        return chosen if chosen.ndim else chosen[()]
    return picked


def _clip(x, low, high):
    """``np.clip`` itself. Which of ``x`` and a bound wins a tie (+0.0 against -0.0) is NumPy's
    loop's choice, which fusenum follows (see codegen/rules/floats.py), except in a one-element
    call with array bounds: there NumPy's choice depends on whether its iterator buffers (a
    ``(1, 1)`` bool ``x`` gives +0.0 where a ``(1,)`` one gives -0.0), so such a zero is not compared."""
    result = np.clip(x, low, high)
    r = np.asarray(result)
    if r.dtype.kind == "f" and r.size == 1 and (np.ndim(low) or np.ndim(high)) and (r == 0).all():
        raise Inexact()
    return result


def contiguous_abs(x):
    """``abs(x)``, a complex array's computed on a contiguous copy: NumPy's last bit depends on the
    layout there (its vector loop, or on a reversed view another loop: ``|8.2161818-0.5227485j|`` in
    complex64 is 8.232794 or 8.232795), and fusenum gives the contiguous answer for every layout."""
    if isinstance(x, np.ndarray) and x.dtype.kind == "c":
        return abs(x.copy(order="C"))  # (np.ascontiguousarray would make a 0-d array 1-d)
    return abs(x)


def contiguous_absolute(x):
    """``np.absolute(x)``, a complex array's computed on a contiguous copy (see :func:`contiguous_abs`;
    a Python scalar stays NumPy's: ``absolute(False)`` is ``False``, where Python's ``abs`` gives 0)."""
    if isinstance(x, np.ndarray) and x.dtype.kind == "c":
        return np.absolute(x.copy(order="C"))
    return np.absolute(x)


def numexpr_contains(haystack, needle) -> np.ndarray:
    """numexpr's ``contains`` (NumPy has none): both bytes operands read up to their first NUL,
    then a substring test; a TypeError for other operands, as fusenum's typing gives."""
    haystack, needle = np.asarray(haystack), np.asarray(needle)
    if haystack.dtype.kind != "S" or needle.dtype.kind != "S":
        raise TypeError(f"contains() of {haystack.dtype}, {needle.dtype}")
    return np.vectorize(lambda h, n: n.split(b"\0")[0] in h.split(b"\0")[0], otypes=[bool])(haystack, needle)


# NumPy's eager meaning of each function name usable in expressions: the row's NumPy function,
# except where NumPy leaves a choice open (see above) or the name is Python's.
FUNCTION_ORACLES = {name: op.numpy for name, op in FUNCTIONS.items() if op.numpy is not None}
FUNCTION_ORACLES.update({"abs": contiguous_abs, "absolute": contiguous_absolute, "clip": _clip, "complex": _complex, "contains": numexpr_contains,
                         "fmax": _equal_zeros_pick(np.fmax), "fmin": _equal_zeros_pick(np.fmin)})

assert set(PY_OPERATORS) == set(BINARY_SYMBOLS) and set(UNARY_OPERATORS) == set(UNARY_SYMBOLS)
assert set(FUNCTION_ORACLES) == set(FUNCTIONS)

# The op table says which functions may differ from NumPy in the last bits (``Op.ulp``): the
# ULP-bounded tests cover them (tests/codegen/test_mathlib.py); random expressions use the exact ones.
INEXACT_FUNCTIONS = frozenset(name for name, op in FUNCTIONS.items() if not op.exact)
EXACT_FUNCTIONS = sorted(set(FUNCTIONS) - INEXACT_FUNCTIONS)


def special_values(dtype: np.dtype) -> np.ndarray:
    """Values where implementations tend to differ: limits, zeros, signs, NaN, inf."""
    if dtype.kind == "c":
        part = special_values(np.dtype(f"f{dtype.itemsize // 2}"))
        picks = np.random.default_rng(0).integers(0, len(part), (40, 2))
        return (part[picks[:, 0]] + 1j * 0).astype(dtype) + _imaginary(part[picks[:, 1]], dtype)
    if dtype.kind == "b":
        return np.array([False, True])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = [0, 1, 2, 3, 7, info.max, info.max - 1, info.min, info.min + 1]
        if dtype.kind == "i":
            values += [-1, -2, -3, -7]
        return np.array(values, dtype=dtype)
    info = np.finfo(dtype)
    with np.errstate(over="ignore"):  # 2**24 + 1 is inf in float16
        return np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, np.inf, -np.inf, np.nan, info.max, -info.max,
                         info.tiny, info.smallest_subnormal, 1e-3, 123.456, 2.0**24 + 1], dtype=dtype)


def _imaginary(parts: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Complex numbers with imaginary parts ``parts`` and real parts +0.0 (no arithmetic on inf/nan)."""
    out = np.zeros(parts.shape, dtype)
    out.imag = parts
    return out


def random_values(dtype: np.dtype, shape, seed: int) -> np.ndarray:
    """C-ordered values of ``dtype``: mostly ordinary numbers, with special ones mixed in."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape, dtype=np.int64))
    if dtype.kind == "c":
        part = np.dtype(f"f{dtype.itemsize // 2}")
        values = np.empty(size, dtype)
        values.real = random_values(part, (size,), seed + 1)
        values.imag = random_values(part, (size,), seed + 2)
        return values.reshape(shape)
    if dtype.kind == "b":
        values = rng.integers(0, 2, size).astype(bool)
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        small = rng.integers(max(info.min, -20), min(info.max, 20), size, endpoint=True)
        wide = rng.integers(info.min, info.max, size, dtype=dtype, endpoint=True)
        values = np.where(rng.random(size) < 0.7, small, wide).astype(dtype)
    else:
        with np.errstate(over="ignore"):
            values = (rng.standard_normal(size) * rng.choice([1.0, 10.0, 1e5], size)).astype(dtype)
    specials = special_values(dtype)
    mask = rng.random(size) < 0.25
    values[mask] = rng.choice(specials, mask.sum())
    return values.reshape(shape)


def with_layout(values: np.ndarray, layout: str) -> np.ndarray:
    """An array equal to ``values`` but laid out in memory as ``layout`` says."""
    if values.ndim == 0 and layout not in ("swapped", "unaligned"):
        return values.copy()
    if layout == "C":
        return np.ascontiguousarray(values)
    if layout == "F":
        return np.asfortranarray(values)
    if layout == "reversed":
        flipped = np.ascontiguousarray(values[(slice(None, None, -1),) * values.ndim])
        return flipped[(slice(None, None, -1),) * values.ndim]
    if layout == "strided":
        wide = np.zeros(values.shape[:-1] + (2 * values.shape[-1],), values.dtype)
        wide[..., ::2] = values
        return wide[..., ::2]
    if layout == "transposed":
        return np.ascontiguousarray(values.T).T
    if layout == "swapped":
        return values.astype(values.dtype.newbyteorder())
    if layout == "unaligned":
        if values.dtype.itemsize == 1:
            return values.copy()
        raw = np.zeros(values.nbytes + 1, np.uint8)[1:]
        unaligned = raw.view(values.dtype).reshape(values.shape)
        unaligned[...] = values
        return unaligned
    raise AssertionError(layout)


@st.composite
def shapes(draw, max_dims: int = 3) -> tuple[int, ...]:
    ndim = draw(st.integers(0, max_dims))
    outer = [draw(st.integers(0, 5)) for _ in range(ndim - 1)]
    # Only the innermost dimension gets long enough to exercise vector loops and tails.
    inner = [draw(st.one_of(st.integers(0, 5), st.sampled_from([7, 17, 33, 67, 130])))] if ndim else []
    return tuple(outer + inner)


@st.composite
def broadcastable(draw, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts to ``shape``: leading dims dropped, some dims set to 1."""
    drop = draw(st.integers(0, len(shape)))
    return tuple(1 if draw(st.integers(0, 3)) == 0 else n for n in shape[drop:])


@st.composite
def array_operands(draw, shape, dtypes=DTYPES) -> np.ndarray:
    dtype = draw(st.sampled_from(dtypes))
    own_shape = draw(broadcastable(shape))
    values = random_values(dtype, own_shape, draw(st.integers(0, 2**32 - 1)))
    return with_layout(values, draw(st.sampled_from(LAYOUTS)))


@st.composite
def scalar_operands(draw):
    """A Python scalar bound to a name (weakly typed, like in NumPy)."""
    return draw(st.one_of(st.integers(-5, 300), st.sampled_from([0.5, -2.0, 3.25, 0.0, -0.0]),
                          st.booleans(), st.sampled_from([1j, 0.5 - 2j, -0.0 + 0j])))


LITERALS = st.one_of(st.integers(-3, 9), st.sampled_from([127, 128, 255, 256, -129, 2**31, 2**40]),
                     st.sampled_from([0.5, 2.0, -1.0, 1.5, 0.0, -0.0, 1e10]), st.booleans(),
                     st.sampled_from([2j, 1.5 - 1j]))


@dataclass(frozen=True)
class Tree:
    """An expression tree: ``kind`` is name/literal/unary/binary/call."""

    kind: str
    value: object = None
    children: tuple = ()

    def text(self) -> str:
        if self.kind == "name":
            return self.value
        if self.kind == "literal":
            text = repr(self.value)
            # "-2 ** x" is -(2 ** x) in Python: negative literals need parentheses.
            return f"({text})" if text.startswith("-") else text
        args = [c.text() for c in self.children]
        if self.kind == "unary":
            return f"({self.value}{args[0]})"
        if self.kind == "binary":
            return f"({args[0]} {self.value} {args[1]})"
        return f"{self.value}({', '.join(args)})"


def trees(names: list[str], max_leaves: int = 8):
    leaves = st.one_of(st.sampled_from(names).map(lambda n: Tree("name", n)),
                       LITERALS.map(lambda v: Tree("literal", v)))

    def extend(children):
        unary = st.builds(lambda s, c: Tree("unary", s, (c,)), st.sampled_from(sorted(UNARY_OPERATORS)),
                          children)
        binary = st.builds(lambda s, l, r: Tree("binary", s, (l, r)), st.sampled_from(sorted(PY_OPERATORS)),
                           children, children)
        calls = [st.builds(lambda n, *args: Tree("call", n, args),
                           st.sampled_from([n for n in EXACT_FUNCTIONS if FUNCTIONS[n].arity == arity]),
                           *[children] * arity) for arity in (1, 2, 3)]
        return st.one_of(unary, binary, binary, *calls)

    return st.recursive(leaves, extend, max_leaves=max_leaves)


@st.composite
def expressions(draw, max_names: int = 4):
    """(text, values) for a random expression over random operands."""
    shape = draw(shapes())
    count = draw(st.integers(1, max_names))
    values = {}
    for i in range(count):
        name = "abcdefgh"[i]
        kind = draw(st.integers(0, 9))
        if kind == 0:
            values[name] = draw(scalar_operands())
        else:
            values[name] = draw(array_operands(shape))
    tree = draw(trees(list(values)))
    return tree, values


class Inexact(Exception):
    """The oracle computed pow() on floats, whose last bit may differ between libraries."""


class UnsupportedValue(Exception):
    """A step of the oracle's computation with arrays computed in a dtype fusenum does not support
    (NumPy's ``clip`` of an integer beyond 64 bits, an object array): fusenum raises
    ``UnsupportedDTypeError`` there, in NumPy's order, even where a later step of NumPy's fails."""


class NumpyWouldCrash(Inexact):
    """The reference computation would crash this NumPy (see :func:`refuse_crashing_comparison`)."""


#: NumPy before 2.2.2 may crash comparing an integer array with a Python int outside its dtype's
#: range (a chunked inner loop jumps to a bad address): a non-contiguous 2-D uint16 array ``<= -2``
#: crashed within 100,000 tries under NumPy 2.0.0, 2.0.1, 2.0.2, 2.1.0, 2.1.3, 2.2.0 and 2.2.1,
#: never under 2.2.2, 2.2.3, 2.2.6, 2.3.0, 2.3.5 and 2.4 (numpy/numpy#28117 is the same crash
#: reached through ``np.isin``). fusenum's own code never asks NumPy for such a comparison.
NUMPY_CRASHES_ON_OUT_OF_RANGE_COMPARISONS = np.lib.NumpyVersion(np.__version__) < "2.2.2"
#: The comparisons, as operator symbols and as ufuncs: the op table's rows that compare with a
#: Python int by its value (``weak_cast="compare"``), the rule whose NumPy loops crash.
COMPARISONS = {key for symbol, op in BINARY_SYMBOLS.items() if op.weak_cast == "compare"
               for key in (symbol, op.ufunc)}


def refuse_crashing_comparison(comparison, args) -> None:
    """Raise :class:`NumpyWouldCrash` if ``comparison`` (a symbol or a ufunc) of ``args`` is one
    that crashes this NumPy: an integer array against a Python int beyond its dtype's range."""
    if not NUMPY_CRASHES_ON_OUT_OF_RANGE_COMPARISONS or comparison not in COMPARISONS:
        return
    arrays = [a for a in args if isinstance(a, np.ndarray) and a.dtype.kind in "iu"]
    for value in (a for a in args if type(a) is int):
        if any(not np.iinfo(a.dtype).min <= value <= np.iinfo(a.dtype).max for a in arrays):
            raise NumpyWouldCrash()


def oracle(tree: Tree, values: dict):
    """What NumPy computes for ``tree``, evaluated eagerly (raises what NumPy raises)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.asarray(_eval(tree, values))


_EXACT_POWERS = (2, -1, 0.5)


def _eval(tree: Tree, values: dict):
    if tree.kind == "name":
        return values[tree.value]
    if tree.kind == "literal":
        return tree.value
    args = [_eval(c, values) for c in tree.children]
    if any(isinstance(a, np.ndarray) for a in args):
        # fusenum computes everything involving an array in its loop, as NumPy does for
        # arrays; NumPy turns 0-d results into scalars, whose arithmetic (complex * and abs)
        # is not its loops' (see README): keep such results arrays.
        result = _apply(tree, args)
        # (a 0-d object result comes back as the Python object itself: ``clip(2**127, b, b)`` of
        # 0-d bools gives True)
        dtype = result.dtype if isinstance(result, (np.ndarray, np.generic)) else np.dtype(object)
        if dtype.newbyteorder("=") not in SUPPORTED:
            raise UnsupportedValue(dtype)
        return np.asarray(result)
    return _apply(tree, args)


def _apply(tree: Tree, args: list):
    if tree.kind == "unary":
        return UNARY_OPERATORS[tree.value](*args)
    if tree.kind == "binary":
        _refuse_huge_ints(tree.value, args)
        refuse_crashing_comparison(tree.value, args)
        result = PY_OPERATORS[tree.value](*args)
        if tree.value == "**" and np.asarray(result).dtype.kind == "f":
            exponent = np.asarray(args[1])
            if not (exponent.size == 1 and exponent.ravel()[0] in _EXACT_POWERS) and np.asarray(args[0]).size:
                raise Inexact()
        return result
    return FUNCTION_ORACLES[tree.value](*args)


def _refuse_huge_ints(symbol: str, args) -> None:
    """fusenum's documented limit: folding never builds an int of more than MAX_CONSTANT_BITS bits
    (Python would spend minutes or gigabytes on ``9 ** 2**40``)."""
    if symbol not in ("**", "<<") or not all(type(a) in (int, bool) for a in args):  # (True << n is int arithmetic)
        return
    base, exponent = args
    if symbol == "**" and abs(base) > 1 and exponent > 0:
        bits = exponent * (abs(base).bit_length() - 1)
    elif symbol == "<<" and base and exponent > 0:
        bits = exponent + base.bit_length()
    else:
        return
    if bits > MAX_CONSTANT_BITS:
        raise OverflowError("integer constant too large")


def assert_same(expected, got) -> None:
    """Identical dtype up to byte order, shape and values (floats bit for bit, NaN matching NaN).

    Byte order is the caller's to check: fusenum returns native-endian arrays, like
    every NumPy operation, but ``out=`` may be byte-swapped, and a bare name
    (``"a"``) gives NumPy's oracle the input's own dtype.
    """
    expected = np.asarray(expected)
    assert isinstance(got, np.ndarray), type(got)
    assert got.dtype.newbyteorder("=") == expected.dtype.newbyteorder("="), (got.dtype, expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if expected.dtype.kind == "c":
        assert_same(expected.real, got.real)
        assert_same(expected.imag, got.imag)
    elif expected.dtype.kind == "f":
        nan = np.isnan(expected)
        assert np.array_equal(nan, np.isnan(got)), "NaN positions differ"
        bits = f"u{expected.dtype.itemsize}"
        e, g = expected[~nan].astype(expected.dtype.newbyteorder("=")), got[~nan].astype(expected.dtype.newbyteorder("="))
        mismatch = e.view(bits) != g.view(bits)
        assert not mismatch.any(), f"values differ: expected {e[mismatch][:5]}, got {g[mismatch][:5]}"
    else:
        assert np.array_equal(expected, got), f"values differ:\n{expected}\n{got}"
