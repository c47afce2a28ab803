"""numexpr's typing applied to its tree, then fusenum's shared IR.

Each operation of the tree (:mod:`.tree`) gets the first signature numexpr has
an opcode for (:func:`fusenum.numexpr.kinds.signature`); its operands are cast
to that signature's kinds -- an array first to its own kind (int8 to int32,
uint64 wrapping into int64, float16 to float32), then up -- and constants are
converted to it as numexpr converts them. The operation is then built through
fusenum's :class:`~fusenum.ir.typing.Builder` on operands of one dtype, where
NumPy's meaning is numexpr's, so fusion, SIMD, threads, tiers and caches are
fusenum's own. The few opcodes whose meaning differs are built from op-table
rows: ``abs`` of a complex number is a complex number (``sqrt(re*re + im*im)``),
complex ``*`` and ``/`` are the textbook formulas, float ``//`` is
``floor(a / b)`` and ``%`` is ``a - floor(a / b) * b``, integer and complex ``**``
follow numexpr's opcodes, ``round`` of an integer is itself, ``max``/``min``
reductions skip NaN (C's ``fmax``/``fmin``).

A plan template for the runtime's plan cache is :class:`Program`: the parsed
text and the optimization level; typing happens when the runtime builds a
plan for the bound arrays' dtypes.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir import nodes
from ..ir.nodes import Node
from ..ir.operands import NeedsValue
from ..ir.typing import Builder
from . import kinds, tree
from .syntax import Parsed

#: numexpr opcodes and functions computed by the op-table row of another name.
_ROWS = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "true_divide", "floordiv": "floor_divide",
         "mod": "remainder", "pow": "power", "and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor",
         "lshift": "left_shift", "rshift": "right_shift", "eq": "equal", "ne": "not_equal", "gt": "greater",
         "ge": "greater_equal", "neg": "negative", "invert": "invert", "round": "rint"}
_SCALAR = {"bool": np.bool_, "int": np.int32, "long": np.int64, "float": np.float32, "double": np.float64,
           "complex": np.complex128}


class Program:
    """A parsed numexpr text as a plan-cache template: typed for the arrays bound when planned.

    Its :attr:`names` are the names numexpr reads: those left in the tree built with every
    name a ``double`` (as numexpr's ``evaluate`` finds them), so ``where(1, a, b)`` reads only ``a``;
    or, given ``variable_kinds`` (one per name of ``parsed``), with those kinds, as numexpr's
    ``NumExpr`` builds it for its signature: ``c / -0.0`` of a complex ``c`` is then a division,
    where with a double ``c`` it folds into ``c * (1 / -0.0)``, Python's ``ZeroDivisionError``.
    """

    __slots__ = ("parsed", "optimization", "names", "_slots", "reduces", "axis", "copied", "_doubles",
                 "_kinds")

    def __init__(self, parsed: Parsed, optimization: str, variable_kinds: list[str] | None = None):
        self.parsed, self.optimization = parsed, optimization
        if variable_kinds is None:
            variable_kinds = ["double"] * len(parsed.names)
        self._kinds = tuple(variable_kinds)  # (of the names no longer read too, for tree())
        root = tree.build(parsed.template, variable_kinds, optimization)
        # (the tree of float64 arrays, pandas' commonest, is kept for tree())
        self._doubles = root if all(kind == "double" for kind in variable_kinds) else None
        #: Whether the root is a reduction (a reduction can only be the root), and the axis it
        #: reduces along (None: every axis, or no reduction).
        self.reduces = root.op in kinds.REDUCTIONS
        self.axis = root.value if self.reduces and root.value != tree.ALL_AXES else None
        #: What the program copies if it only copies (a name or a constant alone, ``copy(s)``: the one
        #: kind of program whose result may be bytes strings, :meth:`gives_bytes`), else None.
        copied = root
        while copied.op == "copy":
            copied = copied.args[0]
        self.copied = copied if root.op == "copy" else None
        #: The template's name index of each name read, in sorted order (numexpr's input order).
        self._slots = tuple(sorted(tree.variables(root)))
        self.names = tuple(parsed.names[k] for k in self._slots)

    def tree(self, dtypes: list[np.dtype]) -> tree.Expr:
        """numexpr's tree for arrays of these dtypes, one per name read."""
        variable_kinds = list(self._kinds)
        for slot, dtype in zip(self._slots, dtypes):
            variable_kinds[slot] = kinds.of_dtype(dtype)
        # (float64 arrays, pandas' commonest, give the tree built above: its nodes are never changed)
        doubles = self._doubles is not None and all(kind == "double" for kind in variable_kinds)
        root = self._doubles if doubles else \
            tree.build(self.parsed.template, variable_kinds, self.optimization)
        # numexpr's order: typing, hashing the tree, converting the constants, then the program's checks
        _check_signatures(root)
        tree.check_hashable(root)
        _check_constants(root)
        tree.check_axes_encode(root)
        tree.check_reductions_last(root)
        return root

    def gives_bytes(self, dtypes: list[np.dtype]) -> bool:
        """Whether the program, for arrays of these dtypes, returns bytes strings (a copy of an ``S``
        array or constant), which fusenum's kernels do not make (:func:`~.api.copy_bytes` does)."""
        copied = self.copied
        if copied is None or copied.op not in ("var", "const"):
            return False
        if copied.op == "const":
            return isinstance(copied.value, (str, bytes))
        return dtypes[self._slots.index(copied.value)].kind == "S"

    def build(self, builder: Builder, operands: list) -> Node:
        root = self.tree([operand.dtype for operand in operands])
        return _Lowering(builder, dict(zip(self._slots, operands))).lower(root)


def typed_signature(node: tree.Expr) -> tuple[str, bool]:
    """The operand codes numexpr runs ``node`` with, and whether it is a function-table entry."""
    codes = "".join(kinds.CODE[arg.kind] for arg in node.args)
    if node.op in kinds.REDUCTIONS:
        codes += "n"
    return kinds.signature(node.op, kinds.CODE[node.kind], codes)


def _check_signatures(root: tree.Expr) -> None:
    """Every operation has a signature: numexpr's ``NotImplementedError`` for the first one that has
    none, in numexpr's order (each operation before its operands, operands left to right)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.op not in ("const", "var"):
            typed_signature(node)
            stack.extend(reversed(node.args))


def _check_constants(root: tree.Expr) -> None:
    """Every constant converts to the kind its operation takes it in (``OverflowError`` for ``2**63``
    as a ``long``), as numexpr converts them before its program is checked."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if node.op not in ("const", "var") and id(node) not in seen:
            seen.add(id(node))
            codes, _ = typed_signature(node)
            for arg, code in zip(node.args, codes):
                if arg.op == "const":
                    constant_value(arg.value, kinds.KIND[code])
            stack.extend(node.args)


def constant_value(value, kind: str) -> np.generic:
    """A constant converted to ``kind`` as numexpr converts it (a str to ASCII bytes)."""
    if kind == "bytes":
        return np.bytes_(value.encode("ascii") if isinstance(value, str) else value)
    return _SCALAR[kind](value)


def _empty_constant(args: tuple) -> bool:
    """Whether one of ``args`` is a bytes (or str) constant of no bytes."""
    return any(arg.op == "const" and isinstance(arg.value, (bytes, str)) and not arg.value for arg in args)


class _Lowering:
    def __init__(self, builder: Builder, operands: dict):
        self.builder, self.operands = builder, operands  # by the template's name index
        self.done: dict[int, Node] = {}

    def lower(self, node: tree.Expr) -> Node:
        """``node``'s IR, of its kind's dtype (iteratively: trees can be deep)."""
        stack = [(node, False)]
        while stack:
            item, ready = stack.pop()
            if id(item) in self.done:
                continue
            if item.op == "var":
                operand = self.operands[item.value]
                if item.kind != "bytes":
                    operand = nodes.cast(operand, kinds.DTYPE[item.kind])
                self.done[id(item)] = operand
            elif item.op == "const":
                self.done[id(item)] = nodes.const(constant_value(item.value, item.kind))
            elif not ready:
                stack.append((item, True))
                stack.extend((arg, False) for arg in item.args if arg.op != "const")
            else:
                self.done[id(item)] = self._operation(item)
        return self.done[id(node)]

    def _operand(self, arg: tree.Expr, code: str) -> Node:
        kind = kinds.KIND[code]
        if arg.op == "const":
            return nodes.const(constant_value(arg.value, kind))
        if kind == "bytes":
            return self.done[id(arg)]
        return nodes.cast(self.done[id(arg)], kinds.DTYPE[kind])

    def _operation(self, node: tree.Expr) -> Node:
        codes, _ = typed_signature(node)
        args = [self._operand(arg, code) for arg, code in zip(node.args, codes)]
        if node.kind == "bytes":  # (a copy inside the expression: a whole result is api.copy_bytes's)
            if node.op != "copy":
                raise NotImplementedError(f"{node.op}() of bytes strings: fusenum.numexpr's kernels only "
                                          f"compare and search bytes (contains)")
            return args[0]
        op, apply = node.op, self.builder.apply
        if op in kinds.REDUCTIONS:
            return self._reduction(node, args[0])
        if op in ("eq", "ne") and codes[0] == kinds.CODE["bytes"] and _empty_constant(node.args):
            # numexpr compares with a constant of no bytes by the other's first byte alone (its
            # ``stringcmp``): ``b'\0a' == b''``. That is, the other's C string is empty: ``contains``.
            other = args[1] if node.args[0].op == "const" and not len(node.args[0].value) else args[0]
            empty = apply("contains", nodes.const(np.bytes_(b"")), other)
            return empty if op == "eq" else apply("logical_not", empty)
        if op == "copy" or (op == "round" and node.kind in ("int", "long")):
            return args[0]
        if op == "absolute" and node.kind == "complex":
            return apply("complex", self._modulus(*self._parts(args[0])), 0.0)
        if op == "sign" and node.kind == "complex":
            return self._complex_sign(args[0])
        if op in ("floordiv", "mod") and node.kind in ("float", "double"):
            quotient = apply("floor", apply("true_divide", *args))  # C's floor(a / b), not Python's //
            if op == "floordiv":
                return quotient
            return apply("subtract", args[0], apply("multiply", quotient, args[1]))
        if op == "mod" and node.kind in ("int", "long"):
            # numexpr's ((a % b) + b) % b in C's % (fmod), wrapping: its sign fix-up overflows near the limits
            return apply("fmod", apply("add", apply("fmod", *args), args[1]), args[1])
        if op == "mul" and node.kind == "complex":
            return self._complex_multiply(*args)
        if op == "ones_like":
            return apply("where", True, nodes.const(_SCALAR[node.kind](1)), args[0])
        if op == "pow" and node.args[1].op == "var":
            self._exponent_by_value(node.args[1])
        if op == "pow" and node.kind in ("float", "double") and args[1].op == "const" and args[1].value == 2:
            return apply("multiply", args[0], args[0])  # x*x at every NumPy version (2.0's power loop calls pow)
        if op == "pow" and node.kind in ("float", "double") and args[1].op == "const" and args[1].value == 0.5:
            return self._c_power_of_half(args[0])
        if op == "pow" and node.kind in ("int", "long", "complex"):
            return (self._integer_power if node.kind != "complex" else self._complex_power)(*args)
        if op == "pow" and node.kind in ("float", "double"):
            return self._c_power(*args)
        if op == "div" and node.kind == "complex":
            return self._complex_divide(*args)
        if op == "div" and node.kind in ("int", "long"):
            return self._c_integer_divide(*args)
        return apply(_ROWS.get(op, op), *args)

    def _c_integer_divide(self, a: Node, b: Node) -> Node:
        """numexpr's ``div`` of integers (only ``x ** -1.0`` with ``optimization='moderate'`` makes
        one: ``1 / x``): C's division, truncating toward zero. A zero divisor gives 0, as numexpr's
        C code guards it."""
        apply = self.builder.apply
        floor = apply("floor_divide", a, b)  # (0 for a zero divisor, as the remainder)
        rounded_down = apply("logical_and", apply("not_equal", apply("remainder", a, b), 0),
                             apply("not_equal", apply("less", a, 0), apply("less", b, 0)))
        return apply("where", rounded_down, apply("add", floor, 1), floor)

    def _c_power_of_half(self, x: Node) -> Node:
        """C's ``pow(x, 0.5)``, numexpr's ``pow`` opcode for that exponent (pandas' ``df ** 0.5``, or
        ``optimization='none'``): the square root, but +inf at -inf and +0 at -0, where ``sqrt`` gives
        NaN and -0. (The builder's ``power`` by a constant 0.5 is NumPy's loop, which takes ``sqrt``.)"""
        apply = self.builder.apply
        infinity, zero = (nodes.const(x.dtype.type(value)) for value in (np.inf, 0))
        minus_infinity = nodes.const(x.dtype.type(-np.inf))
        root = apply("where", apply("equal", x, minus_infinity), infinity, apply("sqrt", x))
        return apply("where", apply("equal", x, zero), zero, root)

    def _c_power(self, base: Node, exponent: Node) -> Node:
        """numexpr's ``pow`` opcode: C's ``pow`` for every element, whatever the exponent's layout.
        NumPy's power loop computes an exponent with one value for the whole call (a broadcast view,
        a one-element array) of 0.5 as ``sqrt``, which differs at -0.0 and -inf (and of 2 and -1 in
        the last bit), and the builder's ``power`` follows it; this one is marked to call ``pow``
        (:data:`~fusenum.ir.nodes.ALWAYS_POW`)."""
        power = self.builder.apply("power", base, exponent)
        if not isinstance(power, Node) or power.op != "power":  # (folded, or a constant's rewrite)
            return power
        return Node("power", power.args, power.dtype, nodes.ALWAYS_POW)

    def _exponent_by_value(self, exponent: tree.Expr) -> None:
        """A 0-d array exponent (pandas' ``df ** 2`` passes the 2 so) is taken by value: the plan is
        specialised on it, so ``x ** 2`` squares instead of calling ``pow`` (within ``pow``'s ULP bound)."""
        operand = self.operands[exponent.value]
        if self.builder.may_be_zero_d(operand):
            raise NeedsValue([self.builder.sources[operand.attr].key])

    def _integer_power(self, a: Node, b: Node) -> Node:
        """numexpr's integer power: ``1 / a`` in C's integer division for a negative exponent, else
        ``pow`` in floating point converted back (in long double for int64: exact where it fits), which
        gives the type's minimum where the result does not fit (NumPy's wraps around)."""
        apply = self.builder.apply
        negative = apply("less", b, 0)
        exact = apply("power", a, apply("where", negative, 0, b))
        estimate = apply("power", nodes.cast(a, np.dtype(np.float64)),
                         nodes.cast(apply("where", negative, 0, b), np.dtype(np.float64)))
        limit = float(2 ** (8 * a.dtype.itemsize - 1))
        magnitude = apply("absolute", estimate)
        # Within a few float64 ULPs of the limit the estimate cannot tell (2**63 - 100 rounds to
        # 2**63); there the wrapped exact power can: it has the estimate's sign exactly when it fits.
        near = apply("logical_and", apply("greater", magnitude, limit * (1 - 2.0 ** -40)),
                     apply("less", magnitude, limit * (1 + 2.0 ** -40)))
        same_sign = apply("equal", apply("less", exact, 0), apply("less", estimate, 0))
        fits = apply("where", near, same_sign, apply("less", magnitude, limit))
        smallest = nodes.const(a.dtype.type(np.iinfo(a.dtype).min))
        one, minus_one, zero = (nodes.const(a.dtype.type(v)) for v in (1, -1, 0))
        inverse = apply("where", apply("equal", a, 1), one,
                        apply("where", apply("equal", a, -1), minus_one, zero))
        return apply("where", negative, inverse, apply("where", fits, exact, smallest))

    def _parts(self, z: Node) -> tuple[Node, Node]:
        return self.builder.apply("real", z), self.builder.apply("imag", z)

    def _modulus(self, re: Node, im: Node) -> Node:
        """numexpr's ``|z|`` of the parts ``re``, ``im``: ``sqrt(re*re + im*im)``, which overflows to inf
        and underflows to 0 where NumPy's (through ``hypot``) does not."""
        apply = self.builder.apply
        return apply("sqrt", apply("add", apply("multiply", re, re), apply("multiply", im, im)))

    def _complex_sign(self, z: Node) -> Node:
        """numexpr's complex ``sign``: each part divided by :meth:`_modulus`, 0 where that is 0. NumPy
        divides by ``hypot``: ``sign(1e200+1e200j)`` is ``0j`` in numexpr, ``0.707+0.707j`` in NumPy;
        ``sign(inf+0j)`` is ``nan+0j`` in numexpr, ``1+0j`` in NumPy."""
        apply = self.builder.apply
        re, im = self._parts(z)
        modulus = self._modulus(re, im)
        zero = apply("equal", modulus, 0.0)
        return apply("complex", apply("where", zero, 0.0, apply("true_divide", re, modulus)),
                     apply("where", zero, 0.0, apply("true_divide", im, modulus)))

    def _complex_multiply(self, a: Node, b: Node) -> Node:
        """numexpr's complex product: the textbook formula (NumPy's loop fuses multiply-adds)."""
        apply = self.builder.apply
        (ar, ai), (br, bi) = self._parts(a), self._parts(b)
        real = apply("subtract", apply("multiply", ar, br), apply("multiply", ai, bi))
        imag = apply("add", apply("multiply", ar, bi), apply("multiply", ai, br))
        return apply("complex", real, imag)

    def _complex_divide(self, a: Node, b: Node) -> Node:
        """numexpr's complex division: the textbook formula over ``|b|**2`` (NumPy scales, as Smith's
        algorithm does, so the two differ near overflow, at 0 and in the last bit)."""
        apply = self.builder.apply
        (ar, ai), (br, bi) = self._parts(a), self._parts(b)
        norm = apply("add", apply("multiply", br, br), apply("multiply", bi, bi))
        real = apply("add", apply("multiply", ar, br), apply("multiply", ai, bi))
        imag = apply("subtract", apply("multiply", ai, br), apply("multiply", ar, bi))
        return apply("complex", apply("true_divide", real, norm), apply("true_divide", imag, norm))

    def _complex_power(self, a: Node, b: Node) -> Node:
        """numexpr's complex power: 1 for a zero exponent, then 0 for a zero base; for an integral
        real exponent under 100 in size, repeated squaring from 1 (then ``1 / r`` for a negative
        one), else ``a ** b``. numexpr chooses per element: so does an array exponent here."""
        apply = self.builder.apply
        (ar, ai), (br, bi) = self._parts(a), self._parts(b)
        zero_exponent = apply("bitwise_and", apply("equal", br, 0), apply("equal", bi, 0))
        zero_base = apply("bitwise_and", apply("equal", ar, 0), apply("equal", ai, 0))
        one, zero = nodes.const(np.complex128(1)), nodes.const(np.complex128(0))
        if b.op != "const":
            power = self._elementwise_complex_power(a, b, br, bi)
        else:
            power = self._integral_complex_power(a, b) or apply("power", a, b)
        return apply("where", zero_exponent, one, apply("where", zero_base, zero, power))

    def _elementwise_complex_power(self, a: Node, b: Node, br: Node, bi: Node) -> Node:
        """``a ** b`` for an array ``b`` as numexpr computes each element: where ``b`` is a whole real
        number under 100 in size, the products :meth:`_integral_complex_power` makes for its bits
        (at most seven), else ``a ** b``."""
        apply = self.builder.apply
        whole = apply("bitwise_and", apply("equal", bi, 0),
                      apply("bitwise_and", apply("less", apply("absolute", br), 100),
                            apply("equal", apply("trunc", br), br)))
        count = nodes.cast(apply("where", whole, apply("absolute", br), 0.0), np.dtype(np.int64))
        result, square = nodes.const(np.complex128(1)), a
        for bit in (1, 2, 4, 8, 16, 32, 64):
            taken = apply("not_equal", apply("bitwise_and", count, bit), 0)
            result = apply("where", taken, self._complex_multiply(result, square), result)
            if bit < 64:
                square = self._complex_multiply(square, square)
        inverse = self._complex_divide(nodes.const(np.complex128(1)), result)
        integral = apply("where", apply("less", br, 0), inverse, result)
        return apply("where", whole, integral, apply("power", a, b))

    def _integral_complex_power(self, a: Node, b: Node) -> Node | None:
        exponent = complex(b.value)
        if exponent.imag != 0 or not -100 < exponent.real < 100 or exponent.real != int(exponent.real):
            return None  # (the bounds first: int() of an infinity or a NaN raises)
        count, bit = abs(int(exponent.real)), 1
        result, square = nodes.const(np.complex128(1)), a
        while True:
            if count & bit:
                result = self._complex_multiply(result, square)
            bit <<= 1
            if count < bit:
                break
            square = self._complex_multiply(square, square)
        return self._complex_divide(nodes.const(np.complex128(1)), result) if exponent.real < 0 else result

    def _reduction(self, node: tree.Expr, x: Node) -> Node:
        axis = None if node.value == tree.ALL_AXES else node.value
        builder = self.builder
        if node.op in ("sum", "prod"):
            return builder.reduce(node.op, x, axis, False, kinds.DTYPE[node.kind])
        if node.kind not in ("float", "double"):
            return builder.reduce(node.op, x, axis)
        # C's fmax/fmin: NaN only where every element is NaN
        nan = builder.apply("isnan", x)
        extreme = -np.inf if node.op == "max" else np.inf
        best = builder.reduce(node.op, builder.apply("where", nan, extreme, x), axis)
        return builder.apply("where", builder.reduce("all", nan, axis), np.nan, best)
