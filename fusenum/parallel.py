"""Running one kernel call on several cores.

A kernel works on a range ``[start, stop)`` of the flattened iteration space
and ctypes releases the GIL while it runs, so plain Python threads calling the
kernel on disjoint ranges use every core. The pool is persistent (threads are
started once and wait on a queue) because starting a thread costs more than
a small kernel call. The calling thread takes the first chunk itself.

The thread count is ``FUSENUM_NUM_THREADS`` if set, else the number of cores
this process may run on (``os.sched_getaffinity``); :func:`set_num_threads`
changes it. Calls from many Python threads at once are safe: every call has
its own chunks and its own completion queue. After ``fork()`` the child starts
with a fresh pool (the parent's threads do not exist there).
"""
from __future__ import annotations

import os
import queue
import threading

from .errors import ConfigurationError

#: Chunk boundaries fall on multiples of this many bytes, so no two threads write one cache line.
CHUNK_ALIGNMENT_BYTES = 256
#: Below this much work (elements x op-table cost) a call runs on the calling thread: handing
#: chunks to the pool costs more than it saves. Measured with benchmarks/thread_threshold.py.
PARALLEL_WORK = 200_000


def min_size(work_per_element: int) -> int:
    """The smallest call (in elements) worth splitting, for this much work per element."""
    return max(1, PARALLEL_WORK // max(1, work_per_element))


def _default_threads() -> int:
    requested = os.environ.get("FUSENUM_NUM_THREADS", "").strip()
    if requested:
        try:
            count = int(requested)
        except ValueError:
            raise ConfigurationError(
                f"FUSENUM_NUM_THREADS must be a positive integer, not {requested!r}") from None
        return _validate(count, "FUSENUM_NUM_THREADS")
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _validate(n, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{what} must be an int, not {type(n).__name__}")
    if n < 1:
        raise ConfigurationError(f"{what} must be a positive integer, not {n}")
    return n


_threads = _default_threads()


def get_num_threads() -> int:
    """The number of threads a large kernel call is split over."""
    return _threads


def set_num_threads(n: int) -> int:
    """Use ``n`` threads for large kernel calls; returns the previous number."""
    global _threads
    previous, _threads = _threads, _validate(n, "the number of threads")
    return previous


class _Pool:
    """Worker threads taking ``(function, start, stop, operands, layout, results)`` tasks."""

    def __init__(self):
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.workers: list[threading.Thread] = []
        self.lock = threading.Lock()

    def ensure(self, count: int) -> None:
        if len(self.workers) >= count:
            return
        with self.lock:
            while len(self.workers) < count:
                worker = threading.Thread(target=self._work, name=f"fusenum-{len(self.workers)}", daemon=True)
                worker.start()
                self.workers.append(worker)

    def _work(self) -> None:
        tasks = self.tasks
        while True:
            function, start, stop, operands, layout, results = tasks.get()
            try:
                results.put(function(start, stop, operands, layout))
            except BaseException as exc:  # never lose a chunk: the caller is waiting for it
                results.put(exc)


_pool = _Pool()


def _after_fork_in_child() -> None:
    global _pool
    _pool = _Pool()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def chunks(size: int, parts: int, itemsize: int) -> list[tuple[int, int]]:
    """``parts`` near-equal ranges covering ``[0, size)``, split on aligned boundaries."""
    step = max(1, CHUNK_ALIGNMENT_BYTES // max(1, itemsize))
    blocks = -(-size // step)
    parts = max(1, min(parts, blocks))
    bounds = [min(size, (blocks * k // parts) * step) for k in range(parts + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(parts) if bounds[k] < bounds[k + 1]]


def run(function, operands: tuple, layout, size: int, itemsize: int, threads: int) -> int:
    """Call ``function(start, stop, operands, layout)`` over ``[0, size)`` on ``threads`` threads.

    Returns the bitwise OR of the chunks' statuses.
    """
    ranges = chunks(size, threads, itemsize)
    if len(ranges) == 1:
        return function(0, size, operands, layout)
    _pool.ensure(len(ranges) - 1)
    results: queue.SimpleQueue = queue.SimpleQueue()
    for start, stop in ranges[1:]:
        _pool.tasks.put((function, start, stop, operands, layout, results))
    status = function(ranges[0][0], ranges[0][1], operands, layout)
    failure = None
    for _ in ranges[1:]:
        outcome = results.get()
        if isinstance(outcome, BaseException):
            failure = outcome
        else:
            status |= outcome
    if failure is not None:
        raise failure
    return status
