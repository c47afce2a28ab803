"""The loop and branch scaffold: small functions built with it, compiled and called."""
import ctypes

import pytest
from fusenum.codegen import ir_text as ir

from fusenum.codegen import control, jit, target
from fusenum.codegen.emitter import I1, I64, Pair

F64 = ir.DoubleType()


def _compile(build, arg_types, ctype):
    """Compile ``build(b, args) -> return value`` as ``i64 f(args)``; the C function and the IR text."""
    module = ir.Module(name="control_test")
    fn = ir.Function(module, ir.FunctionType(I64, arg_types), name="f")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    b.ret(build(b, fn.args))
    text = str(module)
    compiled = jit.compile_kernel(text, "f", target.current())
    function = ctype(compiled.address)
    function.keep = compiled  # the machine code lives as long as the function
    return function, text


I64_FN = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_int64)


@pytest.mark.parametrize("loop", [control.counted_loop, control.rotated_counted_loop])
@pytest.mark.parametrize("begin, end, step", [(0, 10, 1), (3, 10, 4), (5, 5, 1), (7, 2, 1), (-4, 9, 3), (0, 4, 4),
                                              (0, 3, 4)])
def test_counted_loop_index_and_carried_values(loop, begin, end, step):
    """Both shapes of the counted loop (the test on top, and rotated: tested before and at the bottom)
    run the same iterations and give the same final index and carried values."""
    def build(b, args):
        def body(i, total, count):
            return [b.add(total, i), b.add(count, ir.Constant(I64, 1))]

        final, total, count = loop(b, args[0], args[1], body, step=step,
                                   carried=[ir.Constant(I64, 0), ir.Constant(I64, 0)])
        # pack the three results into one number to check them all
        return b.add(b.mul(final, ir.Constant(I64, 1 << 32)),
                     b.add(b.mul(total, ir.Constant(I64, 1 << 16)), count))

    function, _ = _compile(build, [I64, I64], I64_FN)
    indices = list(range(begin, end - step + 1, step))
    final = indices[-1] + step if indices else begin
    assert function(begin, end) == (final << 32) + (sum(indices) << 16) + len(indices)


def test_while_loop_carries_pairs_and_tests_first():
    def build(b, args):
        # while n > 0: (re, im) = (re + im, re); n -= 1  (Fibonacci in a Pair)
        def more(z, n):
            return b.icmp_signed(">", n, ir.Constant(I64, 0))

        def step(z, n):
            return Pair(b.add(z.re, z.im), z.re), b.sub(n, ir.Constant(I64, 1))

        z, n = control.while_loop(b, [Pair(ir.Constant(I64, 1), ir.Constant(I64, 0)), args[0]], more, step)
        assert isinstance(z, Pair)
        return b.add(b.mul(z.re, ir.Constant(I64, 1000)), b.add(z.im, b.mul(n, ir.Constant(I64, 10 ** 9))))

    function, _ = _compile(build, [I64, I64], I64_FN)
    assert function(10, 0) == 89 * 1000 + 55
    assert function(0, 0) == 1000  # the body never ran
    assert function(-3, 0) == 1000 - 3 * 10 ** 9


def test_do_while_runs_the_body_at_least_once():
    def build(b, args):
        def halve(n, steps):
            half = b.sdiv(n, ir.Constant(I64, 2))
            return b.icmp_signed(">", half, ir.Constant(I64, 0)), [half, b.add(steps, ir.Constant(I64, 1))]

        half, steps = control.do_while(b, [args[0], ir.Constant(I64, 0)], halve)
        return b.add(b.mul(steps, ir.Constant(I64, 100)), half)

    function, _ = _compile(build, [I64, I64], I64_FN)
    assert function(0, 0) == 100  # one pass, though the condition never held
    assert function(100, 0) == 7 * 100  # 50, 25, 12, 6, 3, 1, 0


@pytest.mark.parametrize("weights", [None, control.RARE])
def test_when_computes_only_on_the_taken_branch(weights):
    def build(b, args):
        counter = control.entry_alloca(b, I64, name="counter")
        b.store(ir.Constant(I64, 0), counter)

        def compute():  # a side effect shows whether this ran
            b.store(ir.Constant(I64, 1000), counter)
            return Pair(b.mul(args[1], ir.Constant(I64, 2)), args[1])

        flag = b.icmp_signed(">", args[0], ir.Constant(I64, 0))
        value = control.when(b, flag, compute, Pair(ir.Constant(I64, 7), ir.Constant(I64, 1)), weights)
        return b.add(b.load(counter), b.add(value.re, b.mul(value.im, ir.Constant(I64, 10))))

    function, text = _compile(build, [I64, I64], I64_FN)
    assert function(1, 5) == 1000 + 10 + 50
    assert function(0, 5) == 7 + 10
    assert ("!prof" in text) == (weights is not None)
    if weights is not None:
        assert f"i32 {weights[0]}, i32 {weights[1]}" in text


def test_entry_alloca_goes_to_the_start_of_the_entry_block():
    module = ir.Module(name="alloca_test")
    fn = ir.Function(module, ir.FunctionType(I64, []), name="f")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    b.add(ir.Constant(I64, 1), ir.Constant(I64, 2))

    def body(i):
        slot = control.entry_alloca(b, I1, count=4, name="inside")
        b.store(ir.Constant(I1, 1), slot)

    control.counted_loop(b, ir.Constant(I64, 0), ir.Constant(I64, 3), body)
    assert fn.entry_basic_block.instructions[0].opname == "alloca"
    assert fn.entry_basic_block.instructions[0].name == "inside"
    assert all(i.opname != "alloca" for block in fn.blocks[1:] for i in block.instructions)
    assert b.block.name == "loop.done"  # the builder is back where it was: after the loop
