"""fusenum's module-level locks: safe across ``fork()``, and across a signal handler that calls fusenum.

Two hazards, one place:

* **fork.** A lock that another thread holds when the process forks stays held in the child,
  where that thread does not exist: the child's first use of it hangs (``multiprocessing``'s
  ``fork`` start method, ``ProcessPoolExecutor``, a plain ``os.fork()``). :func:`fork_safe`
  registers a lock either to be reinitialized (unlocked) in the child, as the ``logging`` module
  does with its handlers' locks, or, with ``hold``, to be taken before the fork and given back on
  both sides: the fork then waits until no other thread is inside it, so the child finds the
  state it guards whole. (Held locks' *state* is what ``hold`` protects; a reinitialized lock's
  state is updated in single steps, or is rebuilt by its module's own child handler.)
* **signals.** A Python signal handler runs on the main thread between two bytecodes, so perhaps
  while that thread holds one of these locks inside fusenum (its first call, loading LLVM, say).
  A handler that calls fusenum takes the lock again: a plain ``Lock`` deadlocks there, so
  fusenum's locks are :func:`threading.RLock` wherever the state they guard is consistent between
  statements (a re-entering call then sees either the state before or after an update). Nor may
  such a call wait for another thread that needs a lock its own thread holds: :func:`held_here`
  tells it to do the work itself (:mod:`fusenum.runtime.kernels` makes a kernel on the calling
  thread then, not on a helper thread).

No fusenum code forks while it holds one of these locks.
"""
from __future__ import annotations

import os
import threading
import weakref
from typing import TypeVar

L = TypeVar("L")

_reinitialized: "weakref.WeakSet" = weakref.WeakSet()
_tracked: "weakref.WeakSet" = weakref.WeakSet()  # for held_here()


def _reinitialize_in_child() -> None:
    for lock in list(_reinitialized):
        lock._at_fork_reinit()  # (CPython's, as logging uses: Lock, RLock and Condition have it)


if hasattr(os, "register_at_fork"):
    # Registered before any lock's module registers its own handlers (this module is imported
    # first), so those find their locks usable in the child.
    os.register_at_fork(after_in_child=_reinitialize_in_child)


def fork_safe(lock: L, hold: bool = False) -> L:
    """Make ``lock`` (a ``Lock``, ``RLock`` or ``Condition``) usable in a forked child; returns it.

    Without ``hold`` it is reinitialized (unlocked) in the child. With ``hold`` a fork takes it
    first (waiting for any other thread inside it) and gives it back in parent and child alike:
    for a lock held only briefly, and never while waiting for a thread that takes fork handlers'
    other locks."""
    track(lock)
    if not hasattr(os, "register_at_fork"):
        return lock
    if hold:
        os.register_at_fork(before=lock.acquire, after_in_parent=lock.release, after_in_child=lock.release)
    elif hasattr(lock, "_at_fork_reinit"):
        _reinitialized.add(lock)
    return lock


def lock(hold: bool = False) -> "threading.RLock":
    """A new re-entrant lock, usable in a forked child (:func:`fork_safe`)."""
    return fork_safe(threading.RLock(), hold)


def track(lock: L) -> L:
    """Count ``lock`` (an ``RLock`` or a ``Condition`` of one) in :func:`held_here`; returns it. (Every
    lock :func:`fork_safe` registers is counted.)"""
    if hasattr(lock, "_is_owned"):
        _tracked.add(lock)
    return lock


def held_here() -> bool:
    """Whether the calling thread holds one of fusenum's locks (:func:`track`): then it is inside
    fusenum further up its stack (a signal handler's call), and must not wait for another thread
    that may need that lock."""
    return any(lock._is_owned() for lock in list(_tracked))


#: Held while fusenum imports a module on first use (llvmlite, the code generator, a hash module...),
#: possibly on a background thread: a fork waits for it. Python's lock on a module being imported
#: stays held in a child forked meanwhile, whose own import of that module would then never end.
loading = lock(hold=True)
