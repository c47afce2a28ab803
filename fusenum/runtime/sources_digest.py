"""What fusenum's own code contributes to a disk-cache key (:mod:`.disk_cache`): a digest of its
version and of every source file of the code generator and the IR, so that an edited lowering rule
never meets object code compiled before the edit; and the hash every digest uses.
"""
from __future__ import annotations

import os
import sys
from functools import lru_cache
from typing import Callable

from .. import codegen, ir
from ..codegen import locks
from ..version import __version__


#: The length of every digest :func:`new_hash` gives (bytes).
DIGEST_SIZE = 32


class Hash:
    """SHA-512 cut to :data:`DIGEST_SIZE` bytes (as ``hashlib``'s hashes, with ``update``, ``digest``
    and ``hexdigest``): the disk cache's keys, checksums and records. SHA-512 because CPython's own
    module of it is loaded already where NumPy is (NumPy imports ``random``, whose import loads
    it up to Python 3.12), where importing another (``_sha256``) took ~0.3 ms of a warm process's
    first call, and ``hashlib`` loads OpenSSL (~2.8 ms)."""

    __slots__ = ("_state",)

    def __init__(self, data: bytes = b"", state=None):
        self._state = _sha512_type()(data) if state is None else state

    def copy(self) -> "Hash":
        return Hash(state=self._state.copy())

    def update(self, data: bytes) -> None:
        self._state.update(data)

    def digest(self) -> bytes:
        return self._state.digest()[:DIGEST_SIZE]

    def hexdigest(self) -> str:
        return self.digest().hex()


def new_hash(data: bytes = b"") -> Hash:
    """A :class:`Hash` of ``data``."""
    return Hash(data)


@lru_cache(maxsize=None)
def _sha512_type() -> Callable:
    """CPython's own SHA-512 (from the module ``random`` loaded), else ``hashlib``'s."""
    for name in ("_sha2", "_sha512"):  # (a failed import searches every path: ~0.07 ms)
        loaded = getattr(sys.modules.get(name), "sha512", None)
        if loaded is not None:
            return loaded
    with locks.loading:  # (a fork waits for an import)
        try:
            from _sha2 import sha512 as made  # CPython 3.12 on
        except ImportError:
            try:
                from _sha512 import sha512 as made  # up to 3.11
            except ImportError:
                from hashlib import sha512 as made
    return made


#: Modification times from before this (1981) are not a file's own: Nix gives every file 1.
_EARLIEST_OWN_MTIME_NS = 347_155_200 * 10**9


@lru_cache(maxsize=None)
def code_generator_files() -> tuple[tuple[str, str, str, os.stat_result], ...]:
    """``(package, relative path, path, status)`` of every source file of the code generator and the
    IR, sorted, as found once per process: :func:`sources_digest` and the check of the shipped
    archives (:mod:`.shipped`) share these ``stat`` calls."""
    files = [(package.__name__, relative, path) for package in (codegen, ir)
             for relative, path in sorted(source_files(os.path.dirname(package.__file__)))]
    return tuple((package, relative, path, os.stat(path)) for package, relative, path in files)


def times_are_own(statuses: list[os.stat_result]) -> bool:
    """Whether the files' modification times are their own, so that an edit changes them: not all
    equal (as reproducible builds and some packagers set them) and none from before 1981."""
    times = {status.st_mtime_ns for status in statuses}
    return len(times) > 1 and min(times) >= _EARLIEST_OWN_MTIME_NS


@lru_cache(maxsize=None)
def sources_digest() -> bytes:
    """A digest of fusenum's version and of every source file of the code generator and the IR:
    its path in the package, size and modification time, as Python's bytecode cache checks a
    source (0.1-0.7 ms once per process; hashing their text took ~3 ms, most of a warm process's
    first kernel call). Where the times are not the files' own (:func:`times_are_own`), their text
    is hashed instead: an edit that kept the size would otherwise keep the key."""
    return _digest([(f"{package}/{relative}", path, status)
                    for package, relative, path, status in code_generator_files()])


@lru_cache(maxsize=None)
def typing_digest() -> bytes:
    """:func:`sources_digest` and the same of the front ends' sources and of the plan cache, which
    decides what typing is told of each operand: what typing an expression depends on (the
    ``frontend`` package next to this one, found by its path: this layer does not import it)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    root = ir.__name__.rpartition(".")[0]
    here = os.path.dirname(os.path.abspath(__file__))
    files = [(f"{root}.frontend/{relative}", path)
             for relative, path in sorted(source_files(os.path.join(package, "frontend")))]
    files.append((f"{__name__.rpartition('.')[0]}/plan_cache.py", os.path.join(here, "plan_cache.py")))
    return _digest([(name, path, os.stat(path)) for name, path in files], sources_digest())


def _digest(files: list[tuple[str, str, os.stat_result]], start: bytes = b"") -> bytes:
    """The digest of ``start``, fusenum's version and ``files`` (``(name, path, status)``)."""
    by_text = not times_are_own([status for _, _, status in files])
    digest = new_hash(start + f"fusenum {__version__}\0".encode())
    for name, path, status in files:
        if by_text:
            with open(path, "rb") as file:
                digest.update(f"{name}\0".encode() + file.read() + b"\0")
        else:
            digest.update(f"{name}\0{status.st_size}\0{status.st_mtime_ns}\0".encode())
    return digest.digest()


def source_files(root: str, prefix: str = "") -> list[tuple[str, str]]:
    """``(relative posix path, path)`` of every ``*.py`` under ``root`` (os.scandir: pathlib's
    rglob costs several times the hashing)."""
    found = []
    with os.scandir(root) as listing:
        for entry in listing:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    found += source_files(entry.path, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".py") and entry.is_file(follow_symlinks=False):  # (not an editor's lock link)
                found.append((prefix + entry.name, entry.path))
    return found
