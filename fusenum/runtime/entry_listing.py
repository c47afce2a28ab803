"""Which entries the disk cache's directory holds, as this process last listed it: a lookup that
may well find nothing skips the open of a file that is not there.

A run of new expressions looks in the disk cache for names it never held: each new text's
typed-plan record (:mod:`.plan_store`), and tier 0's kernel at hand for each new kernel
(:func:`.kernels.available`: its optimized, then its quick build). On the development VM a failed
open of a new name took 20-35 µs, three of them a text, where the rest of such a call at N = 100
takes ~300 µs. So after :data:`MISSES_BEFORE_LISTING` misses (a process making a few calls never
lists), the process lists the directory, and such lookups answer from the listing: a name not in
it is not there. The listing is taken again, at most every :data:`RELIST_SECONDS`, while the
directory's modification time differs from the one it was taken at, or the listing was taken
less than :data:`SETTLED_SECONDS` after it (a file system's timestamps are coarse: a later
change could keep the time). So an entry another process wrote is missed for at most
:data:`RELIST_SECONDS` (and its entries this process wrote never are): only lookups that may miss
use the listing (:func:`.disk_cache.load`'s ``may_skip``), and a miss costs no more than a call
interpreted where it could have run a kernel loaded; a compile always opens the file first.
"""
from __future__ import annotations

import os
import time

from ..codegen import locks

#: Failed lookups of a directory before this process lists it.
MISSES_BEFORE_LISTING = 32
#: Seconds between two listings of a directory, at least.
RELIST_SECONDS = 0.5
#: A listing is only trusted for good once taken this long after the directory's last change.
SETTLED_SECONDS = 1.0

_lock = locks.lock()  # (usable in a forked child)


class _Listing:
    def __init__(self, directory: str):
        self.directory = directory
        self.misses = 0
        self.names: set[str] | None = None
        self.modified = 0  # the directory's st_mtime_ns when listed
        self.settled = False  # listed SETTLED_SECONDS or more after that
        self.listed_at = 0.0  # time.monotonic()


_listing = _Listing("")


def absent(directory: str, name: str) -> bool:
    """Whether ``name`` is known not to be in ``directory`` (False: not known, open it)."""
    listing = _listing
    if listing.directory != directory or listing.names is None:
        return False
    try:
        modified = os.stat(directory).st_mtime_ns
    except OSError:
        return False
    if (modified != listing.modified or not listing.settled) and \
            time.monotonic() - listing.listed_at >= RELIST_SECONDS:
        listing = _list(directory) or listing
    names = listing.names
    return names is not None and name not in names


def note_miss(directory: str) -> None:
    """A lookup in ``directory`` found nothing: after enough of them, list it."""
    global _listing
    with _lock:
        if _listing.directory != directory:
            _listing = _Listing(directory)
        _listing.misses += 1
        due = _listing.names is None and _listing.misses >= MISSES_BEFORE_LISTING
    if due:
        _list(directory)


def note_stored(directory: str, name: str) -> None:
    """This process wrote ``name`` into ``directory``."""
    listing = _listing
    if listing.directory == directory and listing.names is not None:
        with _lock:
            listing.names.add(name)


def forget() -> None:
    """Drop the listing (the disk cache was reconfigured: :func:`.disk_cache.set_disk_cache`)."""
    global _listing
    with _lock:
        _listing = _Listing("")


def _list(directory: str) -> _Listing | None:
    """List ``directory`` now (its time taken first: a change while it is listed lists it again)."""
    global _listing
    try:
        modified = os.stat(directory).st_mtime_ns
        listed_at, now = time.monotonic(), time.time_ns()
        with os.scandir(directory) as entries:
            names = {entry.name for entry in entries}
    except OSError:
        return None
    listing = _Listing(directory)
    listing.names, listing.modified, listing.listed_at = names, modified, listed_at
    listing.settled = now - modified >= SETTLED_SECONDS * 1e9
    with _lock:
        if _listing.directory == directory:
            listing.misses = _listing.misses
        _listing = listing
    return listing
