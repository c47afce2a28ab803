"""A signal handler that calls fusenum while the main thread is inside fusenum, holding one of its locks.

A Python signal handler runs on the main thread between two bytecodes. Each case raises the signal
at one point of a process's first kernel call where the main thread holds a lock (so the handler
runs right there) and the handler evaluates another expression: it must finish, and so must the
call it interrupted. Each runs in a subprocess under a timeout, so a deadlock fails the test
rather than hanging it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM")

_INTERRUPTED_FIRST_CALL = r"""
import faulthandler, signal, sys
import numpy as np
import fusenum
from fusenum.codegen import jit, orc
from fusenum.runtime import disk_cache, kernels

faulthandler.dump_traceback_later(60, exit=True)
a = np.linspace(0.5, 1.5, 1000)
results = []
signal.signal(signal.SIGALRM, lambda *_: results.append(fusenum.evaluate("a * 2 + 1", {"a": a})))
module, name = {"orc": orc, "disk_cache": disk_cache, "jit": jit, "kernels": kernels}[sys.argv[1]], sys.argv[2]
real = getattr(module, name)

def interrupting(*args, **kwargs):  # the handler runs before this returns: within the caller's lock
    setattr(module, name, real)
    signal.raise_signal(signal.SIGALRM)
    return real(*args, **kwargs)

if isinstance(real, type):  # a class: interrupt its constructor
    class Interrupting(real):
        def __init__(self, *args, **kwargs):
            setattr(module, name, real)
            signal.raise_signal(signal.SIGALRM)
            super().__init__(*args, **kwargs)
    interrupting = Interrupting
setattr(module, name, interrupting)
got = fusenum.evaluate("sin(a) + 3", {"a": a})
assert results, "the signal handler did not run"
np.testing.assert_allclose(results[0], a * 2 + 1)
np.testing.assert_allclose(got, np.sin(a) + 3)
"""

_FILL = """
import numpy as np, fusenum
a = np.linspace(0.5, 1.5, 1000)
fusenum.evaluate("a * 2 + 1", {"a": a}), fusenum.evaluate("sin(a) + 3", {"a": a})
"""


@pytest.mark.parametrize("where", [
    "orc.preload",  # loading LLVM to describe the host (target._host_lock, target.loading)
    "disk_cache._problem",  # checking the cache directory (disk_cache._lock)
    "disk_cache.get_disk_cache",  # recording the host's description (host_record._lock)
    "jit.link",  # linking a kernel loaded from the disk cache (stored_code._link_lock)
    "kernels._Pending",  # registering a kernel being made (kernels._lock)
])
def test_a_signal_handler_that_evaluates_during_the_first_call_does_not_deadlock(tmp_path, where):
    environment = dict(os.environ, FUSENUM_CACHE_DIR=str(tmp_path / "kernels"), FUSENUM_TIERING="never")
    if where == "jit.link":  # the main thread links only what it loads from the disk cache: fill it first
        subprocess.run([sys.executable, "-c", _FILL], env=environment, check=True, timeout=120)
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_FIRST_CALL, *where.split(".")], env=environment,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
