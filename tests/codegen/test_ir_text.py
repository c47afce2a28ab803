"""fusenum's IR text builder prints exactly what ``llvmlite.ir`` prints for the same calls.

Two checks: a module that uses every builder method and type the code generator uses, built with
both libraries in this process; and real kernel modules (elementwise, reductions, complex,
float16, integers, bytes, every SIMD width) and the thread pool's module, built once by fusenum
and once, in a child process, by the same code generator running on ``llvmlite.ir``.
"""
from __future__ import annotations

import math
import pickle
import subprocess
import sys

import numpy as np
import pytest
from llvmlite import ir as llvmlite_ir

import fusenum
from fusenum.codegen import ir_text, modules, pool, target, variant


def _everything(ir) -> str:
    """A module touching each part of the API fusenum uses, built with ``ir``."""
    i8, i32, i64, ptr = ir.IntType(8), ir.IntType(32), ir.IntType(64), ir.PointerType()
    f32, f64, v4 = ir.FloatType(), ir.DoubleType(), ir.VectorType(ir.DoubleType(), 4)
    module = ir.Module(name="everything")
    table = ir.GlobalVariable(module, ir.ArrayType(i64, 3), "table")
    table.global_constant, table.linkage = True, "private"
    table.initializer = ir.Constant(ir.ArrayType(i64, 3), [1, -2, 3])
    text = ir.GlobalVariable(module, ir.ArrayType(i8, 5), 'we"ird\\')
    text.initializer = ir.Constant(ir.ArrayType(i8, 5), bytearray(b'a"\\\n\x00'))
    counter = ir.GlobalVariable(module, i32, "counter")
    counter.initializer, counter.align, counter.linkage = ir.Constant(i32, None), 4, "internal"
    declared = ir.GlobalVariable(module, i64, "declared")
    printf = ir.Function(module, ir.FunctionType(i32, [ptr], var_arg=True), "printf")
    pair = ir.Function(module, ir.FunctionType(ir.LiteralStructType([f64, f64]), [f64]), "pair")
    fn = ir.Function(module, ir.FunctionType(f64, [f64, v4, i64, ptr]), "everything")
    fn.attributes.add("nounwind")
    fn.attributes.add("alwaysinline")
    x, v, n, p = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    slot = b.alloca(f64, name="slot")
    many = b.alloca(i64, size=ir.Constant(i64, 4))
    b.store(x, slot)
    loaded = b.load(slot)
    y = b.fadd(b.fmul(loaded, ir.Constant(f64, 0.1)), ir.Constant(f64, -0.0))
    y = b.fsub(b.fdiv(y, ir.Constant(f64, float("inf"))), ir.Constant(f64, math.nan))
    y = b.frem(b.fneg(y), ir.Constant(f64, 1e-310))
    small = b.fptrunc(y, f32)
    back = b.fpext(b.fadd(small, ir.Constant(f32, 0.1)), f64)
    k = b.add(n, ir.Constant(i64, 3), flags=["nsw"])
    k = b.mul(b.sub(k, n), b.udiv(n, ir.Constant(i64, 7)))
    k = b.or_(b.and_(b.xor(b.sdiv(k, n), b.srem(k, n)), b.urem(k, n)), b.neg(k))
    k = b.ashr(b.lshr(b.shl(b.not_(k), ir.Constant(i64, 1)), ir.Constant(i64, 2)), ir.Constant(i64, 3))
    narrow = b.trunc(k, i32)
    same = b.zext(narrow, i32)  # the same type: no instruction
    wide = b.sext(same, i64)
    as_float = b.sitofp(wide, f64)
    as_float = b.fadd(as_float, b.uitofp(b.zext(b.fptosi(as_float, i8), i64), f64))
    address = b.ptrtoint(table, i64)
    b.inttoptr(address, ptr)
    element = b.gep(table, [ir.Constant(i64, 0), ir.Constant(i64, 1)])
    b.load(element)
    b.load(b.gep(p, [n], source_etype=i64), typ=i64, align=1)
    stored = b.store(wide, many, align=8)
    stored.set_metadata("nontemporal", module.add_metadata([ir.Constant(i32, 1)]))
    b.load_atomic(b.gep(p, [n], source_etype=i32), "acquire", 4, typ=i32)
    b.atomic_rmw("add", b.inttoptr(b.ptrtoint(counter, i64), ptr), ir.Constant(i32, 1), "seq_cst")
    swapped = b.cmpxchg(b.inttoptr(address, ptr), ir.Constant(i32, 0), ir.Constant(i32, 1), "acq_rel", "monotonic")
    b.extract_value(swapped, 1)
    flags = [b.fcmp_ordered(op, x, as_float) for op in ("<", "<=", "==", "!=", ">", ">=", "ord", "uno")]
    flags += [b.fcmp_unordered(op, x, as_float) for op in ("<", "==", "uno")]
    flags += [b.icmp_signed(op, k, n) for op in ("<", ">=", "==")] + [b.icmp_unsigned(op, k, n) for op in (">", "!=")]
    chosen = b.select(flags[0], x, back)
    lanes = b.insert_element(ir.Constant(v4, ir.Undefined), chosen, ir.Constant(i32, 0))
    lanes = b.shuffle_vector(lanes, ir.Constant(v4, ir.Undefined), ir.Constant(ir.VectorType(i32, 4), [0, 0, 0, 0]))
    lanes = b.fadd(lanes, ir.Constant(v4, [1.0, 2.5, float("-inf"), 1e300]))
    masks = b.fcmp_ordered("<", lanes, v)
    lanes = b.select(masks, lanes, v)
    b.not_(b.icmp_signed("<", b.bitcast(lanes, ir.VectorType(i64, 4)), ir.Constant(ir.VectorType(i64, 4), None)))
    total = b.extract_element(lanes, ir.Constant(i32, 3))
    b.call(printf, [b.inttoptr(address, ptr), total])
    parts = b.call(pair, [total])
    total = b.fadd(b.extract_value(parts, 0), b.extract_value(parts, [1]))
    with b.if_then(flags[1], likely=True) as join:
        b.store(total, slot)
    assert join is b.block
    branch = b.cbranch(flags[2], *(fn.append_basic_block(name) for name in ("loop", "a label with spaces")))
    branch.set_weights([1, 2000])
    loop, odd = fn.blocks[-2:]
    b.position_at_end(loop)
    phi = b.phi(i64)
    phi.add_incoming(ir.Constant(i64, 0), join)
    phi.add_incoming(b.add(phi, ir.Constant(i64, 1)), loop)
    with b.goto_block(join):
        b.add(k, k, name="in join")
    b.cbranch(b.icmp_unsigned("<", phi, n), loop, odd)
    b.position_at_end(odd)
    b.position_at_start(fn.entry_basic_block)
    b.alloca(i32, name="slot")  # made unique: slot.1
    b.position_at_end(odd)
    with b.if_then(flags[3]):
        b.ret(total)
    b.ret(b.load(slot))
    void = ir.Function(module, ir.FunctionType(ir.VoidType(), []), "nothing")
    void.linkage = "internal"
    ir.IRBuilder(void.append_basic_block()).ret_void()
    assert declared.type == ptr and table.value_type == ir.ArrayType(i64, 3)
    return str(module)


def test_the_builder_prints_what_llvmlite_prints():
    assert _everything(ir_text) == _everything(llvmlite_ir)


def _spelled(lib, type_name: str, value) -> str:
    try:
        return str(lib.Constant(getattr(lib, type_name)(), value))
    except OverflowError as error:  # a value beyond float16's range: both refuse it
        return f"OverflowError: {error}"


def test_constants_keep_their_bits_as_llvmlite_spells_them():
    values = [0.0, -0.0, 0.1, 1e-310, float("inf"), -math.nan, 3.4e38, 65504.0, np.float32(0.1), np.float64(2.5)]
    for name in ("FloatType", "DoubleType", "HalfType"):
        for value in values:
            assert _spelled(ir_text, name, value) == _spelled(llvmlite_ir, name, value), (name, value)
    for name in ("FloatType", "DoubleType", "HalfType"):
        assert _spelled(ir_text, name, None) == _spelled(llvmlite_ir, name, None)
    for width, value in ((1, True), (1, 0), (8, -128), (64, 2**63 - 1), (32, None)):
        assert (str(ir_text.Constant(ir_text.IntType(width), value))
                == str(llvmlite_ir.Constant(llvmlite_ir.IntType(width), value)))


def test_types_compare_as_llvmlite_compares_them():
    for lib in (ir_text, llvmlite_ir):
        i8p, f64p, ptr = lib.IntType(8).as_pointer(), lib.DoubleType().as_pointer(), lib.PointerType()
        assert (i8p == f64p, i8p == ptr, ptr == f64p, i8p == lib.IntType(8).as_pointer()) == (False, True, True, True)
        assert lib.VectorType(lib.IntType(8), 4) == lib.VectorType(lib.IntType(8), 4) != lib.ArrayType(lib.IntType(8), 4)


def test_a_type_mismatch_or_a_second_terminator_is_refused():
    module = ir_text.Module()
    fn = ir_text.Function(module, ir_text.FunctionType(ir_text.VoidType(), [ir_text.IntType(32)]), "f")
    b = ir_text.IRBuilder(fn.append_basic_block("entry"))
    with pytest.raises(ValueError, match="same type"):
        b.add(fn.args[0], ir_text.Constant(ir_text.IntType(64), 1))
    with pytest.raises(NameError):
        ir_text.Function(module, fn.ftype, "f")
    b.ret_void()
    with pytest.raises(AssertionError, match="already terminated"):
        b.ret_void()


# Kernel modules: the code generator on fusenum's builder and, in a child, on llvmlite.ir.
_EXPRESSIONS = [
    ("2*a + 3*b - sqrt(a)", "f8"), ("sin(a)**2 + cos(b)**2", "f8"), ("exp(a) * log(b + 1)", "f4"),
    ("where(a > b, a, b)", "f4"), ("arctan2(a, b) + tanh(a) - cbrt(b)", "f8"), ("a**b", "f8"),
    ("log1p(a) - expm1(b) + arcsinh(a)", "f4"), ("a * b + 1.5", "f2"), ("abs(a) + conj(b) * a", "c16"),
    ("exp(a) + log(b) + sqrt(a)", "c8"), ("a // b + a % b - (a << 2)", "i4"), ("(a & b) | ~a", "u1"),
    ("a > b", "?"), ("sum(a * b)", "f8"), ("prod(a + 1, axis=0)", "f4"), ("max(a - b, axis=1)", "i8"),
    ("sum(where(a > 0.5, a, 0), axis=1)", "c16"), ("min(a)", "f2"), ("contains(a, b)", "S5"), ("a == b", "S3"),
]


def _operands(dtype: str) -> dict:
    rng = np.random.default_rng(0)
    if dtype.startswith("S"):
        return {name: np.array([b"abc", b"xyz", b"ab"] * 4, dtype=dtype).reshape(3, 4) for name in "ab"}
    return {name: (rng.random((3, 4)) * 4).astype(dtype) for name in "ab"}


def _kernel_specs() -> list:
    seen, made = {}, variant.kernel_module

    def record(spec, kernel_target):
        seen.setdefault(pickle.dumps(spec), spec)
        return made(spec, kernel_target)

    variant.kernel_module = record
    try:
        for text, dtype in _EXPRESSIONS:
            fusenum.explain(text, _operands(dtype), llvm=True)
            fusenum.explain(text, {k: v[:, ::2].T for k, v in _operands(dtype).items()}, llvm=True)
    finally:
        variant.kernel_module = made
    return [(spec, target.make_target(level)) for spec in seen.values() for level in target.available()]


_ON_LLVMLITE = r"""
import pickle, sys, types
from llvmlite import ir
shim = types.ModuleType("fusenum.codegen.ir_text")
shim.__dict__.update({name: getattr(ir, name) for name in dir(ir) if not name.startswith("__")})

class IRBuilder(ir.IRBuilder):
    def store_atomic(self, value, ptr, ordering, align):  # llvmlite's own wants a typed pointer
        self._insert(ir.instructions.StoreAtomicInstr(self.block, value, ptr, ordering, align))

shim.IRBuilder = IRBuilder
sys.modules["fusenum.codegen.ir_text"] = shim
from fusenum.codegen import modules, pool
jobs = pickle.load(sys.stdin.buffer)
pickle.dump([modules.kernel_module(spec, target) for spec, target in jobs] + [pool.module_text()], sys.stdout.buffer)
"""


def test_kernel_modules_are_the_text_llvmlite_ir_builds():
    jobs = _kernel_specs()
    assert len(jobs) >= 2 * len(_EXPRESSIONS)
    ours = [modules.kernel_module(spec, kernel_target) for spec, kernel_target in jobs] + [pool.module_text()]
    child = subprocess.run([sys.executable, "-c", _ON_LLVMLITE], input=pickle.dumps(jobs), capture_output=True,
                           timeout=600, check=False)
    assert child.returncode == 0, child.stderr.decode()[-3000:]
    theirs = pickle.loads(child.stdout)
    for (spec, kernel_target), mine, reference in zip(jobs + [(None, None)], ours, theirs, strict=True):
        if mine != reference:
            line = next(i for i, (m, r) in enumerate(zip(mine.splitlines(), reference.splitlines())) if m != r)
            pytest.fail(f"{spec} on {kernel_target}: line {line + 1} differs:\n"
                        f"  fusenum:  {mine.splitlines()[line]}\n  llvmlite: {reference.splitlines()[line]}")
