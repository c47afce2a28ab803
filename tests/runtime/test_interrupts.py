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
