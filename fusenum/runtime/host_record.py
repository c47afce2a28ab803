"""The host's description, recorded in the disk cache so that a disk load needs no LLVM.

A disk-cache key covers LLVM's description of the host (CPU name and features, process triple,
LLVM's version: :func:`fusenum.codegen.target.identity`). Asking LLVM means loading it, ~100 MB
and 10-15 ms in a new process, although linking an entry needs no LLVM at all
(:mod:`fusenum.codegen.loader`). So the first process that asks LLVM records its answer as a
disk-cache entry, under a digest of :func:`fusenum.codegen.target.host_signature` (the CPU as this
process sees it, CPUID and XCR0, and llvmlite's version and library file: what LLVM's answer
depends on), and later
processes whose signature is the same adopt it instead of loading LLVM. The record
(``<digest>.host``, a few hundred bytes) has the header and checksum of every entry; one that
does not parse is removed, and LLVM asked again. A process that adopted a record and later loads
LLVM (to compile) checks the record against LLVM's answer, and replaces it if they differ. It is not evicted with kernels, and
:func:`fusenum.clear_disk_cache` removes it.
"""
from __future__ import annotations

from functools import lru_cache

from ..codegen import locks, target
from ..errors import DiskCacheWarning, warn
from . import disk_cache

_FORMAT = "fusenum host description, format 1\0"
# Records read by the look-ahead thread, by directory (:func:`read_ahead`).
_read_ahead: dict[str, tuple] = {}
_state: dict = {"recalled": False, "adopted": False, "recorded_in": set()}  # recorded_in: directories
_lock = locks.lock()  # (held while LLVM loads: re-entrant, for a signal handler that calls fusenum)


@lru_cache(maxsize=None)
def _digest() -> bytes | None:
    signature = target.host_signature()
    if signature is None:
        return None
    return disk_cache.new_hash((_FORMAT + signature).encode()).digest()


def recall() -> None:
    """Adopt the recorded description of this host, if LLVM has not described it yet and the disk
    cache holds one (looked for once per process, in the first usable directory)."""
    if _state["recalled"]:
        return
    with _lock:
        if _state["recalled"] or not disk_cache.usable():
            return
        _state["recalled"] = True
        if target.host_described():
            return
        description = _read_ahead.get(disk_cache.directory_in_use())
        if description is None:
            # An empty directory has no record: skip the host's signature (~2 ms: the CPU probe,
            # llvmlite's files), which would make a new machine's first call three times numexpr's.
            if disk_cache.holds_nothing():
                return
            digest = _digest()
            payload = None if digest is None else disk_cache.load(digest, disk_cache.HOST_SUFFIX)
            if payload is None:
                return
            description = _parse(payload)
            if description is None:
                disk_cache.discard(digest, disk_cache.HOST_SUFFIX)
                return
        if target.adopt_host(description):
            _state["adopted"] = True
            _state["recorded_in"].add(disk_cache.get_disk_cache().directory)


def read_ahead(directory: str) -> None:
    """Read and parse this host's record in ``directory`` before the first call needs it (the
    look-ahead thread, :mod:`.prefetch`: ~0.2 ms of a warm process's first call); that call adopts
    it if its disk cache is that directory (the settings are still read then)."""
    digest = _digest()
    payload = None if digest is None else disk_cache.load(digest, disk_cache.HOST_SUFFIX, directory=directory)
    description = None if payload is None else _parse(payload)
    if description is not None:
        _read_ahead[directory] = description


def record() -> None:
    """Record LLVM's description of this host (once per process and directory; nothing if LLVM is
    not loaded). In a process that adopted a record, check it against LLVM's answer instead, once:
    a record LLVM contradicts (a signature that missed a difference) is replaced, with a warning."""
    if not target.llvm_ready() or not disk_cache.usable():
        return
    with _lock:
        if _state["adopted"]:
            _state["adopted"] = False
            if target.llvm_host_description() != target.host_description():
                _state["recorded_in"].clear()  # so LLVM's answer replaces it, below
                warn("fusenum: the host description recorded in the kernel cache directory is not what "
                     "LLVM says in this process; LLVM's replaces it (this process keeps using the "
                     "recorded one, which its kernels were keyed with)", DiskCacheWarning)
        directory = disk_cache.get_disk_cache().directory
        if directory in _state["recorded_in"]:
            return
        _state["recorded_in"].add(directory)
    digest = _digest()
    if digest is not None:
        disk_cache.store(digest, _text(target.llvm_host_description()).encode(), disk_cache.HOST_SUFFIX)


def _text(description: tuple) -> str:
    cpu, features, triple, version = description
    return "\n".join([cpu, triple, ".".join(map(str, version)),
                      ",".join(("+" if on else "-") + name for name, on in sorted(features.items()))])


def _parse(payload: bytes) -> tuple | None:
    try:
        cpu, triple, version, features = payload.decode("ascii").split("\n")
        numbers = tuple(int(part) for part in version.split("."))
        flags = {item[1:]: item[0] == "+" for item in features.split(",") if item}
    except ValueError:
        return None
    if not cpu or not triple or any(item[:1] not in "+-" for item in features.split(",") if item):
        return None
    return cpu, flags, triple, numbers
