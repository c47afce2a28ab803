"""Running a plan: bind operands, broadcast, allocate, coalesce, call.

:func:`execute` runs a :class:`~fusenum.runtime.plan.Plan` on concrete values
(a plan with reductions goes to :mod:`fusenum.runtime.staging`, which ends in
an elementwise plan):

1. the result shape is the broadcast of every array bound to the expression;
2. ``out`` is checked (shape, ``casting``) or allocated (``order``);
3. dimensions are put in the output's memory order and every pair of adjacent
   dimensions that is contiguous in all operands is merged, as NumPy's
   iterator does, so most calls become one flat loop;
4. each operand gets a layout class (see :mod:`fusenum.codegen.spec`), which
   with the dimension count selects the kernel;
5. the kernel runs over ``[0, size)`` with the GIL released, split over threads
   when the call is big enough (:mod:`fusenum.runtime.threads`), and with streaming
   stores where :meth:`~fusenum.runtime.plan.Plan.streams` says they pay.

The common call -- C-contiguous arrays of one shape -- skips steps 1 to 4: a
*checked* kernel verifies the layout itself and reports a mismatch, upon which
the general path runs.

If ``out`` overlaps an input in any other way than element-for-element (say
``out=a[::-1]`` while reading ``a``), the result is computed into a temporary
first, as NumPy does, so overlap never changes the answer.
"""
from __future__ import annotations

import struct

import numpy as np

from . import background, interpreter, kernels, threads, tiering
from ..codegen import settings
from ..codegen.abi import STATUS_LAYOUT_MISMATCH, raise_status
from ..codegen.spec import ACCESSES
from ..errors import warn
from ..ir import nodes
from ..ir.reductions import DISCARDED_IMAGINARY
from .input_casting import check_input_casts
from .layout import (CASTING_RULES, access, allocate, broadcast_shape, check_options, check_out, coalesce,
                     needs_temporary, single_value_views_copied)
from .plan import Plan


def execute(plan: Plan, values: list, names=(), out=None, order: str = "K",
            casting: str = "same_kind") -> np.ndarray:
    """Evaluate ``plan`` on ``values`` (one per name: an ndarray or a Python scalar)."""
    if plan.materialize:
        values = single_value_views_copied(plan.materialize, values)
    if order != "K" or casting != "same_kind":
        check_options(order, casting)
        check_input_casts(plan.casts, values, names, casting)
    if plan.first_array is not None and (order == "K" or order == "C" or order == "A") and (
            out is None or (type(out) is np.ndarray and out.dtype == plan.dtype and casting in CASTING_RULES)) and (
            values[plan.first_array].ndim):
        # The common call: the checked kernel verifies the layout itself. (It writes ``out`` only
        # of the plan's dtype: an ``out`` of another is the general path's, which casts into it.
        # A 0-d call is too: NumPy's loops take every operand of one as single-valued, as the
        # general path's kernels do, where the checked kernel reads arrays element by element:
        # ``clip(0, -0.0, a)`` of a 0-d ``a`` is 0.0 in NumPy, the bound -0.0 in the checked kernel.)
        kernel = plan.checked.get(settings.key)
        compiled_now = kernel is None
        if compiled_now:
            if values[plan.first_array].size >= plan.parallel_size and tiering.kernel_may_come():
                threads.start_workers()  # (they get going while the kernel is found)
            accesses = plan.checked_accesses(values)
            kernel = None if accesses is None else plan.compile_checked(values, tiered=True, accesses=accesses)
            if kernel is None and accesses is not None and tiering.policy != "never":
                # No kernel at hand for the common call: the interpreter serves it (tier 0).
                if out is None:
                    return interpret_common(plan, values)
                return execute_general(plan, values, names, out, order, casting, interpret=True)
        if kernel is not None:
            result = np.empty(values[plan.first_array].shape, plan.dtype) if out is None else out
            operands = plan.take(values) + (result,)
            size = result.size
            if size < plan.big_size:
                status = (kernel.whole_held if size <= kernel.hold_size else kernel.whole)(operands)
            else:
                status = plan.run_big(kernel, values, operands, size, result.itemsize, out is None)
            if not status:
                if not compiled_now:
                    kernels.stats.hits += 1
                return result
            if status != STATUS_LAYOUT_MISMATCH:
                raise_status(status)
    return execute_general(plan, values, names, out, order, casting)


def execute_general(plan: Plan, values: list, names=(), out=None, order: str = "K",
                    casting: str = "same_kind", interpret: bool = False) -> np.ndarray:
    """:func:`execute` for any layout: broadcast, coalesce, pick the kernel by layout
    (``interpret``: run the interpreter, tier 0, instead)."""
    if plan.staged is not None:
        return plan.staged(plan, values, out, order, casting)
    operands, result, target = prepare_general(plan, values, names, out, order, casting)
    if out is not None and plan.dtype.kind == "c" and out.dtype.kind in "iuf":
        warn(DISCARDED_IMAGINARY, np.exceptions.ComplexWarning)  # (as NumPy's ufuncs at each call; not into bool)
    if target.size:
        if interpret:
            # in place of the common call's checked kernel when that kernel would write the result
            checked = out is None or (out.dtype == plan.dtype and casting in CASTING_RULES and target is out)
            run_interpreted(plan, operands, target, scalars=plan.scalar_operands if checked else None)
        else:
            run(plan, operands, target, fresh=target is not out)
    if target is not result:
        np.copyto(result, target, casting="unsafe")
    return result


def interpret_common(plan: Plan, values: list) -> np.ndarray:
    """The common call (arrays C-contiguous with one shape, no ``out``) served by the interpreter:
    a new result, as the checked kernel's."""
    result = np.empty(values[plan.first_array].shape, plan.dtype)
    operands = list(plan.take(values))  # (even for an empty result: a Python int out of range raises)
    if result.size:
        run_interpreted(plan, operands, result, scalars=plan.scalar_operands)
    return result


def prepare_general(plan: Plan, values: list, names, out, order: str, casting: str):
    """The general path's kernel operands, result array, and the array the kernel writes
    (``out``, a new array, or a temporary when ``out`` overlaps an input)."""
    arrays = [v for v in values if type(v) is np.ndarray]
    shape = broadcast_shape(arrays, [n for n, v in zip(names, values) if type(v) is np.ndarray])
    operands = list(plan.take(values))
    if out is None:
        result = target = allocate(shape, plan.dtype, order, arrays)
    else:
        check_out(out, shape, plan.dtype, casting)
        result = out
        target = np.empty_like(out) if needs_temporary(out, operands) else out
    return operands, result, target


def run(plan: Plan, operands: list[np.ndarray], out: np.ndarray, fresh: bool) -> None:
    """Call the kernel for these operands' layout to fill ``out`` (non-empty; ``fresh``: allocated
    for this call)."""
    arrays = operands + [out]
    shape, strides, accesses, streaming = general_layout(plan, operands, out, fresh)
    ndim = len(shape)
    kernel = plan.kernel(out.dtype, accesses, ndim, streaming=streaming, tiered=True, size=out.size)
    if kernel is None:
        run_interpreted(plan, operands, out)
        return
    layout = None
    if kernel.needs_layout:
        words = list(shape) + [s for per_operand in strides for s in per_operand]
        layout = struct.pack(f"{len(words)}q", *words)
    size = out.size
    if size >= plan.parallel_size:
        count = threads._threads
        status = threads.run(kernel, tuple(arrays), layout, size, out.itemsize, count, size >= plan.wake_size,
                             plan.round_size)
    else:
        status = (kernel.held if size <= kernel.hold_size else kernel.function)(0, size, tuple(arrays), layout)
    if status:
        raise_status(status)


def run_interpreted(plan: Plan, operands: list[np.ndarray], out: np.ndarray, scalars: frozenset | None = None) -> None:
    """Fill ``out`` (non-empty) with the interpreter (tier 0): the kernel's bits, no compile
    (``scalars``: in place of the common call's checked kernel, see :func:`interpreter.run`)."""
    kernels.stats.tier0_calls += 1
    root = nodes.cast(plan.root, out.dtype.newbyteorder("="))
    if out.size < plan.parallel_size:
        interpreter.run(root, operands, out, scalars)
        return
    with background.call_in_progress():  # (on every core: LLVM's loading waits for it)
        interpreter.run(root, operands, out, scalars)


def general_layout(plan: Plan, operands: list[np.ndarray], out: np.ndarray, fresh: bool):
    """How the general path runs these operands into ``out`` (``fresh``: allocated for this call):
    the coalesced shape, each array's strides over it, the layout classes and whether stores
    stream."""
    shape, strides = coalesce(out.shape, operands + [out])
    accesses = tuple(access(a, s) for a, s in zip(operands, strides)) + (
        ACCESSES["c" if strides[-1][-1] == out.itemsize else "s", not out.dtype.isnative],)
    return shape, strides, accesses, plan.streams(out.nbytes, fresh) and accesses[-1].stride == "c"
