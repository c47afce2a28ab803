"""Running plans that contain reductions: innermost reductions first, then the rest.

``a - mean(a, axis=0)`` needs the mean before the subtraction can start, so a
plan with reductions runs in stages. Each stage computes the innermost
reductions left -- each one a single fused pass of a reduction kernel
(:mod:`fusenum.codegen.reduction`) over its argument, with no temporary of the
argument's size -- into arrays of the *reduced* shape, and the expression
continues with those arrays as ordinary operands, broadcasting back as in
NumPy. The last stage is an ordinary elementwise plan (which also handles
``out=``, ``casting=`` and ``order=``).

One reduction pass:

1. The argument's operands broadcast to the iteration shape; the reduction
   axes (as written: negative, tuple, None) are resolved against it with
   NumPy's errors. The accumulator array has the kept shape and is filled with
   the reduction's start value; its strides are 0 along reduced axes.
2. Axes are ordered so that the inputs' smallest strides are innermost, then
   merged where contiguous, as for elementwise kernels.
3. Parallel and deterministic: if the outermost axis is kept, threads take
   disjoint slices of it and write disjoint results. So they do when the
   results are many and the innermost axis is kept (``sum(x, axis=0)`` of a
   (3, 5M) array): that axis is cut into tiles made outermost, which leaves
   every result's order of operations as it was. Otherwise the iteration
   is cut into *pieces* (how many depends only on the sizes and the work per
   element, never on the thread count; none below the size worth threads),
   each reduced into its own row of a partials array, and the partials are
   combined in piece order. So a result is the same whatever the thread count
   and however the threads were scheduled.
4. ``mean`` divides the sum by the count as NumPy does (``true_divide`` by an
   intp); a reduction without identity (``min``, ``max``) of no
   elements raises NumPy's ValueError; a row with a ``warning`` (``nanmax`` of
   an all-NaN slice) gives NumPy's RuntimeWarning.

5. Tier 0 (:mod:`.tiering`: a pass whose kernel is not at hand, under ``auto`` or ``always``):
   the argument is interpreted (:mod:`.interpreter`) into a C-contiguous array over the pass's
   merged dims, so in the kernel's order, and a one-node reduction kernel reduces that array with
   the same dims, pieces and ranges, told the fused kernel's virtual lanes
   (:mod:`fusenum.codegen.lanes`): every addition is grouped as in the fused pass, so the bits are
   the same. Without that kernel at hand, NumPy reduces (:mod:`.replayed_sums`): a float sum whose
   rows are reduced in registers in the same order (unless it is NaN), an integer or bool reduction
   in any. It costs a temporary of the argument's size, which only calls under
   :data:`~.tiering.COMPILE_NOW_ELEMENTS` elements pay under ``auto`` (a bigger one waits for its
   kernel, even one the background compiler is making).

Everything but the kernel call is worked out once per layout of the arrays
(shapes, strides, dtypes), thread count and SIMD level (:class:`_Call`), so a
cached reduction costs a few microseconds of Python, like an elementwise call.
"""
from __future__ import annotations

import math
import struct
from collections import OrderedDict

import numpy as np

from . import caches, elementwise, first_use, interpreter, kernels, replayed_sums, splitting, tiering
from . import threads as pool
from .. import errors
from ..codegen import settings
from ..codegen.abi import raise_status
from ..codegen.lanes import virtual_lanes
from ..codegen.spec import KernelSpec
from ..ir import nodes, numpy_behaviour
from ..ir.nodes import Node
from ..ir.operands import Source
from ..ir.ops import OPS, expression_cost
from ..ir.reductions import (ROWS, ReduceAttr, divide_by_count, normalize_axes, result_shape, same_kernel,
                             start_value)
from .layout import access, broadcast_shape, broadcast_strides, check_options, merge_axes
from .plan import Plan, work_per_element

#: No split into pieces below this many elements (a piece is a kernel call of its own).
PIECE_MIN_SIZE = 1 << 15
#: At most this many pieces (partials rows) per reduction.
MAX_PIECES = 16
#: Results (kept elements) of more bytes than this are not cut into pieces, whose partial results
#: would cost a pass over memory of their own: threads take tiles of the results instead (_tiled).
PIECES_MAX_RESULT_BYTES = 1 << 16
#: Tiles of results split over threads are at least this long.
TILE_MIN_SIZE = 4096

_stages: "OrderedDict[Node, _Stages]" = OrderedDict()
_final_plans: "OrderedDict[tuple, object]" = OrderedDict()
#: Reductions' stages and final plans kept: as the plan cache's, this follows the kernel cache's size
#: (``FUSENUM_MAX_KERNELS``), since their passes and plans keep their kernels.
MAX_ENTRIES = min(1024, kernels.MAX_KERNELS)
#: Prepared passes kept per reduction (layouts seen); all are forgotten when it fills.
MAX_CALLS = min(64, kernels.MAX_KERNELS)


class _Step:
    """One reduction of a staged plan, prepared once: its argument as a kernel root over its own
    slots, where those slots come from, and the slot its result fills."""

    def __init__(self, node: Node, slot: int):
        used = nodes.inputs(node.args[0])
        self.attr: ReduceAttr = node.attr
        self.row = ROWS[node.attr.reduction]
        self.dtype = node.dtype
        self.argument = nodes.replace(node.args[0], {n: nodes.input_slot(k, n.dtype) for k, n in enumerate(used)})
        self.sources = [n.attr for n in used]
        self.slot = slot
        self.work = work_per_element(self.argument)
        self.start = start_value(self.attr.reduction, node.dtype)
        self.pairwise = interpreter.pairwise(self.attr.reduction, node)
        #: Prepared passes (:class:`_Call`) by the arrays' layout, SIMD level and thread count.
        self.calls: dict[tuple, _Call] = {}

    def compute(self, arrays: list[np.ndarray]) -> np.ndarray:
        return reduce(self, arrays)


class _Stages:
    """How a root with reductions, or too big for one kernel, runs: its reductions and kept
    intermediates (:mod:`fusenum.runtime.splitting`), operands first, then the final expression."""

    def __init__(self, root: Node, slots: int):
        self.steps: list[_Step | _Kept] = []
        kept = splitting.kept_nodes(root)
        mapping: dict[Node, Node] = {}
        for node in nodes.walk(root):
            if node.op == "reduce":
                self.steps.append(_Step(splitting.replace_above(node, mapping), slots))
            elif node in kept:
                self.steps.append(_Kept(splitting.replace_above(node, mapping), slots))
            else:
                continue
            mapping[node] = nodes.input_slot(slots, node.dtype)
            slots += 1
        root = splitting.replace_above(root, mapping)
        used = nodes.inputs(root)
        self.final_slots = [n.attr for n in used]
        self.final_root = nodes.replace(root, {n: nodes.input_slot(k, n.dtype) for k, n in enumerate(used)})
        #: The whole expression is one reduction: its fresh result array is the answer as it is.
        self.direct = root.op == "input" and any(step.slot == root.attr for step in self.steps)


class _Kept:
    """A kept intermediate of a big expression, computed into an array by an elementwise kernel."""

    def __init__(self, node: Node, slot: int):
        used = nodes.inputs(node)
        self.root = nodes.replace(node, {n: nodes.input_slot(k, n.dtype) for k, n in enumerate(used)})
        self.sources = [n.attr for n in used]
        self.slot = slot

    def compute(self, arrays: list) -> np.ndarray:
        plan, values = elementwise_plan(self.root, arrays)
        return elementwise.execute(plan, values)


def has_reductions(root: Node) -> bool:
    """Whether ``root`` has reductions (and so must run in stages)."""
    return any(n.op == "reduce" for n in nodes.walk(root))


def new_plan(root: Node, sources: tuple[Source, ...], values: list, casts: tuple | None = None) -> Plan:
    """A plan for ``root``, run in stages (by :func:`execute`) if it has reductions or is too big
    for one kernel; ``casts`` as :attr:`.Plan.casts`."""
    staged = has_reductions(root) or expression_cost(root) > splitting.PIECE_COST
    return Plan(root, sources, values, execute if staged else None, casts)


def execute(plan, values: list, out=None, order: str = "K", casting: str = "same_kind") -> np.ndarray:
    """Evaluate ``plan`` (a :class:`~fusenum.runtime.plan.Plan` with reductions) on ``values``."""
    if order != "K" or casting != "same_kind":
        check_options(order, casting)
    operands = list(plan.take(values))
    stages = stages_of(plan)
    for step in stages.steps:
        assert step.slot == len(operands)
        operands.append(step.compute([operands[k] for k in step.sources]))
    final_values = [operands[k] for k in stages.final_slots]
    if stages.direct and out is None and order in ("K", "A", "C"):
        return final_values[0]
    final, final_values = final_plan(stages, final_values)
    return elementwise.execute(final, final_values, (), out, order, casting)


def stages_of(plan) -> _Stages:
    """The stages of ``plan`` (a plan with reductions), worked out once per root."""
    stages = _stages.get(plan.root)
    if stages is None:
        stages = caches.remember(_stages, plan.root, _Stages(plan.root, len(plan.sources)), MAX_ENTRIES)
    return stages


def final_plan(stages: _Stages, final_values: list) -> tuple[Plan, list]:
    """The elementwise plan of the last stage for these values, and its values."""
    return elementwise_plan(stages.final_root, final_values)


def elementwise_plan(root: Node, final_values: list) -> tuple[Plan, list]:
    """The plan of elementwise ``root`` over these values (one per slot), and its values: 0-d ones
    (reduced to one value) go in as scalars, so the rest can take the checked fast path."""
    scalar = tuple(v.ndim == 0 for v in final_values)
    if any(scalar):
        final_values = [v[()] if zero_d else v for v, zero_d in zip(final_values, scalar)]
    key = (root, tuple(v.dtype for v in final_values), scalar)
    final = _final_plans.get(key)
    if final is None:
        sources = tuple(Source(k, v.dtype.newbyteorder("=") if zero_d else None)
                        for k, (v, zero_d) in enumerate(zip(final_values, scalar)))
        final = caches.remember(_final_plans, key, Plan(root, sources, final_values), MAX_ENTRIES)
    return final, final_values


@caches.owner
def _clear() -> None:
    caches.empty(_stages, _final_plans)


def reduce(step: _Step, arrays: list[np.ndarray]) -> np.ndarray:
    """The value of one prepared reduction on its argument's arrays."""
    settings_key = settings.key  # (read once: the pass's kernel is the one for the key it is kept under)
    key = (tuple([(a.shape, a.strides, a.dtype) for a in arrays]), settings_key, pool._threads)
    call = step.calls.get(key)
    if call is None:
        call = _Call(step, arrays, settings_key)
        if len(step.calls) >= MAX_CALLS:
            step.calls.clear()
        step.calls[key] = call
    return call.run(step, arrays)


def planned_pass(step: _Step, arrays: list[np.ndarray]) -> _Call:
    """The pass :func:`reduce` would run on these arrays, worked out afresh with its kernel only if
    one is in memory: for previews (:mod:`fusenum.runtime.preview`), never run nor kept."""
    return _Call(step, arrays)


class _Call:
    """One reduction pass for one layout of its arrays (shapes, strides, dtypes), thread count and
    SIMD level, worked out once: the kernel, its layout words and how the work is split. Its
    kernels are those of the codegen settings ``settings_key`` (else the current ones). It keeps
    nothing of its step, which keeps it (a cycle would wait for the garbage collector to give back
    its kernel's machine code, after ``clear_cache()``): each method is handed the step."""

    def __init__(self, step: _Step, arrays: list[np.ndarray], settings_key: tuple | None = None):
        attr = step.attr
        self.settings_key = settings.key if settings_key is None else settings_key
        shape = broadcast_shape(arrays)
        axes = normalize_axes(attr.axis, len(shape), attr.axis_rule or attr.reduction)
        self.count = math.prod(shape[ax] for ax in axes)
        if self.count == 0 and step.row.identity is None and not attr.partial:
            raise ValueError(f"zero-size array to reduction operation {OPS[step.row.combine].ufunc.__name__} "
                             f"which has no identity")
        self.kept_shape = result_shape(shape, axes, True)
        self.shape = self.kept_shape if attr.keepdims else result_shape(shape, axes, False)
        self.kernel = self.spec = None
        self.pieces: tuple | None = None
        if math.prod(shape):
            self._plan(step, arrays, shape, axes)

    def _plan(self, step: _Step, arrays: list[np.ndarray], shape, axes) -> None:
        """Kernel and work split for a non-empty pass (see the module docstring, steps 2 and 3)."""
        reduced = set(axes)
        accumulator = np.empty(self.kept_shape, step.dtype)  # the layout of every call's accumulator
        strides = [broadcast_strides(a, shape) for a in arrays]
        strides.append([0 if ax in reduced else accumulator.strides[ax] for ax in range(len(shape))])
        dims, merged = _merge(shape, strides)
        accesses = tuple(access(a, s) for a, s in zip(arrays, merged)) + (
            access(accumulator, merged[-1]),)
        size = math.prod(dims)
        parallel_size = pool.min_size(step.work)
        self.threads = pool.get_num_threads() if size >= parallel_size else 1
        self.wake_ok = size >= pool.wake_size(step.work)
        # Pieces are worth their partials only for a pass big enough for threads whose results are few.
        pieces = 1
        if not merged[-1][0] and size >= parallel_size:
            if merged[-1][-1] and accumulator.nbytes > PIECES_MAX_RESULT_BYTES:
                if self.threads > 1:
                    dims, merged = _tiled(dims, merged, self.threads)
            else:
                pieces = _pieces(size, dims[0], accumulator.size)
        inner = size // dims[0]
        spec = self.spec = KernelSpec(step.argument, accesses, len(dims), reduce=same_kernel(step.attr.reduction),
                                      pairwise=step.pairwise, pieces=pieces > 1)
        # the kernel if it is in memory; else run() asks the tiers (a preview never runs)
        self.kernel = kernels.cached(spec, self.settings_key)
        self.size, self.dims = size, dims
        self.strides, self.accumulator_strides = merged[:-1], merged[-1]
        # Tier 0: the argument interpreted into a C-contiguous array over these dims (so, in the
        # kernel's order), then reduced by a one-node kernel that groups the elements as this one
        self.tier0_spec = interpreter.reduction_spec(step.argument, step.attr.reduction, accesses[-1], len(dims),
                                                     pieces > 1)
        # ... or, without that kernel at hand, by NumPy making its additions in its order
        self.replayed = replayed_sums.replays(step.attr.reduction, step.argument.dtype, merged[-1],
                                              pieces > 1)
        contiguous = [step.argument.dtype.itemsize * math.prod(dims[k + 1:]) for k in range(len(dims))]
        extra: list[int] = []
        self.ranges = [(0, size)]
        if pieces > 1:
            rows = -(-dims[0] // pieces)
            if inner == 1:
                rows = -(-rows // 64) * 64  # pieces of a flat reduction start on aligned elements
            length = rows * inner
            self.pieces = (-(-size // length),) + self.kept_shape
            extra = [length, accumulator.size * accumulator.itemsize]  # the partials' row stride
            self.ranges = [(start, min(start + length, size)) for start in range(0, size, length)]
        words = list(dims) + [s for per_operand in merged for s in per_operand] + extra
        self.layout = _pack(words) if spec.needs_layout else None
        tier0_words = list(dims) + contiguous + merged[-1] + extra
        self.tier0_layout = _pack(tier0_words) if self.tier0_spec.needs_layout else None
        if pieces > 1:
            return
        if self.threads > 1 and merged[-1][0] and dims[0] > 1:
            parts = min(dims[0], self.threads * pool.CHUNKS_PER_THREAD)
            bounds = [dims[0] * k // parts * inner for k in range(parts + 1)]
            self.ranges = [(bounds[k], bounds[k + 1]) for k in range(parts) if bounds[k] < bounds[k + 1]]
        if len(self.ranges) == 1:
            self.threads = 1  # (a kept innermost axis that no tiles split: one range, on this thread)

    def run(self, step: _Step, arrays: list[np.ndarray]) -> np.ndarray:
        # (the result owns its memory, as NumPy's does; the kernels fill it through a view of the kept shape)
        result = np.full(self.shape, step.start, step.dtype)
        accumulator = result if self.shape == self.kept_shape else result.reshape(self.kept_shape)
        kernel = self.kernel  # (read once: another thread may set it meanwhile)
        if kernel is None and self.spec is not None:  # (an empty pass has no spec: nothing to do)
            extra = () if self.replayed else (self.tier0_spec,)  # (what tier 0 would have to compile)
            # (``sum(x)`` of a contiguous x: its kernel is tier 0's one-node kernel, which the package
            # ships, where a compile may never have stored it in the disk cache)
            kernel = tiering.obtain(self.spec, self.size, extra, self.settings_key,
                                    shipped_too=self.spec == self.tier0_spec)
            if kernel is None and self.size >= tiering.COMPILE_NOW_ELEMENTS and tiering.policy == "auto" \
                    and not kernels.importing_code_generator():
                # (its compile was pending: no big temporary; none can begin on a thread importing
                # the code generator, a signal handler's call)
                kernel = kernels.kernel(self.spec, self.settings_key)
            self.kernel = kernel
            if kernel is None:
                self._reduce_interpreted(step, arrays, accumulator)
        if kernel is not None:
            self._reduce(step, kernel, arrays, self.layout, accumulator)
        if step.attr.reduction == "mean":
            if not self.count:
                errors.warn(numpy_behaviour.empty_mean_message())
            # (a 0-d result is a NumPy scalar in NumPy: see divide_by_count)
            divide_by_count(result, self.count, step.attr.to_half)
        if step.row.warning is not None and not step.attr.partial:
            if step.attr.axis_rule == "mean":
                # (a float16 mean's count: NumPy's mean warns, in its words, when nothing is reduced, even
                # into an empty result)
                if not self.count:
                    errors.warn(numpy_behaviour.empty_mean_message())
            elif step.row.warning.check(accumulator):
                errors.warn(step.row.warning.message)
        return result

    def _reduce_interpreted(self, step: _Step, arrays: list[np.ndarray], accumulator: np.ndarray) -> None:
        """Tier 0: the argument's values by the interpreter, in the kernel's order, reduced by the
        one-node kernel (so the same bits as the fused kernel)."""
        # (``sum(x)`` of a contiguous x: the one-node kernel is the fused one, so x itself is reduced)
        spec, key = self.spec, self.settings_key
        if spec == self.tier0_spec and (not self.replayed or kernels.at_hand(spec, key)):
            kernels.stats.tier0_calls += 1
            self._reduce(step, first_use.one_node(spec, key), arrays, self.layout, accumulator)
            return
        views = [np.lib.stride_tricks.as_strided(a, self.dims, strides, writeable=False)
                 for a, strides in zip(arrays, self.strides)]
        values = np.empty(self.dims, step.argument.dtype)
        interpreter.run(step.argument, views, values, settings_key=self.settings_key)
        kernels.stats.tier0_calls += 1
        if self.replayed and not kernels.at_hand(self.tier0_spec, self.settings_key) \
                and self._replay(step, values, accumulator):
            return
        one_node = first_use.one_node(self.tier0_spec, self.settings_key)
        self._reduce(step, one_node, [values], self.tier0_layout, accumulator)

    def _replay(self, step: _Step, values: np.ndarray, accumulator: np.ndarray) -> bool:
        """:meth:`_reduce` of the interpreted ``values`` by NumPy (:mod:`.replayed_sums`): each row
        (or piece of the one row) into its own accumulator element (or partial), from zero; False,
        with ``accumulator`` untouched, where a sum is NaN (the one-node kernel's NaN is not known)."""
        strides = self.accumulator_strides
        if values.dtype.kind in "iub":  # exact: NumPy's order gives the kernel's result
            reduced = tuple(k for k, stride in enumerate(strides) if stride == 0)
            kept = [(size, stride) for size, stride in zip(self.dims, strides) if stride]
            view = np.lib.stride_tricks.as_strided(accumulator, [size for size, _ in kept],
                                                   [stride for _, stride in kept])
            # (NumPy reduces small integers in int64: its result wraps into the accumulator's
            # dtype as the kernel's running total does, which a scalar's assignment would refuse)
            np.copyto(view, OPS[step.row.combine].ufunc.reduce(values, axis=reduced), casting="unsafe")
            return True
        lanes = self.tier0_spec.lanes or virtual_lanes(nodes.input_slot(0, values.dtype))
        if self.pieces is not None:
            totals = np.concatenate([replayed_sums.reduce_rows(values[start:stop].reshape(1, -1), *lanes)
                                     for start, stop in self.ranges])
        else:
            totals = replayed_sums.reduce_rows(values.reshape(-1, self.dims[-1]), *lanes)
        if np.isnan(totals).any():
            return False
        if self.pieces is not None:
            OPS[step.row.combine].ufunc.reduce(totals.reshape(self.pieces), axis=0, out=accumulator)
        else:
            kept = np.lib.stride_tricks.as_strided(accumulator, self.dims[:-1], strides[:-1])
            kept[...] = totals.reshape(self.dims[:-1])
        return True

    def _reduce(self, step: _Step, kernel, arrays: list[np.ndarray], layout: bytes | None,
                accumulator: np.ndarray) -> None:
        """Reduce ``arrays`` with ``kernel`` (the step's, or tier 0's one-node kernel over the
        interpreted argument) into ``accumulator`` (filled with the start value)."""
        ranges = self.ranges
        if self.pieces is not None:
            partials = np.full(self.pieces, step.start, accumulator.dtype)
            status = pool.run_ranges(kernel, (*arrays, partials), layout, ranges, self.threads,
                                     self.wake_ok, per_round=pool.round_size(step.work))
            if status:
                raise_status(status)
            OPS[step.row.combine].ufunc.reduce(partials, axis=0, out=accumulator)
            return
        operands = (*arrays, accumulator)
        if len(ranges) > 1:
            status = pool.run_ranges(kernel, operands, layout, ranges, self.threads, self.wake_ok,
                                     split=True, per_round=pool.round_size(step.work))
        else:
            run = kernel.held if self.size <= kernel.hold_size else kernel.function
            status = run(0, ranges[0][1], operands, layout)
        if status:
            raise_status(status)


def _tiled(dims: list[int], strides: list[list[int]], threads: int) -> tuple[list[int], list[list[int]]]:
    """The iteration with its innermost axis (a kept one) cut into equal tiles made the outermost
    axis, so that threads take disjoint tiles of the results: ``sum(x, axis=0)`` of a (3, 5M)
    array. Each result is still reduced in the same order, so no bit changes. Unchanged if the
    axis has no divisor giving about ``CHUNKS_PER_THREAD`` tiles per thread of ``TILE_MIN_SIZE``
    elements or more (tiles stay long so that each row's reads stream)."""
    length, wanted = dims[-1], threads * pool.CHUNKS_PER_THREAD
    for count in sorted(range(threads, 4 * wanted + 1), key=lambda count: abs(count - wanted)):
        if length % count == 0 and length // count >= TILE_MIN_SIZE:
            tile = length // count
            return [count, *dims[:-1], tile], [[s[-1] * tile, *s[:-1], s[-1]] for s in strides]
    return dims, strides


def _pieces(size: int, rows: int, kept: int) -> int:
    """How many pieces to cut a reduction into (from the sizes alone, for deterministic results)."""
    if size < 2 * PIECE_MIN_SIZE:
        return 1
    # Partials cost memory and a combining pass: keep them an eighth of the input at most.
    return max(1, min(MAX_PIECES, rows, size // PIECE_MIN_SIZE, size // (8 * kept)))


def _merge(shape, strides: list[list[int]]) -> tuple[list[int], list[list[int]]]:
    """Axes ordered by the inputs' strides (smallest innermost), merged where contiguous everywhere."""
    inputs = strides[:-1] or strides
    axes = sorted((ax for ax in range(len(shape)) if shape[ax] != 1),
                  key=lambda ax: -max(abs(s[ax]) for s in inputs))
    return merge_axes(shape, strides, axes)


def _pack(words: list[int]) -> bytes:
    return struct.pack(f"{len(words)}q", *words)
