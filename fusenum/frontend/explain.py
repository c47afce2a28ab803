"""``fusenum.explain``: what a call would run, as text -- fusenum's ``disassemble`` / ``make_jaxpr``.

For the same arguments as :func:`fusenum.evaluate` (names from the caller's
frame or the given dicts) or for a :class:`~fusenum.LazyArray`, the call is
planned the way the runtime plans it (:mod:`fusenum.runtime.preview`) and
described:

* the operands and the typed IR, each node once (hash-consed: a shared
  subexpression is one numbered line) with its dtype;
* the tier that serves the call (the compiled kernel, or the interpreter while it compiles):
  its last pass's, and with several stages each stage's too;
* the target: SIMD level and vector-math mode;
* each stage (each reduction pass, innermost first, then the final elementwise
  expression) with its kernel: the path that picks it (checked fast path or
  general), dimensions, each operand's layout class, vector lanes and unrolling,
  streaming stores, threads, reduction pieces, the implementation of each
  transcendental function, and where the kernel comes from (memory, with how it
  got there and how long that took, or not yet compiled);
* on request each kernel's LLVM IR and machine assembly.

An integer power by a negative exponent known before the call runs raises
NumPy's error, as the call does; one whose exponent comes from the arrays is
noted on its stage.

Nothing is compiled for the description itself and nothing that changes a
result is touched; ``assembly=True`` compiles each kernel to assembly text
(kept nowhere).
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy as np

from ..codegen import settings
from ..errors import ArgumentTypeError, UnsupportedOperationError
from ..codegen.target import current
from ..ir import nodes
from ..ir.nodes import Node
from ..runtime import cached_plan, kernels
from ..runtime.tiering import get_tiering
from ..runtime.layout import as_casting, as_order, check_options, writes_through_view
from .dask_types import has_dask
from .evaluation import bind, not_an_expression
from .forcing import program_of
from .lazy import LazyArray, _stands_for_scalar

if TYPE_CHECKING:  # imported when something is explained (see _preview): not every program explains
    from ..runtime.preview import KernelCall, Preview, Stage

#: What each layout class of :class:`~fusenum.codegen.spec.Access` means.
_LAYOUTS = {"c": "contiguous", "s": "strided", "0": "broadcast", "u": "one value"}


class Explanation(str):
    """The text :func:`explain` returns; shown as it is (not quoted) at the interactive prompt."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def explain(ex: str | LazyArray, local_dict: dict | None = None, global_dict: dict | None = None, *,
            out: np.ndarray | None = None, order: str = "K", casting: str = "same_kind",
            llvm: bool = False, assembly: bool = False) -> Explanation:
    """Describe what ``fusenum.evaluate(ex, local_dict, global_dict, out=out, order=order,
    casting=casting)`` would run, without running it.

    Returns the description (a ``str``; at the interactive prompt it shows as
    text, elsewhere ``print`` it): typed IR, tier, target, each stage's kernel
    variant, layouts, lanes, threads, math implementations and whether the kernel
    is in memory (and how it got there) or would be compiled. ``llvm=True`` adds
    each kernel's LLVM IR, ``assembly=True`` its machine assembly (which compiles
    it, for the text only). Names are looked up as ``evaluate`` looks them up, and
    an invalid expression, an unknown name or operands the call would refuse
    raise the same error as the call, as does an integer power by a negative
    constant or Python scalar that a kernel would compute (NumPy's ``ValueError``).
    Where an integer power's exponent comes from the arrays, whose values are not
    read, the stage computing it notes that the call raises if one is negative.
    """
    order, casting = as_order(order), as_casting(casting)
    if out is not None and type(out) is not np.ndarray and writes_through_view(out):
        out = out.view(np.ndarray)  # (as evaluate writes it)
    check_options(order, casting)  # (the call's own errors)
    _check_switches(llvm, assembly)
    if isinstance(ex, LazyArray):
        if local_dict is not None or global_dict is not None:
            raise ArgumentTypeError("local_dict and global_dict do not apply to a LazyArray, which holds its "
                                    "operands")
        return explain_lazy(ex, out=out, order=order, casting=casting, llvm=llvm, assembly=assembly)
    if not isinstance(ex, str):
        raise not_an_expression(ex)
    ex = str.__str__(ex)  # (a str subclass: its characters, as evaluate reads them)
    parsed, values, key = bind(ex, local_dict, global_dict, sys._getframe(1))
    _refuse_dask(values)
    plan = cached_plan(key, parsed, values)
    shown = _preview(plan, values, parsed.names, out, order, casting)
    return _describe(f"fusenum.explain({ex!r})", parsed.names, values, shown, llvm, assembly)


def explain_lazy(r: LazyArray, *, out: np.ndarray | None = None, order: str = "K", casting: str = "same_kind",
                 llvm: bool = False, assembly: bool = False) -> Explanation:
    """:func:`explain` for the lazy expression ``r`` (what forcing it would run)."""
    _check_switches(llvm, assembly)
    title = f"LazyArray.explain(): {r.dtype} {r.shape}"
    if out is not None and type(out) is not np.ndarray and writes_through_view(out):
        out = out.view(np.ndarray)  # (as evaluate writes it)
    if r.is_forced and out is None and order == "K":
        return Explanation(f"{title}\nalready computed: forcing returns the kept array, no kernel runs")
    base = _viewed_base(r)
    if base is not None and out is None and order == "K":
        shown = explain_lazy(base, llvm=llvm, assembly=assembly)
        return Explanation(f"{title}\na view of another lazy array ({base.dtype} {base.shape}): forcing computes "
                           f"that whole array, then takes NumPy's view of it\n\n{shown}")
    program, values = program_of(r)
    _refuse_dask(values)
    plan = cached_plan(program, program, values)
    shown = _preview(plan, values, program.names, out, order, casting)
    return _describe(title, program.names, values, shown, llvm, assembly)


def _viewed_base(r: LazyArray) -> LazyArray | None:
    """The unforced lazy array that forcing ``r`` computes first and takes a view of (``x[1:]``, ``x.T``,
    ``x.real`` of an expression ``x``: :func:`fusenum.frontend.lazy._part_view`), else None."""
    if r._value is not None:
        return None
    if r._view is not None:
        return r._view[0] if r._view[0]._value is None else None
    if r._op in ("real", "imag") and type(r._args[0]) is LazyArray and r._args[0]._value is None \
            and not _stands_for_scalar(r._args[0]):
        return r._args[0]
    return None


def _check_switches(llvm: object, assembly: object) -> None:
    for name, value in (("llvm", llvm), ("assembly", assembly)):
        if not isinstance(value, (bool, np.bool_)):  # (not 'no', which is true)
            raise ArgumentTypeError(f"explain's {name} must be True or False, not {value!r}")


def _refuse_dask(values: list) -> None:
    if has_dask(values):
        raise UnsupportedOperationError("fusenum.explain does not describe expressions over dask arrays "
                                        "(their graph runs the fused kernel per block); explain it on one "
                                        "block's ndarrays instead")


def _lazy_explain(self: LazyArray, llvm: bool = False, assembly: bool = False) -> Explanation:
    """Describe what forcing this expression would run (see :func:`fusenum.explain`)."""
    return explain_lazy(self, llvm=llvm, assembly=assembly)


# Installed here rather than written in lazy.py, which this module imports (no import cycles).
LazyArray.explain = _lazy_explain  # type: ignore[attr-defined]


def _preview(plan, values: list, *args) -> Preview:
    """:func:`fusenum.runtime.preview.preview`, its module loaded on the first explanation; and the
    error the call raises for a Python scalar its operation's dtype cannot hold (``int8_array + k``
    with ``k = 300``), then the one its kernels raise for an integer power by a negative constant
    (:func:`~fusenum.runtime.preview.check_negative_powers`)."""
    from ..runtime.preview import check_negative_powers, preview

    shown = preview(plan, values, *args)
    plan.take(values)  # (the fast path's preview never converts the scalars; the call does, after its checks)
    check_negative_powers(shown)
    return shown


def _describe(title: str, names, values, shown: Preview, llvm: bool, assembly: bool) -> Explanation:
    kernels.load_code_generator()  # on first use, as a compile loads it (signal handlers: see there)
    from ..codegen import variant

    target = current()
    lines = [title, "operands:"]
    lines += [f"  {name}: {_operand(value)}" for name, value in zip(names, values)] or ["  (none)"]
    lines.append("typed IR:")
    lines += ["  " + line for line in ir_lines(shown.plan.root, shown.labels)]
    last = shown.stages[-1]
    lines.append(f"result: {last.dtype} {last.shape}")
    lines.append(f"tier: {shown.tier}")
    lines.append(f"target: SIMD {target.name} ({target.vector_bits}-bit vectors), "
                 f"vector math {settings.vector_math}")
    for number, stage in enumerate(shown.stages, 1):
        lines += _stage(number, len(shown.stages), stage, single=len(shown.stages) == 1)
        if stage.call is not None and llvm:
            lines += [f"LLVM IR of stage {number}:", variant.llvm_ir(stage.call.spec, target)]
        if stage.call is not None and assembly:
            lines += [f"assembly of stage {number} ({target.name}):", variant.assembly(stage.call.spec, target)]
    return Explanation("\n".join(lines))


def _operand(value) -> str:
    if type(value) is not np.ndarray:
        return f"Python {type(value).__name__} {value!r} (weak scalar)"
    if value.ndim < 2:
        layout = "contiguous" if value.flags.c_contiguous else "strided"
    else:
        layout = "C-contiguous" if value.flags.c_contiguous else \
            "F-contiguous" if value.flags.f_contiguous else "strided"
    swapped = "" if value.dtype.isnative else ", byte-swapped"
    return f"{value.dtype} {value.shape}, {layout}{swapped}"


def ir_lines(root: Node, labels: list[str]) -> list[str]:
    """``root`` as numbered lines, one per node (a shared subexpression once), operands first:
    ``%3 = add(%1, %2) : float64``. Input slot ``k`` is shown as ``labels[k]``."""
    number: dict[Node, int] = {}
    lines = []
    for node in nodes.walk(root):
        number[node] = len(number)
        lines.append(f"%{number[node]} = {_node_text(node, number, labels)} : {node.dtype}")
    return lines


def _node_text(node: Node, number: dict, labels: list[str]) -> str:
    if node.op == "input":
        return f"input {labels[node.attr]}"
    if node.op == "const":
        return f"const {node.value.item()!r}"
    args = ", ".join(f"%{number[arg]}" for arg in node.args)
    if node.op == "reduce":
        attr = node.attr
        return f"{attr.reduction}({args}, axis={attr.axis!r}" + (", keepdims=True)" if attr.keepdims else ")")
    return f"{node.op}({args})"


def _stage(number: int, count: int, stage: Stage, single: bool) -> list[str]:
    lines = [f"stage {number} of {count}: {stage.title} -> {stage.dtype} {stage.shape}"]
    if not single:
        lines.append("  computes:")
        lines += ["    " + line for line in ir_lines(stage.root, stage.labels)]
    if stage.note:
        lines.append(f"  {stage.note}")
    if stage.call is not None:
        if not single:  # (one stage: the call's tier line says it)
            lines.append(f"  tier: {stage.tier}")
        lines += _kernel(stage.call, stage.labels)
    return lines


def _kernel(call: KernelCall, labels: list[str]) -> list[str]:
    kernels.load_code_generator()  # on first use, as a compile loads it (signal handlers: see there)
    from ..codegen import variant

    target = current()
    spec = call.spec
    shape = variant.variant(spec, target)
    output = "out" if spec.reduce is None else "accumulator"
    layouts = ", ".join(f"{label}: {_layout(access)}" for label, access in zip(labels + [output], spec.accesses))
    threads = f"{call.threads} thread{'s' if call.threads > 1 else ''}"
    code = (f"  code: {shape.lanes} lane{'s' if shape.lanes > 1 else ''} x {shape.unroll} unrolled"
            f"{', pairwise sums' if spec.pairwise else ''}, streaming stores {'yes' if shape.streaming else 'no'}")
    lines = [f"  kernel: {shape.kind}, {call.path}, {spec.ndim} dimension{'s' if spec.ndim > 1 else ''}",
             f"  layouts (innermost dimension): {layouts}", code]
    work = f"  work: {call.size:,} elements on {threads}"
    if call.pieces > 1:
        work += f", in {call.pieces} pieces combined in order"
    lines.append(work)
    for math_call in variant.math_calls(spec.root, target):
        kind, _, symbol = math_call.implementation.partition(":")
        how = {"own": "fusenum's own vector code", "libmvec": f"libmvec {symbol}",
               "libm": f"C library {symbol}, lane by lane"}[kind]
        lines.append(f"  math: {math_call.function} on {math_call.dtype}: {how}")
    if call.note:
        lines.append(f"  note: {call.note}")
    lines.append(f"  from: {_origin(call)}")
    return lines


def _layout(access) -> str:
    return _LAYOUTS[access.stride] + (" byte-swapped" if access.swapped else "")


#: Where a kernel not in memory comes from, under each tiering policy.
_NOT_IN_MEMORY = {
    "never": "not in memory yet: the call loads it from the disk cache, or compiles it",
    "always": "not in memory: the call does not use it (tiering policy 'always')",
    "auto": "not in memory yet: the call loads it from the disk cache if it is there, else it is interpreted "
            "or waits for it (see the tier above)",
}


def _origin(call: KernelCall) -> str:
    kernel = call.kernel
    if kernel is None:
        return _NOT_IN_MEMORY[get_tiering()]
    how = {"disk": "loaded from the disk cache", "shipped": "loaded from the kernels shipped with fusenum"}.get(
        kernel.origin, kernel.origin)
    build = "; its quick build, until the optimized build arrives" if kernel.build == "quick" else ""
    return f"memory ({how} in {kernel.seconds * 1e3:.1f} ms{build})"
