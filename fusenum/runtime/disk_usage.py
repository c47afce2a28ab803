"""The files of the disk cache's directory: which are fusenum's entries, what they take on disk, and
the removal of the least recently used (and of temporary files a killed process left).

An entry's size is what the file system allocated for it (whole blocks, as ``du`` counts them), not
its length: entries are a few kilobytes and each takes at least a block, so lengths undercounted a
full cache's space about 2.6 times (the development machine's own cache: 126,000 entries, 208 MB of
lengths in 551 MB of blocks).

Only names fusenum gives are counted or removed (a digest's 64 hexadecimal digits and a suffix, or
:data:`TEMP_PREFIX` and ``mkstemp``'s eight characters): the directory may be one the user keeps
other files in (``FUSENUM_CACHE_DIR=.``).
"""
from __future__ import annotations

import os
import stat
import time

TEMP_PREFIX = ".tmp-"
#: What follows :data:`TEMP_PREFIX` in a temporary file's name: eight of these (``tempfile.mkstemp``'s).
TEMP_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
#: A temporary file older than this was left by a killed process.
STALE_TEMP_SECONDS = 3600.0
_HEX = frozenset("0123456789abcdef")


def allocated(status: os.stat_result) -> int:
    """The bytes a file of status ``status`` takes on disk (its length where the system does not say)."""
    blocks = getattr(status, "st_blocks", None)
    return status.st_size if blocks is None else blocks * 512


def named_entry(name: str, suffixes: tuple[str, ...]) -> bool:
    """Whether ``name`` is an entry's: a digest's 64 hexadecimal digits and one of ``suffixes``."""
    digits, dot, suffix = name.partition(".")
    return len(digits) == 64 and dot + suffix in suffixes and _HEX.issuperset(digits)


def named_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file's, as the disk cache's writes name them."""
    return (len(name) == len(TEMP_PREFIX) + 8 and name.startswith(TEMP_PREFIX)
            and TEMP_CHARACTERS.issuperset(name[len(TEMP_PREFIX):]))


def entries(directory: str, suffixes: tuple[str, ...]) -> list[tuple[float, int, str]]:
    """``(mtime, bytes on disk, path)`` of every entry with one of ``suffixes``, oldest first (a stat
    each); stale temporary files are removed."""
    found = []
    now = time.time()
    try:
        listing = list(os.scandir(directory))
    except OSError:
        return []
    for entry in listing:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if named_temporary(entry.name):
            if now - info.st_mtime > STALE_TEMP_SECONDS:
                remove(entry.path)
        elif named_entry(entry.name, suffixes) and stat.S_ISREG(info.st_mode):
            found.append((info.st_mtime, allocated(info), entry.path))
    found.sort()
    return found


def total(directory: str, suffixes: tuple[str, ...]) -> int:
    """The bytes on disk of every entry with one of ``suffixes`` (a scan: see :func:`entries`)."""
    return sum(size for _, size, _ in entries(directory, suffixes))


def evict(directory: str, suffixes: tuple[str, ...], limit: int) -> int:
    """Remove the least recently used entries (with one of ``suffixes``) until at most ``limit``
    bytes remain; the total left."""
    found = entries(directory, suffixes)
    total = sum(size for _, size, _ in found)
    for _, size, path in found:
        if total <= limit:
            break
        remove(path)
        total -= size
    return total


def remove(path: str) -> None:
    """Unlink ``path`` if it is there (a name only: another name of the same file stays)."""
    try:
        os.unlink(path)
    except OSError:
        pass
