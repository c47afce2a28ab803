"""The background thread (optimized builds, the native pool's build): what happens when it cannot start."""
from fusenum.runtime import background


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
