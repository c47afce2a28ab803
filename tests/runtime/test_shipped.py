"""Kernels shipped with the package (fusenum.runtime.shipped, .shipping): built for any CPU of a SIMD
level, they serve tier 0 with exactly the bits of kernels compiled here, without LLVM, and are left
alone wherever they might not."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fusenum
from fusenum.codegen import settings
from fusenum.codegen.target import widest_here
from fusenum.errors import ConfigurationError
from fusenum.ir.ops import OPS
from fusenum.runtime import first_use, kernels, shipped, shipping, tiering

LEVEL = widest_here()
#: The transcendental functions (a ULP bound) of one or two float arguments: each runs a one-node kernel in tier 0.
FUNCTIONS = [op for op in OPS.values() if op.ulp and op.arity in (1, 2) and op.ufunc is not None
             and {"f"} <= set(op.rules) and op.names]


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """Archives of float32 and float64 kernels for this machine's widest level."""
    if LEVEL not in shipping.levels_to_ship():
        pytest.skip(f"no kernels are shipped for {LEVEL}")
    directory = tmp_path_factory.mktemp("shipped")
    written = shipping.ship(str(directory), [LEVEL], dtypes=["float32", "float64"])
    assert [done.level for done in written] == [LEVEL] and written[0].kernels > 100
    return directory


@pytest.fixture
def serving(archives, monkeypatch, cache_dir):
    """Shipped kernels from :func:`archives` in use, at their level, with empty caches."""
    monkeypatch.setattr(shipped, "DIRECTORY", str(archives))
    monkeypatch.setenv("FUSENUM_SHIPPED_KERNELS", "on")
    shipped.forget()
    previous = fusenum.set_simd(LEVEL)
    yield archives
    fusenum.set_simd(previous)
    shipped.forget()


def _values(dtype) -> np.ndarray:
    rng = np.random.default_rng(7)
    special = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-30, -1e-30, 700.0, -700.0, 1e30, np.inf, -np.inf, np.nan, 3.0, 1e4]
    return np.concatenate([np.array(special), rng.normal(0, 3, 2000), rng.uniform(-1, 1, 1000)]).astype(dtype)


def _call(op, dtype) -> np.ndarray:
    a = _values(dtype)
    b = np.roll(a, 5)
    names = {"a": a, "b": b}
    text = f"{op.names[0]}(a)" if op.arity == 1 else f"{op.names[0]}(a, b)"
    with np.errstate(all="ignore"):
        return fusenum.evaluate(text, names)


def _same_bits(x: np.ndarray, y: np.ndarray) -> bool:
    return x.dtype == y.dtype and x.tobytes() == y.tobytes()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", FUNCTIONS, ids=lambda op: op.name)
def test_a_shipped_kernel_gives_the_bits_of_the_kernel_compiled_here(serving, op, dtype):
    previous = fusenum.set_tiering("always")
    try:
        interpreted = _call(op, dtype)
        info = kernels.cache_info()
        assert info.shipped_hits >= 1 and info.compile_seconds == 0, info
    finally:
        fusenum.set_tiering("never")
    try:
        compiled = _call(op, dtype)  # the fused kernel, compiled for this host's CPU
    finally:
        fusenum.set_tiering(previous)
    assert _same_bits(interpreted, compiled), op.name


_FRESH_PROCESS = """
import json, sys, numpy as np, fusenum
from fusenum.codegen import target
from fusenum.runtime import kernels, shipped
shipped.DIRECTORY = sys.argv[1]
a = np.linspace(0.5, 3, 5000)
b = np.linspace(-2, 2, 5000)
f = a.astype(np.float32)
results = [fusenum.evaluate(text) for text in ("sin(a) ** 2 + cos(b)", "exp(a) * log1p(a)", "tanh(f) - f",
                                                "arctan2(a, b)")]
from fusenum.runtime import threads
pool = threads._load_native_pool()  # (big calls run their kernels on it: shipped too)
print(json.dumps({"llvm": target.llvm_ready(), "host_described": target.host_described(),
                  "info": kernels.cache_info()._asdict(), "pool": pool is not None}))
"""


def test_a_fresh_process_interprets_new_expressions_without_loading_llvm(archives, tmp_path):
    cache = tmp_path / "cache"
    done = subprocess.run([sys.executable, "-c", _FRESH_PROCESS, str(archives)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "FUSENUM_CACHE_DIR": str(cache), "FUSENUM_TIERING": "always",
                                            "FUSENUM_SHIPPED_KERNELS": "on", "FUSENUM_SIMD": LEVEL})
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["info"]["tier0_calls"] == 4 and figures["info"]["shipped_hits"] >= 6
    assert figures["info"]["compile_seconds"] == 0
    assert not figures["llvm"] and not figures["host_described"] and figures["pool"]


def test_a_shipped_kernel_is_no_first_use(serving, monkeypatch):
    monkeypatch.setattr(first_use, "_missing", set())
    previous = fusenum.set_tiering("always")
    try:
        _call(OPS["sin"], "float64")
    finally:
        fusenum.set_tiering(previous)
    assert kernels.cache_info().shipped_hits >= 1
    assert not first_use._missing


def test_a_shipped_kernel_is_kept_in_memory_as_optimized_code(serving):
    previous = fusenum.set_tiering("always")
    try:
        _call(OPS["cos"], "float64")
        spec = next(key[0] for key, made in kernels._kernels.items() if made.origin == "shipped")
    finally:
        fusenum.set_tiering(previous)
    made = kernels.kernel(spec)
    assert made.origin == "shipped" and made.build == "optimized"


def _archive():
    return shipped.archive(settings.key)


def test_the_archive_serves_only_its_own_level_on_a_machine_whose_widest_it_is(serving, monkeypatch):
    assert _archive() is not None
    shipped.forget()
    monkeypatch.setattr(shipped, "widest_here", lambda: "sse2" if LEVEL != "sse2" else "avx2")
    assert _archive() is None  # libmvec's variant would be another machine's
    shipped.forget()
    assert shipped.archive(("sse2" if LEVEL != "sse2" else "avx2", "auto")) is None


def test_other_vector_math_modes_and_the_switch_leave_archives_alone(serving, monkeypatch):
    assert shipped.archive((LEVEL, "builtin")) is None and shipped.archive((LEVEL, "libm")) is None
    monkeypatch.setenv("FUSENUM_SHIPPED_KERNELS", "off")
    assert _archive() is None
    monkeypatch.setenv("FUSENUM_SHIPPED_KERNELS", "maybe")
    with pytest.raises(ConfigurationError, match="FUSENUM_SHIPPED_KERNELS"):
        _archive()


def test_an_archive_of_another_build_is_not_used(serving, monkeypatch):
    monkeypatch.setattr(shipped, "__version__", "0.0.0-other")
    shipped.forget()
    assert _archive() is None
    monkeypatch.undo()
    monkeypatch.setattr(shipped, "DIRECTORY", str(serving))
    monkeypatch.setenv("FUSENUM_SHIPPED_KERNELS", "on")
    monkeypatch.setattr(shipped, "llvmlite_version", lambda: "0.0.0")
    shipped.forget()
    assert _archive() is None


def test_an_archive_older_than_the_code_is_not_used(serving, tmp_path):
    path = shipped.archive_path(LEVEL, str(serving))
    copy = tmp_path / os.path.basename(path)
    copy.write_bytes(open(path, "rb").read())
    newest = max(mtime for _, _, mtime in shipped._sources())
    os.utime(copy, ns=(newest, newest - int(shipped.SOURCE_SLACK_SECONDS * 1e9) - 10**9))
    assert shipped.archive(settings.key, str(tmp_path)) is None
    os.utime(copy, ns=(newest, newest))
    shipped.forget()
    assert shipped.archive(settings.key, str(tmp_path)) is not None


def _damaged_copy(serving, tmp_path, change) -> str:
    data = bytearray(open(shipped.archive_path(LEVEL, str(serving)), "rb").read())
    change(data)
    (tmp_path / f"{LEVEL}.kernels").write_bytes(bytes(data))
    shipped.forget()
    return str(tmp_path)


@pytest.mark.parametrize("change", [
    lambda data: data.__setitem__(slice(0, 4), b"nope"),       # not an archive
    lambda data: data.__delitem__(slice(len(data) // 3, None)),  # truncated
    lambda data: data.__delitem__(slice(0, None)),                # empty
    lambda data: data.__setitem__(slice(shipped.HEAD.size, shipped.HEAD.size + 1), b"["),  # metadata damaged
], ids=["magic", "truncated", "empty", "metadata"])
def test_a_damaged_archive_is_not_used(serving, tmp_path, change):
    assert shipped.archive(settings.key, _damaged_copy(serving, tmp_path, change)) is None


def test_a_damaged_entry_is_compiled_instead_with_the_same_bits(serving, monkeypatch, tmp_path):
    previous = fusenum.set_tiering("always")
    try:
        expected = _call(OPS["sin"], "float64")
    finally:
        fusenum.set_tiering(previous)
    fusenum.clear_cache()

    def flip_every_code_byte_once(data):  # the last byte of every entry's object code
        archive = shipped.archive(settings.key, str(serving))
        for at in range(archive.count):
            *_, code_at, code_size, _ = shipped.ENTRY.unpack_from(archive.data, archive.index + at * shipped.ENTRY.size)
            data[code_at + code_size - 1] ^= 0xFF
    monkeypatch.setattr(shipped, "DIRECTORY", _damaged_copy(serving, tmp_path, flip_every_code_byte_once))
    assert _archive() is not None  # (whole but for its entries' code)
    previous = fusenum.set_tiering("always")
    try:
        got = _call(OPS["sin"], "float64")
    finally:
        fusenum.set_tiering(previous)
    info = kernels.cache_info()
    assert info.shipped_hits == 0 and info.compile_seconds > 0
    assert _same_bits(got, expected)


def test_ship_refuses_levels_it_does_not_ship():
    with pytest.raises(ConfigurationError, match="not 'scalar'"):
        shipping.ship("/nonexistent", ["scalar"])
    with pytest.raises(ConfigurationError, match="not 'avx1024'"):
        shipping.ship("/nonexistent", ["avx1024"])


def test_the_command_says_what_is_wrong(tmp_path):
    done = subprocess.run([sys.executable, "-m", "fusenum", "ship", "--into", str(tmp_path), "--simd", "scalar"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "python -m fusenum ship:" in done.stderr and "scalar" in done.stderr
    assert not list(tmp_path.iterdir())


def test_writing_an_archive_leaves_no_temporary_file_and_replaces_the_old_one(tmp_path):
    path = str(tmp_path / "sse2.kernels")
    shipped.write(path, "sse2", {"one": b"\x01\x02", "two": b"\x03"})
    shipped.write(path, "sse2", {"three": b"\x04"})
    assert os.listdir(tmp_path) == ["sse2.kernels"]
    meta_length = shipped.HEAD.unpack_from(open(path, "rb").read())[2]
    assert shipped.HEAD.unpack_from(open(path, "rb").read())[3] == os.path.getsize(path)
    assert json.loads(open(path, "rb").read()[shipped.HEAD.size:shipped.HEAD.size + meta_length])["kernels"] == 1


def test_once_llvm_is_up_a_new_expression_is_still_interpreted_with_shipped_kernels(serving):
    """Tier 0 counts a shipped one-node kernel as at hand, as one in the disk cache: a call does not
    wait for its fused kernel because the compiler is loaded and the kernel is not on disk."""
    kernels.load_compiler()
    previous = fusenum.set_tiering("auto")
    try:
        a = _values("float64")
        with np.errstate(all="ignore"):
            got = fusenum.evaluate("tanh(a) * 2 + expm1(a)", {"a": a})
        info = kernels.cache_info()
        assert info.tier0_calls == 1 and info.shipped_hits >= 2 and info.compile_seconds == 0, info
    finally:
        fusenum.set_tiering(previous)
        tiering.wait_for_compiles(120)
    with np.errstate(all="ignore"):
        assert _same_bits(got, fusenum.evaluate("tanh(a) * 2 + expm1(a)", {"a": a}))
