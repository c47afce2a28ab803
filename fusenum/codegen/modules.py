"""Kernel modules: the LLVM IR text of one kernel, built by the elementwise or the reduction builder."""
from __future__ import annotations

from . import ir_text as ir

from .abi import SYMBOL, WHOLE_SYMBOL
from .elementwise import KernelBuilder
from .emitter import I32, I64, PTR
from .reduction import ReductionBuilder
from .spec import KernelSpec
from .target import Target


def kernel_module(spec: KernelSpec, target: Target, quick: bool = False) -> str:
    """LLVM IR text of a module defining the kernel for ``spec`` (and its whole-array entry);
    ``quick``: for the quick first build, whose elementwise code is smaller (less for LLVM to
    compile; see :class:`~fusenum.codegen.elementwise.KernelBuilder`), with the same bits."""
    module = ir.Module(name="fusenum")
    fn = ir.Function(module, ir.FunctionType(I32, [I64, I64, PTR, PTR]), name=SYMBOL)
    fn.attributes.add("nounwind")
    # A 64-byte aligned stack frame, whatever the caller's: vector registers spilled around calls
    # (libmvec's functions save none) then never straddle cache lines. Without it, a kernel's speed
    # depended on where its caller's stack happened to be: sin(a)**2+cos(b)**2 in float32 took 814
    # or 648 us per 1M elements (AVX-512) with the same loop, its spill slots split or not.
    fn.attributes.alignstack = 64
    if spec.reduce is None:
        KernelBuilder(spec, target, fn, quick=quick).build()
    else:
        ReductionBuilder(spec, target, fn).build()
    if spec.checked:
        whole = ir.Function(module, ir.FunctionType(I32, [PTR]), name=WHOLE_SYMBOL)
        whole.attributes.add("nounwind")
        b = ir.IRBuilder(whole.append_basic_block("entry"))
        b.ret(b.call(fn, [ir.Constant(I64, 0), ir.Constant(I64, -1), whole.args[0], ir.Constant(PTR, None)]))
    return str(module)

