"""fork() while another thread holds one of fusenum's locks: the child still evaluates.

A lock held by a thread when the process forks stays held in the child, where that thread does
not exist; fusenum reinitializes its locks in the child (or has the fork wait for the few it takes
before forking). Each check runs in a subprocess under a timeout, so a hang fails the test rather
than hanging it.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="needs os.fork")

_HELD_ACROSS_FORK = r"""
import faulthandler, functools, importlib, os, sys, threading
import numpy as np
import fusenum

LOCKS = [("fusenum.runtime.kernels", "_lock"), ("fusenum.runtime.stored_code", "_link_lock"),
         ("fusenum.runtime.disk_cache", "_lock"), ("fusenum.runtime.host_record", "_lock"),
         ("fusenum.runtime.interpreter", "_tables_lock"), ("fusenum.runtime.threads", "_native_lock"),
         ("fusenum.runtime.background", "_condition"), ("fusenum.runtime.tiering", "_compiler.lock"),
         ("fusenum.codegen.jit", "_machines_lock"), ("fusenum.codegen.jit", "_lljit_lock"),
         ("fusenum.codegen.jit", "_compiles"), ("fusenum.codegen.target", "_host_lock"),
         ("fusenum.codegen.target", "loading"), ("fusenum.codegen.orc", "lock"),
         ("fusenum.frontend.python_syntax", "_lock")]

def resolve(module, path):
    return functools.reduce(getattr, path.split("."), importlib.import_module(module))

a = np.linspace(0.5, 1.5, 3000)
fusenum.evaluate("sin(a) + 1", {"a": a})  # LLVM loaded, the host described
failed = []
for number, (module, path) in enumerate(LOCKS):
    lock, held, done = resolve(module, path), threading.Event(), threading.Event()

    def hold():
        with lock:
            held.set()
            done.wait(0.3)  # (a fork that waits for this lock waits this long)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    pid = os.fork()
    if pid == 0:
        faulthandler.dump_traceback_later(30, exit=True)
        if not resolve(module, path).acquire(timeout=10):
            os._exit(3)
        resolve(module, path).release()
        for policy in ("never", "always"):  # compiled (and linked), then interpreted
            fusenum.set_tiering(policy)
            fusenum.evaluate(f"cos(a) * {number + 2} + exp(a) * {len(policy)}", {"a": a})
        fusenum.evaluate("sum(tanh(a))", {"a": a})
        os._exit(0)
    done.set()
    holder.join()
    _, status = os.waitpid(pid, 0)
    if status:
        failed.append((module, path, status))
print("failed:", failed)
sys.exit(1 if failed else 0)
"""


def test_a_child_forked_while_another_thread_holds_a_lock_evaluates(tmp_path):
    environment = dict(os.environ, FUSENUM_CACHE_DIR=str(tmp_path), FUSENUM_TIERING="never")
    done = subprocess.run([sys.executable, "-c", _HELD_ACROSS_FORK], env=environment, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


_FORK_DURING_FIRST_CALL = r"""
import faulthandler, os, sys, threading, time
import numpy as np
import fusenum

a = np.linspace(0.5, 1.5, 1000)
first = threading.Thread(target=lambda: fusenum.evaluate("sin(a) * 2 + 1", {"a": a}))
first.start()
time.sleep(float(sys.argv[1]))
pid = os.fork()
if pid == 0:
    faulthandler.dump_traceback_later(30, exit=True)
    fusenum.evaluate("cos(a) + 5", {"a": a})
    os._exit(0)
_, status = os.waitpid(pid, 0)
first.join()
sys.exit(status and 1)
"""


@pytest.mark.parametrize("policy", ["never", "auto"])
def test_a_child_forked_during_another_threads_first_call_evaluates(tmp_path, policy):
    environment = dict(os.environ, FUSENUM_CACHE_DIR=str(tmp_path), FUSENUM_TIERING=policy)
    for delay in ("0", "0.01", "0.03"):
        done = subprocess.run([sys.executable, "-c", _FORK_DURING_FIRST_CALL, delay], env=environment,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (delay, done.stdout + done.stderr)
