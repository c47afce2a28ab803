"""The table of lowering rules, and :func:`lower`, which dispatches an IR node to its rule.

A rule is ``rule(em, node, args, arg) -> value``: ``em`` is the
:class:`~fusenum.codegen.emitter.Emitter`, ``node`` the IR node (its ``dtype``
is the result dtype, ``node.args[i].dtype`` the loop dtypes), ``args`` the
operands' LLVM values (a :class:`~fusenum.codegen.emitter.Pair` for a complex
one) and ``arg`` the text after ``:`` in the rule name. The op table names
rules per dtype kind. The rule modules of this package register themselves
with :func:`rule`; this module imports none of them.

float16 computes in float32 and rounds every result to float16, as NumPy does:
:func:`lower` rounds the result of every rule not registered as ``exact``
(whose float16 result is already a float16 value).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from .. import ir_text as ir

from ...ir.nodes import Node
from ...ir.ops import OPS
from .. import half
from ..emitter import Emitter
from .casts import cast

RULES: dict[str, Callable] = {}
#: Rules whose float16 results need no rounding (they only move, compare or negate values).
EXACT: set[str] = set()

F16 = np.dtype(np.float16)
F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)


def rule(*names: str, exact: bool = False):
    def register(fn):
        for name in names:
            RULES[name] = fn
            if exact:
                EXACT.add(name)
        return fn
    return register


def lower(em: Emitter, node: Node, args: list) -> ir.Value:
    """LLVM value of ``node`` given its operands' values."""
    if node.op == "cast":
        return cast(em, args[0], node.args[0].dtype, node.dtype)
    op = OPS[node.op]
    kind = node.args[op.loop_arg].dtype.kind
    rule_name = op.rule_for(kind)
    if rule_name is None:  # typing rejects these first; this is a safety net
        raise NotImplementedError(f"no lowering of {node.op} for dtype {node.args[op.loop_arg].dtype}")
    name, _, arg = rule_name.partition(":")
    value = RULES[name](em, node, args, arg)
    if node.dtype == F16 and name not in EXACT:
        value = half.round_float(em, value)
    return value
