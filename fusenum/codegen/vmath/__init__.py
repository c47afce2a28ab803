"""fusenum's own vector implementations of transcendental functions, in LLVM IR.

Each kernel works at any lane count (the scalar tail computes what the vector
body does) and needs no instruction beyond the target's: fused multiply-adds are
``llvm.fma``, exact everywhere (the C library's ``fma`` without FMA hardware),
so results do not depend on the SIMD level. Accuracy is within a few ULP of the
correctly rounded result, and special values (NaN, infinities, signed zeros,
overflow and underflow) follow C99 and NumPy.

A kernel is *preferred* when it beats glibc's libmvec on this kind of machine;
otherwise it is the fallback used when libmvec is unavailable
(see :mod:`fusenum.codegen.mathlib`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
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


# Kernel modules register themselves when imported.
from . import cbrt, exp, hyperbolic, log, pow, trig  # noqa: E402,F401
