"""Where a signal handler's call into fusenum must not wait for another thread.

A Python signal handler runs on the main thread between two bytecodes, so its call may find that
thread inside fusenum, or inside the import system. :mod:`.tiering` asks this module whether the
call it serves is such a call, and then serves it from kernels at hand or tier 0 (the same bits).
"""
from __future__ import annotations

import _imp
import sys
import threading
from typing import Any, Callable

from . import kernels

#: Whether this thread is in the background compiler's bookkeeping (:func:`bookkept`), whose events
#: and queue take locks that a thread cannot take twice: a handler's call made there would wait for
#: itself.
_bookkeeping = threading.local()


def bookkept(action: Callable, *args: Any) -> Any:
    """``action(*args)`` marked as this thread's bookkeeping with the compiler."""
    _bookkeeping.on = True
    try:
        return action(*args)
    finally:
        _bookkeeping.on = False


def in_bookkeeping() -> bool:
    """Whether this thread is in :func:`bookkept` further up its stack: a handler's call, which only
    a kernel in memory may serve (a load could wait for the compiler's thread, which may wait for a
    lock this thread holds), else tier 0."""
    return getattr(_bookkeeping, "on", False)


def where_nothing_compiles() -> bool:
    """Whether this call is a handler's that interrupted its thread where no compile can serve it:
    while the thread imports the code generator (nothing compiles before that import ends), or is in
    the import system's search for a module, which holds the global import lock (a compile on
    another thread may need it)."""
    if kernels.importing_code_generator():
        return True
    if not _imp.lock_held():  # (any thread's: then this thread's stack says whether it is this one)
        return False
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "_find_spec" and code.co_filename == "<frozen importlib._bootstrap>":
            return True
        frame = frame.f_back
    return False
