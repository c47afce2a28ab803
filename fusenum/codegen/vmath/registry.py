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
    """An own implementation: ``emit(em, *args) -> value``; ``preferred`` over libmvec or not, and
    if so on machines whose widest SIMD level is in ``machines`` (None: on every machine)."""

    emit: Callable
    preferred: bool
    machines: tuple[str, ...] | None = None

    def preferred_on(self, machine_level: str) -> bool:
        """Whether this kernel is preferred over libmvec on a machine of ``machine_level``."""
        return self.preferred and (self.machines is None or machine_level in self.machines)


KERNELS: dict[tuple[str, str], Kernel] = {}
#: ``machines`` of the kernels preferred on AVX-512 machines only: where libmvec's AVX2 variants cost
#: much less than them at AVX2 (exp2 +42%, sin and cos +45%, tan +90%).
AVX512_MACHINES = ("avx512",)


def register(name: str, dtypes: str, preferred: str = "", machines: tuple[str, ...] | None = None):
    """Register ``fn(em, *args)`` as the own kernel of ``name`` for dtype chars ``dtypes``
    (``"fd"``), preferred over libmvec for the chars in ``preferred`` (on machines whose widest
    level is in ``machines``, if given: where libmvec's variant is much faster)."""
    def add(fn: Callable) -> Callable:
        for char in dtypes:
            KERNELS[name, char] = Kernel(fn, char in preferred, machines)
        return fn
    return add


def kernel(name: str, dtype: np.dtype) -> Kernel | None:
    """The own kernel of ``name`` for float32 or float64 lanes, if there is one."""
    return KERNELS.get((name, np.dtype(dtype).char))
