"""Running one kernel call on several cores.

A kernel works on a range ``[start, stop)`` of the flattened iteration space
and ctypes releases the GIL while it runs, so plain Python threads calling the
kernel on disjoint ranges use every core. The pool is persistent (threads are
started once and wait on a queue) because starting a thread costs more than
a small kernel call. The calling thread takes the first chunk itself.

Where possible the threads are native (:mod:`fusenum.codegen.pool`: pthreads
running JIT-compiled code that spin briefly between calls, so handing out a
chunk costs about a microsecond); elsewhere they are Python threads, whose
hand-off costs tens of microseconds.

A big call is run in *rounds* of a few milliseconds each (:data:`ROUND_WORK`):
between rounds the workers are idle and the calling thread is back in Python,
which runs signal handlers, so Ctrl-C raises ``KeyboardInterrupt`` within a
round instead of when the whole call is done. Rounds only group the ranges a
call is cut into anyway, so no bit changes.

The thread count is ``FUSENUM_NUM_THREADS`` if set, else ``OMP_NUM_THREADS``
(as numexpr reads it: dask's workers set it to 1, so a task runs on its one
core), else the number of cores this process may run on
(``os.sched_getaffinity``); :func:`set_num_threads` changes it. Calls from
many Python threads at once are safe: every call has its own chunks and its
own completion queue. After ``fork()`` the child starts
with a fresh pool (the parent's threads do not exist there).
"""
from __future__ import annotations

import _thread
import operator
import os
import struct
import threading
import warnings
from typing import TYPE_CHECKING, Callable

from . import background
from .switches import whole_number
from ..codegen import locks, pool_abi
from ..errors import ArgumentTypeError, ConfigurationError

if TYPE_CHECKING:
    import queue


class _DeferredPool:
    """Stands for :mod:`fusenum.codegen.pool` (which loads llvmlite) until first used, keeping
    ``import fusenum`` fast; the first use puts the real module in its place."""

    def __getattr__(self, name: str):
        from ..codegen.target import loading
        with loading:
            from ..codegen import pool as module
        globals()["pool"] = module
        return getattr(module, name)


pool = _DeferredPool()

#: Chunk boundaries fall on multiples of this many bytes, so no two threads write one cache line.
CHUNK_ALIGNMENT_BYTES = 256
#: Chunks per thread on the native pool: threads take them dynamically, so a thread the OS
#: does not run for a while holds up only a small part of the call.
CHUNKS_PER_THREAD = 4
#: Below this much work (elements x work per element, see runtime.work_per_element) a call runs
#: on the calling thread: handing chunks to awake (spinning) workers costs more than it saves.
#: benchmarks/thread_threshold.py measured the crossover at 220k-600k on the development machine,
#: 440k-1.6M on a 2-core AMD EPYC VM, where a split call below it was also slower in the median and
#: stalled for ~1.2 ms once in 20 calls (a worker the hypervisor had descheduled holding a chunk).
PARALLEL_WORK = 600_000
#: From this much work a call also pays for waking sleeping workers (30-50 us on that machine).
WAKE_WORK = 2_000_000
#: Work (elements x work per element) per thread in one round of a big call: a few milliseconds,
#: so that Ctrl-C is seen within a round (the cost of a round, a return to Python, is microseconds).
ROUND_WORK = 1 << 23
#: Run large calls on the JIT-compiled pthread pool where it is supported (else Python threads).
USE_NATIVE_POOL = True


def min_size(work_per_element: int) -> int:
    """The smallest call (in elements) worth splitting, for this much work per element."""
    return max(1, PARALLEL_WORK // max(1, work_per_element))


def wake_size(work_per_element: int) -> int:
    """The smallest call (in elements) worth waking sleeping workers for."""
    return max(1, WAKE_WORK // max(1, work_per_element))


def round_size(work_per_element: int) -> int:
    """Elements per thread in one round of a big call, for this much work per element."""
    return max(1, ROUND_WORK // max(1, work_per_element))


def _default_threads() -> int:
    requested = os.environ.get("FUSENUM_NUM_THREADS", "").strip()
    if requested:
        count = whole_number(requested)
        if count is None:
            raise ConfigurationError(f"FUSENUM_NUM_THREADS must be a positive integer, not {requested!r}")
        return _validate(count, "FUSENUM_NUM_THREADS")
    openmp = _openmp_threads()
    if openmp is not None:
        return openmp
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


#: The most threads fusenum splits a call over (a count beyond is an error, not thousands of threads).
MAX_THREADS = 1024


def openmp_first_count(value: str) -> int | None:
    """The first entry of an ``OMP_NUM_THREADS`` value (OpenMP's comma-separated list of counts per
    nesting level) if it is a positive integer, else None."""
    count = whole_number(value.split(",")[0].strip())
    return count if count else None


def _openmp_threads() -> int | None:
    """``OMP_NUM_THREADS`` as numexpr reads it (schedulers such as dask's workers set it to 1 so that
    each task runs on one core): the first entry of OpenMP's comma-separated list. It is another
    library's setting, so a value that is not a positive integer is ignored with a warning rather
    than breaking ``import fusenum``."""
    requested = os.environ.get("OMP_NUM_THREADS", "").strip()
    if not requested:
        return None
    first = openmp_first_count(requested)
    if first is not None and first <= MAX_THREADS:
        return first
    warnings.warn(f"OMP_NUM_THREADS={requested!r} is not a positive integer of at most {MAX_THREADS}; fusenum ignores it "
                  f"(FUSENUM_NUM_THREADS takes precedence over it)", RuntimeWarning, stacklevel=2)
    return None


def _validate(n, what: str) -> int:
    if isinstance(n, bool) or not hasattr(type(n), "__index__"):
        raise ArgumentTypeError(f"{what} must be an int, not {type(n).__name__}")
    try:
        n = operator.index(n)  # (NumPy's integers too)
    except TypeError:  # (an ndarray has __index__, which only an integer 0-d one honours)
        raise ArgumentTypeError(f"{what} must be an int, not {type(n).__name__} {n!r}") from None
    if not 1 <= n <= MAX_THREADS:
        raise ConfigurationError(f"{what} must be a positive integer of at most {MAX_THREADS}, not {n}")
    return n


_threads = _default_threads()


def get_num_threads() -> int:
    """The number of threads a large kernel call is split over."""
    return _threads


def set_num_threads(n: int) -> int:
    """Use ``n`` threads for large kernel calls; returns the previous number."""
    global _threads, _workers_started
    previous, _threads = _threads, _validate(n, "the number of threads")
    _workers_started = False
    return previous


class _PythonPool:
    """Worker threads taking ``(function, start, stop, operands, layout, results)`` tasks.

    The fallback where the native pool (:mod:`fusenum.codegen.pool`) cannot run.
    """

    def __init__(self):
        self.tasks: queue.SimpleQueue | None = None  # made with the first worker
        self.workers: list[int] = []  # their thread identifiers
        self.lock = threading.RLock()  # (a forked child makes a pool of its own)

    def ensure(self, count: int) -> None:
        if len(self.workers) >= count:
            return
        with self.lock:
            if self.tasks is None:
                self.tasks = _simple_queue()
            while len(self.workers) < count:
                # Bare threads, as the tiers' compiler's: threading.Thread.start() waits until the
                # new thread runs (0.3-3 ms on a busy 2-core VM), where the call that starts it can
                # take its first range meanwhile. Like daemon threads, they never delay the exit.
                self.workers.append(_thread.start_new_thread(self._work, (f"fusenum-{len(self.workers)}",)))

    def _work(self, name: str) -> None:
        threading.current_thread().name = name  # (what threading.enumerate() and debuggers show)
        tasks = self.tasks
        while True:
            function, start, stop, operands, layout, results = tasks.get()
            try:
                results.put(function(start, stop, operands, layout))
            except BaseException as exc:  # never lose a chunk: the caller is waiting for it
                results.put(exc)
            # (a waiting thread's locals are no one's to collect: the last call's arrays, or its
            # interpreted expression, stayed alive until another call came through this pool)
            del function, operands, layout, results

    def run(self, function, ranges, operands, layout, threads: int) -> int:
        """Run ``ranges`` on this thread and up to ``threads - 1`` workers (they share the queue);
        returns once every range is done, raising the first exception (this thread's first)."""
        self.ensure(min(threads, len(ranges)) - 1)
        results = _Outcomes()
        for start, stop in ranges[1:]:
            self.tasks.put((function, start, stop, operands, layout, results))
        failure = None
        try:
            status = function(ranges[0][0], ranges[0][1], operands, layout)
        except BaseException as exc:  # raised once the workers are done with the call's arrays
            failure, status = exc, 0
        failure, outcomes = _collect(results, len(ranges) - 1, failure)
        for outcome in outcomes:
            status |= outcome
        if failure is not None:
            raise failure
        return status


def _simple_queue() -> queue.SimpleQueue:
    # ``queue`` is ~0.7 ms of import (with ``heapq``), paid by the call that first uses threads; its
    # SimpleQueue is CPython's C class from ``_queue`` (~0.2 ms).
    try:
        from _queue import SimpleQueue
    except ImportError:  # (another Python)
        from queue import SimpleQueue
    return SimpleQueue()


class _Outcomes:
    """The outcomes of one call's tasks, left by the workers as they finish. A list, not a queue: a
    Ctrl-C can interrupt the calling thread right after a queue's ``get`` returned, and the outcome
    it took would be lost (the call then waiting for it forever); reading a list takes nothing.
    ``wake`` is released after each arrival, a hint only: a bare lock, whose C methods a Ctrl-C
    cannot leave half done (a ``threading.Event``'s Python-level ``with`` can leave its lock held,
    and then every thread waits on it forever)."""

    __slots__ = ("items", "wake")

    def __init__(self):
        self.items: list = []
        self.wake = _thread.allocate_lock()
        self.wake.acquire()

    def put(self, outcome) -> None:
        self.items.append(outcome)
        try:
            self.wake.release()
        except RuntimeError:  # released already: the caller has not looked yet
            pass


#: How often (seconds) a caller waiting for its workers looks at their outcomes even unwoken.
_LOOK_AGAIN = 0.05


def _collect(results: _Outcomes, count: int, failure: BaseException | None,
             interrupted: Callable[[], None] | None = None) -> tuple[BaseException | None, list]:
    """The ``count`` outcomes the workers put in ``results``, and the first failure (``failure``,
    else a worker's exception, else a Ctrl-C that came while waiting: the wait goes on, so that no
    worker still writes into the call's arrays once it has returned; ``interrupted()`` is then
    called, to tell the workers to stop early)."""
    items, wake = results.items, results.wake
    while True:
        try:
            while len(items) < count:
                wake.acquire(True, _LOOK_AGAIN)
            break
        except BaseException as exc:  # KeyboardInterrupt: raised once the workers are done
            failure = failure or exc
            if interrupted is not None:
                interrupted()
    outcomes = []
    for outcome in items:
        if isinstance(outcome, BaseException):
            failure = failure or outcome
        outcomes.append(0 if isinstance(outcome, BaseException) else outcome)
    return failure, outcomes


class _NativePool:
    """The JIT-compiled pthread pool (compiled on first use)."""

    def __init__(self, compiled):
        self.compiled = compiled
        addresses = self.compiled.addresses
        self.run = pool_abi.RUN_CTYPE(addresses["fusenum_pool_run"])
        self.start = pool_abi.START_CTYPE(addresses["fusenum_pool_start"])
        self.worker_count = pool_abi.COUNT_CTYPE(addresses["fusenum_pool_worker_count"])
        self.control = {name: pool_abi.CONTROL_CTYPE(addresses[f"fusenum_pool_{name}"])
                        for name in ("acquire", "release", "reset")}
        # A fork while another thread uses the pool would leave the child a held lock. The handlers
        # (never unregistered) hold the pool, so its code is never unmapped under them, nor under
        # its worker threads, even if the pool is dropped (as tests that make one of their own do).
        os.register_at_fork(before=lambda pool=self: pool.control["acquire"](),
                            after_in_parent=lambda pool=self: pool.control["release"](),
                            after_in_child=lambda pool=self: pool.control["reset"]())


_python_pool = _PythonPool()
_native_pool: _NativePool | None = None
_native_lock = locks.lock()
#: Whether the background thread was asked to make the pool, and why making it failed (if it did).
_native_state: dict = {"requested": False, "failure": None}
#: Whether :func:`start_workers` started the workers for the current thread count.
_workers_started = False


def _after_fork_in_child() -> None:
    global _python_pool, _workers_started
    _python_pool = _PythonPool()
    _workers_started = False  # (the pool's reset forgot them)
    if _native_pool is None:  # a request the parent's background thread had not done yet is gone
        _native_state["requested"] = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _native(make: bool = True) -> _NativePool | None:
    """The native pool, or None: Python threads serve where it is unsupported or turned off, and
    while it is being made. The first call that could use it loads it from the disk cache if that
    needs no LLVM (~0.3 ms; Python threads serving meanwhile would contend for the GIL with the
    background thread); else it is made on the background thread (:mod:`.background`; compiled,
    ~40 ms: a big call waiting for it ran that long on one thread, and the compile held the GIL
    against an interpreted call meanwhile) -- unless ``make`` is False: then only a load is tried,
    and the next call that runs a kernel on threads has it made."""
    global _native_pool
    if _native_pool is not None and USE_NATIVE_POOL:
        return _native_pool
    if not (USE_NATIVE_POOL and pool_abi.supported() and _native_state["failure"] is None):
        return None
    with _native_lock:
        if _native_state["requested"]:
            return None
        _native_state["requested"] = True
    # Loaded with no lock held: a fork meanwhile must not leave the child a held lock.
    loaded = None
    try:
        loaded = _load_native_pool()
    finally:  # (even on Ctrl-C, the pool is made, here or in the background)
        with _native_lock:
            if loaded is not None and _native_pool is None:
                _native_pool = loaded
            elif loaded is None and make:
                background.submit(_make_native_pool)
            elif loaded is None:
                _native_state["requested"] = False
    return _native_pool


#: The native pool's description (its key in the disk cache and in the shipped archives).
POOL_DESCRIPTION = "thread pool"


def _load_native_pool() -> _NativePool | None:
    """The native pool shipped with the package (:mod:`.shipped`), else from the disk cache if that
    needs no LLVM (the host is described, and the loader links it); else None."""
    from ..codegen import settings, target
    from . import shipped
    from .stored_code import link_loaded, load_stored

    try:
        archive = shipped.archive(settings.key)
        code = None if archive is None else archive.object_code(POOL_DESCRIPTION)
        compiled = None if code is None else link_loaded(code, pool_abi.SYMBOLS)
        if compiled is None and target.host_described():
            compiled = load_stored(POOL_DESCRIPTION, target.make_target("scalar"), pool_abi.SYMBOLS)
        return None if compiled is None else _NativePool(compiled)
    except Exception:  # the background thread tries again, and reports what fails
        return None


def _make_native_pool() -> None:
    global _native_pool
    from ..codegen import target
    from .stored_code import load_or_compile

    try:
        # The generator (pool.module_text) is imported only if the disk cache has no pool.
        compiled, _, _ = load_or_compile(POOL_DESCRIPTION, target.make_target("scalar"),
                                         lambda quick: pool.module_text(), pool_abi.SYMBOLS)
        made = _NativePool(compiled)
    except Exception as exc:  # Python threads serve instead; said once
        _native_state["failure"] = exc
        warnings.warn(f"fusenum: the native thread pool could not be made ({exc!r}); "
                      "Python threads run big calls instead", RuntimeWarning)
        return
    with _native_lock:
        _native_pool = made


def start_workers() -> None:
    """Start the native pool's workers now, ahead of a big call whose kernel is still being found.

    A process's first big call would otherwise start them inside the run, which then went at about
    one thread's speed until the new thread was scheduled: at 1,000,000 elements its first run took
    3.1-3.4 ms against 1.7-1.8 ms with the workers started while the call looked up its kernel
    (~1 ms earlier; ``fusenum.numexpr.evaluate("a + b * c - d")``, AVX-512 VM). Once they run,
    this costs a check."""
    global _workers_started
    if _workers_started or _threads <= 1:
        return
    from . import host_record
    host_record.recall()  # (what the kernel's disk load does first: the pool's load needs it too)
    # Not made here if it is not on disk: the call may be interpreted (tier 0), and making the
    # pool (LLVM's load and a compile) would compete with it on a new machine.
    native = _native(make=False)
    if native is not None:
        native.start(min(_threads, pool_abi.MAX_WORKERS + 1) - 1)
        _workers_started = True


def wait_for_native_pool() -> bool:
    """Have the native pool made now if it will be used, and wait for it; whether it is there."""
    _native()
    background.wait()
    return _native() is not None


def chunks(size: int, parts: int, itemsize: int) -> list[tuple[int, int]]:
    """``parts`` near-equal ranges covering ``[0, size)``, split on aligned boundaries."""
    step = max(1, CHUNK_ALIGNMENT_BYTES // max(1, itemsize))
    blocks = -(-size // step)
    parts = max(1, min(parts, blocks))
    bounds = [min(size, (blocks * k // parts) * step) for k in range(parts + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(parts) if bounds[k] < bounds[k + 1]]


def run(kernel, operands: tuple, layout, size: int, itemsize: int, threads: int, wake_ok: bool = True,
        per_round: int | None = None) -> int:
    """Run ``kernel`` over ``[0, size)`` split into ``threads`` chunks; returns the OR of their statuses.

    ``wake_ok`` says the call is big enough to pay for waking sleeping workers;
    if it is not and they sleep, the call runs on this thread alone (and wakes
    them for the next one). ``per_round`` (:func:`round_size`) cuts a bigger call
    into rounds of that many elements per thread, stopping at the first failing round.
    """
    if per_round is not None and size > per_round * threads:
        step = _aligned(per_round * threads, itemsize)
        for start in range(0, size, step):
            status = _run_once(kernel, operands, layout, start, min(size, start + step), itemsize, threads,
                               wake_ok)
            if status:
                return status
        return 0
    return _run_once(kernel, operands, layout, 0, size, itemsize, threads, wake_ok)


def _aligned(count: int, itemsize: int) -> int:
    step = max(1, CHUNK_ALIGNMENT_BYTES // max(1, itemsize))
    return max(step, count // step * step)


def run_python(function: Callable[[int, int], None], ranges: list[tuple[int, int]], threads: int) -> None:
    """Call ``function(start, stop)`` for each of ``ranges``, on this thread and up to ``threads -
    1`` Python workers, each taking the next range nobody has taken (for Python code whose heavy
    parts release the GIL, as the interpreter's NumPy loops do). After an exception (or a Ctrl-C)
    no range is begun; it is raised here (this thread's first) once no range is being computed."""
    if threads <= 1 or len(ranges) == 1:
        for start, stop in ranges:
            function(start, stop)
        return
    lock = threading.Lock()
    state = {"next": 0, "stop": False}

    def stop() -> None:
        state["stop"] = True

    def work(*_) -> int:
        while True:
            with lock:
                if state["stop"] or state["next"] == len(ranges):
                    return 0
                start, end = ranges[state["next"]]
                state["next"] += 1
            try:
                function(start, end)
            except BaseException:
                stop()
                raise

    helpers = min(threads, len(ranges)) - 1
    try:
        _python_pool.ensure(helpers)
    except RuntimeError:  # no new thread (a limit, or interpreter shutdown): those that exist help
        helpers = min(helpers, len(_python_pool.workers))
    results = _Outcomes()
    for _ in range(helpers):
        _python_pool.tasks.put((work, 0, 0, None, None, results))
    failure = None
    try:
        work()
    except BaseException as exc:
        failure = exc
    failure, _ = _collect(results, helpers, failure, stop)
    if failure is not None:
        raise failure


def _run_once(kernel, operands: tuple, layout, begin: int, end: int, itemsize: int, threads: int,
              wake_ok: bool) -> int:
    """:func:`run` without rounds, over ``[begin, end)`` (``begin`` on an aligned boundary)."""
    size = end - begin
    if threads <= 1:
        return kernel.function(begin, end, operands, layout)
    threads = min(threads, pool_abi.MAX_WORKERS + 1)
    per_thread = 1 if _native() is None else CHUNKS_PER_THREAD
    ranges = [(begin + start, begin + stop) for start, stop in chunks(size, threads * per_thread, itemsize)]
    if len(ranges) == 1:
        return kernel.function(begin, end, operands, layout)
    return _run_ranges_once(kernel, operands, layout, ranges, threads, wake_ok, split=True)


def run_ranges(kernel, operands: tuple, layout, ranges: list[tuple[int, int]], threads: int,
               wake_ok: bool = True, split: bool = False, per_round: int | None = None) -> int:
    """Run ``kernel`` on each of ``ranges`` (consecutive, covering the call) as its own call.

    Unlike :func:`run`, every range is one kernel call whatever the thread count
    (a reduction's pieces each write their own partial results). ``split`` says
    the ranges are only a split of one call, so running them as one call is
    fine when the pool is busy. ``per_round`` runs consecutive groups of ranges
    of about that many elements per thread as rounds (see :func:`run`).
    """
    if per_round is None or ranges[-1][1] - ranges[0][0] <= per_round * threads:
        return _run_ranges_once(kernel, operands, layout, ranges, threads, wake_ok, split)
    group: list[tuple[int, int]] = []
    for index, (start, stop) in enumerate(ranges):
        group.append((start, stop))
        if index + 1 == len(ranges) or ranges[index + 1][1] - group[0][0] > per_round * threads:
            status = _run_ranges_once(kernel, operands, layout, group, threads, wake_ok, split)
            if status:
                return status
            group = []
    return 0


def _run_ranges_once(kernel, operands: tuple, layout, ranges: list[tuple[int, int]], threads: int,
                     wake_ok: bool = True, split: bool = False) -> int:
    """:func:`run_ranges` without rounds."""
    threads = min(threads, pool_abi.MAX_WORKERS + 1, len(ranges))
    native = _native() if threads > 1 else None
    if native is None:
        if threads > 1:
            return _python_pool.run(kernel.function, ranges, operands, layout, threads)
        status = 0
        for start, stop in ranges:
            status |= kernel.function(start, stop, operands, layout)
        return status
    bounds = struct.pack(f"{len(ranges) + 1}q", *(start for start, _ in ranges), ranges[-1][1])
    # A pool whose workers sleep runs a small call as one range: only a split may be merged.
    wake_ok = wake_ok or not split
    status = native.run(kernel.address, operands, layout, bounds, len(ranges), threads - 1, int(wake_ok))
    if status == pool_abi.POOL_BUSY:  # another thread's call holds the pool
        if split:
            return kernel.function(ranges[0][0], ranges[-1][1], operands, layout)
        return _run_ranges_once(kernel, operands, layout, ranges, 1)
    return status
