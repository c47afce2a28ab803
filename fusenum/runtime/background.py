"""One background thread for work nobody waits for: optimizing kernels after their quick first build,
and making the native thread pool (:mod:`.threads`; Python threads serve until it is there). From
its first optimization on, it runs at a lower scheduling priority than the calls
(:func:`lower_priority`, also used by the background compiler of :mod:`.tiering`); making the pool
may load LLVM, which calls compiling on their own thread would wait for, so it may come first at
the caller's priority. Its jobs, and the tiers' compiles, start once the calls in progress have
ended: those waiting for a kernel made for them, and big interpreted calls (:func:`call_in_progress`,
:func:`yield_to_calls`).

:func:`submit` queues a callable; the thread starts on first use, runs jobs in
order (the native pool's build first; optimized builds once the calls pause,
:func:`pause_remaining`, or once :data:`PAUSE_QUEUE` are queued), and reports a job's exception as
a warning (the quick kernel simply stays). :func:`wait` blocks until the queue is empty (tests and benchmarks use
it to measure steady state). At exit the optimized builds still queued are handed to a helper
process with the tiers' leftovers (:mod:`.exit_compiles`, :func:`take_optimizations`), where it
can start one; the thread finishes the rest of its jobs (at most a few dozen: :mod:`.kernels` stops
queuing beyond that), so their optimized code reaches the disk cache and LLVM never compiles while
the interpreter shuts down. A forked child
starts with an empty queue (its parent's thread does not exist there).
"""
from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import warnings
from collections import deque
from contextlib import contextmanager
from typing import Callable, Iterator

from ..codegen import locks

#: How much lower than the caller's the scheduling priority of fusenum's background threads is (the
#: niceness added): compiles and optimizations then take the CPU time the calls leave spare. Measured
#: on pandas' cold ``df1 + df2 * 3`` (1,000,000 rows, an empty kernel cache, 2 cores), 22 fresh
#: processes each, interleaved, medians: first call 43 ms at the caller's priority and 48 ms at +10
#: (the same, within this machine's noise: the compiler loads LLVM at the caller's priority), second
#: call 43 and 34 ms (numexpr's first: ~21 ms). With the whole compiler at +10, an earlier
#: measurement gave 34 against 24 ms for the first call too, but a call compiling on its own thread
#: may wait for LLVM's loading, and a starved thread would keep it waiting. Not +19 either: a
#: starved thread that holds the GIL holds up every Python thread of the process.
NICENESS = 10

#: The longest a background job waits for the calls in progress (:func:`yield_to_calls`): far
#: longer than a compile, but a job is never held up for good.
YIELD_LIMIT = 0.5
#: Optimized builds here, and the tiers' compiles, wait for a pause in the calls: none in progress,
#: none begun or ended for this many seconds (:func:`note_call`, :func:`pause_remaining`) ...
QUIET = 0.005
#: ... or this long at most (each wait). Their Python work (building IR, loading LLVM) holds the GIL,
#: which a run of new expressions then waits for: a cold 20-expression workload at N = 10,000
#: (``benchmarks/first_call.py``) took 99-127 ms with the optimized builds going on beside it, 81-88
#: ms with none.
QUIET_LIMIT = 0.25
#: Optimized builds wait for a pause only while fewer than this many are queued: a longer run of new
#: expressions would otherwise fill the queue up to its bound (``kernels._MAX_BEHIND``, 32), beyond
#: which compiles build optimized code at once, about three times slower (80 new expressions called
#: three times each under ``FUSENUM_TIERING=never``: 454-464 ms, against 593-606 ms had they kept
#: waiting).
PAUSE_QUEUE = 16

_jobs: deque = deque()
_condition = locks.fork_safe(threading.Condition())  # (unlocked in a forked child)
_state = {"thread": None, "busy": False, "stopping": False, "calls begun": 0, "calls ended": 0,
          "last began": 0.0}
_calls = locks.fork_safe(threading.Condition())  # guards the calls' counts


def submit(job: Callable[[], None], lower: bool = False, key: tuple | None = None,
           after_pause: bool = False) -> bool:
    """Run ``job()`` on the background thread; ``lower``: at a lower priority (:func:`lower_priority`,
    for good: the thread stays there); ``key``: the ``(spec, settings key)`` whose optimized build
    ``job`` makes (so that :func:`take_optimizations` can hand it to another process at exit); such a
    job, and one ``after_pause``, waits for a pause in the calls (:func:`pause_remaining`). False if
    the job is dropped: the process is exiting, or no thread is to be had."""
    with _condition:
        if _state["stopping"]:
            return False
        if _state["thread"] is None:
            thread = threading.Thread(target=_run, name="fusenum-optimizer", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # no thread to be had now (a limit): the job is dropped, a later one asks again
                return False
            _state["thread"] = thread
        if key is None and not after_pause:  # (ahead of the jobs that wait for a pause in the calls)
            _jobs.appendleft((job, lower, key, False))
        else:
            _jobs.append((job, lower, key, True))
        _condition.notify_all()
    return True


def wait(timeout: float | None = None) -> bool:
    """Block until every submitted job has run; False if ``timeout`` seconds passed first."""
    with _condition:
        return _condition.wait_for(lambda: not _jobs and not _state["busy"], timeout)


def take_optimizations() -> list[tuple]:
    """Take the queued optimized builds out of the queue (not one already running): the jobs as
    queued, for :func:`put_back`; their keys are the kernels another process is to build instead."""
    with _condition:
        taken = [entry for entry in _jobs if entry[2] is not None]
        kept = [entry for entry in _jobs if entry[2] is None]
        _jobs.clear()
        _jobs.extend(kept)
        _condition.notify_all()
        return taken


def put_back(taken: list[tuple]) -> None:
    """Queue again, first, what :func:`take_optimizations` took."""
    with _condition:
        _jobs.extendleft(reversed(taken))
        _condition.notify_all()


def pending() -> int:
    """Jobs queued or running."""
    with _condition:
        return len(_jobs) + _state["busy"]


@contextmanager
def call_in_progress() -> Iterator[None]:
    """Count the block as a call that background jobs let finish before they start: one waiting
    for a kernel being made for it, or a big interpreted call (tier 0 on every core)."""
    with _calls:
        _state["calls begun"] += 1
        _state["last began"] = time.monotonic()
    try:
        yield
    finally:
        with _calls:
            _state["calls ended"] += 1
            _state["last began"] = time.monotonic()  # (a pause is counted from its end)
            _calls.notify_all()


def calls_in_progress() -> int:
    """How many calls :func:`call_in_progress` counts now."""
    with _calls:
        return _state["calls begun"] - _state["calls ended"]


def note_call() -> None:
    """Note that a call began that background work would slow down (one the interpreter serves; a
    call that waits for its kernel, :func:`call_in_progress`, is noted too)."""
    _state["last began"] = time.monotonic()


def pause_remaining(started: float) -> float:
    """Seconds left until a pause in the calls (none in progress, :func:`call_in_progress`, and none
    begun or ended for :data:`QUIET` seconds), for a wait that began at ``started``
    (``time.monotonic()``) and ends :data:`QUIET_LIMIT` after it anyway; zero or less: no more
    waiting. (A call in progress is looked at again :data:`QUIET` later.)"""
    now = time.monotonic()
    busy_until = now if _state["calls begun"] != _state["calls ended"] else _state["last began"]
    return min(busy_until + QUIET, started + QUIET_LIMIT) - now


def yield_to_calls() -> None:
    """Wait (at most :data:`YIELD_LIMIT`) until as many calls have ended as had begun by now: a
    background job about to start (an optimized build here; LLVM's loading or a compile of the
    tiers' compiler) would take the other core and the GIL from them. Calls that begin meanwhile
    are not waited for, so a loop of calls never holds a job up. A cold process's calls that waited
    for a compile took 5-23 ms where one compile alone takes 3-5 ms; pandas' first ``df.eval`` of
    10,000,000 rows in a new process, interpreted while LLVM loaded, 220 ms (median of 8) against
    164 ms when the loading waited for it (numexpr: 196)."""
    with _calls:
        begun = _state["calls begun"]
        _calls.wait_for(lambda: _state["calls ended"] >= begun, YIELD_LIMIT)


def lower_priority() -> None:
    """Lower the calling thread's scheduling priority by :data:`NICENESS` (Linux only: elsewhere
    ``setpriority`` sets a whole process's). Once per thread (the compiler's once it has loaded
    LLVM, this module's at its first lowered job): an unprivileged thread cannot raise it again,
    and threads it starts would inherit it."""
    if sys.platform.startswith("linux"):
        try:
            thread = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + NICENESS)
        except OSError:  # (a sandbox may refuse it: the thread runs at the caller's priority)
            pass


def _run() -> None:
    lowered = False
    while True:
        with _condition:
            _condition.wait_for(lambda: _jobs or _state["stopping"])
            if not _jobs:  # stopping, and nothing left to do
                _condition.notify_all()
                return
            # An optimized build (a job with a key) waits for a pause in the calls, left in the
            # queue meanwhile (for the exit to hand over), as does a job queued ``after_pause``;
            # the native pool's build does not.
            started = time.monotonic()
            while _jobs and _jobs[0][3] and len(_jobs) < PAUSE_QUEUE and \
                    not _state["stopping"] and (rest := pause_remaining(started)) > 0:
                _condition.wait(rest)
            if not _jobs:
                continue
            job, lower, _, _ = _jobs.popleft()
            _state["busy"] = True
        try:
            yield_to_calls()
            if lower and not lowered:
                lower_priority()
                lowered = True
            job()
        except Exception as exc:  # the quick kernel stays in use; nothing is lost
            warnings.warn(f"fusenum: optimizing a kernel in the background failed: {exc!r}", RuntimeWarning)
        finally:
            with _condition:
                _state["busy"] = False
                _condition.notify_all()


@atexit.register
def _stop() -> None:
    with _condition:
        _state["stopping"] = True
        _condition.notify_all()
        thread = _state["thread"]
    if thread is not None and thread is not threading.current_thread():
        thread.join()


def _forked_child() -> None:
    _jobs.clear()
    # (the parent's calls in progress are not this process's)
    _state.update({"thread": None, "busy": False, "calls begun": 0, "calls ended": 0, "last began": 0.0})


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked_child)
