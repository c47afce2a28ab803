"""Whether a directory, and a file in it, are private enough to hold machine code fusenum executes.

The disk cache (:mod:`.disk_cache`) keeps kernels that fusenum loads and runs. A directory that
another user owns or that group or others may write could receive code fusenum did not write, and
so could a file in it that is another user's, writable by others, or reachable under a second name
(a hard link: where ``fs.protected_hardlinks`` is off, another user can link any file of this
user's into a directory of theirs, and swap that directory in). Directories fusenum creates, parents
included, are ``0700`` whatever the umask, as the XDG base-directory rule asks.
"""
from __future__ import annotations

import os
import stat


def problem(path: str, create: bool) -> str | None:
    """Why ``path`` cannot hold the cache (creating it ``0700`` if missing and ``create``), or None."""
    try:
        try:
            info = os.stat(path)  # (first: the usual directory exists, and makedirs' failure costs ~25 µs)
        except FileNotFoundError:
            if not create:
                raise
            make_directory(path)
            os.chmod(path, 0o700)  # mkdir's mode is masked by the umask
            info = os.stat(path)
    except OSError as exc:
        return f"cannot be created ({exc.strerror or exc})"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    found = not_private(info)
    if found is None and not os.access(path, os.W_OK | os.X_OK):
        return "is not writable"
    return found


def make_directory(path: str) -> None:
    """Create ``path`` and its missing parents, each ``0700`` (masked by the umask): ``os.makedirs``
    gives parents the umask's default mode, under ``umask 0`` ``~/.cache`` and ``~/.cache/fusenum``
    writable by all, who could then replace the directory."""
    parent = os.path.dirname(path)
    if parent != path and not os.path.isdir(parent):
        make_directory(parent)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:  # (made meanwhile by another process)
        pass


def not_private(info: os.stat_result) -> str | None:
    """Why a directory of status ``info`` is not private (another user's, or writable by others), or None."""
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return f"is owned by another user (uid {info.st_uid}), and kernels are machine code fusenum executes"
    writers = [who for bit, who in ((0o020, "group"), (0o002, "others")) if info.st_mode & bit]
    if writers:
        return (f"is writable by {' and '.join(writers)} (mode {info.st_mode & 0o777:o}),"
                " and kernels are machine code fusenum executes;"
                " make it private (chmod 700) or choose another with FUSENUM_CACHE_DIR")
    return None


def untrusted_file(status: os.stat_result) -> bool:
    """Whether an opened file of status ``status`` is another user's, writable by others, or has
    another name too (a hard link, which fusenum never makes)."""
    if status.st_nlink > 1:
        return True
    return (hasattr(os, "getuid") and status.st_uid != os.getuid()) or bool(status.st_mode & 0o022)
