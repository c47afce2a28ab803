"""Fused kernels over dask arrays: a typed expression -> a dask graph that runs it per chunk.

Both front ends type an expression over dask arrays exactly as over ndarrays
(the plan cache is keyed on dtypes only), then :func:`build` turns the plan's
IR into dask collections instead of running it:

* the elementwise part is **one blockwise layer** (``da.blockwise``): operands
  are aligned as dask aligns them (``da.core.unify_chunks``; broadcasting is
  right-aligned as in NumPy, a dimension of length 1 is broadcast), 0-d
  arrays and weak Python scalars (already converted to 0-d arrays of their loop
  dtype by the plan) travel as small constants. Each task runs the fused kernel
  on one block of each operand (:class:`BlockKernel`);
* every reduction, innermost first, is a **dask tree reduction**
  (``da.reduction``): its chunk step is one blockwise task per block that
  reduces the fused argument expression straight from the operands' blocks
  (``keepdims=True``, pairwise within the block as fusenum always sums), its
  combine and aggregate steps are fusenum reductions of the concatenated
  partial results, in dask's fixed order of blocks, so a given chunking and
  ``split_every`` always gives the same bits. ``mean`` sums in its accumulator
  dtype and divides by the count at the end, as NumPy does. When every reduced
  axis is a single block the reduction is one blockwise layer, with the bits
  fusenum gives for that block on one machine. The result of a reduction is an
  operand of the expression around it, like any other dask array; or, when
  its partial results are few and small (:func:`.dask_tree.fits_in_a_task`),
  the expression's tasks are handed them and run the tree themselves
  (:class:`_Partials`, :class:`.dask_tree.LocalTree`): the same bits, one
  scheduler phase instead of one per level of the tree.

What goes into the graph is the IR (a few hundred bytes: hash-consed nodes
pickle as their fields) plus the dtypes of the blocks; never a forced array
or a compiled kernel. Each process compiles a kernel once, or loads it from
the disk cache (:mod:`fusenum.runtime.blocks`).

``dask`` is imported only here and only when a dask array is met:
:func:`~.dask_types.is_dask_array` recognises one by its type's module, so ``import
fusenum`` never imports dask (nor this module).
"""
from __future__ import annotations

import math
import warnings
from numbers import Integral
from typing import Any

import numpy as np

from ..errors import ArgumentTypeError, InvalidArgumentError, UnsupportedOperationError, warn
from ..ir import nodes
from ..ir.nodes import Node
from ..ir.ops import OPS
from ..ir.reductions import ROWS, ReduceAttr, normalize_axes
from ..ir.shapes import broadcast_shapes
from ..runtime import cached_plan, disk_cache
from ..runtime.blocks import run_root
from ..runtime.input_casting import check_input_casts
from .capture import stand_in
from .dask_tree import Combine, LocalTree, as_they_are, fits_in_a_task, group_sizes, tree_depth
from .dask_types import is_dask_array


def has_ndarray_blocks(x: Any) -> bool:
    """Whether dask array ``x``'s blocks are plain ndarrays (its ``meta``'s type): not masked arrays,
    CuPy or sparse ones, whose operations mean something a fused kernel does not compute."""
    return type(getattr(x, "_meta", None)) is np.ndarray


def check_shape(x) -> None:
    """:class:`~fusenum.InvalidArgumentError` for a dask array of unknown shape."""
    if any(math.isnan(n) for n in x.shape):
        raise InvalidArgumentError("fusenum needs dask arrays of known shape (chunk sizes); call "
                                   ".compute_chunk_sizes() first")


def build_typed(key: tuple, template, values: list, split_every: Any = None, names=(), casting: str = "same_kind",
                warns: bool = False):
    """The dask array of ``template`` (a parsed text or a lazy program) on ``values``: typed through
    the plan cache under ``key`` (dtypes only, as for ndarrays), then :func:`build`. ``casting``
    (``'no'``, ``'equiv'``) is checked against the inputs of each operation as for ndarrays. ``warns``:
    give the warnings NumPy gives at each call of the expression (:attr:`.Plan.warnings`), as a text's
    evaluation does (a lazy program gave them when its operations were captured)."""
    for value in values:
        if is_dask_array(value):
            if not has_ndarray_blocks(value):  # (a masked array's mask would be dropped block by block)
                meta = type(value._meta)
                raise ArgumentTypeError(f"fusenum computes dask arrays of plain ndarray blocks, not of "
                                        f"{meta.__module__}.{meta.__name__} blocks, whose operations have their "
                                        f"own meaning; map np.asarray over the blocks to drop it")
            check_shape(value)
    if isinstance(split_every, dict):
        _check_split_every(split_every)
    elif split_every is not None and not isinstance(split_every, Integral):
        raise ArgumentTypeError(f"split_every must be an int or a dict of axis -> int, as dask takes it, "
                                f"not {type(split_every).__name__} {split_every!r}")
    stand_ins = [stand_in(v.dtype, v.shape) if is_dask_array(v) else v for v in values]
    plan = cached_plan(key, template, stand_ins)
    check_input_casts(plan.casts, stand_ins, names, casting)
    for message, category in plan.warnings if warns else ():
        warn(message, category)
    bound = {source.key for source in plan.sources if source.dtype is None}
    for k, value in enumerate(values):
        if is_dask_array(value) and value.ndim == 0 and k not in bound:
            raise UnsupportedOperationError("NumPy's typing of this expression depends on the value of a 0-d "
                                      "dask array (an exponent NumPy rewrites by value); compute it first")
    return build(plan, values, split_every)


def _check_split_every(split_every: dict) -> None:
    """An :class:`~fusenum.InvalidArgumentError` for a per-axis ``split_every`` that is not a whole
    number of at least 2 (dask clamps an int to 2, but takes ``{0: 1}`` and reduces only part of the
    axis, silently, and fails obscurely on ``{0: 0}`` or ``{0: 2.5}``)."""
    for axis, count in split_every.items():
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 2:
            raise InvalidArgumentError(f"split_every[{axis!r}] is {count!r}: each step of a tree reduction "
                                       f"combines a whole number of at least 2 partial results")


def check_options(out, order: str) -> None:
    """The result over dask arrays is a dask array: there is nothing to write into ``out``."""
    if out is not None:
        raise ArgumentTypeError("out= is not supported when an operand is a dask array: the result is a "
                                "lazy dask array (store it with dask.array.store, or compute it and copy)")
    if order not in ("K", "A", "C"):
        raise InvalidArgumentError(f"order={order!r} is not supported over dask arrays: each block of the "
                                   f"result is laid out like its operands' blocks")


# ---- what a task runs -------------------------------------------------------------------------------

class BlockKernel:
    """The fused expression ``root`` (IR over input slots, one per argument) on one block of each
    operand. ``trees``: (slot, :class:`.LocalTree`) pairs, operands handed over as a reduction's
    partial results, which the task finishes itself first. Pickles as its IR; tokenizes (dask's
    names) as a digest of its canonical text.

    A reduction's order of additions follows its operands' layout, and a block's layout depends on
    the scheduler: a local one hands over views (a chunk of ``da.from_array`` is a strided view),
    a distributed one unpickles C-contiguous copies. So a root that reduces takes every block
    C-contiguous (copying a view), and a chunking gives the same bits on every scheduler."""

    __slots__ = ("root", "trees", "reduces")

    def __init__(self, root: Node, trees: tuple = ()):
        self.root, self.trees = root, trees
        self.reduces = any(node.op == "reduce" for node in nodes.walk(root))

    def __call__(self, *blocks: Any) -> np.ndarray:
        blocks = list(blocks)
        for slot, tree in self.trees:
            blocks[slot] = tree(blocks[slot])
        if self.reduces:
            blocks = [b.copy(order="C") if isinstance(b, np.ndarray) and not b.flags.c_contiguous else b
                      for b in blocks]
        return run_root(self.root, blocks)

    def __reduce__(self):
        return (type(self), (self.root, self.trees))

    def __dask_tokenize__(self) -> tuple:
        return (type(self).__name__, _digest(self.root),
                tuple((slot, tree.__dask_tokenize__()) for slot, tree in self.trees))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root!r})"


class _Partials:
    """A reduction's partial results (``array``: one per block along the reduced ``axes``, kept
    with extent 1) for the tasks of the expression around it to finish with ``local``; ``tree()``
    is dask's tree reduction of them, for where they cannot (the reduction is the result, or its
    chunks must change to meet the other operands', which would change the bits)."""

    __slots__ = ("array", "local", "tree")

    def __init__(self, array, local: LocalTree, tree):
        self.array, self.local, self.tree = array, local, tree

    @property
    def ndim(self) -> int:
        return self.array.ndim if self.local.keepdims else self.array.ndim - len(self.local.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        shape = [1 if ax in self.local.axes else n for ax, n in enumerate(self.array.shape)]
        return tuple(shape) if self.local.keepdims else tuple(n for ax, n in enumerate(shape)
                                                              if ax not in self.local.axes)

    def index(self, ndim: int, first_new: int) -> tuple[int, ...]:
        """``blockwise``'s index of the partial results in an expression of ``ndim`` axes: the kept
        axes are the result's (right-aligned), each reduced one a new index of its own, from
        ``first_new`` on (no other operand's), which ``blockwise`` concatenates."""
        fresh = iter(range(first_new, first_new + len(self.local.axes)))
        kept = iter(range(ndim - self.ndim, ndim))
        if self.local.keepdims:
            return tuple(next(fresh) if ax in self.local.axes else ax + ndim - self.ndim
                         for ax in range(self.array.ndim))
        return tuple(next(fresh) if ax in self.local.axes else next(kept) for ax in range(self.array.ndim))


def _finished(value):
    """``value``, or the tree reduction of partial results."""
    return value.tree() if isinstance(value, _Partials) else value


def _digest(root: Node) -> str:
    return disk_cache.new_hash(nodes.canonical(root).encode()).hexdigest()


# ---- building the graph -----------------------------------------------------------------------------

def build(plan, values: list, split_every: Any = None):
    """The dask array computing ``plan`` (a typed plan, any front end) on ``values``, some of
    which are dask arrays; nothing is computed."""
    operands = list(plan.take(values))
    root = plan.root
    mapping: dict[Node, Node] = {}
    for node in nodes.walk(root):
        if node.op == "reduce":
            reduced = _reduction(nodes.replace(node, mapping), operands, split_every)
            mapping[node] = nodes.input_slot(len(operands), node.dtype)
            operands.append(reduced)
    root = nodes.replace(root, mapping)
    if root.op == "input" and root.attr >= len(plan.sources):  # (a reduction alone: dask's tree is the result)
        result = _finished(operands[root.attr])
        return result if result.dtype == root.dtype else result.astype(root.dtype)
    # (an operand alone too is a task of ours: a copy, as evaluate returns a new ndarray, in native byte
    # order, and its blocks checked against the dtype its dask array declares)
    root, args = _own_slots(root, operands)
    return _blockwise(root, args, root.dtype)


def _own_slots(root: Node, operands: list) -> tuple[Node, list]:
    """``root`` with its inputs renumbered in order of first use, and the operands they stand for."""
    used = nodes.inputs(root)
    renumbered = nodes.replace(root, {n: nodes.input_slot(k, n.dtype) for k, n in enumerate(used)})
    return renumbered, [operands[n.attr] for n in used]


def _aligned(args: list) -> tuple[int, list, tuple, tuple]:
    """The result's ndim, ``blockwise``'s (array, index) pairs with chunks unified as dask unifies
    them, the broadcast shape (NumPy's error if the shapes do not broadcast), and the (slot,
    :class:`.LocalTree`) pairs of the operands that are partial results (:class:`_Partials`)."""
    import dask.array as da

    ndim = max((np.ndim(a) for a in args), default=0)
    shape = broadcast_shapes(*(np.shape(a) for a in args))
    pairs = []
    first_new = ndim
    for a in args:
        if isinstance(a, _Partials):
            pairs.extend((a.array, a.index(ndim, first_new)))
            first_new += len(a.local.axes)
        elif not is_dask_array(a) and np.ndim(a) == 0:
            pairs.extend((a, None))  # a constant in the graph: a 0-d array, a weak scalar's value
        else:
            pairs.extend((_short_axes_whole(a) if is_dask_array(a) else a, tuple(range(ndim - a.ndim, ndim))))
    partials = [k for k, a in enumerate(args) if isinstance(a, _Partials)]
    with warnings.catch_warnings():
        if partials:  # (dask counts a concatenated index as more tasks: "Increasing number of chunks")
            warnings.simplefilter("ignore", da.PerformanceWarning)
        _, arrays = da.core.unify_chunks(*pairs)
    if any(arrays[k].chunks != args[k].array.chunks for k in partials):  # (their tree's bits would change)
        return _aligned([_finished(a) for a in args])
    pairs[::2] = arrays
    return ndim, pairs, shape, tuple((k, args[k].local) for k in partials)


def _short_axes_whole(a):
    """Dask array ``a`` with each axis of length 0 or 1 in one chunk. ``unify_chunks`` takes a length-1
    axis split by empty chunks (``(1, 0)``, as ``.compute_chunk_sizes()`` leaves them) for a chunking the
    other operands must follow, where it should broadcast ("Chunks do not add up to shape"); and dask's
    own elementwise operations on an empty axis in several chunks make arrays whose graph lacks all but
    the first block (``da.empty`` takes its place: an empty operand's values are never read)."""
    import dask.array as da

    chunks = tuple((n,) if n <= 1 else c for n, c in zip(a.shape, a.chunks))
    if chunks == a.chunks:
        return a
    return da.empty(a.shape, chunks=chunks, dtype=a.dtype) if a.size == 0 else a.rechunk(chunks)


def _blockwise(root: Node, args: list, dtype: np.dtype, reduced: tuple[int, ...] = (),
               keepdims: bool = True, aligned=None):
    """One blockwise layer running ``root`` per block (``reduced``: axes ``root``, a reduction,
    reduces within each block, which becomes length 1, or is dropped without ``keepdims``)."""
    import dask.array as da

    ndim, pairs, _, trees = aligned or _aligned(args)
    out_index = tuple(ax for ax in range(ndim) if keepdims or ax not in reduced)
    adjust = {ax: 1 for ax in reduced} if keepdims else None
    meta = np.zeros((0,) * len(out_index), dtype)  # (zeros: dask tokenizes a 0-d meta's one element)
    indexed = {ax for index in pairs[1::2] for ax in index or ()}
    # (an axis only a reduction kept with length 1 makes: its partial results' index is concatenated)
    new_axes = {ax: 1 for ax in out_index if ax not in indexed}
    with warnings.catch_warnings():
        if trees:  # (as in _aligned)
            warnings.simplefilter("ignore", da.PerformanceWarning)
        return da.blockwise(BlockKernel(root, trees), out_index, *pairs, dtype=dtype, meta=meta,
                            token="fusenum", adjust_chunks=adjust, new_axes=new_axes, concatenate=True)


def _reduction(node: Node, operands: list, split_every: Any):
    """The dask array of reduction ``node`` (its argument over slots of ``operands``), or its
    partial results (:class:`_Partials`) where the tasks using it can finish them."""
    import dask.array as da

    attr: ReduceAttr = node.attr
    argument, args = _own_slots(node.args[0], operands)
    aligned = _aligned(args)
    ndim, pairs, shape, _ = aligned
    axes = normalize_axes(attr.axis, ndim, attr.axis_rule or attr.reduction)
    count = math.prod(shape[ax] for ax in axes)
    row = ROWS[attr.reduction]
    if count == 0 and row.identity is None:
        raise ValueError(f"zero-size array to reduction operation {OPS[row.combine].ufunc.__name__} "
                         f"which has no identity")
    chunks = _chunks(pairs, ndim)
    if all(len(chunks[ax]) == 1 for ax in axes):  # no tree: each block is the whole reduced extent
        root = Node("reduce", (argument,), node.dtype,
                    ReduceAttr(attr.reduction, axes, attr.keepdims, to_half=attr.to_half))
        return _blockwise(root, args, node.dtype, axes, attr.keepdims, aligned)
    step = "sum" if attr.reduction == "mean" else attr.reduction
    partial = Node("reduce", (argument,), node.dtype, ReduceAttr(step, axes, True, partial=True))
    partials = _blockwise(partial, args, node.dtype, axes, True, aligned)
    out_ndim = ndim if attr.keepdims else ndim - len(axes)
    combine = Combine(step, node.dtype)
    aggregate = Combine(step, node.dtype, count if attr.reduction == "mean" else None, final=True,
                        to_half=attr.to_half)

    def tree():
        return da.reduction(partials, as_they_are, aggregate, axis=axes, keepdims=attr.keepdims,
                            dtype=node.dtype, split_every=split_every, combine=combine, concatenate=True,
                            name="fusenum-" + attr.reduction, meta=np.zeros((0,) * out_ndim, node.dtype))

    if not fits_in_a_task(chunks, axes):
        return tree()
    groups = group_sizes(split_every, axes)
    local = LocalTree(combine, aggregate, axes, groups, tree_depth(partials.numblocks, groups), attr.keepdims)
    return _Partials(partials, local, tree)


def _chunks(pairs: list, ndim: int) -> list[tuple[int, ...]]:
    """The chunks along each axis of the result of these aligned (array, index) pairs."""
    chunks: list = [None] * ndim
    for array, index in zip(pairs[::2], pairs[1::2]):
        for ax, along in zip(index or (), getattr(array, "chunks", ())):
            if ax < ndim and (chunks[ax] is None or len(along) > len(chunks[ax])):
                chunks[ax] = along
    return [along or (1,) for along in chunks]
