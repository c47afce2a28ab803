"""Shared libraries that kernels call: glibc's libmvec, loaded on first need.

A kernel compiled in this process loads libmvec when :mod:`.mathlib` chooses one of
its functions. Object code compiled by another process (the disk cache) may call
libmvec too: :func:`load_for` loads it before such code is linked. It looks for
libmvec's symbol prefix in the object code (every symbol the code calls is named in
its string table), so a disk load neither imports the code generator nor loads
libmvec for a kernel that does not call it.
"""
from __future__ import annotations

import ctypes
import platform
import sys
from functools import lru_cache

from . import jit

#: The prefix of libmvec's vector function names (``_ZGVdN4v_sin``).
LIBMVEC_PREFIX = b"_ZGV"


def _has_libmvec() -> bool:
    return sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64")


@lru_cache(maxsize=None)
def libmvec_loaded() -> bool:
    """Whether glibc's libmvec is loaded into this process (loading it on first use)."""
    return _has_libmvec() and jit.load_library("libmvec.so.1")


def map_libmvec() -> None:
    """Have the dynamic linker map libmvec now (~0.2 ms), so that :func:`libmvec_loaded` later finds
    it mapped: for a thread that looks ahead. Nothing fusenum keeps changes (the C library keeps
    the mapping), and a missing library is left for :func:`libmvec_loaded` to report."""
    if _has_libmvec():
        try:
            ctypes.CDLL("libmvec.so.1")
        except OSError:
            pass


def load_for(object_code: bytes) -> None:
    """Load the libraries ``object_code`` calls (before it is linked)."""
    if LIBMVEC_PREFIX in object_code:
        libmvec_loaded()
