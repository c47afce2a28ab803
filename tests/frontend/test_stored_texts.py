"""Texts recalled from the disk cache (:mod:`fusenum.frontend.stored_texts`): a later process neither
parses nor types a text typed before for the same operands, and gets the same bits; plans that
depend on a value or warned when typed are never kept."""
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from fusenum.runtime import disk_cache

# Run in a fresh process: evaluate each (text, dtypes) of argv[1] and print the results' bytes (hex)
# and dtypes, and whether the text was parsed or typed in this process.
_CHILD = """
import json, sys, warnings
import numpy as np
import fusenum
from fusenum.frontend import stored_texts
from fusenum.ir import typing
used = []
parse, finish = stored_texts.parse, typing.Builder.finish
stored_texts.parse = lambda text: used.append("parsed") or parse(text)
typing.Builder.finish = lambda self, root: used.append("typed") or finish(self, root)
results = []
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for text, dtypes, scalar in json.loads(sys.argv[1]):
        names = {name: (np.arange(1, 8) * 0.75).astype(dtype) for name, dtype in zip("abc", dtypes)}
        names["x"] = scalar
        result = np.asarray(fusenum.evaluate(text, names))
        key = (text, *(names[name].dtype for name in "abc"[:len(dtypes)]))
        plan = fusenum.runtime.PLANS.get(key)  # (what the plan holds: the same, typed or recalled)
        held = "" if plan is None else repr((plan.root, plan.sources, plan.casts, plan.first_array, plan.staged is None))
        results.append([result.tobytes().hex(), str(result.dtype), held])
print(json.dumps({"results": results, "used": used, "warned": [type(w.message).__name__ for w in caught]}))
"""


def _run(cache_dir, calls: list) -> dict:
    result = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(calls)], capture_output=True, text=True,
                            timeout=600, env={**os.environ, "FUSENUM_CACHE_DIR": str(cache_dir)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _plans(cache_dir) -> list:
    return sorted(cache_dir.glob("*" + disk_cache.PLAN_SUFFIX))


def test_a_later_process_neither_parses_nor_types_a_text_typed_before(tmp_path):
    calls = [["2*a + 3*b - c", ["float64", "float32", "int8"], 0], ["sin(a)**2 + cos(b)", ["float32", "float32"], 0],
             ["a - mean(a, axis=0)", ["float64"], 0], ["sum(a*b)", ["int16", "int32"], 0], ["a * x", ["float32"], 2.5],
             ["a + sqrt(2)", ["float64"], 0]]  # (a folded call's casts, kept with its plan)
    first = _run(tmp_path, calls)
    assert first["used"].count("parsed") == len(calls) and first["used"].count("typed") >= len(calls)
    assert len(_plans(tmp_path)) == len(calls)
    later = _run(tmp_path, calls)
    assert later["used"] == [] and later["results"] == first["results"]


def test_other_operand_dtypes_are_typed_and_kept_beside_the_earlier(tmp_path):
    text = "where(a > b, a, b) * 2"
    _run(tmp_path, [[text, ["float64", "float64"], 0]])
    other = _run(tmp_path, [[text, ["int32", "float32"], 0]])
    assert other["used"] == ["parsed", "typed"]
    both = [[text, ["float64", "float64"], 0], [text, ["int32", "float32"], 0]]
    again = _run(tmp_path, both)
    assert again["used"] == [] and again["results"][1] == other["results"][0]
    assert len(_plans(tmp_path)) == 1  # one record per text


def test_a_plan_that_depends_on_a_value_is_not_kept(tmp_path):
    # ``x * 2`` is computed as Python computes it (the value decides its type): typed per value
    text = "x * 2 + a"
    a = (np.arange(1, 8) * 0.75).astype(np.int8)
    for x in (3, 5):  # (one key: both fit int8)
        later = _run(tmp_path, [[text, ["int8"], x]])
        assert "typed" in later["used"] and later["results"][0][:2] == [(x * 2 + a).tobytes().hex(), "int8"]


def test_a_plan_whose_typing_warned_is_not_kept_and_warns_again(tmp_path):
    calls = [["sum(a, dtype='float64')", ["complex128"], 0]]
    assert _run(tmp_path, calls)["warned"] == ["ComplexWarning"]
    later = _run(tmp_path, calls)
    assert later["warned"] == ["ComplexWarning"] and "typed" in later["used"]


def test_nothing_is_kept_with_the_disk_cache_off(tmp_path):
    result = subprocess.run([sys.executable, "-c", _CHILD, json.dumps([["a + 1", ["float64"], 0]])],
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "FUSENUM_CACHE_DIR": str(tmp_path), "FUSENUM_CACHE": "off"})
    assert result.returncode == 0, result.stderr
    assert not tmp_path.exists() or _plans(tmp_path) == []


def test_a_call_made_while_its_thread_records_the_same_text_returns():
    # A signal handler's call (here made from inside the recording, as a handler runs there) typed the
    # text for other operands and waited for the text's lock, which its own thread held: for ever.
    import threading

    import fusenum
    from fusenum.frontend import stored_texts
    from fusenum.runtime import plan_store

    text, made, entered, record = "a * 0.5 + a * a * 17.25", [], [], plan_store.Record

    def recording(*fields):
        if not entered and sys._getframe(1).f_code.co_name == "keep_typed_plan":
            entered.append(True)
            made.append(fusenum.evaluate(text, {"a": np.ones(3, np.float32)}))
        return record(*fields)

    previous = fusenum.set_disk_cache(enabled=False)  # (a record on disk would spare the typing)
    stored_texts.plan_store.Record = recording
    try:
        thread = threading.Thread(target=lambda: made.append(fusenum.evaluate(text, {"a": np.ones(3)})),
                                  daemon=True)
        thread.start()
        thread.join(60)
    finally:
        stored_texts.plan_store.Record = record
        fusenum.set_disk_cache(*previous)
    assert not thread.is_alive(), "the call made while recording its text hung"
    assert [m.dtype for m in made] == [np.float32, np.float64]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_child_forked_while_another_thread_records_a_text_can_record_texts():
    import threading

    import fusenum
    from fusenum.frontend import stored_texts

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with stored_texts._lock:  # (what a thread recording a text holds)
            held.set()
            release.wait(60)

    threading.Thread(target=hold, daemon=True).start()
    assert held.wait(60)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover -- the child
            code = 1
            try:
                signal.alarm(30)
                fusenum.evaluate("a * 0.5 - a * 19.75", {"a": np.ones(3)})
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    finally:
        release.set()
    assert os.waitstatus_to_exitcode(status) == 0
