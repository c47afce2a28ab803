"""How a reduction groups a row's elements: its virtual lanes, which fix the order of the additions.

Floats round at every addition, so the grouping is part of a reduction's answer
(:mod:`fusenum.codegen.reduction` describes the loop). It depends only on the reduced expression:
its op-table cost and its widest register element, never on the SIMD level. This module holds that
rule and nothing heavier than the IR, so the runtime can ask it without importing the code
generator: the interpreter's reductions (:mod:`fusenum.runtime.staging`) reduce an interpreted
argument with a one-node kernel told to group as the fused kernel would.
"""
from __future__ import annotations

import numpy as np

from ..ir import nodes
from ..ir.ops import expression_cost

#: Expressions up to this op-table cost are cheap: elementwise loops unroll them, reductions step
#: through four registers at a time.
UNROLL_COST = 16
#: Bytes of register elements per step of a row reduction (four 512-bit registers), for cheap
#: expressions; an expensive one steps through one register's worth (its loop overhead is noise).
STEP_BYTES, EXPENSIVE_STEP_BYTES = 256, 64
#: The widest register (AVX-512): the tail steps are this size, so every level can make them.
WIDEST_REGISTER_BYTES = 64
#: At most this many virtual lanes (the scalar level keeps one accumulator per virtual lane).
MAX_VIRTUAL_LANES = 64
#: Steps (of all virtual lanes) per pairwise block of a float sum (:mod:`.reduction`).
PAIRWISE_STEPS = 16


def register_bytes(dtype: np.dtype) -> int:
    """Bytes of one register element of ``dtype`` (what the vector width is divided by)."""
    if dtype.kind in "fc":
        return 4 if dtype.itemsize == 2 else dtype.itemsize // (2 if dtype.kind == "c" else 1)
    if dtype.kind == "S":
        return 8  # bytes are compared in 64-bit words
    return dtype.itemsize


def virtual_lanes(root: nodes.Node) -> tuple[int, int]:
    """``(step, tail step)`` in elements for reducing rows of ``root``: the same at every SIMD level.

    Both are multiples of any level's lanes (the widest level's register is 64 bytes)."""
    widest = max(register_bytes(n.dtype) for n in nodes.walk(root))
    return lanes_of(widest, expression_cost(root) > UNROLL_COST)


def lanes_of(widest: int, expensive: bool) -> tuple[int, int]:
    """:func:`virtual_lanes` of an expression whose widest register element is ``widest`` bytes."""
    tail = min(WIDEST_REGISTER_BYTES // widest, MAX_VIRTUAL_LANES)
    step_bytes = EXPENSIVE_STEP_BYTES if expensive else STEP_BYTES
    return max(tail, min(step_bytes // widest, MAX_VIRTUAL_LANES)), tail
