"""Splitting big expressions into several kernels, so compile time and memory grow linearly.

LLVM's time and memory grow faster than linearly with the size of one
function: a chain of 10,000 operations built in a loop took two minutes and
800 MB as one kernel. So an expression whose op-table cost (the work per
element, :func:`fusenum.ir.ops.expression_cost`) exceeds :data:`PIECE_COST` is
run in stages, the way reductions are (:mod:`fusenum.runtime.staging`): a few
intermediate nodes are *kept*, each computed by a kernel of its own into an
array of its dtype and broadcast shape, and read back as an operand by the
kernels that use it. Every node computes exactly as before; only where its
value is held changes (a register, or an array of the same dtype), so the bits
are those of the unsplit kernel.

The rule, in one pass over the DAG, operands first: a node's *load* is its
cost plus the loads of its operands that are neither kept, leaves nor
reductions (a shared operand counts once per user, which can only
overestimate). While a node's load exceeds :data:`PIECE_COST`, its heaviest
such operand is kept. So no kernel computes more than about ``PIECE_COST``
of work per element, and an expression of cost ``C`` makes about
``C / PIECE_COST`` kernels.
"""
from __future__ import annotations

from ..ir import nodes
from ..ir.nodes import Node
from ..ir.ops import OPS

#: Most op-table cost one kernel computes: a chain of about this many additions, or of about
#: 15 transcendental functions. benchmarks/split_threshold.py measures compile time per size.
PIECE_COST = 256


def _cost(node: Node) -> int:
    return OPS[node.op].cost if node.op in OPS else 1


def kept_nodes(root: Node, limit: int | None = None) -> set[Node]:
    """The nodes under ``root`` to compute into arrays of their own (empty for most expressions);
    ``limit`` defaults to :data:`PIECE_COST`."""
    limit = PIECE_COST if limit is None else limit
    kept: set[Node] = set()
    load: dict[Node, int] = {}
    for node in nodes.walk(root):
        if not node.args:
            continue
        if node.op == "reduce":
            load[node] = 0  # a stage of its own; its argument's load was bounded below
            continue
        heavy = {arg: load[arg] for arg in node.args if arg.args and arg not in kept and load[arg]}
        total = _cost(node) + sum(heavy.values())
        while total > limit and heavy:
            arg = max(heavy, key=heavy.__getitem__)
            kept.add(arg)
            total -= heavy.pop(arg)
        load[node] = total
    kept.discard(root)
    return kept


def replace_above(root: Node, mapping: dict[Node, Node]) -> Node:
    """``root`` with the nodes in ``mapping`` replaced by their images, never looking below them
    (:func:`fusenum.ir.nodes.replace` walks everything: here the part below a kept node can be the
    whole rest of a long chain)."""
    rebuilt: dict[Node, Node] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if node in rebuilt:
            continue
        if node in mapping:
            rebuilt[node] = mapping[node]
        elif not node.args:
            rebuilt[node] = node
        elif expanded:
            rebuilt[node] = Node(node.op, tuple(rebuilt[a] for a in node.args), node.dtype, node.attr)
        else:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if arg not in rebuilt)
    return rebuilt[root]
