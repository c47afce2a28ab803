"""Running an IR root on blocks: the work of one task of a dask graph.

A task ships an IR root whose input slots are numbered in the order of its
arguments, never a plan or a kernel; :func:`run_root` types nothing, it only
finds (or makes, once per process) the plan for the blocks' dtypes and runs it
through the same plan, staging and kernel caches as ``fusenum.evaluate``. So a
worker compiles each kernel once, or loads it from the disk cache.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from . import caches, kernels, staging
from .elementwise import execute
from ..errors import ArgumentTypeError
from ..ir.nodes import Node, walk
from ..ir.operands import Source

#: Plans kept (least recently made are dropped first); they keep their kernels, so this follows the
#: kernel cache's size (``FUSENUM_MAX_KERNELS``), as the plan cache does.
MAX_ENTRIES = min(1024, kernels.MAX_KERNELS)

_plans: "OrderedDict[tuple, object]" = OrderedDict()


def run_root(root: Node, arrays: list[np.ndarray]) -> np.ndarray:
    """The value of ``root`` (an IR root over input slots ``0..len(arrays)-1``; it may be a
    reduction) on ``arrays``, one per slot; NumPy scalars are taken as 0-d arrays."""
    arrays = [a if type(a) is np.ndarray else np.asarray(a) for a in arrays]
    key = (root, tuple(a.dtype for a in arrays))
    plan = _plans.get(key)
    if plan is None:
        declared = _slot_dtypes(root)
        if any(declared.get(k, a.dtype) != a.dtype.newbyteorder("=") for k, a in enumerate(arrays)):
            return run_root(root, _as_declared(arrays, declared))
        sources = tuple(Source(k) for k in range(len(arrays)))
        plan = caches.remember(_plans, key, staging.new_plan(root, sources, arrays), MAX_ENTRIES)
    return execute(plan, arrays)


def _slot_dtypes(root: Node) -> dict[int, np.dtype]:
    """The dtype ``root`` was typed for at each input slot (native byte order)."""
    return {node.attr: node.dtype for node in walk(root) if node.op == "input"}


def _as_declared(arrays: list[np.ndarray], declared: dict[int, np.dtype]) -> list[np.ndarray]:
    """``arrays`` cast to the dtypes their slots were typed for: a dask array's blocks may be of
    another dtype than the array declares (a wrong ``dtype=`` of ``map_blocks``; dask's own
    ``percentile`` of float16 gives float64 blocks), which the kernel would read as the declared
    one, past a narrower block's end. Cast as NumPy's ``same_kind`` allows, as the declared dtype
    is what the graph computes in; another kind is an error naming both."""
    cast = []
    for slot, array in enumerate(arrays):
        dtype = declared.get(slot, array.dtype)
        if dtype != array.dtype.newbyteorder("="):
            if not np.can_cast(array.dtype, dtype, "same_kind"):
                raise ArgumentTypeError(f"a block of operand {slot} is {array.dtype}, where its dask array "
                                        f"declares {dtype} (its dtype= or meta is wrong): cannot cast it "
                                        f"under 'same_kind'")
            array = array.astype(dtype)
        cast.append(array)
    return cast


@caches.owner
def _clear() -> None:
    caches.empty(_plans)
