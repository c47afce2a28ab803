"""The look-ahead ``import fusenum`` starts (:mod:`fusenum.runtime.prefetch`): the CPU's signature and
the sources' digest read, and libmvec mapped, on a short-lived thread before the first call; nothing where the disk cache
holds nothing, and no setting fixed, no directory created, no warning given at import."""
import os
import subprocess
import sys

import pytest

_AFTER_IMPORT = """
import os, sys, threading
started = []  # (names of the threads started: a short-lived one may be gone before it is looked for)
start = threading.Thread.start
def recorded(thread, *arguments, **options):
    started.append(thread.name)
    return start(thread, *arguments, **options)
threading.Thread.start = recorded
import fusenum
threading.Thread.start = start
from fusenum.codegen import exec_memory, libraries, target
from fusenum.runtime import background, sources_digest
for thread in [t for t in threading.enumerate() if t.name == "fusenum-prefetch"]:
    thread.join(60)
print("fusenum-prefetch" in started, target.host_signature.cache_info().currsize,
      sources_digest.sources_digest.cache_info().currsize,
      target.host_described(), target.llvm_ready(), "llvmlite" in sys.modules,
      [t.name for t in threading.enumerate() if t is not threading.main_thread()] == [],
      os.path.isdir(os.environ["FUSENUM_CACHE_DIR"]),
      "/libmvec" in open("/proc/self/maps").read(), libraries.libmvec_loaded.cache_info().currsize,
      exec_memory._current is not None)
"""

_LINUX_X86_64 = sys.platform.startswith("linux") and os.uname().machine in ("x86_64", "amd64")
_FILL = "import numpy as np, fusenum; a = np.arange(10.0); fusenum.evaluate('a * 3 - 1')"


def _run(code: str, *options: str, **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, *options, "-c", code], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "FUSENUM_TIERING": "never", **env})
    assert result.returncode == 0, result.stderr
    return result


def test_import_reads_the_cpus_signature_and_the_sources_ahead_of_the_first_call(tmp_path):
    directory = str(tmp_path / "cache")
    _run(_FILL, FUSENUM_CACHE_DIR=directory)  # compiles: stores a kernel and the host's record
    # read, without LLVM, without the record (the first call reads it), and the thread is gone;
    # libmvec is mapped, but fusenum has not taken it up (its first kernel that calls it does)
    assert _run(_AFTER_IMPORT, FUSENUM_CACHE_DIR=directory).stdout.split() == [
        "True", "1", "1", "False", "False", "False", "True", "True", str(_LINUX_X86_64), "0", str(_LINUX_X86_64)]


@pytest.mark.parametrize("case", ["empty", "missing", "off"])
def test_import_reads_nothing_where_there_is_nothing_to_read(tmp_path, case):
    directory = tmp_path / "cache"
    if case == "empty":
        directory.mkdir(mode=0o700)
    env = {"FUSENUM_CACHE_DIR": str(directory), **({"FUSENUM_CACHE": "off"} if case == "off" else {})}
    got = _run(_AFTER_IMPORT, **env).stdout.split()
    assert got == ["False", "0", "0", "False", "False", "False", "True", str(case == "empty"), "False", "0", "False"]


def test_the_cache_directory_is_still_read_at_the_first_call_not_at_import(tmp_path):
    """A dask worker applies its ``env=`` after its process imported fusenum."""
    earlier, later = tmp_path / "earlier", tmp_path / "later"
    _run(_FILL, FUSENUM_CACHE_DIR=str(earlier))  # (so that the look-ahead starts)
    code = ("import os, numpy as np, fusenum\n"
            f"os.environ['FUSENUM_CACHE_DIR'] = {str(later)!r}\n"
            "fusenum.evaluate('a * 5 + 2', {'a': np.arange(3.0)})\n"
            "print(fusenum.get_disk_cache().directory)")
    assert _run(code, FUSENUM_CACHE_DIR=str(earlier)).stdout.strip() == str(later)
    assert any(name.endswith(".kernel") for name in os.listdir(later))


def test_an_unfit_directory_is_warned_about_at_the_first_call_not_at_import(tmp_path):
    fit, unfit = tmp_path / "fit", tmp_path / "unfit"
    _run(_FILL, FUSENUM_CACHE_DIR=str(fit))
    unfit.mkdir()
    os.chmod(unfit, 0o777)
    code = ("import warnings, numpy as np, fusenum\n"
            f"fusenum.set_disk_cache(directory={str(unfit)!r})\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    fusenum.evaluate('a * 5 + 2', {'a': np.arange(3.0)})\n"
            "print([type(w.message).__name__ for w in caught])")
    result = _run(code, "-W", "error", FUSENUM_CACHE_DIR=str(fit))
    assert result.stdout.strip() == "['DiskCacheWarning']" and result.stderr == ""


_HASH_MODULES = """
import sys, threading
import numpy as np
before = set(sys.modules)
import fusenum
fusenum.evaluate('a * 5 + 2', {'a': np.arange(3.0)})
for thread in [t for t in threading.enumerate() if t.name == "fusenum-prefetch"]:
    thread.join(60)
hashes = {"_sha256", "_sha512", "_sha2", "_blake2", "_md5", "_hashlib", "hashlib"}
print(" ".join(sorted(hashes & before)) or "-", " ".join(sorted((set(sys.modules) - before) & hashes)) or "-")
"""


def test_the_disk_caches_digests_import_no_hash_module_numpy_did_not(tmp_path):
    """SHA-512 (cut to 32 bytes) from CPython's module of it, which ``random`` imports (and NumPy
    imports ``random``): importing another took ~0.3 ms of a warm process's first call; OpenSSL's
    (``hashlib``) ~2.8 ms."""
    import hashlib

    from fusenum.runtime import sources_digest
    assert sources_digest.new_hash(b"fusenum").digest() == hashlib.sha512(b"fusenum").digest()[:32]
    directory = str(tmp_path / "cache")
    _run(_FILL, FUSENUM_CACHE_DIR=directory)
    loaded_before, loaded_after = _run(_HASH_MODULES, FUSENUM_CACHE_DIR=directory).stdout.split()
    if {"_sha512", "_sha2"} & set(loaded_before.split()):
        assert loaded_after == "-"
    else:  # (Python 3.13's random imports it only when seeded from a string)
        assert loaded_after in ("_sha2", "_sha512")


_HOST_READ_AHEAD = """
import os, sys, threading
import numpy as np
import fusenum
from fusenum.codegen import target
from fusenum.runtime import disk_cache, host_record
for thread in [t for t in threading.enumerate() if t.name == "fusenum-prefetch"]:
    thread.join(60)
ahead = sorted(host_record._read_ahead)
loads = []
load = disk_cache.load
def spied(digest, suffix=disk_cache.SUFFIX, *args, **kwargs):
    loads.append(suffix)
    return load(digest, suffix, *args, **kwargs)
disk_cache.load = spied
if len(sys.argv) > 1:
    os.environ["FUSENUM_CACHE_DIR"] = sys.argv[1]  # (as a dask worker's env= does, after the import)
fusenum.evaluate("a * 3 - 1", {"a": np.arange(10.0)})
print(ahead == [os.path.abspath(sys.argv[2])], disk_cache.HOST_SUFFIX in loads, target.host_described(),
      target.llvm_ready())
"""


@pytest.mark.skipif(not _LINUX_X86_64, reason="the host's signature is read on x86-64 Linux")
def test_the_host_record_is_read_ahead_and_adopted_by_the_first_call_without_llvm(tmp_path):
    """The look-ahead thread reads the record of the directory named at import; the first call adopts
    it without reading it again, or reads its own where the directory changed after the import."""
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    _run(_FILL, FUSENUM_CACHE_DIR=first)
    _run(_FILL, FUSENUM_CACHE_DIR=second)
    code = _HOST_READ_AHEAD.replace("sys.argv[2]", repr(first))
    assert _run(code, FUSENUM_CACHE_DIR=first, FUSENUM_TIERING="auto").stdout.split() == [
        "True", "False", "True", "False"]
    moved = f"import sys; sys.argv[1:] = [{second!r}]\n" + code
    assert _run(moved, FUSENUM_CACHE_DIR=first, FUSENUM_TIERING="auto").stdout.split() == [
        "True", "True", "True", "False"]
