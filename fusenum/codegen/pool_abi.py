"""The native thread pool's interface (:mod:`.pool` generates its code): entry points, C types, limits.

Kept apart from the generator (:mod:`.pool`, with the IR builder): a process that loads the
pool's object code from the disk cache uses only this.
"""
from __future__ import annotations

import ctypes
import platform
import sys

MAX_WORKERS = 255
#: Returned when another thread is using the pool: run the call alone.
POOL_BUSY = 1 << 29
SYMBOLS = ["fusenum_pool_run", "fusenum_pool_start", "fusenum_pool_worker_count", "fusenum_pool_acquire",
           "fusenum_pool_release", "fusenum_pool_reset"]
#: ``fusenum_pool_run(fn, operands, layout, bounds, chunks, helpers, wake_ok)``.
RUN_CTYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.py_object, ctypes.c_void_p,
                             ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32)
#: ``fusenum_pool_start(helpers)``: start that many workers ahead of a call.
START_CTYPE = ctypes.CFUNCTYPE(None, ctypes.c_int32)
#: ``fusenum_pool_worker_count()``: the workers started so far.
COUNT_CTYPE = ctypes.CFUNCTYPE(ctypes.c_int32)
CONTROL_CTYPE = ctypes.CFUNCTYPE(None)


def supported() -> bool:
    """Whether the native pool can run here (Linux on x86-64)."""
    return sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64")
