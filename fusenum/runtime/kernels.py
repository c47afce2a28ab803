"""The kernel cache: compiled kernels, kept in memory by signature.

A kernel's signature is its :class:`~fusenum.codegen.spec.KernelSpec` (the
hash-consed IR root, which fixes the expression and its dtypes; the operand
layout classes; the number of dimensions) plus the codegen settings (SIMD
level and vector-math mode, :mod:`fusenum.codegen.settings`). Both front ends
produce the same IR for the same expression, so they share kernels.

:func:`cache_info` counts a *hit* for every call served by an already compiled
kernel and a *miss* for every compilation.
"""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from typing import NamedTuple

from . import caches
from ..codegen import jit, settings
from ..codegen.abi import KERNEL_CTYPE, SYMBOL, WHOLE_CTYPE, WHOLE_SYMBOL
from ..codegen.modules import kernel_module, symbols
from ..codegen.spec import KernelSpec
from ..codegen.target import Target, make_target

#: Kernels kept before the least recently compiled are freed (a plan still using one keeps it alive).
MAX_KERNELS = 2048


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    entries: int


class Kernel:
    """A compiled kernel: ``function(start, stop, operands_tuple, layout) -> status``.

    Checked kernels also have ``whole(operands_tuple) -> status``. ``origin`` says
    where the machine code came from (``"compiled"``) and ``seconds`` how long that took.
    """

    __slots__ = ("spec", "target", "compiled", "address", "function", "whole", "needs_layout", "origin",
                 "seconds")

    def __init__(self, spec: KernelSpec, target: Target):
        self.spec = spec
        self.target = target
        started = time.perf_counter()
        self.compiled = jit.compile_kernel(kernel_module(spec, target), symbols(spec), target)
        self.seconds = time.perf_counter() - started
        self.origin = "compiled"
        self.address = self.compiled.addresses[SYMBOL]
        self.function = KERNEL_CTYPE(self.address)
        self.whole = WHOLE_CTYPE(self.compiled.addresses[WHOLE_SYMBOL]) if spec.checked else None
        self.needs_layout = spec.needs_layout


class _Stats:
    hits = 0
    misses = 0


stats = _Stats()
_kernels: "OrderedDict[tuple, Kernel]" = OrderedDict()
_lock = threading.Lock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_lock.acquire, after_in_parent=_lock.release, after_in_child=_lock.release)


def kernel(spec: KernelSpec) -> Kernel:
    """The compiled kernel for ``spec`` under the current codegen settings, compiled on first use."""
    key = (spec, settings.key)
    with _lock:
        found = _kernels.get(key)
        if found is not None:
            stats.hits += 1
            return found
        stats.misses += 1
        compiled = _kernels[key] = Kernel(spec, make_target(settings.simd))
        while len(_kernels) > MAX_KERNELS:
            _kernels.popitem(last=False)
        return compiled


def cached(spec: KernelSpec) -> Kernel | None:
    """The kernel for ``spec`` under the current settings if it is in memory (no compile, not counted)."""
    with _lock:
        return _kernels.get((spec, settings.key))


def cache_info() -> CacheInfo:
    """Kernel cache statistics: hits, misses (compilations) and entries (kernels held)."""
    return CacheInfo(stats.hits, stats.misses, len(_kernels))


@caches.owner
def clear() -> None:
    """Forget every compiled kernel (statistics restart at zero)."""
    with _lock:
        _kernels.clear()
        stats.hits = stats.misses = 0
