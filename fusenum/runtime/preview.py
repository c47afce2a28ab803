"""What a call of a plan would run, worked out the way the runtime works it out, without running it.

For :func:`fusenum.explain`. :func:`preview` follows :func:`fusenum.runtime.elementwise.execute`
and :func:`fusenum.runtime.staging.execute` step by step -- fast path or general path, layout
classes, coalesced dimensions, streaming stores, threads; for reductions each staged pass (its
kernel, pieces, threads) and the final elementwise expression -- with the planning functions
those use, and for each kernel call the compiled kernel if one is in memory. Nothing is compiled,
run or counted, and nothing kept changes what a call computes (plans and stage tables it fills are
the ones the call would fill).

:attr:`Preview.tier` says which tier serves the call's last pass (:mod:`.tiering`): the
compiled kernel, or the interpreter while the kernel compiles in the background;
:attr:`Stage.tier` says it for each pass of a call with reductions.

:func:`check_negative_powers` raises the error the kernels would report where it is known before they
run (an integer power by a negative constant or Python scalar), and notes where only the arrays' values
can tell.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..codegen.abi import STATUS_MESSAGES, STATUS_NEGATIVE_INT_POWER, raise_status
from ..codegen.spec import KernelSpec
from ..ir import nodes
from ..ir.nodes import Node
from ..ir.shapes import broadcast_shapes
from . import staging, tiering
from . import threads as pool
from .elementwise import general_layout, prepare_general
from .kernels import Kernel
from .input_casting import check_input_casts
from .layout import CASTING_RULES, needs_temporary, single_value_views_copied
from .plan import Plan

#: The tiers, as :attr:`Preview.tier` names them.
COMPILED = "compiled kernel"
COMPILED_FIRST = "compiled kernel, compiled first (tiering policy 'never')"
INTERPRETED = "interpreter (tier 0; tiering policy 'always')"
INTERPRETED_MEANWHILE = ("interpreter (tier 0), the kernel compiling in the background for later calls (its "
                         "second call asks for it); unless the call loads the kernel from the disk cache, or "
                         "waits for it because a one-node kernel the interpreter needs is neither in memory, "
                         "shipped nor on disk")
#: ... for a call big enough to wait for its kernel (see :mod:`.tiering`).
BIG_WAITS = ("compiled kernel: the call waits for it (loaded from the disk cache, or compiled), unless it is "
             "one operation NumPy computes or this process has not loaded the compiler on a machine whose "
             "disk cache is empty (then interpreted, the kernel compiling in the background)")


@dataclass
class KernelCall:
    """One kernel a call runs: which path chose it, its spec, the kernel if already in memory
    (None: the call compiles it first), threads, pieces (partial results of a reduction) and a
    note on anything else the call does around it."""

    path: str
    spec: KernelSpec
    kernel: Kernel | None
    threads: int
    size: int
    pieces: int = 1
    note: str = ""


@dataclass
class Stage:
    """One stage of a call: the expression its kernel computes (``root``, whose input slots are
    ``labels``), its result's shape and dtype, and the kernel call (None: nothing to compute)."""

    title: str
    root: Node
    labels: list[str]
    shape: tuple[int, ...]
    dtype: np.dtype
    call: KernelCall | None
    note: str = ""
    #: The values of the input slots of ``root`` that are the call's Python scalars (known before it runs).
    scalars: dict[int, object] = field(default_factory=dict)

    @property
    def tier(self) -> str:
        """The tier that serves this stage's kernel call ("" if it has none), as for a whole call."""
        return "" if self.call is None else _tier(self.call)


@dataclass
class Preview:
    """Everything a call runs, stage by stage."""

    plan: Plan
    labels: list[str]  # per kernel operand slot of the plan's root
    stages: list[Stage] = field(default_factory=list)
    tier: str = COMPILED


def preview(plan: Plan, values: list, names=(), out=None, order: str = "K",
            casting: str = "same_kind") -> Preview:
    """What :func:`fusenum.runtime.execute` would run for ``plan`` on ``values``.

    Raises what the call would raise for the operands (broadcasting, ``out``, ``order``,
    ``casting``, an empty reduction without identity).
    """
    names = list(names) or [f"operand {k}" for k in range(len(values))]
    if plan.materialize:  # (as execute() gives them: copies of some broadcast views)
        values = single_value_views_copied(plan.materialize, values)
    check_input_casts(plan.casts, values, names, casting)
    labels = [_label(names[s.key], values[s.key], s.dtype) for s in plan.sources]
    result = Preview(plan, labels)
    if plan.staged is None:
        stage = _elementwise(plan, values, names, labels, out, order, casting)
        stage.scalars = _through(_python_scalars(plan, values), range(len(plan.sources)))
        result.stages.append(stage)
    else:
        result.stages.extend(_staged(plan, values, labels, out, order, casting))
    last = result.stages[-1]
    if last.call is not None or last.title == "elementwise" or last.title.startswith("final"):
        # (the last pass decides: a reduction's is interpreted as an elementwise call's is)
        result.tier = _tier(last.call)
    return result


def _tier(call: KernelCall | None) -> str:
    """The tier that serves a call whose last pass is ``call`` (None: no kernel runs)."""
    kernel = None if call is None else call.kernel
    if tiering.policy == "always":
        return INTERPRETED
    if kernel is not None:
        return COMPILED
    if tiering.policy == "never":
        return COMPILED_FIRST
    return BIG_WAITS if call is not None and tiering.is_big(call.spec, call.size) else INTERPRETED_MEANWHILE


def _label(name: str, value, converted: np.dtype | None) -> str:
    if converted is None:
        return name
    return f"{name} (Python {type(value).__name__} as {converted})"


def _elementwise(plan: Plan, values: list, names: list, labels: list, out, order: str, casting: str) -> Stage:
    """The elementwise stage: the checked fast path if the call takes it, else the general path."""
    fast = _fast_path(plan, values, out, order, casting)
    if fast is not None:
        shape, call = fast
        return Stage("elementwise", plan.root, labels, shape, plan.dtype, call)
    operands, result, target = prepare_general(plan, values, names, out, order, casting)
    notes = []
    if target.dtype != plan.dtype:
        notes.append(f"the kernel casts each result to {target.dtype} (out's dtype) as it stores it")
    if target is not result:
        notes.append("it writes a temporary, then copied to out (out overlaps an input)")
    note = "; ".join(notes)
    if not target.size:
        return Stage("elementwise", plan.root, labels, result.shape, result.dtype, None, "empty: no kernel runs")
    shape, _, accesses, streaming = general_layout(plan, operands, target, fresh=target is not out)
    size = target.size
    threads = pool.get_num_threads() if size >= plan.parallel_size else 1
    spec = plan.spec(target.dtype, accesses, len(shape), streaming=streaming)
    kernel = plan.kernel_in_memory(target.dtype, accesses, len(shape), streaming=streaming)
    call = KernelCall(f"general, coalesced shape {tuple(shape)}", spec, kernel, threads, size, note=note)
    return Stage("elementwise", plan.root, labels, result.shape, result.dtype, call)


def _fast_path(plan: Plan, values: list, out, order: str, casting: str):
    """``(shape, KernelCall)`` if the call is served by the checked kernel (as in ``execute``)."""
    if plan.first_array is None or order not in ("K", "A", "C"):
        return None
    accesses = plan.checked_accesses(values)
    if accesses is None:
        return None
    shape = values[plan.first_array].shape
    if out is not None:
        # What execute checks, then what the checked kernel itself checks (else: the general path).
        if not (type(out) is np.ndarray and out.dtype == plan.dtype and casting in CASTING_RULES):
            return None
        if (out.shape != shape or not out.flags.c_contiguous or not out.flags.writeable
                or needs_temporary(out, list(plan.take(values)))):
            return None
    size = math.prod(shape)
    streaming = plan.streams(size * plan.dtype.itemsize, fresh=out is None)
    threads = pool.get_num_threads() if size >= plan.parallel_size else 1
    spec = plan.spec(plan.dtype, accesses, 1, checked=True, streaming=streaming)
    kernel = plan.kernel_in_memory(plan.dtype, accesses, 1, checked=True, streaming=streaming)
    return shape, KernelCall("fast path (checked kernel)", spec, kernel, threads, size)


def _staged(plan: Plan, values: list, labels: list, out, order: str, casting: str) -> list[Stage]:
    """Each reduction pass, innermost first, then the final elementwise expression."""
    stages = staging.stages_of(plan)
    scalars = _python_scalars(plan, values)  # (by operand: the plan's slots come first)
    operands = list(plan.take(values))
    labels = list(labels)
    result = []
    for step in stages.steps:
        arrays = [operands[k] for k in step.sources]
        if not hasattr(step, "attr"):  # a kept intermediate of a big expression, not a reduction
            plan, values = staging.elementwise_plan(step.root, arrays)
            step_labels = [labels[k] for k in step.sources]
            stage = _elementwise(plan, values, step_labels, [step_labels[s.key] for s in plan.sources],
                                 None, "K", "same_kind")
            stage.title = "kept intermediate (a big expression is split into several kernels)"
            stage.scalars = _through(scalars, [step.sources[s.key] for s in plan.sources])
            result.append(stage)
            operands.append(np.empty(broadcast_shapes(*(a.shape for a in arrays)), step.root.dtype))
            labels.append(f"stage {len(result)}")
            continue
        prepared = staging.planned_pass(step, arrays)
        call = None
        if prepared.spec is not None:
            pieces = prepared.pieces[0] if prepared.pieces else 1
            innermost = ("a reduced axis innermost: rows summed up in registers"
                         if prepared.spec.accesses[-1].stride in ("0", "u") else
                         "a kept axis innermost: accumulators updated along each row")
            call = KernelCall(f"one pass, {innermost}", prepared.spec, prepared.kernel, prepared.threads,
                              math.prod(_iteration(arrays)), pieces)
        attr = step.attr
        title = f"reduction {attr.reduction}(axis={attr.axis!r}" + (", keepdims=True)" if attr.keepdims else ")")
        note = "" if call else "empty: no kernel runs, the start value is the result"
        if attr.reduction == "mean":
            note = "; ".join(filter(None, [note, "the sums are then divided by the count (NumPy's true_divide)"]))
        result.append(Stage(title, step.argument, [labels[k] for k in step.sources], prepared.shape, step.dtype,
                            call, note, _through(scalars, step.sources)))
        operands.append(np.empty(prepared.shape, step.dtype))  # stands in for the pass's result
        labels.append(f"stage {len(result)}")
    final_values = [operands[k] for k in stages.final_slots]
    if stages.direct and out is None and order in ("K", "A", "C"):
        return result  # the last reduction's result is the answer
    final, final_values = staging.final_plan(stages, final_values)
    final_labels = [labels[k] for k in stages.final_slots]
    stage = _elementwise(final, final_values, final_labels, [final_labels[s.key] for s in final.sources],
                         out, order, casting)
    stage.title = "final elementwise expression"
    stage.scalars = _through(scalars, [stages.final_slots[s.key] for s in final.sources])
    result.append(stage)
    return result


def _python_scalars(plan: Plan, values: list) -> dict[int, object]:
    """The call's Python scalars, by the slot of ``plan`` they are bound to (weak: converted per call)."""
    return {slot: values[s.key] for slot, s in enumerate(plan.sources) if s.dtype is not None}


def _through(scalars: dict[int, object], operands) -> dict[int, object]:
    """``scalars`` (by operand) by the slot of a stage's root, whose slot ``k`` reads ``operands[k]``."""
    return {slot: scalars[k] for slot, k in enumerate(operands) if k in scalars}


#: What a stage's kernel call notes when an integer power's exponent is known only from the arrays.
NEGATIVE_POWER_NOTE = (f"raises ValueError ({STATUS_MESSAGES[STATUS_NEGATIVE_INT_POWER][1]!r}) if an "
                       "integer power's exponent, which comes from the arrays, is negative (explain reads "
                       "no array values)")


def check_negative_powers(shown: Preview) -> None:
    """Raise the call's error for an integer power by a negative exponent known before the kernels run
    (a constant, a Python scalar operand) in a stage whose kernel runs on at least one element, as
    the kernel reports it; otherwise add :data:`NEGATIVE_POWER_NOTE` to the kernel call of each stage
    with an integer power whose exponent comes from the arrays (an unsigned or bool one, never negative,
    aside). Call it after the call's other checks, which come first."""
    for stage in shown.stages:
        if stage.call is None or not stage.call.size:
            continue  # (no kernel runs: nothing is raised, as in the call)
        unknown = False
        for node in nodes.walk(stage.root):
            if node.op != "power" or node.dtype.kind != "i":
                continue
            exponent = node.args[1]
            if exponent.op == "const":
                negative = bool(np.any(exponent.value < 0))
            elif exponent.op == "input" and exponent.attr in stage.scalars:
                negative = stage.scalars[exponent.attr] < 0
            else:
                negative = False
                unknown = unknown or not (exponent.op == "cast" and exponent.args[0].dtype.kind in "bu")
            if negative:
                raise_status(STATUS_NEGATIVE_INT_POWER)
        if unknown:
            stage.call.note = "; ".join(filter(None, [stage.call.note, NEGATIVE_POWER_NOTE]))


def _iteration(arrays: list[np.ndarray]) -> tuple[int, ...]:
    """The shape a reduction pass iterates over (its arrays' broadcast)."""
    return broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
