"""Kernels shipped with the package: tier 0's one-node kernels, compiled when fusenum was installed.

Tier 0 (:mod:`.interpreter`) computes a transcendental function, a float-to-integer cast and a few
other nodes with a small kernel of that one node. On a machine whose disk cache does not hold them
yet (the first process there: a new container, CI, a fresh virtual environment), each first use
would compile one on the calling thread: LLVM's start-up and 5-10 ms per kernel. So building the
package (``pip install``, :mod:`.shipping`) compiles them all, for every SIMD level the building
machine has, into one *archive* per level inside the package (``fusenum/shipped_kernels``), with
the native thread pool (:mod:`.threads`, which is otherwise compiled in the background while Python
threads serve big calls), and this module serves them: no LLVM, no disk-cache directory and no host description are needed, so
a fresh process interprets a new expression from its first call while its fused kernel compiles in
the background.

An archive is used only where it gives exactly the bits a kernel compiled here would:

* it was built by the same fusenum version from the same code generator and IR (sizes of their
  source files, and none of them changed after the archive was written), with the same llvmlite
  and C library (whose libmvec the kernels call), on the same kind of platform;
* the current SIMD level is the archive's and is this machine's widest (every kernel calls the
  libmvec variant of the machine's widest level, :func:`fusenum.codegen.mathlib.math_level`), and
  the vector-math mode is ``auto``.

Each kernel's entry is found by its description (:func:`.kernels.description`: the
codegen settings, the kernel spec's canonical text and, where the code follows the installed
NumPy's answers, those), so a kernel whose description differs here (another NumPy) is simply not
found, and is compiled as before. An entry whose checksum fails, or that does not link, is not
used. ``FUSENUM_SHIPPED_KERNELS=off`` turns the archives off.
"""
from __future__ import annotations

import json
import mmap
import os
import platform
import struct
import zlib
from typing import NamedTuple

from .switches import on_or_off
from .. import codegen, ir
from ..codegen import locks
from ..codegen.orc import llvmlite_version
from ..codegen.target import widest_here
from ..version import __version__

#: Where the archives are: next to the package's modules.
DIRECTORY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "shipped_kernels")
MAGIC = b"fusenum shipped\0"
FORMAT_VERSION = 1
#: The archive's head: magic, format version, length of the metadata (JSON) that follows, length
#: of the whole archive.
HEAD = struct.Struct("<16sIIQ")
#: One index entry, sorted by the first field: the CRC-32 of the kernel's description, where that
#: text is and its length, where the object code is, its length and its CRC-32.
ENTRY = struct.Struct("<IQIQII")
#: How much later than the archive a source file may have been written (an installer writes the
#: package's files one after another) before the archive counts as older than the code.
SOURCE_SLACK_SECONDS = 10.0


class Archive(NamedTuple):
    """An open archive: its path, its bytes (mapped) and where its index is in them."""

    path: str
    data: "mmap.mmap | bytes"
    index: int
    count: int

    def object_code(self, description: str) -> bytes | None:
        """The object code of the kernel ``description`` names, if the archive has it whole."""
        text = description.encode()
        wanted = zlib.crc32(text)
        low, high = 0, self.count  # (the first entry whose hash is not below the one wanted)
        while low < high:
            middle = (low + high) // 2
            if struct.unpack_from("<I", self.data, self.index + middle * ENTRY.size)[0] < wanted:
                low = middle + 1
            else:
                high = middle
        for at in range(low, self.count):
            found, text_at, text_size, code_at, code_size, checksum = ENTRY.unpack_from(
                self.data, self.index + at * ENTRY.size)
            if found != wanted:
                return None
            if text_size == len(text) and self.data[text_at:text_at + text_size] == text:
                code = self.data[code_at:code_at + code_size]
                return code if len(code) == code_size and zlib.crc32(code) == checksum else None
        return None


def enabled() -> bool:
    """Whether shipped kernels are used (``FUSENUM_SHIPPED_KERNELS``, default on)."""
    return on_or_off("FUSENUM_SHIPPED_KERNELS")


def archive_path(level: str, directory: str | None = None) -> str:
    """The archive of SIMD level ``level`` in ``directory`` (default :data:`DIRECTORY`)."""
    return os.path.join(DIRECTORY if directory is None else directory, f"{level}.kernels")


def metadata(level: str, sources: list[tuple[str, int, int]] | None = None) -> dict:
    """What an archive of ``level`` must have been built with to serve here (see the docstring);
    its ``sources`` maps each source file of the code generator and the IR to its size."""
    libc = os.confstr("CS_GNU_LIBC_VERSION") if "CS_GNU_LIBC_VERSION" in os.confstr_names else ""
    return {"fusenum": __version__, "llvmlite": llvmlite_version(), "libc": libc,
            "platform": f"{platform.system()} {platform.machine()}", "level": level, "vector_math": "auto",
            "sources": {name: size for name, size, _ in (_sources() if sources is None else sources)}}


def _sources() -> list[tuple[str, int, int]]:
    """``(name, size, mtime_ns)`` of every source file of the code generator and the IR."""
    found = []
    for package in (codegen, ir):
        root = os.path.dirname(os.path.abspath(package.__file__))
        stack = [(root, package.__name__.rpartition(".")[2] + "/")]
        while stack:
            directory, prefix = stack.pop()
            with os.scandir(directory) as listing:
                for entry in listing:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name != "__pycache__":
                            stack.append((entry.path, f"{prefix}{entry.name}/"))
                    elif entry.name.endswith(".py"):
                        status = entry.stat()
                        found.append((prefix + entry.name, status.st_size, status.st_mtime_ns))
    return sorted(found)


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
    with _lock:
        if key not in _archives:
            _archives[key] = _open(level, key[1]) if widest_here() == level else None
        return _archives[key]


def _open(level: str, directory: str) -> Archive | None:
    """The archive of ``level`` in ``directory`` if it is there, whole and built for this machine
    (mapped, not read: a lookup touches a few of its pages)."""
    path = archive_path(level, directory)
    try:
        with open(path, "rb") as file:
            written = os.fstat(file.fileno()).st_mtime_ns
            data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # (ValueError: an empty file)
        return None
    try:
        return _parse(path, data, written, level)
    except (ValueError, struct.error, UnicodeDecodeError):  # a damaged archive: as if absent
        return None


def _parse(path: str, data: mmap.mmap, written: int, level: str) -> Archive | None:
    magic, version, length, total = HEAD.unpack_from(data)
    if magic != MAGIC or version != FORMAT_VERSION or total != len(data):
        return None
    meta = json.loads(data[HEAD.size:HEAD.size + length].decode())
    sources = _sources()
    if meta.get("built") != metadata(level, sources):
        return None
    if max(mtime for _, _, mtime in sources) > written + SOURCE_SLACK_SECONDS * 1e9:
        return None  # the code changed after the archive was built
    start = HEAD.size + length
    count, = struct.unpack_from("<I", data, start)
    if start + 4 + count * ENTRY.size > len(data):
        return None
    return Archive(path, data, start + 4, count)


def write(path: str, level: str, codes: dict[str, bytes]) -> None:
    """Write the archive of ``level`` holding ``codes`` (kernel description -> object code) to
    ``path``, atomically (a process reading it meanwhile sees the old archive or the new one)."""
    meta = json.dumps({"built": metadata(level), "kernels": len(codes)}, sort_keys=True).encode()
    texts = {description: description.encode() for description in codes}
    total = HEAD.size + len(meta) + 4 + ENTRY.size * len(codes) + sum(
        len(text) + len(codes[description]) for description, text in texts.items())
    head = HEAD.pack(MAGIC, FORMAT_VERSION, len(meta), total) + meta + struct.pack("<I", len(codes))
    order = sorted(codes, key=lambda description: (zlib.crc32(texts[description]), description))
    offset = len(head) + ENTRY.size * len(codes)
    index, payload = [], []
    for description in order:
        text, code = texts[description], codes[description]
        index.append(ENTRY.pack(zlib.crc32(text), offset, len(text), offset + len(text), len(code), zlib.crc32(code)))
        payload += [text, code]
        offset += len(text) + len(code)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as file:
            file.write(b"".join([head, *index, *payload]))
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def forget() -> None:
    """Forget the archives opened (they are read again when next asked for)."""
    with _lock:
        _archives.clear()


__all__ = ["DIRECTORY", "Archive", "archive", "archive_path", "enabled", "forget", "metadata",
           "write"]
