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

from . import caches, staging
from .elementwise import execute
from ..ir.nodes import Node
from ..ir.operands import Source

#: Plans kept (least recently made are dropped first).
MAX_ENTRIES = 1024

_plans: "OrderedDict[tuple, object]" = OrderedDict()


def run_root(root: Node, arrays: list[np.ndarray]) -> np.ndarray:
    """The value of ``root`` (an IR root over input slots ``0..len(arrays)-1``; it may be a
    reduction) on ``arrays``, one per slot; NumPy scalars are taken as 0-d arrays."""
    arrays = [a if type(a) is np.ndarray else np.asarray(a) for a in arrays]
    key = (root, tuple(a.dtype for a in arrays))
    plan = _plans.get(key)
    if plan is None:
        sources = tuple(Source(k) for k in range(len(arrays)))
        plan = caches.remember(_plans, key, staging.new_plan(root, sources, arrays), MAX_ENTRIES)
    return execute(plan, arrays)


@caches.owner
def _clear() -> None:
    caches.empty(_plans)
