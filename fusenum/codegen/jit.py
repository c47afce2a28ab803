"""LLVM IR text -> machine code in this process, via llvmlite's ORC JIT.

Each kernel becomes its own JIT library: the module is parsed into its own LLVM
context and verified (llvmlite is built with LLVM assertions, so unverified IR
could abort the process; verification turns it into a
:class:`~fusenum.errors.CompileError`), turned into object code by a target
machine, and linked: by :mod:`.loader` (a ~60 µs copy-and-relocate, no LLVM
needed, so a disk-cache load never loads LLVM) or, for object code it does not
handle, by ORC (~0.25 ms). The returned :class:`Compiled` owns the code: when it
is garbage, its pages (or ORC's resource tracker) free the machine code. Compiling and linking
go through :func:`~fusenum.codegen.target.native` (:mod:`.orc`, a small binding
of its own), so fusenum never imports ``llvmlite.binding`` (except with an
llvmlite version that binding was not checked against).

The pipeline is chosen for IR that fusenum has already vectorized explicitly:
no module passes (llvmlite's pass builders also leave ~60 KB behind per use),
only code generation, at one of two levels: :data:`QUICK` (``opt=0``: fast
instruction selection and register allocation, ~4 ms, code up to ~1.5x
slower on math) and :data:`OPTIMIZED` (``opt=3``: ~17 ms, as fast as the
former ``-O3`` module pipeline + ``opt=3`` codegen (~78 ms) on fusenum's
float32/float64/complex kernels; float16 kernels are ~15% slower without
the module passes). Neither uses fast-math or
contraction, so both give the same bits, except which of two NaN operands an
instruction returns: either level may swap a commutative instruction's operands
(a product over lanes of inf and 0 meeting a NaN of the other sign; the README's
NaN paragraph).

Compiles in different threads run at the same time: each has its own context
and its own target machine (a TargetMachine caches subtargets without a
lock: a compile takes an idle one, or makes one, and gives it back, so the
helper thread each compile runs on does not make its own, ~0.8 ms), and
:mod:`.orc` takes no lock for a compile (through ``llvmlite.binding``, the
fallback, compiles run one at a time). Linking is serialized
(:data:`.orc.lock`; callers serialize it too).

llvmlite links every library into a JITDylib of its own and never removes it
(~9 KB each, even after the ResourceTracker has freed the code), so the JIT is
replaced by a fresh one every :data:`LINKS_PER_JIT` links: a JIT's memory,
JITDylibs included, is freed with the last tracker of the code linked into it.
"""
from __future__ import annotations

import ctypes
import itertools
import os
import sys
import threading
from contextlib import contextmanager
from functools import lru_cache

from ..errors import CompileError
from ..ir.records import record
from . import loader, locks, orc
from .target import Target, llvm_ready, loading, native

#: Codegen optimization levels: the quick first build and the optimized one.
QUICK, OPTIMIZED = 0, 3

_library_names = itertools.count()
# Idle target machines by (target, level): one thread uses a machine at a time.
_idle_machines: dict[tuple, list] = {}
_machines_lock = locks.lock()
#: Links into one LLJIT before a fresh one takes over. A kernel still alive keeps its LLJIT, and so
#: at most this many empty JITDylibs (~9 KB each), alive.
LINKS_PER_JIT = 64
_lljit_lock = locks.lock()
_lljit_state = {"jit": None, "links": 0}
# Compiles in progress; a fork waits for none (a child must not inherit LLVM mid-compile) and holds new ones.
_compiles = locks.fork_safe(threading.Condition())
_compile_state = {"active": 0, "forking": False, "exiting": False}
_fork_state: dict = {}


def _llvmlite_lock():
    """llvmlite's process-wide lock (private: ``ffi.lib._lock._lock``), if llvmlite is loaded."""
    ffi = sys.modules.get("llvmlite.binding.ffi")
    return getattr(getattr(getattr(ffi, "lib", None), "_lock", None), "_lock", None)


def _before_fork() -> None:
    with _compiles:
        _compile_state["forking"] = True
        _compiles.wait_for(lambda: _compile_state["active"] == 0)
    # Another thread may be inside a locked llvmlite call (a link, a dispose): a child that
    # inherited the lock held would hang at its first llvmlite call, e.g. freeing a target machine.
    # A thread loading LLVM holds ``loading`` and then takes the locks below: the same order here.
    loading.acquire()
    lock = _llvmlite_lock()
    if lock is not None:
        lock.acquire()
    _fork_state["llvmlite_lock"] = lock
    orc.lock.acquire()  # the same for this package's own calls into llvmlite's library


def _after_fork() -> None:
    orc.lock.release()
    lock = _fork_state.pop("llvmlite_lock", None)
    if lock is not None:
        lock.release()
    loading.release()
    with _compiles:
        _compile_state["forking"] = False
        _compiles.notify_all()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork)


@record
class Compiled:
    """A linked kernel library: symbol addresses, kept valid by ``tracker``."""

    addresses: dict[str, int]
    tracker: object
    object_code: bytes

    @property
    def address(self) -> int:
        """The address of the (first) exported symbol."""
        return next(iter(self.addresses.values()))


def _lljit():
    """The LLJIT for the next link (each tracker owns a reference to its LLJIT's C++ object)."""
    with _lljit_lock:
        if _lljit_state["jit"] is None or _lljit_state["links"] >= LINKS_PER_JIT:
            _lljit_state.update(jit=native().create_lljit(), links=0)
        _lljit_state["links"] += 1
        return _lljit_state["jit"]


@contextmanager
def _target_machine(target: Target, level: int):
    """A target machine for ``target`` at ``level`` that no other thread uses meanwhile."""
    key = (target, level)
    with _machines_lock:
        idle = _idle_machines.setdefault(key, [])
        machine = idle.pop() if idle else None
    if machine is None:
        machine = native().target_machine(target.cpu, target.features, level)
    try:
        yield machine
    finally:
        with _machines_lock:
            _idle_machines[key].append(machine)


@lru_cache(maxsize=None)
def _data_layout(target: Target) -> str:
    with _target_machine(target, OPTIMIZED) as machine:
        return machine.data_layout()


@lru_cache(maxsize=None)
def _triple() -> str:
    return native().process_triple()


def _build(module_text: str, target: Target, level: int, object_code: bool) -> bytes:
    with _compiles:
        _compiles.wait_for(lambda: not _compile_state["forking"])
        if _compile_state["exiting"] and getattr(_exit_marks, "on", False):
            raise Exiting("the interpreter is exiting: this background compile does not start")
        _compile_state["active"] += 1
    try:
        return _build_in_context(module_text, target, level, object_code)
    finally:
        with _compiles:
            _compile_state["active"] -= 1
            _compiles.notify_all()


class Exiting(Exception):
    """Raised instead of compiling on a thread marked by :func:`stop_this_thread_at_exit`, once the
    interpreter exits: nobody waits for that compile, and LLVM must not run while it exits."""


_exit_marks = threading.local()


def stop_this_thread_at_exit() -> None:
    """From now on, compiles on this thread raise :class:`Exiting` once the interpreter exits
    (:func:`finish_before_exit`): for a background compiler's thread, whose work nobody waits for."""
    _exit_marks.on = True


def finish_before_exit() -> None:
    """Wait until no compile runs on any thread, and start none on a thread marked by
    :func:`stop_this_thread_at_exit` from now on. For the interpreter's exit: its teardown of LLVM's static
    state under a running compile made the process abort on an LLVM assertion, or crash (1 run in
    40 of a script that exits right after queuing 30 compiles); a compile that a Ctrl-C left
    running on a helper thread is waited for too. Unmarked threads still compile (a call made by
    a later exit handler waits for its kernel)."""
    with _compiles:
        _compile_state["exiting"] = True
        _compiles.wait_for(lambda: _compile_state["active"] == 0)


def exiting() -> bool:
    """Whether the interpreter's exit began (:func:`finish_before_exit` ran)."""
    return _compile_state["exiting"]


def _build_in_context(module_text: str, target: Target, level: int, object_code: bool) -> bytes:
    with _target_machine(target, level) as machine:
        return native().compile(module_text, machine, _triple(), _data_layout(target), object_code)


def compile_object(module_text: str, target: Target, quick: bool = False) -> bytes:
    """Object code for ``module_text`` on ``target`` (what :func:`link` loads and a disk cache keeps);
    ``quick`` builds it at the :data:`QUICK` level instead of :data:`OPTIMIZED`. Thread-safe."""
    return _build(module_text, target, QUICK if quick else OPTIMIZED, object_code=True)


def compile_kernel(module_text: str, symbols, target: Target) -> Compiled:
    """Compile ``module_text`` for ``target``; resolve ``symbols`` (a name or a list of names)."""
    return link(compile_object(module_text, target), symbols)


def link(object_code: bytes, symbols, jit: bool = True) -> Compiled | None:
    """Load object code into executable memory and resolve ``symbols`` (a name or a list of
    names): by :mod:`.loader` (no LLVM needed) where it can, else by the JIT (``jit`` False:
    None instead). A pre-linked image (:func:`storable`) only the loader maps: if it cannot
    (a library symbol this process lacks), RuntimeError names what is missing."""
    symbols = [symbols] if isinstance(symbols, str) else list(symbols)
    tracker = loader.load(object_code, symbols)
    if tracker is None and not jit:
        return None
    if tracker is None and object_code.startswith(loader.PRELINKED):  # not for ORC: no object
        missing = loader.missing_symbols(object_code)
        raise RuntimeError(f"Symbols not found: [ {', '.join(missing)} ]" if missing
                           else "a damaged or foreign pre-linked kernel image")
    if tracker is None:
        try:
            tracker = link_with_jit(object_code, symbols)
        except RuntimeError as exc:
            missing = loader.missing_symbols(object_code)
            if missing:  # ORC's own message names only the symbols it was asked for
                raise RuntimeError(f"Symbols not found: [ {', '.join(missing)} ]") from exc
            raise
    return Compiled({symbol: tracker[symbol] for symbol in symbols}, tracker, object_code)


def storable(object_code: bytes) -> bytes:
    """What a disk cache keeps of ``object_code``: its pre-linked image (:func:`.loader.prelink`),
    which :func:`link` maps without parsing, where this process could load that; else the object."""
    image = loader.prelink(object_code)
    return object_code if image is None or loader.missing_symbols(image) else image


def link_with_jit(object_code: bytes, symbols: list[str]):
    """Link ``object_code`` through LLVM's JIT; the returned tracker has the addresses of ``symbols``
    and frees the code when garbage."""
    for name in _libraries:
        try:
            _known_to_llvm(name)
        except RuntimeError:  # then linking says which symbol it cannot find
            pass
    return _lljit().link(f"fusenum_{next(_library_names)}", object_code, symbols)


def assembly(module_text: str, target: Target) -> str:
    """The optimized machine assembly for ``module_text`` (for inspection and tests)."""
    return _build(module_text, target, OPTIMIZED, object_code=False).decode()


#: Shared libraries loaded for kernels (:func:`load_library`).
_libraries: list[str] = []


def load_library(name: str) -> bool:
    """Make a shared library's symbols visible to kernels; False if it cannot be loaded. LLVM is
    told only once it is loaded (a disk-cache load links without it)."""
    try:
        handle = ctypes.CDLL(name)
    except OSError:
        return False
    if llvm_ready():
        try:
            _known_to_llvm(name)
        except RuntimeError:
            return False
    loader.add_library(handle._handle)
    _libraries.append(name)
    return True


@lru_cache(maxsize=None)
def _known_to_llvm(name: str) -> None:
    """Have LLVM (symbol lookups, the JIT's linker) search library ``name``."""
    native().load_library_permanently(name)
