"""fusenum.prebuild and ``python -m fusenum prebuild``: tier 0's one-node kernels ahead of need."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fusenum
from fusenum.frontend.parser import parse
from fusenum.ir.typing import Builder
from fusenum.runtime import background, disk_cache, interpreter, kernels, tiering
from fusenum.runtime.prebuilt import one_node_specs

#: New expressions a process evaluates after a prebuild of float32, float64 and int64: each needs
#: one-node kernels (a transcendental function, fmax, clip, a constant or Python-number exponent, a
#: float-to-int cast, float32 math), and none may be compiled on the caller's behalf.
_NEW_EXPRESSIONS = """
import json, sys, numpy as np, fusenum
from fusenum.runtime import kernels, tiering
a = np.linspace(0.5, 3, 1000)
b = np.linspace(-2, 2, 1000)
f = a.astype(np.float32)
x = 0.75
k = np.float64(0.25)
texts = ["sin(a) * 2.0 + cos(b)", "fmax(a, b) - tanh(a)", "clip(a, 1.0, 2.0) * exp(b)", "a ** 2.5 + b",
         "arctan2(a, x) + log1p(a)", "sqrt(f) * sin(f)", "sin(k) * a + expm1(k)", "sum(a * b)", "max(sin(f))"]
for text in texts:
    fusenum.evaluate(text)
la = fusenum.lazy(a)
np.asarray((np.cos(la) * 1000).astype(np.int64))
import fusenum.numexpr as ne
ne.evaluate("b * exp(-x)")
print(json.dumps({"tier0_calls": kernels.stats.tier0_calls, "compiles": kernels.stats.compile_seconds,
                  "disk_hits": kernels.stats.disk_hits, "calls": len(texts) + 2}))
"""


def _run(code_or_args: list[str], cache: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *code_or_args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "FUSENUM_TIERING": "auto", "FUSENUM_CACHE_DIR": cache, **env})


def _new_process(cache: str) -> dict:
    result = _run(["-c", _NEW_EXPRESSIONS], cache)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_after_a_prebuild_a_new_process_interprets_new_expressions_compiling_nothing(tmp_path):
    built = _run(["-m", "fusenum", "prebuild", "--dtypes", "float32,float64,int64"], str(tmp_path))
    assert built.returncode == 0, built.stderr
    assert f"one-node kernels for {fusenum.get_simd()}:" in built.stdout and ", 0 already there" in built.stdout
    figures = _new_process(str(tmp_path))
    assert figures["tier0_calls"] == figures["calls"]
    assert figures["compiles"] == 0 and figures["disk_hits"] > 0


def test_after_a_prebuild_whole_and_axis_reductions_compile_nothing(private_disk_cache, monkeypatch):
    """Tier 0's reductions of whole arrays, rows and columns find their one-node kernels on disk."""
    fusenum.prebuild(dtypes=["float64"])
    fusenum.clear_cache()
    compiles = []
    real = kernels.jit.compile_object
    monkeypatch.setattr(kernels.jit, "compile_object", lambda *args, **kw: compiles.append(1) or real(*args, **kw))
    a, b = np.linspace(0.5, 2, 3000), np.linspace(-1, 1, 6000).reshape(60, 100)
    previous = fusenum.set_tiering("auto")
    try:
        before = kernels.stats.tier0_calls
        for text in ["sum(a * a)", "a - mean(a)", "nanmax(sin(a))", "sum(b, axis=1)", "b - mean(b, axis=0)",
                     "prod(b / 2, axis=-1)", "sum(cos(b), axis=0)"]:
            fusenum.evaluate(text)
        # 7 reductions and 2 elementwise passes after them, but a plain array's sum and means are
        # served by their fused kernel: it is the one-node kernel the prebuild made
        assert kernels.stats.tier0_calls - before == 6
        assert compiles == []
    finally:
        fusenum.set_tiering(previous)
        from fusenum.runtime import tiering
        assert tiering.wait_for_compiles(120)


def test_without_a_prebuild_the_same_calls_compile(tmp_path):
    """The other side of the test above: on an empty cache the same calls compile one-node kernels
    on the caller (the prebuild is what made the difference)."""
    assert _new_process(str(tmp_path))["compiles"] > 0


@pytest.fixture
def private_disk_cache(tmp_path):
    # Compiles an earlier test on this process queued would store their kernels in this directory.
    assert tiering.wait_for_compiles(120) and background.wait(120)
    previous = fusenum.set_disk_cache(True, str(tmp_path), disk_cache.DEFAULT_MAX_BYTES)
    fusenum.clear_cache()
    yield tmp_path
    fusenum.clear_cache()
    fusenum.set_disk_cache(*previous)


def test_a_second_prebuild_finds_everything_and_kernels_give_the_interpreters_bits(private_disk_cache):
    first = fusenum.prebuild(dtypes=["float64"], threads=2)
    assert first.simd == (fusenum.get_simd(),) and first.directory == str(private_disk_cache)
    assert first.compiled == first.kernels == len(one_node_specs([np.float64])) > 20
    fusenum.clear_cache()
    again = fusenum.prebuild(dtypes=[np.float64], threads=1)
    assert (again.kernels, again.compiled, again.found) == (first.kernels, 0, first.kernels)
    a = np.linspace(-3, 3, 5000)
    results = {}
    for tier in ("always", "never"):  # the prebuilt kernels interpreting, then the fused kernel
        previous = fusenum.set_tiering(tier)
        try:
            results[tier] = fusenum.evaluate("sin(a) ** 2.5 + fmax(a, 0.25) * arctan2(a, 2.0)")
        finally:
            fusenum.set_tiering(previous)
    assert results["always"].tobytes() == results["never"].tobytes()


def test_a_prebuild_for_another_simd_level_is_found_there(private_disk_cache):
    other = fusenum.available_simd()[0]  # scalar: never the widest, which the suite runs at by default
    assert fusenum.prebuild(dtypes="float32", simd=[other, other]).simd == (other,)
    spec = interpreter.node_spec(_root("tanh(a)", (np.float32,)))
    previous = fusenum.set_simd(other)
    try:
        assert kernels.cached(spec) is None and kernels.available(spec).origin == "disk"
    finally:
        fusenum.set_simd(previous)


def test_every_dtype_is_covered_by_default():
    """On every supported NumPy: some complex functions are not implemented where NumPy's results
    are not the C library's (NumPy 2.0-2.2), which the enumeration skips."""
    kinds = {spec.root.dtype.kind for spec in one_node_specs()}
    assert kinds >= {"b", "i", "u", "f", "c"}


def _root(text: str, dtypes: tuple):
    """The typed IR of ``text`` over arrays of ``dtypes`` (one per name, in the order they appear)."""
    parsed, builder = parse(text), Builder()
    operands = [builder.array(name, np.dtype(dtype), zero_d=False) for name, dtype in zip(parsed.names, dtypes)]
    return builder.finish(parsed.build(builder, operands))[0]


def test_one_node_specs_are_what_the_interpreter_asks_for():
    """Every one-node kernel interpreting an expression over the covered dtypes needs is among them."""
    covered = set(one_node_specs([np.float32, np.float64, np.int64]))
    for text, dtypes in [("sin(a) + cos(b) * 2.0", (np.float64, np.float64)), ("a ** b", (np.float32, np.float32)),
                         ("fmin(a, 0.5) + expm1(b)", (np.float32, np.float64)), ("clip(a, b, 1.0)", (np.int64,) * 2),
                         ("logaddexp(a, b)", (np.float64, np.float32)), ("hypot(2.0, b)", (np.float64,) * 2)]:
        root = _root(text, dtypes)
        for uniform in (frozenset(), frozenset({0}), frozenset({1}), frozenset({0, 1})):  # 0-d or broadcast operands
            needed = interpreter.kernel_specs(root, uniform)
            assert needed and set(needed) <= covered, (text, uniform)


def test_prebuild_needs_the_disk_cache():
    previous = fusenum.set_disk_cache(enabled=False)
    try:
        with pytest.raises(fusenum.ConfigurationError, match="prebuild stores kernels in the disk cache, which is off"):
            fusenum.prebuild(dtypes=["float64"])
    finally:
        fusenum.set_disk_cache(*previous)


@pytest.mark.parametrize("arguments, error, message", [
    ({"dtypes": ["S4"]}, fusenum.UnsupportedDTypeError, "prebuild covers no bytes dtype"),
    ({"dtypes": ["object"]}, fusenum.UnsupportedDTypeError, r"prebuild\(dtypes=...\) has dtype object"),
    ({"threads": 0}, fusenum.ConfigurationError, "prebuild threads must be a positive int, not 0"),
    ({"dtypes": []}, fusenum.ConfigurationError, "prebuild needs at least one dtype"),
    ({"simd": []}, fusenum.ConfigurationError, "prebuild needs at least one SIMD level"),
    ({"simd": "avx1024"}, fusenum.TargetError, "unknown SIMD level .avx1024."),
    ({"dtypes": "foo"}, fusenum.ArgumentTypeError, "'foo' is not a dtype .data type 'foo' not understood., in prebuild"),
    ({"dtypes": 5}, fusenum.ArgumentTypeError, "prebuild's dtypes must be a dtype or a list of dtypes, not int"),
    ({"dtypes": [{"a": 1}]}, fusenum.ArgumentTypeError, "is not a dtype"),
    ({"dtypes": [None]}, fusenum.ArgumentTypeError, "prebuild's dtypes may not hold None"),
    ({"simd": 3}, fusenum.ArgumentTypeError, "prebuild's simd must be a SIMD level, a list of them or 'all', not 3"),
    ({"simd": ["avx2", 3]}, fusenum.ArgumentTypeError, "prebuild's simd must be a SIMD level"),
    ({"threads": "4"}, fusenum.ArgumentTypeError, "prebuild threads must be a positive int, not '4'"),
])
def test_prebuild_checks_its_arguments(private_disk_cache, arguments, error, message):
    with pytest.raises(error, match=message):
        fusenum.prebuild(**arguments)


def test_the_command_reports_bad_input_and_usage(tmp_path):
    bad = _run(["-m", "fusenum", "prebuild", "--dtypes", "float64,flot"], str(tmp_path))
    assert bad.returncode == 1 and "python -m fusenum prebuild: 'flot' is not a dtype (data type 'flot' not " \
        "understood), in prebuild's dtypes" in bad.stderr
    off = _run(["-m", "fusenum", "prebuild"], str(tmp_path), FUSENUM_CACHE="off")
    assert off.returncode == 1 and "which is off or unusable" in off.stderr
    usage = _run(["-m", "fusenum"], str(tmp_path))
    assert usage.returncode == 2 and "prebuild" in usage.stderr
    for command in (["prebuild", "--threads", "0"], ["prebuild", "--threads", "x"], ["ship", "--threads", "-1"]):
        count = _run(["-m", "fusenum", *command], str(tmp_path))
        assert count.returncode == 2 and "argument --threads: a positive integer, not" in count.stderr
    mixed = _run(["-m", "fusenum", "prebuild", "--simd", "all", "--simd", "bogus"], str(tmp_path))
    assert mixed.returncode == 2
    assert "--simd all builds every level: no other level goes with it" in mixed.stderr


def test_simd_levels_are_read_as_set_simd_reads_them():
    from fusenum.runtime import prebuilt
    assert prebuilt._levels(" SSE2 ") == ("sse2",) and prebuilt._levels({"sse2"}) == ("sse2",)
    assert prebuilt._levels(level for level in ["Scalar", "sse2"]) == ("scalar", "sse2")
    assert prebuilt._levels("ALL") == tuple(fusenum.available_simd())


def test_a_bound_that_evicts_prebuilt_kernels_is_an_error(tmp_path):
    # (they would last only as long as the process: the command said "compiled" and left 73 of 150)
    bounded = _run(["-m", "fusenum", "prebuild", "--dtypes", "float64"], str(tmp_path),
                   FUSENUM_CACHE_MAX_BYTES="200000")
    assert bounded.returncode == 1, bounded.stdout
    assert re.search(r"kept only \d+ of the \d+ prebuilt kernels: its bound, 200,000 bytes, evicted the others",
                     bounded.stderr), bounded.stderr
    enough = _run(["-m", "fusenum", "prebuild", "--dtypes", "float64"], str(tmp_path))
    assert enough.returncode == 0 and "compiled" in enough.stdout, enough.stderr
