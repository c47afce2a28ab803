"""Ctrl-C during a big computation or a big compile raises KeyboardInterrupt promptly, keeps no
partial result as a lazy array's value, and leaves the library working (tests/runtime/interrupt_child.py
does it in a subprocess; the bound here is generous, the measured latencies go in the notes)."""
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import fusenum
from fusenum.runtime import kernels

CHILD = Path(__file__).with_name("interrupt_child.py")
ROOT = Path(fusenum.__file__).resolve().parent.parent


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to oneself is POSIX")
@pytest.mark.parametrize("threads", ["1", "2"])
def test_ctrl_c_during_computation_and_compile(threads):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FUSENUM_NUM_THREADS": threads}
    done = subprocess.run([sys.executable, str(CHILD), "8000000", "600"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for what in ("compute", "lazy", "compile"):
        assert report[what] is not None, f"{what} finished before the signal: {report}"
        assert report[what] < 1.0, report
    assert report["compute_after_ok"] and report["lazy_after_ok"] and report["compile_after_ok"], report
    assert report["lazy_not_forced"], report


def test_an_interrupt_before_the_compile_helper_starts_leaves_nothing_pending(monkeypatch):
    fusenum.clear_cache()
    a = np.arange(5.0)

    def interrupted(thread):
        raise KeyboardInterrupt

    monkeypatch.setattr(threading.Thread, "start", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fusenum.evaluate("a * 3 - 1.5", {"a": a})
    monkeypatch.undo()
    assert not kernels._pending
    np.testing.assert_array_equal(fusenum.evaluate("a * 3 - 1.5", {"a": a}), a * 3 - 1.5)


_INTERRUPTED_WAITS = """
import faulthandler, signal, sys, threading, time
faulthandler.dump_traceback_later(100, exit=True)  # a hang ends the child with its tracebacks
import numpy as np
import fusenum
from fusenum.runtime import threads
signal.signal(signal.SIGALRM, signal.default_int_handler)  # the alarm acts as a Ctrl-C


def interrupted_after(seconds, call):
    # call() with a Ctrl-C after ``seconds``; its result, or None if interrupted
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        return call()
    except KeyboardInterrupt:
        return None
    finally:
        while True:  # disarmed, and a signal that came meanwhile taken
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                time.sleep(0.0005)
                break
            except KeyboardInterrupt:
                pass


# The waiting itself: one worker's outcome, a Ctrl-C at every moment around its arrival.
for trial in range(3000):
    outcomes = threads._Outcomes()
    worker = threading.Thread(target=lambda: (time.sleep(0.0002), outcomes.put(1)))
    worker.start()
    got = interrupted_after(0.0001 + 0.000001 * (trial % 300), lambda: threads._collect(outcomes, 1, None))
    assert got is None or got[1] == [1], got
    worker.join()
# Interpreted calls split between Python workers, interrupted at every moment.
a = np.random.default_rng(0).random(400_000)
for trial in range(1500):
    interrupted_after(0.0002 + 0.00001 * (trial % 300), lambda: fusenum.evaluate("a * 2 + 1"))
assert (fusenum.evaluate("a * 2 + 1") == a * 2 + 1).all()
print("done")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGALRM is POSIX")
def test_a_ctrl_c_while_waiting_for_workers_never_loses_their_outcome():
    # A Ctrl-C right after a queue's get() returned lost the outcome it took: the call waited forever.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FUSENUM_NUM_THREADS": "2", "FUSENUM_TIERING": "always"}
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_WAITS], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr[-3000:]
