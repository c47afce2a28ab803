"""The helper process of :mod:`.exit_compiles`: its start, its claim on a cache directory, its work.

Run as a script (``python -S exit_helper.py ROOT STATE DIRECTORY STARTER``), this is the
helper's first code, standard library only: it lowers its scheduling priority to idle, closes the
file descriptors it inherited beyond its own, waits for the process that started it to exit, sets up
``sys.path`` (site-packages, unless the exiting interpreter ran without them: its ``-E``, ``-s``,
``-I`` and ``-P`` are passed on; never the current directory nor this file's own: the helper must
not import a module that happens to lie there), moves to ``/``, waits for its claim if it was not
handed one, and only then imports fusenum (a helper waiting its turn costs a bare interpreter, not
NumPy and fusenum) and compiles.

The claim: one helper works per cache directory at a time. It is an exclusive ``flock`` of the
directory itself, which the kernel releases when its last holder ends, however it ends, so nothing is
left on disk; and only a process that can open the directory, its user's (it is private), can hold
it. (It was an abstract socket named after the user and the directory: any user could bind that name
first, and every helper of the directory then waited :data:`WAIT_SECONDS` and gave up.) A directory
that cannot be opened or locked (gone, or on a file system without locks) has no claims. Elsewhere
than on Linux there are no claims and helpers do not wait for each other.
"""
from __future__ import annotations

import os
import sys
import time

#: Where the helper finds its claim when the exiting process took it (:func:`take`) and handed it on.
CLAIM_FD = 3
#: Seconds a helper waits for another helper of the same directory before giving up.
WAIT_SECONDS = 300.0
#: Seconds a helper compiles at most; whatever remains is left for a later process.
BUDGET_SECONDS = 120.0


def take(directory: str) -> int | None:
    """The claim on ``directory`` (a descriptor of it, holding its lock), or None if another holds it
    or there are no claims here."""
    return _try(directory)[1]


def wait(directory: str, timeout: float) -> tuple[bool, int | None]:
    """Wait until the claim on ``directory`` is free, then take it: (True, its descriptor, or None
    where there are no claims); (False, None) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        free, held = _try(directory)
        if free or time.monotonic() >= deadline:
            return free, held
        time.sleep(0.05)


def _try(directory: str) -> tuple[bool, int | None]:
    """``(True, descriptor)``: the claim, taken; ``(True, None)``: there are no claims here;
    ``(False, None)``: another holds it."""
    if not sys.platform.startswith("linux"):
        return True, None
    import fcntl
    try:
        held = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return True, None
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(held)
        return not isinstance(exc, BlockingIOError), None
    return True, held


def main() -> None:
    """The helper's start (see the module's docstring)."""
    _run_idle()
    root, state, directory, starter = sys.argv[1:5]
    os.closerange(CLAIM_FD + (state == "claimed"), 1 << 16)
    # Started with -S: the site-packages (and their .pth files) come once the process that started
    # this one has exited, so that this one's start-up does not slow that exit down (on a machine
    # whose CPUs share cores, even an idle-priority process on another CPU does).
    deadline = time.monotonic() + 10.0
    while os.getppid() == int(starter) and time.monotonic() < deadline:
        time.sleep(0.005)
    here = os.path.dirname(os.path.abspath(__file__))
    # (absolute before the move to "/": Python 3.10 leaves relative PYTHONPATH entries relative)
    sys.path[:] = [os.path.abspath(entry) for entry in sys.path if entry not in ("", here)]
    import site
    site.main()
    if root not in sys.path:
        sys.path.insert(0, root)
    os.chdir("/")
    if state == "claimed":
        claim: int | None = CLAIM_FD
    else:
        free, claim = wait(directory, WAIT_SECONDS)
        if not free:
            return
    try:
        compile_handed_over(directory)
    finally:
        if claim is not None:
            os.close(claim)


def compile_handed_over(directory: str) -> None:
    """The helper's work, once it holds its claim: compile and store each kernel read from stdin,
    then prebuild under the settings keys read there too (:mod:`.first_use`), then return. Stops
    after :data:`BUDGET_SECONDS`, or if ``directory`` is gone (never recreates it)."""
    import pickle
    from fusenum.runtime import disk_cache, kernels
    disk_cache.use_existing_only()
    keys, prebuild = pickle.loads(sys.stdin.buffer.read())
    deadline = time.monotonic() + BUDGET_SECONDS
    for spec, settings_key in keys:
        if time.monotonic() > deadline or not os.path.isdir(directory):
            return
        try:
            kernels.store_on_disk(spec, settings_key)
        except Exception:  # noqa: S112 -- a later process compiles it itself, and reports why
            continue
    if prebuild:
        from fusenum.runtime import prebuilt
        prebuilt.prebuild_after_exit(prebuild, deadline, directory)


def _run_idle() -> None:
    """Take only CPU time nothing else wants: Linux's SCHED_IDLE (posix_spawn cannot set it: glibc
    refuses it there with EINVAL), else the weakest niceness."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        try:
            os.nice(19)
        except OSError:
            pass


if __name__ == "__main__":
    main()
