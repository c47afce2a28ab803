"""Threads: identical results, thread count settings, concurrency, fork; streaming stores."""
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import fusenum
import fusenum.codegen.pool
from fusenum.runtime import plan
from fusenum.runtime import threads as parallel
from fusenum.runtime.threads import chunks


@pytest.fixture(params=["native", "python"])
def split_everything(request, monkeypatch):
    """Make every call big enough to be split over threads (native or Python pool) and to stream."""
    monkeypatch.setattr(parallel, "PARALLEL_WORK", 1)
    monkeypatch.setattr(parallel, "WAKE_WORK", 1)
    monkeypatch.setattr(parallel, "USE_NATIVE_POOL", request.param == "native")
    monkeypatch.setattr(plan, "STREAM_BYTES", 1)
    monkeypatch.setattr(plan, "STREAM_MAX_COST", 1 << 30)  # (vector math bodies too)
    previous = fusenum.set_num_threads(4)  # more threads than cores still splits correctly
    fusenum.clear_cache()
    assert parallel.wait_for_native_pool() == (request.param == "native" and fusenum.codegen.pool.supported())
    yield
    fusenum.set_num_threads(previous)
    fusenum.clear_cache()


def test_chunks_cover_the_range_on_aligned_boundaries():
    for size in [1, 31, 32, 33, 1000, 10_007]:
        for parts in [1, 2, 3, 8]:
            ranges = chunks(size, parts, 8)
            assert ranges[0][0] == 0 and ranges[-1][1] == size
            assert all(stop == nxt for (_, stop), (nxt, _) in zip(ranges, ranges[1:]))
            assert all(start % 32 == 0 for start, _ in ranges)
            assert len(ranges) <= parts


@pytest.mark.parametrize("size", [1, 7, 63, 64, 65, 1000, 4097, 100_003])
def test_split_calls_equal_single_thread(simd, split_everything, size):
    rng = np.random.default_rng(size)
    a, b = rng.random(size), rng.random(size)
    i = rng.integers(-100, 100, size)
    np.testing.assert_array_equal(fusenum.evaluate("a * b + a / 3"), a * b + a / 3)
    np.testing.assert_array_equal(fusenum.evaluate("i // 7 + (i << 2)"), i // 7 + (i << 2))
    strided = a[::-1]
    np.testing.assert_array_equal(fusenum.evaluate("strided - b"), strided - b)
    grid = rng.random((size % 13 + 2, 5))
    row = b[:5]
    np.testing.assert_array_equal(fusenum.evaluate("grid * 2 - row"), grid * 2 - row)


def test_errors_from_any_chunk_are_raised(split_everything):
    i = np.arange(1000)
    e = np.zeros(1000, int)
    e[-1] = -1  # only the last chunk sees it
    with pytest.raises(ValueError, match="negative integer powers"):
        fusenum.evaluate("i ** e")


@pytest.mark.parametrize("offset", [0, 8, 16, 24, 1])
def test_streaming_stores_at_every_alignment(simd, split_everything, offset):
    size = 1001
    raw = np.zeros(size * 8 + 64, np.uint8)
    out = raw[offset:offset + size * 8].view(np.float64)
    a = np.random.default_rng(1).random(size)
    fusenum.evaluate("a * 3 + 1", out=out)
    np.testing.assert_array_equal(out, a * 3 + 1)


def test_set_num_threads_round_trip_and_errors():
    previous = fusenum.set_num_threads(3)
    try:
        assert fusenum.get_num_threads() == 3
        assert fusenum.set_num_threads(1) == 3
    finally:
        fusenum.set_num_threads(previous)
    for count in (0, parallel.MAX_THREADS + 1, 10**20):
        with pytest.raises(fusenum.ConfigurationError,
                           match=f"the number of threads must be a positive integer of at most 1024, not {count}"):
            fusenum.set_num_threads(count)
    for value, name in ((2.5, "float"), ("4", "str"), (None, "NoneType"), (True, "bool"),
                        (np.array([2]), "ndarray"), (np.array(2.5), "ndarray")):
        with pytest.raises(fusenum.ArgumentTypeError, match=f"the number of threads must be an int, not {name}"):
            fusenum.set_num_threads(value)
    previous = fusenum.set_num_threads(np.int64(2))  # NumPy's integers are integers
    try:
        assert fusenum.get_num_threads() == 2 and type(fusenum.get_num_threads()) is int
    finally:
        fusenum.set_num_threads(previous)
    assert isinstance(fusenum.ConfigurationError("x"), ValueError)
    assert isinstance(fusenum.ArgumentTypeError("x"), TypeError)


def _python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **env),
                          capture_output=True, text=True)


def test_default_thread_count_is_the_usable_cores():
    done = _python("import fusenum; print(fusenum.get_num_threads())", FUSENUM_NUM_THREADS="",
                   OMP_NUM_THREADS="")
    assert done.stdout.strip() == str(len(os.sched_getaffinity(0)))


@pytest.mark.parametrize("value, expected", [("1", "1"), ("3", "3"), (" 2 ", "2"), ("5,2", "5")])
def test_omp_num_threads_sets_the_thread_count_as_for_numexpr(value, expected):
    done = _python("import fusenum; print(fusenum.get_num_threads())", FUSENUM_NUM_THREADS="",
                   OMP_NUM_THREADS=value)
    assert done.stdout.strip() == expected, done.stderr


def test_fusenum_num_threads_comes_before_omp_num_threads():
    done = _python("import fusenum; print(fusenum.get_num_threads())", FUSENUM_NUM_THREADS="3",
                   OMP_NUM_THREADS="1")
    assert done.stdout.strip() == "3", done.stderr


@pytest.mark.parametrize("value", ["many", "0", "-2", "x,2", "2000", "\u00b2"])
def test_an_invalid_omp_num_threads_is_ignored_with_a_warning(value):
    code = ("import warnings; warnings.simplefilter('error')\n"
            "try:\n    import fusenum\nexcept RuntimeWarning as w:\n    print('warned:', w)")
    done = _python(code, FUSENUM_NUM_THREADS="", OMP_NUM_THREADS=value)
    warned = f"warned: OMP_NUM_THREADS={value!r} is not a positive integer of at most 1024; fusenum ignores it"
    assert warned in done.stdout, done.stderr
    done = _python("import fusenum; print(fusenum.get_num_threads())", FUSENUM_NUM_THREADS="",
                   OMP_NUM_THREADS=value)
    assert done.stdout.strip().splitlines()[-1] == str(len(os.sched_getaffinity(0))), done.stderr


def test_environment_variable_sets_the_thread_count():
    done = _python("import fusenum; print(fusenum.get_num_threads())", FUSENUM_NUM_THREADS="3")
    assert done.stdout.strip() == "3", done.stderr
    for value in ("many", "1_0", "\u0663", "+2"):  # (int() would take the last three)
        bad = _python("import fusenum", FUSENUM_NUM_THREADS=value)
        expected = f"ConfigurationError: FUSENUM_NUM_THREADS must be a positive integer, not {value!r}"
        assert expected in bad.stderr


def test_many_python_threads_at_once(split_everything):
    rng = np.random.default_rng(7)
    data = {k: rng.random(5000) for k in "abc"}
    expressions = {"a+b*c": data["a"] + data["b"] * data["c"], "a*a-b": data["a"] * data["a"] - data["b"],
                   "(a<b)*c": (data["a"] < data["b"]) * data["c"], "a/(b+1)": data["a"] / (data["b"] + 1)}
    failures = []

    def worker(seed):
        texts = list(expressions)
        for k in range(40):
            text = texts[(seed + k) % len(texts)]
            result = fusenum.evaluate(text, local_dict=data)
            if not np.array_equal(result, expressions[text]):
                failures.append(text)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_computes_correctly(split_everything):
    a = np.arange(100_000.0)
    fusenum.evaluate("a * 2 + 1")  # the parent's pool and kernels exist before the fork
    pid = os.fork()
    if pid == 0:  # child: must not touch pytest state; report through the exit code
        try:
            ok = np.array_equal(fusenum.evaluate("a * 2 + 1"), a * 2 + 1) and \
                np.array_equal(fusenum.evaluate("a - 3"), a - 3)
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.skipif(not hasattr(os, "fork") or not parallel.pool_abi.supported(), reason="needs fork() and the pool")
def test_a_dropped_native_pool_stays_mapped_for_its_fork_handlers(tmp_path):
    """A pool made and dropped (as a test making its own does) left fork handlers calling into
    unmapped code: the next fork() hung. In a fresh process, with a timeout."""
    code = f"""
import gc, os, fusenum
from fusenum.runtime import threads as parallel
fusenum.set_disk_cache(True, {str(tmp_path)!r})
assert parallel.wait_for_native_pool()  # compiled and stored
parallel._native_pool = None; parallel._native_state.update(requested=False, failure=None)
assert parallel._native() is not None  # a second pool, loaded from the disk cache
parallel._native_pool = None
gc.collect()
pid = os.fork()
if pid == 0:
    os._exit(0)
print("forked", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.split() == ["forked", "0"], done.stderr


def test_big_strided_call_after_a_small_contiguous_one(monkeypatch):
    monkeypatch.setattr(plan, "STREAM_BYTES", 8 * 5000)  # 10000 float64 stream, 1000 do not
    fusenum.clear_cache()
    a = np.arange(1000.0)
    fusenum.evaluate("a * 2")  # compiles only the plain checked kernel
    b = np.arange(20_000.0)[::2]  # same dtype, big, not contiguous: no checked kernel fits
    a = b
    np.testing.assert_array_equal(fusenum.evaluate("a * 2"), b * 2)
    fusenum.clear_cache()


@pytest.mark.skipif(not fusenum.codegen.pool.supported(), reason="native pool needs Linux x86-64")
def test_native_pool_after_its_workers_fall_asleep(monkeypatch):
    import time
    monkeypatch.setattr(parallel, "PARALLEL_WORK", 1)
    monkeypatch.setattr(parallel, "USE_NATIVE_POOL", True)
    previous = fusenum.set_num_threads(2)
    fusenum.clear_cache()
    assert parallel.wait_for_native_pool()
    try:
        a = np.random.default_rng(5).random(50_000)
        for wake_work in (10**12, 1):  # first too small to wake sleepers, then big enough
            monkeypatch.setattr(parallel, "WAKE_WORK", wake_work)
            fusenum.clear_cache()
            fusenum.evaluate("a * 5 - 1")
            time.sleep(0.05)  # far longer than the workers spin: they are asleep now
            np.testing.assert_array_equal(fusenum.evaluate("a * 5 - 1"), a * 5 - 1)
            np.testing.assert_array_equal(fusenum.evaluate("a * 5 - 1"), a * 5 - 1)
    finally:
        fusenum.set_num_threads(previous)
        fusenum.clear_cache()


@pytest.mark.skipif(not fusenum.codegen.pool.supported(), reason="native pool needs Linux x86-64")
def test_a_native_pool_in_the_disk_cache_is_made_at_once_by_the_call_that_needs_it(monkeypatch, tmp_path):
    """No background job and no Python threads: loading the stored pool costs no LLVM."""
    previous = fusenum.set_disk_cache(True, tmp_path)
    try:
        monkeypatch.setattr(parallel, "_native_pool", None)
        monkeypatch.setattr(parallel, "_native_state", {"requested": False, "failure": None})
        assert parallel.wait_for_native_pool()  # made, and stored in this directory
        monkeypatch.setattr(parallel, "_native_pool", None)
        monkeypatch.setattr(parallel, "_native_state", {"requested": False, "failure": None})
        monkeypatch.setattr(parallel.background, "submit", lambda job: pytest.fail("a background job"))
        monkeypatch.setattr(parallel._PythonPool, "run", lambda *args: pytest.fail("Python threads ran"))
        assert parallel._native() is not None
    finally:
        fusenum.set_disk_cache(*previous)


_EARLY_WORKERS_CHILD = """
import sys
import numpy as np
import fusenum
from fusenum.runtime import threads as parallel
fusenum.set_disk_cache(True, sys.argv[1])
fusenum.set_tiering("never")
fusenum.set_num_threads(3)
assert parallel.wait_for_native_pool()
pool = parallel._native_pool
at_run = []
run = pool.run
pool.run = lambda *args: at_run.append(pool.worker_count()) or run(*args)
a = np.arange(2_000_000.0)
before = pool.worker_count()
assert np.array_equal(fusenum.evaluate("a * 5 - 1"), a * 5 - 1)
after_first = pool.worker_count()
fusenum.set_num_threads(4)
assert np.array_equal(fusenum.evaluate("a * 7 - 1"), a * 7 - 1)
print(before, at_run[0], after_first, at_run[-1], pool.worker_count())
"""


@pytest.mark.skipif(not parallel.pool_abi.supported(), reason="needs the native pool")
def test_a_big_first_call_starts_the_workers_before_its_kernel_runs(tmp_path):
    """The workers start while the call finds its kernel, not inside its run (where the run went at one
    thread's speed until the new threads were scheduled); a larger thread count starts the others."""
    done = subprocess.run([sys.executable, "-c", _EARLY_WORKERS_CHILD, str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # workers: before the first call, at its run, after it, at the second call's run, in the end
    assert list(map(int, done.stdout.split())) == [0, 2, 2, 3, 3]


_FIRST_CALL_ON_A_NEW_MACHINE = """
import sys
import numpy as np
import fusenum
from fusenum.runtime import kernels, threads as parallel
fusenum.set_disk_cache(True, sys.argv[1])
fusenum.set_num_threads(2)
a = np.arange(2_000_000.0)
assert np.array_equal(fusenum.evaluate("a * 5 - 1"), a * 5 - 1)
print(kernels.stats.tier0_calls, parallel._native_state["requested"], parallel._native_pool is None)
"""


@pytest.mark.skipif(not parallel.pool_abi.supported(), reason="needs the native pool")
def test_an_interpreted_first_call_does_not_have_the_pool_made(tmp_path):
    """Starting the workers early only loads a pool that is on disk: making one (LLVM's load and a
    compile) would compete with the interpreted call on a machine whose disk cache is empty."""
    done = subprocess.run([sys.executable, "-c", _FIRST_CALL_ON_A_NEW_MACHINE, str(tmp_path)], capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, FUSENUM_TIERING="auto"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "False", "True"]


def test_the_native_pool_is_made_in_the_background_and_python_threads_serve_meanwhile(monkeypatch):
    """A big call never waits for the native pool: it runs on Python threads while the background
    thread makes the pool; a pool that cannot be made leaves Python threads serving, with one warning."""
    monkeypatch.setattr(parallel, "PARALLEL_WORK", 1)
    monkeypatch.setattr(parallel, "_native_pool", None)
    monkeypatch.setattr(parallel, "_native_state", {"requested": False, "failure": None})
    made = []
    monkeypatch.setattr(parallel, "_load_native_pool", lambda: None)  # the disk cache has no pool
    monkeypatch.setattr(parallel, "_NativePool", lambda compiled: made.append("pool") or (_ for _ in ()).throw(
        fusenum.errors.CompileError("no LLVM today")))
    previous = fusenum.set_num_threads(2)
    try:
        a = np.arange(100_000.0)
        with pytest.warns(RuntimeWarning, match=r"the native thread pool could not be made \(CompileError\('no LLVM "
                                                r"today'\)\); Python threads run big calls instead"):
            np.testing.assert_array_equal(fusenum.evaluate("a * 5 - 1"), a * 5 - 1)
            assert not parallel.wait_for_native_pool()
        np.testing.assert_array_equal(fusenum.evaluate("a * 5 - 1"), a * 5 - 1)
        assert made == ["pool"]  # asked for once, not again after failing
    finally:
        fusenum.set_num_threads(previous)


@pytest.mark.parametrize("threads", [2, 3, 8])
def test_run_python_calls_every_range_once(threads):
    done = []
    ranges = [(k, k + 1) for k in range(37)]
    parallel.run_python(lambda start, stop: done.append((start, stop)), ranges, threads)
    assert sorted(done) == ranges


def test_run_python_begins_no_range_after_a_failure():
    begun = []

    def work(start, stop):
        begun.append(start)
        if start == 0:
            raise ValueError("range 0")
        time.sleep(0.01)
    with pytest.raises(ValueError, match="range 0"):
        parallel.run_python(work, [(k, k + 1) for k in range(200)], 2)
    assert len(begun) < 10


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs a POSIX SIGINT")
def test_run_python_returns_on_ctrl_c_only_once_the_workers_are_done():
    """A Ctrl-C while the calling thread waits for a worker is raised once the worker's range is
    done: nothing writes into the call's arrays after it returned."""
    log = []
    second_taken = threading.Event()
    # (the signal is timed from the worker's start, not the call's: a loaded machine, say with
    # the suite's other worker processes, may start the worker late)
    timer = threading.Timer(0.1, lambda: os.kill(os.getpid(), signal.SIGINT))

    def work(start, stop):
        if start == 0:  # this thread's range: keep it busy until a worker has taken the other
            assert second_taken.wait(10)
            return
        timer.start()
        second_taken.set()
        time.sleep(0.5)
        log.append("worker done")
    try:
        with pytest.raises(KeyboardInterrupt):
            parallel.run_python(work, [(0, 1), (1, 2)], 2)
        log.append("raised")
    finally:
        if timer.ident is not None:  # (started)
            timer.join()
    assert log == ["worker done", "raised"]


_LATE_WORKER_CHILD = """
import sys
import numpy as np
import fusenum
from fusenum.codegen import ir_text as ir, jit, pool, pool_abi, target
from fusenum.runtime import plan_cache, threads as parallel

# The caller descheduled right after publishing a call's chunk count (a pause there): a worker
# still in the last call's chunk loop must not take a chunk of this one.
publish = pool._store_atomic

def paused_after_chunk_count(b, value, ptr, ordering, align=4):
    publish(b, value, ptr, ordering, align)
    run = b.block.parent
    if run.name == "fusenum_pool_run" and value is run.args[4]:
        module = run.module
        i32 = ir.IntType(32)
        usleep = module.globals.get("usleep") or ir.Function(module, ir.FunctionType(i32, [i32]), "usleep")
        b.call(usleep, [ir.Constant(i32, 200)])

pool._store_atomic = paused_after_chunk_count
compiled = jit.compile_kernel(pool.module_text(), pool_abi.SYMBOLS, target.make_target("scalar"))
parallel._native_pool = parallel._NativePool(compiled)
parallel._native_state["requested"] = True
fusenum.set_tiering("never")
n = 1 << 16
a = np.zeros(n, np.int64)
fusenum.evaluate("a + 1", local_dict={"a": a}, out=a)  # the kernel, adding 1 in place
kernel = next(p for p in plan_cache.PLANS.values() if getattr(p, "checked", None)).checked
kernel = next(iter(kernel.values()))
for calls in range(1, 2001):  # chunk counts growing and shrinking: a late worker's chance
    parallel._run_ranges_once(kernel, (a, a), None, parallel.chunks(n, (3, 8, 2, 12)[calls % 4], 8), 2)
    if not (a == calls + 1).all():
        sys.exit(f"call {calls}: {np.count_nonzero(a != calls + 1)} elements not added to exactly once")
print("ok")
"""


@pytest.mark.skipif(not fusenum.codegen.pool.supported(), reason="native pool needs Linux x86-64")
def test_a_late_worker_takes_no_chunk_of_the_next_call():
    """A worker still taking chunks of a finished call read its ticket, then the next call's chunk
    count, and claimed a chunk past the finished call's end before the next call's generation
    opened: it ran that chunk of the next call, which ran it again, and counted it, so the caller
    waited for ever or returned while a chunk was still running (writing into, and reading, arrays
    it no longer held). In a fresh process, with a timeout."""
    try:
        done = subprocess.run([sys.executable, "-c", _LATE_WORKER_CHILD], capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the pool's caller waited for ever: a chunk was counted twice")
    assert done.returncode == 0 and done.stdout.split() == ["ok"], done.stderr


def test_a_waiting_worker_keeps_nothing_of_the_last_call_alive():
    # A worker waiting for its next task kept the last one in its locals: the arrays of the last
    # call through the Python pool (an interpreted big call, say) lived until another call came.
    import gc
    import weakref

    data = np.ones(1000)
    alive = weakref.ref(data)

    def touch(start: int, stop: int, data=data) -> None:  # (not a cell, which ``del`` would empty)
        data[start:stop] += 1.0

    parallel.run_python(touch, [(0, 500), (500, 1000)], threads=2)
    del data, touch
    for _ in range(100):  # (the worker drops it just after handing its outcome back)
        gc.collect()
        if alive() is None:
            break
        time.sleep(0.01)
    assert alive() is None
