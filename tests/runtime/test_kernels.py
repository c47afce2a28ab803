"""The kernel cache under threads: nobody waits for another kernel's compilation, a kernel
needed by several threads at once is compiled once, and its compile error reaches each of them.

Compilation is slowed by a fake ``compile_object`` that blocks until the test releases it, so
nothing here depends on how long LLVM takes.
"""
import gc
import os
import subprocess
import sys
import threading
import time
import weakref

import numpy as np
import pytest

import fusenum
from fusenum.runtime import background, kernels

NAMES = {"a": np.arange(50.0), "b": np.arange(50.0) + 1, "c": np.arange(50.0) * 2}
#: Long enough never to expire on a loaded machine; only reached if the code under test is wrong.
PATIENCE = 120


pytestmark = pytest.mark.usefixtures("memory_only_kernels")


class BlockedCompiler:
    """``compile_object`` whose compilations of modules containing ``marker`` wait for ``release``
    (only first builds: background optimizing goes through unhindered)."""

    def __init__(self, monkeypatch, marker: str, error: Exception | None = None):
        self.real = kernels.jit.compile_object
        self.marker, self.error = marker, error
        self.started, self.release = threading.Event(), threading.Event()
        self.blocked_calls = 0
        monkeypatch.setattr(kernels.jit, "compile_object", self)

    def __call__(self, module_text: str, target, quick: bool = False):
        if self.marker in module_text and threading.current_thread().name != "fusenum-optimizer":
            self.blocked_calls += 1
            self.started.set()
            assert self.release.wait(PATIENCE), "never released"
            if self.error is not None:
                raise self.error
        return self.real(module_text, target, quick=quick)


class Caller(threading.Thread):
    def __init__(self, text: str):
        super().__init__(daemon=True)
        self.text, self.result, self.error = text, None, None
        self.start()

    def run(self):
        try:
            self.result = fusenum.evaluate(self.text, NAMES)
        except Exception as exc:  # handed to the test
            self.error = exc

    def finished(self) -> bool:
        self.join(PATIENCE)
        return not self.is_alive()


def wait_for(condition) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.001)


def test_a_new_small_kernel_does_not_wait_for_another_threads_big_compile(monkeypatch):
    compiler = BlockedCompiler(monkeypatch, "sin")  # the big kernel: only its module mentions sin
    big = Caller("sin(a) * cos(b) + sin(c) ** 2")
    assert compiler.started.wait(PATIENCE)
    small = Caller("a + b")
    assert small.finished() and big.is_alive()  # done while the big one is still compiling
    np.testing.assert_array_equal(small.result, NAMES["a"] + NAMES["b"])
    compiler.release.set()
    assert big.finished() and big.error is None
    assert kernels.cache_info().misses == 2


def test_threads_needing_the_same_new_kernel_compile_it_once(monkeypatch):
    compiler = BlockedCompiler(monkeypatch, "define")  # every kernel module
    first = Caller("a * b - c")
    assert compiler.started.wait(PATIENCE)
    second = Caller("a * b - c")
    wait_for(lambda: kernels.cache_info().hits >= 1)  # the second thread waits for the first's kernel
    compiler.release.set()
    assert first.finished() and second.finished()
    assert compiler.blocked_calls == 1
    assert first.error is None and second.error is None
    np.testing.assert_array_equal(first.result, second.result)
    info = kernels.cache_info()
    assert (info.misses, info.entries) == (1, 1)


def test_a_compile_error_reaches_every_thread_waiting_for_that_kernel(monkeypatch):
    compiler = BlockedCompiler(monkeypatch, "define", fusenum.CompileError("LLVM said no"))
    first = Caller("a / b + c")
    assert compiler.started.wait(PATIENCE)
    second = Caller("a / b + c")
    wait_for(lambda: kernels.cache_info().hits >= 1)
    compiler.release.set()
    assert first.finished() and second.finished()
    for caller in (first, second):
        assert isinstance(caller.error, fusenum.CompileError) and str(caller.error) == "LLVM said no"
    assert compiler.blocked_calls == 1 and kernels.cache_info().entries == 0
    monkeypatch.undo()
    np.testing.assert_array_equal(fusenum.evaluate("a / b + c", NAMES), NAMES["a"] / NAMES["b"] + NAMES["c"])


class InterruptedOnce(BlockedCompiler):
    """``compile_object`` whose first compilation waits for ``release``, then raises KeyboardInterrupt
    (as a Ctrl-C in the thread making the kernel); the others compile."""

    def __call__(self, module_text: str, target, quick: bool = False):
        if self.blocked_calls == 0:
            self.blocked_calls += 1
            self.started.set()
            assert self.release.wait(PATIENCE), "never released"
            raise KeyboardInterrupt
        return self.real(module_text, target, quick=quick)


class InterruptibleCaller(Caller):
    def run(self):
        try:
            self.result = fusenum.evaluate(self.text, NAMES)
        except BaseException as exc:  # (a KeyboardInterrupt too) handed to the test
            self.error = exc


def test_an_interrupted_maker_raises_alone_and_a_waiting_thread_makes_the_kernel(monkeypatch):
    """A Ctrl-C is the interrupted thread's, not the kernel's error: another thread waiting for the
    kernel is not handed it (it raised KeyboardInterrupt in threads that were never signalled)."""
    compiler = InterruptedOnce(monkeypatch, "define")
    first = InterruptibleCaller("a * c - b")
    assert compiler.started.wait(PATIENCE)
    second = InterruptibleCaller("a * c - b")
    wait_for(lambda: kernels.cache_info().hits >= 1)  # waiting for the first thread's kernel
    compiler.release.set()
    assert first.finished() and second.finished()
    assert isinstance(first.error, KeyboardInterrupt)
    assert second.error is None
    np.testing.assert_array_equal(second.result, NAMES["a"] * NAMES["c"] - NAMES["b"])
    assert compiler.blocked_calls == 1 and kernels.cache_info().entries == 1


def test_a_kernel_gives_the_same_bits_before_and_after_background_optimizing(monkeypatch):
    monkeypatch.setattr(kernels, "TIERED", True)
    values = {"a": np.linspace(-30, 30, 1001), "b": np.linspace(0.1, 9, 1001)}
    text = "exp(a / 7) * log(b) + tanh(a) * sqrt(b)"
    quick = fusenum.evaluate(text, values)
    kernel = next(iter(kernels._kernels.values()))
    assert background.wait(PATIENCE)
    assert kernel.quick is not None and kernel.compiled is not kernel.quick  # the optimized build is in use
    optimized = fusenum.evaluate(text, values)
    np.testing.assert_array_equal(quick.view(np.int64), optimized.view(np.int64))


def test_an_evicted_unused_kernel_frees_its_machine_code(monkeypatch):
    monkeypatch.setattr(kernels, "MAX_KERNELS", 2)
    fusenum.evaluate("a * 3 + b", NAMES)
    assert background.wait(PATIENCE)
    first = next(iter(kernels._kernels.values()))
    trackers = [weakref.ref(compiled.tracker) for compiled in (first.compiled, first.quick) if compiled]
    del first
    fusenum.evaluate("a * 4 + b", NAMES)
    fusenum.evaluate("a * 5 + b", NAMES)
    fusenum.clear_cache()  # plans hold their kernels
    assert background.wait(PATIENCE)
    gc.collect()
    assert trackers and all(tracker() is None for tracker in trackers)


@pytest.mark.parametrize("variable, value, message", [
    ("FUSENUM_MAX_KERNELS", "0", "FUSENUM_MAX_KERNELS must be a positive integer, not '0'"),
    ("FUSENUM_MAX_KERNELS", "many", "FUSENUM_MAX_KERNELS must be a positive integer, not 'many'"),
    ("FUSENUM_COMPILE", "fast", "FUSENUM_COMPILE must be 'tiered' or 'optimized', not 'fast'"),
])
def test_bad_compile_settings_fail_clearly_at_import(variable, value, message):
    done = subprocess.run([sys.executable, "-c", "import fusenum"], capture_output=True, text=True,
                          env=dict(os.environ, **{variable: value}))
    assert done.returncode != 0 and f"ConfigurationError: {message}" in done.stderr


def test_compile_settings_are_read_from_the_environment():
    code = "from fusenum.runtime import kernels; print(kernels.MAX_KERNELS, kernels.TIERED)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, FUSENUM_MAX_KERNELS="77", FUSENUM_COMPILE="optimized"))
    assert done.stdout.split() == ["77", "False"], done.stderr


def test_a_call_compiling_its_kernel_counts_as_waiting_and_the_tiers_compiler_does_not(monkeypatch):
    seen = []
    real = kernels._make

    def make(*key, **options):
        seen.append(background.calls_in_progress())
        return real(*key, **options)
    monkeypatch.setattr(kernels, "_make", make)
    monkeypatch.setattr(kernels, "_compile", make)
    fusenum.evaluate("a * 11 - c", NAMES)  # compiled on a helper thread while this call waits
    with kernels.nobody_waiting():  # as the tiers' background compiler compiles
        fusenum.evaluate("a * 13 - c", NAMES)
    assert seen == [1, 0] and background.calls_in_progress() == 0


def test_a_kernel_nobody_waits_for_is_built_optimized_at_once(monkeypatch):
    monkeypatch.setattr(kernels, "TIERED", True)
    with kernels.nobody_waiting():
        result = fusenum.evaluate("a * 7 - c", NAMES)
    kernel = next(iter(kernels._kernels.values()))
    assert kernel.quick is None  # no quick build to replace later
    np.testing.assert_array_equal(result, NAMES["a"] * 7 - NAMES["c"])


_SMALL_CALLS_BESIDE_A_SPINNER = """
import sys, threading, time
import numpy as np
import fusenum
from fusenum.ir import nodes
from fusenum.runtime import background, interpreter, kernels, tiering

size = kernels.HOLD_GIL_ELEMENTS // 2  # calls of sin long enough (tens of us) for a woken thread to take the GIL
names = {"a": np.linspace(0.5, 1.5, size), "b": np.linspace(0.5, 1.5, 2 * size)[::2]}
fusenum.set_tiering("never")
fusenum.set_num_threads(1)
sin = interpreter._kernel_step(nodes.make("sin", (nodes.input_slot(0, names["a"].dtype),), names["a"].dtype))
out = np.empty(size)
calls = {
    "checked": lambda: fusenum.evaluate("sin(a) * 2 + 1", names),
    "general": lambda: fusenum.evaluate("sin(b) * 2", names),  # (b is strided)
    "reduction": lambda: fusenum.evaluate("sum(sin(a) * 2)", names),
    "tier 0": lambda: sin([names["a"]], out),  # the interpreter's one-node kernel step
}
for call in calls.values():
    call()  # compiled now
tiering.wait_for_compiles()
background.wait()
time.sleep(0.1)  # (a background thread that just finished a job needs the GIL once more to park)
sys.setswitchinterval(0.5)
turns, stop = [0], threading.Event()

def spin():
    while not stop.is_set():
        turns[0] += 1

spinner = threading.Thread(target=spin)
spinner.start()  # (returns once the spinner's interval is up)
started = time.perf_counter()
for name, call in calls.items():
    before = turns[0]
    for _ in range(200):  # (about 10 ms: far from the spinner's 0.5 s interval)
        call()
        if turns[0] != before:
            break  # (the spinner got in, and each turn costs it 0.5 s)
    print(name, turns[0] - before)
stop.set()
print("seconds", time.perf_counter() - started)
"""


def test_a_small_call_keeps_the_gil_so_another_python_thread_cannot_hold_it_up():
    # A thread that lets the GIL go while another runs Python gets it back only when the other's
    # switch interval expires (5 ms by default; 0.5 s here): each small call would cost that much.
    # In a process of its own: another test's threads asking for the GIL would let the spinner in.
    done = subprocess.run([sys.executable, "-c", _SMALL_CALLS_BESIDE_A_SPINNER], capture_output=True, text=True,
                          timeout=PATIENCE, env={**os.environ, "FUSENUM_CACHE": "off"})
    assert done.returncode == 0, done.stderr
    turns = dict(line.rsplit(" ", 1) for line in done.stdout.splitlines())
    seconds = turns.pop("seconds")  # (0.5 s or more would let the spinner in with the GIL kept: too slow to tell)
    assert turns == {"checked": "0", "general": "0", "reduction": "0", "tier 0": "0"}, f"calls took {seconds} s"


def test_a_kernel_switching_to_its_optimized_build_never_shows_a_missing_entry():
    # The background optimizer switches a kernel's entries while other threads call them.
    fusenum.evaluate("a * 2 + 1", NAMES)
    kernel = next(k for k in kernels._kernels.values() if k.spec.checked)
    seen, stop = [], threading.Event()

    def switch():
        while not stop.is_set():
            kernel.optimized(kernel.compiled)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    switcher = threading.Thread(target=switch)
    switcher.start()
    try:
        for _ in range(100_000):
            if kernel.whole is None or kernel.whole_held is None or kernel.held is None:
                seen.append(None)
    finally:
        stop.set()
        switcher.join(PATIENCE)
        sys.setswitchinterval(interval)
    assert seen == []


_DAEMONS_COMPILING_AT_EXIT = r"""
import threading, time, numpy as np, fusenum
a = np.linspace(0.1, 2, 1000)
started = threading.Barrier(9)
def loop(i):
    fusenum.evaluate(f"a*{i}+1", {"a": a})
    started.wait()
    k = 0
    while True:
        k += 1
        fusenum.evaluate(f"a*{k}+{i}", {"a": a})
for i in range(8):
    threading.Thread(target=loop, args=(i,), daemon=True).start()
started.wait()
time.sleep(0.2)
"""


def test_daemon_threads_compiling_new_kernels_do_not_hold_up_the_exit(tmp_path):
    # The exit waits for running compiles; daemon threads starting new ones kept it waiting 16 s or
    # for good. Now they stop at the exit, as the interpreter stops them anyway.
    env = dict(os.environ, FUSENUM_CACHE_DIR=str(tmp_path), FUSENUM_TIERING="never",
               FUSENUM_COMPILE_AFTER_EXIT="off")
    done = subprocess.run([sys.executable, "-c", _DAEMONS_COMPILING_AT_EXIT], env=env, capture_output=True,
                          text=True, timeout=10)
    assert done.returncode == 0, done.stderr
