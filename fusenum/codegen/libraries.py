"""Shared libraries that kernels call: glibc's libmvec, loaded on first need.

A kernel compiled in this process loads libmvec when :mod:`.mathlib` chooses one of
its functions. Object code compiled by another process (the disk cache) may call
libmvec too: :func:`load_for` loads it before such code is linked. It looks for
libmvec's symbol prefix in the object code (every symbol the code calls is named in
its string table), so a disk load neither imports the code generator nor loads
libmvec for a kernel that does not call it.
"""
from __future__ import annotations

import platform
import sys
from functools import lru_cache

from . import jit

#: The prefix of libmvec's vector function names (``_ZGVdN4v_sin``).
LIBMVEC_PREFIX = b"_ZGV"


@lru_cache(maxsize=None)
def libmvec_loaded() -> bool:
    """Whether glibc's libmvec is loaded into this process (loading it on first use)."""
    if not sys.platform.startswith("linux") or platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    return jit.load_library("libmvec.so.1")


def load_for(object_code: bytes) -> None:
    """Load the libraries ``object_code`` calls (before it is linked)."""
    if LIBMVEC_PREFIX in object_code:
        libmvec_loaded()
