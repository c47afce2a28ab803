"""A machine's first use: whether tier 0 lacked one-node kernels here, and whether they were all prebuilt since.

On a machine whose disk cache has never held them and whose package shipped none that serve it
(:mod:`.shipped`: another SIMD level or vector-math mode, another NumPy release, a package built
without them), the first use of each transcendental function
(and of the few other operations tier 0 computes with a small kernel of its own, :mod:`.interpreter`)
compiles that one-node kernel: LLVM's start-up and 5-10 ms per kernel, on the call's path. A later
process finds on disk only those that earlier ones needed. So :func:`one_node` (tier 0's way to its
one-node kernels) notes the codegen settings under which this process compiled one;
at exit (:func:`wanted`), unless a *marker* entry in the disk cache says that every one-node kernel
has been prebuilt under those settings, the helper that finishes the exiting process's pending
compiles (:mod:`.exit_compiles`, at idle priority, detached) also prebuilds them all, as ``python -m
fusenum prebuild`` would (:func:`fusenum.runtime.prebuilt.prebuild_after_exit`), then writes the marker.
From then on, every process of the user interprets a new expression from its first call.

It happens once per machine (per fusenum version and codegen settings: the marker's key is a
kernel key, :func:`.disk_cache.key`) and costs idle CPU time only (about 11 s on the 2-core
development machine) and 1.5 MB of entries; ``FUSENUM_PREBUILD_AFTER_EXIT=off`` turns it off (pending
compiles are still handed over; ``FUSENUM_COMPILE_AFTER_EXIT=off`` turns off both). A helper that
runs out of time or is killed writes no marker: a later process that lacks a one-node kernel asks
again, and kernels already on disk are not compiled twice. The marker is not evicted with the
kernels; once evicted, a one-node kernel is compiled on first use again, as before the prebuild.
"""
from __future__ import annotations

import os

from . import disk_cache, kernels, shipped
from .switches import on_or_off
from ..codegen import settings
from ..codegen.spec import KernelSpec
from ..codegen.target import host_described, make_target

#: No prebuild after first use where the disk cache is bounded below this many bytes: the prebuild
#: (~1.5 MB) would evict much of what the user's own processes stored.
MIN_CACHE_BYTES = 32 * 2**20
#: Settings keys (:data:`fusenum.codegen.settings.key`) under which this process lacked a one-node kernel.
_missing: set[tuple] = set()


def enabled() -> bool:
    """Whether the exit helper prebuilds after a first use (``FUSENUM_PREBUILD_AFTER_EXIT``, default on;
    :class:`~fusenum.ConfigurationError` for a value that is neither on nor off)."""
    return on_or_off("FUSENUM_PREBUILD_AFTER_EXIT")


def one_node(spec: KernelSpec, settings_key: tuple | None = None) -> kernels.Kernel:
    """Tier 0's one-node kernel ``spec`` (:func:`fusenum.runtime.kernels.kernel`), noting the settings
    if this process compiled it (it was neither on disk nor shipped with the package)."""
    if settings_key is None:
        settings_key = settings.key  # (read once: another thread may change the settings meanwhile)
    made = kernels.kernel(spec, settings_key)
    if made.origin == "compiled":
        note_missing(settings_key)
    return made


def note_missing(settings_key: tuple) -> None:
    """Note that a one-node kernel tier 0 needs under ``settings_key`` was not at hand."""
    _missing.add(settings_key)


def wanted() -> list[tuple]:
    """The settings keys to prebuild under after this process's exit: those noted, where the disk
    cache is usable and bounded to :data:`MIN_CACHE_BYTES` or more, the helper and prebuilding after
    exit are on, and no marker says it was done (looked for only where the host is described: the
    helper looks again)."""
    noted = sorted(_missing.copy())
    try:
        if not noted or not (enabled() and on_or_off("FUSENUM_COMPILE_AFTER_EXIT") and disk_cache.usable()) \
                or disk_cache.get_disk_cache().max_bytes < MIN_CACHE_BYTES:
            return []
    except Exception:  # noqa: BLE001 -- never a traceback at exit: a setting changed since its check at
        return []      # import, a directory refused meanwhile whose warning is an error (-W error)
    # (the marker's key names the host: where LLVM would have to describe it, which it must not
    # do at exit, the helper looks for the marker itself). Not where an archive shipped with the
    # package serves: it holds every kernel a prebuild would make (what was missing is not one).
    return [key for key in noted if not (_shipped_here(key) or host_described() and _done_here(key))]


def _shipped_here(settings_key: tuple) -> bool:
    try:
        return shipped.archive(settings_key) is not None
    except Exception:  # noqa: BLE001 -- never a traceback at exit
        return False


def _done_here(settings_key: tuple) -> bool:
    """:func:`done`, False where it cannot tell (a SIMD level LLVM refused: never a traceback at
    exit; the helper looks again)."""
    try:
        return done(settings_key)
    except Exception:  # noqa: BLE001
        return False


def done(settings_key: tuple) -> bool:
    """Whether the disk cache holds the marker of a whole prebuild under ``settings_key``."""
    return disk_cache.load(_marker(settings_key), disk_cache.PREBUILT_SUFFIX) is not None


def mark_done(settings_key: tuple) -> None:
    """Store the marker of a whole prebuild under ``settings_key``."""
    disk_cache.store(_marker(settings_key), b"1", disk_cache.PREBUILT_SUFFIX, create=False)


def _marker(settings_key: tuple) -> bytes:
    return disk_cache.key(f"every one-node kernel, prebuilt under {settings_key!r}", make_target(settings_key[0]))


def forget() -> None:
    """Forget what was noted (a forked child's exit hands over its own first use, not its parent's)."""
    _missing.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=forget)


__all__ = ["done", "enabled", "mark_done", "note_missing", "one_node", "wanted"]
