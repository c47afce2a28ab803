"""What a process's first kernel load needs, started at ``import fusenum`` on the background thread.

Before its first kernel can come from the disk cache, a process reads the host's description
recorded there (:mod:`.host_record`: the CPU's signature first, a few CPUIDs that each trap to the
hypervisor in a virtual machine) and digests fusenum's own sources for the keys
(:mod:`.sources_digest`): 2-3 ms, which made a warm process's first call several times its later
first calls. :func:`start` has :mod:`.background`'s thread do both while the program goes on
from its imports to its first call (reading its data, making its arrays); a first call that comes
sooner waits for what is under way (:func:`.host_record.recall` takes its lock) instead of doing
it again. Nothing is started where the disk cache is off, or its directory is missing (a new
machine: the first call creates it) or unfit (the first call warns, as before), so such an import
costs no thread; nothing is read from an empty directory.
"""
from __future__ import annotations

from ..codegen import target
from . import background, disk_cache, host_record, sources_digest


def start() -> None:
    """Queue the look-ahead on the background thread, if the disk cache may hold this host's record."""
    if disk_cache.looks_usable():
        background.submit(_prefetch)


def _prefetch() -> None:
    if disk_cache.holds_nothing():  # no record to read (a compile will describe the host)
        return
    # The signature first, outside recall's lock: it imports (under ``locks.loading``), and a thread
    # waiting for recall's lock may hold ``loading``.
    target.host_signature()
    sources_digest.sha256()
    host_record.recall()
    sources_digest.sources_digest()
