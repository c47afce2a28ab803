"""SIMD targets: detection, FUSENUM_SIMD, set_simd, and that kernels really use that width."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fusenum
from fusenum.codegen import jit, target
from fusenum.codegen.modules import kernel_module
from fusenum.codegen.spec import Access, KernelSpec
from fusenum.ir import nodes


def test_available_levels_are_ordered_and_default_is_widest():
    levels = fusenum.available_simd()
    assert levels[0] == "scalar"
    assert levels == [lvl for lvl in target.WIDTHS if lvl in levels]
    if "FUSENUM_SIMD" not in os.environ:
        assert target._initial() == levels[-1]


def test_set_simd_round_trip_and_errors():
    previous = fusenum.set_simd("scalar")
    try:
        assert fusenum.get_simd() == "scalar"
    finally:
        assert fusenum.set_simd(previous) == "scalar"
    with pytest.raises(fusenum.TargetError, match="unknown SIMD level 'neon': choose one of scalar, sse2, avx2, avx512"):
        fusenum.set_simd("neon")


def test_level_the_cpu_lacks_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(target, "available", lambda: ["scalar", "sse2"])
    target.make_target.cache_clear()
    try:
        with pytest.raises(fusenum.TargetError,
                           match="SIMD level 'avx512' is not supported by this CPU \\(available: scalar, sse2\\)"):
            fusenum.set_simd("avx512")
    finally:
        target.make_target.cache_clear()


def _run_with_env(value: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, FUSENUM_SIMD=value)
    code = "import fusenum, numpy as np; a = np.arange(9.0); print(fusenum.get_simd(), fusenum.evaluate('a*2+1').sum())"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


@pytest.mark.parametrize("level", fusenum.available_simd())
def test_environment_variable_selects_the_level(level):
    done = _run_with_env(level)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [level, "81.0"]


def test_environment_variable_with_unknown_level_fails_clearly():
    done = _run_with_env("sse9")
    assert done.returncode != 0
    assert "TargetError: FUSENUM_SIMD='sse9': not a SIMD level (choose one of scalar, sse2" in done.stderr


def test_set_simd_takes_a_level_name_in_any_case_and_nothing_else():
    previous = fusenum.set_simd(" SSE2 ")  # read as FUSENUM_SIMD is
    try:
        assert fusenum.get_simd() == "sse2"
        fusenum.set_simd(np.str_("scalar"))  # (a str, as evaluate's casting= takes it)
        assert fusenum.get_simd() == "scalar" and type(fusenum.get_simd()) is str
    finally:
        fusenum.set_simd(previous)
    for value in (3, None, b"avx2"):
        with pytest.raises(fusenum.ArgumentTypeError, match="the SIMD level must be a str"):
            fusenum.set_simd(value)


@pytest.mark.skipif(not target.is_x86_64(), reason="/proc/cpuinfo's x86 flags decide only on x86-64")
def test_environment_variable_with_a_level_the_cpu_lacks_fails_at_import(monkeypatch):
    """Not at the first compile: interpreted calls would work until then."""
    monkeypatch.setenv("FUSENUM_SIMD", "avx2")
    monkeypatch.setattr(target, "_cpuinfo_flags", lambda: frozenset({"sse2", "avx2"}))
    with pytest.raises(fusenum.TargetError, match="FUSENUM_SIMD='avx2': this CPU does not support it "
                                                  r"\(/proc/cpuinfo lacks fma\)"):
        target._initial()
    monkeypatch.setattr(target, "_cpuinfo_flags", lambda: frozenset({"sse2", "avx2", "fma"}))
    assert target._initial() == "avx2"
    missing = [level for level in target.WIDTHS if level not in fusenum.available_simd()]
    if missing:  # the real thing, where this CPU lacks a level
        done = _run_with_env(missing[-1])
        assert done.returncode != 0 and "this CPU does not support it" in done.stderr


def _assembly(level: str) -> str:
    f8 = np.dtype(np.float64)
    a, b, c = (nodes.input_slot(k, f8) for k in range(3))
    root = nodes.make("add", (a, nodes.make("multiply", (b, c), f8)), f8)
    spec = KernelSpec(root, (Access("c"),) * 4, 1)
    return jit.assembly(kernel_module(spec, target.make_target(level)), target.make_target(level))


@pytest.mark.parametrize("level, register, wider", [
    ("avx512", "zmm", None), ("avx2", "ymm", "zmm"), ("sse2", "xmm", "ymm")])
def test_kernels_use_the_selected_vector_width(level, register, wider):
    if level not in fusenum.available_simd():
        pytest.skip(f"{level} not available")
    asm = _assembly(level)
    assert re.search(rf"mulpd\s.*%{register}", asm)
    if wider:
        assert f"%{wider}" not in asm


def test_scalar_level_emits_no_packed_arithmetic():
    asm = _assembly("scalar")
    assert "mulsd" in asm
    assert "mulpd" not in asm and "addpd" not in asm


def test_no_fused_multiply_add_so_results_are_bit_exact():
    for level in fusenum.available_simd():
        assert "fmadd" not in _assembly(level), level


def test_lanes_follow_the_widest_dtype():
    t = target.make_target("scalar")
    assert t.lanes(8) == 1
    if "avx512" in fusenum.available_simd():
        assert target.make_target("avx512").lanes(8) == 8
        assert target.make_target("avx512").lanes(1) == 64


def test_a_disk_cache_key_does_not_wait_for_another_threads_imports():
    # A background compile holds ``loading`` while it imports the code generator (~20 ms); a call
    # that only loads a kernel from the disk cache needs the key's identity text, and waited for it.
    import threading
    target.host_description()
    level = target.make_target(target.available()[0])
    target.identity.cache_clear()
    released = threading.Event()
    held = threading.Event()

    def hold_loading():
        with target.loading:
            held.set()
            released.wait(30)

    holder = threading.Thread(target=hold_loading)
    holder.start()
    held.wait(10)
    answer = []
    worker = threading.Thread(target=lambda: answer.append(target.identity(level)))
    worker.start()
    worker.join(10)
    finished = not worker.is_alive()
    released.set()
    holder.join()
    worker.join()
    assert finished, "identity() waited for the thread holding target.loading"
    assert answer and f"target {level!r}" in answer[0]


@pytest.mark.parametrize("level, register, wider", [("sse2", "xmm", "ymm"), ("avx2", "ymm", "zmm"),
                                                    ("avx512", "zmm", None)])
def test_a_generic_target_runs_anywhere_its_level_does_and_uses_its_width(level, register, wider):
    """The kernels shipped with the package are built for any CPU with a level's features: the
    baseline CPU and only those features, with the level's registers."""
    from fusenum.runtime import kernels, prebuilt
    made = target.generic_target(level)
    assert made.cpu == "x86-64" and made.name == level and made.vector_bits == target.WIDTHS[level]
    if level not in target.available():
        pytest.skip(f"this CPU has no {level}")
    spec = next(spec for spec in prebuilt.one_node_specs([np.float64]) if spec.root.op == "exp")
    assembly = jit.assembly(kernels.module_text(spec, made, False, (level, "auto"), machine=level), made)
    assert f"%{register}" in assembly and (wider is None or f"%{wider}" not in assembly)


def test_the_widest_level_here_is_the_same_with_or_without_llvm():
    assert target.widest_here() == target.available()[-1] == target._widest_without_llvm()


def test_the_interpreters_object_layout_is_in_the_disk_cache_key():
    """Kernels build the interpreter's object layout in: another interpreter (a free-threaded build)
    sharing a cache directory must not run them."""
    from fusenum.codegen.abi import PYTHON_LAYOUT
    assert f"python {PYTHON_LAYOUT}" in target.identity(target.current()).splitlines()
    assert f" tuple {tuple.__basicsize__} object {object.__basicsize__} " in f"{PYTHON_LAYOUT} "
