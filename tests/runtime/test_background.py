"""The background thread (optimized builds, the native pool's build): what happens when it cannot start,
and its jobs let the calls in progress finish first (not the calls that begin meanwhile)."""
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


def test_a_job_waits_while_a_call_is_in_progress(monkeypatch):
    assert background.wait(PATIENCE)
    monkeypatch.setattr(background, "YIELD_LIMIT", PATIENCE)
    ran = threading.Event()
    with background.call_in_progress():
        background.submit(ran.set)
        assert not ran.wait(0.2)  # held back while the call runs
    assert ran.wait(PATIENCE) and background.wait(PATIENCE)


def test_yielding_to_calls_ends_when_they_end_or_at_the_limit(monkeypatch):
    monkeypatch.setattr(background, "YIELD_LIMIT", PATIENCE)
    started = time.monotonic()
    background.yield_to_calls()  # nobody in progress: at once
    assert time.monotonic() - started < PATIENCE / 2
    done = threading.Event()
    yielder = threading.Thread(target=lambda: (background.yield_to_calls(), done.set()), daemon=True)
    with background.call_in_progress(), background.call_in_progress():  # two calls, one after the other ends
        yielder.start()
        assert not done.wait(0.1)
    assert done.wait(PATIENCE)
    monkeypatch.setattr(background, "YIELD_LIMIT", 0.05)
    with background.call_in_progress():  # a call that runs too long holds a job up no longer than the limit
        background.yield_to_calls()
    assert background.calls_in_progress() == 0


def test_a_call_that_begins_while_a_job_waits_is_not_waited_for(monkeypatch):
    """A loop of calls (one after the other) must not hold a compile up for good."""
    monkeypatch.setattr(background, "YIELD_LIMIT", PATIENCE)
    done = threading.Event()
    yielder = threading.Thread(target=lambda: (background.yield_to_calls(), done.set()), daemon=True)
    first = background.call_in_progress()
    first.__enter__()
    yielder.start()
    time.sleep(0.05)  # (the yielder counts the calls begun so far: this one)
    with background.call_in_progress():  # the next call of the loop begins as the first ends
        first.__exit__(None, None, None)
        assert done.wait(PATIENCE)
    yielder.join(PATIENCE)


def test_an_optimized_build_waits_for_a_pause_in_the_calls(monkeypatch):
    """While calls keep beginning (new expressions, interpreted or waiting for their kernels), an
    optimized build (a job with a key) waits; other jobs (the native pool's build) do not."""
    assert background.wait(PATIENCE)
    monkeypatch.setattr(background, "QUIET", PATIENCE)  # (a pause never comes here)
    monkeypatch.setattr(background, "QUIET_LIMIT", PATIENCE)
    background.note_call()
    optimized, other = threading.Event(), threading.Event()
    background.submit(optimized.set, key=("kernel", 1))
    assert not optimized.wait(0.2)
    assert background.take_optimizations()  # (what the exit hands over: still in the queue)
    background.submit(other.set)
    assert other.wait(PATIENCE)
    monkeypatch.setattr(background, "QUIET_LIMIT", 0.05)  # calls that never pause hold it up no longer
    background.submit(optimized.set, key=("kernel", 1))
    assert optimized.wait(PATIENCE) and background.wait(PATIENCE)


def test_optimized_builds_stop_waiting_for_a_pause_once_enough_are_queued(monkeypatch):
    """A long run of new expressions must not fill the queue to the bound past which kernels.py
    compiles optimized code at once."""
    assert background.wait(PATIENCE)
    monkeypatch.setattr(background, "QUIET", PATIENCE)  # (a pause never comes here)
    monkeypatch.setattr(background, "QUIET_LIMIT", PATIENCE)
    background.note_call()
    ran = []
    try:
        for k in range(background.PAUSE_QUEUE):
            if k == background.PAUSE_QUEUE - 1:
                time.sleep(0.2)
                assert not ran  # (fewer than PAUSE_QUEUE queued: they wait)
            background.submit(lambda k=k: ran.append(k), key=("kernel", k))
        deadline = time.monotonic() + PATIENCE
        while not ran and time.monotonic() < deadline:  # PAUSE_QUEUE queued: the first runs
            time.sleep(0.01)
        assert ran[:1] == [0]
    finally:
        background.take_optimizations()
        assert background.wait(PATIENCE)
