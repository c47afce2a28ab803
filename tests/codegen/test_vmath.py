"""Vector math building blocks (:mod:`fusenum.codegen.vmath.core`): conditions and their negations,
compiled as scalar functions and called on special values; table lookups at each width; Estrin's
polynomials."""
import ctypes
import math
import operator
import struct

import numpy as np
import pytest

import fusenum
from fusenum.codegen import ir_text as ir

from fusenum.codegen import jit, target
from fusenum.codegen.emitter import I64, Emitter
from fusenum.codegen.vmath.core import Vec

FLOAT_TYPES = {"float": (ir.FloatType(), ctypes.c_float, np.float32),
               "double": (ir.DoubleType(), ctypes.c_double, np.float64)}
COMPARISONS = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge, "eq": operator.eq,
               "ne": operator.ne}


def _specials(dtype) -> list[float]:
    info = np.finfo(dtype)
    values = [0.0, 1.0, 2.5, float(info.tiny), float(info.smallest_subnormal), float(info.max),
              float(np.nextafter(info.tiny, 0, dtype=dtype)), math.inf, math.nan]
    return values + [-v for v in values]


def _compile(kind: str, build):
    """``build(v, x, y) -> (condition, ...)`` as ``i64 f(x, y)`` returning the conditions' bits
    (bit k: condition k); the C function and the IR text."""
    ftype, ctype, _ = FLOAT_TYPES[kind]
    module = ir.Module(name="vmath_test")
    fn = ir.Function(module, ir.FunctionType(I64, [ftype, ftype]), name="f")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    x, y = fn.args
    v = Vec(Emitter(b, 1, None), x)
    packed = ir.Constant(I64, 0)
    for k, condition in enumerate(build(v, x, y)):
        packed = b.or_(packed, b.shl(b.zext(condition, I64), ir.Constant(I64, k)))
    b.ret(packed)
    text = str(module)
    compiled = jit.compile_kernel(text, "f", target.current())
    function = ctypes.CFUNCTYPE(ctypes.c_int64, ctype, ctype)(compiled.address)
    function.keep = compiled  # the machine code lives as long as the function
    return function, text


@pytest.mark.parametrize("kind", FLOAT_TYPES)
def test_negated_comparisons_are_true_exactly_where_the_comparison_is_false(kind):
    names = list(COMPARISONS)

    def build(v, x, y):
        made = [getattr(v, name)(x, y) for name in names]
        return made + [v.not_(condition) for condition in made]

    function, text = _compile(kind, build)
    assert " xor " not in text  # negated in the compares themselves
    values = _specials(FLOAT_TYPES[kind][2])
    for x in values:
        for y in values:
            bits = function(x, y)
            for k, name in enumerate(names):
                expected = COMPARISONS[name](x, y) and not (math.isnan(x) or math.isnan(y))
                assert bool(bits >> k & 1) == expected, (name, x, y)
                assert bool(bits >> (k + len(names)) & 1) == (not expected), ("not", name, x, y)


@pytest.mark.parametrize("kind", FLOAT_TYPES)
def test_negations_of_combined_conditions_follow_de_morgan(kind):
    def build(v, x, y):
        inside = v.both(v.gt(x, y), v.lt(x, v.c(2.0)))
        outside = v.either(v.eq(x, y), v.ge(x, v.c(2.0)))
        mixed = v.both(v.gt(x, y), v.b.fcmp_ordered("!=", x, v.c(2.0)))  # one operand Vec cannot negate
        return [inside, v.not_(inside), outside, v.not_(outside), mixed, v.not_(mixed)]

    function, text = _compile(kind, build)
    assert text.count(" xor ") == 1  # only the mixed condition's
    values = _specials(FLOAT_TYPES[kind][2])
    for x in values:
        for y in values:
            bits = function(x, y)
            for k in (0, 2, 4):
                assert (bits >> k & 1) != (bits >> (k + 1) & 1), (k, x, y)


@pytest.mark.parametrize("kind", FLOAT_TYPES)
def test_positive_normal_is_one_integer_compare_of_the_bits(kind):
    dtype = FLOAT_TYPES[kind][2]

    def build(v, x, y):
        condition = v.positive_normal(x)
        return [condition, v.not_(condition)]

    function, text = _compile(kind, build)
    assert text.count("icmp") == 2 and "fcmp" not in text
    tiny = float(np.finfo(dtype).tiny)
    values = _specials(dtype) + [float(np.nextafter(dtype(math.inf), 0, dtype=dtype))]
    for x in values:
        expected = tiny <= x < math.inf
        assert function(x, 0.0) == (1 if expected else 2), x


def test_positive_normal_over_every_float32_exponent_and_sign():
    function, _ = _compile("float", lambda v, x, y: [v.positive_normal(x)])
    for sign in (0, 1):
        for exponent in range(256):
            for mantissa in (0, 1, 0x7FFFFF):
                bits = sign << 31 | exponent << 23 | mantissa
                x = struct.unpack("<f", struct.pack("<I", bits))[0]
                assert function(x, 0.0) == (sign == 0 and 0 < exponent < 255), hex(bits)


def test_a_wrapped_lookup_needs_a_power_of_two_table():
    def build(v, x, y):
        v.lookup([1.0, 2.0, 3.0], v.to_int(x), wrap=True)
        return []

    with pytest.raises(ValueError, match="power of two"):
        _compile("double", build)


@pytest.mark.parametrize("kind, lanes", [("float", 8), ("double", 4)])
def test_a_wrapped_vector_lookup_takes_every_index_modulo_the_table(kind, lanes):
    """The gather's addresses (the index scaled, then masked to the table) for indices of every
    sign and size: ``table[index mod 16]``."""
    ftype, _, dtype = FLOAT_TYPES[kind]
    itype = ir.IntType(64 if kind == "double" else 32)
    table = [float(k) + 0.5 for k in range(16)]
    module = ir.Module(name="vmath_test")
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ir.PointerType(), ir.PointerType()]), name="f")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    index = b.load(fn.args[0], align=1, typ=ir.VectorType(itype, lanes))
    v = Vec(Emitter(b, lanes, None), b.sitofp(index, ir.VectorType(ftype, lanes)))
    b.store(v.lookup(table, index, wrap=True), fn.args[1], align=1)
    b.ret_void()
    compiled = jit.compile_kernel(str(module), "f", target.current())
    function = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)(compiled.address)
    indices = np.array([0, 15, 16, -1, 33, -17, 2**20 + 5, -(2**20) - 3], dtype=np.int64)
    for start in range(0, len(indices), lanes):
        chosen = indices[start:start + lanes].astype(np.int64 if kind == "double" else np.int32)
        out = np.zeros(lanes, dtype=dtype)
        function(chosen.ctypes.data, out.ctypes.data)
        assert out.tolist() == [table[k % 16] for k in chosen.tolist()]


def _lookup_function(level: str, kind: str, table: list[float]):
    """``f(indices, out)``: ``out = table[indices mod len(table)]`` for one vector of the level's
    full width, compiled for that level; the function and the IR text."""
    ftype, _, dtype = FLOAT_TYPES[kind]
    tgt = target.make_target(level)
    lanes = tgt.lanes(np.dtype(dtype).itemsize)
    itype = ir.IntType(64 if kind == "double" else 32)
    module = ir.Module(name="vmath_test")
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ir.PointerType(), ir.PointerType()]), name="f")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    index = b.load(fn.args[0], align=1, typ=ir.VectorType(itype, lanes))
    v = Vec(Emitter(b, lanes, None, target=tgt), b.sitofp(index, ir.VectorType(ftype, lanes)))
    b.store(v.lookup(table, index, wrap=True), fn.args[1], align=1)
    b.ret_void()
    text = str(module)
    compiled = jit.compile_kernel(text, "f", tgt)
    function = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)(compiled.address)
    function.keep = compiled
    return function, text, lanes


#: A table whose doubles repeat their high 32 bits in their low ones (as float64 exp's corrections):
#: on AVX2, one permute of words looks it up.
REPEATED_WORDS = [struct.unpack("<d", struct.pack("<Q", (w << 32) | w))[0]
                  for w in (0, 0x3C912345, 0xBC8ABCDE, 0x3CA00001, 0xBCA7FFFF, 0x3C800000, 0xBC900000, 0x3C9FFFFF)]


@pytest.mark.parametrize("level, kind, table, permutes", [
    ("avx2", "double", [k + 0.25 for k in range(8)], ("llvm.x86.avx2.permd", 2)),
    ("avx2", "double", [-1.5, 2.0 ** -30, 3.0, 1e300], ("llvm.x86.avx2.permd", 2)),
    ("avx2", "double", REPEATED_WORDS, ("llvm.x86.avx2.permd", 1)),
    ("avx512", "double", [k + 0.25 for k in range(8)], ("llvm.x86.avx512.permvar.df.512", 1)),
    ("avx512", "double", [-1.5, 2.0 ** -30, 3.0, 1e300], ("llvm.x86.avx512.permvar.df.512", 1)),
    ("avx512", "float", [k + 0.25 for k in range(16)], ("llvm.x86.avx512.permvar.sf.512", 1)),
    ("avx512", "double", [k + 0.25 for k in range(16)], ("llvm.x86.avx512.vpermi2var.pd.512", 1)),
])
def test_small_tables_are_looked_up_by_in_register_permutes(level, kind, table, permutes):
    """Tables of up to one register (AVX-512) or eight doubles (AVX2) are permuted in registers,
    not gathered, and give ``table[index mod length]`` exactly for indices of every sign and size."""
    if level not in fusenum.available_simd():
        pytest.skip(f"needs {level}")
    function, text, lanes = _lookup_function(level, kind, table)
    name, count = permutes
    assert "llvm.masked.gather" not in text
    assert text.count(f'@"{name}"(') - 1 == count  # (calls, besides the declaration)
    indices = [0, 1, 7, 8, 15, 16, -1, -8, 33, -17, 2**20 + 5, -(2**20) - 3, 2**30 + 6, -(2**30) + 2, 4, 3]
    _, _, dtype = FLOAT_TYPES[kind]
    for start in range(0, len(indices), lanes):
        chosen = np.resize(indices[start:start + lanes], lanes).astype(np.int64 if kind == "double" else np.int32)
        out = np.zeros(lanes, dtype=dtype)
        function(chosen.ctypes.data, out.ctypes.data)
        expected = np.array([table[k % len(table)] for k in chosen.tolist()], dtype=dtype)
        assert out.view(f"u{out.itemsize}").tolist() == expected.view(f"u{out.itemsize}").tolist()


@pytest.mark.parametrize("degree", range(8))
def test_estrin_computes_the_polynomial(degree):
    """Estrin's scheme gives Horner's value where every step is exact (small integers, x = 3/4)."""
    coefficients = [float((-1) ** k * (k + 2)) for k in range(degree + 1)]
    x = 0.75
    exact = sum(c * x ** k for k, c in enumerate(coefficients))
    module = ir.Module(name="vmath_test")
    fn = ir.Function(module, ir.FunctionType(ir.DoubleType(), [ir.DoubleType()]), name="f")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    v = Vec(Emitter(b, 1, None), fn.args[0])
    b.ret(v.estrin(fn.args[0], coefficients))
    compiled = jit.compile_kernel(str(module), "f", target.current())
    function = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(compiled.address)
    assert function(x) == exact
