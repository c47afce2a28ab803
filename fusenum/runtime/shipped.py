"""Kernels shipped with the package: tier 0's one-node kernels, compiled when fusenum was installed.

Tier 0 (:mod:`.interpreter`) computes a transcendental function, a float-to-integer cast and a few
other nodes with a small kernel of that one node. On a machine whose disk cache does not hold them
yet (the first process there: a new container, CI, a fresh virtual environment), each first use
would compile one on the calling thread: LLVM's start-up and 5-10 ms per kernel. So building the
package (``pip install``, :mod:`.shipping`) compiles them all for the building machine's widest
SIMD level, for any CPU with that level's features, into an *archive* inside the package
(``fusenum/shipped_kernels``), with the native thread pool (:mod:`.threads`, which is otherwise
compiled in the background while Python threads serve big calls), and this module serves them:
no LLVM, no disk-cache directory and no host description are needed, so a fresh process interprets
a new expression from its first call while its fused kernel compiles in the background.

An archive is used only where it gives exactly the bits a kernel compiled here would:

* it was built by the same fusenum version from the same code generator and IR (the size and
  CRC-32 of each of their source files, taken when the build began, or the same size and
  modification time: :func:`_same_sources`), with the same llvmlite, C
  library (whose libmvec the kernels call) and interpreter object layout, with libmvec loadable
  or not as here, on the same kind of platform;
* the current SIMD level is the archive's and is this machine's widest (every kernel calls the
  libmvec variant of the machine's widest level, :func:`fusenum.codegen.mathlib.math_level`), and
  the vector-math mode is ``auto``.

Each kernel's entry is found by its description (:func:`.kernels.description` with
``portable=True``: the codegen settings, the kernel spec's canonical text and, where the code
follows NumPy's answers, NumPy's release and the CPU features its loops dispatch on), so a kernel
whose description differs here (another NumPy, another CPU) is simply not found, and is compiled
as before. An entry whose checksum fails, or that does not link, is not used; nor is an archive
that cannot be read whole. The archive is read with ``pread`` (a file changed under a mapping
would kill the process). ``FUSENUM_SHIPPED_KERNELS=off`` turns the archives off.
"""
from __future__ import annotations

import atexit
import json
import os
import platform
import struct
import zlib

from . import disk_cache
from .sources_digest import code_generator_files, new_hash, source_files, times_are_own
from .switches import on_or_off
from .. import codegen, ir
from ..codegen import locks
from ..codegen.abi import PYTHON_LAYOUT
from ..codegen.libraries import libmvec_loaded
from ..codegen.orc import llvmlite_version
from ..codegen.target import widest_here
from ..version import __version__

#: Where the archives are: next to the package's modules.
DIRECTORY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "shipped_kernels")
MAGIC = b"fusenum shipped\0"
FORMAT_VERSION = 3
#: The archive's head: magic, format version, length of the metadata (JSON) that follows, length
#: of the whole archive.
HEAD = struct.Struct("<16sIIQ")
#: One index entry, sorted by the first field: the hash of the kernel's description (:func:`_hash`),
#: where that text is and its length, where the object code is, its length and its CRC-32.
ENTRY = struct.Struct("<IQIQII")
#: The hash an entry is found by (its description is compared in full).
_hash = zlib.crc32


class Archive:
    """An open archive: its file, read with ``pread``, and its index (in memory)."""

    def __init__(self, path: str, descriptor: int, index: bytes, size: int):
        self.path = path
        self.descriptor = descriptor
        self.index = index
        self.count = len(index) // ENTRY.size
        self.size = size  #: the file's length

    def entry(self, at: int) -> tuple[int, int, int, int, int, int]:
        """Index entry ``at``: ``(hash, text offset, text length, code offset, code length, CRC-32)``."""
        return ENTRY.unpack_from(self.index, at * ENTRY.size)

    def object_code(self, description: str) -> bytes | None:
        """The object code of the kernel ``description`` names, if the archive has it whole."""
        text = description.encode()
        wanted = _hash(text)
        low, high = 0, self.count  # (the first entry whose hash is not below the one wanted)
        while low < high:
            middle = (low + high) // 2
            if self.entry(middle)[0] < wanted:
                low = middle + 1
            else:
                high = middle
        for at in range(low, self.count):
            found, text_at, text_size, code_at, code_size, checksum = self.entry(at)
            if found != wanted:
                return None
            if text_size != len(text) or code_at != text_at + text_size or code_at + code_size > self.size:
                continue
            try:
                stored = os.pread(self.descriptor, text_size + code_size, text_at)
            except OSError:
                return None
            if stored[:text_size] == text:
                code = stored[text_size:]
                return code if len(code) == code_size and zlib.crc32(code) == checksum else None
        return None


def enabled() -> bool:
    """Whether shipped kernels are used (``FUSENUM_SHIPPED_KERNELS``, default on)."""
    return on_or_off("FUSENUM_SHIPPED_KERNELS")


def archive_path(level: str, directory: str | None = None) -> str:
    """The archive of SIMD level ``level`` in ``directory`` (default :data:`DIRECTORY`)."""
    return os.path.join(DIRECTORY if directory is None else directory, f"{level}.kernels")


def metadata(level: str) -> dict:
    """What an archive of ``level`` is built with (see the docstring), as its build begins: reads the
    code generator's and the IR's sources (about 1 ms)."""
    return {**_environment(level), "sources": _sources()}


def _environment(level: str) -> dict:
    """:func:`metadata` but the sources: what serving here needs of everything else."""
    return {"fusenum": __version__, "llvmlite": llvmlite_version(), "libc": libc(), "libmvec": libmvec_loaded(),
            "python": PYTHON_LAYOUT, "platform": f"{platform.system()} {platform.machine()}", "level": level,
            "vector_math": "auto"}


def libc() -> str:
    """The C library's name and version (glibc's), or "" where it does not say."""
    return os.confstr("CS_GNU_LIBC_VERSION") if "CS_GNU_LIBC_VERSION" in os.confstr_names else ""


def _sources() -> dict[str, list[int]]:
    """``name: [size, CRC-32, modification time]`` of every source file of the code generator and the
    IR (as the disk cache's key walks them: :func:`.sources_digest.source_files`), read now."""
    found = {}
    for package in (codegen, ir):
        name = package.__name__.rpartition(".")[2]
        for relative, path in source_files(os.path.dirname(os.path.abspath(package.__file__))):
            # (os.read, not open(): the buffered file object took half of this function's ~0.45 ms)
            descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            try:
                status = os.fstat(descriptor)
                text = read_all(descriptor)
            finally:
                os.close(descriptor)
            # (a file that changed while it was read keeps no time: it is checked by its text)
            written = status.st_mtime_ns if status.st_size == len(text) else 0
            found[f"{name}/{relative}"] = [len(text), zlib.crc32(text), written]
    return dict(sorted(found.items()))


def _same_sources(recorded: object) -> bool:
    """Whether ``recorded`` (:func:`_sources`, as a build began) describes the sources here. A file
    whose size and modification time are as recorded, where times are the files' own, is taken as
    the same file, as Python's bytecode cache and the disk cache's key take it (one ``stat`` each,
    shared with that key: :func:`.sources_digest.code_generator_files`); any other (a copy, a
    checkout, times set by a packager, every file after ``pip install``, which gives the files it
    copies new times) by its size and CRC-32. Reading them all took 0.5-3.5 ms of
    the look-ahead thread (:mod:`.prefetch`), most of it waiting for the GIL after each system call
    while the program ran: the first call that needed a one-node kernel often waited for it. So,
    where the times are the files' own, a process that read them and found them as recorded leaves
    a marker in the disk cache (:func:`_store_marks`, at its exit) named by their sizes and times and
    by the record: a later process that finds it reads none (an installed package's every start)."""
    here = {f"{package.rpartition('.')[2]}/{relative}": (path, status)
            for package, relative, path, status in code_generator_files()}
    if not (isinstance(recorded, dict) and recorded.keys() == here.keys() and all(
            type(entry) is list and len(entry) == 3 and all(type(number) is int for number in entry)
            for entry in recorded.values())):
        return False
    by_time = times_are_own([status for _, status in here.values()])
    unread = [(name, path) for name, (path, status) in here.items() if not (
        by_time and status.st_size == recorded[name][0] and status.st_mtime_ns == recorded[name][2])]
    mark = _mark(recorded, here) if unread and by_time else None
    if mark is not None and _marked(mark):
        return True
    for name, path in unread:
        size, checksum, _ = recorded[name]
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            text = read_all(descriptor)
        finally:
            os.close(descriptor)
        if len(text) != size or zlib.crc32(text) != checksum:
            return False
    if mark is not None:
        _unmarked.add(mark)
    return True


def _mark(recorded: dict, here: dict) -> bytes:
    """The name of the marker that the sources ``here`` (``name: (path, status)``), by their sizes and
    modification times, were read and found as ``recorded``."""
    text = json.dumps(recorded, sort_keys=True) + "".join(
        f"\n{name} {status.st_size} {status.st_mtime_ns}" for name, (_, status) in sorted(here.items()))
    return new_hash(f"fusenum sources checked, format 1\0{text}".encode()).digest()


def _marked(mark: bytes) -> bool:
    """Whether the disk cache, as the settings would be read now (not fixing them: this may run on
    the look-ahead thread), holds marker ``mark``."""
    directory = disk_cache.directory_holding_entries()
    return directory is not None and \
        disk_cache.load(mark, disk_cache.CHECKED_SUFFIX, directory=directory) is not None


_unmarked: set[bytes] = set()  # markers this process may leave (:func:`_same_sources`)


@atexit.register
def _store_marks() -> None:
    """Leave this process's markers in the disk cache in use, if any (never creating a directory
    removed meanwhile): at the exit, off every call's path."""
    try:
        if _unmarked and disk_cache.usable():
            for mark in list(_unmarked):
                disk_cache.store(mark, b"", disk_cache.CHECKED_SUFFIX, create=False)
    except Exception:  # noqa: S110 -- only a cache: an exit never fails for it
        pass


def read_all(descriptor: int) -> bytes:
    """Every byte of the open file ``descriptor``: one read, unless the file system returns less
    (some network file systems do) or the file grew meanwhile."""
    text = os.read(descriptor, os.fstat(descriptor).st_size + 1)
    parts = [text]
    while text:
        text = os.read(descriptor, 1 << 16)
        parts.append(text)
    return b"".join(parts)


enabled()  # (a misspelled FUSENUM_SHIPPED_KERNELS fails at import, as the other settings do)
_archives: dict[tuple[str, str], Archive | None] = {}
_lock = locks.lock()


def archive(settings_key: tuple, directory: str | None = None) -> Archive | None:
    """The archive serving kernels under ``settings_key`` here (from ``directory``, default
    :data:`DIRECTORY`), or None (archives off, none there, or not for this machine: see the
    docstring). Read once, when first asked for."""
    level, vector_math = settings_key
    if vector_math != "auto" or not enabled():
        return None
    key = (level, DIRECTORY if directory is None else directory)
    if key not in _archives:
        # Before the lock: finding llvmlite's version may need the import lock, and the thread that
        # holds it may be a signal handler's, waiting here for this lock (the look-ahead thread
        # opens archives too, :mod:`.prefetch`).
        llvmlite_version()
    with _lock:
        if key not in _archives:
            _archives[key] = _open(level, key[1]) if widest_here() == level else None
        return _archives[key]


def may_serve(settings_key: tuple) -> bool:
    """Whether an archive may serve kernels under ``settings_key``: archives on, vector math
    ``auto`` and an archive of that level in :data:`DIRECTORY` (a hint, for :mod:`.prefetch`:
    neither the machine nor the archive is checked)."""
    level, vector_math = settings_key
    return vector_math == "auto" and enabled() and os.path.isfile(archive_path(level))


def _open(level: str, directory: str) -> Archive | None:
    """The archive of ``level`` in ``directory`` if it is there, whole and built for this machine."""
    path = archive_path(level, directory)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        made = _read(path, descriptor, level)
    except Exception:  # noqa: BLE001 -- damaged (in any way), or the sources unreadable: as if absent
        made = None
    if made is None:
        os.close(descriptor)
    return made


def _read(path: str, descriptor: int, level: str) -> Archive | None:
    size = os.fstat(descriptor).st_size
    head = os.pread(descriptor, HEAD.size, 0)
    magic, version, length, total = HEAD.unpack(head)
    if magic != MAGIC or version != FORMAT_VERSION or total != size or HEAD.size + length + 4 > size:
        return None
    meta = json.loads(os.pread(descriptor, length, HEAD.size).decode())
    built = meta.get("built") if isinstance(meta, dict) else None
    if not isinstance(built, dict) or {key: value for key, value in built.items() if key != "sources"} \
            != _environment(level) or not _same_sources(built.get("sources")):
        return None
    start = HEAD.size + length
    count, = struct.unpack("<I", os.pread(descriptor, 4, start))
    if start + 4 + count * ENTRY.size > size:
        return None
    index = os.pread(descriptor, count * ENTRY.size, start + 4)
    if len(index) != count * ENTRY.size:
        return None
    return Archive(path, descriptor, index, size)


def write(path: str, meta: dict, codes: dict[str, bytes]) -> None:
    """Write an archive holding ``codes`` (kernel description -> object code), built as ``meta``
    (:func:`metadata`, taken before the build began) says, to ``path``, atomically (a process
    reading it meanwhile sees the old archive or the new one)."""
    text = json.dumps({"built": meta, "kernels": len(codes)}, sort_keys=True).encode()
    texts = {description: description.encode() for description in codes}
    total = HEAD.size + len(text) + 4 + ENTRY.size * len(codes) + sum(
        len(encoded) + len(codes[description]) for description, encoded in texts.items())
    head = HEAD.pack(MAGIC, FORMAT_VERSION, len(text), total) + text + struct.pack("<I", len(codes))
    order = sorted(codes, key=lambda description: (_hash(texts[description]), description))
    offset = len(head) + ENTRY.size * len(codes)
    index, payload = [], []
    for description in order:
        encoded, code = texts[description], codes[description]
        index.append(ENTRY.pack(_hash(encoded), offset, len(encoded), offset + len(encoded), len(code),
                                zlib.crc32(code)))
        payload += [encoded, code]
        offset += len(encoded) + len(code)
    write_atomically(path, b"".join([head, *index, *payload]))


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a process reading it meanwhile sees the old file or the new one."""
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def forget() -> None:
    """Close the archives opened (they are read again when next asked for)."""
    with _lock:
        for opened in _archives.values():
            if opened is not None:
                os.close(opened.descriptor)
        _archives.clear()


__all__ = ["DIRECTORY", "Archive", "archive", "archive_path", "enabled", "forget", "libc", "metadata", "read_all", "write",
           "write_atomically"]
