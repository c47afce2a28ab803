"""Random expressions through the real numexpr and ``fusenum.numexpr``: the same dtype, the same
values (bit for bit for arithmetic, within a ULP bound for transcendental functions and powers) and
the same exception type (or a fusenum subclass of it).

Expressions are drawn over numexpr's operators and functions (not NumPy's), with operands of every
dtype numexpr accepts in every layout (tests/strategies.py), Python scalars bound to names and
literals: one operation at a time (every operator and function gets its share of the examples),
random trees of exact operations, a transcendental function or power of such trees, and bytes
arrays once fusenum's core has them. numexpr's own rewrites are its semantics and are compared bit
for bit (``x / 3.0`` is ``x * (1/3.0)``, ``x ** 3`` is ``x * x * x``). Left out, narrowly:

* an integer ``%`` or ``//`` by zero, or of the smallest integer by -1: it kills numexpr's process
  (SIGFPE), so such divisors are made 1 (or the draw rejected) before numexpr runs them (:func:`_defused`);
* a function of constants whose NumPy result is an array (``copy(0)``), or a str constant beside a
  bytes one: numexpr's compiler fails with a TypeError (:func:`_numexpr_bug`);
* ordering bytes of 0x80 and up (numexpr: signed C ``char`` on x86), or against an empty constant
  (:func:`_numexpr_misorders`);
* the shape of a result with an empty operand: numexpr's, or NumPy's broadcast shape
  (:func:`_same_dtype_and_shape`);
* numexpr's complex ``abs`` and ``sqrt``, and powers of floats and complex numbers, use its
  own formulas, an ULP or more off (and wrong at infinities): the exact tests reject draws with one
  below the root; the ULP-bounded test puts them at the root and accepts, element by element,
  numexpr's answer within the bound or, where numexpr's is further than the bound from NumPy's,
  NumPy's within the bound;
* shifts, when the installed numexpr is older than 2.14.2: those leave a count outside the bit width
  to the C compiler (x86 masks it, so ``1 << 33`` is 2), where 2.14.2 and ``fusenum.numexpr`` give 0.
"""
from __future__ import annotations

import functools
import importlib.util
import math
import sys
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from packaging.version import Version

import fusenum
from fusenum import numexpr as fusenum_numexpr
from fusenum.ir.ops import OPS

from ..strategies import (LAYOUTS, LITERALS, Tree, array_operands, assert_same, broadcastable, scalar_operands,
                          shapes, with_layout)
from ..ulp import ulp_distance

numexpr = pytest.importorskip("numexpr")

UNARY = ("-", "+", "~")
SHIFTS_DEFINED = Version(numexpr.__version__) >= Version("2.14.2")
BINARY = ("+", "-", "*", "/", "//", "%", "**", *(("<<", ">>") if SHIFTS_DEFINED else ()),
          "&", "|", "^", "<", "<=", ">", ">=", "==", "!=")
# numexpr's functions whose results are exact (IEEE-defined, or defined by numexpr's own typing).
EXACT_FUNCTIONS = {
    1: ("abs", "sqrt", "ceil", "floor", "round", "trunc", "sign", "real", "imag", "conj",
        "isnan", "isfinite", "isinf", "signbit", "copy", "ones_like"),
    2: ("fmod", "nextafter", "copysign", "maximum", "minimum", "complex"),
    3: ("where",),
}
TRANSCENDENTAL = {
    1: ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
        "arctanh", "exp", "expm1", "log", "log1p", "log10", "log2"),
    2: ("arctan2", "hypot"),
}
# Roots of the ULP-bounded test, with NumPy's meaning of each (the fallback reference).
INEXACT_ROOTS = {name: getattr(np, name) for names in TRANSCENDENTAL.values() for name in names}
INEXACT_ROOTS.update({"**": np.power, "abs": np.abs, "sqrt": np.sqrt})
# Exact on some kinds only (see _approximate): these are also roots of the ULP-bounded test.
APPROXIMATE = ("**", "abs", "sqrt")
# fusenum is within its op table's bound of NumPy; numexpr's libm is within about as much again.
ULP_BOUND = 2 * OPS["sin"].ulp


@dataclass(frozen=True)
class NumexprTree(Tree):
    """A :class:`Tree` that may also be numexpr's ``x.real`` / ``x.imag`` (kind ``attribute``)."""

    def text(self) -> str:
        if self.kind == "attribute":
            text = self.children[0].text()
            return f"({text}).{self.value}" if self.children[0].kind == "literal" else f"{text}.{self.value}"
        return super().text()

    def has_names(self) -> bool:
        return self.kind == "name" or any(c.has_names() for c in self.children)

    def nodes(self):
        """Every subtree, children before their parents."""
        for child in self.children:
            yield from child.nodes()
        yield self


def _unfolded(tree: NumexprTree, name: str) -> NumexprTree:
    """``tree``, with its first child replaced by the name ``name`` where numexpr would fold it into a
    constant with Python's own arithmetic: a power or shift of two constants (``9 ** 2**40`` takes
    Python minutes and gigabytes), or a ``where`` of a constant condition (which folds into one of
    its branches, which a power may fold further)."""
    args = tree.children
    folds = (tree.kind == "binary" and tree.value in ("**", "<<") and not any(c.has_names() for c in args)) or (
        tree.kind == "call" and tree.value == "where" and not args[0].has_names())
    return NumexprTree(tree.kind, tree.value, (NumexprTree("name", name),) + args[1:]) if folds else tree


def _leaves(names: tuple[str, ...], name_weight: int = 1):
    """A name (``name_weight`` times as likely as otherwise) or a literal."""
    named = st.sampled_from(names).map(lambda n: NumexprTree("name", n))
    return st.one_of(*[named] * name_weight, LITERALS.map(lambda v: NumexprTree("literal", v)))


def _operations(names: tuple[str, ...], children):
    """One operator, attribute or exact function of ``children``."""
    unary = st.builds(lambda s, c: NumexprTree("unary", s, (c,)), st.sampled_from(UNARY), children)
    binary = st.builds(lambda s, a, b: _unfolded(NumexprTree("binary", s, (a, b)), names[0]),
                       st.sampled_from(BINARY), children, children)
    attribute = st.builds(lambda s, c: NumexprTree("attribute", s, (c,)), st.sampled_from(["real", "imag"]),
                          children)
    calls = [st.builds(lambda n, *args: _unfolded(NumexprTree("call", n, args), names[0]),
                       st.sampled_from(EXACT_FUNCTIONS[arity]), *[children] * arity) for arity in EXACT_FUNCTIONS]
    return st.one_of(unary, binary, binary, attribute, *calls)


@functools.lru_cache(maxsize=None)
def exact_trees(names: tuple[str, ...], max_leaves: int = 8):
    """Expressions over numexpr's operators and exact functions (one strategy per set of names:
    building it is most of the cost of a draw)."""
    return st.recursive(_leaves(names), functools.partial(_operations, names), max_leaves=max_leaves)


@st.composite
def operands(draw, max_names: int = 4) -> dict:
    """Arrays of every dtype and layout broadcasting together, and now and then a Python scalar;
    mostly of eight elements or more (hypothesis' shapes are mostly 0-d or of one element)."""
    shape = draw(st.one_of(shapes(), *[shapes().filter(lambda s: math.prod(s) >= 8)] * 3))
    return {"abcd"[i]: draw(scalar_operands()) if draw(st.integers(0, 9)) == 0 else draw(array_operands(shape))
            for i in range(draw(st.integers(1, max_names)))}


@st.composite
def exact_cases(draw):
    values = draw(operands())
    return draw(exact_trees(tuple(values))), values


@st.composite
def inexact_cases(draw, root: str):
    """``root`` (a transcendental function, a power, ``abs``, ``sqrt`` or ``sign``) of
    exact expressions."""
    values = draw(operands(max_names=3))
    arity = 2 if root == "**" or root in TRANSCENDENTAL[2] else 1
    args = tuple(draw(exact_trees(tuple(values), max_leaves=3)) for _ in range(arity))
    return _unfolded(NumexprTree("binary" if root == "**" else "call", root, args), "a"), values


def run(module, tree: NumexprTree, values: dict):
    """``module.evaluate(tree)``: ``(np.ndarray, None)`` or ``(None, exception)``."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return module.evaluate(tree.text(), local_dict=dict(values)), None
        except Exception as exc:  # noqa: BLE001 -- numexpr's error is the expected answer
            return None, exc


def _divides_into_a_trap(tree: NumexprTree, results: dict) -> bool:
    """An integer ``%`` or ``//`` whose divisor has a zero, or -1 against the smallest integer: numexpr
    computes it with C's ``%`` and ``/``, which trap (SIGFPE) there."""
    if not (tree.kind == "binary" and tree.value in ("%", "//")):
        return False
    a, b = (np.asarray(results[c]) for c in tree.children)
    kind = np.result_type(a, b)
    if kind.kind not in "iu":
        return False
    a, b = np.broadcast_arrays(a, b)
    smallest = np.iinfo(a.dtype).min if a.dtype.kind == "i" else None
    return bool((b == 0).any() or (smallest is not None and ((a == smallest) & (b == -1)).any()))


def _hazards(tree: NumexprTree, values: dict) -> tuple[NumexprTree | None, set]:
    """``(trap, approximate)`` for ``tree`` under the real numexpr, found by running each subtree
    through it, children first, so that no trapping subtree ever runs: the first division that may
    trap, and the subtrees numexpr computes approximately (see the module docstring). A subtree
    numexpr refuses on its own may still work inside ``tree`` (``arccos(copy(0))`` but not
    ``copy(0)``): what is above it counts as approximate, and as trapping if it divides."""
    results, approximate = {}, set()
    for node in tree.nodes():
        if node in results:
            continue
        unknown = any(results[c] is None for c in node.children)
        divides = node.kind == "binary" and node.value in ("%", "//")
        if divides and (unknown or _divides_into_a_trap(node, results)):
            return node, approximate
        results[node], _ = run(numexpr, node, values)
        if results[node] is not None and (unknown or _approximate(node, results[node], results)):
            approximate.add(node)
    return None, approximate


def _defused(tree: NumexprTree, values: dict) -> tuple[dict, set]:
    """``values``, with 1 for the zeros and -1s of a divisor numexpr would trap on, and the subtrees
    numexpr computes approximately. Random integers have zeros: rejecting every such draw would leave
    integer ``%`` and ``//`` almost untested. Draws it cannot defuse (a divisor that is not a name
    bound to an array) are rejected."""
    for _ in range(3):
        trap, approximate = _hazards(tree, values)
        if trap is None:
            return values, approximate
        divisor = trap.children[1]
        assume(divisor.kind == "name" and isinstance(values[divisor.value], np.ndarray))
        safe = values[divisor.value].copy(order="K")
        with np.errstate(invalid="ignore"):  # (a divisor numexpr refused may be complex, or NaN)
            whole = np.real(safe).astype(np.int64, casting="unsafe")
        safe[(safe == 0) | (whole == -1)] = 1
        values = {**values, divisor.value: safe}
    assume(False)


def _numexpr_bug(error: Exception | None) -> bool:
    """A TypeError from inside numexpr's compiler: it folds a function of constants whose NumPy result
    is an array (``copy(0)``, ``ones_like(1)``) into a constant it cannot hash, and it sorts its
    constants with NumPy's ``<``, which refuses a str constant beside a bytes one
    (``(s == 'ab') | (s == b'a')``); a ValueError where a bytes result has no width (``b'' + b''``:
    fusenum.numexpr returns no bytes results at all, see the README)."""
    if isinstance(error, ValueError):
        return str(error) == "data type must provide an itemsize"
    message = str(error) if isinstance(error, TypeError) else ""
    unsortable = "ufunc 'less'" in message and "BytesDType" in message and "StrDType" in message
    return unsortable or "unhashable type: 'numpy.ndarray'" in message


def _merges_signed_zeros(tree: NumexprTree) -> bool:
    """Whether numexpr would merge two of the expression's constants: it collects them by value,
    so ``0`` and ``-0.0`` (equal numbers) become one register, and ``complex(a + (-0.0), 0)``
    has an imaginary part of -0.0 there. fusenum.numexpr keeps each constant's sign. Python
    computes ``(1).imag`` before numexpr sees it: a constant 0 too."""
    zeros = set()
    for node in tree.nodes():
        value = _literal_exponent(node)
        if value is None and node.kind == "literal" and type(node.value) in (bool, complex):
            value = node.value
        if value is None and node.kind == "attribute" and node.children[0].kind == "literal" \
                and type(node.children[0].value) in (bool, int, float, complex):
            value = getattr(node.children[0].value, node.value)
        if value is not None and value == 0:
            value = complex(value)
            zeros.add((math.copysign(1.0, value.real), math.copysign(1.0, value.imag)))
    return len(zeros) > 1


def _approximate(node: NumexprTree, result: np.ndarray, results: dict) -> bool:
    if node.kind not in ("binary", "call") or node.value not in APPROXIMATE:
        return False
    kinds = [np.asarray(results[c]).dtype for c in node.children]
    if node.value == "**":
        return result.dtype.kind in "fc"
    return result.dtype.kind == "c" or kinds[0].kind == "c"


def _same_error(expected: Exception, got: Exception | None) -> None:
    event(f"numexpr raises {type(expected).__name__}")
    assert got is not None, f"numexpr raised {expected!r}, fusenum.numexpr returned a result"
    same = type(got) is type(expected) or (isinstance(got, fusenum.FusenumError) and isinstance(got, type(expected)))
    assert same, f"numexpr raised {expected!r}, fusenum.numexpr {got!r}"


def _same_dtype_and_shape(expected: np.ndarray, got: np.ndarray | None, got_error: Exception | None,
                          tree: NumexprTree, values: dict) -> np.ndarray:
    """numexpr's dtype and shape -- except that, given an empty operand, numexpr returns that operand's
    own shape instead of the broadcast one (``zeros(0) + zeros((3, 1))`` is ``(0,)``): there it is
    NumPy's broadcast shape. Returns what to compare ``got`` with."""
    assert got_error is None, f"numexpr returned {expected.dtype}, fusenum.numexpr raised {got_error!r}"
    event(f"numexpr returns {expected.dtype}")
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    if expected.size == 0 and got.shape != expected.shape:
        names = {node.value for node in tree.nodes() if node.kind == "name"}
        expected = np.empty(np.broadcast_shapes(*(np.shape(values[n]) for n in names)), expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    return expected


def _real_numexpr_is_loaded() -> None:
    """``fusenum.numexpr.install()`` makes ``import numexpr`` give fusenum's module: this test needs
    the real one."""
    assert numexpr.evaluate is not fusenum_numexpr.evaluate and "fusenum" not in numexpr.__version__, (
        "the real numexpr is not loaded", sys.modules.get("numexpr"))


# One operation at a time, each with its share of the examples: every operator and function meets
# many pairs of dtypes and layouts, which random trees leave to chance.
OPERATIONS = ([("unary", s, 1) for s in UNARY] + [("binary", s, 2) for s in BINARY]
              + [("attribute", s, 1) for s in ("real", "imag")]
              + [("call", name, arity) for arity, names in EXACT_FUNCTIONS.items() for name in names])
PER_OPERATION = settings(max_examples=max(1, settings().max_examples // 5))


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op[0]}{op[1]}")
@PER_OPERATION
@given(data=st.data())
def test_operations_match_numexpr(operation, data):
    values = data.draw(operands(max_names=3))
    kind, symbol, arity = operation
    args = tuple(data.draw(_leaves(tuple(values), name_weight=4)) for _ in range(arity))
    _compare_exactly(_unfolded(NumexprTree(kind, symbol, args), "a"), values)


@given(exact_cases())
def test_exact_expressions_match_numexpr(case):
    _compare_exactly(*case)


def _compare_exactly(tree: NumexprTree, values: dict, numbers: bool = True) -> None:
    """Bit for bit (``numbers``: after the hazards of numeric expressions are ruled out)."""
    _real_numexpr_is_loaded()
    if numbers:
        values, approximate = _defused(tree, values)
        assume(not approximate)
    results = _results(tree, values)
    if results is not None:
        assert_same(*results)


def _results(tree: NumexprTree, values: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """numexpr's and fusenum.numexpr's results to compare (their dtypes and shapes already compared),
    or None where numexpr raises (and fusenum raised the same)."""
    expected, error = run(numexpr, tree, values)
    assume(not _numexpr_bug(error) and not _merges_signed_zeros(tree))
    got, got_error = run(fusenum_numexpr, tree, values)
    # fusenum refuses a complex function the installed NumPy computes with other code than the C
    # library's (NumPy 2.2 and older: the README's "Math library"), where numexpr answers
    assume(not (isinstance(got_error, NotImplementedError) and "the installed NumPy" in str(got_error)))
    if error is not None:
        _same_error(error, got_error)
        return None
    return _same_dtype_and_shape(expected, got, got_error, tree, values), got


@pytest.mark.parametrize("root", sorted(INEXACT_ROOTS))
@PER_OPERATION
@given(data=st.data())
def test_transcendental_expressions_match_numexpr(root, data):
    _real_numexpr_is_loaded()
    tree, values = data.draw(inexact_cases(root))
    values, approximate = _defused(tree, values)
    assume(approximate <= {tree})  # only the root may be approximate
    results = _results(tree, values)
    if results is None:
        return
    expected, got = results
    if expected.dtype.kind not in "fc":
        assert_same(expected, got)
        return
    reference = _numpy_reference(tree, values, expected.dtype)
    if reference is None:  # numexpr refuses an argument on its own (it folds ``copy(0)`` badly): no fallback
        reference = expected
    for part in (np.real, np.imag) if expected.dtype.kind == "c" else (np.asarray,):
        _within_bound(part(expected), part(got), part(reference), tree.text())


def _literal_exponent(node: NumexprTree) -> float | None:
    """The number a literal stands for under any unary signs (Python folds ``-(0.5)`` into the
    constant ``-0.5`` before numexpr sees it), or None for anything else."""
    sign = 1
    while node.kind == "unary" and node.value in ("-", "+"):
        sign, node = (-sign if node.value == "-" else sign), node.children[0]
    return sign * node.value if node.kind == "literal" and type(node.value) in (int, float) else None


def _half_integral_literal(node: NumexprTree) -> bool:
    """A literal exponent numexpr turns into a ``sqrt`` (a half-integral one, up to 50)."""
    value = _literal_exponent(node)
    return value is not None and abs(value) <= 50 and float(2 * value).is_integer() and not float(value).is_integer()


def _power_by_squaring(base: np.ndarray, _, exponent: float) -> np.ndarray:
    """``base ** exponent`` (half-integral) as numexpr's documented rewrite computes it, in NumPy's
    operations: the product of the squares ``base ** 2**k`` for the bits of ``int(|exponent|)``, in
    increasing order, then times ``sqrt(base)``, then its reciprocal for a negative exponent."""
    factors, square, count = [], base, int(abs(exponent))
    while count:
        if count & 1:
            factors.append(square)
        count >>= 1
        if count:
            square = square * square
    result = functools.reduce(np.multiply, factors + [np.sqrt(base)])
    return 1 / result if exponent < 0 else result


def _numpy_reference(tree: NumexprTree, values: dict, dtype: np.dtype) -> np.ndarray | None:
    """NumPy's function of the root, on numexpr's values of its arguments cast to the result's kind."""
    args = [run(numexpr, c, values)[0] for c in tree.children]
    if any(a is None for a in args):
        return None
    cast = np.complex128 if any(a.dtype.kind == "c" for a in args) else dtype
    function = INEXACT_ROOTS[tree.value]
    if tree.value == "**" and _half_integral_literal(tree.children[1]):
        # numexpr computes these with multiplications and a sqrt, which differ from pow at complex
        # infinities (C99's csqrt(x - inf*j) is inf - inf*j, NumPy's pow(z, 0.5) inf + nan*j)
        function = functools.partial(_power_by_squaring, exponent=_literal_exponent(tree.children[1]))
    with np.errstate(all="ignore"):
        reference = np.asarray(function(*(a.astype(cast) for a in args)))
    # numexpr folds a complex constant with a zero imaginary part into a real one
    return (reference if dtype.kind == "c" else reference.real).astype(dtype)


def _within_bound(expected: np.ndarray, got: np.ndarray, reference: np.ndarray, text: str) -> None:
    """Within ULP_BOUND of numexpr, or of NumPy where numexpr is further than that from NumPy."""
    expected, got, reference = (np.ascontiguousarray(x) for x in (expected, got, reference))
    near_numexpr = ulp_distance(expected, got) <= ULP_BOUND
    numexpr_off = ulp_distance(reference, expected) > ULP_BOUND
    near_numpy = ulp_distance(reference, got) <= ULP_BOUND
    bad = ~(near_numexpr | (numexpr_off & near_numpy))
    assert not bad.any(), (f"{text}: numexpr {expected[bad][:4].tolist()}, fusenum.numexpr {got[bad][:4].tolist()}, "
                           f"NumPy {reference[bad][:4].tolist()}")


# Bytes (S) arrays: fusenum's kernels compare them once the ``bytes`` work has landed in the core
# (fusenum/ir/byte_strings.py); until then fusenum.numexpr refuses them and this test waits.
BYTES_IN_CORE = importlib.util.find_spec("fusenum.ir.byte_strings") is not None
BYTES_LITERALS = st.sampled_from([b"", b"a", b"ab", b"ba", b"b\x00", b"\xff", "ab", "b"])
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")


@st.composite
def bytes_operand(draw, shape: tuple[int, ...]):
    """An S array of ``shape`` (or a shape broadcasting to it) over a tiny alphabet, NULs included
    (inside, at the end, or all of it), in any layout; now and then a Python bytes scalar."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([b"", b"a", b"ab\x00", b"b"]))
    own = draw(broadcastable(shape))
    width = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # 0x80 and up rarely: numexpr orders those differently (see _numexpr_misorders)
    raw = rng.choice(np.array([0, 97, 98, 0x80, 255], np.uint8), int(np.prod(own, dtype=np.int64)) * width,
                     p=[0.3, 0.3, 0.3, 0.05, 0.05])
    return with_layout(raw.view(f"S{width}").reshape(own), draw(st.sampled_from(LAYOUTS)))


@st.composite
def bytes_cases(draw):
    """Comparisons and ``contains`` of S operands, combined with numexpr's boolean operators, now and
    then an operation numexpr refuses on bytes (``+``, a comparison with a number)."""
    shape = draw(shapes())
    values = {name: draw(bytes_operand(shape)) for name in "st"[:draw(st.integers(1, 2))]}
    names = [*values] * 4 + ["x"]  # now and then the number x, which bytes refuse
    values["x"] = draw(array_operands(shape))
    leaf = st.one_of(st.sampled_from(names).map(lambda n: NumexprTree("name", n)),
                     BYTES_LITERALS.map(lambda v: NumexprTree("literal", v)))
    pair = st.tuples(leaf, leaf)
    test = st.one_of(st.builds(lambda op, p: NumexprTree("binary", op, p), st.sampled_from(COMPARISONS), pair),
                     pair.map(lambda p: NumexprTree("call", "contains", p)),
                     st.builds(lambda op, p: NumexprTree("binary", op, p), st.sampled_from(BINARY), pair))

    def extend(children):
        return st.one_of(
            st.builds(lambda op, a, b: NumexprTree("binary", op, (a, b)), st.sampled_from(["&", "|", "==", "!="]),
                      children, children),
            children.map(lambda c: NumexprTree("unary", "~", (c,))),
            st.builds(lambda c: NumexprTree("call", "where", (c, NumexprTree("name", "x"), NumexprTree("literal", 0))),
                      children))

    return draw(st.recursive(test, extend, max_leaves=4)), values


def _numexpr_misorders(tree: NumexprTree, values: dict) -> bool:
    """Whether ``tree`` orders (``<`` ...) bytes where numexpr gets it wrong: a byte of 0x80 or more,
    which numexpr compares as C ``char``, signed on x86 (``b'' < b'\\xff'`` is False there) and
    unsigned elsewhere, while fusenum, like NumPy, compares unsigned bytes everywhere; or an empty
    constant, which numexpr finds greater than any non-empty string (``b'a' < b''`` is True).
    (``==`` and ``!=`` with it are numexpr's: ``b'\\x00a' == b''``.)"""
    def misordered(leaf: NumexprTree) -> bool:
        value = values[leaf.value] if leaf.kind == "name" else leaf.value
        raw = value.encode() if isinstance(value, str) else np.asarray(value).tobytes()
        return any(byte >= 0x80 for byte in raw)

    def empty_constant(leaf: NumexprTree) -> bool:
        return leaf.kind == "literal" and not leaf.value
    return any(node.kind == "binary" and node.value in COMPARISONS[:4] and (
        any(map(empty_constant, node.children)) or any(map(misordered, node.children)))
        for node in tree.nodes())


@pytest.mark.skipif(not BYTES_IN_CORE, reason="fusenum's core has no bytes (S) arrays yet (the bytes branch)")
@given(bytes_cases())
def test_bytes_expressions_match_numexpr(case):
    assume(not _numexpr_misorders(*case))
    _compare_exactly(*case, numbers=False)
