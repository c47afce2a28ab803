"""The disk cache: compiled kernels' object code, shared by every process of the user on the machine.

A new process finds the kernels earlier processes compiled: loading and linking
an entry takes a fraction of a millisecond, compiling tens. :mod:`.kernels`
looks in memory, then here, then compiles and stores the object code here.

**Where.** ``FUSENUM_CACHE_DIR``, else the user cache directory (``platformdirs.user_cache_dir("fusenum")
/kernels``, e.g. ``~/.cache/fusenum/kernels``; on Linux its XDG rule is applied here, without importing
it). ``FUSENUM_CACHE=off`` or :func:`set_disk_cache` turns it off. The directory is created ``0700``
(so are parents it lacks, whatever the umask) and entries ``0600``: they are machine code fusenum
executes, so a directory that is not private (:mod:`.private_directory`) is refused, as is one that
cannot be created or written; either way fusenum warns once (:class:`~fusenum.errors.DiskCacheWarning`)
and keeps kernels in memory only. The directory is checked when first used and again before each
write (it may have been opened up or replaced since), and each entry on the open file before it is
read; a symbolic link at an entry's name is not followed.

**Key.** An entry is named by a digest (:func:`key`, SHA-512 cut to 32 bytes:
:class:`.sources_digest.Hash`) of everything that decides its machine
code: the entry format, a digest of fusenum's own code generator (fusenum's version, and the path, size
and modification time of every source file of :mod:`fusenum.codegen` and :mod:`fusenum.ir`, or their
text where the times are not the files' own, so an edited lowering rule never meets code compiled
before the edit), the target and machine (:func:`fusenum.codegen.target.identity`: SIMD level, CPU
name and features, LLVM, llvmlite and C library versions), the codegen settings (SIMD level,
vector-math mode) and the kernel's description (its spec's canonical text,
:meth:`fusenum.codegen.spec.KernelSpec.canonical`, and where its code follows the installed NumPy,
NumPy's answers: :mod:`fusenum.runtime.kernels`), never Python's ``hash()``.

**Entries.** A header (magic, format version, key, payload length, the same digest
of the payload) and the kernel: its pre-linked image (:func:`fusenum.codegen.loader.prelink`),
or its object code where the loader cannot link it. A kernel's quick build is kept as
``<digest>.quick`` until its optimized build (``<digest>.kernel``) replaces it
(:mod:`.stored_code`). An entry that is truncated, corrupted, of another format or for another
key is removed and its kernel recompiled.
Writes go to a temporary file in the directory, then ``os.replace``: readers
see a whole entry or none, and many processes (dask workers, pytest-xdist) can
share one directory with no lock files for a killed process to leave behind.

**Size.** At most ``FUSENUM_CACHE_MAX_BYTES`` (default 512 MB) of disk space, as the file system
allocates it (:mod:`.disk_usage`): when a write takes the total over, the least recently used entries
(oldest modification time; a hit refreshes it if it is older than :data:`TOUCH_SECONDS`) are removed
down to 90% of the limit. The total is learnt by a scan of the directory, which a process makes only
once it has written a random share of the limit (:func:`_account`), so the directory may outgrow the
limit by about :data:`SCAN_FRACTION` of it between two scans. Eviction, :func:`clear_disk_cache` and
the removal of temporary files a killed process left touch only names fusenum gives: the directory
may be one the user keeps other files in.
"""
from __future__ import annotations

import operator
import os
import stat
import struct
import sys
import time
from functools import lru_cache
from random import Random
from typing import NamedTuple

from ..codegen import locks
from ..codegen.target import Target, identity
from ..errors import ArgumentTypeError, ConfigurationError, DiskCacheWarning, warn
from . import disk_usage, entry_listing, private_directory
from .disk_usage import STALE_TEMP_SECONDS, TEMP_PREFIX, remove as _remove  # noqa: F401 (this module's too)
from .sources_digest import Hash, new_hash, sources_digest
from .switches import on_or_off, whole_number

#: Bumped whenever the entry layout or what the key covers changes.
# 2: pre-linked images; NumPy's answers only in the keys of kernels that follow them.
# 3: SHA-512 (cut to 32 bytes) for SHA-256.
FORMAT_VERSION = 3
MAGIC = b"FUSENUMK"
#: magic, format version, key, payload length, digest of the payload.
HEADER = struct.Struct("<8sI32sQ32s")
SUFFIX = ".kernel"
#: The suffix of a kernel's quick build (:data:`fusenum.codegen.jit.QUICK`), kept under the same
#: digest until its optimized build (``.kernel``) replaces it: a process that exits before that
#: build is done leaves the next one code to run rather than a compile to wait for.
QUICK_SUFFIX = ".quick"
#: The suffixes of kernels.
KERNEL_SUFFIXES = (SUFFIX, QUICK_SUFFIX)
#: The suffix of a text's typed plans (:mod:`.plan_store`).
PLAN_SUFFIX = ".plan"
#: The suffixes of the entries that count towards the size limit and are evicted.
EVICTED_SUFFIXES = (*KERNEL_SUFFIXES, PLAN_SUFFIX)
#: A hit refreshes its entry's modification time (its place in the eviction order) only when that
#: is older than this many seconds: the metadata write took ~20 us of a ~40 us load.
TOUCH_SECONDS = 60.0
#: The suffix of the host's description (:mod:`.host_record`).
HOST_SUFFIX = ".host"
#: The suffix of the marker of a whole prebuild after a machine's first use (:mod:`.first_use`).
PREBUILT_SUFFIX = ".prebuilt"
#: The suffix of the marker of sources read and found as a shipped archive recorded them (:mod:`.shipped`).
CHECKED_SUFFIX = ".checked"
#: What :func:`clear_disk_cache` removes besides kernels and typed plans.
MARKER_SUFFIXES = (HOST_SUFFIX, PREBUILT_SUFFIX, CHECKED_SUFFIX)
DEFAULT_MAX_BYTES = 512 * 2**20
#: No kernel's entry comes near this (everyday expressions' take a few KB): a bigger file at an
#: entry's name is not fusenum's, and is removed unread rather than read into memory.
MAX_ENTRY_BYTES = 64 * 2**20
#: Eviction removes entries until the total is at most this fraction of the limit.
LOW_WATER = 0.9
#: A process scans the directory (to learn its size) once it has written a random amount between 0
#: and this fraction of the limit (:func:`_account`).
SCAN_FRACTION = 1 / 32
_random = Random()  # (its own: drawing from the random module's would change the user's sequence)


class DiskCache(NamedTuple):
    """The disk cache's settings (:func:`get_disk_cache`, :func:`set_disk_cache`)."""

    enabled: bool
    directory: str
    max_bytes: int


def _valid_max_bytes(value: object, name: str) -> int:
    """``value`` (an integer, NumPy's too) as a number of bytes: not ``1.5``, ``True`` or ``'100'``."""
    try:
        number = -1 if isinstance(value, bool) else operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        number = -1
    if number < 0:
        raise ConfigurationError(f"{name} must be a number of bytes (an integer >= 0), not {value!r}")
    return number


def _valid_directory(directory: object) -> str:
    """``directory`` (a str, or an ``os.PathLike`` of one) made absolute: bytes, an empty path, a NUL
    character and one the file system's encoding cannot write (a lone surrogate) are errors here, not
    surprises at the first kernel stored (whose UnicodeEncodeError reached the caller's evaluate)."""
    try:
        path = os.fspath(directory)  # type: ignore[arg-type]
    except TypeError:
        path = None
    if not isinstance(path, str):
        raise ArgumentTypeError(f"directory must be a str or an os.PathLike of one, not {directory!r}")
    if not path:
        raise ConfigurationError("directory must not be empty (to use the current directory, pass '.')")
    if "\0" in path:
        raise ConfigurationError(f"directory must not contain a NUL character, as {path!r} does")
    try:
        os.fsencode(path)
    except UnicodeEncodeError as exc:
        raise ConfigurationError(f"directory must be a path the file system can name, not {path!r}"
                                 f" ({exc.reason})") from None
    return os.path.abspath(path)


def _environment_settings() -> dict:
    """``enabled``, ``directory`` (None: the user cache directory; made absolute now, so a later
    chdir does not move it) and ``max_bytes`` from the environment."""
    directory = os.environ.get("FUSENUM_CACHE_DIR") or None
    max_bytes = os.environ.get("FUSENUM_CACHE_MAX_BYTES", "").strip() or str(DEFAULT_MAX_BYTES)
    return {"enabled": on_or_off("FUSENUM_CACHE"), "directory": os.path.abspath(directory) if directory else None,
            "max_bytes": _valid_max_bytes(max_bytes if (number := whole_number(max_bytes)) is None else number,
                                          "FUSENUM_CACHE_MAX_BYTES")}


_environment_settings()  # a bad value is an error at import


class _State:
    """The settings and what is known of the directory. The environment's settings are read on
    first use, not at import: a dask worker applies its ``env=`` after its process has imported
    the user's script, and so fusenum; settings made by :func:`set_disk_cache` win."""
    usable: str | None = None  # the directory, once checked
    refused = False  # checked and unusable: memory only until reconfigured
    estimate: int | None = None  # bytes on disk at the last scan, plus this process's writes since
    held: bool | None = None  # whether the directory held an entry when first asked (:func:`holds_entries`)
    unscanned = 0  # bytes written since the last scan (:func:`_account`)
    scan_after: float | None = None  # how many of them this process writes before it scans
    creates = True  # whether a missing directory is created (not by the exit helper: use_existing_only)

    def __getattr__(self, name: str):  # only for settings not read or set yet
        if name not in ("enabled", "directory", "max_bytes"):
            raise AttributeError(name)
        for key, value in _environment_settings().items():
            self.__dict__.setdefault(key, value)
        return self.__dict__[name]


state = _State()


def _forked_child() -> None:
    """A forked child counts its own writes towards a share of its own: one inherited from a parent
    that wrote (a prefork server's) would leave every worker short of it, and none would scan."""
    _random.seed()
    state.estimate, state.unscanned, state.scan_after = None, 0, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked_child)
# A fork waits for it; re-entrant, for a signal handler that calls fusenum while its thread holds it.
_lock = locks.lock(hold=True)


# ---- settings ---------------------------------------------------------------------------------
def _default_directory() -> str:
    if sys.platform == "linux" and os.path.isabs(os.environ.get("HOME", "")):
        # platformdirs' answer on Linux, the XDG base-directory rule, without importing it: that
        # took ~6 ms, paid by the first call of every process that sets no directory. (Without
        # a usable HOME, platformdirs asks the password database: it is asked then.)
        base = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):
            base = os.path.expanduser("~/.cache")
        return os.path.join(base, "fusenum", "kernels")
    with locks.loading:  # (a fork waits for an import)
        import platformdirs  # only when no directory is given
    return os.path.join(platformdirs.user_cache_dir("fusenum", appauthor=False), "kernels")


def get_disk_cache() -> DiskCache:
    """The disk cache's current settings (the directory as it will be used)."""
    return DiskCache(state.enabled, state.directory or _default_directory(), state.max_bytes)


def set_disk_cache(enabled: bool | None = None, directory: str | os.PathLike | None = None,
                   max_bytes: int | None = None) -> DiskCache:
    """Turn the disk cache on or off, move it to ``directory`` or bound it to ``max_bytes``
    (arguments left None keep their setting); returns the previous settings, so
    ``set_disk_cache(*previous)`` restores them. A background compile already under way stores its
    kernel under the settings in force when it finishes (``fusenum.runtime.tiering.wait_for_compiles``
    and ``fusenum.runtime.background.wait`` finish them first); an entry is right in any directory,
    its key naming everything its code depends on."""
    if enabled is not None and not isinstance(enabled, bool):
        raise ConfigurationError(f"enabled must be True, False or None, not {enabled!r}")
    if max_bytes is not None:
        max_bytes = _valid_max_bytes(max_bytes, "max_bytes")
    if directory is not None:
        directory = _valid_directory(directory)
    previous = get_disk_cache()
    with _lock:
        if enabled is not None:
            state.enabled = enabled
        if directory is not None:
            state.directory = directory
        if max_bytes is not None:
            state.max_bytes = max_bytes
        state.usable, state.refused, state.estimate, state.held = None, False, None, None
        state.unscanned, state.scan_after = 0, None
    entry_listing.forget()
    return previous


# ---- the directory ----------------------------------------------------------------------------
def usable() -> bool:
    """Whether kernels go to disk: enabled, and the directory is private and writable (checked
    once; a refusal warns once)."""
    return _directory() is not None


def directory_in_use() -> str | None:
    """The directory entries go to, or None where they go nowhere (as for :func:`usable`)."""
    return _directory()


def _directory() -> str | None:
    if not state.enabled or state.refused:
        return None
    if state.usable is not None:
        return state.usable
    # Found before taking _lock: without a usable HOME it imports under ``loading``, which a fork
    # takes before _lock (waiting for _lock there while holding ``loading`` would never end).
    default = None if state.directory else _default_directory()
    with _lock:
        if state.usable is None and not state.refused:
            path = str(state.directory or default)
            problem = _problem(path)
            if problem is None:
                state.usable = path
            else:
                _refuse(path, problem)
        return state.usable


def holds_entries() -> bool:
    """Whether the usable directory held a kernel when this process first asked: a cheap hint,
    before LLVM is loaded, that kernels this process needs may be there (the tiers then wait for a
    big call's kernel rather than interpret it)."""
    if state.held is None:
        directory, held = _directory(), False
        if directory is not None:
            try:
                with os.scandir(directory) as listing:
                    held = any(entry.name.endswith(KERNEL_SUFFIXES) for entry in listing)
            except OSError:
                pass
        state.held = held
    return state.held


def holds_nothing() -> bool:
    """Whether the usable directory holds no entry (kernel or host record) right now: then there is
    nothing to look up in it (a new machine, or a new ``FUSENUM_CACHE_DIR``). Stops at the first entry."""
    directory = _directory()
    return directory is None or not holds_any(directory)


def holds_any(directory: str, suffixes: tuple[str, ...] = (*KERNEL_SUFFIXES, HOST_SUFFIX),
              look_at: int | None = None) -> bool:
    """Whether ``directory`` holds an entry whose name ends with one of ``suffixes`` (a kernel or a
    host record unless told; stops at the first; False if unreadable). With ``look_at``, True also
    once that many entries were looked at: a directory of more may hold one (so False only for a
    directory without; reading a big one whole took a first call 1.2 ms per 1,300 entries)."""
    try:
        with os.scandir(directory) as listing:
            for count, entry in enumerate(listing, 1):
                if entry.name.endswith(suffixes) or count == look_at:
                    return True
    except OSError:
        pass
    return False


def use_existing_only() -> None:
    """Never create the directory in this process, nor again once removed: the helper that finishes
    compiles after a process's exit (:mod:`.exit_helper`) must not bring back a directory its user
    removed (``shutil.rmtree``, a ``TemporaryDirectory``)."""
    state.creates = False


def directory_holding_entries() -> str | None:
    """The disk cache's directory, as the settings would be read now, if the cache is on and the
    directory exists, is fit for use and holds an entry; else None. A hint, found without fixing
    the settings (still read at first use), creating the directory or warning."""
    settings = {**_environment_settings(), **state.__dict__}
    if not settings["enabled"] or state.refused:
        return None
    path = state.usable or settings["directory"] or _default_directory()
    if state.usable is None and _problem(path, create=False) is not None:
        return None
    return path if holds_any(path) else None


def _problem(path: str, create: bool = True) -> str | None:
    """Why ``path`` cannot hold the cache (created if missing, unless not ``create``), or None."""
    return private_directory.problem(path, create and state.creates)


def _refuse(path: str, problem: str) -> None:
    state.usable, state.refused = None, True
    warn(f"fusenum: not using the kernel cache directory {path}: it {problem}. "
         "Compiled kernels are kept in memory only.", DiskCacheWarning)


# ---- entries ----------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _key_prefix(target: Target) -> Hash:
    """The digest state after everything but the description (computed once per target)."""
    digest = new_hash(f"fusenum object code, format {FORMAT_VERSION}\0".encode())
    digest.update(sources_digest())
    digest.update(identity(target).encode() + b"\0")
    return digest


def key(description: str, target: Target) -> bytes:
    """The digest naming the object code that ``description`` (a canonical text of everything
    else that decides it, e.g. the codegen settings and a kernel spec's
    :meth:`~fusenum.codegen.spec.KernelSpec.canonical` text) gives on ``target``."""
    digest = _key_prefix(target).copy()
    digest.update(description.encode())
    return digest.digest()


def _path(directory: str, digest: bytes, suffix: str = SUFFIX) -> str:
    return f"{directory}{os.sep}{_name(digest, suffix)}"


def _name(digest: bytes, suffix: str) -> str:
    return f"{digest.hex()}{suffix}"


def _unpack(data: bytes, digest: bytes) -> bytes | None:
    """The payload of entry ``data`` if it is whole, of this format and for ``digest``; else None."""
    if len(data) < HEADER.size:
        return None
    magic, version, stored_key, length, checksum = HEADER.unpack_from(data)
    payload = data[HEADER.size:]
    if (magic, version, stored_key, length) != (MAGIC, FORMAT_VERSION, digest, len(payload)):
        return None
    return payload if new_hash(payload).digest() == checksum else None


def load(digest: bytes, suffix: str = SUFFIX, may_skip: bool = False,
         directory: str | None = None) -> bytes | None:
    """The object code (or, with another ``suffix``, the record) stored under ``digest``, or None (a
    bad entry is removed). Something other than a regular file at the entry's name (a FIFO, which a
    plain open would wait on forever; a directory), or a file over :data:`MAX_ENTRY_BYTES`, is a bad
    entry too: never read, and removed unless it is a directory (not fusenum's to empty). A symbolic
    link is neither followed nor removed: the kernel's next store replaces it. ``may_skip``: a
    lookup that may well miss, answered None without an open where this process's listing of the
    directory lacks the entry (:mod:`.entry_listing`; never before a compile). ``directory``: looked
    in instead of the one in use (found by :func:`directory_holding_entries`, by the look-ahead thread)."""
    if directory is None:
        directory = _directory()
        if directory is None:
            return None
    if may_skip and entry_listing.absent(directory, _name(digest, suffix)):
        return None
    path = _path(directory, digest, suffix)
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:  # (the common case)
        entry_listing.note_miss(directory)
        return None
    except OSError:  # unreadable, or a symbolic link
        return None
    try:
        status = os.fstat(descriptor)
        if _untrusted(status, directory):
            return None
        regular = stat.S_ISREG(status.st_mode) and status.st_size <= MAX_ENTRY_BYTES
        data = _read(descriptor, status.st_size) if regular else b""
        payload = _unpack(data, digest) if regular else None
        if payload is not None and time.time() - status.st_mtime > TOUCH_SECONDS:
            _touch(descriptor, path)  # most recently used
    except OSError:
        return None
    finally:
        os.close(descriptor)
    if payload is None and not stat.S_ISDIR(status.st_mode):
        _remove(path)  # (the name only: a FIFO's or a device's other names stay)
    return payload


# O_NONBLOCK: a FIFO opens at once (and is then not read); O_NOFOLLOW: a symbolic link is not opened.
_OPEN_FLAGS = os.O_RDONLY | sum(getattr(os, flag, 0) for flag in ("O_CLOEXEC", "O_NONBLOCK", "O_NOFOLLOW"))


def _touch(descriptor: int, path: str) -> None:
    """Refresh the modification time of the file read (not of what its name is now)."""
    try:
        os.utime(descriptor if os.utime in os.supports_fd else path)
    except OSError:
        pass


def _untrusted(status: os.stat_result, directory: str) -> bool:
    """Whether an opened entry is not to be trusted (:func:`.private_directory.untrusted_file`, never
    one fusenum wrote: the directory may have been opened up or replaced since its check), checked
    on the open file, so no rename can slip another in; the directory is then checked again, and
    given up if no longer private."""
    if not private_directory.untrusted_file(status):
        return False
    if status.st_nlink > 1:
        return True
    with _lock:
        problem = _problem(directory) if state.usable == directory and not state.refused else None
        if problem is not None:
            _refuse(directory, problem)
    return True


def _read(descriptor: int, size: int) -> bytes:
    """The file's ``size`` bytes (fewer if it is shorter)."""
    data = os.read(descriptor, size)
    while len(data) < size:
        more = os.read(descriptor, size - len(data))
        if not more:
            break
        data += more
    return data


def discard(digest: bytes, suffix: str = SUFFIX) -> None:
    """Remove the entry under ``digest`` (its object code could not be linked, or an optimized
    build replaces this quick one)."""
    directory = _directory()
    if directory is None:
        return
    path = _path(directory, digest, suffix)
    if suffix not in EVICTED_SUFFIXES:
        _remove(path)
        return
    try:
        size = disk_usage.allocated(os.lstat(path))
    except OSError:
        return  # not there (the common case for a .quick entry: no process left one)
    _remove(path)
    with _lock:
        if state.estimate is not None:
            state.estimate = max(0, state.estimate - size)


def store(digest: bytes, object_code: bytes, suffix: str = SUFFIX, create: bool = True) -> None:
    """Keep ``object_code`` under ``digest`` (atomically; a failure, or a directory no longer private,
    warns once and stops the cache).
    Only kernels and typed plans (:data:`EVICTED_SUFFIXES`) count towards the size limit and are
    evicted (a :mod:`.host_record` is a few hundred bytes per machine). ``create`` False: a
    directory removed meanwhile is not made again, and the entry is dropped without a warning (a
    write at the interpreter's exit: a ``TemporaryDirectory`` or ``shutil.rmtree`` stays removed)."""
    if HEADER.size + len(object_code) > MAX_ENTRY_BYTES:
        return  # (:func:`load` would not read it)
    checksum = new_hash(object_code).digest()
    header = HEADER.pack(MAGIC, FORMAT_VERSION, digest, len(object_code), checksum)
    for attempt in range(2):
        directory = _directory()
        if directory is None:
            return
        path = _path(directory, digest, suffix)
        try:
            problem = private_directory.not_private(os.stat(directory))
            taken = _write(path, header + object_code) if problem is None else 0
        except OSError as exc:
            if isinstance(exc, IsADirectoryError) or os.path.isdir(path):
                return  # a directory at this entry's name: this kernel is not stored, the others are
            with _lock:
                if state.usable != directory:
                    return
                if isinstance(exc, FileNotFoundError) and not create:
                    return
                if isinstance(exc, FileNotFoundError) and attempt == 0 and state.creates:
                    state.usable = None  # removed meanwhile (a cleaned ~/.cache): create it again
                    continue
                _refuse(directory, f"cannot be written ({exc.strerror or exc})")
            return
        if problem is not None:  # opened up or replaced since its check: nothing more goes there
            with _lock:
                if state.usable == directory:
                    _refuse(directory, problem)
            return
        entry_listing.note_stored(directory, _name(digest, suffix))
        if suffix in EVICTED_SUFFIXES:
            _account(directory, taken)
        return


def _write(path: str, data: bytes) -> int:
    """Write ``path`` atomically: a temporary file (mode 0600) in its directory, then a rename; the
    bytes it takes on disk."""
    with locks.loading:  # (a fork waits for an import)
        import tempfile  # only when something is written
    handle, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            taken = disk_usage.allocated(os.fstat(handle))
        os.replace(temporary, path)
    except BaseException:
        _remove(temporary)
        raise
    return taken


# ---- size -------------------------------------------------------------------------------------
def _account(directory: str, written: int) -> None:
    """Count ``written`` bytes, just stored, towards the limit; evict beyond it.

    How much the directory holds is learnt by a scan, a stat per entry: a second and more for the
    hundred thousand entries a well-used cache holds, paid at the first write of every process (at
    its exit, for typed plans). So a process scans only once it has written a random amount between
    0 and :data:`SCAN_FRACTION` of the limit since its last scan, and counts on from the scan's
    total meanwhile: one that writes a few entries seldom scans (with probability written / (limit *
    SCAN_FRACTION)), and over many processes about that fraction is written between two scans, by
    which the directory may outgrow the limit before eviction brings it back to 90%. (Scanning only
    once, a process writing beside others saw only its own writes: two filled a cache to 1.75x.)
    """
    with _lock:
        state.unscanned += written
        if state.estimate is not None:
            state.estimate += written
        if state.scan_after is None:
            state.scan_after = _random.random() * state.max_bytes * SCAN_FRACTION
        if state.unscanned >= state.scan_after:
            state.estimate = disk_usage.total(directory, EVICTED_SUFFIXES)
            state.unscanned, state.scan_after = 0, None
        if state.estimate is not None and state.estimate > state.max_bytes:
            state.estimate = disk_usage.evict(directory, EVICTED_SUFFIXES, int(state.max_bytes * LOW_WATER))


def bytes_on_disk() -> int:
    """Bytes of entries in the cache directory (0 when the disk cache is not in use)."""
    directory = _directory()
    return 0 if directory is None else disk_usage.total(directory, EVICTED_SUFFIXES)


def clear_disk_cache() -> None:
    """Remove every entry from the kernel cache directory in use (none while the disk cache is off or
    its directory refused), the host's description and the markers of a prebuild after first use
    and of checked sources (kernels in memory stay)."""
    directory = _directory()
    if directory is None:
        return
    with _lock:
        for _, _, path in disk_usage.entries(directory, EVICTED_SUFFIXES):
            _remove(path)
        try:
            with os.scandir(directory) as listing:
                records = [entry.path for entry in listing
                           if disk_usage.named_entry(entry.name, MARKER_SUFFIXES)]
        except OSError:
            records = []
        for path in records:
            _remove(path)
        state.estimate = 0
