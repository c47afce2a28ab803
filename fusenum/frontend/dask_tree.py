"""The combine and aggregate steps of a tree reduction over dask blocks, and that tree run inside a task.

A reduction over several blocks is reduced per block first (the partial results, one per block along
each reduced axis), then those are reduced in groups of ``split_every`` along each reduced axis, level
by level, until one group is left for the aggregate step: dask's ``da.reduction`` tree, with fusenum
kernels as its :class:`Combine` steps.

When the reduction's result only feeds an elementwise expression (``A - mean(A, axis=0)``), the tree's
levels are each a phase of the scheduler: a wait for the slowest task, and a transfer, between reading
``A`` for the sums and reading it again for the difference. :class:`LocalTree` runs the same tree inside
each task of that expression instead, on the partial results it is handed (``blockwise`` concatenates
them): the same groups, in the same order, each group C-contiguous as dask's concatenation makes it,
through the same :class:`Combine` steps, so the bits are those of ``da.reduction``'s tree. Each task
repeats the tree's small work; :func:`fits_in_a_task` says when that is worth it.
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..errors import warn
from ..ir import nodes, numpy_behaviour
from ..ir.nodes import Node
from ..ir.reductions import ReduceAttr, divide_by_count
from ..runtime.blocks import run_root

# The most partial results one task takes (each is an edge of the graph, for every task of the
# expression, and each level of the tree a few kernel calls per task), and how much smaller than one
# block of the reduction's argument they must be together, unless they are only a few elements: a task
# combines 65,536 in well under a millisecond, less than a scheduler phase costs. On a 2-worker
# LocalCluster, column means of 4, 10 and 16 row blocks ran 1.0-1.5x faster this way than with the
# tree's own tasks, 32 blocks as fast, 64 blocks 1.2-1.9x slower (docs/performance.md).
MOST_PARTIALS_PER_TASK = 16
SMALLER_BY_AT_LEAST = 16
FEW_ELEMENTS = 1 << 16


class Combine:
    """A reduction step over concatenated partial results (dask's ``combine``/``aggregate``
    signature): ``reduction`` of them along ``axis`` in ``dtype``; ``count`` (``mean``) divides
    the total at the end, as NumPy's ``mean`` does. Only the ``final`` step (the aggregate) gives
    the row's warning ("All-NaN slice encountered"): a block may be all NaN where its slice is not."""

    __slots__ = ("reduction", "dtype", "count", "final", "to_half")

    def __init__(self, reduction: str, dtype: np.dtype, count: int | None = None, final: bool = False,
                 to_half: bool = False):
        self.reduction, self.dtype, self.count = reduction, dtype, count
        self.final, self.to_half = final, to_half

    def __call__(self, partials: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
        partials = np.asarray(partials)
        root = Node("reduce", (nodes.input_slot(0, self.dtype),), self.dtype,
                    ReduceAttr(self.reduction, tuple(axis), True, partial=not self.final))
        total = run_root(root, [partials])
        if not keepdims:
            total = total.reshape([n for ax, n in enumerate(total.shape) if ax not in axis])
        if self.count is not None:
            if self.final and not self.count:
                warn(numpy_behaviour.empty_mean_message())  # (as staging's mean)
            divide_by_count(total, self.count, self.to_half)  # (as staging's mean)
        return total

    def __reduce__(self):
        return (type(self), (self.reduction, self.dtype, self.count, self.final, self.to_half))

    def __dask_tokenize__(self) -> tuple:
        return (type(self).__name__, self.reduction, self.dtype.str, self.count, self.final, self.to_half)


def as_they_are(partials: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """``da.reduction``'s chunk step on partial results already reduced per block: nothing to do."""
    return partials


def group_sizes(split_every: Any, axes: tuple[int, ...]) -> dict[int, int]:
    """Partial results per group along each reduced axis, as ``da.reduction`` reads ``split_every``
    (None: dask's configuration, 4 by default; an int is shared out among the axes)."""
    import dask

    split_every = split_every or dask.config.get("split_every", 4)
    if isinstance(split_every, dict):
        return {ax: split_every.get(ax, 2) for ax in axes}
    return dict.fromkeys(axes, max(int(split_every ** (1 / (len(axes) or 1))), 2))  # (an int: checked before)


def tree_depth(numblocks: tuple[int, ...], groups: dict[int, int]) -> int:
    """The tree's levels, the aggregate included, computed as ``da.reduction`` computes them (its
    floating-point logarithm decides the level count, so this must not be "improved")."""
    depth = 1
    for ax, n in enumerate(numblocks):
        if ax in groups and groups[ax] != 1:
            depth = int(max(depth, math.ceil(math.log(n, groups[ax]))))
    return depth


def fits_in_a_task(chunks: tuple[tuple[int, ...], ...], axes: tuple[int, ...]) -> bool:
    """Whether each task of the consuming expression can run the tree itself: few partial results
    per task, and together much smaller than one block of the argument (``chunks``) or only a few
    elements, so that each task's repeat of the tree costs little beside its own block."""
    partials = math.prod(len(chunks[ax]) for ax in axes)
    smallest = math.prod(min(chunks[ax]) for ax in axes)
    kept = math.prod(max(along) for ax, along in enumerate(chunks) if ax not in axes)
    return partials <= MOST_PARTIALS_PER_TASK and (partials * SMALLER_BY_AT_LEAST <= smallest
                                                   or partials * kept <= FEW_ELEMENTS)


class LocalTree:
    """``da.reduction``'s tree of :class:`Combine` steps over one task's concatenated partial results
    (one per block along each reduced axis ``axes``), with ``depth`` levels of ``groups``; the result
    has the reduction's shape for that task's block (``keepdims`` as the reduction)."""

    __slots__ = ("combine", "aggregate", "axes", "groups", "depth", "keepdims")

    def __init__(self, combine: Combine, aggregate: Combine, axes: tuple[int, ...], groups: dict[int, int],
                 depth: int, keepdims: bool):
        self.combine, self.aggregate, self.axes = combine, aggregate, axes
        self.groups, self.depth, self.keepdims = groups, depth, keepdims

    def __call__(self, partials: np.ndarray) -> np.ndarray:
        for _ in range(self.depth - 1):
            partials = self._level(partials)
        return self.aggregate(np.ascontiguousarray(partials), self.axes, self.keepdims)

    def _level(self, partials: np.ndarray) -> np.ndarray:
        """One level: each group of partial results combined into one, as ``partial_reduce`` groups
        them (consecutive runs of ``groups[ax]`` along each reduced axis, the last one shorter)."""
        runs = [[slice(start, start + self.groups[ax]) for start in range(0, n, self.groups[ax])]
                if ax in self.groups else [slice(None)] for ax, n in enumerate(partials.shape)]
        combined = np.empty([len(r) if ax in self.groups else n
                             for ax, (r, n) in enumerate(zip(runs, partials.shape))], partials.dtype)
        for position in itertools.product(*(range(len(r)) for r in runs)):
            group = np.ascontiguousarray(partials[tuple(r[k] for r, k in zip(runs, position))])
            into = tuple(slice(k, k + 1) if ax in self.groups else slice(None)
                         for ax, k in enumerate(position))
            combined[into] = self.combine(group, self.axes, True)
        return combined

    def __reduce__(self):
        return (type(self), (self.combine, self.aggregate, self.axes, self.groups, self.depth, self.keepdims))

    def __dask_tokenize__(self) -> tuple:
        return (type(self).__name__, self.combine.__dask_tokenize__(), self.aggregate.__dask_tokenize__(),
                self.axes, sorted(self.groups.items()), self.depth, self.keepdims)
