"""What a process's first kernel load needs and no setting changes, read at ``import fusenum`` on a
short-lived thread of its own.

Before its first kernel can come from the disk cache, a process names the host's record
(:mod:`.host_record`) by the CPU's signature (a dozen CPUIDs, each a trap to the hypervisor in a
virtual machine, and llvmlite's version and library file) and keys kernels with a digest of
fusenum's own sources (:mod:`.sources_digest`): about 1.5 ms of its first call, which was then
several times a later first call; and its first kernel that calls libmvec maps it (~0.2 ms, a
``dlopen``). :func:`start` has a thread do these while the program goes on
from its imports to its first call (reading its data, at least making its arrays); a first call that
comes sooner waits for the signature under way (``locks.loading``) instead of reading it again.

Only that: the disk cache's settings are still read at the first call (a dask worker applies its
``env=`` after importing), so the thread neither creates nor warns about a directory, and is gone a
few milliseconds after the import (a thread left running would make every later ``fork()`` warn on
Python 3.12 and later). It is started where the directory the settings name now exists, is fit for
use and holds an entry, and reads the host's record there (:func:`.host_record.read_ahead`, ~0.2 ms):
the first call adopts it if its directory is still that one, else reads its own directory's. Either way (a new
machine's empty directory too) the thread then opens the archive of kernels shipped with the
package (:mod:`.shipped`), if there is one: checking it against this process (mostly reading the
code generator's sources, and mapping libmvec) took 1-2 ms of the first call that needed a one-node
kernel, at N = 10,000 a third of the cold workload's excess over numexpr. A warm process looks
there first too (tier 0 of a new expression; the reduction of ``a - mean(a)``, one node): opening
it ahead took ``benchmarks/first_call.py``'s warm workload at N = 10,000 from 8.8 to 6.3 ms
(medians of 12 alternating processes). A first call of a function now finds it open, or waits on
its lock for the check under way rather than doing it again. Before the archive, it adopts NumPy's
answers shipped beside it (:mod:`.shipped_answers`), which typing needs first.
"""
from __future__ import annotations

import atexit
import functools
import threading

from ..codegen import exec_memory, libraries, settings, target
from . import disk_cache, host_record, plan_store, shipped, shipped_answers, sources_digest


def start() -> None:
    """Start the look-ahead thread, if the disk cache may hold this host's record, or else an
    archive of shipped kernels may serve."""
    directory = disk_cache.directory_holding_entries()
    if directory is not None:
        job = functools.partial(_prefetch, directory)
    elif shipped.may_serve(settings.key):
        job = _open_archive
    else:
        return
    thread = threading.Thread(target=job, name="fusenum-prefetch", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # no thread to be had: the first call reads them itself
        return
    atexit.register(thread.join, EXIT_WAIT)


#: Seconds an exit waits for the thread (it takes a few milliseconds): a daemon thread still running
#: Python code while the interpreter finalizes can hang the exit (a CPython race, see
#: :func:`.kernels._make_or_hand_over`), which a script that exits right after ``import fusenum`` risks.
EXIT_WAIT = 1.0


def _open_archive() -> None:
    shipped_answers.adopt_now()  # (NumPy's answers shipped with the package: typing comes first)
    try:
        if shipped.may_serve(settings.key):
            shipped.archive(settings.key)  # (kept open for the process's calls; its check maps libmvec)
        exec_memory.prepare()  # (the arena the first kernel loaded, from either place, goes into)
    except Exception:  # noqa: S110 -- (the first call that needs it does the same)
        pass


def _prefetch(directory: str) -> None:
    shipped_answers.adopt_now()  # (as in _open_archive)
    try:
        target.host_signature()  # (None where it cannot be read: the first call then asks LLVM)
        host_record.read_ahead(directory)
        sources_digest.new_hash()
        sources_digest.sources_digest()
        plan_store.environment()
        libraries.map_libmvec()  # (dlopen lets the program run meanwhile: it releases the GIL)
    except Exception:  # (the first call does the same, and reports what fails)
        pass
    _open_archive()  # (tier 0's one-node kernels for a new expression: the archive, looked in first)
