"""Compiles a process leaves pending at exit are finished by a detached helper (fusenum.runtime.exit_compiles)."""
import os
import pickle
import subprocess
import sys

import pytest

import fusenum
from fusenum.runtime import disk_cache, exit_helper, exit_compiles, tiering

# A process that queues the compile of a fused kernel (its second interpreted call asks for it) and
# exits before the compiler can make it: the compiler thread never gets past loading LLVM.
_LEAVES_A_COMPILE = """
import threading, numpy as np, fusenum
from fusenum.runtime import tiering
tiering._Compiler._get_ready = staticmethod(lambda: threading.Event().wait())
a, b = np.linspace(0, 3, 1000), np.linspace(1, 2, 1000)
for _ in range(2):
    fusenum.evaluate("a * 4.5 + b * b")
assert tiering.compiles_pending() == 1
"""
# A process that runs the same expression once and reports how it was served.
_RUNS_IT = """
import json, numpy as np, fusenum
from fusenum.runtime import kernels
a, b = np.linspace(0, 3, 1000), np.linspace(1, 2, 1000)
fusenum.evaluate("a * 4.5 + b * b")
info = fusenum.cache_info()
kernel = next(iter(kernels._kernels.values()), None)
print(json.dumps({"tier0": info.tier0_calls, "disk_hits": info.disk_hits,
                  "build": kernel.build if kernel else None}))
"""


def _run(code: str, directory, after_exit: str) -> str:
    env = {**os.environ, "FUSENUM_CACHE_DIR": str(directory), "FUSENUM_TIERING": "auto",
           "FUSENUM_COMPILE_AFTER_EXIT": after_exit}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _kernel_files(directory, suffix=disk_cache.SUFFIX) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(suffix))


def test_a_compile_pending_at_exit_is_finished_by_a_helper_for_the_next_process(tmp_path):
    import json
    _run(_LEAVES_A_COMPILE, tmp_path, "on")
    # the process is gone, its helper still at work (its output did not hold up subprocess.run)
    assert not exit_compiles.wait_for_helpers(str(tmp_path), timeout=0)
    assert exit_compiles.wait_for_helpers(str(tmp_path), timeout=300)
    served = json.loads(_run(_RUNS_IT, tmp_path, "off"))
    assert (served["tier0"], served["disk_hits"], served["build"]) == (0, 1, "optimized")


def test_nothing_is_handed_over_when_turned_off(tmp_path):
    import json
    _run(_LEAVES_A_COMPILE, tmp_path, "off")
    assert exit_compiles.wait_for_helpers(str(tmp_path), timeout=0)
    assert not _kernel_files(tmp_path)
    assert json.loads(_run(_RUNS_IT, tmp_path, "off"))["tier0"] == 1


def test_a_setting_made_wrong_after_the_import_is_off_at_exit_without_a_traceback(tmp_path):
    """The import checks ``FUSENUM_COMPILE_AFTER_EXIT``; one set wrong afterwards is read at exit,
    where an error would be a traceback in an atexit handler: nothing is handed over."""
    code = _LEAVES_A_COMPILE + "import os; os.environ['FUSENUM_COMPILE_AFTER_EXIT'] = 'bogus'\n"
    env = {**os.environ, "FUSENUM_CACHE_DIR": str(tmp_path), "FUSENUM_TIERING": "auto"}
    env.pop("FUSENUM_COMPILE_AFTER_EXIT", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert exit_compiles.wait_for_helpers(str(tmp_path), timeout=0) and not _kernel_files(tmp_path)


def test_a_quick_build_loaded_from_disk_is_optimized_by_the_helper(tmp_path):
    import json
    # a process whose optimized builds never run leaves the quick build alone on disk
    _run("from fusenum.runtime import kernels, tiering\n"
         "kernels.defer = lambda *arguments: None\n"
         + _LEAVES_A_COMPILE.replace("tiering._Compiler._get_ready", "_ignored")
                            .replace("assert tiering.compiles_pending() == 1", "tiering.wait_for_compiles()"),
         tmp_path, "off")
    assert len(_kernel_files(tmp_path, disk_cache.QUICK_SUFFIX)) == 1 and not _kernel_files(tmp_path)
    # the next process runs it and exits before its optimized build is due: the helper makes it
    served = json.loads(_run(_RUNS_IT, tmp_path, "on"))
    assert (served["tier0"], served["build"]) == (0, "quick")
    assert exit_compiles.wait_for_helpers(str(tmp_path), timeout=300)
    assert not _kernel_files(tmp_path, disk_cache.QUICK_SUFFIX) and len(_kernel_files(tmp_path)) == 1
    assert json.loads(_run(_RUNS_IT, tmp_path, "off"))["build"] == "optimized"


def test_unfinished_work_comes_in_the_queues_order():
    compiler = tiering._Compiler()
    compiler.started = True  # (no thread: the requests stay queued)
    compiler.optimize(lambda: None, 5.0, ("optimize", "later"))
    compiler.optimize(lambda: None, 0.0, ("optimize", "now"))
    compiler.prepare(("ahead of need",))
    compiler.submit(("asked",))
    compiler.submit(("asked",))  # (the second call queues it)
    with compiler.lock:
        assert compiler.unfinished() == [("asked",), ("ahead of need",), ("optimize", "now"), ("optimize", "later")]
    # an optimized build the compiler thread has taken from the queue and not finished is unfinished too
    compiler.optimizing = tiering._Optimization(lambda: None, 0.0, ("optimize", "under way"))
    with compiler.lock:
        assert compiler.unfinished()[2:] == [("optimize", "under way"), ("optimize", "now"), ("optimize", "later")]


def test_nothing_to_hand_over_without_a_usable_disk_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSENUM_COMPILE_AFTER_EXIT", "on")
    assert exit_compiles.hand_over([]) is None
    previous = fusenum.set_disk_cache(enabled=False)
    try:
        assert exit_compiles.hand_over([("spec", ("avx2", "auto"))]) is None
    finally:
        fusenum.set_disk_cache(*previous)
    monkeypatch.setenv("FUSENUM_COMPILE_AFTER_EXIT", "off")
    assert not exit_compiles.enabled()


def _run_helper(directory, cwd, keys, prebuild=()) -> subprocess.CompletedProcess:
    """The helper as hand_over starts it (waiting for its claim), with ``keys`` and the settings keys
    to prebuild under on its stdin."""
    env = {**os.environ, "FUSENUM_CACHE_DIR": str(directory), "FUSENUM_COMPILE_AFTER_EXIT": "off"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(fusenum.__file__)))
    return subprocess.run([sys.executable, "-S", exit_helper.__file__, root, "waits", str(directory), "0"],
                          input=pickle.dumps((keys, list(prebuild))), cwd=cwd, env=env, capture_output=True, timeout=600)


def test_the_helper_stops_quietly_when_its_directory_is_gone_and_never_recreates_it(tmp_path):
    gone = tmp_path / "removed"
    done = _run_helper(gone, tmp_path, [("not a spec", ("avx2", "auto"))])
    assert done.returncode == 0, done.stderr
    assert not gone.exists()


def test_the_helper_never_imports_from_the_directory_it_was_started_in(tmp_path):
    (tmp_path / "cache").mkdir(mode=0o700)
    shadow = tmp_path / "cwd"
    shadow.mkdir()
    for module in ("pickle", "numpy", "fusenum"):
        (shadow / f"{module}.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'a').write({module!r})\n")
    done = _run_helper(tmp_path / "cache", shadow, [])
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "imported").exists()


def test_the_helper_is_started_with_the_callers_disk_cache_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSENUM_COMPILE_AFTER_EXIT", "on")
    started = []
    monkeypatch.setattr(os, "posix_spawn", lambda *arguments, **options: started.append((arguments, options)) or 0)
    previous = fusenum.set_disk_cache(True, tmp_path, max_bytes=123_456_789)
    try:
        assert exit_compiles.hand_over([("spec", ("avx2", "auto"))]) == 0
    finally:
        fusenum.set_disk_cache(*previous)
    (path, argv, environment), options = started[0]
    assert (environment["FUSENUM_CACHE_DIR"], environment["FUSENUM_CACHE_MAX_BYTES"]) == (str(tmp_path), "123456789")
    assert environment["FUSENUM_COMPILE_AFTER_EXIT"] == "off" and argv[1:3] == ["-S", exit_helper.__file__]
    assert options["setsid"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="claims are Linux's")
def test_one_helper_at_a_time_per_directory(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "other").mkdir()
    claim = exit_helper.take(str(tmp_path))
    assert claim is not None
    try:
        assert exit_helper.take(str(tmp_path)) is None
        assert exit_helper.take(str(tmp_path / "x" / "..")) is None  # one directory, one claim
        other = exit_helper.take(str(tmp_path / "other"))
        assert other is not None
        os.close(other)
        assert not exit_compiles.wait_for_helpers(str(tmp_path), timeout=0.1)
    finally:
        os.close(claim)
    assert exit_compiles.wait_for_helpers(str(tmp_path), timeout=0)
    assert exit_helper.wait(str(tmp_path / "gone"), 0) == (True, None)  # no directory, nothing to wait for


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.getuid() != 0,
                    reason="claims are Linux's; playing another user takes root")
def test_another_user_cannot_keep_the_helpers_waiting(tmp_path):
    """The claim was an abstract socket named after the user and the directory: any user could bind
    that name first, and every helper of the directory then waited its 300 s and gave up. Another
    user now cannot hold it by any means tried here."""
    import hashlib

    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    tmp_path.chmod(0o755)
    old_name = "fusenum-exit-compiles-" + hashlib.sha256(f"{os.getuid()}:{directory}".encode()).hexdigest()
    squatter = subprocess.Popen([sys.executable, "-c", f"""
import fcntl, os, socket, sys, time
os.setgid(65534); os.setuid(65534)
held = socket.socket(socket.AF_UNIX)
held.bind(b"\\0" + {old_name!r}.encode())
try:
    fcntl.flock(os.open({str(directory)!r}, os.O_RDONLY), fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    pass
print("squatting", flush=True)
time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    try:
        assert squatter.stdout.readline() == "squatting\n"
        assert exit_compiles.wait_for_helpers(str(directory), timeout=0)
    finally:
        squatter.kill()
        squatter.wait()


def test_only_a_python_interpreter_is_started(monkeypatch):
    assert exit_compiles._is_python(sys.executable)
    assert not exit_compiles._is_python("/usr/bin/uwsgi") and not exit_compiles._is_python("")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert not exit_compiles._is_python(sys.executable)


def test_a_failure_to_start_the_helper_is_quiet(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSENUM_COMPILE_AFTER_EXIT", "on")
    previous = fusenum.set_disk_cache(True, tmp_path)
    try:
        def refused(*arguments, **options):
            raise OSError("no processes left")
        monkeypatch.setattr(os, "posix_spawn", refused)
        assert exit_compiles.hand_over([("spec", ("avx2", "auto"))]) is None
        monkeypatch.setattr(exit_compiles.pickle, "dumps", lambda *a, **k: 1 / 0)
        assert exit_compiles.hand_over([("spec", ("avx2", "auto"))]) is None
    finally:
        fusenum.set_disk_cache(*previous)


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux's SCHED_IDLE")
def test_the_helper_runs_idle(tmp_path):
    code = ("import os, sys; sys.argv = ['x']; from fusenum.runtime import exit_helper; exit_helper._run_idle(); "
            "print(os.sched_getscheduler(0))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert int(done.stdout) == os.SCHED_IDLE, done.stderr


_LEAVES_OPTIMIZATIONS = """
import sys, threading, numpy as np, fusenum
from fusenum.runtime import background, kernels
ran = open(sys.argv[1], "a")
optimize = kernels._optimize
kernels._optimize = lambda *arguments: (ran.write("optimized here\\n"), ran.flush(), optimize(*arguments))
gate = threading.Event()
background.submit(lambda: gate.wait(3))  # holds the optimizer: the builds below stay queued
a, b = np.linspace(0, 3, 1000), np.linspace(1, 2, 1000)
fusenum.evaluate("a * 4.5 + b * b")
fusenum.evaluate("sqrt(a) - b")
assert background.pending() == 3
"""


@pytest.mark.parametrize("after_exit", ["on", "off"])
def test_optimized_builds_queued_at_exit_go_to_the_helper_instead_of_holding_the_exit(tmp_path, after_exit):
    marker = tmp_path / "optimized-in-the-exiting-process"
    env = {**os.environ, "FUSENUM_CACHE_DIR": str(tmp_path / "cache"), "FUSENUM_TIERING": "never",
           "FUSENUM_COMPILE_AFTER_EXIT": after_exit}
    done = subprocess.run([sys.executable, "-c", _LEAVES_OPTIMIZATIONS, str(marker)], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert exit_compiles.wait_for_helpers(str(tmp_path / "cache"), timeout=300)
    # either way both kernels end up optimized on disk; the exiting process built them only when off
    cache = tmp_path / "cache"
    assert len(_kernel_files(cache)) == 2 and not _kernel_files(cache, disk_cache.QUICK_SUFFIX)
    assert ("optimized here" in marker.read_text()) == (after_exit == "off")


def test_optimizations_taken_from_the_optimizer_can_be_put_back():
    from fusenum.runtime import background
    assert background.wait(60)  # (optimized builds an earlier test in this process queued)
    gate, ran = __import__("threading").Event(), []
    background.submit(lambda: gate.wait(60))
    try:
        background.submit(lambda: ran.append("first"), key=("spec", 1))
        background.submit(lambda: ran.append("pool"))
        background.submit(lambda: ran.append("second"), key=("spec", 2))
        taken = background.take_optimizations()
        assert [entry[2] for entry in taken] == [("spec", 1), ("spec", 2)]
        background.put_back(taken)
    finally:
        gate.set()
    assert background.wait(60)
    assert ran == ["first", "second", "pool"]


def test_the_helper_never_recreates_a_directory_removed_while_it_works(tmp_path):
    directory = tmp_path / "cache"
    code = ("import shutil, sys; from fusenum.runtime import disk_cache\n"
            "disk_cache.use_existing_only()\n"
            "assert disk_cache.usable()\n"
            "shutil.rmtree(sys.argv[1])\n"
            "disk_cache.store(bytes(32), b'code')\n")
    directory.mkdir(mode=0o700)
    env = {**os.environ, "FUSENUM_CACHE_DIR": str(directory)}
    done = subprocess.run([sys.executable, "-c", code, str(directory)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert not directory.exists()


def test_the_helper_keeps_out_what_the_exiting_interpreter_kept_out(tmp_path):
    """A process run with -s (no user site-packages) starts a helper that runs without them too."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    user_site = tmp_path / "userbase" / "lib" / version / "site-packages"
    user_site.mkdir(parents=True)
    (user_site / "usercustomize.py").write_text(
        f"import os\nopen({str(tmp_path / 'user-site-ran')!r}, 'a').write(str(os.getpid()) + chr(10))\n")
    env = {**os.environ, "FUSENUM_CACHE_DIR": str(tmp_path / "cache"), "FUSENUM_TIERING": "auto",
           "FUSENUM_COMPILE_AFTER_EXIT": "on", "PYTHONUSERBASE": str(tmp_path / "userbase")}
    done = subprocess.run([sys.executable, "-s", "-c", _LEAVES_A_COMPILE], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert exit_compiles.wait_for_helpers(str(tmp_path / "cache"), timeout=300)
    assert len(_kernel_files(tmp_path / "cache")) == 1  # the helper ran
    assert not (tmp_path / "user-site-ran").exists()


def test_interpreter_flags_passed_to_the_helper(monkeypatch):
    from types import SimpleNamespace
    flags = dict(isolated=0, ignore_environment=0, no_user_site=0, safe_path=False)
    for changed, expected in [({}, []), ({"isolated": 1, "ignore_environment": 1}, ["-I"]),
                              ({"ignore_environment": 1, "no_user_site": 1}, ["-E", "-s"]),
                              ({"safe_path": True}, ["-P"])]:
        monkeypatch.setattr(sys, "flags", SimpleNamespace(**{**flags, **changed}))
        assert exit_compiles._interpreter_flags() == expected


def test_a_process_that_compiled_nothing_creates_no_directory_at_exit(tmp_path):
    env = {**os.environ, "FUSENUM_CACHE_DIR": str(tmp_path / "never-made"), "FUSENUM_TIERING": "auto",
           "FUSENUM_COMPILE_AFTER_EXIT": "on"}
    done = subprocess.run([sys.executable, "-c", "import fusenum"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "never-made").exists()
