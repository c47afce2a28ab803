"""Lowering rules of the transcendental functions: a call of the implementation
:mod:`fusenum.codegen.mathlib` picks, and ``logaddexp``/``logaddexp2``, which follow NumPy's formula."""
from __future__ import annotations

import numpy as np

from ...ir import numpy_behaviour
from ...ir.ops import OPS
from ..mathlib import call, libm_name
from .registry import rule


@rule("math")
def _math(em, node, args, arg):
    result = call(em, arg, node.args[0].dtype, *args)
    # A NaN made from a non-NaN input is the one NumPy's loop gives (its sign shows).
    nan = numpy_behaviour.domain_nan(OPS[node.op].ufunc, node.args[0].dtype) if len(args) == 1 else None
    if nan is None:
        return result
    b = em.b
    # NaN tests against 0.0, not the value itself (as instcombine writes them): the argument lives
    # across the call in a stack slot, which one operand of a compare can read, two cannot (a reload
    # in every iteration; ~7% of float64 sin's loop without the module passes). The argument's test
    # comes first, as instcombine orders them: then only one compare waits for the call's result
    # (the other way round, the second compare waited for the first: float32 sin(a)**2+cos(b)**2
    # took 2-5% longer than under -O3, float64 log1p 3%; now within 1%, benchmarks/pipeline_report.py).
    outside = b.and_(b.fcmp_ordered("ord", args[0], em.constant_like(args[0], 0.0)),
                     b.fcmp_unordered("uno", result, em.constant_like(result, 0.0)))
    # (NumPy's NaN from memory where it is a vector: see Emitter.constant_in_memory)
    nan_value = em.constant_like(result, nan)
    return b.select(outside, em.constant_in_memory(nan_value) if em.lanes > 1 else nan_value, result)


@rule("logaddexp")
def _logaddexp(em, node, args, arg):
    """NumPy's ``npy_logaddexp``: ``max + log1p(exp(-|x - y|))``, with ``x == y`` (equal
    infinities included) giving ``x + log(2)`` and NaN propagating.

    The C library's ``exp`` and ``log1p``, lane by lane, as NumPy calls them: the sum
    cancels when ``max`` is negative, and multiplies the last-bit differences of any
    other implementation into tens of ULPs.
    """
    return _log_add(em, node, args, "exp", None, np.log(2.0))


@rule("logaddexp2")
def _logaddexp2(em, node, args, arg):
    """NumPy's ``npy_logaddexp2``: ``max + LOG2E * log1p(exp2(-|x - y|))`` (its ``npy_log2_1p``),
    with ``x == y`` giving ``x + 1``; the C library's ``exp2`` and ``log1p`` as for ``logaddexp``."""
    return _log_add(em, node, args, "exp2", np.log2(np.e), 1.0)


def _log_add(em, node, args, exp_name: str, scale: float | None, same: float):
    """``max + scale * log1p(exp_name(-|x - y|))``; ``x + same`` where ``x == y``; NaN if either is."""
    x, y = args
    dtype = np.dtype(np.float32) if node.args[0].dtype.itemsize <= 4 else node.args[0].dtype
    b = em.b
    difference = b.fsub(x, y)
    larger = b.select(b.fcmp_ordered(">", difference, em.constant_like(x, 0.0)), x, y)
    exp = em.per_lane(libm_name(exp_name, dtype), b.fneg(em.intrinsic("llvm.fabs", difference)))
    tail = em.per_lane(libm_name("log1p", dtype), exp)
    if scale is not None:
        tail = b.fmul(em.constant_like(x, float(dtype.type(scale))), tail)
    result = b.fadd(larger, tail)
    result = b.select(b.fcmp_unordered("uno", difference, difference), difference, result)
    return b.select(b.fcmp_ordered("==", x, y), b.fadd(x, em.constant_like(x, float(dtype.type(same)))), result)
