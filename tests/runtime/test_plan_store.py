"""Typed plans in the disk cache (:mod:`fusenum.runtime.plan_store`): a record that does not read back,
or names anything but IR, is removed and the text typed again; the digest covers what typing depends
on; records count towards the size limit and go with ``clear_disk_cache``; they are written off the
call that typed them (before a background compile, when asked, at the latest at exit, and the oldest
at once when too many wait), and a directory found without records is not looked in again."""
import os
import pickle
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

import fusenum
from fusenum.frontend import evaluation
from fusenum.ir.nodes import walk
from fusenum.runtime import background, disk_cache, disk_usage, plan_store, sources_digest, tiering

A = np.linspace(-2.0, 2.0, 50)


def _record_path(cache_dir, text: str):
    return cache_dir / (plan_store._digest(text).hex() + disk_cache.PLAN_SUFFIX)


def _typed_again(text: str) -> bool:
    """Evaluate ``text`` afresh in memory; whether it was parsed (its record was not used)."""
    fusenum.clear_cache()
    result = fusenum.evaluate(text, {"a": A})
    np.testing.assert_array_equal(result, A * 3.0 + 1.0)
    return evaluation._parsed[text]._parsed is not None


class _MakesDirectory:
    """Pickled as a call of ``os.mkdir``: what a record must never run."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return os.mkdir, (self.path,)


def _evaluate_and_write(text: str) -> None:
    fusenum.evaluate(text, {"a": A})
    plan_store.write_unwritten()


def test_a_record_is_recalled_with_its_names_and_typed_plans(cache_dir):
    _evaluate_and_write("a * 3.0 + 1.0")
    record = plan_store.recall("a * 3.0 + 1.0")
    assert record.names == ("a",) and record.columns == (0,) and list(record.plans) == [(A.dtype,)]
    assert not _typed_again("a * 3.0 + 1.0")
    assert oct(_record_path(cache_dir, "a * 3.0 + 1.0").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("damage", ["truncated", "not a pickle", "a foreign class", "not a record"])
def test_a_record_that_does_not_read_back_is_removed_and_the_text_typed_again(cache_dir, damage):
    text = "a * 3.0 + 1.0"
    _evaluate_and_write(text)
    path = _record_path(cache_dir, text)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:-5])
    elif damage == "not a pickle":
        disk_cache.store(plan_store._digest(text), b"not a pickle", disk_cache.PLAN_SUFFIX)
    else:  # whole and checksummed, but not what a record may hold
        plans = {(A.dtype,): (_MakesDirectory(cache_dir / "made"), ())} if damage == "a foreign class" \
            else {(A.dtype,): "plan"}
        disk_cache.store(plan_store._digest(text), pickle.dumps((("a",), (0,), plans)), disk_cache.PLAN_SUFFIX)
    assert plan_store.recall(text) is None
    assert not (cache_dir / "made").exists()  # nothing but IR is made from a record
    assert not path.exists()  # removed
    assert _typed_again(text)
    plan_store.write_unwritten()
    assert path.exists() and not _typed_again(text)  # kept again, whole


def test_a_recalled_plan_is_the_typed_one(cache_dir):
    """Nodes, sources and reductions' attributes go to a record as plain data, and come back equal
    (nodes are hash-consed: the very nodes typed)."""
    text = "sum(a * 2.0, axis=0, keepdims=True) + mean(a) * where(a > 0, a, 1)"
    fusenum.evaluate(text, {"a": A})
    typed = dict(evaluation._parsed[text]._record.plans)
    plan_store.write_unwritten()
    recalled = plan_store.recall(text).plans
    assert recalled == typed and [root.op for root, _, _ in recalled.values()] == ["add"]
    assert any(node.op == "reduce" for root, _, _ in recalled.values() for node in walk(root))


@pytest.mark.parametrize("module, name", [
    ("fusenum.ir.nodes", "Node"), ("fusenum.ir.operands", "Source"), ("fusenum.ir.reductions", "ReduceAttr"),
    ("numpy", "dtype"),
])
def test_a_record_cannot_set_attributes_of_a_class(cache_dir, module, name):
    """A pickle's BUILD on a class it names sets the class's attributes: a record naming ``Node``
    could replace ``Node.dtype`` (every node then had that dtype) in the whole process."""
    import importlib

    text = "a * 3.0 + 1.0"
    _evaluate_and_write(text)
    # the class, then the state (None, {"fusenum_mark": True}), whose second part BUILD sets as attributes
    mark = pickle.SHORT_BINUNICODE + b"\x0cfusenum_mark" + pickle.NEWTRUE
    attributes = pickle.EMPTY_DICT + mark + pickle.SETITEM
    crafted = (pickle.PROTO + b"\x04" + pickle.GLOBAL + f"{module}\n{name}\n".encode() + pickle.NONE
               + attributes + pickle.TUPLE2 + pickle.BUILD + pickle.STOP)
    disk_cache.store(plan_store._digest(text), crafted, disk_cache.PLAN_SUFFIX)
    assert plan_store.recall(text) is None and not _record_path(cache_dir, text).exists()
    assert not hasattr(getattr(importlib.import_module(module), name), "fusenum_mark")
    assert _typed_again(text)


def test_the_digest_covers_numpy_the_sources_and_the_cpu(monkeypatch):
    before = plan_store.environment()
    changes = [(plan_store.numpy_behaviour, "installation", lambda: "numpy 0.0.0"),
               (plan_store.sources_digest, "typing_digest", lambda: b"edited"),
               (plan_store.target, "cpu_flags", lambda: frozenset({"sse2"}))]
    for owner, name, value in changes:
        with monkeypatch.context() as patch:
            patch.setattr(owner, name, value)
            plan_store.environment.cache_clear()
            assert plan_store.environment() != before, name
    plan_store.environment.cache_clear()
    assert plan_store.environment() == before


def test_the_typing_digest_covers_the_plan_cache_source(monkeypatch):
    """``plan_cache`` decides what typing is told of each operand (a constant, an array, a weak
    scalar): an edit of it must not meet records typed before."""
    real_stat = os.stat
    touched = {"on": False}

    def stat(path, *args, **kwargs):
        status = real_stat(path, *args, **kwargs)
        if touched["on"] and str(path).endswith("plan_cache.py"):
            return SimpleNamespace(st_size=status.st_size, st_mtime_ns=status.st_mtime_ns + 1)  # edited
        return status

    def digest() -> bytes:
        sources_digest.typing_digest.cache_clear()
        try:
            return sources_digest.typing_digest()
        finally:
            sources_digest.typing_digest.cache_clear()
    monkeypatch.setattr(sources_digest.os, "stat", stat)
    before = digest()
    touched["on"] = True
    assert digest() != before


def test_records_count_towards_the_size_limit_and_go_with_the_cache(cache_dir):
    fusenum.evaluate("a * 3.0 + 1.0", {"a": A})
    assert tiering.wait_for_compiles(120) and background.wait(120)
    sizes = sum(disk_usage.allocated(path.stat()) for path in cache_dir.iterdir()
                if path.name.endswith(disk_cache.EVICTED_SUFFIXES))
    assert _record_path(cache_dir, "a * 3.0 + 1.0").exists()
    assert fusenum.cache_info().disk_bytes == sizes
    fusenum.clear_disk_cache()
    assert not _record_path(cache_dir, "a * 3.0 + 1.0").exists()


def test_a_record_is_written_off_the_call_that_typed_it(cache_dir):
    fusenum.evaluate("a * 3.0 + 1.0", {"a": A})
    assert not list(cache_dir.glob("*" + disk_cache.PLAN_SUFFIX))  # nothing written by the call
    recalled = plan_store.recall("a * 3.0 + 1.0")  # the process has it, unwritten: a copy is recalled
    assert recalled.plans and recalled.plans is not plan_store.recall("a * 3.0 + 1.0").plans
    assert not _typed_again("a * 3.0 + 1.0")
    assert tiering.wait_for_compiles(120)  # (writes what waits, as the compiler does before a job)
    assert _record_path(cache_dir, "a * 3.0 + 1.0").exists()


def test_beyond_the_bound_the_background_thread_writes_the_oldest_unwritten_record(cache_dir, monkeypatch):
    monkeypatch.setattr(plan_store, "MAX_UNWRITTEN", 2)
    texts = ["a + 1.0", "a + 2.0", "a + 3.0"]
    for text in texts:
        fusenum.evaluate(text, {"a": A})
    assert background.wait(60)  # (once the calls pause)
    assert [_record_path(cache_dir, text).exists() for text in texts] == [True, False, False]
    plan_store.write_unwritten()
    assert all(_record_path(cache_dir, text).exists() for text in texts)


@pytest.fixture
def asked(monkeypatch) -> list:
    """The background thread's record-writing jobs, kept here rather than run (other jobs run); with
    bounds of 1 record for the thread and 2 for the calls."""
    monkeypatch.setattr(plan_store, "MAX_UNWRITTEN", 1)
    monkeypatch.setattr(plan_store, "MAX_UNWRITTEN_HELD", 2)
    jobs, submit = [], background.submit
    monkeypatch.setattr(background, "submit", lambda job, **options: jobs.append(job) or True
                        if job is plan_store._write_in_background else submit(job, **options))
    return jobs


def test_far_beyond_the_bound_the_call_writes_the_oldest_unwritten_record(cache_dir, asked):
    # The background thread has not kept up (here: its job never runs): the call writes, so that the
    # records waiting stay bounded.
    texts = ["a + 4.0", "a + 5.0", "a + 6.0"]
    for text in texts:
        fusenum.evaluate(text, {"a": A})
    assert len(asked) == 1  # (one job at a time)
    assert [_record_path(cache_dir, text).exists() for text in texts] == [True, False, False]
    assert len(plan_store._unwritten) == 2
    asked[0]()  # (the job, run at last, writes down to MAX_UNWRITTEN)
    assert [_record_path(cache_dir, text).exists() for text in texts] == [True, True, False]


def test_a_call_that_writes_past_the_held_bound_leaves_the_background_thread_askable(cache_dir, asked):
    # Past MAX_UNWRITTEN_HELD the call writes; it once marked the thread asked with no job queued,
    # and the thread was never asked again.
    record = plan_store.Record(("a",), (0,), {})
    plan_store.store("a + 0.25", record)
    plan_store.store("a + 0.5", record)  # (past MAX_UNWRITTEN: the thread is asked)
    asked.pop()()  # its job starts (and may ask again from now on), and writes down to MAX_UNWRITTEN
    for number in range(3):  # (past MAX_UNWRITTEN_HELD before it is asked again: the calls write)
        with plan_store._lock:
            plan_store._unwritten[f"a * {number}.25"] = record
    plan_store.store("a - 0.25", record)
    assert not plan_store._writer_asked and not asked
    plan_store._write_beyond_bound(1)
    plan_store.store("a - 0.5", record)
    assert len(asked) == 1  # (asked again)


def test_threads_beyond_the_bound_together_keep_the_unwritten_records_bounded(cache_dir, monkeypatch):
    # Two threads over the bound at once each wrote the oldest record they had seen: the same one,
    # so the records waiting grew by one per such pair, without bound.
    monkeypatch.setattr(plan_store, "MAX_UNWRITTEN", 2)
    monkeypatch.setattr(plan_store, "MAX_UNWRITTEN_HELD", 2)
    record = plan_store.Record(("a",), (0,), {})
    for number in range(2):
        plan_store.store(f"a + {number}.5", record)
    with plan_store._write_lock:  # (both threads see the bound passed before either writes)
        threads = [threading.Thread(target=plan_store.store, args=(f"a * {number}.5", record))
                   for number in range(2)]
        for thread in threads:
            thread.start()
        while len(plan_store._unwritten) < 4:
            time.sleep(0.001)
    for thread in threads:
        thread.join()
    assert len(plan_store._unwritten) <= 2
    plan_store.write_unwritten()


def test_a_directory_found_without_records_is_not_looked_in_until_one_is_written(cache_dir, monkeypatch):
    fusenum.evaluate("a * 5.0", {"a": A})  # the first look: no record there
    other = plan_store.Record(("a",), (0,), {})
    monkeypatch.setattr(plan_store, "_digest", lambda text: pytest.fail("a digest was made"))
    assert plan_store.recall("a * 7.0") is None
    monkeypatch.undo()
    plan_store._write("a * 7.0", other)  # as another process might; this one writes it itself
    assert plan_store.recall("a * 7.0").names == ("a",)


def test_a_big_directory_without_records_is_not_read_whole(cache_dir, monkeypatch):
    """A directory of kernels and no records (as a prebuild leaves it) counts as one that may hold
    records after 64 entries: the lookups find out (reading 1,300 entries cost a first call 1.2 ms)."""
    assert disk_cache.directory_in_use() == str(cache_dir)  # (made now)
    for number in range(100):
        (cache_dir / f"{number:064x}{disk_cache.SUFFIX}").write_bytes(b"")
    seen = []
    real = os.scandir

    def counted(path):
        listing = real(path)

        class Counted:
            def __enter__(self):
                listing.__enter__()
                return self

            def __exit__(self, *exc):
                return listing.__exit__(*exc)

            def __iter__(self):
                for entry in listing:
                    seen.append(entry.name)
                    yield entry
        return Counted()

    monkeypatch.setattr(disk_cache.os, "scandir", counted)
    assert disk_cache.holds_any(str(cache_dir), (disk_cache.PLAN_SUFFIX,), look_at=64) and len(seen) == 64
    assert not disk_cache.holds_any(str(cache_dir), (disk_cache.PLAN_SUFFIX,)) and len(seen) == 64 + 100
    assert disk_cache.holds_any(str(cache_dir), (disk_cache.SUFFIX,), look_at=64) and len(seen) == 64 + 100 + 1
    empty = cache_dir / "empty"
    empty.mkdir()
    assert not disk_cache.holds_any(str(empty), (disk_cache.PLAN_SUFFIX,), look_at=64)
    monkeypatch.undo()
    np.testing.assert_array_equal(fusenum.evaluate("a * 5.0 - 1.0", {"a": A}), A * 5.0 - 1.0)
    assert plan_store._may_hold[str(cache_dir)]


def test_records_are_written_at_exit_and_a_later_process_does_not_parse(tmp_path):
    code = ("import sys, numpy as np, fusenum; from fusenum.frontend import evaluation; "
            "fusenum.evaluate('a * 3.0 + 1.0', {'a': np.arange(5.0)}); "
            "print(evaluation._parsed['a * 3.0 + 1.0']._parsed is not None)")
    env = {**os.environ, "FUSENUM_CACHE_DIR": str(tmp_path / "cache")}
    parsed = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                             timeout=600, check=True).stdout.strip() for _ in range(2)]
    assert parsed == ["True", "False"]


def test_the_exit_does_not_bring_back_a_directory_removed_meanwhile(tmp_path):
    # (a TemporaryDirectory or shutil.rmtree: the record waiting for the exit is dropped)
    cache = tmp_path / "cache"
    code = ("import shutil, sys, numpy as np, fusenum; fusenum.set_tiering('always'); "
            "fusenum.evaluate('a * 2.0 + 1.0', {'a': np.arange(5.0)}); shutil.rmtree(sys.argv[1])")
    result = subprocess.run([sys.executable, "-c", code, str(cache)], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "FUSENUM_CACHE_DIR": str(cache)})
    assert result.returncode == 0 and not result.stderr, result.stderr
    assert not cache.exists()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_writes_its_records_at_once(cache_dir):
    # multiprocessing's forked workers end with os._exit, which runs no exit handler
    pid = os.fork()
    if pid == 0:  # pragma: no cover -- the child
        try:
            fusenum.evaluate("a * 11.0", {"a": A})
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert _record_path(cache_dir, "a * 11.0").exists()  # (and the parent's, which it inherited)


def test_nothing_is_kept_or_recalled_while_the_disk_cache_is_off(cache_dir):
    fusenum.evaluate("a * 13.0", {"a": A})  # noted while on
    previous = fusenum.set_disk_cache(enabled=False)
    try:
        assert plan_store.recall("a * 13.0") is None  # (a test that patches typing meets no other plan)
        fusenum.evaluate("a * 15.0", {"a": A})
        assert "a * 15.0" not in plan_store._unwritten
    finally:
        fusenum.set_disk_cache(*previous)
    plan_store.write_unwritten()
    assert not _record_path(cache_dir, "a * 15.0").exists()  # (typed while off: not written later)


def test_a_signal_handler_may_note_records_while_its_thread_writes_one(tmp_path):
    # The locks are re-entrant: a handler's call, past the bound, writes the oldest record itself
    # (in a child: with plain locks it hung, holding them for every later test).
    code = """
import sys
from fusenum.runtime import plan_store
plan_store.MAX_UNWRITTEN = plan_store.MAX_UNWRITTEN_HELD = 1
record = plan_store.Record(("a",), (0,), {})
with plan_store._write_lock, plan_store._lock:  # (what a write in progress holds)
    plan_store.store("a * 17.0", record)
    plan_store.store("a * 19.0", record)
print(sorted(plan_store._unwritten))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "FUSENUM_CACHE_DIR": str(tmp_path)})
    assert result.stdout.split("\n")[0] == "['a * 19.0']", result.stderr  # (the older one written then)


def test_a_record_being_written_is_still_recalled(cache_dir, monkeypatch):
    # Recalled meanwhile, it is not typed again into a record with fewer plans that would replace it.
    fusenum.evaluate("a * 21.0", {"a": A})
    seen = []
    write = plan_store._write
    monkeypatch.setattr(plan_store, "_write", lambda text, *rest: (seen.append(plan_store.recall(text)),
                                                                    write(text, *rest)))
    plan_store.write_unwritten()
    assert seen and seen[0] is not None and seen[0].plans
    assert "a * 21.0" not in plan_store._unwritten
