"""Typed plans of expression texts, kept in the disk cache: a warm process's first call of a text
neither parses nor types it.

Parsing and typing a text took about a third of a warm process's first call (0.1-0.15 ms of
0.4). So, next to the kernels, the disk cache keeps one record per text (``<digest>.plan``):
the text's names and their columns, and the typed IR (root and operand sources) for each
combination of operand descriptors (the plan cache's key after the text) a process typed it
for. A process that finds the record builds its plans from them (:func:`.staging.new_plan`).

What typing depends on besides the key is in the record's digest (:func:`environment`): the IR's
and the front ends' sources, NumPy's version, files and answers on this machine (the CPU's
flags: NumPy's loops differ by CPU, and :mod:`fusenum.ir.numpy_behaviour` asks them), the
C library and the Python implementation. A record is pickled IR, read back by an unpickler
that makes nothing but IR nodes, their attributes and dtypes; one that does not read back is
removed, and the text parsed and typed again. Records count towards the cache's size limit
and are evicted with kernels.
"""
from __future__ import annotations

import io
import os
import pickle
import platform
import sys
from functools import lru_cache

import numpy as np

from ..codegen import target
from ..ir import numpy_behaviour
from ..ir.nodes import Node, walk
from . import disk_cache, sources_digest

_FORMAT = "fusenum typed plans, format 1\0"
#: Typed plans kept per text (the first typed are dropped first).
MAX_PLANS_PER_TEXT = 16
#: What a record may hold, by module: the IR's classes, dtypes and Python's scalar types (keys).
_ALLOWED = {
    "fusenum.ir.nodes": {"Node"}, "fusenum.ir.operands": {"Source"}, "fusenum.ir.reductions": {"ReduceAttr"},
    "numpy": {"dtype"}, "builtins": {"int", "float", "complex", "bool", "frozenset", "tuple"},
}


class Record:
    """A text's record: its names, their columns, and typed plans by operand descriptors."""

    __slots__ = ("names", "columns", "plans")

    def __init__(self, names: tuple, columns: tuple, plans: dict):
        self.names, self.columns, self.plans = names, columns, plans


@lru_cache(maxsize=None)
def environment() -> bytes | None:
    """The digest of what typing depends on besides the text and the operands' descriptors (None
    where the CPU's flags cannot be read: nothing is then kept)."""
    flags = target.cpu_flags()
    if flags is None:
        return None
    libc = os.confstr("CS_GNU_LIBC_VERSION") if "CS_GNU_LIBC_VERSION" in os.confstr_names else ""
    digest = sources_digest.sha256(_FORMAT.encode())
    digest.update(sources_digest.typing_digest())
    for part in (numpy_behaviour.installation(), libc, sys.implementation.cache_tag or "", platform.machine(),
                 " ".join(sorted(flags))):
        digest.update(f"{part}\0".encode())
    return digest.digest()


def _digest(text: str) -> bytes | None:
    prefix = environment()
    return None if prefix is None else sources_digest.sha256(prefix + text.encode("utf-8", "surrogatepass")).digest()


def recall(text: str) -> Record | None:
    """The record of ``text``, if the disk cache holds one."""
    if not disk_cache.usable():
        return None
    digest = _digest(text)
    payload = None if digest is None else disk_cache.load(digest, disk_cache.PLAN_SUFFIX)
    if payload is None:
        return None
    try:
        names, columns, flat = _Unpickler(io.BytesIO(payload)).load()
        if not (type(names) is tuple and type(columns) is tuple and type(flat) is dict
                and len(names) == len(columns) and all(type(name) is str for name in names)):
            raise ValueError("not a record")
        plans = {key: (_rebuild(rows), sources, casts) for key, (rows, sources, casts) in flat.items()}
    except Exception:  # (whatever a damaged or foreign record raises: it is only a cache)
        disk_cache.discard(digest, disk_cache.PLAN_SUFFIX)
        return None
    return Record(names, columns, plans)


def store(text: str, record: Record) -> None:
    """Keep ``record`` as ``text``'s (replacing what another process kept: each keeps all it knows)."""
    if not disk_cache.usable():
        return
    digest = _digest(text)
    if digest is None:
        return
    plans = {key: (_flatten(root), sources, casts) for key, (root, sources, casts) in
             list(record.plans.items())[-MAX_PLANS_PER_TEXT:]}
    disk_cache.store(digest, pickle.dumps((record.names, record.columns, plans), protocol=4),
                     disk_cache.PLAN_SUFFIX)


# The IR goes to a record as rows, one per node, operands first, each naming its operands by row:
# pickle would nest a deep expression's nodes (ten thousand terms) past the recursion limit.
def _flatten(root: Node) -> tuple:
    rows: dict[int, int] = {}
    flat = []
    for node in walk(root):
        rows[id(node)] = len(flat)
        flat.append((node.op, node.dtype, node.attr, tuple([rows[id(arg)] for arg in node.args])))
    return tuple(flat)


def _rebuild(flat: tuple) -> Node:
    built: list[Node] = []
    for op, dtype, attr, args in flat:
        if type(op) is not str or not isinstance(dtype, np.dtype) or type(args) is not tuple or \
                not all(type(k) is int and 0 <= k < len(built) for k in args):
            raise ValueError("not a row of IR")
        built.append(Node(op, tuple([built[k] for k in args]), dtype, attr))
    return built[-1]


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if name not in _ALLOWED.get(module, ()):
            raise pickle.UnpicklingError(f"a typed-plan record names {module}.{name}")
        return super().find_class(module, name)
