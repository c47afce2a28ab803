"""The kernel cache: compiled kernels, kept in memory by signature, and on disk across processes.

A kernel's signature is its :class:`~fusenum.codegen.spec.KernelSpec` (the hash-consed IR root,
which fixes the expression and its dtypes; the operand layout classes; the number of dimensions)
plus the codegen settings (SIMD level and vector-math mode, :mod:`fusenum.codegen.settings`). Both
front ends produce the same IR for the same expression, so they share kernels.

A kernel not in memory is looked up in the disk cache (:mod:`.disk_cache`), else compiled and its
object code written there. Compiling happens outside this module's lock: a thread never waits for
the compilation of another kernel, and threads that need the same new kernel wait for one
compilation (an error in it reaches each of them).

A kernel compiled here (:mod:`.stored_code` loads, compiles and stores the code) is first built
quickly (:data:`~fusenum.codegen.jit.QUICK`), stored in the disk cache as a quick build and used at
once; a background thread then builds the optimized code, swaps it in (same results, bit for bit)
and writes that to the disk cache in the quick build's place: :mod:`.background` for a build a call
waited for (at exit its queue goes to a helper process, :mod:`.exit_compiles`, or is finished), the
tiers' compiler (:data:`defer`) for one nobody waited for and for a quick build a later process
loads from the disk cache (pending there, it never delays exit; LLVM work already running is
finished). ``FUSENUM_COMPILE=optimized`` builds optimized code straight away, and does not use quick
builds from the disk cache.

At most :data:`MAX_KERNELS` kernels are kept (``FUSENUM_MAX_KERNELS``, default 2048); the least
recently compiled is dropped, and its machine code is freed once no plan uses it.

:func:`cache_info` counts a *hit* for every call served by a kernel in memory (or by another
thread's compilation of it) and a *miss* for every other call; a miss is a *disk hit* or, when the
disk cache is in use, a *disk miss*. :func:`available` gives a kernel only if it needs no compile
(memory, then disk): the tiers (:mod:`.tiering`) ask it, and count the calls the interpreter serves
meanwhile (``tier0_calls``).

No call compiles on a thread that is importing the code generator further up its stack (a signal
handler's call during that thread's first compile: :func:`importing_code_generator`): the modules
it needs are partially initialized there. Kernels at hand still serve it (the tiers have tier 0 serve
the others); one it would compile raises :class:`~fusenum.errors.ReentrantCompileError`.
"""
from __future__ import annotations

import os
import threading
import time
import weakref
from collections import OrderedDict
from contextlib import contextmanager, nullcontext
from typing import Callable, NamedTuple

from . import background, caches, disk_cache, host_record, shipped
from .compiled_kernel import HOLD_GIL_ELEMENTS, HOLD_GIL_WORK, Kernel  # noqa: F401 (HOLD_GIL_*: re-exported)
from .switches import whole_number
from .stored_code import builder, link_loaded, load_entry, load_or_compile
from ..codegen import jit, locks, settings
from ..codegen.abi import entry_points
from ..codegen.spec import KernelSpec
from ..codegen.target import Target, generic_target, host_described, llvm_ready, loading, make_target, native
from ..errors import ConfigurationError, ReentrantCompileError
from ..ir.ops import numpy_answers


def _setting(name: str, default: str, valid: Callable[[str], bool], expected: str) -> str:
    value = os.environ.get(name, "").strip().lower() or default
    if not valid(value):
        raise ConfigurationError(f"{name} must be {expected}, not {value!r}")
    return value


#: How often a thread waiting for a compilation checks for signals (seconds).
WAIT_SECONDS = 0.02
#: How long after its quick build a kernel's optimized build waits before starting (seconds).
OPTIMIZE_DELAY = 0.002
#: Kernels kept before the least recently compiled are freed (a plan still using one keeps it alive).
MAX_KERNELS = int(_setting("FUSENUM_MAX_KERNELS", "2048", lambda v: bool(whole_number(v)), "a positive integer"))
#: Build new kernels quickly first and optimize them in the background (``FUSENUM_COMPILE=tiered``,
#: the default), or optimize before first use (``optimized``).
_MAX_BEHIND = 32
TIERED = _setting("FUSENUM_COMPILE", "tiered", lambda v: v in ("tiered", "optimized"),
                  "'tiered' or 'optimized'") == "tiered"


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
    #: Misses served by the kernels shipped with the package (:mod:`.shipped`).
    shipped_hits: int = 0


class _Stats:
    hits = 0
    misses = 0
    disk_hits = 0
    disk_misses = 0
    compile_seconds = 0.0
    tier0_calls = 0
    shipped_hits = 0


class _Pending:
    """A kernel one thread is making; others that need it wait here."""

    __slots__ = ("done", "kernel", "error", "taken", "maker")

    def __init__(self):
        self.done = threading.Event()
        self.kernel: Kernel | None = None
        self.error: BaseException | None = None
        self.taken = False  # a thread is making it (else, if its maker was interrupted, nobody)
        #: The thread making it: one that asks again for it (a signal handler's call, further down
        #: the maker's own stack) would wait for itself.
        self.maker = threading.get_ident()

    def wait(self) -> Kernel | None:
        """The kernel; None if nobody made it (ask again)."""
        while not self.done.wait(WAIT_SECONDS):  # a timeout loop: Ctrl-C gets through at once
            pass
        if self.error is not None:
            raise self.error
        return self.kernel


stats = _Stats()
_kernels: "OrderedDict[tuple, Kernel]" = OrderedDict()
_pending: dict[tuple, _Pending] = {}
# Guards the tables and statistics, never held while compiling; a fork waits for it. Both locks are
# re-entrant: a signal handler that calls fusenum may run while its thread holds one (:mod:`.locks`).
_lock = locks.lock(hold=True)

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_pending.clear)  # their makers are threads the child does not have


def kernel(spec: KernelSpec, settings_key: tuple | None = None) -> Kernel:
    """The compiled kernel for ``spec`` under the current codegen settings (or ``settings_key``),
    compiled on first use."""
    key = (spec, settings.key if settings_key is None else settings_key)
    while True:
        mine = False
        try:
            with _lock:
                found = _kernels.get(key)
                if found is not None:
                    stats.hits += 1
                    return found
                pending = _pending.get(key)
                if pending is None:
                    stats.misses += 1
                    pending = _pending[key] = _Pending()
                    mine = True
                else:
                    stats.hits += 1
            if mine:
                if _stopped_at_exit():
                    _abandon(key, pending)  # (a waiting exit handler's call makes it itself)
                    _park()
                with _waiting_call():
                    return _make_or_hand_over(key, pending)
        except BaseException:
            if mine and not pending.taken:  # nobody will make it: let waiters try again
                _abandon(key, pending)
            raise
        if pending.maker == threading.get_ident() or locks.held_here():
            # A signal handler's call, while this thread is inside fusenum further up its stack:
            # it may be this kernel's maker, or hold a lock its maker needs. Waiting would never
            # end: made here too (the maker keeps its own).
            return _make(*key)[0]
        with _waiting_call():
            found = pending.wait()
        if found is not None:  # else it was only looked for on disk (:func:`available`), or its
            return found       # maker was interrupted before it began: try again


def _stopped_at_exit() -> bool:
    """Whether this call must not compile: the interpreter's exit has begun (:func:`jit.exiting`) and
    this is one of the program's daemon threads, which the exit does not wait for. Its compiles
    would keep :func:`jit.finish_before_exit` waiting (eight daemon threads compiling new
    expressions held an exit for 16 s or more, or for good), and LLVM must not run while the
    interpreter tears it down. fusenum's own threads and a call holding one of its locks go on."""
    if not jit.exiting() or getattr(_unwatched, "on", False) or locks.held_here():
        return False
    return threading.current_thread().daemon


def _park() -> None:
    """Stop this daemon thread for good, as the interpreter's exit stops every daemon thread."""
    threading.Event().wait()


def _waiting_call():
    """Count a call waiting for its kernel (:func:`.background.call_in_progress`: background jobs
    let it finish first), unless this is the tiers' background compiler (:func:`nobody_waiting`)."""
    return nullcontext() if getattr(_unwatched, "on", False) else background.call_in_progress()


def _make_or_hand_over(key: tuple, pending: _Pending) -> Kernel:
    """Make the kernel for ``key``.

    Signals reach the main thread only, and not while it is inside LLVM: there a compile runs on
    a helper thread while this one waits, so Ctrl-C interrupts the wait at once. The helper
    still finishes, and the kernel is cached for the next call. A disk-cache load is short (no
    long LLVM call, and starting a thread would cost more): the main thread does it itself. So
    does a call from an exit handler: a helper still finishing once the interpreter finalizes
    would want the GIL then, which can hang the exit (a CPython race with daemon threads; seen
    once in ~20 CI runs on Python 3.13.0).
    """
    if threading.current_thread() is not threading.main_thread() or locks.held_here() or jit.exiting():
        # (holding one of fusenum's locks: a signal handler's call, which a helper needing that
        # lock would keep waiting)
        pending.taken = True
        return _make_for(key, pending, _make)
    make = _make
    found = _shipped(*key)
    if found is not None:
        pending.taken = True
        return _publish(key, pending, found, False, count_miss=False)
    if disk_cache.usable():
        loaded, _ = _load(*key)  # an exception here: kernel() lets the waiters try again
        if loaded is not None:
            pending.taken = True
            return _publish(key, pending, loaded, True, count_miss=False)
        make = _compile
    helper = threading.Thread(target=_make_quietly, args=(key, pending, make), name="fusenum-compile",
                              daemon=True)
    try:
        helper.start()
    finally:
        pending.taken = helper.ident is not None
    pending.maker = helper.ident
    return pending.wait()


def _abandon(key: tuple, pending: _Pending) -> None:
    with _lock:
        _forget(key, pending)
    pending.done.set()


def _forget(key: tuple, pending: _Pending) -> None:
    """Drop ``pending`` from the table (with the lock held) unless it was abandoned and replaced."""
    if _pending.get(key) is pending:
        del _pending[key]


def _make_quietly(key: tuple, pending: _Pending, make: Callable) -> None:
    try:
        _make_for(key, pending, make)
    except BaseException:  # noqa: S110 -- the error reaches every waiter through ``pending``
        pass


def available(spec: KernelSpec, settings_key: tuple | None = None, shipped_too: bool = False) -> Kernel | None:
    """The kernel for ``spec`` under the current settings (or ``settings_key``) if it is in memory
    or in the disk cache (``shipped_too``: or shipped with the package, looked for first), loaded
    now; else None: nothing is compiled, nor waited for. The disk cache is looked in only where
    that needs no LLVM (the host is described, :mod:`.host_record`): else the tiers have the
    interpreter serve the call while the background compiler loads LLVM and then the kernel."""
    key = (spec, settings.key if settings_key is None else settings_key)
    with _lock:
        found = _kernels.get(key)
        if found is not None:
            stats.hits += 1
            return found
        if key in _pending or not (shipped_too or disk_cache.usable()):
            return None
    host_record.recall()
    with _lock:
        if key in _pending or not (shipped_too or host_described()):
            return None
        pending = _pending[key] = _Pending()
    return _make_for(key, pending, _load_shipped_or_stored if shipped_too else _load_at_hand)


def _load_shipped_or_stored(spec: KernelSpec, settings_key: tuple) -> tuple[Kernel | None, bool]:
    """:func:`_shipped`, else :func:`_load` where that needs no LLVM, else ``(None, False)``."""
    found = _shipped(spec, settings_key)
    if found is not None or not (disk_cache.usable() and host_described()):
        return found, False
    return _load_at_hand(spec, settings_key)


def _load_at_hand(spec: KernelSpec, settings_key: tuple) -> tuple[Kernel | None, bool]:
    """:func:`_load` for a call that runs tier 0 without it: not looked for where this process's
    listing of the directory lacks it (:mod:`.entry_listing`; a compile always looks)."""
    return _load(spec, settings_key, may_skip=True)


def _make_for(key: tuple, pending: _Pending, make: Callable) -> Kernel | None:
    """Make the kernel for ``key`` with ``make`` (no lock held) and hand it, or the error, to
    ``pending``'s waiters; a ``make`` that finds nothing hands them None."""
    try:
        made, looked_on_disk = make(*key)
    except jit.Exiting:  # a background compile stopped at exit: a waiting call makes it itself
        _abandon(key, pending)
        raise
    except BaseException as exc:
        if not isinstance(exc, Exception):
            # The maker's own interruption (Ctrl-C in a disk load), not the kernel's error: raised
            # here only, and other threads waiting for the kernel try again.
            _abandon(key, pending)
            raise
        pending.error = exc
        with _lock:
            _forget(key, pending)
        pending.done.set()
        raise
    return _publish(key, pending, made, looked_on_disk,
                    count_miss=make in (_load, _load_at_hand, _load_shipped_or_stored))


def _publish(key: tuple, pending: _Pending, made: Kernel | None, looked_on_disk: bool,
             count_miss: bool) -> Kernel | None:
    """Keep ``made`` (unless None) and hand it to ``pending``'s waiters; ``count_miss``: the call
    was not counted yet (:func:`kernel` counts its own)."""
    with _lock:
        _forget(key, pending)
        if made is None:
            pending.done.set()
            return None
        _kernels[key] = pending.kernel = made
        while len(_kernels) > MAX_KERNELS:
            _kernels.popitem(last=False)
        if made.origin == "shipped":
            stats.shipped_hits += 1
            stats.misses += count_miss
        elif made.origin == "disk":
            stats.disk_hits += 1
            stats.misses += count_miss
        else:
            stats.compile_seconds += made.seconds
            stats.disk_misses += looked_on_disk
    pending.done.set()
    return made


def _load(spec: KernelSpec, settings_key: tuple, may_skip: bool = False) -> tuple[Kernel | None, bool]:
    """``spec``'s kernel from the disk cache, or None; also True (the disk cache was looked in).
    Needs neither the code generator nor LLVM, once the host is described (:mod:`.host_record`).
    ``may_skip``: as :func:`.disk_cache.load`'s."""
    host_record.recall()
    target = make_target(settings_key[0])
    host_record.record()  # if LLVM was asked
    start = time.perf_counter()
    digest = _digest(spec, settings_key, target)
    names = entry_points(spec.checked)
    compiled, quick = load_entry(digest, names, TIERED, may_skip)
    if compiled is None:
        return None, True
    made = Kernel(spec, target, compiled, "disk", time.perf_counter() - start, "quick" if quick else "optimized")
    if quick:
        build = builder(digest, target, lambda quick: module_text(spec, target, quick, settings_key), names)
        _queue_optimization(build, made, (spec, settings_key), from_disk=True)
    return made, True


def _shipped(spec: KernelSpec, settings_key: tuple) -> Kernel | None:
    """``spec``'s kernel shipped with the package (:mod:`.shipped`: no LLVM, no host description), or None."""
    start = time.perf_counter()
    archive = shipped.archive(settings_key)
    code = None if archive is None else archive.object_code(description(spec, settings_key, portable=True))
    compiled = None if code is None else link_loaded(code, entry_points(spec.checked))
    if compiled is None:
        return None
    return Kernel(spec, generic_target(settings_key[0]), compiled, "shipped", time.perf_counter() - start)


def _digest(spec: KernelSpec, settings_key: tuple, target: Target) -> bytes:
    """The disk-cache key of ``spec``'s kernel under ``settings_key`` on ``target``."""
    return disk_cache.key(description(spec, settings_key), target)


def description(spec: KernelSpec, settings_key: tuple, portable: bool = False) -> str:
    """The canonical text of what decides ``spec``'s code under ``settings_key``, besides the target
    and fusenum's code generator (:func:`.disk_cache.key`); ``portable``: NumPy named by its release,
    not its installation (:func:`~fusenum.ir.ops.numpy_answers`), as shipped archives (:mod:`.shipped`) name it."""
    # Where its code follows how the installed NumPy's loops compute, NumPy's answers name it too
    # (only then: the power and clip probes cost ~1.2 ms once per process).
    answers = numpy_answers(spec.root, portable)
    return f"kernel {settings_key!r}\n{spec.canonical()}" + (f"\nnumpy\n{answers}" if answers else "")


def _make(spec: KernelSpec, settings_key: tuple, look: bool = True) -> tuple[Kernel, bool]:
    """Load ``spec``'s kernel as shipped or from the disk cache (unless ``look`` is False: just looked
    for), else compile it (and store it there); also whether the disk cache was looked in."""
    found = _shipped(spec, settings_key) if look else None
    if found is not None:
        return found, False
    target = make_target(settings_key[0])
    start = time.perf_counter()
    later: list = []
    compiled, origin, looked = load_or_compile(description(spec, settings_key), target,
                                               lambda quick: module_text(spec, target, quick,
                                                                          settings_key),
                                               entry_points(spec.checked),
                                               later if TIERED else None, look, quick=_tier())
    made = Kernel(spec, target, compiled, origin, time.perf_counter() - start, "quick" if later else "optimized")
    if later:
        _queue_optimization(later[0], made, (spec, settings_key), from_disk=origin == "disk")
    return made, looked


#: Set by :mod:`.tiering`: ``defer(job, delay, key)`` runs ``job`` (the optimized build of ``key``'s
#: kernel) on its background compiler after every compile a call asked for, and not before ``delay``
#: seconds have passed.
defer: Callable[[Callable[[], None], float, tuple], None] | None = None
#: How long the optimized build of a quick build loaded from the disk cache waits (seconds): a
#: process that ends sooner (a script, a test) never loads LLVM for it, and the quick build stays
#: for the next process.
OPTIMIZE_LOADED_AFTER = 0.25


def _queue_optimization(optimize: Callable[[], jit.Compiled], made: Kernel, key: tuple, from_disk: bool) -> None:
    """Have ``made``'s optimized build (``key``: its spec and settings key) made by ``optimize()``
    and swapped in, later. On the tiers' compiler, behind the compiles calls ask for, where nobody
    waited for the quick build (the compiler's own builds, and a quick build from the disk cache,
    then no sooner than :data:`OPTIMIZE_LOADED_AFTER` after the load): pending there, it never
    delays the interpreter's exit (only LLVM work already running is finished; the rest goes to the
    exit helper, :mod:`.exit_compiles`). Else on :mod:`.background`, whose queue at exit goes to that
    helper too, or is finished."""
    queued = time.perf_counter()
    job = lambda optimize=optimize, kernel=weakref.ref(made): _optimize(optimize, kernel, queued)  # noqa: E731
    if defer is not None and (from_disk or getattr(_unwatched, "on", False)):
        defer(job, OPTIMIZE_LOADED_AFTER if from_disk else 0.0, key)
    else:
        background.submit(job, lower=True, key=key)


def store_on_disk(spec: KernelSpec, settings_key: tuple) -> bool:
    """Make sure the disk cache holds ``spec``'s kernel under ``settings_key``: compile the
    optimized build and store it unless a good entry is there. True if it compiled. Nothing is kept
    in memory or counted in :func:`cache_info` (:func:`fusenum.prebuild` fills the disk this way)."""
    target = make_target(settings_key[0])
    digest = _digest(spec, settings_key, target)
    if disk_cache.load(digest) is not None:
        return False
    object_code = jit.compile_object(module_text(spec, target, False, settings_key), target)
    host_record.record()
    disk_cache.store(digest, jit.storable(object_code))
    disk_cache.discard(digest, disk_cache.QUICK_SUFFIX)
    return True


def on_disk(spec: KernelSpec, settings_key: tuple) -> bool:
    """Whether the disk cache holds a good entry of ``spec``'s optimized build under ``settings_key``
    (as :func:`store_on_disk` leaves it)."""
    return disk_cache.load(_digest(spec, settings_key, make_target(settings_key[0]))) is not None


def load_compiler() -> None:
    """Import the code generator and load LLVM now, as a first compile would."""
    _code_generator()
    native()
    host_record.record()  # (here, on the compiler's thread: else a call's first disk load did, ~3 ms)


#: The code generator's entry point once imported (:func:`_code_generator`).
_kernel_module: Callable | None = None
# On a thread inside the code generator's import: a call made there (a signal handler's) finds its
# modules partially initialized, so it cannot compile (:func:`importing_code_generator`).
_importing = threading.local()


def compiler_loaded() -> bool:
    """Whether this process has imported the code generator and loaded LLVM (a compile then costs
    only its own work)."""
    return _kernel_module is not None and llvm_ready()


def importing_code_generator() -> bool:
    """Whether this thread is importing the code generator further up its stack: a call made now
    is a signal handler's, and can use only kernels at hand (:func:`available`, tier 0's) until
    that import ends; a compile raises :class:`~fusenum.errors.ReentrantCompileError`."""
    return getattr(_importing, "on", False)


def _code_generator() -> Callable:
    """The code generator's entry point, imported on first use (not by ``import fusenum``, nor for
    a disk load)."""
    global _kernel_module
    if _kernel_module is not None:
        return _kernel_module
    if importing_code_generator():
        raise ReentrantCompileError(
            "fusenum cannot compile a kernel while this thread is importing its code generator (a signal "
            "handler's call during the process's first compile): call it from the handler once that "
            "import has ended, or have the kernels it needs compiled beforehand")
    with loading:
        _importing.on = True
        try:
            from ..codegen.modules import kernel_module
        finally:
            _importing.on = False
    _kernel_module = kernel_module
    return kernel_module


def load_code_generator() -> None:
    """Import the code generator now, as a thread's first compile does (marked, so that a signal
    handler's call during the import is served without compiling): for a caller that inspects
    kernels rather than compiles them (``fusenum.explain``)."""
    _code_generator()


def module_text(spec: KernelSpec, target: Target, quick: bool, settings_key: tuple, machine: str | None = None) -> str:
    """``spec``'s LLVM IR for ``target`` under ``settings_key`` (``quick``: for a quick build;
    ``machine``: for a machine whose widest SIMD level is that one, not this one)."""
    kernel_module = _code_generator()
    with settings.building(settings_key, machine):  # the optimized build runs later, maybe under other settings
        return kernel_module(spec, target, quick)


def _compile(spec: KernelSpec, settings_key: tuple) -> tuple[Kernel, bool]:
    """:func:`_make` for a kernel just looked for on disk and not found there."""
    return _make(spec, settings_key, look=False)


_unwatched = threading.local()


@contextmanager
def nobody_waiting():
    """No caller waits for kernels compiled in this block (on this thread: the tiers' background
    compiler, :mod:`.tiering`, while the interpreter serves): their quick builds are stored as
    such, and their optimized builds wait behind compiles calls ask for (:data:`defer`)."""
    previous = getattr(_unwatched, "on", False)
    _unwatched.on = True
    try:
        yield
    finally:
        _unwatched.on = previous


def _tier() -> bool:
    """Whether to build quickly first: unless the background thread is behind (then compiling
    optimized code at once bounds its queue). The tiers' compiler builds quickly first too: the
    kernel arrives about three times sooner (~7 ms against ~21 on the first-call workload), and
    a process that exits before its optimized build leaves the quick one on disk."""
    return TIERED and (getattr(_unwatched, "on", False) or background.pending() < _MAX_BEHIND)


def _optimize(optimize: Callable[[], jit.Compiled], kernel: "weakref.ref[Kernel]", queued: float) -> None:
    if kernel() is None:
        return  # evicted and unused before its turn
    # The optimized build starts by building its IR text, Python work that holds the GIL: let the call
    # that queued it return first (a waiting thread wakes only when it gets the GIL).
    delay = queued + OPTIMIZE_DELAY - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
        if kernel() is None:
            return
    start = time.perf_counter()
    compiled = optimize()
    made = kernel()
    if made is not None:
        made.optimized(compiled)
    with _lock:
        stats.compile_seconds += time.perf_counter() - start


def cached(spec: KernelSpec, settings_key: tuple | None = None) -> Kernel | None:
    """The kernel for ``spec`` under the current settings (or ``settings_key``) if it is in memory
    (nothing made, nothing counted)."""
    key = (spec, settings.key if settings_key is None else settings_key)
    with _lock:
        return _kernels.get(key)


def at_hand(spec: KernelSpec, settings_key: tuple | None = None) -> bool:
    """Whether ``spec``'s kernel (under the current settings, or ``settings_key``) is in memory, or
    shipped with the package or in the disk cache (then loaded now): what tier 0 asks of its
    one-node kernels."""
    if settings_key is None:
        settings_key = settings.key  # (read once: another thread may change the settings meanwhile)
    return cached(spec, settings_key) is not None or available(spec, settings_key, shipped_too=True) is not None


def cache_info() -> CacheInfo:
    """Kernel cache statistics: hits, misses and entries (kernels held) in memory; disk hits and
    misses; bytes in the disk cache; seconds spent compiling."""
    with _lock:
        counts = (stats.hits, stats.misses, len(_kernels), stats.disk_hits, stats.disk_misses)
        seconds, tier0, shipped_hits = stats.compile_seconds, stats.tier0_calls, stats.shipped_hits
    return CacheInfo(*counts, disk_cache.bytes_on_disk(), seconds, tier0, shipped_hits)


@caches.owner
def clear() -> None:
    """Forget every kernel in memory (statistics restart at zero; the disk cache stays)."""
    with _lock:
        _kernels.clear()
        stats.hits = stats.misses = stats.disk_hits = stats.disk_misses = stats.tier0_calls = stats.shipped_hits = 0
        stats.compile_seconds = 0.0
