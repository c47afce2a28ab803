"""Executable memory for linked kernels: arenas that code is written into without a writable mapping.

Mapping fresh pages read-write, copying code in and then ``mprotect``-ing them read + execute makes
the kernel flush the TLBs of every CPU the process is running on, by inter-processor interrupts:
on a 2-core KVM virtual machine that took ~25 µs per kernel, and ~70 µs while the thread pool's
workers were awake -- most of what linking a kernel from the disk cache cost. Here an *arena* is
an anonymous shared-memory file (``memfd_create``) mapped once, read + execute, and never writable
in this process: code goes in with ``pwrite`` (into the file's pages, changing no page table of
ours), at offsets the arena never hands out again, so no CPU can hold stale instructions or TLB
entries for them. A freed block's pages go back with ``fallocate(PUNCH_HOLE)``; an arena that is
full and has no live block is unmapped and closed.

A forked child shares the arenas' files with its parent. The child closes its copies of their
descriptors at once (it never writes there: its new kernels go to arenas of its own) and unmaps
each once the blocks it inherited in it are freed. The parent goes on filling its current arena
past the fork, but never punches a hole below the point it had reached at the fork (the child may
still run that code).

Blocks are read + execute as a whole, so a kernel's constants are executable too (the
``mprotect`` path kept them read-only): nothing else is ever written there.

Where ``memfd_create`` or an executable shared mapping is refused (an old kernel,
``vm.memfd_noexec=2``, a seccomp or SELinux policy), :func:`reserve` returns None from then on and
the loader maps pages itself; a shortage (of descriptors, of memory) fails only that reserve.
"""
from __future__ import annotations

import ctypes
import errno
import os
import sys
import threading
from ctypes import c_char_p, c_int, c_long, c_size_t, c_uint, c_void_p

#: Address space per arena; only the pages written take memory. Small enough that an arena pinned
#: by one long-lived kernel costs little address space.
ARENA_BYTES = 1 << 22
_PAGE = 4096

_PROT_READ, _PROT_EXEC = 1, 4
_MAP_SHARED = 0x01
_MFD_CLOEXEC, _MFD_EXEC = 0x1, 0x10  # MFD_EXEC: Linux 6.3 on (older ones refuse it: EINVAL)
_FALLOC_FL_KEEP_SIZE, _FALLOC_FL_PUNCH_HOLE = 1, 2
_MAP_FAILED = (1 << 64) - 1
#: Failures that say nothing about whether arenas work here (the next reserve tries again).
_SHORTAGES = (errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.EAGAIN)

_lock = threading.RLock()  # re-entrant: a block's release may run from a garbage collection in here
_current: _Arena | None = None
#: Every arena still mapped.
_arenas: set[_Arena] = set()
_state = {"usable": None, "flags": _MFD_CLOEXEC | _MFD_EXEC}  # usable: None until an arena is tried


class _Arena:
    """One memfd file of ``size`` bytes, mapped read + execute at ``base``; blocks are handed out
    from ``next`` on. ``fd`` is -1 once closed (after a fork, in the child) and ``base`` 0 once
    unmapped; no hole is punched below ``kept`` (what a forked child may run)."""

    def __init__(self, size: int):
        fd = _memfd()
        try:
            if _libc.ftruncate(fd, size) != 0:
                raise OSError(ctypes.get_errno(), "ftruncate")
            base = _libc.mmap(None, size, _PROT_READ | _PROT_EXEC, _MAP_SHARED, fd, 0)
            if base is None or base == _MAP_FAILED:
                raise OSError(ctypes.get_errno(), "mmap")
        except BaseException:
            os.close(fd)
            raise
        self.fd, self.base, self.size, self.next, self.live, self.kept = fd, base, size, 0, 0, 0
        _arenas.add(self)

    def free_if_done(self) -> None:
        """Unmap and close this arena if no block lives in it and none will be added."""
        if self.live == 0 and self is not _current and self.base:
            _libc.munmap(self.base, self.size)
            self.base = 0
            self.close()
            _arenas.discard(self)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _memfd() -> int:
    fd = _libc.memfd_create(b"fusenum-kernels", _state["flags"])
    if fd < 0 and ctypes.get_errno() == errno.EINVAL and _state["flags"] & _MFD_EXEC:
        _state["flags"] &= ~_MFD_EXEC  # a kernel before 6.3: executable is its only kind
        fd = _libc.memfd_create(b"fusenum-kernels", _state["flags"])
    if fd < 0:
        raise OSError(ctypes.get_errno(), "memfd_create")
    return fd


class Block:
    """``size`` bytes at ``address``, read + execute, in an arena; :meth:`write` fills it once."""

    __slots__ = ("arena", "offset", "size", "address")

    def __init__(self, arena: _Arena, offset: int, size: int):
        self.arena, self.offset, self.size = arena, offset, size
        self.address = arena.base + offset

    def write(self, data: bytes) -> bool:
        """Put ``data`` (at most ``size`` bytes) at the start of the block; whether it all went."""
        if len(data) > self.size:
            raise ValueError(f"{len(data)} bytes do not fit a block of {self.size}")
        done = 0
        while done < len(data):
            fd = self.arena.fd
            written = _libc.pwrite(fd, data[done:], len(data) - done, self.offset + done) if fd >= 0 else -1
            if written <= 0:
                return False
            done += written
        return True

    def release(self) -> None:
        """Give the block's pages back (the code must no longer run)."""
        with _lock:
            arena = self.arena
            arena.live -= 1
            if arena.fd >= 0 and self.offset >= arena.kept:
                _libc.fallocate(arena.fd, _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE, self.offset, self.size)
            arena.free_if_done()


def reserve(size: int) -> Block | None:
    """A new block of ``size`` bytes (a whole number of pages), or None where arenas cannot be made
    (or ``size`` exceeds one)."""
    if size <= 0 or size % _PAGE:
        raise ValueError(f"a block is a whole number of pages, not {size} bytes")
    if _state["usable"] is False or size > ARENA_BYTES:
        return None
    with _lock:
        arena = _current
        if arena is None or arena.next + size > arena.size:
            arena = _new_arena()
            if arena is None:
                return None
        block = Block(arena, arena.next, size)
        arena.next += size
        arena.live += 1
        return block


def _new_arena() -> _Arena | None:
    """A new arena, made the current one (with ``_lock`` held); None if it could not be made."""
    global _current
    try:
        fresh = _Arena(ARENA_BYTES)
    except OSError as exc:
        if exc.errno not in _SHORTAGES:
            _state["usable"] = False
        return None
    _state["usable"] = True
    previous, _current = _current, fresh
    if previous is not None:
        previous.free_if_done()
    return fresh


def prepare() -> None:
    """Make the arena the next block comes from, if there is none yet (its ``memfd_create`` and
    ``mmap``: 0.1-0.4 ms of a process's first kernel link otherwise)."""
    with _lock:
        if _current is None and _state["usable"] is not False:
            _new_arena()


def _before_fork() -> None:
    _lock.acquire()  # (no arena half changed in the child)


def _after_fork_in_parent() -> None:
    for arena in _arenas:
        arena.kept = arena.next
    _lock.release()


def _after_fork_in_child() -> None:
    global _current
    _current = None
    for arena in list(_arenas):
        arena.kept = arena.size
        arena.close()
        arena.free_if_done()
    _lock.release()


def _setup() -> None:
    global _libc
    if not sys.platform.startswith("linux"):
        _state["usable"] = False
        return
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.mmap.argtypes, _libc.mmap.restype = [c_void_p, c_size_t, c_int, c_int, c_int, c_long], c_void_p
    _libc.munmap.argtypes, _libc.munmap.restype = [c_void_p, c_size_t], c_int
    _libc.ftruncate.argtypes, _libc.ftruncate.restype = [c_int, c_long], c_int
    _libc.pwrite.argtypes, _libc.pwrite.restype = [c_int, c_char_p, c_size_t, c_long], ctypes.c_ssize_t
    _libc.fallocate.argtypes, _libc.fallocate.restype = [c_int, c_int, c_long, c_long], c_int
    try:
        _libc.memfd_create.argtypes, _libc.memfd_create.restype = [c_char_p, c_uint], c_int
    except AttributeError:  # glibc before 2.27
        _state["usable"] = False


_libc: ctypes.CDLL
_setup()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)
