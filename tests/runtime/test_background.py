"""The background thread (optimized builds, the native pool's build): what happens when it cannot start,
and its jobs yield to calls waiting for their kernels."""
import threading
import time

from fusenum.runtime import background

#: Long enough never to expire on a loaded machine; only reached if the code under test is wrong.
PATIENCE = 120


class _Unstartable:
    def __init__(self, *args, **kwargs):
        pass

    def start(self):
        raise RuntimeError("can't start new thread")


def test_a_job_with_no_thread_to_be_had_is_dropped_and_the_next_one_asks_again(monkeypatch):
    assert background.wait(120)  # (an earlier test's jobs done)
    monkeypatch.setitem(background._state, "thread", None)
    monkeypatch.setattr(background.threading, "Thread", _Unstartable)
    ran = []
    background.submit(lambda: ran.append(1))  # neither raises nor leaves a job no thread runs
    assert background._state["thread"] is None and background.pending() == 0 and background.wait(0)
    monkeypatch.undo()  # (the process's thread back, or none: then this submit starts one)
    background.submit(lambda: ran.append(2))
    assert background.wait(120) and ran == [2]


def test_a_job_waits_while_a_call_waits_for_its_kernel(monkeypatch):
    assert background.wait(PATIENCE)
    monkeypatch.setattr(background, "YIELD_LIMIT", PATIENCE)
    ran = threading.Event()
    with background.call_waits():
        background.submit(ran.set)
        assert not ran.wait(0.2)  # held back while the call waits
    assert ran.wait(PATIENCE) and background.wait(PATIENCE)


def test_yielding_to_calls_ends_when_they_end_or_at_the_limit(monkeypatch):
    monkeypatch.setattr(background, "YIELD_LIMIT", PATIENCE)
    started = time.monotonic()
    background.yield_to_calls()  # nobody waiting: at once
    assert time.monotonic() - started < PATIENCE / 2
    done = threading.Event()
    yielder = threading.Thread(target=lambda: (background.yield_to_calls(), done.set()), daemon=True)
    with background.call_waits(), background.call_waits():  # two calls, one after the other done
        yielder.start()
        assert not done.wait(0.1)
    assert done.wait(PATIENCE)
    monkeypatch.setattr(background, "YIELD_LIMIT", 0.05)
    with background.call_waits():  # a call that waits too long holds a job up no longer than the limit
        background.yield_to_calls()
    assert background._state["calls waiting"] == 0
