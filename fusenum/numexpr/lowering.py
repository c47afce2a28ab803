"""numexpr's typing applied to its tree, then fusenum's shared IR.

Each operation of the tree (:mod:`.tree`) gets the first signature numexpr has
an opcode for (:func:`fusenum.numexpr.kinds.signature`); its operands are cast
to that signature's kinds -- an array first to its own kind (int8 to int32,
uint64 wrapping into int64, float16 to float32), then up -- and constants are
converted to it as numexpr converts them. The operation is then built through
fusenum's :class:`~fusenum.ir.typing.Builder` on operands of one dtype, where
NumPy's meaning is numexpr's, so fusion, SIMD, threads, tiers and caches are
fusenum's own. The few opcodes whose meaning differs are built from op-table
rows: ``abs`` of a complex number is a complex number, ``round`` of an integer is
itself, ``max``/``min`` reductions skip NaN (C's ``fmax``/``fmin``).

A plan template for the runtime's plan cache is :class:`Program`: the parsed
text and the optimization level; typing happens when the runtime builds a
plan for the bound arrays' dtypes.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir import nodes
from ..ir.nodes import Node
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
    """A parsed numexpr text as a plan-cache template: typed for the arrays bound when planned."""

    __slots__ = ("parsed", "optimization", "names")

    def __init__(self, parsed: Parsed, optimization: str):
        self.parsed, self.optimization, self.names = parsed, optimization, parsed.names

    def tree(self, dtypes: list[np.dtype]) -> tree.Expr:
        """numexpr's tree for arrays of these dtypes."""
        variable_kinds = [kinds.of_dtype(dtype, name) for dtype, name in zip(dtypes, self.names)]
        return tree.build(self.parsed.template, variable_kinds, self.optimization)

    def build(self, builder: Builder, operands: list) -> Node:
        root = self.tree([operand.dtype for operand in operands])
        return _Lowering(builder, operands).lower(root)


def typed_signature(node: tree.Expr) -> tuple[str, bool]:
    """The operand codes numexpr runs ``node`` with, and whether it is a function-table entry."""
    codes = "".join(kinds.CODE[arg.kind] for arg in node.args)
    if node.op in kinds.REDUCTIONS:
        codes += "n"
    return kinds.signature(node.op, kinds.CODE[node.kind], codes)


def constant_value(value, kind: str) -> np.generic:
    """A constant converted to ``kind`` as numexpr converts it."""
    if kind == "bytes":
        raise NotImplementedError(f"the string constant {value!r}: bytes strings are not supported by "
                                  f"fusenum.numexpr yet")
    return _SCALAR[kind](value)


class _Lowering:
    def __init__(self, builder: Builder, operands: list):
        self.builder, self.operands = builder, operands
        self.done: dict[int, Node] = {}

    def lower(self, node: tree.Expr) -> Node:
        """``node``'s IR, of its kind's dtype (iteratively: trees can be deep)."""
        stack = [(node, False)]
        while stack:
            item, ready = stack.pop()
            if id(item) in self.done:
                continue
            if item.op == "var":
                self.done[id(item)] = nodes.cast(self.operands[item.value], kinds.DTYPE[item.kind])
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
        return nodes.cast(self.done[id(arg)], kinds.DTYPE[kind])

    def _operation(self, node: tree.Expr) -> Node:
        codes, _ = typed_signature(node)
        if "s" in codes:
            raise NotImplementedError(f"{node.op}() of bytes strings is not supported by fusenum.numexpr yet")
        args = [self._operand(arg, code) for arg, code in zip(node.args, codes)]
        op, apply = node.op, self.builder.apply
        if op in kinds.REDUCTIONS:
            return self._reduction(node, args[0])
        if op == "copy" or (op == "round" and node.kind in ("int", "long")):
            return args[0]
        if op == "absolute" and node.kind == "complex":
            return apply("complex", apply("absolute", args[0]), 0.0)
        if op == "ones_like":
            return apply("where", True, nodes.const(_SCALAR[node.kind](1)), args[0])
        if op == "pow" and node.kind in ("int", "long", "complex"):
            return (self._integer_power if node.kind != "complex" else self._complex_power)(*args)
        if op == "div" and node.kind == "complex":
            return self._complex_divide(*args)
        if op == "div" and node.kind in ("int", "long"):
            raise UnsupportedOperationError("numexpr's integer division 'div' (from 'x ** -1.0' with "
                                            "optimization='moderate') is not implemented by fusenum.numexpr")
        return apply(_ROWS.get(op, op), *args)

    def _integer_power(self, a: Node, b: Node) -> Node:
        """numexpr's integer power: ``1 / a`` in C's integer division for a negative exponent, else
        ``pow`` in floating point converted back, which gives the type's minimum where the result
        does not fit (NumPy's wraps around)."""
        apply = self.builder.apply
        negative = apply("less", b, 0)
        exact = apply("power", a, apply("where", negative, 0, b))
        estimate = apply("power", nodes.cast(a, np.dtype(np.float64)),
                         nodes.cast(apply("where", negative, 0, b), np.dtype(np.float64)))
        fits = apply("less", apply("absolute", estimate), float(2 ** (8 * a.dtype.itemsize - 1)))
        smallest = nodes.const(a.dtype.type(np.iinfo(a.dtype).min))
        one, minus_one, zero = (nodes.const(a.dtype.type(v)) for v in (1, -1, 0))
        inverse = apply("where", apply("equal", a, 1), one, apply("where", apply("equal", a, -1), minus_one, zero))
        return apply("where", negative, inverse, apply("where", fits, exact, smallest))

    def _parts(self, z: Node) -> tuple[Node, Node]:
        return self.builder.apply("real", z), self.builder.apply("imag", z)

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
        """numexpr's complex power: 1 for a zero exponent, then 0 for a zero base, else ``a ** b``."""
        apply = self.builder.apply
        (ar, ai), (br, bi) = self._parts(a), self._parts(b)
        zero_exponent = apply("bitwise_and", apply("equal", br, 0), apply("equal", bi, 0))
        zero_base = apply("bitwise_and", apply("equal", ar, 0), apply("equal", ai, 0))
        one, zero = nodes.const(np.complex128(1)), nodes.const(np.complex128(0))
        return apply("where", zero_exponent, one, apply("where", zero_base, zero, apply("power", a, b)))

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
