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
C library and the Python implementation. A record is pickled IR as plain data (rows of nodes, and
sources and reductions' attributes as their fields), read back by an unpickler that makes nothing but
dtypes and Python's immutable types, then rebuilt. (A pickle can also set attributes of a class it
names, and it named the IR's own classes: a record could replace ``Node.dtype`` for the whole
process.) One that does not read back is removed, and the text parsed and typed again. Records
count towards the cache's size limit and are evicted with kernels.

Records are written off the call that typed the text (:func:`store` only notes them): by the
background compiler once no compile is queued, and at the latest when the process exits
(:func:`write_unwritten`). Writing one on the call cost a new machine's first call more than the
rest of it: 0.9 ms of 1.5 at N = 100 (the digest below, 0.6 ms once per process, then the pickle
and the atomic write), where numexpr's first call takes 0.5-0.65 ms. Beyond :data:`MAX_UNWRITTEN`
unwritten records (a run of new texts, none called twice, so no compile), the background thread
(:mod:`.background`) writes the oldest once the calls pause: with each call writing one, 400 new
texts at N = 100 (``benchmarks/new_texts.py``) took 226-250 ms, against 101-126 so (numexpr ~100),
their slowest call 41-45 ms against 1-5 (a call waited for the lock of a write the compiler thread
had begun, and for the GIL). Only beyond :data:`MAX_UNWRITTEN_HELD` (the thread has not kept up)
does each new record have the oldest written on its call: they keep typed IR alive, and the exit
writes them. Lookups of records that may well miss answer from a listing of the directory once
the process has missed a few (:mod:`.entry_listing`). A
directory that held no record when the process first looked is not looked in again for one (until
this process writes one there): a new cache directory's first calls skip the digest. (Only its first
64 entries are looked at: a bigger one may hold records.) A forked child
writes its records on the call (``multiprocessing``'s workers end with ``os._exit``, which runs no
exit handler); the exit's writes never bring back a directory removed meanwhile; and nothing is kept
or recalled while the disk cache is off.
"""
from __future__ import annotations

import atexit
import io
import os
import pickle
import platform
import sys
from functools import lru_cache

import numpy as np

from ..codegen import locks, target
from ..ir import numpy_behaviour
from ..ir.nodes import Node, walk
from ..ir.operands import Source
from ..ir.records import fields
from ..ir.reductions import ReduceAttr
from . import background, disk_cache, sources_digest

_FORMAT = "fusenum typed plans, format 2\0"  # 2: no IR class in a record
#: Typed plans kept per text (the first typed are dropped first).
MAX_PLANS_PER_TEXT = 16
#: Records a process keeps to write later; beyond this many the background thread writes the oldest ...
MAX_UNWRITTEN = 64
#: ... and beyond this many, the call that notes one more (see the module's docstring).
MAX_UNWRITTEN_HELD = 16 * MAX_UNWRITTEN
#: What a record may hold, by module: dtypes and Python's scalar types (in keys), types whose
#: attributes cannot be set (NumPy's ``dtype.__setstate__`` leaves its built-in dtypes alone).
_ALLOWED = {"numpy": {"dtype"}, "builtins": {"int", "float", "complex", "bool", "frozenset", "tuple"}}


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
    digest = sources_digest.new_hash(_FORMAT.encode())
    digest.update(sources_digest.typing_digest())
    for part in (numpy_behaviour.installation(), libc, sys.implementation.cache_tag or "", platform.machine(),
                 " ".join(sorted(flags))):
        digest.update(f"{part}\0".encode())
    return digest.digest()


def _digest(text: str) -> bytes | None:
    prefix = environment()
    if prefix is None:
        return None
    return sources_digest.new_hash(prefix + text.encode("utf-8", "surrogatepass")).digest()


_unwritten: dict[str, Record] = {}  # records to write, by text (oldest first)
# Whether a directory may hold records: as this process first found it, until it writes one there.
_may_hold: dict[str, bool] = {}
# Re-entrant, as fusenum's locks are: a signal handler's call may note a record while its thread writes one.
_lock = locks.lock()
# Held while a record is written. The exit handler takes it, so that a write the background compiler
# began ends before the interpreter does (a write cut off at exit left a temporary file behind).
_write_lock = locks.lock()
_exiting = False
#: Whether records are written on the call that types them: in a forked child, whose exit
#: (``multiprocessing``'s workers end with ``os._exit``) runs no exit handler.
_write_at_once = False
# Whether the background thread has been asked to write the records beyond MAX_UNWRITTEN (and has
# not begun yet): one such job at a time.
_writer_asked = False


def recall(text: str) -> Record | None:
    """The record of ``text``, if the disk cache is in use and this process has one to write for it
    or the disk cache holds one."""
    directory = disk_cache.directory_in_use()
    if directory is None:
        return None
    with _lock:
        unwritten = _unwritten.get(text)
    if unwritten is not None:  # (a copy: the caller adds plans to its record, a writer reads this one)
        return Record(unwritten.names, unwritten.columns, dict(unwritten.plans))
    if directory not in _may_hold:  # (a race looks twice: harmless)
        # (a directory of kernels without records, as a prebuild leaves it, is not read whole: the
        # lookups below find out, and the listing of :mod:`.entry_listing` answers them after a few)
        _may_hold[directory] = disk_cache.holds_any(directory, (disk_cache.PLAN_SUFFIX,), look_at=64)
    if not _may_hold[directory]:
        return None
    digest = _digest(text)
    payload = None if digest is None else disk_cache.load(digest, disk_cache.PLAN_SUFFIX, may_skip=True)
    if payload is None:
        return None
    try:
        names, columns, flat = _Unpickler(io.BytesIO(payload)).load()
        if not (type(names) is tuple and type(columns) is tuple and type(flat) is dict
                and len(names) == len(columns) and all(type(name) is str for name in names)):
            raise ValueError("not a record")
        plans = {key: (_rebuild(rows), tuple([_record(Source, row) for row in sources]), casts)
                 for key, (rows, sources, casts) in flat.items()}
    except Exception:  # (whatever a damaged or foreign record raises: it is only a cache)
        disk_cache.discard(digest, disk_cache.PLAN_SUFFIX)
        return None
    return Record(names, columns, plans)


def store(text: str, record: Record) -> None:
    """Keep ``record`` as ``text``'s: written to the disk cache later (replacing what another process
    kept: each keeps all it knows), by the background thread once too many wait, or at once the
    oldest if far too many wait (and every one in a forked child). Nothing is kept while the disk
    cache is not in use."""
    global _writer_asked
    if disk_cache.directory_in_use() is None:
        return
    with _lock:
        _unwritten.pop(text, None)
        _unwritten[text] = record
        held = len(_unwritten) > MAX_UNWRITTEN_HELD
        # (not while held: the call writes then, and a flag set with no job queued would keep the
        # background thread from ever being asked again)
        ask = MAX_UNWRITTEN < len(_unwritten) and not held and not _writer_asked and not _write_at_once
        _writer_asked = _writer_asked or ask
    if _write_at_once:
        write_unwritten()
    elif held:
        _write_beyond_bound(MAX_UNWRITTEN_HELD)
    elif ask and not background.submit(_write_in_background, after_pause=True):
        with _lock:  # (no thread to be had: a later record asks again, or writes on its call)
            _writer_asked = False


def _write_in_background() -> None:
    """The background thread's job: write the oldest records until :data:`MAX_UNWRITTEN` wait."""
    global _writer_asked
    with _lock:
        _writer_asked = False  # (records noted from now on may ask again)
    _write_beyond_bound(MAX_UNWRITTEN)


def _write_beyond_bound(bound: int) -> None:
    """Write the oldest records until at most ``bound`` wait. (Counted again with
    ``_write_lock`` held: threads that each wrote the one oldest record they saw wrote it once
    between them, and the records waiting grew without bound, 9,122 after 12,000 texts typed by 8
    threads, each keeping its typed IR alive, and all written at the exit.)"""
    with _write_lock:
        while True:
            with _lock:
                if len(_unwritten) <= bound:
                    return
                oldest = next(iter(_unwritten))
            _write_noted(oldest)


def unwritten() -> bool:
    """Whether this process has records it has not written yet."""
    return bool(_unwritten)


def write_unwritten(at_exit: bool = False) -> None:
    """Write every record this process noted and has not written yet (the background compiler
    calls this once no compile is queued, and the process at its exit; tests and benchmarks may
    too). Once
    the exit handler has begun, only it writes, and never into a directory removed meanwhile."""
    global _exiting
    while True:
        with _write_lock:
            if at_exit:
                _exiting = True
            elif _exiting:
                return
            with _lock:
                if not _unwritten:
                    return
                text = next(iter(_unwritten))
            _write_noted(text)


def _write_noted(text: str) -> None:
    """Write ``text``'s noted record (if still noted), then forget it unless it was replaced
    meanwhile: until it is on disk, a :func:`recall` finds it here, and does not type the text anew
    into a record that would replace it with fewer plans. Once the exit began, never into a
    directory removed meanwhile. (With ``_write_lock`` held.)"""
    with _lock:
        record = _unwritten.get(text)
    if record is None:
        return
    try:
        _write(text, record, not _exiting)
    finally:  # (a record that cannot be written is dropped, not tried for ever)
        with _lock:
            if _unwritten.get(text) is record:
                del _unwritten[text]


@atexit.register
def _write_at_exit() -> None:
    try:
        write_unwritten(at_exit=True)
    except Exception:  # noqa: S110 -- only a cache: an exit never fails for it
        pass


def _write(text: str, record: Record, create: bool = True) -> None:
    directory = disk_cache.directory_in_use()
    digest = None if directory is None else _digest(text)
    if digest is None:
        return
    plans = {key: (_flatten(root), tuple(map(_fields, sources)), casts) for key, (root, sources, casts) in
             list(record.plans.items())[-MAX_PLANS_PER_TEXT:]}
    disk_cache.store(digest, pickle.dumps((record.names, record.columns, plans), protocol=4),
                     disk_cache.PLAN_SUFFIX, create=create)
    _may_hold[directory] = True


def _forked_child() -> None:
    global _write_at_once, _writer_asked
    _write_at_once, _writer_asked = True, False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked_child)


# The IR goes to a record as rows, one per node, operands first, each naming its operands by row:
# pickle would nest a deep expression's nodes (ten thousand terms) past the recursion limit.
def _flatten(root: Node) -> tuple:
    rows: dict[int, int] = {}
    flat = []
    for node in walk(root):
        rows[id(node)] = len(flat)
        attr = _fields(node.attr) if node.op == "reduce" else node.attr
        flat.append((node.op, node.dtype, attr, tuple([rows[id(arg)] for arg in node.args])))
    return tuple(flat)


def _rebuild(flat: tuple) -> Node:
    built: list[Node] = []
    for op, dtype, attr, args in flat:
        if type(op) is not str or not isinstance(dtype, np.dtype) or type(args) is not tuple or \
                not all(type(k) is int and 0 <= k < len(built) for k in args):
            raise ValueError("not a row of IR")
        if op == "reduce":
            attr = _record(ReduceAttr, attr)
        built.append(Node(op, tuple([built[k] for k in args]), dtype, attr))
    return built[-1]


def _fields(item) -> tuple:
    """A record's (:mod:`fusenum.ir.records`) field values, in order."""
    return tuple([getattr(item, name) for name in fields(item)])


def _record(cls: type, values: object):
    if type(values) is not tuple or len(values) != len(fields(cls)):
        raise ValueError(f"not the fields of a {cls.__name__}")
    return cls(*values)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if name not in _ALLOWED.get(module, ()):
            raise pickle.UnpicklingError(f"a typed-plan record names {module}.{name}")
        return super().find_class(module, name)
