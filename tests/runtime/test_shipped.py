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
from fusenum.codegen import pool_abi, settings
from fusenum.codegen.target import widest_here
from fusenum.errors import ConfigurationError
from fusenum.ir.ops import OPS
from fusenum.runtime import disk_cache, first_use, kernels, prebuilt, shipped, shipping, tiering
from tests.runtime.test_prefetch import _FILL as FILL, _run as run_python

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
                                                "arctan2(a, b)", "max(sin(a))", "min(exp(a) * 2)")]
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
    assert figures["info"]["tier0_calls"] == 6 and figures["info"]["shipped_hits"] >= 8
    assert figures["info"]["compile_seconds"] == 0
    assert not figures["llvm"] and not figures["host_described"] and figures["pool"]


_BIG_CALLS = """
import json, sys, numpy as np, fusenum
from fusenum.runtime import kernels, shipped, threads
shipped.DIRECTORY = sys.argv[1]
fusenum.set_num_threads(2)
a = np.linspace(0, 1, 1 << 20)
fusenum.evaluate("a * 1.25 + 0.5")
print(json.dumps({"tier0": kernels.stats.tier0_calls, "pool": threads._native_pool is not None}))
fusenum.evaluate("a * 1.25 + 0.5")  # (queues the compile)
fusenum.runtime.tiering.wait_for_compiles()  # (the next process finds the kernel on disk)
"""


@pytest.mark.skipif(not pool_abi.supported(), reason="no native thread pool here")
def test_a_new_machines_interpreted_big_call_leaves_the_thread_pool_alone(archives, tmp_path):
    """With no kernel to be found (LLVM not loaded, an empty disk cache), a big call is interpreted
    on Python threads: it neither loads the native pool from the archive nor starts its workers,
    which spun beside the interpreter's threads. A process that may find its kernel on disk loads
    the pool and starts them while it looks."""
    environment = {**os.environ, "FUSENUM_CACHE_DIR": str(tmp_path / "cache"), "FUSENUM_TIERING": "auto",
                   "FUSENUM_SHIPPED_KERNELS": "on", "FUSENUM_SIMD": LEVEL}
    seen = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", _BIG_CALLS, str(archives)], capture_output=True, text=True,
                              timeout=300, env=environment)
        assert done.returncode == 0, done.stderr
        seen.append(json.loads(done.stdout))
    assert seen == [{"tier0": 1, "pool": False}, {"tier0": 0, "pool": True}]


_PREFETCHED = """
import json, os, sys, threading
import fusenum  # (archives off: nothing to look ahead for)
from fusenum.runtime import prefetch, shipped
assert not shipped._archives
shipped.DIRECTORY = sys.argv[1]
os.environ["FUSENUM_SHIPPED_KERNELS"] = sys.argv[2]
prefetch.start()  # (what import fusenum does)
for thread in [t for t in threading.enumerate() if t.name == "fusenum-prefetch"]:
    thread.join(60)
print(json.dumps([archive is not None for archive in shipped._archives.values()]))
"""


@pytest.mark.parametrize("case, opened", [("serving", [True]), ("off", []), ("no archive", []),
                                           ("warm disk cache", [True])])
def test_import_opens_the_archive_ahead_of_the_first_call(archives, tmp_path, case, opened):
    """The look-ahead thread ``import fusenum`` starts opens and checks the archive (so the first
    call of a function finds it open), with an empty disk cache and with a warm one (where tier 0
    of a new expression looks in the archive first); not where archives are off or there is none."""
    directory = tmp_path / "nothing" if case == "no archive" else archives
    if case == "warm disk cache":  # (a kernel on disk: the look-ahead reads the host's signature too)
        run_python(FILL, FUSENUM_CACHE_DIR=str(tmp_path / "cache"), FUSENUM_SIMD=LEVEL)
    done = subprocess.run([sys.executable, "-c", _PREFETCHED, str(directory), "off" if case == "off" else "on"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "FUSENUM_CACHE_DIR": str(tmp_path / "cache"), "FUSENUM_SIMD": LEVEL,
                               "FUSENUM_SHIPPED_KERNELS": "off"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == opened


_FIRST_REDUCTIONS = """
import json, sys, numpy as np, fusenum
from fusenum.codegen import target
from fusenum.runtime import kernels, shipped
shipped.DIRECTORY = sys.argv[1]
a = np.linspace(0.5, 3, 5000)
results = [fusenum.evaluate(text) for text in ("max(sin(a))", "min(exp(a) * 2)")]
print(json.dumps({"llvm": target.llvm_ready(), "info": kernels.cache_info()._asdict()}))
"""


def test_a_fresh_process_interprets_a_reduction_of_a_function_under_auto(archives, tmp_path):
    """A reduction that needs a one-node kernel besides its argument's is interpreted at once when
    the archive holds them, not made to wait for its fused kernel (and for LLVM)."""
    done = subprocess.run([sys.executable, "-c", _FIRST_REDUCTIONS, str(archives)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "FUSENUM_CACHE_DIR": str(tmp_path / "cache"),
                                            "FUSENUM_TIERING": "auto", "FUSENUM_SHIPPED_KERNELS": "on",
                                            "FUSENUM_SIMD": LEVEL})
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["info"]["tier0_calls"] == 2 and figures["info"]["compile_seconds"] == 0, figures
    assert not figures["llvm"]


def test_the_sum_of_an_operand_runs_its_shipped_kernel_as_the_compiled_one(serving):
    """``sum(a)`` of a contiguous ``a``: its fused kernel is tier 0's one-node kernel, so under ``auto``
    a call with an empty disk cache runs it from the archive at once (no interpretation, no compile),
    and so does the reduction of ``a - mean(a)``; the bits are the compiled kernel's."""
    a = _values("float64")[16:3016]  # (finite values)
    previous = fusenum.set_tiering("auto")
    try:
        total, centred = fusenum.evaluate("sum(a)"), fusenum.evaluate("a - mean(a)")
        info = kernels.cache_info()
        assert info.tier0_calls == 1 and info.shipped_hits == 1 and info.compile_seconds == 0, info
    finally:
        fusenum.set_tiering("never")
    try:
        fusenum.clear_cache()
        with np.errstate(all="ignore"):
            assert _same_bits(total, fusenum.evaluate("sum(a)"))
            assert _same_bits(centred, fusenum.evaluate("a - mean(a)"))
    finally:
        fusenum.set_tiering(previous)


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


def _archive_built_from(tmp_path, monkeypatch, change) -> shipped.Archive | None:
    """An archive whose build recorded the sources here as ``change`` leaves them, as opened here."""
    meta = shipped.metadata(LEVEL)
    change(meta["sources"])
    shipped.write(shipped.archive_path(LEVEL, str(tmp_path)), meta, {"one": b"\x01"})
    monkeypatch.setenv("FUSENUM_SHIPPED_KERNELS", "on")
    shipped.forget()
    try:
        return shipped.archive((LEVEL, "auto"), str(tmp_path))
    finally:
        shipped.forget()


def _first(sources: dict, size: int = 0, checksum: int = 0, written: int = 0) -> None:
    """Add to the first source's recorded size, CRC-32 and modification time."""
    name = next(iter(sources))
    sources[name] = [sources[name][0] + size, sources[name][1] ^ checksum, sources[name][2] + written]


def test_sources_read_once_and_found_as_recorded_are_not_read_again(tmp_path, monkeypatch, cache_dir):
    """Where the times are the files' own but not the recorded ones (an installed package), a process
    that read the sources leaves a marker at its exit, named by their sizes and times: the next reads
    none, until a file's time changes; where the times are not the files' own, no marker is kept."""
    disk_cache.store(bytes(32), b"an entry", disk_cache.SUFFIX)  # (the directory holds one)
    built_here = shipped.metadata(LEVEL)  # (read once: the reads counted are the archive's checks)
    monkeypatch.setattr(shipped, "metadata", lambda level: json.loads(json.dumps(built_here)))
    reads = []
    read_all = shipped.read_all
    monkeypatch.setattr(shipped, "read_all", lambda descriptor: reads.append(1) or read_all(descriptor))
    monkeypatch.setattr(shipped, "_unmarked", set())
    archives = tmp_path / "archives"
    archives.mkdir()
    installed = lambda sources: _first(sources, written=1)  # (same text, another time)
    assert _archive_built_from(archives, monkeypatch, installed) is not None and reads
    shipped._store_marks()  # (at the exit)
    reads.clear()
    assert _archive_built_from(archives, monkeypatch, installed) is not None and not reads
    assert _archive_built_from(archives, monkeypatch, lambda sources: _first(sources, written=2)) is not None
    assert reads  # (another record: read again)
    reads.clear()
    edited = lambda sources: (_first(sources, written=1), _first(sources, checksum=1))
    assert _archive_built_from(archives, monkeypatch, edited) is None and reads
    monkeypatch.setattr(shipped, "_unmarked", set())
    monkeypatch.setattr(shipped, "times_are_own", lambda statuses: False)
    assert _archive_built_from(archives, monkeypatch, lambda sources: None) is not None
    assert not shipped._unmarked


@pytest.mark.parametrize("change", [
    lambda sources: _first(sources, size=1),  # a size
    lambda sources: _first(sources, checksum=1, written=1),  # an edit: its text and time
    lambda sources: sources.update({"codegen/new_rule.py": [10, 0, 1_700_000_000 * 10**9]}),  # a new file
    lambda sources: sources.pop(next(iter(sources))),  # a file removed
    lambda sources: sources.update({name: entry[:2] for name, entry in sources.items()}),  # format 2's
], ids=["size", "text", "added", "removed", "no times"])
def test_an_archive_of_other_sources_is_not_used(tmp_path, monkeypatch, change):
    assert _archive_built_from(tmp_path, monkeypatch, lambda sources: None) is not None
    assert _archive_built_from(tmp_path, monkeypatch, change) is None


def test_sources_of_the_recorded_size_and_time_are_not_read(tmp_path, monkeypatch):
    """Taken as the same files, as Python's bytecode cache takes them; another time (a copy, a
    checkout) has the text decide, as do times set by a packager (all equal, or before 1981)."""
    built_here = shipped.metadata(LEVEL)
    monkeypatch.setattr(shipped, "metadata", lambda level: json.loads(json.dumps(built_here)))
    monkeypatch.setattr(shipped, "read_all", lambda descriptor: pytest.fail("a source was read"))
    assert _archive_built_from(tmp_path, monkeypatch, lambda sources: None) is not None
    monkeypatch.undo()
    assert _archive_built_from(tmp_path, monkeypatch, lambda sources: _first(sources, written=1)) is not None
    assert _archive_built_from(tmp_path, monkeypatch, lambda sources: _first(sources, checksum=1, written=1)) is None
    monkeypatch.setattr(shipped, "times_are_own", lambda statuses: False)
    assert _archive_built_from(tmp_path, monkeypatch, lambda sources: _first(sources, checksum=1)) is None
    assert _archive_built_from(tmp_path, monkeypatch, lambda sources: None) is not None


@pytest.mark.parametrize("name, value", [("libc", lambda: "glibc 1.0"), ("libmvec_loaded", lambda: False),
                                          ("PYTHON_LAYOUT", "cpython-313 t tuple 32 object 32 pointer 8")])
def test_an_archive_for_another_c_library_or_interpreter_is_not_used(serving, monkeypatch, name, value):
    monkeypatch.setattr(shipped, name, value)
    shipped.forget()
    assert _archive() is None


def test_the_sources_read_are_regular_files_only(tmp_path, monkeypatch):
    package = tmp_path / "codegen"
    package.mkdir()
    (package / "__init__.py").write_text("x = 1\n")
    (package / ".#__init__.py").symlink_to("root@host.1234:1700000000")  # an editor's lock: dangling
    fake = type(sys)("fusenum.codegen")
    fake.__file__ = str(package / "__init__.py")
    monkeypatch.setattr(shipped, "codegen", fake)
    monkeypatch.setattr(shipped, "ir", fake)
    assert list(shipped._sources()) == ["codegen/__init__.py"]


def _count_field(data) -> tuple[int, int]:
    start = shipped.HEAD.size + shipped.HEAD.unpack_from(data)[2]
    return start, start + 4


def _replace_metadata(data, text: bytes) -> None:
    _, _, length, _ = shipped.HEAD.unpack_from(data)
    data[shipped.HEAD.size:shipped.HEAD.size + length] = text.ljust(length)


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
    lambda data: data.__setitem__(slice(*_count_field(data)), b"\xff\xff\xff\xff"),  # an absurd count
    lambda data: _replace_metadata(data, b"[]"),  # metadata of another shape
], ids=["magic", "truncated", "empty", "metadata", "count", "shape"])
def test_a_damaged_archive_is_not_used(serving, tmp_path, change):
    assert shipped.archive(settings.key, _damaged_copy(serving, tmp_path, change)) is None


def _interpreted_sin() -> np.ndarray:
    """``sin`` of :func:`_values` (float64) by tier 0."""
    previous = fusenum.set_tiering("always")
    try:
        return _call(OPS["sin"], "float64")
    finally:
        fusenum.set_tiering(previous)


def _compiled_instead(got: np.ndarray, expected: np.ndarray) -> None:
    """Check that no shipped kernel served the call that gave ``got``, one was compiled, and its bits
    are ``expected`` (what the shipped kernel gave)."""
    info = kernels.cache_info()
    assert info.shipped_hits == 0 and info.compile_seconds > 0
    assert _same_bits(got, expected)


def test_a_damaged_entry_is_compiled_instead_with_the_same_bits(serving, monkeypatch, tmp_path):
    expected = _interpreted_sin()
    assert kernels.cache_info().shipped_hits >= 1
    fusenum.clear_cache()

    def flip_every_code_byte_once(data):  # a byte in the middle of every entry's object code
        archive = shipped.archive(settings.key, str(serving))
        for at in range(archive.count):
            *_, code_at, code_size, _ = archive.entry(at)
            data[code_at + code_size // 2] ^= 0x01
    monkeypatch.setattr(shipped, "DIRECTORY", _damaged_copy(serving, tmp_path, flip_every_code_byte_once))
    assert _archive() is not None  # (whole but for its entries' code)
    _compiled_instead(_interpreted_sin(), expected)


def test_ship_refuses_levels_it_does_not_ship():
    with pytest.raises(ConfigurationError, match="not 'scalar'"):
        shipping.ship("/nonexistent", ["scalar"])
    with pytest.raises(ConfigurationError, match="not 'scalar'"):  # (read as set_simd reads a level)
        shipping.ship("/nonexistent", [" Scalar "])
    assert shipping._levels(["AVX2", "avx2", " Sse2"]) == ("avx2", "sse2")
    with pytest.raises(ConfigurationError, match="not 'avx1024'"):
        shipping.ship("/nonexistent", ["avx1024"])


def test_the_command_says_what_is_wrong(tmp_path):
    done = subprocess.run([sys.executable, "-m", "fusenum", "ship", "--into", str(tmp_path), "--simd", "scalar"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "python -m fusenum ship:" in done.stderr and "scalar" in done.stderr
    assert not list(tmp_path.iterdir())


def test_writing_an_archive_leaves_no_temporary_file_and_replaces_the_old_one(tmp_path):
    path = str(tmp_path / "sse2.kernels")
    shipped.write(path, {"made": "here"}, {"one": b"\x01\x02", "two": b"\x03"})
    shipped.write(path, {"made": "here"}, {"three": b"\x04"})
    assert os.listdir(tmp_path) == ["sse2.kernels"]
    data = open(path, "rb").read()
    _, _, meta_length, total = shipped.HEAD.unpack_from(data)
    assert total == len(data)
    assert json.loads(data[shipped.HEAD.size:shipped.HEAD.size + meta_length]) == {"built": {"made": "here"},
                                                                                 "kernels": 1}


def test_entries_whose_hashes_collide_are_told_apart_by_their_descriptions(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "_hash", lambda text: 7)
    shipped.write(shipped.archive_path(LEVEL, str(tmp_path)), shipped.metadata(LEVEL),
                  {"one": b"\x01", "two": b"\x02\x02", "three": b"\x03"})
    monkeypatch.setenv("FUSENUM_SHIPPED_KERNELS", "on")
    shipped.forget()
    try:
        archive = shipped.archive((LEVEL, "auto"), str(tmp_path))
        assert archive is not None and archive.count == 3
        assert [archive.object_code(name) for name in ("one", "two", "three", "four", "on")] == [
            b"\x01", b"\x02\x02", b"\x03", None, None]
    finally:
        shipped.forget()


def test_a_shipped_kernel_that_does_not_link_is_compiled_instead(serving, monkeypatch):
    from fusenum.codegen import jit
    real = jit.link

    def refuse_without_jit(object_code, symbols, jit=True):  # (shipped code is linked without LLVM's JIT)
        if not jit:
            raise RuntimeError("Symbols not found: [ _ZGVeN8v_sin ]")
        return real(object_code, symbols, jit)
    expected = _interpreted_sin()
    assert kernels.cache_info().shipped_hits >= 1
    fusenum.clear_cache()
    monkeypatch.setattr(jit, "link", refuse_without_jit)
    _compiled_instead(_interpreted_sin(), expected)


def test_ship_checks_its_threads():
    for threads in (0, -1, 1.5, True):
        with pytest.raises(ConfigurationError, match="threads"):
            shipping.ship("/nonexistent", [LEVEL], threads=threads)


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
        assert info.misses == info.shipped_hits + info.disk_hits + info.disk_misses, info
    finally:
        fusenum.set_tiering(previous)
        tiering.wait_for_compiles(120)
    with np.errstate(all="ignore"):
        assert _same_bits(got, fusenum.evaluate("tanh(a) * 2 + expm1(a)", {"a": a}))


def test_a_thread_other_than_the_main_one_gets_shipped_kernels_too(serving):
    import threading
    spec = next(spec for spec in prebuilt.one_node_specs([np.float64]) if spec.root.op == "cos")
    made = []
    worker = threading.Thread(target=lambda: made.append(kernels.kernel(spec)))
    worker.start()
    worker.join()
    assert made[0].origin == "shipped" and kernels.cache_info().compile_seconds == 0


def test_the_shipped_code_does_not_depend_on_the_machine_that_builds_it(monkeypatch):
    """Built for a generic CPU with the level's features: the host's CPU name and features (say a
    build machine with more instructions than the machines it serves) change nothing."""
    from fusenum.codegen import target
    specs = [next(spec for spec in prebuilt.one_node_specs([np.float64]) if spec.root.op == name)
             for name in ("log", "fmax", "exp")]  # (the first two compile differently for other hosts)
    here = [shipping._entry(spec, LEVEL) for spec in specs]
    cpu, features, triple, version = target.host_description()
    other = {name: on and name not in ("avx512fp16", "avx512vbmi", "avx512vbmi2", "gfni", "bmi2", "avx512bf16")
             for name, on in features.items()}
    monkeypatch.setattr(target, "_host", lambda: ("skylake-avx512" if cpu != "skylake-avx512" else "icelake-server",
                                                  other))
    target.make_target.cache_clear()
    try:
        elsewhere = [shipping._entry(spec, LEVEL) for spec in specs]
    finally:
        monkeypatch.undo()
        target.make_target.cache_clear()
    assert here == elsewhere


@pytest.mark.skipif("avx2" not in fusenum.available_simd() or LEVEL == "avx2", reason="needs a wider machine")
def test_another_levels_archive_calls_that_levels_libmvec_variant():
    """An archive for machines whose widest level is another calls that level's libmvec variant,
    not this machine's (whose kernels call the variant of its own widest level)."""
    from fusenum.codegen import libraries
    if not libraries.libmvec_loaded():
        pytest.skip("no libmvec here")
    spec = next(spec for spec in prebuilt.one_node_specs([np.float64]) if spec.root.op == "arctan")
    _, code = shipping._entry(spec, "avx2")
    assert b"_ZGVdN4v_atan" in code and b"_ZGVe" not in code


def test_numpys_release_names_the_cpu_features_its_loops_dispatch_on(monkeypatch):
    """NumPy's answers outside a function's domain differ between its loops for different CPUs, so
    kernels that follow them are found only where NumPy dispatches on the same features."""
    from fusenum.ir import numpy_behaviour
    core = np._core._multiarray_umath
    features = dict(core.__cpu_features__)
    numpy_behaviour.release.cache_clear()
    here = numpy_behaviour.release()
    monkeypatch.setattr(core, "__cpu_features__", {**features, "AVX512F": not features.get("AVX512F")})
    numpy_behaviour.release.cache_clear()
    try:
        assert numpy_behaviour.release() != here
        monkeypatch.delattr(core, "__cpu_features__")
        numpy_behaviour.release.cache_clear()
        assert numpy_behaviour.release() == numpy_behaviour.installation()  # (then no other installation matches)
    finally:
        monkeypatch.undo()
        numpy_behaviour.release.cache_clear()
    assert numpy_behaviour.release() == here


def test_no_prebuild_after_exit_where_an_archive_serves(serving, monkeypatch):
    """A one-node kernel missing on a machine an archive serves is not one a prebuild would make."""
    monkeypatch.setenv("FUSENUM_PREBUILD_AFTER_EXIT", "on")
    monkeypatch.setenv("FUSENUM_COMPILE_AFTER_EXIT", "on")
    monkeypatch.setattr(first_use, "_missing", {settings.key})
    assert first_use.wanted() == []
    monkeypatch.setenv("FUSENUM_SHIPPED_KERNELS", "off")
    assert first_use.wanted() == [settings.key]
