"""The JIT: invalid IR is a Python exception, compiled code is freed with its owner, threads compile
at the same time, and quick and optimized builds compute the same."""
import ctypes
import gc
import threading
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


def _constant_module(value: int, padding: int) -> str:
    # ``padding`` chained adds make a module that takes a while to compile
    lines = ["define i64 @kernel(i64 %x0) {"]
    lines += [f"  %x{i + 1} = add i64 %x{i}, {i}" for i in range(padding)]
    lines += [f"  %r = add i64 %x{padding}, {value}", "  ret i64 %r", "}"]
    return "\n".join(lines) + "\n"


def test_two_threads_compile_different_modules_at_once():
    results, errors = {}, []
    start = threading.Barrier(2)

    def compile_one(value: int) -> None:
        try:
            start.wait()
            for _ in range(3):
                module = _constant_module(value, 2000)
                code = jit.compile_object(module, target.current(), quick=value % 2 == 0)
                compiled = jit.link(code, "kernel")
                function = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(compiled.address)
                results.setdefault(value, []).append(function(0))
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=compile_one, args=(value,)) for value in (10, 11)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    expected = sum(range(2000))
    assert results == {10: [expected + 10] * 3, 11: [expected + 11] * 3}


def test_quick_and_optimized_object_code_compute_the_same():
    module = _constant_module(5, 10)
    quick = jit.link(jit.compile_object(module, target.current(), quick=True), "kernel")
    optimized = jit.link(jit.compile_object(module, target.current()), "kernel")
    signature = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)
    assert signature(quick.address)(1) == signature(optimized.address)(1) == 1 + 45 + 5
