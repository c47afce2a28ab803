"""The table of fusenum's own vector kernels: which function and dtype each computes.

The kernel modules of this package register themselves here when
:mod:`fusenum.codegen.vmath` imports them; this module imports none of them.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ...ir.records import record


@record
class Kernel:
    """An own implementation: ``emit(em, *args) -> value``; ``preferred`` over libmvec or not."""

    emit: Callable
    preferred: bool


KERNELS: dict[tuple[str, str], Kernel] = {}


def register(name: str, dtypes: str, preferred: str = ""):
    """Register ``fn(em, *args)`` as the own kernel of ``name`` for dtype chars ``dtypes``
    (``"fd"``), preferred over libmvec for the chars in ``preferred``."""
    def add(fn: Callable) -> Callable:
        for char in dtypes:
            KERNELS[name, char] = Kernel(fn, char in preferred)
        return fn
    return add


def kernel(name: str, dtype: np.dtype) -> Kernel | None:
    """The own kernel of ``name`` for float32 or float64 lanes, if there is one."""
    return KERNELS.get((name, np.dtype(dtype).char))
