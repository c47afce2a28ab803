"""Building typed IR with NumPy 2's rules (promotion, NEP 50 weak scalars, folding).

Both front ends build expressions through one :class:`Builder`. An operand is

* a :class:`~fusenum.ir.nodes.Node` (an array input, a strong constant, or a subexpression);
* a Python scalar (``bool``, ``int``, ``float``, ``complex``): a *weak* literal;
* a :class:`WeakVar`: a Python scalar bound to a name, read at run time but typed weakly;
* a Python ``bytes`` literal: a constant of NumPy's ``S`` dtype for it. Bytes operands (arrays
  or constants) are compared and searched only (:mod:`fusenum.ir.byte_strings`).

Typing asks NumPy itself: ``ufunc.resolve_dtypes`` receives Python types for
weak operands, so the loop dtypes are exactly NumPy's. Operands are then cast to
those loop dtypes, and a weak literal is converted the way NumPy converts it
(``OverflowError`` for an ``int`` that does not fit, except in comparisons,
whose answer NumPy 2 then knows without computing).

When every operand is a constant the operation is evaluated right away by
Python on the values, so literal-only subexpressions mean exactly what they
mean in Python: ``2**-1`` is ``0.5``, ``1/0`` raises ``ZeroDivisionError``,
``sqrt(4)`` is the strong NumPy scalar ``np.float64(2.0)``. A constant that
NumPy code would hold as a 0-d array (``where(1, 5, 0.5)``) stays one, so
arithmetic on it is NumPy's, as in NumPy code: ``2j / where(1, 0, 0.5)`` is
``nan+infj``, not a ``ZeroDivisionError``.
"""
from __future__ import annotations

import operator
import warnings

import numpy as np

from ..errors import ConstantOverflowError, ExpressionError, UnsupportedDTypeError, UnsupportedOperationError
from . import byte_strings, nodes, numpy_behaviour, reductions
from .byte_strings import is_bytes
from .nodes import Node
from .operands import (PY_SCALARS, SUPPORTED, NeedsValue, Operand, PyScalar, Source, WeakVar,  # noqa: F401
                       int_fits, is_supported, scalar_key, weak_var, _digits)
from .ops import OPS, Op

def check_dtype(dtype: np.dtype, what: str) -> np.dtype:
    """``dtype`` if fusenum compiles it, else :class:`UnsupportedDTypeError` naming ``what``."""
    if not is_supported(dtype):
        raise UnsupportedDTypeError(
            f"{what} has dtype {dtype}, which fusenum does not support "
            f"(supported: bool, int8-int64, uint8-uint64, float16-float64, complex64, complex128; "
            f"bytes (S) in comparisons and contains)")
    return dtype


def _descriptor(operand: Operand):
    """What ``resolve_dtypes`` receives for an operand: a dtype, or a Python type if weak."""
    if isinstance(operand, Node):
        return operand.dtype
    pytype = operand.pytype if isinstance(operand, WeakVar) else type(operand)
    return np.dtype(bool) if pytype is bool else pytype


def _describe(descriptor) -> str:
    return f"Python {descriptor.__name__}" if isinstance(descriptor, type) else str(descriptor)


def _describe_value(value) -> str:
    """A short description of a folded value (Python refuses to print huge ints)."""
    if type(value) is int and value.bit_length() > 64:
        return f"(an integer of {value.bit_length()} bits)"
    return repr(value)


def _resolve(op: Op, descriptors: tuple) -> tuple[tuple, np.dtype]:
    """The loop dtypes and the result dtype of ``op`` for operands of these descriptors, as
    NumPy types them (bytes operands compare only with bytes)."""
    if op.resolve is not None:
        return op.resolve(*descriptors)
    try:
        resolved = op.ufunc.resolve_dtypes(descriptors + (None,))
    except TypeError:
        if not any(map(is_bytes, descriptors)):
            raise
        raise UnsupportedDTypeError(f"{op.name}() of {', '.join(map(_describe, descriptors))}: "
                                    f"bytes (S) operands compare only with bytes") from None
    return resolved[:-1], resolved[-1]


def _is_constant(operand: Operand) -> bool:
    return not isinstance(operand, WeakVar) and (
        not isinstance(operand, Node) or operand.op == "const")


def _constant_value(operand: Operand):
    """What NumPy code holds for a constant: a Python number, a NumPy scalar or a 0-d array."""
    if not isinstance(operand, Node):
        return operand
    return np.asarray(operand.value) if operand.is_array else operand.value


def _folded_descriptor(value):
    """A constant operand as :meth:`Builder.casts` records it: a Python scalar's type, else a dtype."""
    return type(value) if type(value) in PY_SCALARS else np.asarray(value).dtype


def _as_operand(value) -> Operand:
    """A folded result: Python scalars stay weak, NumPy values become strong constants
    (a 0-d array stays one, so that folding goes on with NumPy's arithmetic)."""
    if type(value) in PY_SCALARS or type(value) is bytes:
        return value
    array = isinstance(value, np.ndarray)
    value = np.asarray(value)
    if not is_bytes(value.dtype):
        check_dtype(value.dtype, "a constant")
    return nodes.const(value[()], array)


class Builder:
    """Builds one expression's IR and records where its kernel operands come from."""

    def __init__(self):
        self.sources: list[Source] = []
        self._slots: dict[Source, int] = {}
        self._not_zero_d: set = set()
        #: Whether typing may have warned (NumPy's ComplexWarning for ``sum(z, dtype=float)``, from
        #: its stand-in): such a typed plan is not kept on disk, where a later process would not warn.
        self.may_warn = False
        #: ``(message, category)`` of each warning NumPy gives at every call of the expression (a complex
        #: reduction in a real ``dtype=``): typing warns nothing, the front end warns at each call.
        self.call_warnings: list[tuple[str, type[Warning]]] = []
        #: Whether to record :attr:`casts`: for a front end whose ``casting=`` also covers the inputs of
        #: each operation, as NumPy's ufuncs' ``casting=`` does (``fusenum.evaluate``).
        self.records_casts = False
        #: ``(ufunc name, input position, given descriptor, loop dtype)`` of every input an operation
        #: of the expression converts (a dtype, or the type of a Python scalar: all of these); for a
        #: call on constants, folded, ``(ufunc name, None, the operands' descriptors, None)``.
        self.casts: list[tuple] = []
        self._inside = 0  # > 0 while typing what a reduction or an expansion is made of

    def array(self, key: object, dtype: np.dtype, label: str | None = None, zero_d: bool | None = None) -> Node:
        """The operand for an array bound to ``key`` (``label`` names it in errors). ``zero_d=False``
        says it is known not to be 0-d (see :meth:`_power_operator`); None: not known."""
        if not is_bytes(dtype):
            check_dtype(dtype, f"operand {label or key!r}")
        if zero_d is False:
            self._not_zero_d.add(key)
        return self._slot(Source(key), dtype)

    def may_be_zero_d(self, operand: Node) -> bool:
        """Whether ``operand`` is an array input that may be 0-d: a front end may then raise
        :class:`NeedsValue` for its key, to be rebuilt with it as a constant if it is 0-d."""
        return operand.op == "input" and self.sources[operand.attr].key not in self._not_zero_d

    def _slot(self, source: Source, dtype: np.dtype) -> Node:
        slot = self._slots.get(source)
        if slot is None:
            slot = self._slots[source] = len(self.sources)
            self.sources.append(source)
        return nodes.input_slot(slot, dtype)

    def _records_casts_of(self, op: Op) -> bool:
        """Whether to record what ``op`` converts: a NumPy ufunc applied by the expression itself (not
        by a reduction or another function's expansion). NumPy's ``logical_and``/``or``/``xor`` take
        inputs of any dtypes, whatever ``casting=``."""
        return self.records_casts and not self._inside and op.ufunc is not None and \
            not op.ufunc.__name__.startswith("logical_")

    def apply(self, op: Op | str, *operands: Operand, python: bool = False) -> Operand:
        """``op(*operands)`` typed as NumPy would type it.

        ``python`` says the operation is Python's own -- an operator (``a ** 2``) or a
        builtin (``abs``) -- rather than a NumPy function: on constants it computes what
        Python computes (``2 ** 127`` is a Python int, ``np.power(2, 127)`` an int64), and
        NumPy's operators have fast paths of their own.
        """
        if isinstance(op, str):
            op = OPS[op]
        if all(_is_constant(x) for x in operands):
            values = [_constant_value(x) for x in operands]
            fold = op.python_fold if python and op.python_fold is not None else op.fold
            check_int_fold(fold, values)
            if self._records_casts_of(op) and (not python or any(type(v) not in PY_SCALARS for v in values)):
                # (``sqrt(2)`` is NumPy's ufunc on Python scalars, whose conversions ``casting=`` judges
                # too; an operator on them is Python's arithmetic, on a NumPy scalar NumPy's ufunc)
                self.casts.append((op.ufunc.__name__, None, tuple(map(_folded_descriptor, values)), None))
            with np.errstate(all="ignore"):
                folded = fold(*values)
            # NumPy turns a 0-d result into a scalar, whose arithmetic (complex ``abs``) is not its
            # loops': with a 0-d array among the operands, the result stays one (see README)
            if any(isinstance(v, np.ndarray) for v in values) and not isinstance(folded, np.ndarray):
                if not isinstance(folded, np.generic):
                    # NumPy gives a Python object back only from an object-dtype result: ``clip(2**127,
                    # where(0, 0, 0), 0)`` is the int 0 of an object array, not an int64
                    check_dtype(np.dtype(object), f"{op.name}() of the constants "
                                                  f"{', '.join(_describe_value(v) for v in values)}")
                folded = np.asarray(folded)
            return _as_operand(folded)
        operands = tuple(nodes.const(np.bytes_(x)) if isinstance(x, bytes) else x for x in operands)
        if not any(isinstance(x, Node) for x in operands):
            raise NeedsValue(x.source for x in operands if isinstance(x, WeakVar))
        descriptors = tuple(map(_descriptor, operands))
        if byte_strings.KIND not in op.rules and any(map(is_bytes, descriptors)):
            byte_strings.refuse(op, descriptors)
        if python and op.name == "power":
            rewritten = self._power_operator(*operands)
            if rewritten is not None:
                return rewritten
        if op.expand is not None:
            # (a NumPy ufunc's expansion, ``clip``'s, is into the ufuncs NumPy itself calls, whose
            # input casts ``casting=`` judges; the others' parts are not NumPy's)
            inside = op.ufunc is None
            self._inside += inside
            try:
                expanded = op.expand(self, *operands)
            finally:
                self._inside -= inside
            if expanded is not None:
                return expanded

        loop_dtypes, out_dtype = _resolve(op, descriptors)
        for dtype in (*loop_dtypes, out_dtype):
            # bytes loop dtypes only reach here for a row with bytes rules (the result is never bytes)
            if not is_supported(dtype) and (dtype is out_dtype or not is_bytes(dtype)):
                check_dtype(dtype, f"{op.name}() of {', '.join(map(_describe, descriptors))}")
        loop_kind = loop_dtypes[op.loop_arg].kind
        if op.rule_for(loop_kind) is None:
            why = op.unavailable(loop_kind)
            raise UnsupportedOperationError(f"fusenum does not implement {op.name}() for "
                                            f"{', '.join(map(_describe, descriptors))}" + (f": {why}" if why else ""))

        if op.weak_conversion == "compare":
            known = _out_of_range_comparison(op, operands, loop_dtypes)
            if known is not None:
                return known
        if self._records_casts_of(op):
            name = op.ufunc.__name__
            # (NumPy compares a Python int with an integer array by value, whatever ``casting=``)
            compares_ints = op.weak_conversion == "compare"
            self.casts += [(name, k, given, loop) for k, (given, loop) in enumerate(zip(descriptors, loop_dtypes))
                           if (given is not int or not compares_ints or loop.kind not in "iu")
                           and (isinstance(given, type) or (given != loop and not is_bytes(given)))]
        args = tuple(self._convert(x, dtype, op) for x, dtype in zip(operands, loop_dtypes))
        if op.name == "power":
            return _power(args, out_dtype)
        return nodes.make(op.name, args, out_dtype)

    def _power_operator(self, base: Operand, exponent: Operand) -> Operand | None:
        """``base ** exponent`` as NumPy's operator computes it for a Python-scalar exponent
        (see :func:`operator_rewrite`), or None where that is ``power``."""
        if not isinstance(base, Node):
            return None
        if isinstance(exponent, WeakVar):
            if _rewrite_may_matter(base.dtype, exponent.pytype):
                raise NeedsValue([exponent.source])
            return None
        if isinstance(exponent, Node):
            if exponent.op != "const":
                # NumPy up to 2.2 takes the shortcut for a 0-d array (or NumPy scalar) too, by value,
                # and for one it computes from 0-d arrays (``x ** (z * 1)``): the caller then binds
                # those that are 0-d as constants.
                keys = [self.sources[n.attr].key for n in nodes.walk(exponent) if n.op == "input"]
                keys = [key for key in keys if key not in self._not_zero_d]
                if keys and _array_rewrite_may_matter(base.dtype, exponent.dtype):
                    raise NeedsValue(keys)
                return None
            exponent = _constant_value(exponent)
        rewrite = operator_rewrite(base.dtype, exponent)
        return None if rewrite is None else self.apply(rewrite, base)

    def reduce(self, name: str, operand: Operand, axis=None, keepdims: bool = False, dtype=None) -> Operand:
        """``np.<name>(operand, axis=axis, keepdims=keepdims[, dtype=dtype])`` typed as NumPy types it.

        ``name`` is a row of :data:`fusenum.ir.reductions.REDUCTIONS` (or an alias
        such as ``amax``). The axes stay as written and are checked against the
        operand's dimensions when the plan runs (see :mod:`fusenum.ir.reductions`).
        """
        self._inside += 1  # (NumPy's reductions take no ``casting=``: what they are made of is not recorded)
        try:
            return self._reduce(name, operand, axis, keepdims, dtype)
        finally:
            self._inside -= 1

    def _reduce(self, name: str, operand: Operand, axis, keepdims: bool, dtype, axis_rule: str | None = None
                ) -> Operand:
        row = reductions.BY_NAME.get(name) or reductions.ROWS[name]
        reductions.check_arguments(row, axis, keepdims, dtype)
        if isinstance(operand, WeakVar):
            raise NeedsValue([operand.source])
        requested = None if dtype is None else np.dtype(dtype)
        kwargs = {} if requested is None else {"dtype": requested}
        self.may_warn = self.may_warn or requested is not None
        argument_dtype = operand.dtype if isinstance(operand, Node) else np.asarray(_constant_value(operand)).dtype
        if reductions.discards_imaginary(argument_dtype, requested):
            self.call_warnings.append((reductions.DISCARDED_IMAGINARY, np.exceptions.ComplexWarning))
        if _is_constant(operand):
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the call warns as it runs, not once when typed
                return _as_operand(np.asarray(row.numpy(_constant_value(operand), axis=axis,
                                                        keepdims=keepdims, **kwargs))[()])
        if is_bytes(operand.dtype):
            raise UnsupportedDTypeError(f"{row.name}() of {operand.dtype}: {byte_strings.WHAT_IS_COMPUTED}")
        accumulator, result = reductions.dtypes(row.name, operand.dtype, requested)
        what = f"{row.name}() of {operand.dtype}"
        check_dtype(result, what)
        if row.plain is not None:
            return self._without_nans(row, operand, axis, keepdims, requested)
        if accumulator == np.float16:
            if row.name == "mean":  # NumPy's float16 sum, divided as NumPy's mean divides it
                return self._mean_of_half_sum(operand, axis, keepdims)
            operand, accumulator = nodes.cast(operand, accumulator), np.dtype(np.float32)
        check_dtype(accumulator, what)
        to_half = row.name == "mean" and result == np.float16
        attr = reductions.ReduceAttr(row.name, axis, bool(keepdims), to_half=to_half, axis_rule=axis_rule)
        node = Node("reduce", (nodes.cast(operand, accumulator),), accumulator, attr)
        return nodes.cast(node, result)

    def _without_nans(self, row: reductions.Reduction, operand: Node, axis, keepdims: bool,
                      requested: np.dtype | None) -> Operand:
        """A NaN-ignoring reduction (``nansum``, ``nanprod``, ``nanmean``) as NumPy computes it: the
        plain reduction of the argument with NaNs replaced (see :mod:`fusenum.ir.reductions`)."""
        if operand.dtype.kind not in "fc":
            return self.reduce(row.plain, operand, axis, keepdims, requested)
        nan = self.apply("isnan", operand)
        replaced = self.apply("where", nan, row.nan_as, operand)
        if not row.counted:
            return self.reduce(row.plain, replaced, axis, keepdims, requested)
        total = self.reduce("sum", replaced, axis, keepdims, requested)
        count = self.reduce("count", self.apply("logical_not", nan), axis, keepdims)
        return nodes.cast(self.apply("true_divide", total, count), total.dtype)

    def _mean_of_half_sum(self, operand: Node, axis, keepdims: bool) -> Node:
        """``mean(operand, dtype='float16')`` as NumPy computes it: the float16 sum divided by the
        number of elements (an intp: in float64), rounded to float16."""
        total = self._reduce("sum", operand, axis, keepdims, np.dtype(np.float16), axis_rule="mean")
        everything = self.apply("logical_not", self.zero_like(nodes.cast(operand, np.dtype(bool))))
        count = self._reduce("count", everything, axis, keepdims, None, axis_rule="mean")
        return nodes.cast(self.apply("true_divide", total, count), total.dtype)

    def strong(self, value: PyScalar | np.generic) -> Node:
        """``value`` as ``np.asarray`` converts it: a strongly typed constant (a Python number becomes
        int64, float64 or complex128; a NumPy scalar such as ``np.finfo(np.float16).eps`` keeps its dtype)."""
        array = np.asarray(value)
        check_dtype(array.dtype, f"the constant {_describe_value(value)}")
        return nodes.const(array[()])

    def zero_like(self, operand: Operand) -> Operand:
        """Zeros of ``operand``'s type and shape (a weak zero if it is weak).

        An array operand stays in the IR (``where(False, operand, 0)``): the
        result's shape is the operand's, which for a reduction is not the shape
        of the arrays bound to the expression.
        """
        if isinstance(operand, WeakVar):
            return operand.pytype(0)
        if isinstance(operand, Node):
            zero = nodes.const(np.zeros((), operand.dtype)[()])
            return zero if operand.op == "const" else self.apply("where", False, operand, zero)
        return type(operand)(0)

    def finish(self, result: Operand) -> tuple[Node, tuple[Source, ...]]:
        """The expression's root and the source of each kernel operand slot.

        Slots are renumbered in order of first use, so the same expression gets
        the same IR (and the same compiled kernel) whichever front end built it.
        """
        if not isinstance(result, Node):
            if isinstance(result, WeakVar):
                raise NeedsValue([result.source])
            value = np.asarray(result)
            if not is_supported(value.dtype):
                check_dtype(value.dtype, f"the result {_describe_value(result)}")
            result = nodes.const(value[()])
        if is_bytes(result.dtype):
            check_dtype(result.dtype, "the result")
        used = nodes.inputs(result)
        if any(node.attr != k for k, node in enumerate(used)):  # (else it is numbered so already)
            result = nodes.replace(result, {node: nodes.input_slot(k, node.dtype) for k, node in enumerate(used)})
        return result, tuple(self.sources[node.attr] for node in used)

    def _convert(self, operand: Operand, dtype: np.dtype, op: Op) -> Node:
        """``operand`` as a node of loop dtype ``dtype`` (NumPy's weak-scalar conversion)."""
        wrap = op.weak_conversion == "wrap"
        if isinstance(operand, Node):
            return nodes.cast(operand, dtype)
        if isinstance(operand, WeakVar):
            return self._slot(Source(operand.source, dtype, wrap), dtype)
        source = Source(None, dtype, wrap)
        with np.errstate(all="ignore"):
            return nodes.const(source.convert(operand)[()])


#: Largest Python int (in bits) constant folding builds; no NumPy dtype holds more than 64.
MAX_CONSTANT_BITS = 1 << 16


def check_int_fold(fold, values) -> None:
    """OverflowError instead of spending minutes and gigabytes on ``9**9**9**9`` or ``1 << 10**10``;
    for a negative shift count, Python's ValueError as an :class:`ExpressionError`."""
    if fold not in (operator.pow, operator.lshift, operator.rshift) or not all(type(v) in (int, bool) for v in values):
        return
    base, exponent = map(int, values)  # (Python's bools shift and power as its ints: True << -1 raises too)
    if fold is not operator.pow and exponent < 0:
        symbol = "<<" if fold is operator.lshift else ">>"
        raise ExpressionError(f"negative shift count: {_digits(base)} {symbol} {_digits(exponent)} (two Python ints "
                              "shift as in Python, which refuses a negative count)")
    if fold is operator.rshift:
        return
    if fold is operator.pow:
        bits = exponent * max(abs(base).bit_length() - 1, 0) if exponent > 0 and abs(base) > 1 else 0
    else:
        bits = exponent + base.bit_length() if base and exponent > 0 else 0
    if bits > MAX_CONSTANT_BITS:
        symbol = "**" if fold is operator.pow else "<<"
        # (a count too long to print, 10**100 for ``1 << 10**100``, as the power of 2 it exceeds)
        about = f"about {bits}" if bits.bit_length() <= 64 else f"over 2**{bits.bit_length() - 1}"
        raise ConstantOverflowError(f"integer constant {_digits(base)}{symbol}{_digits(exponent)} would "
                                    f"have {about} bits (more than {MAX_CONSTANT_BITS})")




def _out_of_range_comparison(op: Op, operands, loop_dtypes):
    """The answer of comparing an integer array with a Python int it cannot hold.

    Every array value lies strictly between the dtype's limits, so comparing any
    in-range stand-in (0) with the int gives the answer for every element. The
    array operand stays in the IR (``x == x`` is all True, ``x != x`` all False
    for integers) so that errors computing it are still raised, as NumPy would.
    NumPy does this for an integer array only: a bool array's loop is int64 too,
    but the int is converted to it (``OverflowError``). Returns None when no
    operand is such an int.
    """
    for operand, dtype in zip(operands, loop_dtypes):
        if dtype.kind not in "iu":
            continue
        other = next((x for x in operands if x is not operand), None)
        if isinstance(other, Node) and other.dtype.kind not in "iu":
            continue
        if type(operand) is int and dtype not in int_fits(operand):
            stand_ins = [x if x is operand else 0 for x in operands]
            answer = op.python_fold(*stand_ins)
            other = nodes.cast(other, loop_dtypes[operands.index(other)])
            return nodes.make("equal" if answer else "not_equal", (other, other), np.dtype(bool))
        if isinstance(operand, WeakVar) and operand.pytype is int and dtype not in operand.fits:
            raise NeedsValue([operand.source])
    return None


# power(x, c) for a constant c: NumPy's float32 and float64 power loops compute some
# single-valued exponents (2, -1, 0.5 from NumPy 2.3; 2 in 2.1 and 2.2; none in 2.0) with
# the cheaper exact ufunc, which differs from pow() in the last bit, and at -0.0 and -inf
# for sqrt. Which ones is asked of NumPy (numpy_behaviour.power_loop_rewrites).
_POWER_REWRITES = {2.0: "square", -1.0: "reciprocal", 0.5: "sqrt"}


def operator_rewrite(base: np.dtype, exponent) -> str | None:
    """The unary op-table operation that the installed NumPy's ``array ** exponent`` computes
    instead of ``power`` for an array of dtype ``base`` and a Python or NumPy scalar (or 0-d
    array) ``exponent``, or None.

    NumPy's operator takes a shortcut for a few exponents (its ``fast_scalar_power``), and
    which ones changed between versions: up to 2.2 any int or float scalar or 0-d array of
    value 2, -1, 0.5 or 1 (so ``z ** 2.0`` is ``square``), from 2.3 only the Python int 2 and
    -1 and the Python float 0.5; NumPy 2.4 squares bool arrays too (int8, not int64). NumPy is
    asked, once per kind of exponent (:func:`numpy_behaviour.operator_power_rewrite`).

    A Python number that NumPy's float32/float64 power loop itself computes with the unary
    ufunc (a single-valued 2, say) gives that ufunc too: the same bits, without ``pow``.
    """
    rewrite = numpy_behaviour.operator_power_rewrite(base, exponent)
    if rewrite is None and type(exponent) in (int, float) and base.kind == "f" and base.itemsize >= 4 \
            and float(exponent) in numpy_behaviour.power_loop_rewrites(base):
        return _POWER_REWRITES[float(exponent)]
    return rewrite


def _rewrite_may_matter(base: np.dtype, kind: type) -> bool:
    """Whether ``base ** x`` for a Python ``x`` of type ``kind`` depends on x's value through
    :func:`operator_rewrite` beyond what the power loop does at run time by itself."""
    loop = numpy_behaviour.power_loop_rewrites(base) if base.kind == "f" and base.itemsize >= 4 else ()
    candidates = (True,) if kind is bool else (2, -1, 1) if kind is int else (2.0, -1.0, 0.5, 1.0)
    return any(operator_rewrite(base, kind(value)) is not None and float(value) not in loop for value in candidates)


def _array_rewrite_may_matter(base: np.dtype, exponent: np.dtype) -> bool:
    """Whether ``base ** e`` for a 0-d array ``e`` of dtype ``exponent`` depends on e's value
    through :func:`operator_rewrite` (never from NumPy 2.3)."""
    if exponent.kind not in "biuf":
        return False
    candidates = (True,) if exponent.kind == "b" else (2, -1, 1) if exponent.kind in "iu" else (2.0, -1.0, 0.5, 1.0)
    return any(operator_rewrite(base, np.asarray(value, exponent)) is not None
               for value in candidates if exponent.kind != "u" or value > 0)


def _power(args: tuple[Node, Node], out_dtype: np.dtype) -> Node:
    base, exponent = args
    if base.dtype.kind == "f" and base.dtype.itemsize >= 4 and exponent.op == "const":
        value = float(exponent.value)
        rewrite = _POWER_REWRITES.get(value)
        if rewrite is not None and value in numpy_behaviour.power_loop_rewrites(base.dtype):
            return nodes.make(rewrite, (base,), out_dtype)
    return nodes.make("power", args, out_dtype)
