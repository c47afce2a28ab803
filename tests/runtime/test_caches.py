"""The kernel cache: hits, misses, entries; repeated calls re-parse and re-type nothing."""
import threading
import time
from collections import OrderedDict

import numpy as np
import pytest

import fusenum
from fusenum.frontend import evaluation
from fusenum.runtime import caches, plan_cache


@pytest.fixture(autouse=True)
def empty_cache():
    fusenum.clear_cache()
    yield
    fusenum.clear_cache()


def test_first_call_compiles_later_calls_hit():
    a, b = np.ones(10), np.ones(10)
    fusenum.evaluate("a + b")
    assert fusenum.cache_info()[:3] == (0, 1, 1)
    fusenum.evaluate("a + b")
    fusenum.evaluate("a + b")
    info = fusenum.cache_info()
    assert (info.hits, info.misses, info.entries) == (2, 1, 1)
    assert info.disk_hits + info.disk_misses == 1  # the one miss was loaded from disk or compiled


def test_new_dtypes_compile_a_new_kernel():
    a = np.ones(10)
    fusenum.evaluate("a * 2")
    a = np.ones(10, np.float32)
    fusenum.evaluate("a * 2")
    assert fusenum.cache_info().entries == 2


def test_equal_expressions_share_one_kernel():
    a, b = np.ones(5), np.ones(5)
    x, y = a, b
    fusenum.evaluate("a + b * 2")
    fusenum.evaluate("x + y * 2")
    assert fusenum.cache_info().entries == 1


def test_repeated_call_does_not_parse_or_type_again(monkeypatch):
    a = np.ones(5)
    fusenum.evaluate("a * 3")
    calls = []
    monkeypatch.setattr(evaluation, "stored_text", lambda text: calls.append(text))
    monkeypatch.setattr(plan_cache, "_make_plan", lambda *args: calls.append(args))
    fusenum.evaluate("a * 3")
    assert calls == []


def test_python_scalar_variables_reuse_one_kernel():
    a = np.ones(5)
    for k in range(20):
        np.testing.assert_array_equal(fusenum.evaluate("a * k"), a * k)
    assert fusenum.cache_info().entries == 1


def test_clear_cache_resets():
    a = np.ones(3)
    fusenum.evaluate("a - 1")
    fusenum.clear_cache()
    assert fusenum.cache_info()[:3] == (0, 0, 0)


def test_a_vector_math_mode_change_leaves_no_stale_kernel():
    """The mode is part of every kernel key: staged plans (reductions) included, no clearing needed."""
    from fusenum.codegen import mathlib
    rng = np.random.default_rng(3)
    a, b = rng.random(1000), rng.random(1000) * 10 - 5
    # The first runs in stages (a reduction, then the rest). sinh: fusenum's own float64 exp is now
    # nearly correctly rounded, as glibc's is, and the two agree on all these arguments.
    texts = ["sinh(b) + 0 * sum(a)", "sinh(b)"]
    previous = mathlib.set_mode("auto")
    try:
        names = {"a": a, "b": b}
        auto = [fusenum.evaluate(t, names) for t in texts]
        mathlib.set_mode("libm")
        libm = [fusenum.evaluate(t, names) for t in texts]
        with np.errstate(all="ignore"):
            assert not np.array_equal(auto[1], libm[1]), "the modes must differ for this test to mean anything"
        fusenum.clear_cache()
        np.testing.assert_array_equal(libm[0], fusenum.evaluate(texts[0], names))
        np.testing.assert_array_equal(libm[0], libm[1])
        mathlib.set_mode("auto")
        np.testing.assert_array_equal(fusenum.evaluate(texts[0], names), auto[0])
        np.testing.assert_array_equal(auto[0], auto[1])
        compiled = fusenum.cache_info().misses
        mathlib.set_mode("libm")
        np.testing.assert_array_equal(fusenum.evaluate(texts[0], names), libm[0])
        assert fusenum.cache_info().misses == compiled  # libm's kernels were kept beside auto's
    finally:
        mathlib.set_mode(previous)


def test_a_kernel_built_after_its_call_follows_the_settings_it_was_keyed_under(monkeypatch):
    """The optimized build makes its IR in the background, maybe after the mode has changed."""
    from fusenum.codegen import mathlib, modules, settings, target, variant
    from fusenum.runtime import kernels
    specs = []
    monkeypatch.setattr(variant, "kernel_module", lambda spec, t: specs.append(spec) or "")
    fusenum.explain("exp(b)", {"b": np.ones(10)}, llvm=True)
    here = target.current()
    previous = mathlib.set_mode("libm")
    try:
        libm = modules.kernel_module(specs[0], here)
    finally:
        mathlib.set_mode(previous)
    previous = mathlib.set_mode("auto")
    try:
        assert modules.kernel_module(specs[0], here) != libm, "the modes must differ for this test to mean anything"
        assert kernels.module_text(specs[0], here, False, (settings.simd, "libm")) == libm
    finally:
        mathlib.set_mode(previous)


def test_clear_cache_reaches_every_table():
    from fusenum.frontend import evaluation
    from fusenum.runtime import PLANS, staging
    a = np.ones(4)
    fusenum.evaluate("a - mean(a)")
    assert evaluation._parsed and PLANS and staging._stages and staging._final_plans
    fusenum.clear_cache()
    assert not (evaluation._parsed or PLANS or staging._stages or staging._final_plans)
    assert fusenum.cache_info()[:3] == (0, 0, 0)


def test_clear_cache_forgets_the_kernels_called_once_and_their_ir(cache_dir):
    # Each key of a kernel called once holds its expression's IR: they stayed after clear_cache().
    from fusenum.runtime import interpreter, tiering
    a = np.ones(4)
    previous = tiering.set_tiering("auto")
    try:
        fusenum.evaluate("a * 3.5 + a * a * 0.25")
        assert tiering._compiler.called_once  # (an empty cache directory: tier 0, no compile yet)
        fusenum.clear_cache()
        assert not (tiering._compiler.called_once or interpreter._programs or interpreter._needs_kernels)
    finally:
        tiering.set_tiering(previous)


class _SwitchingKey:
    """A key whose hash and equality let other threads run, as a Python-level ``__eq__`` does
    (the IR's nodes in a plan key)."""

    def __init__(self, number):
        self.number = number

    def __hash__(self):
        time.sleep(0)
        return self.number

    def __eq__(self, other):
        time.sleep(0)
        return self.number == other.number


def test_memo_tables_stay_whole_when_threads_fill_them_at_once():
    """Unlocked, the OrderedDict's order went out of step with its contents, and dropping the oldest
    entry raised KeyError (seen through four threads evaluating new expressions, plan cache full)."""
    table, failures = OrderedDict(), []

    def fill(seed):
        try:
            for i in range(1000):
                caches.remember(table, _SwitchingKey((seed * 7919 + i) % 50), i, 3)
        except Exception as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=fill, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(table) == 3
    for _ in range(3):  # an order out of step with the contents fails here (KeyError)
        caches.remember(table, _SwitchingKey(1000 + _), None, 2)
    caches.empty(table)
    assert not table
