"""``NumExpr`` (an expression compiled for a signature) and ``disassemble``.

``NumExpr(ex, signature)`` types ``ex`` (a text, or an expression object built from
:data:`~fusenum.numexpr.expressions.E`) for the given kinds (names not in the
signature are ``double``, as in numexpr) and calls with arrays in the
signature's order; an array is cast to its slot's kind under the ``safe`` rule,
with NumPy's iterator message otherwise. Its plan is fusenum's, from the shared
plan cache.

``disassemble`` lists the program in numexpr's shape -- one row per
operation, ``[opcode, destination, operand, operand]`` with ``r0`` the output,
``r1[a]`` the inputs, ``c3[2.0]`` the constants and ``t5`` the temporaries --
built from the same typed tree fusenum compiles. Where numexpr shows
``func_ddn`` and the number of a function in its table, the row names the
function (``sin_dd``); an operation of three operands (``where``) takes a
``noop`` row after it, as in numexpr; temporaries are not reused as numexpr's register
allocator reuses them. :attr:`NumExpr.ir` is fusenum's IR for the signature,
what the kernel computes.
"""
from __future__ import annotations

import functools

import numpy as np

from ..ir.typing import Builder
from . import api, expressions, kinds, tree
from .lowering import Program, typed_signature

#: Signature types numexpr accepts, by kind: exactly numexpr's keys (Python's ``float`` is float32 and
#: ``numpy.float64`` float64; ``numpy.float32``, ``numpy.bool_`` or ``numpy.complex128`` are its KeyError).
_TYPE_KIND = {bool: "bool", np.int32: "int", np.int64: "long", float: "float", np.float64: "double",
              complex: "complex", bytes: "bytes", str: "bytes"}


class NumExpr:
    """``ex`` (a text or an expression object) compiled for ``signature`` (a list of ``(name, type)``
    pairs); call it with the arrays."""

    def __init__(self, ex: str | expressions.ExpressionNode, signature=(), sanitize: bool = True, **kwargs):
        optimization = api._optimization(dict(kwargs))
        declared = dict(signature)

        def kind_of(name: str) -> str:  # (numexpr's default type is double)
            return _kind_of_type(declared.get(name, np.float64))

        # numexpr's order of errors: the sanitizer's and the syntax's, an unknown type of a name the
        # text uses, building the tree with the signature's kinds (a negative axis), the typing, names
        # that do not match the signature's, an unknown type of another name
        if isinstance(ex, expressions.ExpressionNode):  # (built from E: numexpr sanitizes only text)
            self._program = expressions.program(ex, optimization)
        else:
            text = api.parsed(ex, sanitize)
            self._program = Program(text, optimization, [kind_of(name) for name in text.names])
        kinds_by_name = {name: kind_of(name) for name in self._program.names}
        self._root = self._program.tree([kinds.DTYPE[kinds_by_name[name]] for name in self._program.names])
        unknown = set(declared) - set(self._program.names)
        if signature and (unknown or len(declared) != len(self._program.names)):
            raise ValueError(f"input names ({[name for name, _ in signature]}) don't match those found in "
                             f"expression ({set(self._program.names)})")
        self.input_names = tuple(name for name, _ in signature) if signature else self._program.names
        self._kinds = tuple(kinds_by_name[name] for name in self.input_names)
        # (a name the signature repeats takes the last of its arguments, as numexpr's does)
        last = {name: k for k, name in enumerate(self.input_names)}
        self._order = [last[name] for name in self._program.names]
        self._signature = "".join(kinds.CODE[kind] for kind in self._kinds).encode("ascii")

    @property
    def signature(self) -> bytes:
        """The inputs' kinds, one code each (``b'di'``: a double, an int), in ``input_names``' order."""
        return self._signature

    @property
    def constsig(self) -> bytes:
        """The constants' kinds, in the order of ``constants``."""
        return b"".join(kinds.CODE[kind].encode() for _, kind in _constants(self._root).values())

    @property
    def tempsig(self) -> bytes:
        """The temporaries' kinds, as :func:`disassemble` numbers them (one per operation and cast:
        numexpr's register allocator reuses some, so its ``tempsig`` can be shorter)."""
        return b"".join(_Listing(self).temporaries)

    @property
    def fullsig(self) -> bytes:
        """The kinds of every register, as numexpr orders them: the output, the inputs, the constants,
        the temporaries."""
        return kinds.CODE[self._root.kind].encode() + self.signature + self.constsig + self.tempsig

    @property
    def ir(self):
        """fusenum's IR for this signature: the root node of what the kernel computes."""
        builder = Builder()
        operands = [builder.array(k, kinds.DTYPE[self._kinds[i]], name)
                    for k, (i, name) in enumerate(zip(self._order, self._program.names))]
        return builder.finish(self._program.build(builder, operands))[0]

    @property
    def program(self) -> Program:
        return self._program

    @property
    def constants(self) -> tuple:
        return tuple(value for value, _ in _constants(self._root).values())

    def __call__(self, *args, **kwargs) -> np.ndarray:
        if len(args) != len(self._kinds):
            raise ValueError("number of inputs doesn't match program")
        api.check_count(len(args))
        if kwargs and "ex_uses_vml" not in kwargs:
            raise ValueError("ex_uses_vml parameter is required")
        kwargs.pop("ex_uses_vml", None)
        api.check_out(kwargs.get("out"))
        casting = kwargs.get("casting", "safe")
        arrays = [_as_array(value, kind) for value, kind in zip(args, self._kinds)]
        subtype = None if kwargs.get("out") is not None else _result_subtype(arrays)
        try:
            plain = [a if type(a) is np.ndarray else a.view(np.ndarray) for a in arrays]
            values = api.converted_inputs(plain, list(self._kinds), casting)
        except TypeError:  # (numexpr's iterator finds operands that do not broadcast before a cast)
            out = kwargs.get("out")
            reduces = self._program.reduces
            api.check_broadcast([a.shape for a in arrays], None if reduces or not isinstance(out, np.ndarray)
                                else out.shape, reduces)
            raise
        ordered = [values[i] for i in self._order]
        result = api.run(self._program, ordered, kwargs.get("out"), kwargs.get("order", "K"), casting)
        if subtype is None or (self._program.reduces and result.ndim == 0):  # (a reduction to one value)
            return result
        return _as_subtype(result, subtype)

    def run(self, *args, **kwargs) -> np.ndarray:
        """The same as calling the object."""
        return self(*args, **kwargs)


def _as_array(value, kind: str) -> np.ndarray:
    """An input as numexpr takes it: an ndarray as it is (its dtype then cast under ``casting``), anything
    else (a list, a scalar, a pandas Series) converted straight to the signature's dtype, as NumPy
    converts it (``[1.5, 2.5]`` into an int32 input is ``[1, 2]``)."""
    if isinstance(value, np.ndarray):
        return value
    return np.asarray(value, dtype="S" if kind == "bytes" else kinds.DTYPE[kind])  # ("S": as long as needed)


def _result_subtype(arrays: list[np.ndarray]) -> type | None:
    """The ndarray subclass numexpr's iterator gives a result (but a reduction's to one value): the inputs' of
    the highest ``__array_priority__``, if above ndarray's 0 (a ``np.matrix``, a masked array; not a
    ``np.memmap``, nor a subclass that sets none). Inputs are computed as plain arrays (a masked
    array's data)."""
    best, priority = None, 0.0
    for array in arrays:
        if type(array) is not np.ndarray:
            mine = getattr(array, "__array_priority__", 0.0)
            if mine > priority:
                best, priority = type(array), mine
    return best


def _as_subtype(result: np.ndarray, subtype: type) -> np.ndarray:
    """``result`` viewed as ``subtype``; numexpr's ``RuntimeError`` where that changes its shape (a
    ``np.matrix`` of other than two dimensions)."""
    try:
        viewed = result.view(subtype)
    except ValueError:
        viewed = None
    if viewed is None or viewed.shape != result.shape:
        raise RuntimeError("Iterator automatic output has an array subtype which changed the dimensions "
                           "of the output")
    return viewed


def _kind_of_type(kind_type) -> str:
    try:
        return _TYPE_KIND[kind_type]
    except (KeyError, TypeError):
        raise KeyError(f"unknown type {kind_type!r} in the signature (numexpr's: bool, numpy.int32, "
                       f"numpy.int64, float (float32), numpy.float64, complex or bytes)") from None


def _constants(root: tree.Expr) -> dict[tuple, tuple]:
    """The constants of the typed program, each once, in numexpr's order: ``(code, value)`` -> ``(value
    as numexpr converts it, kind)``. Constants are one where numexpr's are: equal values of one kind
    (``1`` and ``1.0`` as doubles), or the same object (a NaN used twice, as ``ConstantNode(nan)``).
    numexpr sorts them by kind name, then by NumPy's ``<`` of their values (:func:`_constant_before`),
    starting from the order of use here (where its sort meets values NumPy does not order, NaN, it
    starts from the order of a set of registers)."""
    found: dict[tuple, tuple] = {}
    for node in _operations(root):
        codes, _ = typed_signature(node)
        for arg, code in zip(node.args, codes):
            if arg.op == "const" and (code, arg.value) not in found:
                found[(code, arg.value)] = (_numexpr_constant(arg.value, kinds.KIND[code]), kinds.KIND[code])
    return dict(sorted(found.items(), key=functools.cmp_to_key(_constant_before)))


def _constant_before(first: tuple, second: tuple) -> int:
    """-1 where numexpr's sort takes constant ``first`` (a :func:`_constants` item) to come before
    ``second``, else 0 (a sort asks only whether one is less than the other)."""
    (value, kind), (other, other_kind) = first[1], second[1]
    if kind != other_kind:
        return -1 if kind < other_kind else 0
    return -1 if bool(np.array(value) < np.array(other)) else 0


#: numexpr's constants of these kinds are Python's own (its ``kind_to_type``), the others NumPy's scalars.
_PYTHON_CONSTANT = {"bool": bool, "complex": complex}


def _numexpr_constant(value, kind: str):
    """``value`` converted to ``kind`` as numexpr converts its constants: Python's ``bool`` and
    ``complex`` for those kinds, NumPy's scalar types for the numbers, bytes for strings."""
    if kind == "bytes":
        return value.encode("ascii") if isinstance(value, str) else value
    return _PYTHON_CONSTANT.get(kind, np.dtype(kinds.DTYPE[kind]).type)(value)


def _operations(root: tree.Expr) -> list[tree.Expr]:
    """The operations under ``root``, operands first, each once."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in seen or node.op in ("const", "var"):
            continue
        if ready:
            seen.add(id(node))
            order.append(node)
        else:
            stack.append((node, True))
            stack.extend((arg, False) for arg in reversed(node.args))
    return order


def disassemble(nex: NumExpr) -> list[list]:
    """``nex``'s program as numexpr lists it: ``[opcode, destination, operand, ...]`` rows."""
    return _Listing(nex).rows


class _Listing:
    """numexpr's registers: ``r0`` the output, ``r1...`` the inputs, then constants, then temporaries."""

    def __init__(self, nex: NumExpr):
        self.names = nex._program.parsed.names  # by the template's name index
        self.inputs = {name: f"r{k}[{name}]".encode() for k, name in enumerate(nex.input_names, start=1)}
        first_constant = 1 + len(nex.input_names)
        self.constants = {key: (first_constant + k, value)
                          for k, (key, (value, _)) in enumerate(_constants(nex._root).items())}
        self.next_temporary = first_constant + len(self.constants)
        self.registers: dict[int, bytes] = {}
        self.temporaries: list[bytes] = []  # their kinds' codes
        self.rows: list[list] = []
        for node in _operations(nex._root):
            self._row(node, node is nex._root)
        padded = []
        for row in self.rows:
            padded.append(row + [None] * (4 - len(row)))
            if len(row) > 4:  # (numexpr's program takes a second, empty instruction for a third operand)
                padded.append([b"noop", None, None, None])
        self.rows = padded

    def _temporary(self, kind: str) -> bytes:
        self.next_temporary += 1
        self.temporaries.append(kinds.CODE[kind].encode())
        return f"t{self.next_temporary - 1}".encode()

    def _row(self, node: tree.Expr, is_root: bool) -> None:
        codes, _ = typed_signature(node)
        operands = [self._operand(arg, code) for arg, code in zip(node.args, codes)]
        if is_root:
            destination = b"r0"
        else:
            destination = self.registers[id(node)] = self._temporary(node.kind)
        if node.op in kinds.REDUCTIONS:  # (its axis: None for all of them)
            operands.append(None if node.value == tree.ALL_AXES else node.value)
        self.rows.append([f"{node.op}_{kinds.CODE[node.kind]}{codes}".encode(), destination, *operands])

    def _operand(self, arg: tree.Expr, code: str) -> bytes:
        kind = kinds.KIND[code]
        if arg.op == "const":
            register, value = self.constants[(code, arg.value)]
            return f"c{register}[{value!s}]".encode()
        register = self.inputs[self.names[arg.value]] if arg.op == "var" else self.registers[id(arg)]
        if arg.kind == kind:
            return register
        cast = self._temporary(kind)
        self.rows.append([f"cast_{code}{kinds.CODE[arg.kind]}".encode(), cast, register])
        return cast
