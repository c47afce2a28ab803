"""Tier 0's sums without a compile: NumPy making a reduction kernel's additions in its order.

A float sum's bits depend on the order of its additions. The reduction kernel
(:mod:`fusenum.codegen.reduction`) fixes that order from the row's length and its virtual lanes
(:mod:`fusenum.codegen.lanes`) alone, and tier 0 (:mod:`.staging`) reduces an interpreted argument
with a one-node kernel that groups the elements the same way. Where that kernel is neither in memory
nor on disk, compiling it costs LLVM's start-up and a compile (5-30 ms on a machine that never ran
fusenum, most of a cold ``a - mean(a)`` or ``sum(a*b)``), so :func:`reduce_rows` makes the same
additions with NumPy's elementwise adds, each exactly rounded whatever NumPy's loop, in the
kernel's order:

1. a row is cut into blocks of ``PAIRWISE_STEPS`` steps of ``step`` elements; in each block, virtual
   lane ``j`` adds element ``j`` of each step in turn, from zero;
2. a block's lanes are combined in one tree (lane ``j`` with lane ``j + half``, halving), and zero
   added; the blocks' sums are combined pairwise, as the kernel's binary-carry stack does: the
   blocks form groups of 1, 2, 4, ... (the bits of their count, the biggest group first), each a
   balanced tree of adjacent pairs;
3. after the blocks, the lanes (from zero again) add the remaining whole steps, then steps of
   ``tail`` elements into the first ``tail`` lanes; a scalar (from zero) adds the last elements one
   at a time; the lanes' tree plus the scalar is the tail's sum;
4. the groups are added to it, the smallest (last) first, and the row's sum is added to the
   accumulator's zero.

Additions of numbers that are not NaN give the same bits whichever operand comes first (signed
zeros included), and NumPy's adds are IEEE adds, so a sum that is not NaN is the kernel's, bit for
bit. A NaN sum is not: which of two NaNs an addition keeps is the first machine operand's on x86,
and which one that is depends on how LLVM and NumPy's compiler laid out each addition (the kernel
keeps the value's NaN where a slot's load was folded into the instruction). So a row whose sum is
NaN is left to the one-node kernel (:mod:`.staging`).

Covered (:func:`replays`): ``sum`` and ``mean`` of float and complex values whose rows are reduced
in registers (the accumulator stands still along the innermost dim) and whose outer dims are all
kept, or one flat row cut into pieces; and every reduction of integers or bools (``sum(a > b)``,
the count of ``nanmean``), whose result no order changes. Anything else waits for the one-node
kernel, as before.
``tests/runtime/test_replayed_sums.py`` checks the bits against that kernel's.
"""
from __future__ import annotations

import numpy as np

from ..codegen.lanes import PAIRWISE_STEPS

#: The reductions replayed: float sums (``mean`` is the sum, divided afterwards).
REDUCTIONS = ("sum", "mean")


def replays(reduction: str, dtype: np.dtype, accumulator_strides: list[int], pieces: bool) -> bool:
    """Whether NumPy makes tier 0's reduction of ``dtype`` values by ``reduction`` over dims whose
    accumulator strides are ``accumulator_strides`` (``pieces``: a flat row cut into pieces): an
    exact one (integers and bools wrap, compare or combine bits: any order gives the kernel's
    result) by its ufunc's ``reduce``, a float sum by :func:`reduce_rows`."""
    if dtype.kind in "iub":
        return True
    if reduction not in REDUCTIONS or dtype.kind not in "fc":
        return False
    if dtype.itemsize == 2:  # (float16 is accumulated in float32: its values never come here)
        return False
    *outer, innermost = accumulator_strides
    if pieces:
        return not outer and innermost == 0
    return innermost == 0 and all(stride != 0 for stride in outer)


def reduce_rows(rows: np.ndarray, step: int, tail: int) -> np.ndarray:
    """The sum of each row of the C-contiguous 2-d ``rows``, each row added to a zero accumulator,
    with the additions of a reduction kernel of virtual lanes ``(step, tail)`` (and, like it, no
    warning of an overflow or an invalid value). A sum that is not NaN has the kernel's bits; one
    that is NaN may not (see the module's docstring)."""
    count, length = rows.shape
    zero = rows.dtype.type(0)
    block = step * PAIRWISE_STEPS
    blocks = length // block
    start = blocks * block
    with np.errstate(all="ignore"):
        lanes = np.zeros((count, step), rows.dtype)
        whole_steps = (length - start) // step
        for k in range(whole_steps):
            lanes += rows[:, start + k * step:start + (k + 1) * step]
        start += whole_steps * step
        if tail < step:
            tails = (length - start) // tail
            for k in range(tails):
                lanes[:, :tail] += rows[:, start + k * tail:start + (k + 1) * tail]
            start += tails * tail
        scalar = np.zeros(count, rows.dtype)
        for k in range(start, length):
            scalar += rows[:, k]
        total = _lane_tree(lanes) + scalar
        if blocks:
            for group in reversed(_block_groups(rows[:, :blocks * block], blocks, step)):
                total = group + total
        return zero + total


def _lane_tree(lanes: np.ndarray) -> np.ndarray:
    """Each row's lanes combined in the kernel's tree: lane ``j`` with lane ``j + half``."""
    while lanes.shape[1] > 1:
        half = lanes.shape[1] // 2
        lanes = lanes[:, :half] + lanes[:, half:]
    return lanes[:, 0]


def _block_groups(rows: np.ndarray, blocks: int, step: int) -> list[np.ndarray]:
    """The sums of each row's groups of blocks, as the kernel's pairwise stack holds them at the
    end of the row: one group per bit of ``blocks``, the biggest (first blocks) first."""
    count = rows.shape[0]
    steps = rows.reshape(count, blocks, PAIRWISE_STEPS, step)
    lanes = np.zeros((count, blocks, step), rows.dtype)
    for k in range(PAIRWISE_STEPS):
        lanes += steps[:, :, k, :]
    sums = _lane_tree(lanes.reshape(count * blocks, step)).reshape(count, blocks) + rows.dtype.type(0)
    groups, first = [], 0
    for level in reversed(range(blocks.bit_length())):
        if blocks >> level & 1:
            group = sums[:, first:first + (1 << level)]
            while group.shape[1] > 1:
                group = group[:, 0::2] + group[:, 1::2]
            groups.append(group[:, 0])
            first += 1 << level
    return groups
