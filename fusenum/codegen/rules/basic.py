"""Lowering rules of the arithmetic, comparison, bitwise and integer operations.

Every rule reproduces NumPy's result bit for bit, including the corners where
C would have undefined behaviour (integer division by zero or of MIN by -1,
over-wide shifts, out-of-range float-to-int casts), and never lets LLVM see
such an operation: a select keeps the result defined.
"""
from __future__ import annotations

import numpy as np
from .. import ir_text as ir

from .. import mathlib
from ...ir import nodes, numpy_behaviour
from ..abi import STATUS_NEGATIVE_INT_POWER
from ..control import do_while
from ..emitter import I1, Emitter, scalar_type
from .casts import F16, cast
from .registry import EXACT, RULES, rule

BOOL = np.dtype(bool)


# ---- plain instructions --------------------------------------------------------
def _instruction(method: str):
    def emit(em: Emitter, node, args, arg):
        return getattr(em.b, method)(*args)
    return emit


for _name, _method in {"add": "add", "sub": "sub", "mul": "mul", "fadd": "fadd", "fsub": "fsub",
                       "fmul": "fmul", "and": "and_", "or": "or_", "xor": "xor"}.items():
    RULES[_name] = _instruction(_method)


@rule("fneg", exact=True)
def _fneg(em, node, args, arg):
    # (hidden, as constants are: the code generator folds ``-x + a`` into ``a - x``, which keeps a NaN
    # ``x``'s sign where NumPy's negation flips it; see Emitter.opaque)
    return em.opaque(em.b.fneg(args[0]))


def opaque_divisor(em: Emitter, divisor_node, divisor):
    """``divisor`` behind ``llvm.arithmetic.fence`` (no instruction), unless the IR has it as a nonzero
    constant.
    LLVM 22's code generation takes ``0 / y`` and ``frem(0, y)`` for zero where it proves ``y`` zero
    (``b - b``, ``0 // b`` of integers, the literal ``0``) and ``0`` the dividend, though they are NaN:
    ``where(x != 0, x, 0)`` of such an ``x``, or NumPy's divmod selects, gave 0. Behind the fence it
    cannot see the divisor's value."""
    if divisor_node.op == "const" and divisor_node.value != 0:
        return divisor
    return em.intrinsic("llvm.arithmetic.fence", divisor)


@rule("fdiv")
def _fdiv(em, node, args, arg):
    reciprocal = _exact_reciprocal(node.args[1])
    if reciprocal is not None:  # x / 2**k as x * 2**-k: the same bits, NaNs included, and no division
        return em.b.fmul(args[0], em.opaque(em.const(node.dtype, reciprocal)))
    return em.b.fdiv(args[0], opaque_divisor(em, node.args[1], args[1]))


def _exact_reciprocal(divisor_node):
    """``1 / c`` of a constant ``c`` that is a power of two whose reciprocal is a normal number of its
    dtype (dividing by it and multiplying by that round alike), else None. (The code generator did
    this itself before constants were hidden from it: see :meth:`Emitter.opaque`.)"""
    if divisor_node.op != "const":
        return None
    value = divisor_node.value
    finfo = np.finfo(value.dtype)
    if not np.isfinite(value) or abs(value) < finfo.smallest_normal or np.frexp(value)[0] not in (0.5, -0.5):
        return None
    reciprocal = value.dtype.type(1) / value
    return reciprocal if np.isfinite(reciprocal) and abs(reciprocal) >= finfo.smallest_normal else None


@rule("identity", exact=True)
def _identity(em, node, args, arg):
    return args[0]


@rule("ineg")
def _ineg(em, node, args, arg):
    return em.b.sub(em.const(node.dtype, 0), args[0])


@rule("not")
def _not(em, node, args, arg):
    return em.b.xor(args[0], em.splat_constant(scalar_type(node.dtype), -1 if node.dtype.kind != "b" else 1))


@rule("logical", exact=True)
def _logical(em, node, args, arg):
    """``np.logical_and``/``or``/``xor``/``not``: each operand's truth (nonzero, NaN included, as
    ``astype(bool)``), then the Boolean operation."""
    truths = [cast(em, value, operand.dtype, BOOL) for value, operand in zip(args, node.args)]
    if arg == "not":
        return em.b.not_(truths[0])
    return {"and": em.b.and_, "or": em.b.or_, "xor": em.b.xor}[arg](*truths)


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
    return _float_divmod(em, node.dtype, args[0], opaque_divisor(em, node.args[1], args[1]))[0]


@rule("fremainder")
def _fremainder(em, node, args, arg):
    return _float_divmod(em, node.dtype, args[0], opaque_divisor(em, node.args[1], args[1]))[1]


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

    def square_and_multiply(result, square, remaining):
        odd = b.trunc(b.and_(remaining, em.const(dtype, 1)), em.vector(I1))
        updated = [b.select(odd, b.mul(result, square), result), b.mul(square, square),
                   b.lshr(remaining, em.const(dtype, 1))]
        return em.any(b.icmp_unsigned("!=", updated[2], zero)), updated

    return do_while(b, [em.const(dtype, 1), base, exponent], square_and_multiply, name="ipow")[0]


@rule("fpower")
def _float_power(em, node, args, arg):
    dtype, (base, exponent) = node.dtype, args
    if arg == "libm":  # np.float_power's loop: the C library's pow() itself, without np.power's shortcuts
        return em.per_lane(mathlib.libm_name("pow", node.args[0].dtype), base, exponent)
    result = mathlib.call(em, "pow", node.args[0].dtype, base, exponent)
    if not em.uniform(node.args[1]) or dtype == F16 or node.attr == nodes.ALWAYS_POW:
        return result
    # NumPy's float32 and float64 power loops compute some single-valued exponents (2, -1
    # and 0.5 from NumPy 2.3; 2 in 2.1 and 2.2) with square, reciprocal or sqrt; NumPy is
    # asked which (constant exponents are rewritten earlier, in typing).
    loop = numpy_behaviour.power_loop_rewrites(node.args[0].dtype)
    special = [(value, fn) for value, fn in ((0.5, _sqrt), (-1.0, _reciprocal), (2.0, _square)) if value in loop]
    for value, fn in special:
        hit = em.b.fcmp_ordered("==", exponent, em.const(dtype, value))
        result = em.b.select(hit, fn(em, node, [base], ""), result)
    return result
