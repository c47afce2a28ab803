"""Tiers: which code serves a call, and the background compiler that makes the fused kernel.

A call whose fused kernel is in memory or in the disk cache runs it (tier 1). One whose kernel
would have to be compiled runs at once in the interpreter (tier 0, :mod:`.interpreter`, the same
bits) and queues the compile on a background compiler; a later call finds the kernel in memory.

The rule for starting a compile: on the **second** interpreted call that needs the kernel, whatever
its size: a compile pays for itself only over several calls. At 1,000,000 float64 elements tier 0 is
about 1 ms a call slower than the fused kernel, and a compile costs 3-20 ms of one core, which on a
2-core machine it took from the calls interpreted beside it (compiles queued on a big call's first
call took ``benchmarks/first_call.py``'s cold workload at that size from 108-121 ms to 156-216;
numexpr 131-147). A one-operation call is NumPy's own loop in tier 0 (pandas' ``df1 + df2 * 3``),
and a one-off small call paid for a compile with a thread start and the code generator's import
competing for the GIL (a new process's first call at N = 100 took 1.7-3.5 ms instead of 0.9-1.3). So
a kernel called once in a process is not compiled, there or after its exit (:mod:`.exit_compiles`
takes what was queued): the next process interprets it again. The thread sleeps :data:`START_DELAY`
when it starts, so that the call that started it finishes first. Then, before each job (and before
writing typed plans, which waits until no compile is queued), it waits for a pause in the calls
(:func:`.background.pause_remaining`): its Python work holds the GIL, which a run of new expressions
would otherwise wait for. A call that finds its kernel still queued ends the wait (a loop wants that
kernel now), as does the exit. A second call looks for its kernel in memory only, not in the disk
cache again: its first call looked moments before, and the compile looks once more.

Which calls are interpreted at all (:func:`waits_for_kernel`): those with fewer than
:data:`COMPILE_NOW_ELEMENTS` elements (:data:`COMPILE_NOW_ELEMENTS_LLVM_UP` once the compiler is
loaded, for an expression that needs no one-node kernel) whose every node NumPy computes, or whose
one-node kernels (:mod:`.interpreter`) are all in memory, shipped with the package or in the disk
cache; any call whose kernel the background compiler is already making, except a big call that finds
it queued for the second time (a loop of calls of :data:`BIG_LOOP_ELEMENTS` or more: interpreted on
every core, they starved the compile, which runs at a lower priority: 1,000 calls of ``2*a+3*b-c``
at 1,000,000 elements in a new process took 14 interpreted calls before the kernel arrived, now 3
and a ~25 ms wait); and, in a process that has not loaded LLVM yet on a machine whose disk cache is
empty, every call (LLVM's start-up and the code generator's import would come first: a cold pandas
``df.eval`` of 1,000,000 rows took ~100 ms waiting against ~43 ms interpreted). The others wait
for their kernel (a disk load, or a quick compile, as ``never``):

* a big call (2,097,152 elements or more): interpreting it costs more than a quick compile does, unless
  its expression is one operation NumPy computes, as above. Once the process has loaded the compiler (a
  quick build then costs only itself), the bound is :data:`COMPILE_NOW_ELEMENTS_LLVM_UP` (524,288) for an
  expression that needs no one-node kernel (whose fused kernel builds in 3-8 ms; one with a transcendental
  function takes 10-20 ms, and its interpretation runs fusenum's vector math already). docs/internals.md
  has the measurements behind both bounds (:func:`is_big`);
* an expression whose interpretation needs a one-node kernel that is neither in memory, nor shipped with
  the package (:mod:`.shipped`), nor on disk (a transcendental function used for the first time, say):
  compiling it would need LLVM on the calling thread and cost about as much as the fused kernel. Such a
  call also queues the missing one-node kernels on the background compiler. They are few (one per
  function, dtypes, single-valued arguments and SIMD level) and every expression shares them, so once they
  are made (and, for later processes, stored in the disk cache: a process may exit before the compiler
  gets to them) the next new expression with those functions is interpreted from its first call, its fused
  kernel queued as for any interpreted call. :func:`fusenum.prebuild` makes them all beforehand
  (:mod:`.prebuilt`), so that no such call waits, and so does the helper after the exit of the first
  process that lacked one (:mod:`.first_use`).

The two rules took ``benchmarks/first_call.py``'s workload at N = 10,000 from 218 to 34-50 ms with
a warm disk cache, and to half with only one-node kernels at hand (docs/internals.md has the runs).
Kernels a call asked for come first in the queue, one-node kernels queued ahead of need after them.
Each is built quickly first (stored as such, :mod:`.kernels`); optimized builds come last, those of
quick builds loaded from the disk cache no sooner than :data:`.kernels.OPTIMIZE_LOADED_AFTER` after
the load (the thread loads LLVM and the code generator when its first job is due).

The compiler is one background thread with a bounded queue (:data:`MAX_QUEUED`): one thread, so it
never competes with a running kernel for all the cores; a full queue drops the request (a later call
asks again); a bare thread, which the interpreter's exit does not wait for (as for a daemon), so
pending compiles never delay it: at exit the thread takes no further request, and a compile it has
begun stops before LLVM runs. What was pending (compiles, then optimized builds) is handed to a
detached helper process that compiles it into the disk cache (:mod:`.exit_compiles`), so that a
short process's kernels still reach the next one. Only LLVM work already running is waited for (tens
of milliseconds, :func:`fusenum.codegen.jit.finish_before_exit`): a process whose exit tore down
LLVM's static state under a running compile aborted on an LLVM assertion, or crashed. After
``fork()`` the child starts with an empty compiler. An error in a background compile is kept and
raised by the next call that would use the kernel. A one-node kernel queued ahead of need is no
call's: its error is not kept, and it is not queued again until :func:`fusenum.clear_cache` (a call
that needs it waits for its fused kernel, whose compile reports its own error, if any). The queue's
bound counts both kinds of compile request; optimized builds have a bound of their own
(:data:`MAX_OPTIMIZATIONS`), so that a warm process loading many quick builds never crowds out a
compile a call asks for. An optimization that fails leaves its quick build in use, with a warning.

The policy (:func:`set_tiering`, ``FUSENUM_TIERING``): ``auto`` as above, ``never`` compiles before
running (every call is tier 1), ``always`` interprets every call (tier 0, for testing; a reduction
reduces its interpreted argument with a one-node kernel, :mod:`.staging`). Under ``auto``/``never``,
a call made while its thread imports the code generator (a signal handler's, which cannot compile:
:func:`.kernels.importing_code_generator`) runs a kernel at hand, else tier 0.
"""
from __future__ import annotations

import _thread
import atexit
import itertools
import os
import sys
import threading
import time
import warnings
from collections import OrderedDict
from typing import Callable

from . import (background, caches, compile_requests, disk_cache, first_use, handler_calls, interpreter,
               kernels, plan_store)
from ..codegen import jit, locks, settings
from ..codegen.spec import KernelSpec
from ..codegen.target import llvm_ready
from ..errors import ArgumentTypeError, ConfigurationError
from .kernels import Kernel


POLICIES = ("auto", "never", "always")
#: Compiles waiting for the compiler thread at most; more requests are dropped until it catches up.
MAX_QUEUED = 64
#: Optimized builds waiting for the compiler at most (one per quick build in use: a warm process may
#: load hundreds); more are dropped, and those kernels keep their quick builds.
MAX_OPTIMIZATIONS = 2048
#: Seconds the compiler thread sleeps when it starts (see ``_Compiler._work``).
START_DELAY = 0.002
#: A call this big that finds its kernel queued for the second time waits for it (a loop, see the module's docstring).
BIG_LOOP_ELEMENTS = 1 << 16
#: Calls of at least this many elements wait for their kernel under ``auto`` (see the module's docstring).
COMPILE_NOW_ELEMENTS = 1 << 21
#: ... and from this many once the process has loaded LLVM (a quick build then costs 3-10 ms).
COMPILE_NOW_ELEMENTS_LLVM_UP = 1 << 19


def _initial_policy() -> str:
    policy = os.environ.get("FUSENUM_TIERING", "").strip().lower() or "auto"
    if policy not in POLICIES:
        raise ConfigurationError(f"FUSENUM_TIERING must be one of {', '.join(POLICIES)}, not {policy!r}")
    return policy


#: The current policy; read on the path of a call that has no kernel yet.
policy = _initial_policy()
if os.environ.get("FUSENUM_COMPILE_AFTER_EXIT"):  # (read at exit; checked now, as every setting is)
    from . import exit_compiles
    exit_compiles.enabled()
if os.environ.get("FUSENUM_PREBUILD_AFTER_EXIT"):
    first_use.enabled()


def set_tiering(new_policy: str) -> str:
    """Set the tiering policy (``auto``, ``never`` or ``always``); returns the previous one.

    Switching to ``always`` clears the caches in memory (:func:`fusenum.clear_cache`), so that
    plans holding kernels from earlier calls are interpreted too."""
    global policy
    if not isinstance(new_policy, str):  # (np.str_ too)
        raise ArgumentTypeError(f"the tiering policy must be a str ({', '.join(POLICIES)}), "
                                f"not {type(new_policy).__name__}")
    new_policy = new_policy.strip().lower()  # (as FUSENUM_TIERING is read)
    if new_policy not in POLICIES:
        raise ConfigurationError(f"tiering policy must be one of {', '.join(POLICIES)}, not {new_policy!r}")
    previous, policy = policy, new_policy
    if new_policy == "always" and previous != "always":
        caches.clear_cache()
    return previous


def get_tiering() -> str:
    """The tiering policy in force."""
    return policy


class _Optimization:
    """A kernel's optimized build, queued behind the compiles calls ask for (:func:`kernels.defer`)."""

    __slots__ = ("job", "due", "key")

    def __init__(self, job: Callable[[], None], due: float, key: tuple):
        self.job = job
        self.due = due  # time.monotonic() before which it does not start
        self.key = key  # (spec, settings key): what a helper builds if the process exits first


#: The rank of each kind of request in the compiler's queue (lowest first).
_ASKED, _AHEAD_OF_NEED, _OPTIMIZATION = 0, 1, 2


class _Compiler:
    """One background thread compiling kernels (and then optimizing them) from a bounded queue."""

    def __init__(self):
        # (re-entrant: a signal handler that calls fusenum may run while its thread holds it; a
        # forked child makes a compiler of its own)
        self.lock = locks.track(threading.RLock())
        # (rank, due, order, key): fused kernels a call asked for before one-node kernels queued
        # ahead of need (:meth:`prepare`), before optimized builds (:meth:`optimize`, by due time;
        # ``due`` is 0 for the others), each in the order asked. Unbounded: MAX_QUEUED bounds the
        # compiles (``queued``), MAX_OPTIMIZATIONS the optimizations, so these never take their room.
        self.requests = compile_requests.Requests()
        self.optimizations = 0  # queued
        self.arrived = threading.Event()  # a request came (wakes a thread waiting for an optimization's time)
        self.asked = itertools.count()
        self.queued: set[tuple] = set()  # keys queued or being compiled
        self.called_once: dict[tuple, None] = {}  # keys of one small call so far (oldest first)
        self.errors: OrderedDict[tuple, BaseException] = OrderedDict()
        self.unreported: set[tuple] = set()  # queued keys whose errors nobody asks for
        # of those, the ones whose compile failed: not queued again (until fusenum.clear_cache())
        self.failed: set[tuple] = set()
        self.optimizing: _Optimization | None = None  # taken from the queue by the thread, not done
        self.started = False  # whether the thread runs
        self.stopping = False  # the interpreter exits: take no further request
        self.wanted = threading.Event()  # a call found its kernel queued: the compiler waits no more
        self.asked_again: set[tuple] = set()  # queued keys a call found queued (see obtain())
        self.waited: set[tuple] = set()  # queued keys a call waits for: it raises their error itself

    def submit(self, key: tuple) -> None:
        """Queue the compile of ``key`` if a call asked for it before (see the module's docstring),
        else note that one did."""
        with self.lock:
            if key in self.queued:
                return
            if key not in self.called_once:
                self.called_once[key] = None
                if len(self.called_once) > MAX_QUEUED * 16:  # forget the oldest
                    del self.called_once[next(iter(self.called_once))]
                return
            self.called_once.pop(key, None)
            self._queue(key, _ASKED)

    def prepare(self, key: tuple) -> None:
        """Queue the compile of the one-node kernel ``key`` at once, unless it failed before. No
        call waits for it, so its error is not kept for one: a call that needs the kernel waits for
        its fused kernel instead, whose compile (another module) reports its own error, if any."""
        with self.lock:
            if key not in self.queued and key not in self.failed:
                self.unreported.add(key)
                self._queue(key, _AHEAD_OF_NEED)

    def optimize(self, job: Callable[[], None], delay: float, key: tuple) -> None:
        """Run ``job`` (the optimized build of ``key``'s kernel) after every compile asked for, and
        not before ``delay`` seconds from now (the earliest due first); dropped beyond
        :data:`MAX_OPTIMIZATIONS` queued (the quick build stays)."""
        with self.lock:
            if self.optimizations < MAX_OPTIMIZATIONS:
                self._queue(_Optimization(job, time.monotonic() + delay, key), _OPTIMIZATION)

    def _queue(self, key: tuple, rank: int) -> None:
        """Put ``key`` in the queue unless it is full or the interpreter exits (with ``self.lock``
        held); start the thread."""
        if self.stopping or (rank != _OPTIMIZATION and len(self.queued) >= MAX_QUEUED):
            self.unreported.discard(key)
            return
        if rank == _OPTIMIZATION:
            # (no need to wake a thread waiting for another optimization's time: this one comes
            # from a disk load, due no sooner, or from that thread itself)
            self.requests.put_nowait((rank, key.due, next(self.asked), key))
            self.optimizations += 1
        else:
            self.requests.put_nowait((rank, 0.0, next(self.asked), key))
            self.arrived.set()
            self.queued.add(key)
        if not self.started:
            # A bare thread: threading.Thread.start() waits until the new thread runs (0.3 ms
            # and more on a busy machine), where the call that starts it has better to do.
            # Like a daemon thread, it never delays the interpreter's exit.
            try:
                _thread.start_new_thread(self._work, ())
            except RuntimeError:  # no thread to be had now: a later call asks again
                if rank == _OPTIMIZATION:
                    self.optimizations -= 1
                else:
                    self.queued.discard(key)
                    if key not in self.unreported:
                        self.called_once[key] = None  # (so the next call asks at once)
                    self.unreported.discard(key)
                self.requests.get_nowait()
                self.requests.task_done()  # last: it may end another thread's wait()
                return
            self.started = True

    def pending(self, key: tuple) -> bool:
        return key in self.queued

    def unfinished(self) -> list[tuple]:
        """The kernels (``(spec, settings key)``) of every compile and optimized build not done yet,
        in the queue's order (with ``self.lock`` held)."""
        waiting = sorted(self.requests.queue, key=lambda item: item[:3])
        keys = [key for rank, _, _, key in waiting if rank != _OPTIMIZATION]
        begun = [key for key in self.queued if key not in keys]  # (being compiled now)
        optimizing = self.optimizing  # (an optimized build under way, or out of the queue a moment)
        under_way = [] if optimizing is None else [optimizing.key]
        return begun + keys + under_way + [key.key for rank, _, _, key in waiting
                                           if rank == _OPTIMIZATION and key is not optimizing]

    def take_error(self, key: tuple) -> BaseException | None:
        with self.lock:
            return self.errors.pop(key, None)

    def _work(self) -> None:
        # A name that threading.enumerate() and debuggers show (a bare thread is "Dummy-n" there)
        threading.current_thread().name = "fusenum-compiler"
        # The call that started this thread is still running, interpreted: let it finish before
        # the code generator's import competes with it for the GIL (and its successors, see quiet()).
        time.sleep(START_DELAY)
        self.quiet()
        if self.stopping:  # (no imports while the interpreter exits)
            self._drop_queue()
            return
        from . import exit_compiles  # (only a process that compiles can leave compiles at its exit)
        exit_compiles.prepare()
        ready = False
        while True:
            self.arrived.clear()
            try:
                # Off the calls that typed them, and once no compile is queued: a process's first
                # write (~5-9 ms: the directory, the environment's digest) held up the kernel a
                # loop of big calls was waiting for, which its fourth call then compiled itself.
                if plan_store.unwritten() and not self.queued:
                    self.quiet()
                    if not self.queued:  # (a loop may have queued its kernel meanwhile)
                        plan_store.write_unwritten()
            except Exception:  # noqa: S110 -- only a cache: the compiles go on (the exit tries again)
                pass
            rank, due, order, key = self.requests.get()
            if rank == _OPTIMIZATION:
                self.optimizing = key  # (for :meth:`unfinished` while it is out of the queue)
            if self.stopping:
                self._drop_queue()  # (forgets this request too)
                self.requests.task_done()  # last: it may be the one that ends a wait()
                return
            if rank == _OPTIMIZATION and due > time.monotonic():
                # back in the queue: a compile asked for meanwhile goes first (task_done after the
                # put, so that wait() never sees the queue empty)
                self.requests.put_nowait((rank, due, order, key))
                self.optimizing = None
                self.requests.task_done()
                self.arrived.wait(due - time.monotonic())
                continue
            background.yield_to_calls()  # (before LLVM's loading too: it holds the GIL for ~10 ms)
            self.quiet()
            if self.stopping:  # (the exit came meanwhile: see above)
                self._drop_queue()
                self.requests.task_done()
                return
            if not ready:
                self._get_ready()
                ready = True
            if rank == _OPTIMIZATION:
                self._optimize(key.job)
                continue
            try:
                with kernels.nobody_waiting():  # the interpreter serves (the optimized build waits)
                    kernels.kernel(*key)
            except BaseException as exc:  # kept for the next call that needs this kernel (if one will)
                with self.lock:
                    if isinstance(exc, jit.Exiting):
                        pass
                    elif key in self.waited:
                        pass  # (raised by the call that waited for it)
                    elif key not in self.unreported:  # (at most as many as failed ones, the oldest dropped)
                        caches.remember(self.errors, key, exc, MAX_QUEUED * 16)
                    elif len(self.failed) < MAX_QUEUED * 16:
                        self.failed.add(key)
            finally:
                with self.lock:
                    self.queued.discard(key)
                    self.unreported.discard(key)
                    self.asked_again.discard(key)
                    self.waited.discard(key)
                    if not self.queued:  # (what a call asked for again is done)
                        self.wanted.clear()
                self.requests.task_done()

    def quiet(self) -> None:
        """Wait for a pause in the calls (:func:`.background.pause_remaining`), unless a call finds its
        kernel still queued. The thread's Python work (LLVM's loading, building a kernel's IR, writing
        typed plans) holds the GIL, which interpreted calls then wait for: 20 new expressions called
        twice each at 10,000 elements, their one-node kernels on disk (``benchmarks/first_call.py``'s
        ``fusenum used``), took 20-25 ms with it going on beside them against 11-13 ms with no
        compiles (numexpr: ~10 ms). A call that asks again for a kernel already queued (a loop) ends
        the wait, and the next ones until the queue is empty: that kernel is wanted now."""
        started = time.monotonic()
        while not (self.wanted.is_set() or self.stopping):
            rest = background.pause_remaining(started)
            if rest <= 0:
                break
            self.wanted.wait(rest)

    @staticmethod
    def _get_ready() -> None:
        """Load LLVM and the code generator, then lower this thread's priority (before its first
        compile, not at its start: a thread started for an optimization that is not due yet may
        never need them)."""
        # Compiles take the CPU time calls leave spare, at a lower priority, but LLVM's loading and
        # the code generator's import come first, at the caller's: calls that compile on their own
        # thread wait for them (``target.loading``), and a starved thread would keep them waiting.
        try:
            kernels.load_compiler()
        except Exception:  # noqa: S110 -- the compile below fails the same way, and reports it
            pass
        background.lower_priority()
        jit.stop_this_thread_at_exit()  # nobody waits for these compiles

    def _optimize(self, job: Callable[[], None]) -> None:
        with self.lock:
            self.optimizations -= 1
        try:
            job()
        except jit.Exiting:
            pass
        except BaseException as exc:  # the quick build stays in use; nothing is lost (and this thread lives on)
            warnings.warn(f"fusenum: optimizing a kernel in the background failed: {exc!r}", RuntimeWarning)
        finally:
            with self.lock:
                self.optimizing = None
            self.requests.task_done()

    def _drop_queue(self) -> None:
        """Forget every queued request (the interpreter exits), so that :meth:`wait` returns."""
        with self.lock:
            # Forgotten before the queue's last task_done() wakes a wait(), whose caller may then ask
            # compiles_pending() (which takes no lock) at once.
            self.queued.clear()
            self.unreported.clear()
            self.asked_again.clear()
            self.waited.clear()
            self.optimizations = 0
            while True:
                try:
                    self.requests.get_nowait()
                except compile_requests.Empty:
                    break
                self.requests.task_done()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every queued compile is done (for tests and benchmarks); False if
        ``timeout`` seconds passed first."""
        return self.requests.wait(timeout)


_compiler = _Compiler()


def _optimize_later(job: Callable[[], None], delay: float, key: tuple) -> None:
    _compiler.optimize(job, delay, key)  # (the compiler of the moment: a forked child has its own)


kernels.defer = _optimize_later


@caches.owner
def _forget_failures() -> None:
    """Let kernels whose compile failed be compiled anew (errors forgotten); forget those called once."""
    with _compiler.lock:
        _compiler.failed.clear()
        _compiler.errors.clear()
        _compiler.called_once.clear()


def _forked_child() -> None:
    global _compiler
    _compiler = _Compiler()  # the parent's compiler thread does not exist here


@atexit.register
def _finish_before_exit() -> None:
    """No LLVM work while the interpreter exits (see the module's docstring); what is left, and the
    optimized builds :mod:`.background` has queued, is handed to a detached helper process
    (:mod:`.exit_compiles`), with the prebuild after a machine's first use (:mod:`.first_use`)."""
    with _compiler.lock:
        unfinished = [] if _compiler.stopping else _compiler.unfinished()
        _compiler.stopping = True
        _compiler.wanted.set()  # (no more waiting for a pause: see _Compiler._work)
        if not _compiler.started:
            _compiler._drop_queue()
    jit.finish_before_exit()
    # The optimizer's queued builds go too, rather than holding the exit (~20 ms each): it runs
    # after this handler and finishes whatever is left in its queue.
    # (asked only if there is something: a process that never compiled must not create the directory)
    prebuild = first_use.wanted()
    if not (unfinished or background.pending() or prebuild):
        return
    from . import exit_compiles  # (the compiler thread imported it, or only the optimizer ran)
    optimizations = background.take_optimizations() if exit_compiles.possible() else []
    keys = unfinished + [entry[2] for entry in optimizations]
    if keys or prebuild:
        # The compiler thread may still be in an import, holding the GIL 5 ms at a time: every
        # call below that releases it (the spawn, the write) would wait that long to get it back.
        sys.setswitchinterval(min(sys.getswitchinterval(), 1e-4))
        if exit_compiles.hand_over(keys, prebuild) is None:
            background.put_back(optimizations)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked_child)


def obtain(spec: KernelSpec, size: int = 0, extra: tuple[KernelSpec, ...] = (),
           settings_key: tuple | None = None, shipped_too: bool = False) -> Kernel | None:
    """The kernel for ``spec`` under the current codegen settings (or ``settings_key``, a
    :data:`fusenum.codegen.settings.key`) if the policy has this call run it, else None (tier 0
    serves the call). The settings are read once: a kernel this gives is always the one for the
    key the caller keeps it under, even if another thread calls ``set_simd`` meanwhile.

    ``never``: compiled now if need be. ``always``: None. ``auto``: from memory or the disk cache
    (``shipped_too``: or first among the kernels shipped with the package, for one of tier 0's
    one-node kernels); else compiled now if a call of ``size`` elements waits for its kernel
    (:func:`waits_for_kernel`); else None, with the compile queued if an earlier call asked for it
    (:meth:`_Compiler.submit`). None while the background compiler is making it, unless a call of
    :data:`BIG_LOOP_ELEMENTS` or more finds it queued for the second time (then it waits for it); a
    stored error of an earlier background compile is raised. ``extra``: one-node kernels tier 0
    needs for this call besides those of ``spec``'s root (a reduction's, :mod:`.staging`). On a
    thread importing the code generator (:func:`.kernels.importing_code_generator`), under ``never``
    and ``auto``: from memory, shipped or the disk cache, else None (compiled never)."""
    if settings_key is None:
        settings_key = settings.key
    if policy == "always":
        return None
    if handler_calls.in_bookkeeping():  # a signal handler's call, whatever the policy: from memory only
        return kernels.cached(spec, settings_key)
    if handler_calls.where_nothing_compiles():  # a handler's too: a kernel at hand, else tier 0
        return kernels.available(spec, settings_key, shipped_too=True)
    if policy == "never":
        return kernels.kernel(spec, settings_key)
    key = (spec, settings_key)
    if _compiler.errors and (error := _compiler.take_error(key)) is not None:
        raise error
    if _compiler.pending(key):
        if size >= BIG_LOOP_ELEMENTS and key in _compiler.asked_again:
            # A loop of big calls: interpreted on all cores, they would starve the compile (at a
            # lower priority); waiting, this call leaves it the cores (see the module's docstring).
            with _compiler.lock:
                if key in _compiler.queued:
                    _compiler.waited.add(key)
            return kernels.kernel(spec, settings_key)
        with _compiler.lock:  # (the compile may have ended since: nothing to want then)
            if key in _compiler.queued:
                _compiler.asked_again.add(key)
                handler_calls.bookkept(_compiler.wanted.set)
        return None
    # (a second small call looks in memory only: its first looked in the disk cache moments ago, and
    # the compile looks again)
    found = (kernels.cached(spec, settings_key) if key in _compiler.called_once
             else kernels.available(spec, settings_key, shipped_too=shipped_too))
    if found is None:
        if handler_calls.bookkept(waits_for_kernel, spec, size, extra, settings_key):  # (walks the IR)
            return kernels.kernel(spec, settings_key)
        background.note_call()
        handler_calls.bookkept(_compiler.submit, key)
    return found


def kernel_may_come() -> bool:
    """Whether a call whose kernel is not in memory may run one rather than be interpreted: under
    ``never``; under ``auto``, unless the process has not loaded LLVM on a machine whose disk cache
    held no kernel (:func:`waits_for_kernel`). Only then does a big call start the thread pool's
    workers while it looks (their load opened the shipped archive, ~1.5 ms, and they spun beside
    the interpreter's threads)."""
    return policy == "never" or (policy == "auto" and (llvm_ready() or disk_cache.holds_entries()))


def is_big(spec: KernelSpec, size: int) -> bool:
    """Whether a call of ``size`` elements is big enough to wait for ``spec``'s kernel (the bounds above)."""
    return size >= COMPILE_NOW_ELEMENTS or (size >= COMPILE_NOW_ELEMENTS_LLVM_UP and kernels.compiler_loaded()
                                            and not interpreter.needs_kernels(spec.root))


def waits_for_kernel(spec: KernelSpec, size: int, extra: tuple[KernelSpec, ...] = (),
                     settings_key: tuple | None = None) -> bool:
    """Whether a call of ``size`` elements that has no kernel for ``spec`` at hand waits for it
    under ``auto`` rather than being interpreted (see the module's docstring); ``extra``: one-node
    kernels the interpreter needs besides those of ``spec``'s root. Queues the one-node kernels it
    finds missing (for the next expression that uses them), under the current codegen settings
    (or ``settings_key``)."""
    if settings_key is None:
        settings_key = settings.key
    if policy != "auto":
        return False
    needs_kernels = interpreter.needs_kernels(spec.root)
    big = is_big(spec, size)
    if not big and not extra and not needs_kernels:
        return False
    if extra and not (llvm_ready() or disk_cache.holds_entries()) \
            and not all(kernels.at_hand(one_node, settings_key) for one_node in extra):
        return True  # (tier 0 would compile the extra kernels here, unless shipped: one fused compile is cheaper)
    # waiting pays when the kernel is likely on disk, or LLVM is up; a new process on a machine
    # whose disk cache is empty would pay LLVM's start-up and the code generator's import first
    if not (llvm_ready() or disk_cache.holds_entries()):
        return False
    if big:
        return bool(extra) or not interpreter.is_one_numpy_operation(spec.root)
    uniform = frozenset(k for k, access in enumerate(spec.accesses[:-1]) if access.stride == "u")
    missing = (interpreter.missing_kernels(spec.root, uniform, settings_key)
               + [s for s in extra if not kernels.at_hand(s, settings_key)])
    for one_node in missing:
        _compiler.prepare((one_node, settings_key))
    if missing:
        first_use.note_missing(settings_key)
    return bool(missing)


def wait_for_compiles(timeout: float | None = None) -> bool:
    """Block until the background compiler has finished everything queued so far; False if
    ``timeout`` seconds passed first. The typed plans this process has not written to the disk
    cache yet are written first (:func:`.plan_store.write_unwritten`)."""
    plan_store.write_unwritten()
    return _compiler.wait(timeout)


def compiles_pending() -> int:
    """How many kernels are queued for or being compiled by the background compiler."""
    return len(_compiler.queued)
