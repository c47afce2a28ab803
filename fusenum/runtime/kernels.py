"""The kernel cache: compiled kernels, kept in memory by signature, and on disk across processes.

A kernel's signature is its :class:`~fusenum.codegen.spec.KernelSpec` (the
hash-consed IR root, which fixes the expression and its dtypes; the operand
layout classes; the number of dimensions) plus the codegen settings (SIMD
level and vector-math mode, :mod:`fusenum.codegen.settings`). Both front ends
produce the same IR for the same expression, so they share kernels.

A kernel not in memory is looked up in the disk cache (:mod:`.disk_cache`),
else compiled and its object code written there. Compiling happens outside
this module's lock: a thread never waits for the compilation of another
kernel, and threads that need the same new kernel wait for one compilation (an
error in it reaches each of them).

:func:`cache_info` counts a *hit* for every call served by a kernel in memory
(or by another thread's compilation of it) and a *miss* for every other call;
a miss is a *disk hit* or, when the disk cache is in use, a *disk miss*. :func:`available`
gives a kernel only if it needs no compile (memory, then disk): the tiers
(:mod:`.tiering`) ask it, and count the calls the interpreter serves meanwhile
(``tier0_calls``).
"""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from typing import Callable, NamedTuple

from . import caches, disk_cache
from ..codegen import jit, mathlib, settings
from ..codegen.abi import KERNEL_CTYPE, SYMBOL, WHOLE_CTYPE, WHOLE_SYMBOL
from ..codegen.modules import kernel_module, symbols
from ..codegen.spec import KernelSpec
from ..codegen.target import Target, make_target

#: Kernels kept before the least recently compiled are freed (a plan still using one keeps it alive).
MAX_KERNELS = 2048


class CacheInfo(NamedTuple):
    """Kernel cache statistics (:func:`cache_info`)."""

    hits: int
    misses: int
    entries: int
    #: Misses served by the disk cache, and misses it could not serve (compiled).
    disk_hits: int = 0
    disk_misses: int = 0
    #: Bytes of kernels in the disk cache directory.
    disk_bytes: int = 0
    #: Seconds spent compiling (building LLVM IR, optimizing, emitting, linking).
    compile_seconds: float = 0.0
    #: Calls served by the interpreter (tier 0, :mod:`.interpreter`) while no kernel was at hand.
    tier0_calls: int = 0


class Kernel:
    """A compiled kernel: ``function(start, stop, operands_tuple, layout) -> status``.

    Checked kernels also have ``whole(operands_tuple) -> status``. ``origin`` is
    ``"compiled"`` or ``"disk"`` and ``seconds`` how long compiling or loading took.
    """

    __slots__ = ("spec", "target", "compiled", "address", "function", "whole", "needs_layout", "origin",
                 "seconds")

    def __init__(self, spec: KernelSpec, target: Target, compiled: jit.Compiled, origin: str, seconds: float):
        self.spec = spec
        self.target = target
        self.compiled = compiled
        self.address = compiled.addresses[SYMBOL]
        self.function = KERNEL_CTYPE(self.address)
        self.whole = WHOLE_CTYPE(compiled.addresses[WHOLE_SYMBOL]) if spec.checked else None
        self.needs_layout = spec.needs_layout
        self.origin = origin
        self.seconds = seconds


class _Stats:
    hits = 0
    misses = 0
    disk_hits = 0
    disk_misses = 0
    compile_seconds = 0.0
    tier0_calls = 0


class _Pending:
    """A kernel one thread is making; others that need it wait here."""

    __slots__ = ("done", "kernel", "error")

    def __init__(self):
        self.done = threading.Event()
        self.kernel: Kernel | None = None
        self.error: BaseException | None = None

    def wait(self) -> Kernel:
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.kernel


stats = _Stats()
_kernels: "OrderedDict[tuple, Kernel]" = OrderedDict()
_pending: dict[tuple, _Pending] = {}
_lock = threading.Lock()  # guards the tables and statistics, never held while compiling
_link_lock = threading.Lock()  # JIT linking (a fraction of a millisecond)


def _forked_child() -> None:
    _pending.clear()  # their makers are threads the child does not have
    _lock.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_lock.acquire, after_in_parent=_lock.release, after_in_child=_forked_child)


def kernel(spec: KernelSpec, settings_key: tuple | None = None) -> Kernel:
    """The compiled kernel for ``spec`` under the current codegen settings (or ``settings_key``),
    compiled on first use."""
    key = (spec, settings.key if settings_key is None else settings_key)
    while True:
        with _lock:
            found = _kernels.get(key)
            if found is not None:
                stats.hits += 1
                return found
            pending = _pending.get(key)
            mine = pending is None
            if mine:
                stats.misses += 1
                pending = _pending[key] = _Pending()
            else:
                stats.hits += 1
        if mine:
            return _make_for(key, pending, _make)
        found = pending.wait()
        if found is not None:  # else it was only looked for on disk (:func:`available`): try again
            return found


def available(spec: KernelSpec) -> Kernel | None:
    """The kernel for ``spec`` under the current settings if it is in memory or in the disk cache
    (loaded from there), else None: nothing is compiled, nor waited for."""
    key = (spec, settings.key)
    with _lock:
        found = _kernels.get(key)
        if found is not None:
            stats.hits += 1
            return found
        if key in _pending or not disk_cache.usable():
            return None
        pending = _pending[key] = _Pending()
    return _make_for(key, pending, _load)


def _make_for(key: tuple, pending: _Pending, make: Callable) -> Kernel | None:
    """Make the kernel for ``key`` with ``make`` (no lock held) and hand it, or the error, to
    ``pending``'s waiters; a ``make`` that finds nothing hands them None."""
    try:
        made, looked_on_disk = make(*key)
    except BaseException as exc:
        pending.error = exc
        with _lock:
            del _pending[key]
        pending.done.set()
        raise
    with _lock:
        del _pending[key]
        if made is None:
            pending.done.set()
            return None
        _kernels[key] = pending.kernel = made
        while len(_kernels) > MAX_KERNELS:
            _kernels.popitem(last=False)
        if made.origin == "disk":
            stats.disk_hits += 1
            stats.misses += make is _load  # kernel() counted its own miss
        else:
            stats.compile_seconds += made.seconds
            stats.disk_misses += looked_on_disk
    pending.done.set()
    return made


def _load(spec: KernelSpec, settings_key: tuple) -> tuple[Kernel | None, bool]:
    """``spec``'s kernel from the disk cache, or None; also True (the disk cache was looked in)."""
    target = make_target(settings_key[0])
    mathlib.load_libraries(settings_key[1])
    start = time.perf_counter()
    digest = disk_cache.key(_description(spec, settings_key), target)
    compiled = _load_linked(digest, symbols(spec))
    if compiled is None:
        return None, True
    return Kernel(spec, target, compiled, "disk", time.perf_counter() - start), True


def _description(spec: KernelSpec, settings_key: tuple) -> str:
    return f"kernel {settings_key!r}\n{spec.canonical()}"


def _make(spec: KernelSpec, settings_key: tuple) -> tuple[Kernel, bool]:
    """Load ``spec``'s kernel from the disk cache, else compile it (and store it there); also
    whether the disk cache was looked in."""
    target = make_target(settings_key[0])
    mathlib.load_libraries(settings_key[1])  # what object code compiled by another process may call
    start = time.perf_counter()
    compiled, origin, looked = load_or_compile(_description(spec, settings_key), target,
                                               lambda: kernel_module(spec, target), symbols(spec))
    return Kernel(spec, target, compiled, origin, time.perf_counter() - start), looked


def load_or_compile(description: str, target: Target, module_text: Callable[[], str],
                    names: list[str]) -> tuple[jit.Compiled, str, bool]:
    """Linked code for ``description`` (a canonical text of everything that decides it besides the
    target and fusenum's code generator) on ``target``: from the disk cache, else compiled from
    ``module_text()`` and stored. Also where it came from (``"disk"`` or ``"compiled"``) and
    whether the disk cache was looked in."""
    digest = disk_cache.key(description, target) if disk_cache.usable() else None
    if digest is not None:
        compiled = _load_linked(digest, names)
        if compiled is not None:
            return compiled, "disk", True
    object_code = jit.compile_object(module_text(), target)
    compiled = _link(object_code, names)
    if digest is not None:
        disk_cache.store(digest, object_code)
    return compiled, "compiled", digest is not None


def _load_linked(digest: str, names: list[str]) -> jit.Compiled | None:
    """The code stored under ``digest`` in the disk cache, linked; None if there is none (or it
    cannot be linked, when it is discarded)."""
    object_code = disk_cache.load(digest)
    if object_code is None:
        return None
    try:
        return _link(object_code, names)
    except RuntimeError:  # e.g. a library symbol this process cannot resolve
        disk_cache.discard(digest)
        return None


def _link(object_code: bytes, names: list[str]) -> jit.Compiled:
    with _link_lock:
        return jit.link(object_code, names)


def cached(spec: KernelSpec) -> Kernel | None:
    """The kernel for ``spec`` under the current settings if it is in memory (nothing made, nothing counted)."""
    with _lock:
        return _kernels.get((spec, settings.key))


def cache_info() -> CacheInfo:
    """Kernel cache statistics: hits, misses and entries (kernels held) in memory; disk hits and
    misses; bytes in the disk cache; seconds spent compiling."""
    with _lock:
        counts = (stats.hits, stats.misses, len(_kernels), stats.disk_hits, stats.disk_misses)
        seconds, tier0 = stats.compile_seconds, stats.tier0_calls
    return CacheInfo(*counts, disk_cache.bytes_on_disk(), seconds, tier0)


@caches.owner
def clear() -> None:
    """Forget every kernel in memory (statistics restart at zero; the disk cache stays)."""
    with _lock:
        _kernels.clear()
        stats.hits = stats.misses = stats.disk_hits = stats.disk_misses = stats.tier0_calls = 0
        stats.compile_seconds = 0.0
