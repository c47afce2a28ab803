"""What a :class:`~fusenum.codegen.spec.KernelSpec` becomes on a target, told without compiling it.

For :func:`fusenum.explain`: the kernel's shape (elementwise or reduction,
vector lanes, unrolling, streaming stores) as the module builders decide it,
which implementation computes each transcendental function
(:func:`fusenum.codegen.mathlib.implementation`), and on request the LLVM IR
text and the machine assembly.
"""
from __future__ import annotations


import numpy as np

from ..ir import nodes
from ..ir.nodes import Node
from ..ir.ops import OPS
from ..ir.records import record
from . import jit, mathlib
from .elementwise import KernelBuilder
from .modules import kernel_module
from .reduction import ReductionBuilder
from .spec import KernelSpec
from .target import Target

#: Rules (:mod:`fusenum.codegen.rules`) that call :func:`mathlib.call`, and the function each calls
#: (None: the function named after the rule's colon, as in ``math:exp``).
_VECTOR_MATH_RULES = {"math": None, "fpower": "pow", "cangle": "atan2"}
#: Rules that call the C library lane by lane, and the functions (None: the one after the colon).
_C_LIBRARY_RULES = {"cmath": None, "logaddexp": ("exp", "log1p"), "csign": ("hypot",)}


@record
class Variant:
    """The code a spec becomes: ``lanes`` elements per vector step, ``unroll`` steps per loop
    iteration, and whether stores really stream (only vector code with a contiguous output does)."""

    kind: str
    lanes: int
    unroll: int
    streaming: bool


@record
class MathCall:
    """A transcendental function in a kernel: op, C name, loop dtype and its implementation
    (``own``, ``libmvec:<symbol>`` or ``libm:<function>``)."""

    op: str
    function: str
    dtype: np.dtype
    implementation: str


def variant(spec: KernelSpec, target: Target) -> Variant:
    """How the module builder lays out the optimized kernel for ``spec`` (the builder's own
    decisions; a quick first build is not unrolled)."""
    builder = (KernelBuilder if spec.reduce is None else ReductionBuilder)(spec, target, None)
    return Variant("elementwise" if spec.reduce is None else f"reduction ({spec.reduce})", builder.lanes,
                   builder.unroll, builder.streaming)


def math_calls(root: Node, target: Target) -> list[MathCall]:
    """Every transcendental function the kernel of ``root`` calls, once each, in order of use."""
    found: dict[tuple, MathCall] = {}
    for node in nodes.walk(root):
        if node.op not in OPS:
            continue
        loop = node.args[OPS[node.op].loop_arg].dtype
        rule_name = OPS[node.op].rule_for(loop.kind)
        if rule_name is None:
            continue
        rule, _, arg = rule_name.partition(":")
        lane = np.dtype(f"f{loop.itemsize // 2}") if loop.kind == "c" else loop
        if rule in _VECTOR_MATH_RULES:
            function = _VECTOR_MATH_RULES[rule] or arg
            chosen = mathlib.implementation(function, lane, target.name)
            found.setdefault((function, loop), MathCall(node.op, function, loop, chosen))
        elif rule in _C_LIBRARY_RULES:
            for function in _C_LIBRARY_RULES[rule] or (arg,):
                c_name = mathlib.libm_name(function, lane)
                found.setdefault((c_name, loop), MathCall(node.op, function, loop, f"libm:{c_name}"))
    return list(found.values())


def llvm_ir(spec: KernelSpec, target: Target) -> str:
    """The LLVM IR text the kernel for ``spec`` is compiled from."""
    return kernel_module(spec, target)


def assembly(spec: KernelSpec, target: Target) -> str:
    """The optimized machine assembly of the kernel for ``spec`` (compiled for this, not kept)."""
    return jit.assembly(kernel_module(spec, target), target)
