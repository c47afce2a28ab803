"""Tier 0 (the interpreter) against tier 1 (the fused kernel): the same bits, the same errors.

Random expressions over the whole op table -- transcendental rows too, since both tiers use
fusenum's own vector math -- every dtype, shape and layout, at every SIMD width, run once with
the tiering policy ``never`` (compiled before running) and once with ``always`` (interpreted).
"""
from __future__ import annotations

import _thread
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fusenum
from fusenum.codegen import jit
from fusenum.codegen.target import native
from fusenum.ir.ops import FUNCTIONS
from fusenum.runtime import background, interpreter, kernels, plan_store, tiering

from ..strategies import (DTYPES, LITERALS, PY_OPERATORS, UNARY_OPERATORS, Tree, array_operands,
                          scalar_operands, shapes)
from .test_prebuilt import _root


def all_trees(names: list[str], max_leaves: int = 6):
    """Expression trees over every operator and every function of the op table."""
    leaves = st.one_of(st.sampled_from(names).map(lambda n: Tree("name", n)),
                       LITERALS.map(lambda v: Tree("literal", v)))

    def extend(children):
        unary = st.builds(lambda s, c: Tree("unary", s, (c,)), st.sampled_from(sorted(UNARY_OPERATORS)), children)
        binary = st.builds(lambda s, l, r: Tree("binary", s, (l, r)), st.sampled_from(sorted(PY_OPERATORS)),
                           children, children)
        calls = [st.builds(lambda n, *args: Tree("call", n, args),
                           st.sampled_from(sorted(n for n, op in FUNCTIONS.items() if op.arity == arity)),
                           *[children] * arity) for arity in (1, 2, 3)]
        return st.one_of(unary, binary, *calls)
    return st.recursive(leaves, extend, max_leaves=max_leaves)


@st.composite
def cases(draw):
    shape = draw(shapes())
    values = {}
    for name in "abc"[:draw(st.integers(1, 3))]:
        values[name] = draw(scalar_operands()) if draw(st.integers(0, 9)) == 0 else draw(array_operands(shape))
    return draw(all_trees(list(values))), values


def assert_bits(expected: np.ndarray, got: np.ndarray) -> None:
    """The same dtype, shape and bytes, except a NaN's sign and payload: which NaN an invalid
    operation makes (``0/0``) is the instruction's, or LLVM's when it folds one (see the README)."""
    assert got.dtype == expected.dtype and got.shape == expected.shape, (got.dtype, expected.dtype)
    e, g = np.ascontiguousarray(expected), np.ascontiguousarray(got)
    if e.dtype.kind in "fc":
        nan = np.isnan(e)
        assert np.array_equal(nan, np.isnan(g)), f"NaNs differ:\n{e}\n{g}"
        e, g = np.where(nan, 0, e).astype(e.dtype), np.where(nan, 0, g).astype(g.dtype)
    same = e.view(np.uint8) == g.view(np.uint8)
    assert same.all(), f"bits differ:\n{e}\n{g}"


def both_tiers(run):
    """``run()`` compiled and interpreted: both results, or both the same error (type and message)."""
    previous = fusenum.set_tiering("never")
    try:
        try:
            expected = run()
        except Exception as exc:
            fusenum.set_tiering("always")
            with pytest.raises(type(exc)) as raised:
                run()
            assert str(raised.value) == str(exc)
            return None, None
        fusenum.set_tiering("always")
        before = kernels.stats.tier0_calls  # (cache_info() would also scan the disk cache: slow)
        got = run()
        assert kernels.stats.tier0_calls > before or got.size == 0
        return expected, got
    finally:
        fusenum.set_tiering(previous)


@given(cases())
def test_interpreter_gives_the_kernels_bits(simd, case):
    tree, values = case
    expected, got = both_tiers(lambda: fusenum.evaluate(tree.text(), local_dict=values))
    if expected is not None:
        assert_bits(expected, got)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("text, scalars", [("a ** n", {"n": 2}), ("a ** n", {"n": -1}), ("a ** n", {"n": 0.5}),
                                           ("(a + 1) ** (n * 1)", {"n": 2}), ("clip(a, lo, hi)", {"lo": 0.0, "hi": -0.0}),
                                           ("clip(a, lo, hi)", {"lo": -0.0, "hi": 0.0})])
@pytest.mark.parametrize("shape", [(5000,), (3, 1), (1,)], ids=str)
def test_single_valued_operands_are_computed_as_the_kernel_does(simd, dtype, text, scalars, shape):
    """NumPy's power loop squares a single-valued exponent of 2 and its clip loop lets ``x`` win a tie
    with single-valued bounds; the kernel knows which operands are single-valued and so must the
    interpreter, or a name bound to 2 gives other bits in tier 0 (pow is not exactly x*x)."""
    a = np.random.default_rng(5).random(shape).astype(dtype) * np.where(np.arange(shape[-1]) % 3, 1, 0)
    names = {"a": a, **scalars}
    expected, got = both_tiers(lambda: fusenum.evaluate(text, local_dict=names))
    assert_bits(expected, got)


_SPECIAL = np.array([-0.0, -np.inf, 4.0, 0.0, np.inf, -2.0, 0.5, -0.0] * 700)


@pytest.mark.parametrize("text, numpy_code", [
    ("x ** (e * 1)", lambda x, e, h, z: x ** (e * 1)),
    ("x ** (e + h - 0.5)", lambda x, e, h, z: x ** (e + h - 0.5)),
    ("x ** (h * 1) + x ** (z * 1)", lambda x, e, h, z: x ** (h * 1) + x ** (z * 1)),
    ("x ** e", lambda x, e, h, z: x ** e),
    ("clip(x, e * 0 - 0.0, e * 0)", lambda x, e, h, z: np.clip(x, e * 0 - 0.0, e * 0)),
    ("sum(x ** (e * 1))", lambda x, e, h, z: np.sum(x ** (e * 1))),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [3, 5600])
def test_a_computed_single_value_is_numpys_array(simd, text, numpy_code, dtype, size):
    """NumPy computes ``e * 1`` of a broadcast view ``e`` of 0.5 into a new array, whose stride is not
    0: its power loop calls ``pow`` there, not ``sqrt`` (they differ at -0.0 and -inf), and its clip
    loop breaks ties between 0.0 and -0.0 as for array bounds. Of a one-element ``h`` or a 0-d ``z``,
    the new array has one element, which the loop sees as one value."""
    x = _SPECIAL[:size].astype(dtype)
    names = {"x": x, "e": np.broadcast_to(np.array(0.5, dtype), (size,)), "h": np.array([0.5], dtype),
             "z": np.array(0.5, dtype)}
    with np.errstate(all="ignore"):
        expected = np.asarray(numpy_code(**names))
        for got in both_tiers(lambda: fusenum.evaluate(text, local_dict=names)):
            assert_bits(expected, np.asarray(got))
    # (NumPy up to 2.2's operator also takes its shortcut for the NumPy scalar ``z * 1`` makes; a lazy
    # array takes it for a 0-d array bound as the exponent only: the README lists the difference)
    by_value = "z" in text and np.lib.NumpyVersion(np.__version__) < "2.3.0"
    if "sum" not in text and "clip" not in text and not by_value:
        lazy = {name: fusenum.lazy(value) for name, value in names.items()}
        with np.errstate(all="ignore"):
            assert_bits(expected, np.asarray(numpy_code(**lazy)))


@pytest.mark.parametrize("text", ["clip(0.0, 0.0, x)", "clip(y, 0.0, x)", "clip(x, y, y)", "clip(y, y, x)"])
@pytest.mark.parametrize("x_shape, y_shape", [((), ()), ((1,), (1,)), ((1, 1), ()), ((1,), (1, 1)), ((1, 1), (3,))],
                         ids=str)
def test_one_element_calls_break_zero_ties_as_the_kernel_does(simd, text, x_shape, y_shape):
    """In a one-element call an array operand is single-valued for the general path's kernels
    (no stride) but not for the common call's checked kernel: clip's tie between 0.0 and -0.0
    follows, and tier 0 must follow the kernel that would have served the call."""
    names = {"x": np.full(x_shape, -0.0), "y": np.full(y_shape, 0.0)}
    expected, got = both_tiers(lambda: fusenum.evaluate(text, local_dict=names))
    assert_bits(expected, got)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("text", ["a * b", "a ** 2", "square(a) + b"])
@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (4097,)], ids=str)
def test_complex_products_match_the_kernel_for_any_length(simd, dtype, text, shape):
    """NumPy's complex multiply and square differ in the last bit between their SIMD loop (fused
    multiply-add, as in fusenum's kernels) and their plain loop, which takes one-element blocks."""
    rng = np.random.default_rng(11)
    for _ in range(15):  # the loops differ on some values only
        a, b = ((rng.random(shape) + 1j * rng.random(shape)).astype(dtype) for _ in range(2))
        expected, got = both_tiers(lambda: fusenum.evaluate(text, local_dict={"a": a, "b": b}))
        assert_bits(expected, got)


def check_out_in_both_tiers(case, out_dtype: np.dtype, swapped: bool, order: str) -> None:
    """``out=`` of ``out_dtype`` (byte-swapped if ``swapped``) laid out as ``order`` gets the same
    bits in both tiers."""
    tree, values = case
    try:
        shape = np.broadcast_shapes(*(np.shape(v) for v in values.values()))
    except ValueError:
        return
    dtype = out_dtype.newbyteorder() if swapped else out_dtype

    def run():
        out = np.zeros(shape, dtype, order=order)
        result = fusenum.evaluate(tree.text(), local_dict=values, out=out, casting="unsafe")
        assert result is out
        return out
    expected, got = both_tiers(run)
    if expected is not None:
        assert_bits(expected, got)


@given(cases(), st.sampled_from(DTYPES), st.booleans(), st.sampled_from(["K", "C", "F"]))
def test_interpreter_writes_out_like_the_kernel(simd, case, out_dtype, swapped, order):
    check_out_in_both_tiers(case, out_dtype, swapped, order)


@pytest.fixture
def compile_gate(monkeypatch) -> threading.Event:
    """An event every compile waits for (at most 120 s) from now on, so that a test sees its compile
    pending (a quick build takes ~3 ms); set at the end of the test."""
    gate = threading.Event()
    compile_object = jit.compile_object

    def gated(*arguments, **options):
        gate.wait(120)
        return compile_object(*arguments, **options)
    monkeypatch.setattr(jit, "compile_object", gated)
    yield gate
    gate.set()


@pytest.mark.parametrize("text, size, queued_by", [("a * 1.75 - 0.5", 1001, 2),
                                                   ("a * 1.75 - 0.5", tiering.BIG_LOOP_ELEMENTS, 2),
                                                   ("a * 1.75", tiering.BIG_LOOP_ELEMENTS, 2),
                                                   ("a * 2", tiering.COMPILE_NOW_ELEMENTS, 2)])
def test_auto_interprets_until_the_background_compile_is_done(text, size, queued_by, compile_gate):
    """A call queues its kernel's compile on the kernel's second call, whatever its size; calls are
    interpreted until the kernel is there."""
    a = np.linspace(-3, 3, size)
    previous = fusenum.set_tiering("auto")
    gate = compile_gate
    try:
        fusenum.clear_cache()
        fusenum.set_disk_cache(enabled=False)  # (the other size's kernel may be there)
        results = []
        for call in range(1, queued_by + 1):
            assert tiering.compiles_pending() == 0
            results.append(fusenum.evaluate(text))
            assert fusenum.cache_info().tier0_calls == call
        assert tiering.compiles_pending() == 1
        gate.set()
        tiering.wait_for_compiles()
        assert tiering.compiles_pending() == 0
        results.append(fusenum.evaluate(text))
        assert fusenum.cache_info().tier0_calls == queued_by  # served by the kernel compiled meanwhile
        for result in results[1:]:
            assert_bits(results[0], result)
    finally:
        gate.set()
        fusenum.set_disk_cache(enabled=True)
        fusenum.set_tiering(previous)


def test_the_compiler_waits_for_a_pause_unless_a_call_asks_again_for_its_kernel(monkeypatch):
    """Interpreted calls in a row hold the background compiler back (its Python work would take the
    GIL from them), until one finds its kernel still queued: that kernel is wanted now."""
    previous = fusenum.set_tiering("auto")
    monkeypatch.setattr(background, "QUIET", 60.0)  # (no pause comes in this test)
    monkeypatch.setattr(background, "QUIET_LIMIT", 60.0)
    a = np.linspace(-3, 3, 1003)
    try:
        fusenum.clear_cache()
        fusenum.set_disk_cache(enabled=False)
        first = fusenum.evaluate("a * 2.25 - 0.125")
        fusenum.evaluate("a * 2.25 - 0.125")  # queues the compile
        assert tiering.compiles_pending() == 1
        assert not tiering.wait_for_compiles(timeout=0.5)  # the compiler waits for a pause
        fusenum.evaluate("a * 2.25 - 0.125")  # the kernel is asked for again: the wait ends
        deadline = time.monotonic() + 50
        while tiering.compiles_pending() and time.monotonic() < deadline:  # (its optimized build waits)
            time.sleep(0.01)
        assert tiering.compiles_pending() == 0
        assert_bits(first, fusenum.evaluate("a * 2.25 - 0.125"))
        assert fusenum.cache_info().tier0_calls == 3
    finally:
        tiering._compiler.wanted.set()  # (frees a compiler still waiting with the values above)
        monkeypatch.undo()
        tiering.wait_for_compiles(120)
        tiering._compiler.wanted.clear()
        fusenum.set_disk_cache(enabled=True)
        fusenum.set_tiering(previous)


@pytest.mark.parametrize("size, before, after", [(tiering.BIG_LOOP_ELEMENTS, 3, 3), (1001, 3, 4)])
def test_a_fourth_big_call_waits_for_its_queued_kernel(memory_only_kernels, compile_gate, size, before, after):
    """Big calls that find their kernel queued a second time (a loop: the second call queues it,
    the third finds it queued) wait for it: tier 0 on every core starves the compile. Small ones
    stay interpreted."""
    previous = fusenum.set_tiering("auto")
    gate = compile_gate  # (holds the compile until the calls below have found it queued)
    a = np.linspace(-2, 2, size)
    try:
        results = [fusenum.evaluate("a * 0.8125 - 1.5", {"a": a}) for _ in range(before)]
        assert (fusenum.cache_info().tier0_calls, tiering.compiles_pending()) == (before, 1)
        if before == after:
            threading.Timer(0.2, gate.set).start()
        results.append(fusenum.evaluate("a * 0.8125 - 1.5"))
        assert fusenum.cache_info().tier0_calls == after
        for result in results[1:]:
            assert_bits(results[0], result)
    finally:
        gate.set()
        fusenum.set_tiering(previous)


def test_a_second_small_call_runs_a_kernel_already_in_memory(memory_only_kernels):
    """(one a call of the same spec through another plan made meanwhile)"""
    previous = fusenum.set_tiering("auto")
    kernels.load_compiler()
    try:
        fusenum.evaluate("a * 2.5 + 1", {"a": np.linspace(-2, 2, 1000)})  # interpreted
        fusenum.evaluate("a * 2.5 + 1", {"a": np.linspace(-2, 2, tiering.COMPILE_NOW_ELEMENTS)})  # waits
        before = fusenum.cache_info().tier0_calls
        fusenum.evaluate("(a * 2.5) + 1", {"a": np.linspace(-2, 2, 1000)})
        assert fusenum.cache_info().tier0_calls == before and tiering.compiles_pending() == 0
    finally:
        fusenum.set_tiering(previous)


def test_a_failed_compile_a_call_waited_for_is_raised_once(memory_only_kernels, monkeypatch):
    """The fourth big call waits for the background compile and raises its error; the next call
    compiles again (the cause may be gone), rather than raising the same error once more."""
    previous = fusenum.set_tiering("auto")
    inside, gate = threading.Event(), threading.Event()
    compile_object = jit.compile_object
    attempts = []

    def failing(*arguments, **options):
        attempts.append(1)
        inside.set()
        gate.wait(120)
        raise fusenum.CompileError("injected failure")
    monkeypatch.setattr(jit, "compile_object", failing)
    a = np.linspace(-2, 2, tiering.BIG_LOOP_ELEMENTS)
    try:
        first = fusenum.evaluate("a * 0.8125 - 1.5")  # interpreted
        fusenum.evaluate("a * 0.8125 - 1.5")  # interpreted, and queues the compile
        fusenum.evaluate("a * 0.8125 - 1.5")  # finds it queued: interpreted once more
        assert inside.wait(120)
        threading.Timer(0.2, gate.set).start()
        with pytest.raises(fusenum.CompileError, match="injected failure"):
            fusenum.evaluate("a * 0.8125 - 1.5")
        monkeypatch.setattr(jit, "compile_object", compile_object)  # the cause is gone
        assert_bits(fusenum.evaluate("a * 0.8125 - 1.5"), first)
        assert len(attempts) == 1
    finally:
        gate.set()
        fusenum.set_tiering(previous)


_SIGNAL_WHILE_QUEUEING = """
import faulthandler, signal, threading, numpy as np, fusenum
from fusenum.codegen import jit
from fusenum.runtime import tiering
faulthandler.dump_traceback_later(50, exit=True)
fusenum.set_disk_cache(enabled=False)
inside, gate = threading.Event(), threading.Event()
compile_object = jit.compile_object
def gated(*a, **k):
    inside.set(); gate.wait(60); return compile_object(*a, **k)
jit.compile_object = gated
big = np.linspace(-2, 2, tiering.BIG_LOOP_ELEMENTS)
fusenum.evaluate("a * 0.8125 - 1.5", {"a": big})   # interpreted
fusenum.evaluate("a * 0.8125 - 1.5", {"a": big})   # queued
fusenum.evaluate("a * 0.8125 - 1.5", {"a": big})   # found queued
assert inside.wait(30)
def handler(signum, frame):
    fusenum.evaluate("a * 0.8125 - 1.5", {"a": big})   # the fourth: waits for the queued kernel
signal.signal(signal.SIGUSR1, handler)
queue = tiering._Compiler._queue
def queue_then_signal(self, key, rank):  # the signal comes while submit() holds the compiler's lock
    signal.raise_signal(signal.SIGUSR1)
    return queue(self, key, rank)
tiering._Compiler._queue = queue_then_signal
threading.Timer(0.3, gate.set).start()
small = np.linspace(0, 1, 100)
fusenum.evaluate("a * 3.5 + 0.25", {"a": small})
fusenum.evaluate("a * 3.5 + 0.25", {"a": small})   # its second call queues: the signal
print("done")
"""


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_a_signal_handlers_call_that_waits_while_its_thread_queues_a_compile_does_not_hang():
    """The compiler needs its lock (to queue the optimized build) before it hands the kernel over:
    a handler's call that waits for it while its own thread holds that lock builds it itself."""
    done = subprocess.run([sys.executable, "-c", _SIGNAL_WHILE_QUEUEING], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "FUSENUM_TIERING": "auto"})
    assert done.returncode == 0 and done.stdout.split() == ["done"], done.stderr


def test_a_second_small_call_does_not_look_in_the_disk_cache_again(memory_only_kernels, monkeypatch):
    """Its first call looked a moment ago (the background compile looks once more before compiling)."""
    previous = fusenum.set_tiering("auto")
    looked = []
    available = kernels.available

    def counted(spec, settings_key=None, shipped_too=False):
        looked.append(spec)
        return available(spec, settings_key, shipped_too)
    monkeypatch.setattr(kernels, "available", counted)
    a = np.linspace(-3, 3, 1005)
    try:
        fusenum.evaluate("a * 1.4375 + 0.3125")
        assert len(looked) == 1
        fusenum.evaluate("a * 1.4375 + 0.3125")
        assert len(looked) == 1
    finally:
        fusenum.set_tiering(previous)


def test_a_pause_is_waited_for_at_most_quiet_limit(monkeypatch):
    compiler = tiering._Compiler()
    monkeypatch.setattr(background, "QUIET", 3600.0)  # calls that never pause
    monkeypatch.setattr(background, "QUIET_LIMIT", 0.05)
    background.note_call()
    started = time.monotonic()
    compiler.quiet()
    assert 0.05 <= time.monotonic() - started < 30
    monkeypatch.setattr(background, "QUIET", 0.0)  # a pause already
    monkeypatch.setattr(background, "QUIET_LIMIT", 60.0)
    started = time.monotonic()
    compiler.quiet()
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("policy", tiering.POLICIES)
@pytest.mark.parametrize("shape", [(1, 0), (0,), (3,)], ids=str)
def test_a_python_int_out_of_range_raises_in_every_tier_even_for_an_empty_result(policy, shape):
    """NumPy raises for ``add(-1, b)`` of a uint8 ``b`` whatever its size; the interpreter converted
    the int only for a non-empty result (found by a random draw: ``b`` of shape (1, 0))."""
    a, b = -1, np.zeros(shape, np.uint8)
    with pytest.raises(OverflowError, match="Python integer -1 out of bounds for uint8"):
        np.add(a, b)
    previous = fusenum.set_tiering(policy)
    try:
        fusenum.clear_cache()
        for _ in range(2):
            with pytest.raises(OverflowError, match="Python integer -1 out of bounds for uint8"):
                fusenum.evaluate("add(a, b)")
    finally:
        fusenum.set_tiering(previous)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priorities are Linux's")
def test_the_background_compiler_and_optimizer_run_at_a_lower_priority():
    a = np.linspace(-3, 3, 1000)
    previous = fusenum.set_tiering("auto")
    try:
        fusenum.clear_cache()
        fusenum.set_disk_cache(enabled=False)
        fusenum.evaluate("a * 2.75 - 0.25")
        fusenum.evaluate("a * 2.75 - 0.25")  # a second call queues the compile
        tiering.wait_for_compiles()
    finally:
        fusenum.set_disk_cache(enabled=True)
        fusenum.set_tiering(previous)
    seen = {}
    background.submit(lambda: seen.update(optimizer=os.getpriority(os.PRIO_PROCESS, threading.get_native_id())),
                      lower=True)  # as optimizations are
    assert background.wait(120)
    compiler = next(thread for thread in threading.enumerate() if thread.name == "fusenum-compiler")
    ours = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    lower = min(19, ours + background.NICENESS)
    if ours == 19 or os.getpriority(os.PRIO_PROCESS, compiler.native_id) == ours:
        pytest.skip("this process cannot lower a thread's priority (already lowest, or refused)")
    assert os.getpriority(os.PRIO_PROCESS, compiler.native_id) == lower
    assert seen["optimizer"] == lower
    # The threads that run kernels are the caller's: none started by a background thread.
    big = np.linspace(0, 1, 1 << 21)
    fusenum.evaluate("big * 2.5 + 1.0")
    background_threads = {compiler.native_id, background._state["thread"].native_id}
    others = {int(task) for task in os.listdir("/proc/self/task")} - background_threads
    assert len(others) > 1 or fusenum.get_num_threads() == 1
    assert {_priority(task) for task in others} <= {ours, None}


def _priority(thread: int) -> int | None:
    """A thread's niceness; None if it has ended meanwhile."""
    try:
        return os.getpriority(os.PRIO_PROCESS, thread)
    except ProcessLookupError:
        return None


@pytest.mark.parametrize("text, size, interpreted", [
    ("a * 1.25 - b", 1000, True),                            # NumPy serves every node
    ("a * 1.25 - b", tiering.COMPILE_NOW_ELEMENTS, False),   # big: waits for its kernel
    ("a * 1.25 - b", tiering.COMPILE_NOW_ELEMENTS_LLVM_UP, False),  # (the compiler is loaded)
    ("a * 1.25 - b", tiering.COMPILE_NOW_ELEMENTS_LLVM_UP - 1, True),
    ("a * 1.25", tiering.COMPILE_NOW_ELEMENTS, True),        # big, but one operation NumPy computes
    ("b - 3", tiering.COMPILE_NOW_ELEMENTS, True),           # (the int cast to float64 is NumPy's too)
    ("sin(a) * 1.25 - b", 1000, False),                      # needs a one-node kernel not at hand
    ("fmax(a, b) + 1.0", 1000, False),                       # a row NumPy's loop answers otherwise
])
def test_auto_interprets_small_calls_that_need_no_new_one_node_kernel(memory_only_kernels, text, size,
                                                                      interpreted):
    """In a process that has loaded LLVM and the code generator (see the next tests for one that has
    not), with no kernel in memory or on disk."""
    kernels.load_compiler()
    a, b = np.linspace(-3, 3, size), np.linspace(1, 2, size)
    previous = fusenum.set_tiering("auto")
    try:
        before = kernels.stats.tier0_calls
        got = fusenum.evaluate(text)
        assert (kernels.stats.tier0_calls > before) is interpreted
        tiering.wait_for_compiles()
        fusenum.set_tiering("never")
        assert_bits(fusenum.evaluate(text), got)
    finally:
        fusenum.set_tiering(previous)


def test_a_big_call_whose_one_node_kernels_are_at_hand_is_interpreted_below_the_bound(memory_only_kernels):
    """Once the compiler is loaded, a big call waits for its kernel from COMPILE_NOW_ELEMENTS_LLVM_UP
    elements, unless its interpretation uses one-node kernels (at hand): their fused kernels take
    10-20 ms to build, and that call is interpreted up to COMPILE_NOW_ELEMENTS."""
    kernels.load_compiler()
    size = tiering.COMPILE_NOW_ELEMENTS_LLVM_UP
    previous = fusenum.set_tiering("auto")
    try:
        small = {"a": np.linspace(0.5, 2, 1000), "b": np.linspace(1, 2, 1000)}
        fusenum.evaluate("sin(a) * 1.25 - b", small)  # waits, queueing the one-node sin kernel
        assert tiering.wait_for_compiles(120)
        big = {"a": np.linspace(0.5, 2, size), "b": np.linspace(1, 2, size)}
        before = kernels.stats.tier0_calls
        got = fusenum.evaluate("b - sin(a) * 0.75", big)
        assert kernels.stats.tier0_calls == before + 1
        assert tiering.wait_for_compiles(120)
        fusenum.set_tiering("never")
        assert_bits(fusenum.evaluate("b - sin(a) * 0.75", big), got)
    finally:
        fusenum.set_tiering(previous)


#: Threads whose compiles no call waits for (a caller's compile runs on a ``fusenum-compile`` helper,
#: so that Ctrl-C stays prompt).
BACKGROUND_THREADS = {"fusenum-compiler", "fusenum-optimizer"}


@pytest.fixture
def compiling_threads(monkeypatch) -> list[str]:
    """The names of the threads that compile, in order, from now on."""
    names: list[str] = []
    compile_object = jit.compile_object

    def recorded(*arguments, **options):
        names.append(threading.current_thread().name)
        return compile_object(*arguments, **options)
    monkeypatch.setattr(jit, "compile_object", recorded)
    return names


@pytest.mark.parametrize("first, later", [
    ("sin(a) * 1.25 - b", "b - sin(a) * 0.5"),
    ("fmax(a, b) + 1.0", "fmax(a, b) * a"),
    ("a ** 2.5 + b", "(a - b) ** 1.5"),              # a single-valued exponent, in both
    ("arctan2(a, n) + b", "b * arctan2(a, n)"),     # n: a name bound to a Python float
    ("arctan2(a, b) - cos(b)", "cos(b) * arctan2(a, b) + a"),
])
def test_a_call_that_waits_queues_its_one_node_kernels_for_the_next_expression(memory_only_kernels, compiling_threads,
                                                                               first, later):
    """The first expression with ``sin`` waits for its fused kernel and has the background
    compiler make the one-node ``sin`` kernel; a later new expression with ``sin`` is interpreted at
    once (its fused kernel compiled in the background, nothing on this thread), with the fused
    kernel's bits."""
    native()
    names = {"a": np.linspace(0.5, 3, 1000), "b": np.linspace(1, 2, 1000), "n": 2.5}
    previous = fusenum.set_tiering("auto")
    try:
        before = kernels.stats.tier0_calls
        fusenum.evaluate(first, names)
        assert kernels.stats.tier0_calls == before  # waited for its kernel
        tiering.wait_for_compiles()
        compiling_threads.clear()
        got = [fusenum.evaluate(later, names) for _ in range(2)]  # the second call queues the fused compile
        assert kernels.stats.tier0_calls == before + 2
        assert set(compiling_threads) <= BACKGROUND_THREADS
        tiering.wait_for_compiles()
        compiled = fusenum.evaluate(later, names)
        assert kernels.stats.tier0_calls == before + 2  # the fused kernel serves now
        for interpreted in got:
            assert_bits(compiled, interpreted)
    finally:
        fusenum.set_tiering(previous)


def test_an_out_of_another_dtype_is_decided_on_the_root_that_casts_into_it(memory_only_kernels, compiling_threads):
    """Into an int64 ``out`` the interpreter also needs a one-node float-to-int cast: with only
    ``sin`` at hand the call waits (and queues the cast); once both are at hand, a new expression
    is interpreted with nothing compiled on the caller's behalf."""
    native()
    names = {"a": np.linspace(0.5, 3, 1000), "b": np.linspace(1, 2, 1000)}
    out = np.empty(1000, np.int64)
    previous = fusenum.set_tiering("auto")
    try:
        fusenum.evaluate("sin(a) * 2.0", names)  # waits; queues the one-node sin
        tiering.wait_for_compiles()
        before = kernels.stats.tier0_calls
        fusenum.evaluate("sin(a) * 3.0", names, out=out, casting="unsafe")
        assert kernels.stats.tier0_calls == before  # no cast kernel at hand: waited
        tiering.wait_for_compiles()
        compiling_threads.clear()
        fusenum.evaluate("sin(a) * 4.0 + b", names, out=out, casting="unsafe")
        assert kernels.stats.tier0_calls == before + 1
        assert set(compiling_threads) <= BACKGROUND_THREADS
        interpreted = out.copy()
        fusenum.set_tiering("never")
        assert_bits(fusenum.evaluate("sin(a) * 4.0 + b", names, out=out, casting="unsafe"), interpreted)
    finally:
        fusenum.set_tiering(previous)


def test_a_queued_one_node_kernel_that_fails_to_compile_leaves_no_error_behind(memory_only_kernels, monkeypatch):
    """Nobody waits for a queued one-node kernel: if its compile fails, its error is not kept for a
    later call (which waits for its fused kernel, whose compile reports its own), and it is not
    queued again."""
    native()
    a = np.linspace(0.5, 3, 1000)
    previous = fusenum.set_tiering("auto")

    def failing(module_text, target, **options):
        raise fusenum.CompileError("injected failure")
    queued = []
    queue = tiering._compiler._queue
    try:
        monkeypatch.setattr(jit, "compile_object", failing)
        monkeypatch.setattr(tiering._compiler, "_queue", lambda key, rank: queued.append(key) or queue(key, rank))
        with pytest.raises(fusenum.CompileError, match="injected failure"):
            fusenum.evaluate("exp(a) * 0.5")  # waits for its kernel, and queues the one-node exp
        assert tiering.wait_for_compiles(120)
        assert [key[0].root.op for key in queued] == ["exp"]
        assert not tiering._compiler.errors
        assert set(queued) == tiering._compiler.failed
        with pytest.raises(fusenum.CompileError, match="injected failure"):
            fusenum.evaluate("exp(a) * 0.5")
        assert len(queued) == 1  # not queued again
        monkeypatch.undo()
        np.testing.assert_allclose(fusenum.evaluate("exp(a) * 0.5"), np.exp(a) * 0.5, rtol=1e-15)
    finally:
        fusenum.set_tiering(previous)


_FIRST_BIG_CALLS = """
import numpy as np, fusenum
from fusenum.runtime import kernels
a = np.linspace(0, 1, 1 << 20)
for _ in range(2):  # (a second call queues the compile)
    r = fusenum.evaluate("a * 1.5 + 2.0")
    s = fusenum.evaluate("sin(a) * 1.5")
print(kernels.stats.tier0_calls, fusenum.cache_info().disk_hits)
fusenum.runtime.tiering.wait_for_compiles()  # (the next process looks for both on disk)
"""


def test_a_new_process_waits_for_big_kernels_only_when_the_disk_cache_holds_some(tmp_path):
    """Before LLVM is loaded, waiting for a big call's kernel pays only if it may be on disk."""
    cold = _python(_FIRST_BIG_CALLS, FUSENUM_TIERING="auto", FUSENUM_CACHE_DIR=str(tmp_path))
    assert cold.returncode == 0, cold.stderr
    assert cold.stdout.split()[0] != "0"  # the first big call was interpreted (an empty cache)
    warm = _python(_FIRST_BIG_CALLS, FUSENUM_TIERING="auto", FUSENUM_CACHE_DIR=str(tmp_path))
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.split() == ["0", "2"]  # both kernels loaded from disk, nothing interpreted


@pytest.mark.parametrize("text, dtypes, one", [
    ("a * b", ("float64", "float64"), True), ("a + b", ("int32", "float64"), True),  # (a cast is NumPy's)
    ("a * 3", ("float32",), True), ("a * b + 1.0", ("float64", "float64"), False),
    ("sin(a)", ("float64",), False), ("fmax(a, b)", ("float64", "float64"), False), ("-a", ("int64",), True),
])
def test_which_expressions_are_one_numpy_operation(text, dtypes, one):
    assert interpreter.is_one_numpy_operation(_root(text, dtypes)) is one


def test_kernels_calls_asked_for_are_compiled_before_one_node_kernels_queued_ahead():
    compiler = tiering._Compiler()
    compiler.started = True  # (no thread: the queue is read here)
    compiler.prepare(("one-node", 1))
    compiler.submit(("fused", 1))
    compiler.submit(("fused", 1))  # (the second call queues it)
    compiler.prepare(("one-node", 2))
    compiler.submit(("fused", 2))
    compiler.submit(("fused", 2))
    assert [compiler.requests.get_nowait()[-1] for _ in range(4)] == [
        ("fused", 1), ("fused", 2), ("one-node", 1), ("one-node", 2)]


_ONE_NEW_EXPRESSION = """
import sys, numpy as np, fusenum
from fusenum.runtime import kernels, tiering
a = np.linspace(0.5, 3, 1000)
r = fusenum.evaluate(sys.argv[1])
print(kernels.stats.tier0_calls)
tiering.wait_for_compiles()
"""


def test_a_new_process_interprets_a_new_expression_whose_one_node_kernels_are_on_disk(tmp_path):
    """What an earlier process left on disk decides: the one-node ``sin`` kernel, not the fused
    kernel of the same expression."""
    def first_call_interpreted(text: str) -> bool:
        result = subprocess.run([sys.executable, "-c", _ONE_NEW_EXPRESSION, text], capture_output=True,
                                text=True, timeout=60,
                                env={**os.environ, "FUSENUM_TIERING": "auto", "FUSENUM_CACHE_DIR": str(tmp_path)})
        assert result.returncode == 0, result.stderr
        return result.stdout.split() != ["0"]
    assert first_call_interpreted("sin(a) * 2.0")  # an empty cache: LLVM is not loaded for it
    assert first_call_interpreted("sin(a) + 1.0")  # the one-node sin kernel is on disk
    assert not first_call_interpreted("cos(a) + 1.0")  # no cos kernel: it waits, queueing one
    assert first_call_interpreted("cos(a) - sin(a)")


def test_policy_is_checked():
    with pytest.raises(fusenum.ConfigurationError, match="tiering policy must be one of auto, never, always, "
                                                         "not 'sometimes'"):
        fusenum.set_tiering("sometimes")
    assert fusenum.get_tiering() in tiering.POLICIES
    for value in (1, None, b"never"):
        with pytest.raises(fusenum.ArgumentTypeError, match="the tiering policy must be a str"):
            fusenum.set_tiering(value)
    previous = fusenum.set_tiering(" Never ")  # read as FUSENUM_TIERING is
    try:
        assert fusenum.get_tiering() == "never"
        fusenum.set_tiering(np.str_("always"))  # (a str, as evaluate's casting= takes it)
        assert fusenum.get_tiering() == "always" and type(fusenum.get_tiering()) is str
    finally:
        fusenum.set_tiering(previous)


def test_environment_policy_is_checked():
    result = _python("import fusenum", FUSENUM_TIERING="sometimes")
    assert result.returncode != 0
    assert "ConfigurationError: FUSENUM_TIERING must be one of auto, never, always, not 'sometimes'" in result.stderr


@pytest.fixture
def failing_compiles(monkeypatch):
    """Tiering ``auto``, no disk cache, empty caches, and every compile failing (``monkeypatch.undo()``
    ends the failures)."""
    def failing(module_text, target, **options):
        raise fusenum.CompileError("injected failure")
    previous = fusenum.set_tiering("auto")
    try:
        fusenum.clear_cache()
        fusenum.set_disk_cache(enabled=False)
        monkeypatch.setattr(jit, "compile_object", failing)
        yield
    finally:
        fusenum.set_disk_cache(enabled=True)
        fusenum.set_tiering(previous)


def test_background_compile_error_is_raised_by_the_next_call(failing_compiles, monkeypatch):
    a = np.arange(300.0)
    for _ in range(2):  # tier 0; the second call queues the compile, which fails in the background
        first = fusenum.evaluate("a * 2.125 + 9")
        np.testing.assert_array_equal(first, a * 2.125 + 9)
    tiering.wait_for_compiles()
    with pytest.raises(fusenum.CompileError, match="injected failure"):
        fusenum.evaluate("a * 2.125 + 9")
    monkeypatch.undo()
    np.testing.assert_array_equal(fusenum.evaluate("a * 2.125 + 9"), first)  # asks again, and works


def test_background_compile_errors_are_bounded_and_forgotten_by_clear_cache(failing_compiles, monkeypatch):
    """A kept error waits for a call that may never come: at most MAX_QUEUED * 16 are kept, the oldest
    dropped, and clear_cache() forgets them (the next call compiles anew, and would report its own)."""
    a = np.arange(300.0)
    monkeypatch.setattr(tiering, "MAX_QUEUED", 1)  # (16 errors kept at most)
    for k in range(20):
        for _ in range(2):  # the second call queues the compile, which fails
            fusenum.evaluate(f"a * {k}.125 + {k}")
        tiering.wait_for_compiles()
    assert len(tiering._compiler.errors) == 16
    with pytest.raises(fusenum.CompileError, match="injected failure"):  # (a recent one is kept)
        fusenum.evaluate("a * 19.125 + 19")
    fusenum.clear_cache()
    assert not tiering._compiler.errors
    np.testing.assert_array_equal(fusenum.evaluate("a * 18.125 + 18"), a * 18.125 + 18)  # interpreted


def test_a_compiler_thread_that_cannot_start_leaves_calls_interpreted(monkeypatch):
    a = np.arange(300.0)
    previous = fusenum.set_tiering("auto")
    start_new_thread = _thread.start_new_thread

    def no_thread(function, arguments):
        raise RuntimeError("can't start new thread")
    try:
        fusenum.clear_cache()
        fusenum.set_disk_cache(enabled=False)
        monkeypatch.setattr(tiering, "_compiler", tiering._Compiler())
        monkeypatch.setattr(tiering._thread, "start_new_thread", no_thread)
        for _ in range(3):  # the second and third calls would start the compiler
            np.testing.assert_array_equal(fusenum.evaluate("a * 4.25 - 1"), a * 4.25 - 1)
        assert tiering.compiles_pending() == 0
        tiering.wait_for_compiles()  # nothing left queued to wait for
        monkeypatch.setattr(tiering._thread, "start_new_thread", start_new_thread)
        fusenum.evaluate("a * 4.25 - 1")  # starts it now
        assert tiering.compiles_pending() == 1
        tiering.wait_for_compiles()
        assert "fusenum-compiler" in [thread.name for thread in threading.enumerate()]
        tier0 = fusenum.cache_info().tier0_calls
        np.testing.assert_array_equal(fusenum.evaluate("a * 4.25 - 1"), a * 4.25 - 1)
        assert fusenum.cache_info().tier0_calls == tier0  # the kernel's
    finally:
        fusenum.set_disk_cache(enabled=True)
        fusenum.set_tiering(previous)


_SLOW_COMPILES = """
import time, numpy as np, fusenum
from fusenum.codegen import jit
real = jit.compile_object
def slow(text, target, **options):
    time.sleep(30)
    return real(text, target, **options)
jit.compile_object = slow
fusenum.set_disk_cache(enabled=False)
a = np.arange(1000.0)
r = fusenum.evaluate("a * 3.5 + 1")
r = fusenum.evaluate("a * 3.5 + 1")  # the kernel's second call queues its compile
assert fusenum.runtime.tiering.compiles_pending() == 1
"""


#: Prepended to a child's code: a child that hangs (at its exit, say) prints every thread's stack
#: and ends before the test's timeout, so that the failure shows where it hung.
_STACKS_IF_HUNG = "import faulthandler; faulthandler.dump_traceback_later(50, exit=True)\n"


def _python(code: str, **env):
    return subprocess.run([sys.executable, "-c", _STACKS_IF_HUNG + code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env})


def test_exit_with_compiles_pending_is_prompt():
    start = time.perf_counter()
    result = _python(_SLOW_COMPILES + "print(r[3])", FUSENUM_TIERING="auto")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "11.5"
    assert time.perf_counter() - start < 20  # the pending 30 s compile did not hold the exit


_COMPILE_AT_EXIT = """
import os, sys, threading, time, _thread, numpy as np, fusenum
from fusenum.codegen import jit
marker = sys.argv[1]
real = jit._build_in_context
def slow(*args):  # LLVM running for a second
    with open(marker, "a") as file:
        file.write("started\\n")
    time.sleep(1)
    made = real(*args)
    with open(marker, "a") as file:
        file.write("done\\n")
    return made
jit._build_in_context = slow
fusenum.set_disk_cache(enabled=False)
a = np.arange(1000.0)
def started():
    while not (os.path.exists(marker) and "started" in open(marker).read()):
        time.sleep(0.01)
"""


def _exit_during_compile(tmp_path, code: str, **env) -> tuple[subprocess.CompletedProcess, str]:
    marker = tmp_path / "marker"
    result = subprocess.run([sys.executable, "-c", _COMPILE_AT_EXIT + code, str(marker)], capture_output=True,
                            text=True, timeout=60, env={**os.environ, **env})
    return result, marker.read_text() if marker.exists() else ""


def test_exit_waits_for_a_background_compile_inside_llvm(tmp_path):
    # The process exited while LLVM compiled on the background compiler's thread: LLVM's static state
    # was torn down under it (an LLVM assertion failed, or the process crashed, 1 run in 40).
    result, marks = _exit_during_compile(tmp_path, """
for _ in range(2):
    fusenum.evaluate("a * 3.5 + 1")  # the second call queues the compile
started()
""", FUSENUM_TIERING="auto")
    assert result.returncode == 0, result.stderr
    assert marks.split() == ["started", "done"]


def test_exit_after_ctrl_c_waits_for_the_compile_it_interrupted(tmp_path):
    result, marks = _exit_during_compile(tmp_path, """
threading.Thread(target=lambda: (started(), _thread.interrupt_main()), daemon=True).start()
fusenum.evaluate("a * 3.5 + 1")  # compiled on a helper thread; Ctrl-C ends the wait
""", FUSENUM_TIERING="never")
    assert "KeyboardInterrupt" in result.stderr
    assert result.returncode in (-2, 130, 1), result.stderr  # Python's exit on Ctrl-C, not an abort
    marks = marks.split()  # (a quick build, then perhaps the optimized one)
    assert marks and marks.count("started") == marks.count("done") and marks[-1] == "done"


def test_a_late_exit_handler_still_gets_its_kernel():
    # At exit the background compiler starts no compile: a call from an exit handler that runs after
    # fusenum's, needing the kernel the compiler had begun, makes it itself (no hang, no error).
    code = """
import atexit
atexit.register(lambda: late())  # before fusenum's own: runs after it
import threading, time, numpy as np, fusenum
from fusenum.codegen import jit
from fusenum.runtime import kernels
real = jit.compile_object
entered = threading.Event()
def slow(text, target, **options):
    entered.set()
    time.sleep(1)
    return real(text, target, **options)
jit.compile_object = slow
fusenum.set_disk_cache(enabled=False)
a = np.arange(1000.0)
for _ in range(2):
    fusenum.evaluate("a * 3.5 + 1")  # the second call queues the compile
entered.wait(30)
fusenum.set_tiering("never")
def late():
    print(len(kernels._pending), fusenum.evaluate("a * 3.5 + 1")[3], flush=True)
"""
    result = _python(code, FUSENUM_TIERING="auto")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "11.5"], result.stderr  # (1: the compiler's kernel, begun)


def test_a_call_from_an_exit_handler_compiles_on_its_own_thread():
    # A helper thread left finishing its Python code once the interpreter finalizes wants the GIL
    # then, which can hang the exit: a compile asked for during the exit runs on the caller's thread.
    code = """
import atexit
atexit.register(lambda: late())  # before fusenum's own: runs after it
import threading, numpy as np, fusenum
from fusenum.codegen import jit
real = jit.compile_object
threads = []
def recording(text, target, **options):
    threads.append(threading.current_thread().name)
    return real(text, target, **options)
jit.compile_object = recording
fusenum.set_disk_cache(enabled=False)
fusenum.set_tiering("never")
def late():
    result = fusenum.evaluate("a * 2.5 + 1", {"a": np.arange(5.0)})
    print(result[3], threads, flush=True)
"""
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["8.5", "['MainThread']"], result.stderr


def test_a_wait_that_ends_with_the_dropped_queue_sees_nothing_pending():
    # wait() returns at the queue's last task_done(): by then nothing may count as pending
    compiler = tiering._Compiler()
    for order in range(3):
        compiler.requests.put_nowait((0, 0.0, order, ("key", order)))
        compiler.queued.add(("key", order))
    seen = []
    done = compiler.requests.task_done
    compiler.requests.task_done = lambda: (seen.append(len(compiler.queued)), done())
    compiler._drop_queue()
    assert seen == [0, 0, 0] and compiler.wait(0)


def test_a_compiler_thread_stopping_at_exit_forgets_its_request_before_marking_it_done():
    compiler = tiering._Compiler()
    compiler.requests.put_nowait((0, 0.0, 0, ("key", 0)))
    compiler.queued.add(("key", 0))
    compiler.stopping = True
    seen = []
    done = compiler.requests.task_done
    compiler.requests.task_done = lambda: (seen.append(len(compiler.queued)), done())
    worker = threading.Thread(target=compiler._work)
    worker.start()
    worker.join(60)
    assert seen == [0] and compiler.wait(0)


def test_waiting_for_compiles_ends_once_the_exit_began():
    # At exit the compiler takes no request: what was queued, or is asked for by a later exit
    # handler, is dropped, and ``wait_for_compiles()`` returns instead of waiting for ever.
    code = """
import atexit, numpy as np
def late():
    from fusenum.runtime import tiering
    a = np.arange(1e5)
    for i in range(4):
        for _ in range(2):
            fusenum.evaluate(f"a * {i + 2} + 1")
    tiering.wait_for_compiles()
    print("returned", tiering.compiles_pending(), flush=True)
atexit.register(late)  # before fusenum's own: runs after it
import fusenum
from fusenum.runtime import tiering
a = np.arange(2e5)
for _ in range(2):
    fusenum.evaluate("a * 3.5 - 1")  # the compiler thread runs
tiering.wait_for_compiles()
for i in range(20):
    fusenum.evaluate(f"a * {i} - 2.5")  # queued, the exit begins
"""
    result = _python(code, FUSENUM_TIERING="auto")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["returned", "0"], result.stderr


def test_fork_with_compiles_pending():
    code = _SLOW_COMPILES.replace("time.sleep(30)", "time.sleep(2)") + """
import os
pid = os.fork()
if pid == 0:
    pending = fusenum.runtime.tiering.compiles_pending()
    for _ in range(2):
        b = fusenum.evaluate("a * 3.5 + 1")   # the child's own compiler, asked on the second call
    fusenum.runtime.tiering.wait_for_compiles()
    c = fusenum.evaluate("a * 3.5 + 1")
    ok = pending == 0 and b[3] == c[3] == 11.5 and fusenum.cache_info().tier0_calls == 4
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
fusenum.runtime.tiering.wait_for_compiles()
assert fusenum.evaluate("a * 3.5 + 1")[3] == 11.5
print(os.waitstatus_to_exitcode(status))
"""
    result = _python(code, FUSENUM_TIERING="auto")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


_QUICK_ONLY = """
import sys, time, numpy as np, fusenum
from fusenum.codegen import jit
real = jit.compile_object
def slow(text, target, quick=False):
    if not quick:
        time.sleep(30)  # no optimized build is ever done in this process
    return real(text, target, quick=quick)
jit.compile_object = slow
a = np.arange(1000.0)
calls = 0
while fusenum.cache_info().tier0_calls == calls and calls < 1000:  # served by a kernel from disk
    calls += 1
    r = fusenum.evaluate("a * 3.5 + 1")
    if fusenum.cache_info().tier0_calls < calls:
        break
    time.sleep(0.01)
info = fusenum.cache_info()
time.sleep(float(sys.argv[1]))  # (long enough for an optimized build to start)
print(r[3], info.tier0_calls, info.disk_hits, info.compile_seconds)
"""


def test_a_process_that_exits_before_optimizing_leaves_its_quick_build_to_the_next(tmp_path):
    """The compiler makes the quick build first and stores it: a process that exits before the
    optimized build leaves the next process code to run (no interpreted call, no compile), and
    neither waits at exit for an optimized build."""
    env = {"FUSENUM_TIERING": "auto", "FUSENUM_CACHE_DIR": str(tmp_path)}
    for wait, expected in [(0.0, lambda tier0: tier0 >= 2), (1.0, lambda tier0: tier0 == 0)]:
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", _QUICK_ONLY, str(wait)], capture_output=True, text=True,
                                timeout=60, env={**os.environ, **env})
        assert result.returncode == 0, result.stderr
        value, tier0, disk_hits, compile_seconds = result.stdout.split()
        assert float(value) == 11.5 and expected(int(tier0))
        assert time.perf_counter() - start < 20  # the optimized build (30 s) did not hold the exit
        assert sorted(p.suffix for p in tmp_path.iterdir() if p.suffix not in (".host", ".plan")) == [".quick"]
    assert (int(disk_hits), float(compile_seconds)) == (1, 0.0)


def test_optimized_builds_never_crowd_out_a_compile_a_call_asks_for(memory_only_kernels, compile_gate):
    """A warm process may load hundreds of quick builds, each queuing its optimized build: the
    compiles calls ask for keep their room in the queue, and the earliest due optimization runs first."""
    a = np.arange(300.0)
    previous = fusenum.set_tiering("auto")
    gate = compile_gate
    ran = []
    try:
        for k in range(tiering.MAX_QUEUED + 10):
            tiering._compiler.optimize(lambda k=k: ran.append(k), 0.2, ("spec", k))
        tiering._compiler.optimize(lambda: ran.append("due now"), 0.0, ("spec", "due now"))
        for _ in range(2):  # the second call asks for the compile
            fusenum.evaluate("a * 5.125 - 2")
        assert tiering.compiles_pending() == 1
        gate.set()
        assert tiering.wait_for_compiles(120)
        assert ran == ["due now", *range(tiering.MAX_QUEUED + 10)]
        tier0 = fusenum.cache_info().tier0_calls
        np.testing.assert_array_equal(fusenum.evaluate("a * 5.125 - 2"), a * 5.125 - 2)
        assert fusenum.cache_info().tier0_calls == tier0  # the kernel's
    finally:
        gate.set()
        fusenum.set_tiering(previous)


def test_the_compiler_writes_typed_plans_after_the_compiles_calls_asked_for(monkeypatch):
    """A process's first write of typed plans takes milliseconds: a loop of big calls waiting for
    its kernel would wait for it too."""
    order = []
    monkeypatch.setattr(plan_store, "unwritten", lambda: True)
    monkeypatch.setattr(plan_store, "write_unwritten", lambda: order.append("plans"))
    monkeypatch.setattr(kernels, "kernel", lambda *key: order.append(("compile", *key)))
    monkeypatch.setattr(tiering._Compiler, "quiet", lambda self: None)
    monkeypatch.setattr(tiering._Compiler, "_get_ready", staticmethod(lambda: None))
    compiler = tiering._Compiler()  # (its thread stays, waiting for requests that never come)
    compiler.submit(("fused",))
    compiler.submit(("fused",))  # (the second call queues it: the thread starts)
    assert compiler.wait(60)
    deadline = time.monotonic() + 60
    while "plans" not in order and time.monotonic() < deadline:
        time.sleep(0.01)
    assert order[:2] == [("compile", "fused"), "plans"]


def test_a_compile_queued_while_the_compiler_waits_to_write_plans_goes_first(monkeypatch):
    """(a loop's kernel, queued while the compiler waited for a pause in the calls)"""
    order, injected = [], []

    def quiet(compiler):
        if order == [("compile", "first")] and not injected:
            injected.append(True)
            compiler.submit(("second",))
            compiler.submit(("second",))
    monkeypatch.setattr(plan_store, "unwritten", lambda: True)
    monkeypatch.setattr(plan_store, "write_unwritten", lambda: order.append("plans"))
    monkeypatch.setattr(kernels, "kernel", lambda *key: order.append(("compile", *key)))
    monkeypatch.setattr(tiering._Compiler, "quiet", quiet)
    monkeypatch.setattr(tiering._Compiler, "_get_ready", staticmethod(lambda: None))
    compiler = tiering._Compiler()  # (its thread stays, waiting for requests that never come)
    compiler.submit(("first",))
    compiler.submit(("first",))
    deadline = time.monotonic() + 60
    while "plans" not in order and time.monotonic() < deadline:
        time.sleep(0.01)
    assert order[:3] == [("compile", "first"), ("compile", "second"), "plans"]
