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

A forked child shares the arenas' files with its parent. From a fork on, both processes stop
adding to the arenas that existed and never punch holes in them (the other process may still run
code there); each unmaps them once its own blocks in them are all freed.

Blocks are read + execute as a whole, so a kernel's constants are executable too (the
``mprotect`` path kept them read-only): nothing else is ever written there.

Where ``memfd_create`` or an executable shared mapping is refused (an old kernel,
``vm.memfd_noexec``, a seccomp or SELinux policy), :func:`reserve` returns None from then on and
the loader maps pages itself.
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading
from ctypes import c_char_p, c_int, c_long, c_size_t, c_uint, c_void_p

#: Address space per arena; only the pages written take memory.
ARENA_BYTES = 1 << 26

_PROT_READ, _PROT_EXEC = 1, 4
_MAP_SHARED = 0x01
_MFD_CLOEXEC = 1
_FALLOC_FL_KEEP_SIZE, _FALLOC_FL_PUNCH_HOLE = 1, 2
_MAP_FAILED = (1 << 64) - 1

_lock = threading.RLock()  # re-entrant: a block's release may run from a garbage collection in here
_current: _Arena | None = None
#: Every arena still mapped.
_arenas: set[_Arena] = set()
_state = {"usable": None}  # None until the first arena is tried


class _Arena:
    """One memfd file, mapped read + execute at ``base``; blocks are handed out from ``next`` on."""

    def __init__(self):
        fd = _libc.memfd_create(b"fusenum-kernels", _MFD_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "memfd_create")
        try:
            if _libc.ftruncate(fd, ARENA_BYTES) != 0:
                raise OSError(ctypes.get_errno(), "ftruncate")
            base = _libc.mmap(None, ARENA_BYTES, _PROT_READ | _PROT_EXEC, _MAP_SHARED, fd, 0)
            if base is None or base == _MAP_FAILED:
                raise OSError(ctypes.get_errno(), "mmap")
        except BaseException:
            os.close(fd)
            raise
        self.fd, self.base, self.next, self.live = fd, base, 0, 0
        #: Another process may run code in it (a fork happened since it was made).
        self.shared = False
        _arenas.add(self)

    def free_if_done(self) -> None:
        """Unmap and close this arena if no block lives in it and none will be added."""
        if self.live == 0 and self is not _current and self.fd >= 0:
            _libc.munmap(self.base, ARENA_BYTES)
            os.close(self.fd)
            self.fd = -1
            _arenas.discard(self)


class Block:
    """``size`` bytes at ``address``, read + execute, in an arena; :meth:`write` fills it once."""

    __slots__ = ("arena", "offset", "size", "address")

    def __init__(self, arena: _Arena, offset: int, size: int):
        self.arena, self.offset, self.size = arena, offset, size
        self.address = arena.base + offset

    def write(self, data: bytes) -> bool:
        """Put ``data`` (at most ``size`` bytes) at the start of the block; whether it all went."""
        done = 0
        while done < len(data):
            written = _libc.pwrite(self.arena.fd, data[done:], len(data) - done, self.offset + done)
            if written <= 0:
                return False
            done += written
        return True

    def release(self) -> None:
        """Give the block's pages back (the code must no longer run)."""
        with _lock:
            arena = self.arena
            arena.live -= 1
            if not arena.shared and arena.fd >= 0:
                _libc.fallocate(arena.fd, _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE, self.offset, self.size)
            arena.free_if_done()


def reserve(size: int) -> Block | None:
    """A new block of ``size`` bytes (a whole number of pages), or None where arenas cannot be made
    (or ``size`` exceeds one)."""
    global _current
    if _state["usable"] is False or not 0 < size <= ARENA_BYTES:
        return None
    with _lock:
        arena = _current
        if arena is None or arena.next + size > ARENA_BYTES:
            try:
                fresh = _Arena()
            except (OSError, AttributeError):  # AttributeError: a libc without memfd_create
                _state["usable"] = False
                return None
            _state["usable"] = True
            _current = fresh
            if arena is not None:
                arena.free_if_done()
            arena = fresh
        block = Block(arena, arena.next, size)
        arena.next += size
        arena.live += 1
        return block


def _share_arenas() -> None:
    """After a fork: the arenas that exist are shared with the other process from now on."""
    global _current
    retired, _current = _current, None
    for arena in list(_arenas):
        arena.shared = True
    if retired is not None:
        retired.free_if_done()


def _after_fork_in_parent() -> None:
    with _lock:
        _share_arenas()


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.RLock()  # (a thread the child does not have may have held it)
    _share_arenas()


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
    os.register_at_fork(after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)
