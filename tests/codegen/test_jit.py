"""The JIT: invalid IR is a Python exception, compiled code is freed with its owner."""
import gc
import weakref

import numpy as np
import pytest

import fusenum
from fusenum.codegen import jit, target


def test_invalid_ir_is_a_compile_error_not_an_abort():
    broken = "define i32 @kernel() {\n  ret i64 0\n}\n"
    with pytest.raises(fusenum.CompileError, match="fusenum generated invalid LLVM IR"):
        jit.compile_kernel(broken, "kernel", target.current())
    assert issubclass(fusenum.CompileError, RuntimeError)


def test_unverifiable_ir_is_a_compile_error():
    # parses, but the verifier rejects it: a block without a terminator
    broken = "define i32 @kernel() {\nentry:\n  %x = add i32 1, 2\n}\n"
    with pytest.raises(fusenum.CompileError):
        jit.compile_kernel(broken, "kernel", target.current())


def test_compiled_library_is_released_with_its_owner():
    module = "define i32 @kernel(i64 %a, i64 %b, ptr %c, ptr %d) {\n  ret i32 7\n}\n"
    compiled = jit.compile_kernel(module, "kernel", target.current())
    assert compiled.address and compiled.object_code
    tracker = weakref.ref(compiled.tracker)
    del compiled
    gc.collect()
    assert tracker() is None


def test_object_code_can_be_linked_again():
    module = "define i32 @kernel(i64 %a, i64 %b, ptr %c, ptr %d) {\n  ret i32 3\n}\n"
    first = jit.compile_kernel(module, "kernel", target.current())
    again = jit.link(first.object_code, "kernel")
    from fusenum.codegen.abi import KERNEL_CTYPE
    assert KERNEL_CTYPE(again.address)(0, 0, (), None) == 3
