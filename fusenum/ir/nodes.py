"""Typed, immutable, hash-consed IR nodes.

A node is ``(op, args, dtype, attr)``. Building a node that already exists
returns the existing object, so structurally equal subtrees are one object:
common subexpressions are shared for free, identity is equality, and a node
can key a dict (the kernel cache does exactly that).

Node kinds (``op``):

* ``"input"``  -- kernel operand slot ``attr`` (an int); no data, only a dtype.
* ``"const"``  -- a constant; ``attr`` holds its bytes, ``value`` decodes it.
* ``"cast"``   -- NumPy's ``astype`` of ``args[0]`` to ``dtype``.
* ``"reduce"`` -- a reduction of ``args[0]``; ``attr`` is a
  :class:`fusenum.ir.reductions.ReduceAttr`. Plans with reductions run in
  stages (:mod:`fusenum.runtime.staging`); kernels never see this node.
* any name in :data:`fusenum.ir.ops.OPS` -- that elementwise operation,
  ``args`` already cast to the loop dtypes NumPy chose.

Every dtype in the IR is native-endian; byte order is a property of the arrays
bound at run time and is handled when loading and storing.
"""
from __future__ import annotations

import weakref
from _weakref import _remove_dead_weakref as _remove_dead  # (what WeakValueDictionary uses)
from typing import Iterator

import numpy as np

from . import records


#: Integer type codes whose dtype equals another's ('q' and 'l' are both int64 on Linux): equal
#: dtypes intern one node, so the node takes NumPy's usual name for its size, whichever spelling
#: came first (else the scalars of a result could be ``np.longlong`` or ``np.int64`` depending on
#: what an earlier call used). A ``longlong`` array's results are then ``int64``-typed where NumPy's
#: are ``longlong``-typed: the same dtype (``==``), values and bits.
_INTEGER_ALIASES = {code: np.dtype(np.dtype(code).str) for code in "bhilqBHILQ"
                    if np.dtype(np.dtype(code).str).char != code}


class Node:
    """One IR node. Create with :func:`make`, :func:`const`, :func:`input_slot` or :func:`cast`."""

    __slots__ = ("op", "args", "dtype", "attr", "_below", "__weakref__")
    #: Every live node by its ``(op, args, dtype, attr)``: a weak reference, which removes its entry
    #: once the node is freed. (A plain dict: ``WeakValueDictionary``'s Python-level ``__setitem__``
    #: was about a tenth of typing a new expression.)
    _interned: "dict[tuple, weakref.ReferenceType[Node]]" = {}

    op: str
    args: tuple["Node", ...]
    dtype: np.dtype
    attr: object

    def __new__(cls, op: str, args: tuple["Node", ...], dtype: np.dtype, attr: object = None):
        if dtype.char in _INTEGER_ALIASES and dtype.isnative:
            dtype = _INTEGER_ALIASES[dtype.char]
        key = (op, args, dtype, attr)
        ref = cls._interned.get(key)
        node = None if ref is None else ref()
        if node is None:
            node = object.__new__(cls)
            object.__setattr__(node, "op", op)
            object.__setattr__(node, "args", args)
            object.__setattr__(node, "dtype", dtype)
            object.__setattr__(node, "attr", attr)
            object.__setattr__(node, "_below", None)  # :func:`walk`'s order, once asked
            # (its entry goes once it is freed, unless a new node took it: atomically, and with no
            # global name to look up, as the interpreter's exit may have cleared them)
            table = cls._interned
            table[key] = weakref.ref(node, lambda _, table=table, key=key: _remove_dead(table, key))
        return node

    def __setattr__(self, name, value):
        raise AttributeError("IR nodes are immutable")

    def __reduce__(self):
        return (Node, (self.op, self.args, self.dtype, self.attr))

    @property
    def value(self) -> np.generic:
        """The NumPy scalar of a ``const`` node."""
        assert self.op == "const"
        data = self.attr if type(self.attr) is bytes else self.attr[0]
        return np.frombuffer(data, dtype=self.dtype)[0]

    @property
    def is_array(self) -> bool:
        """Whether a ``const`` node stands for a 0-d array (NumPy computes with it as an array)."""
        return type(self.attr) is tuple

    def __repr__(self) -> str:
        # Not recursive, and cut at REPR_CHARS: an expression can be ten thousand levels deep, and
        # written out as a tree a DAG with shared operands can be exponentially long.
        pieces: list[str] = []
        length = 0
        stack: list[Node | str] = [self]
        while stack and length < REPR_CHARS:
            item = stack.pop()
            if isinstance(item, str):
                text = item
            elif item.op == "input":
                text = f"in{item.attr}:{item.dtype}"
            elif item.op == "const":
                text = f"{item.value!r}"
            else:
                tail = [f", {item.attr}"] if item.op == "reduce" else []
                parts = [part for k, arg in enumerate(item.args) for part in ((", ", arg) if k else (arg,))]
                stack.extend(reversed([*parts, *tail, f"):{item.dtype}"]))
                text = f"{item.op}("
            pieces.append(text)
            length += len(text)
        return "".join(pieces) + ("..." if stack else "")


#: Longest ``repr`` of a node (longer ones end with "...").
REPR_CHARS = 10_000


#: The ``attr`` of a float ``power`` node computed with ``pow`` for every element: no shortcut for a
#: single-valued exponent, as NumPy's power loop takes (fusenum.numexpr: numexpr's ``pow`` opcode).
ALWAYS_POW = "pow"


def make(op: str, args: tuple[Node, ...], dtype: np.dtype) -> Node:
    """The node applying op-table operation ``op`` (args already of the loop dtypes)."""
    return Node(op, tuple(args), np.dtype(dtype))


def const(value: np.generic, array: bool = False) -> Node:
    """A constant node holding NumPy scalar ``value`` (its dtype made native).

    ``array`` marks a 0-d array (say the result of ``np.where`` on numbers): NumPy
    code computes with it as with an array, through ufuncs, where a NumPy scalar
    meeting a Python number follows Python's operators. The mark is part of the
    node's identity (its ``attr`` is then a 1-tuple of the bytes).
    """
    arr = np.asarray(value)
    dtype = arr.dtype.newbyteorder("=")
    data = arr.astype(dtype).tobytes()
    return Node("const", (), dtype, (data,) if array else data)


def input_slot(slot: int, dtype: np.dtype) -> Node:
    """Kernel operand number ``slot`` of (native) ``dtype``."""
    return Node("input", (), np.dtype(dtype).newbyteorder("="), slot)


def cast(node: Node, dtype: np.dtype) -> Node:
    """``node`` converted to ``dtype`` as ``ndarray.astype`` would (no-op if already it)."""
    dtype = np.dtype(dtype)
    if node.dtype == dtype:
        return node
    if node.op == "const":
        value = node.value
        if value.dtype.kind == "c" and dtype.kind in "iuf":
            value = value.real  # (what astype keeps, without its ComplexWarning: the call gives NumPy's)
        with np.errstate(all="ignore"):
            return const(value.astype(dtype), node.is_array)
    return Node("cast", (node,), dtype)


#: A DAG of at most this many nodes keeps its :func:`walk` order (a plan walks its root ~7 times).
WALK_KEPT_NODES = 256


def walk(root: Node) -> Iterator[Node]:
    """Every node reachable from ``root`` exactly once, operands before their users."""
    below = root._below
    if below is None:
        below = tuple(_walk(root))[:-1]  # without the root itself: no reference cycle
        if len(below) < WALK_KEPT_NODES:
            object.__setattr__(root, "_below", below)
    yield from below
    yield root


def _walk(root: Node) -> Iterator[Node]:
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in seen:
            continue
        if expanded:
            seen.add(id(node))
            yield node
        else:
            stack.append((node, True))
            stack.extend((arg, False) for arg in reversed(node.args) if id(arg) not in seen)


def canonical(root: Node) -> str:
    """A deterministic text of the DAG under ``root``, the same in every process (unlike ``hash()``):
    one line per node, operands first, each naming its operands by line number.

    Two roots give the same text exactly when they are the same node, so a digest of it can key
    compiled code on disk.
    """
    index: dict[int, int] = {}
    lines = []
    for number, node in enumerate(walk(root)):
        index[id(node)] = number
        args = ",".join([str(index[id(arg)]) for arg in node.args])  # (a list: a generator is slower)
        attr = "None" if node.attr is None else _canonical_attr(node.attr)
        lines.append(f"{node.op} {node.dtype.str} {attr} ({args})")
    return "\n".join(lines)


def _canonical_attr(attr: object) -> str:
    if attr is None or isinstance(attr, (bool, int, str, tuple)):
        return repr(attr)
    if isinstance(attr, bytes):
        return "0x" + attr.hex()
    if records.is_record(attr):  # e.g. ReduceAttr: its fields are plain values
        fields = ", ".join(f"{name}={_canonical_attr(getattr(attr, name))}" for name in records.fields(attr))
        return f"{type(attr).__name__}({fields})"
    raise TypeError(f"no canonical text for IR attribute {attr!r}")


def inputs(root: Node) -> list[Node]:
    """The ``input`` nodes under ``root`` in left-to-right order of first use."""
    return [n for n in walk(root) if n.op == "input"]


def replace(root: Node, mapping: dict[Node, Node]) -> Node:
    """``root`` with every node in ``mapping`` replaced by its image (rebuilt bottom-up)."""
    rebuilt: dict[Node, Node] = {}
    for node in walk(root):
        if node in mapping:
            rebuilt[node] = mapping[node]
        elif node.args:
            rebuilt[node] = Node(node.op, tuple(rebuilt[a] for a in node.args), node.dtype, node.attr)
        else:
            rebuilt[node] = node
    return rebuilt[root]
