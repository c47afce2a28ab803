"""After a machine's first use, the exit helper prebuilds tier 0's one-node kernels (fusenum.runtime.first_use)."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import fusenum
from fusenum.codegen import settings
from fusenum.runtime import disk_cache, exit_compiles, exit_helper, first_use, interpreter, kernels, prebuilt, tiering
from tests.runtime.test_exit_compiles import _run_helper


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """A new disk-cache directory, nothing in memory, nothing noted, the helper and the prebuild on."""
    monkeypatch.setenv("FUSENUM_COMPILE_AFTER_EXIT", "on")
    monkeypatch.setenv("FUSENUM_PREBUILD_AFTER_EXIT", "on")
    monkeypatch.setattr(first_use, "_missing", set())
    previous = fusenum.set_disk_cache(True, tmp_path)
    fusenum.clear_cache()
    yield tmp_path
    fusenum.set_disk_cache(*previous)
    fusenum.clear_cache()


def _one_node(name: str, dtype: str):
    return interpreter.node_spec(prebuilt._typed(name, np.dtype(dtype), 1))


def test_a_one_node_kernel_compiled_for_tier0_notes_its_settings(own_cache):
    spec = _one_node("sin", "float64")
    first_use.one_node(spec)  # neither in memory nor on disk: compiled
    assert first_use._missing == {settings.key}
    first_use._missing.clear()
    fusenum.clear_cache()
    first_use.one_node(spec)  # from the disk cache
    first_use.one_node(spec)  # from memory
    assert not first_use._missing


def test_tier0_asks_for_its_one_node_kernels_this_way(own_cache):
    previous = fusenum.set_tiering("always")
    try:
        a = np.linspace(0.5, 2.0, 1000)
        np.testing.assert_allclose(fusenum.evaluate("exp(a) * 2"), np.exp(a) * 2, rtol=1e-14)
    finally:
        fusenum.set_tiering(previous)
    assert first_use._missing == {settings.key}


def test_a_call_that_waits_for_its_kernel_for_want_of_one_node_kernels_notes_its_settings(own_cache):
    previous = fusenum.set_tiering("auto")
    kernels.load_compiler()  # (LLVM up: the call waits for its fused kernel rather than interpret)
    try:
        a = np.linspace(0.5, 2.0, 1000, dtype=np.float32)
        np.testing.assert_allclose(fusenum.evaluate("arcsinh(a) * 2"), np.arcsinh(a) * 2, rtol=1e-6)
        assert fusenum.cache_info().tier0_calls == 0
        assert first_use._missing == {settings.key}
    finally:
        tiering.wait_for_compiles(120)  # (the one-node kernels it queued)
        fusenum.set_tiering(previous)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
def test_a_forked_child_starts_with_nothing_noted(own_cache):
    first_use.note_missing(settings.key)
    pid = os.fork()
    if pid == 0:  # (its own first use is its own exit's business)
        os._exit(0 if not first_use._missing else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert first_use._missing == {settings.key}


def test_prebuilding_is_wanted_until_its_marker_is_on_disk(own_cache, monkeypatch):
    key = settings.key
    assert first_use.wanted() == []  # nothing noted
    first_use.note_missing(key)
    assert first_use.wanted() == [key]
    first_use.mark_done(key)
    assert first_use.done(key) and first_use.wanted() == []
    fusenum.clear_disk_cache()  # the marker goes with the kernels
    assert not first_use.done(key) and first_use.wanted() == [key]
    monkeypatch.setenv("FUSENUM_PREBUILD_AFTER_EXIT", "off")
    assert first_use.wanted() == []
    monkeypatch.setenv("FUSENUM_PREBUILD_AFTER_EXIT", "on")
    monkeypatch.setenv("FUSENUM_COMPILE_AFTER_EXIT", "off")  # no helper, so no prebuild either
    assert first_use.wanted() == []


def test_at_exit_the_marker_is_looked_for_only_where_the_host_is_described(own_cache, monkeypatch):
    # (its key names the host, which LLVM would have to describe: no LLVM at exit; the helper looks)
    key = settings.key
    first_use.note_missing(key)
    first_use.mark_done(key)
    monkeypatch.setattr(first_use, "host_described", lambda: False)
    monkeypatch.setattr(first_use, "done", lambda settings_key: pytest.fail("the marker was looked for"))
    assert first_use.wanted() == [key]


def test_nothing_is_wanted_without_a_usable_disk_cache(own_cache):
    first_use.note_missing(settings.key)
    previous = fusenum.set_disk_cache(enabled=False)
    try:
        assert first_use.wanted() == []
    finally:
        fusenum.set_disk_cache(*previous)


def test_nothing_is_wanted_where_the_disk_cache_is_bounded_small(own_cache):
    first_use.note_missing(settings.key)
    fusenum.set_disk_cache(True, own_cache, max_bytes=first_use.MIN_CACHE_BYTES)
    assert first_use.wanted() == [settings.key]
    fusenum.set_disk_cache(True, own_cache, max_bytes=first_use.MIN_CACHE_BYTES - 1)
    assert first_use.wanted() == []


def test_a_marker_that_cannot_be_looked_for_at_exit_leaves_it_to_the_helper(own_cache, monkeypatch):
    def refused(settings_key):
        raise fusenum.TargetError("SIMD level 'avx512' is not supported")
    monkeypatch.setattr(first_use, "done", refused)
    monkeypatch.setattr(first_use, "host_described", lambda: True)  # (else the marker is not looked for)
    first_use.note_missing(settings.key)
    assert first_use.wanted() == [settings.key]  # (no traceback at exit)


def test_no_traceback_at_exit_from_a_disk_cache_refused_meanwhile(own_cache, monkeypatch):
    first_use.note_missing(settings.key)

    def refused():
        raise fusenum.DiskCacheWarning("fusenum: the disk cache directory ... is refused")  # (-W error)
    monkeypatch.setattr(disk_cache, "usable", refused)
    assert first_use.wanted() == []


def _counts(get, spec) -> tuple:
    """What ``get(spec)`` adds to cache_info's hits, misses, disk hits and disk misses."""
    before = fusenum.cache_info()
    get(spec)
    after = fusenum.cache_info()
    return tuple(after[k] - before[k] for k in (0, 1, 3, 4))


@pytest.mark.parametrize("where", ["nowhere", "on disk", "in memory"])
def test_one_node_counts_as_kernel_does(own_cache, where):
    spec = _one_node("sin", "float64")
    counted = []
    for get in (kernels.kernel, first_use.one_node):
        fusenum.clear_disk_cache()
        fusenum.clear_cache()
        if where != "nowhere":
            kernels.kernel(spec)
        if where == "on disk":
            fusenum.clear_cache()
        counted.append(_counts(get, spec))
    assert counted[0] == counted[1]


def test_a_kernel_that_came_from_disk_after_all_is_not_noted(own_cache, monkeypatch):
    spec = _one_node("sin", "float64")
    kernels.kernel(spec)
    fusenum.clear_cache()
    monkeypatch.setattr(kernels, "available", lambda *arguments: None)  # (as before the host is described)
    assert first_use.one_node(spec).origin == "disk"
    assert not first_use._missing


def _few_specs(monkeypatch, specs):
    monkeypatch.setattr(prebuilt, "one_node_specs", lambda dtypes=prebuilt.DTYPES: list(specs))


def _on_disk(spec) -> bool:
    fusenum.clear_cache()
    return kernels.available(spec) is not None


def test_the_helpers_prebuild_stores_every_kernel_then_its_marker(own_cache, monkeypatch):
    specs = [_one_node("sin", "float64"), _one_node("exp", "float32")]
    _few_specs(monkeypatch, specs)
    prebuilt.prebuild_after_exit([settings.key], time.monotonic() + 300, str(own_cache))
    assert all(_on_disk(spec) for spec in specs)
    assert first_use.done(settings.key)


def test_a_prebuild_out_of_time_writes_no_marker(own_cache, monkeypatch):
    spec = _one_node("sin", "float64")
    _few_specs(monkeypatch, [spec])
    prebuilt.prebuild_after_exit([settings.key], time.monotonic() - 1, str(own_cache))
    assert not _on_disk(spec) and not first_use.done(settings.key)


def test_a_kernel_that_fails_leaves_the_others_stored_and_no_marker(own_cache, monkeypatch):
    failing, fine = _one_node("sin", "float64"), _one_node("cos", "float64")
    _few_specs(monkeypatch, [failing, fine])
    store = kernels.store_on_disk

    def store_but_one(spec, settings_key):
        if spec == failing:
            raise RuntimeError("this compile fails")
        return store(spec, settings_key)
    monkeypatch.setattr(kernels, "store_on_disk", store_but_one)
    prebuilt.prebuild_after_exit([settings.key], time.monotonic() + 300, str(own_cache))
    assert _on_disk(fine) and not _on_disk(failing)
    assert not first_use.done(settings.key)


def test_a_prebuild_whose_kernels_were_evicted_meanwhile_writes_no_marker(own_cache, monkeypatch):
    specs = [_one_node(name, "float64") for name in ("sin", "cos", "tan")]
    _few_specs(monkeypatch, specs)
    fusenum.set_disk_cache(True, own_cache, max_bytes=1000)  # (room for one: ~640 bytes each)
    prebuilt.prebuild_after_exit([settings.key], time.monotonic() + 300, str(own_cache))
    assert not all(_on_disk(spec) for spec in specs)
    assert not first_use.done(settings.key)


def test_the_helpers_prebuild_skips_settings_it_cannot_build_for(own_cache, monkeypatch):
    _few_specs(monkeypatch, [_one_node("sin", "float64")])

    def refused(settings_key):
        raise fusenum.TargetError("SIMD level 'avx512' is not supported")
    monkeypatch.setattr(first_use, "done", refused)
    monkeypatch.setattr(kernels, "store_on_disk", lambda *arguments: pytest.fail("compiled for it"))
    prebuilt.prebuild_after_exit([settings.key], time.monotonic() + 300, str(own_cache))


def test_the_helpers_prebuild_stops_when_the_disk_cache_stops_taking_entries(own_cache, monkeypatch):
    import errno
    specs = [_one_node(name, "float64") for name in ("sin", "cos", "tan", "exp", "log")]
    _few_specs(monkeypatch, specs)
    compiled, write = [], disk_cache._write

    def full_after_one(path, data):
        if compiled[1:]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(path, data)
    store = kernels.store_on_disk
    monkeypatch.setattr(disk_cache, "_write", full_after_one)
    monkeypatch.setattr(kernels, "store_on_disk", lambda *arguments: compiled.append(1) or store(*arguments))
    with pytest.warns(fusenum.DiskCacheWarning):
        prebuilt.prebuild_after_exit([settings.key], time.monotonic() + 300, str(own_cache))
    assert len(compiled) == 2 and not first_use.done(settings.key)


def test_the_helper_prebuilds_what_it_is_handed(own_cache, monkeypatch):
    import io
    import pickle
    import types
    spec = _one_node("tanh", "float64")
    _few_specs(monkeypatch, [spec])
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(pickle.dumps(([], [settings.key])))))
    monkeypatch.setattr(disk_cache, "use_existing_only", lambda: None)  # (this is not the helper's process)
    exit_helper.compile_handed_over(str(own_cache))
    assert _on_disk(spec) and first_use.done(settings.key)


# A process that interprets a transcendental function for the first time on this cache directory,
# and prints what its exit hands to the helper instead of starting it.
_FIRST_USE = """
import sys, numpy as np, fusenum
from fusenum.codegen import settings
from fusenum.runtime import exit_compiles, first_use
if sys.argv[1] == "marked":
    first_use.mark_done(settings.key)
exit_compiles._spawn = lambda keys, prebuild, cache: print("prebuild", prebuild == [settings.key], len(keys)) or 1
a = np.linspace(0.5, 2.0, 1000)
fusenum.evaluate("sin(a) * 2")
"""


@pytest.mark.parametrize("condition, handed", [("new", "prebuild True"), ("marked", "prebuild False"),
                                               ("off", "prebuild False")])
def test_the_exit_hands_the_prebuild_over_after_a_first_use(tmp_path, condition, handed):
    env = {**os.environ, "FUSENUM_CACHE_DIR": str(tmp_path), "FUSENUM_TIERING": "auto",
           "FUSENUM_COMPILE_AFTER_EXIT": "on", "FUSENUM_PREBUILD_AFTER_EXIT": "off" if condition == "off" else "on"}
    done = subprocess.run([sys.executable, "-c", _FIRST_USE, condition], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(handed)


def _kernels_and_markers(directory) -> list[str]:
    """The entries in ``directory`` but typed plans: this process's background compiler, finishing a
    compile an earlier test queued, writes the typed plans not written yet to the directory in use."""
    return sorted(name for name in os.listdir(directory) if not name.endswith(disk_cache.PLAN_SUFFIX))


def test_the_helper_reads_the_prebuild_it_is_handed(own_cache):
    first_use.mark_done(settings.key)  # done already: the helper checks, and compiles nothing
    before = _kernels_and_markers(own_cache)
    done = _run_helper(own_cache, own_cache, [], [settings.key])
    assert done.returncode == 0, done.stderr
    assert _kernels_and_markers(own_cache) == before
    assert exit_compiles.wait_for_helpers(str(own_cache), timeout=0)
