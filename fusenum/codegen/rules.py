"""Lowering rules: how each op-table operation becomes LLVM instructions.

A rule is ``rule(em, node, args, arg) -> value``: ``em`` is the
:class:`~fusenum.codegen.emitter.Emitter`, ``node`` the IR node (its ``dtype``
is the result dtype, ``node.args[i].dtype`` the loop dtypes), ``args`` the
operands' LLVM values (a :class:`~fusenum.codegen.emitter.Pair` for a complex
one) and ``arg`` the text after ``:`` in the rule name. The op table names
rules per dtype kind; :func:`lower` dispatches. Rules for float functions live
in :mod:`~fusenum.codegen.float_rules`, complex ones in
:mod:`~fusenum.codegen.complex_rules`, transcendental functions in
:mod:`~fusenum.codegen.mathlib`.

float16 computes in float32 and rounds every result to float16, as NumPy does:
:func:`lower` rounds the result of every rule not registered as ``exact``
(whose float16 result is already a float16 value).

Every rule reproduces NumPy's result bit for bit, including the corners where
C would have undefined behaviour (integer division by zero or of MIN by -1,
over-wide shifts, out-of-range float-to-int casts), and never lets LLVM see
such an operation: a select keeps the result defined.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from llvmlite import ir

from ..ir.nodes import Node
from ..ir.ops import OPS
from . import half
from .abi import STATUS_NEGATIVE_INT_POWER
from .emitter import I1, Emitter, Pair, component_dtype, scalar_type

RULES: dict[str, Callable] = {}
#: Rules whose float16 results need no rounding (they only move, compare or negate values).
EXACT: set[str] = set()

F16 = np.dtype(np.float16)
F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)


def rule(*names: str, exact: bool = False):
    def register(fn):
        for name in names:
            RULES[name] = fn
            if exact:
                EXACT.add(name)
        return fn
    return register


def lower(em: Emitter, node: Node, args: list) -> ir.Value:
    """LLVM value of ``node`` given its operands' values."""
    if node.op == "cast":
        return cast(em, args[0], node.args[0].dtype, node.dtype)
    op = OPS[node.op]
    kind = node.args[0].dtype.kind if node.op != "where" else node.args[1].dtype.kind
    rule_name = op.rule_for(kind)
    if rule_name is None:  # typing rejects these first; this is a safety net
        raise NotImplementedError(f"no lowering of {node.op} for dtype {node.args[0].dtype}")
    name, _, arg = rule_name.partition(":")
    value = RULES[name](em, node, args, arg)
    if node.dtype == F16 and name not in EXACT:
        value = half.round_float(em, value)
    return value


# ---- plain instructions --------------------------------------------------------
def _instruction(method: str):
    def emit(em: Emitter, node, args, arg):
        return getattr(em.b, method)(*args)
    return emit


for _name, _method in {"add": "add", "sub": "sub", "mul": "mul", "fadd": "fadd", "fsub": "fsub",
                       "fmul": "fmul", "fdiv": "fdiv", "and": "and_", "or": "or_", "xor": "xor",
                       "fneg": "fneg"}.items():
    RULES[_name] = _instruction(_method)
EXACT.add("fneg")


@rule("identity", exact=True)
def _identity(em, node, args, arg):
    return args[0]


@rule("ineg")
def _ineg(em, node, args, arg):
    return em.b.sub(em.const(node.dtype, 0), args[0])


@rule("not")
def _not(em, node, args, arg):
    return em.b.xor(args[0], em.splat_constant(scalar_type(node.dtype), -1 if node.dtype.kind != "b" else 1))


@rule("iabs")
def _iabs(em, node, args, arg):
    x = args[0]
    negative = em.b.icmp_signed("<", x, em.const(node.dtype, 0))
    return em.b.select(negative, em.b.sub(em.const(node.dtype, 0), x), x)


@rule("fabs", exact=True)
def _fabs(em, node, args, arg):
    return em.intrinsic("llvm.fabs", args[0])


@rule("sqrt")
def _sqrt(em, node, args, arg):
    return em.intrinsic("llvm.sqrt", args[0])


@rule("square")
def _square(em, node, args, arg):
    mul = em.b.fmul if node.dtype.kind == "f" else em.b.mul
    return mul(args[0], args[0])


@rule("reciprocal")
def _reciprocal(em, node, args, arg):
    return em.b.fdiv(em.const(node.dtype, 1.0), args[0])


@rule("select", exact=True)
def _select(em, node, args, arg):
    return em.select(*args)


# ---- comparisons -----------------------------------------------------------------
_FLOAT_PREDICATES = {"<": "olt", "<=": "ole", ">": "ogt", ">=": "oge", "==": "oeq", "!=": "une"}


@rule("cmp")
def _compare(em, node, args, arg):
    left, right = (a.dtype for a in node.args)
    x, y = args
    if left.kind == "f":
        return em.b.fcmp_unordered(arg, x, y) if arg == "!=" else em.b.fcmp_ordered(arg, x, y)
    if left.kind != right.kind:
        # NumPy 2 compares int64 with uint64 exactly: widen both by one bit.
        wide = em.vector(ir.IntType(8 * max(left.itemsize, right.itemsize) + 1))
        x = em.b.sext(x, wide) if left.kind == "i" else em.b.zext(x, wide)
        y = em.b.sext(y, wide) if right.kind == "i" else em.b.zext(y, wide)
        return em.b.icmp_signed(arg, x, y)
    if left.kind == "i":
        return em.b.icmp_signed(arg, x, y)
    return em.b.icmp_unsigned(arg, x, y)


# ---- integer division and remainder -----------------------------------------------
def safe_divisor(em, dtype, x, y):
    """(divisor, by_zero): y with the trapping cases (0, and MIN / -1) replaced by 1."""
    zero = em.const(dtype, 0)
    by_zero = em.b.icmp_unsigned("==", y, zero)
    unsafe = by_zero
    if dtype.kind == "i":
        overflow = em.b.and_(em.b.icmp_signed("==", x, em.const(dtype, np.iinfo(dtype).min)),
                             em.b.icmp_signed("==", y, em.const(dtype, -1)))
        unsafe = em.b.or_(by_zero, overflow)
    return em.b.select(unsafe, em.const(dtype, 1), y), by_zero


@rule("sfloordiv")
def _sfloordiv(em, node, args, arg):
    dtype, (x, y) = node.dtype, args
    divisor, by_zero = safe_divisor(em, dtype, x, y)
    quotient = em.b.sdiv(x, divisor)
    # C truncates; floor differs when the remainder is non-zero and the signs differ.
    inexact = em.b.icmp_signed("!=", em.b.srem(x, divisor), em.const(dtype, 0))
    signs_differ = em.b.icmp_signed("<", em.b.xor(x, divisor), em.const(dtype, 0))
    adjust = em.b.and_(inexact, signs_differ)
    quotient = em.b.select(adjust, em.b.sub(quotient, em.const(dtype, 1)), quotient)
    return em.b.select(by_zero, em.const(dtype, 0), quotient)


@rule("ufloordiv")
def _ufloordiv(em, node, args, arg):
    dtype, (x, y) = node.dtype, args
    divisor, by_zero = safe_divisor(em, dtype, x, y)
    return em.b.select(by_zero, em.const(dtype, 0), em.b.udiv(x, divisor))


@rule("sremainder")
def _sremainder(em, node, args, arg):
    dtype, (x, y) = node.dtype, args
    divisor, by_zero = safe_divisor(em, dtype, x, y)
    rem = em.b.srem(x, divisor)
    zero = em.const(dtype, 0)
    # Python's sign convention: the result takes the divisor's sign.
    fix = em.b.and_(em.b.icmp_signed("!=", rem, zero),
                    em.b.icmp_signed("<", em.b.xor(rem, divisor), zero))
    rem = em.b.select(fix, em.b.add(rem, divisor), rem)
    return em.b.select(by_zero, zero, rem)


@rule("uremainder")
def _uremainder(em, node, args, arg):
    dtype, (x, y) = node.dtype, args
    divisor, by_zero = safe_divisor(em, dtype, x, y)
    return em.b.select(by_zero, em.const(dtype, 0), em.b.urem(x, divisor))


# ---- float floor division and remainder (NumPy's npy_divmod) ---------------------
def _float_divmod(em: Emitter, dtype: np.dtype, a, b):
    """(floor quotient, remainder) of NumPy's ``divmod`` for floats."""
    zero, one = em.const(dtype, 0.0), em.const(dtype, 1.0)
    mod = em.b.frem(a, b)
    b_is_zero = em.b.fcmp_ordered("==", b, zero)
    div = em.b.fdiv(em.b.fsub(a, mod), b)
    # Move the remainder to the divisor's sign, as Python's % does.
    mod_nonzero = em.b.fcmp_unordered("!=", mod, zero)
    signs_differ = em.b.xor(em.b.fcmp_ordered("<", b, zero), em.b.fcmp_ordered("<", mod, zero))
    shift = em.b.and_(mod_nonzero, signs_differ)
    signed_zero = em.intrinsic("llvm.copysign", zero, b)
    mod_fixed = em.b.select(shift, em.b.fadd(mod, b), em.b.select(mod_nonzero, mod, signed_zero))
    div = em.b.select(shift, em.b.fsub(div, one), div)
    # Snap the quotient to the nearest integer; a zero quotient takes the sign of a/b.
    floor = em.intrinsic("llvm.floor", div)
    round_up = em.b.fcmp_ordered(">", em.b.fsub(div, floor), em.const(dtype, 0.5))
    floor = em.b.select(round_up, em.b.fadd(floor, one), floor)
    true_quotient = em.b.fdiv(a, b)
    div_nonzero = em.b.fcmp_unordered("!=", div, zero)
    floordiv = em.b.select(div_nonzero, floor, em.intrinsic("llvm.copysign", zero, true_quotient))
    return (em.b.select(b_is_zero, true_quotient, floordiv),
            em.b.select(b_is_zero, mod, mod_fixed))


@rule("ffloordiv")
def _ffloordiv(em, node, args, arg):
    return _float_divmod(em, node.dtype, *args)[0]


@rule("fremainder")
def _fremainder(em, node, args, arg):
    return _float_divmod(em, node.dtype, *args)[1]


# ---- shifts (NumPy: shifting by >= the bit width gives 0, or -1 for negative >>) ---
def _shift_in_range(em, dtype, amount):
    return em.b.icmp_unsigned("<", amount, em.const(dtype, 8 * dtype.itemsize))


def _zero_filling_shift(em, node, args, shift):
    """``shift`` (shl or lshr) with NumPy's rule: by the bit width or more gives 0."""
    dtype, (x, amount) = node.dtype, args
    ok = _shift_in_range(em, dtype, amount)
    shifted = shift(x, em.b.select(ok, amount, em.const(dtype, 0)))
    return em.b.select(ok, shifted, em.const(dtype, 0))


@rule("shl")
def _shl(em, node, args, arg):
    return _zero_filling_shift(em, node, args, em.b.shl)


@rule("lshr")
def _lshr(em, node, args, arg):
    return _zero_filling_shift(em, node, args, em.b.lshr)


@rule("ashr")
def _ashr(em, node, args, arg):
    dtype, (x, amount) = node.dtype, args
    ok = _shift_in_range(em, dtype, amount)
    return em.b.ashr(x, em.b.select(ok, amount, em.const(dtype, 8 * dtype.itemsize - 1)))


# ---- power -------------------------------------------------------------------------
@rule("spower", "upower")
def _int_power(em, node, args, arg):
    """Exponentiation by squaring, wrapping like NumPy; negative exponents set an error."""
    dtype, (base, exponent) = node.dtype, args
    zero = em.const(dtype, 0)
    if dtype.kind == "i":
        em.flag_error(em.b.icmp_signed("<", exponent, zero), STATUS_NEGATIVE_INT_POWER)
    b = em.b
    entry = b.block
    loop = b.append_basic_block("ipow.loop")
    done = b.append_basic_block("ipow.done")
    b.branch(loop)
    b.position_at_end(loop)
    result = b.phi(base.type)
    square = b.phi(base.type)
    remaining = b.phi(base.type)
    result.add_incoming(em.const(dtype, 1), entry)
    square.add_incoming(base, entry)
    remaining.add_incoming(exponent, entry)
    odd = b.trunc(b.and_(remaining, em.const(dtype, 1)), em.vector(I1))
    next_result = b.select(odd, b.mul(result, square), result)
    next_square = b.mul(square, square)
    next_remaining = b.lshr(remaining, em.const(dtype, 1))
    result.add_incoming(next_result, loop)
    square.add_incoming(next_square, loop)
    remaining.add_incoming(next_remaining, loop)
    b.cbranch(em.any(b.icmp_unsigned("!=", next_remaining, zero)), loop, done)
    b.position_at_end(done)
    return next_result


@rule("fpower")
def _float_power(em, node, args, arg):
    dtype, (base, exponent) = node.dtype, args
    result = mathlib.call(em, "pow", node.args[0].dtype, base, exponent)
    if not em.uniform(node.args[1]) or dtype == F16:
        return result
    # NumPy's float32 and float64 power loops compute a single-valued exponent of 2,
    # -1 or 0.5 with square, reciprocal or sqrt (constant exponents are rewritten earlier).
    special = [(0.5, _sqrt), (-1.0, _reciprocal), (2.0, _square)]
    for value, fn in special:
        hit = em.b.fcmp_ordered("==", exponent, em.const(dtype, value))
        result = em.b.select(hit, fn(em, node, [base], ""), result)
    return result


# ---- casts (ndarray.astype, with x86 NumPy's results for out-of-range floats) ------
def cast(em: Emitter, x, src: np.dtype, dst: np.dtype):
    """``x`` of dtype ``src`` converted to ``dst`` as ``ndarray.astype`` would."""
    if src.kind == "c" or dst.kind == "c":
        return _complex_cast(em, x, src, dst)
    if dst == F16:
        if src == F16:
            return x
        if src == F64:  # directly, like npy_double_to_half: rounding via float32 could round twice
            return half.to_float(em, half.from_double(em, x))
        return half.round_float(em, cast(em, x, src, F32))
    if src == F16:
        src = F32  # its registers are float32
    return _real_cast(em, x, src, dst)


def _complex_cast(em: Emitter, x, src: np.dtype, dst: np.dtype):
    """Casts to and from complex: parts convert separately; to real keeps the real part
    (NumPy's ``astype`` does, with a ComplexWarning), to bool tests both parts."""
    if src.kind != "c":
        part = component_dtype(dst)
        return Pair(cast(em, x, src, part), em.const(part, 0.0))
    part = component_dtype(src)
    if dst.kind == "c":
        return Pair(cast(em, x.re, part, component_dtype(dst)), cast(em, x.im, part, component_dtype(dst)))
    if dst.kind == "b":
        zero = em.const(part, 0.0)
        return em.b.or_(em.b.fcmp_unordered("!=", x.re, zero), em.b.fcmp_unordered("!=", x.im, zero))
    return cast(em, x.re, part, dst)


def _real_cast(em: Emitter, x: ir.Value, src: np.dtype, dst: np.dtype) -> ir.Value:
    b = em.b
    target = em.type(dst)
    if dst.kind == "b":
        if src.kind == "f":
            return b.fcmp_unordered("!=", x, em.const(src, 0))
        return b.icmp_unsigned("!=", x, em.const(src, 0))
    if src.kind == "b":
        return b.uitofp(x, target) if dst.kind == "f" else b.zext(x, target)
    if src.kind == "f" and dst.kind == "f":
        if src.itemsize < dst.itemsize:
            return b.fpext(x, target)
        return b.fptrunc(x, target)
    if dst.kind == "f":
        return b.sitofp(x, target) if src.kind == "i" else b.uitofp(x, target)
    if src.kind == "f":
        return float_to_int(em, x, src, dst)
    if src.itemsize > dst.itemsize:
        return b.trunc(x, target)
    if src.itemsize < dst.itemsize:
        return b.sext(x, target) if src.kind == "i" else b.zext(x, target)
    return x


def float_to_int(em: Emitter, x, src: np.dtype, dst: np.dtype):
    """C's float-to-int conversion as compiled for x86-64, which NumPy uses.

    In range it truncates toward zero. Out of range (and NaN) the hardware
    returns the "integer indefinite" value INT_MIN of the 32- or 64-bit
    conversion; narrower integers are that 32-bit result truncated, uint32 is
    truncated from the 64-bit one, and uint64 above 2**63 is converted after
    subtracting 2**63.
    """
    b = em.b
    f64 = np.dtype(np.float64)
    if src != f64:
        x = b.fpext(x, em.type(f64))
    if dst.itemsize == 8 and dst.kind == "u":
        i64 = np.dtype(np.int64)
        big = em.const(f64, 2.0**63)
        high = b.fcmp_ordered(">=", x, big)
        low_part = _truncate(em, x, 64)
        high_part = b.xor(_truncate(em, b.fsub(x, big), 64), em.const(i64, np.iinfo(i64).min))
        return b.select(high, high_part, low_part)
    bits = 32 if dst.itemsize < 4 or (dst.itemsize == 4 and dst.kind == "i") else 64
    value = _truncate(em, x, bits)
    if bits // 8 > dst.itemsize:
        value = b.trunc(value, em.type(dst))
    return value


def _truncate(em: Emitter, x, bits: int):
    """cvttsd2si: truncate a double to a signed ``bits`` integer, INT_MIN when out of range."""
    b = em.b
    f64 = np.dtype(np.float64)
    itype = np.dtype(f"i{bits // 8}")
    limit = float(2 ** (bits - 1))
    in_range = b.and_(b.fcmp_ordered(">=", x, em.const(f64, -limit)),
                      b.fcmp_ordered("<", x, em.const(f64, limit)))
    safe = b.select(in_range, x, em.const(f64, 0.0))
    return b.select(in_range, b.fptosi(safe, em.type(itype)), em.const(itype, np.iinfo(itype).min))


# Rule modules register into RULES when imported.
from . import complex_rules, float_rules, mathlib  # noqa: E402,F401  (import for registration)
