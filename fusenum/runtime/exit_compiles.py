"""The compiles a process leaves pending at its exit, finished by a detached helper process.

The tiers' background compiler (:mod:`.tiering`) never delays the interpreter's exit: what it has
not compiled when the process ends is dropped. A short process (a script, a test, a notebook's
``!python``) often ends before its compiler has loaded LLVM at all, and the next run of the same
code ends the same way: its kernels never reach the disk cache, so every run interprets the same
expressions and queues the same compiles again, and quick builds loaded from the disk cache are
never optimized. (``benchmarks/first_call.py``: the next process after a cold run found 17 of the
workload's 20 fused kernels, every time; a 20-expression workload at N = 10,000 then took 22-36 ms
against 17-21 ms once the disk cache held all of them.)

So at exit, if the disk cache is in use and anything is pending (there, or among the optimized builds
:mod:`.background` has queued, which would otherwise hold the exit), :func:`hand_over` starts one new
Python process, detached (its own session, standard streams on ``/dev/null``, the list of kernels on
its stdin; from its first line of Python on, Linux's ``SCHED_IDLE`` policy, and nothing imported
before the exiting process is gone), and the exiting process goes on without waiting for it (the
exit takes ~10 ms longer: the spawn, and the helper's interpreter start-up overlapping the
teardown). The helper (:mod:`.exit_helper`) builds each kernel's optimized code and stores it in
the same disk-cache directory (as :func:`fusenum.prebuild` does), one helper per
directory at a time, and exits. Kernels are keyed as in the exiting process (codegen settings, the
same fusenum package, the same Python), so the next process finds them. After a process that
lacked one of tier 0's one-node kernels, the helper also prebuilds them all, once per machine
(:mod:`.first_use`). Nothing is handed over under ``FUSENUM_COMPILE_AFTER_EXIT=off``, nor from a
frozen application, an application embedding Python, or when the disk cache is off; a helper whose
directory was removed meanwhile stops.
"""
from __future__ import annotations

import os
import pickle
import sys

from ..errors import ConfigurationError
from . import disk_cache, exit_helper
from .switches import on_or_off

#: Kernels handed over at most (queue order: compiles asked for first, optimized builds last).
MAX_HANDED_OVER = 256


def enabled() -> bool:
    """Whether pending compiles are handed over at exit (``FUSENUM_COMPILE_AFTER_EXIT``, default on;
    :class:`~fusenum.ConfigurationError` for a value that is neither on nor off)."""
    return on_or_off("FUSENUM_COMPILE_AFTER_EXIT")


def possible() -> bool:
    """Whether :func:`hand_over` may start a helper here: turned on, a Python interpreter, a usable
    disk cache. A value set wrong since the import checked it is off here: this runs at exit, where
    an error would be a traceback (as :func:`.first_use.wanted` takes it)."""
    try:
        turned_on = enabled()
    except ConfigurationError:
        return False
    return turned_on and _is_python(sys.executable) and bool(disk_cache.usable())


def hand_over(keys: list[tuple], prebuild: list[tuple] = ()) -> int | None:
    """Start a detached helper process that compiles ``keys`` (``(KernelSpec, settings key)``
    pairs) into the disk cache, then prebuilds under the settings keys ``prebuild``
    (:mod:`.first_use`); its process id, or None if nothing was started."""
    if not (keys or prebuild) or not possible():
        return None
    settings = disk_cache.get_disk_cache()
    try:
        return _spawn(list(dict.fromkeys(keys))[:MAX_HANDED_OVER], list(prebuild), settings)
    except Exception:  # noqa: BLE001 -- never a traceback at exit: the next process compiles them itself
        return None


def _is_python(executable: str) -> bool:
    """Whether ``executable`` is a Python interpreter, as far as its name tells: not an application
    that embeds Python (uWSGI, Blender: their ``sys.executable`` is the application) or a frozen one."""
    return bool(executable) and not getattr(sys, "frozen", False) and \
        os.path.basename(executable).lower().startswith(("python", "pypy"))


def _spawn(keys: list[tuple], prebuild: list[tuple], settings: disk_cache.DiskCache) -> int | None:
    payload = pickle.dumps((keys, prebuild), protocol=pickle.HIGHEST_PROTOCOL)
    pipe_read, write = os.pipe()
    read = _renumbered(pipe_read)
    os.close(pipe_read)
    # Taken here and handed on, so that it is held from before this process ends (a
    # :func:`wait_for_helpers` right after sees the helper); if another helper holds it, the new
    # one waits for it.
    claim = exit_helper.take(settings.directory)
    try:
        capacity = _pipe_capacity(write, len(payload))
        while len(payload) > capacity and len(keys) > 1:  # writing it would wait for the helper: never at exit
            keys = keys[:len(keys) // 2]
            payload = pickle.dumps((keys, prebuild), protocol=pickle.HIGHEST_PROTOCOL)
        if len(payload) > capacity:
            return None
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        environment = dict(os.environ, FUSENUM_CACHE_DIR=settings.directory, FUSENUM_CACHE="on",
                           FUSENUM_CACHE_MAX_BYTES=str(settings.max_bytes), FUSENUM_COMPILE_AFTER_EXIT="off")
        actions = [(os.POSIX_SPAWN_DUP2, read, 0), (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
        if claim is not None:
            handed = _renumbered(claim)
            os.close(claim)
            claim = handed
            actions.append((os.POSIX_SPAWN_DUP2, handed, exit_helper.CLAIM_FD))
        arguments = [sys.executable, "-S", *_interpreter_flags(), exit_helper.__file__, root,
                     "waits" if claim is None else "claimed", settings.directory, str(os.getpid())]
        pid = os.posix_spawn(sys.executable, arguments, environment, file_actions=actions, setsid=True)
        os.write(write, payload)
        return pid
    finally:
        if claim is not None:
            os.close(claim)
        os.close(read)
        os.close(write)


def _renumbered(fd: int) -> int:
    """A close-on-exec copy of ``fd`` numbered above the helper's standard streams and claim, so
    that none of the spawn's ``dup2`` meets its own target."""
    import fcntl
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)


def _interpreter_flags() -> list[str]:
    """The exiting interpreter's options that decide where modules come from, for the helper: it
    must not import what this process kept out (user site-packages, ``PYTHONPATH``)."""
    flags = sys.flags
    if flags.isolated:
        return ["-I"]
    return [option for option, on in (("-E", flags.ignore_environment), ("-s", flags.no_user_site),
                                      ("-P", getattr(flags, "safe_path", False))) if on]


def _pipe_capacity(fd: int, wanted: int) -> int:
    """The pipe's buffer size, grown towards ``wanted`` where Linux allows."""
    import fcntl
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        try:
            return fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, max(wanted, 4096))
        except OSError:  # beyond /proc/sys/fs/pipe-max-size
            pass
    if hasattr(fcntl, "F_GETPIPE_SZ"):
        return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    return 4096  # POSIX's PIPE_BUF at least


def prepare() -> None:
    """Import now what :func:`hand_over` needs, so that the exit need not (called by the tiers'
    compiler thread when it starts: by the time there is anything to hand over)."""
    import fcntl  # noqa: F401


def wait_for_helpers(directory: str | None = None, timeout: float = exit_helper.WAIT_SECONDS) -> bool:
    """Block until no helper works for ``directory`` (default: the disk cache's directory); False if
    ``timeout`` seconds passed first. For benchmarks and tests that measure the next process: it sees
    the helper at work, not others waiting their turn behind it (after processes that exited one at a
    time, there is one)."""
    if directory is None:
        directory = disk_cache.get_disk_cache().directory
    free, claim = exit_helper.wait(directory, timeout)
    if claim is not None:
        os.close(claim)
    return free
