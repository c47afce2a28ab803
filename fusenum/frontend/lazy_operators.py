"""LazyArray's Python operators: each captured as its op-table operation, as NumPy's would compute it.

* Binary, reflected and in-place special methods for every operator of the op table, and
  ``abs``, ``divmod`` and ``@``. NumPy computes what fusenum cannot compile (and an operand
  that opted out of NumPy's operators, ``__array_ufunc__ = None``, is asked itself).
* ``**`` with a scalar exponent takes the unary shortcut NumPy's operator takes
  (:func:`fusenum.ir.typing.operator_rewrite`).
* In place (``x += y``) rebinds the name to a new expression with NumPy's in-place result
  (the target's dtype, byte order included, and shape, ``same_kind`` casting); the wrapped
  array is never written. NumPy computes it at once (on a copy) only where its in-place
  result differs from what fusenum compiles: a one-element complex ``*=`` (its loop's last
  bit), an in-place operator NumPy accepts that fusenum's typing refuses, an operand fusenum
  does not capture (a matrix, a masked array: NumPy's in-place operator keeps the ndarray).
  ``x @= y`` is NumPy's ``np.matmul(x, y, out=x)`` computed on a copy of the value, wrapped. Over
  dask arrays none of these computes: dask's operator builds the result (a new dask array, its
  blocks never written in place), cast to the target's dtype and wrapped.
* ``round()`` answers as NumPy does: a NumPy scalar's for a result standing for one, an
  ndarray's ``TypeError`` for any other LazyArray. ``hash()`` is always the ndarray's ``TypeError``.
* Operators on 0-d values NumPy makes scalars (results of ufuncs on 0-d operands, full
  reductions) follow NumPy's *scalar* arithmetic where it differs from the ufunc loops: complex
  ``*``, float and complex ``**``, complex ``abs`` are computed by NumPy on the scalars when met
  (not over dask arrays, which stay lazy), and the result still stands for a scalar.

Installed on :class:`~fusenum.frontend.lazy.LazyArray` when :mod:`fusenum.frontend` is imported.
"""
from __future__ import annotations

import math
import operator
from typing import Any, Callable

import numpy as np

from . import capture, forcing
from ..ir.ops import BINARY_SYMBOLS, OPS, UNARY_SYMBOLS, Op
from ..ir.typing import PY_SCALARS, SUPPORTED, operator_rewrite
from .dask_types import is_dask_type
from .lazy import (LazyArray, _capture_cast, _node, _stands_for_scalar, capture_operation, force,
                   in_byte_order, lazy)

def _operator(op: Op, python_operator: Callable, *operands: Any) -> Any:
    """``python_operator(*operands)`` captured, or computed by NumPy if fusenum cannot compile it."""
    if isinstance(operands[0], complex) and not isinstance(operands[0], np.generic) \
            and op.name in _COMPLEX_TAKES_FLOAT and _stands_for_float64(operands[1]):
        # Python's complex takes an np.float64 (a float subclass) itself, before NumPy is asked:
        # NumPy's answer is Python's arithmetic (its division rounds otherwise), a Python complex.
        return python_operator(operands[0], float(operands[1].compute()[()]))
    if op.name == "multiply" and any(isinstance(x, (list, tuple)) for x in operands) \
            and any(type(x) is LazyArray and _stands_for_number(x) for x in operands):
        # A NumPy scalar hands ``*`` with a Python list or tuple back to it: repetition by an
        # integer (``np.int64(3) * [7]`` is ``[7, 7, 7]``), else Python's TypeError.
        return python_operator(*(x.compute()[()] if type(x) is LazyArray else x for x in operands))
    if op.name in _SCALAR_MATH and all(map(_stands_for_number, operands)) \
            and any(_kind(x) in _SCALAR_MATH[op.name] for x in operands):
        # NumPy's scalar arithmetic computes this with the C library's pow/powf or the textbook
        # complex product, not with the ufunc loop fusenum reproduces: NumPy computes this value.
        scalars = (x.compute()[()] if type(x) is LazyArray else x for x in operands)
        return _numpy_scalar(python_operator(*scalars))
    result = _captured(op, operands)
    if result is not None:
        return result
    if any(map(_opted_out, operands)):
        return NotImplemented  # the other operand opted out of NumPy's operators; let Python ask it
    return python_operator(*map(force, operands))


def _captured(op: Op, operands: tuple) -> LazyArray | None:
    """What NumPy's operator computes for ``op(*operands)``, captured; None where fusenum cannot compile it."""
    # NumPy's array ``**`` takes shortcuts (``square`` for 2); its scalar ``**`` is ``power`` itself,
    # which types ``np.True_ ** 2`` as int64 where ``square`` gives int8.
    if op is _POWER and type(operands[0]) is LazyArray and _scalar(operands[1]) \
            and not _stands_for_scalar(operands[0]):
        result = _power_operator(*operands)
        if result is not None:
            return result
    return capture_operation(op, operands)


_POWER = OPS["power"]
# Python operators whose NumPy *scalar* result can differ in the last bit from the ufunc loop's,
# by the dtype kinds of operand that bring it about.
_SCALAR_MATH = {"multiply": "c", "power": "fc"}


#: Python complex's arithmetic with a float operand (its ``<`` and ``//`` refuse one; ``c == x`` comes
#: here as ``x == c``, which NumPy computes: its Python bool stays a lazy one).
_COMPLEX_TAKES_FLOAT = frozenset({"add", "subtract", "multiply", "true_divide", "power"})


def _stands_for_float64(x: Any) -> bool:
    """Whether ``x`` is a LazyArray standing for an ``np.float64`` scalar, that may be computed now."""
    return type(x) is LazyArray and x.dtype == np.float64 and _stands_for_number(x)


def _stands_for_number(x: Any) -> bool:
    """Whether NumPy's operator sees ``x`` as a scalar (not an array) in its arithmetic, and it
    may be computed now for that: not over dask arrays, which stay lazy (the loop's last bit)."""
    if type(x) is LazyArray:
        return _stands_for_scalar(x) and (x._value is not None or not forcing.on_dask(x))
    return type(x) in PY_SCALARS or isinstance(x, np.generic)


def _numpy_scalar(value: Any) -> Any:
    """NumPy scalar ``value`` as a computed 0-d LazyArray standing for it, so that the operators
    applied to it next still see a scalar operand, as NumPy's would (a NumPy scalar first in
    an operator hands a LazyArray to the ufunc, as it would an array)."""
    array = np.asarray(value)
    if array.dtype not in SUPPORTED:
        return value
    token = ("astype", array.dtype, "scalar")
    node = _node(token, (array,), array.dtype, (), (array.dtype, token), (array,))
    node._value = array
    return node


def _kind(x: Any) -> str:
    """The dtype kind of an operand, a Python number's by its type."""
    if hasattr(x, "dtype"):
        return x.dtype.kind
    return "c" if type(x) is complex else "f" if type(x) is float else "i"


# NumPy's complex multiply and square loops compute a one-element in-place call in their plain
# C loop, without the fused multiply-add of their SIMD loop (and fusenum's): bits can differ.
_ONE_ELEMENT_IN_PLACE = frozenset({"multiply", "square"})


def _numpy_in_place(op: Op, target: LazyArray, other: Any) -> Any:
    """``target <op>= other`` computed by NumPy in place on a copy of ``target``'s value."""
    return _numpy_in_place_by(getattr(operator, f"i{_method_stem(op)}"), target, other)


def _numpy_in_place_by(in_place: Callable, target: LazyArray, other: Any) -> Any:
    """NumPy's in-place operator ``in_place`` on a copy of ``target``'s value, wrapped; where NumPy
    defers to ``other`` (an ``__array_priority__`` with a reflected operator), ``other``'s answer.
    Over dask arrays, dask's operator instead (:func:`_dask_in_place`), which stays lazy."""
    if _over_dask(target):
        return _dask_in_place(in_place, target, other)
    value = target.compute().copy()
    result = in_place(value, force(other))
    return lazy(result) if result is value else result


def _over_dask(x: LazyArray) -> bool:
    """Whether ``x`` is not computed and reads a dask array (forcing it gives a dask array)."""
    return x._value is None and forcing.on_dask(x)


def _dask_in_place(in_place: Callable, target: LazyArray, other: Any) -> Any:
    """``target <op>= other`` over dask arrays: dask's operator on the fused dask array, cast to
    ``target``'s dtype as NumPy's in-place result is (``same_kind``), wrapped; nothing is computed.
    dask arrays have no in-place operators, so Python's fallback gives a new dask array; where its
    shape or dtype is not one NumPy's in-place operator keeps, and where dask refuses the operands,
    NumPy's error (on stand-ins)."""
    try:
        result = in_place(forcing.to_dask(target), force(other))
    except Exception:
        _raise_numpy_in_place_error(in_place, target, other)
        raise  # (NumPy would take it: dask's own error)
    if not is_dask_type(type(result)):
        return result  # (``other`` answered: an operand of higher priority)
    if result.shape != target._shape or not np.can_cast(result.dtype, target._dtype, "same_kind"):
        _raise_numpy_in_place_error(in_place, target, other)
    return lazy(result.astype(target._dtype))


#: Stand-ins of more elements than this are not given to NumPy's ``@=`` for its error: where NumPy
#: takes the operands, it multiplies them (the stand-ins' values are zeros, their cost is not).
_STAND_IN_WORK = 1 << 24


def _raise_numpy_in_place_error(in_place: Callable, target: LazyArray, other: Any) -> None:
    """Raise NumPy's error for ``in_place(target, other)`` on stand-ins; return if NumPy takes it
    (or, for ``@=``, if finding out would cost a product of large stand-ins)."""
    if in_place is operator.imatmul:
        inner = getattr(other, "shape", (1,))
        if math.prod(target._shape) * (inner[-2] if len(inner) >= 2 else 1) > _STAND_IN_WORK:
            return
    out = capture.writable_stand_in(target._dtype, target._shape)
    capture.raise_numpy_error(lambda _, value, out: in_place(out, value), (target, other), out=out)


def _scalar(x: Any) -> bool:
    """A Python or NumPy scalar or a 0-d array: what NumPy's ``**`` may take a shortcut for."""
    kind = type(x)
    return kind in PY_SCALARS or isinstance(x, np.generic) or (kind is np.ndarray and x.ndim == 0)


def _power_operator(base: LazyArray, exponent: Any) -> LazyArray | None:
    """``base ** exponent`` as the unary operation NumPy's operator computes instead of ``power``
    for these few exponents (``square`` for 2: :func:`fusenum.ir.typing.operator_rewrite`).

    The exponent's value is known now, so the rewrite is captured as the operation
    itself, with no run-time operand, exactly as the string front end does for a literal.
    """
    rewrite = operator_rewrite(base._dtype, exponent)
    return None if rewrite is None else capture_operation(OPS[rewrite], (base,))


def _in_place(op: Op, python_operator: Callable, target: LazyArray, other: Any) -> Any:
    """``target <op>= other``: NumPy's in-place result (target's dtype and shape, same_kind casting), lazily.

    The name is rebound to the new expression; the array ``target`` wraps is
    never written (an alias of the old LazyArray keeps the old value) and is read when the
    expression is forced (:func:`_numpy_in_place` computes now in the two cases the module's
    docstring names). A byte-swapped target keeps its byte order (:func:`.lazy.in_byte_order`). A 0-d
    result of a ufunc or a reduction stands for what NumPy makes a scalar, so it is simply
    rebound to ``target <op> other``, promotion included, as a scalar would be.
    """
    if _stands_for_scalar(target):
        return _operator(op, python_operator, target, other)
    kept = target._value
    if isinstance(kept, np.ndarray) and not kept.flags.writeable or _imag_of_real(target):
        # NumPy's error, checked before any other (``a += "s"`` on a read-only ``a`` gives it too),
        # although fusenum rebinds rather than writes: a read-only array stays unchanged either way
        raise ValueError("output array is read-only")
    try:
        result = _captured(op, (target, other))
    except Exception:
        # NumPy checks the in-place output (its cast, its shape) before broadcasting the inputs
        _raise_in_place_error(op, target, other)
        raise
    if result is None:
        return _uncaptured_in_place(op, python_operator, target, other)
    if result._op in _ONE_ELEMENT_IN_PLACE and result._dtype.kind == "c" and math.prod(target._shape) == 1 \
            and not _over_dask(target):  # (dask's blocks are not written in place: its result is fusenum's)
        return _numpy_in_place(op, target, other)
    if result.shape != target._shape or not np.can_cast(result.dtype, target._dtype, "same_kind"):
        _raise_in_place_error(op, target, other)
        # NumPy took it (NumPy 2.0's ``int8_0d **= 2.0`` squares in place): NumPy computes it
        return _numpy_in_place(op, target, other)
    native = target._dtype.newbyteorder("=")
    # A 0-d target stays a 0-d array in NumPy: the cast (free when the dtype is the same) marks it as one.
    if result.dtype != native or not target._shape:
        result = _capture_cast(result, native, "array")
    # fusenum computes in native byte order; NumPy's in-place result keeps the target's
    return result if native == target._dtype else in_byte_order(result, target._dtype)


def _imag_of_real(x: LazyArray) -> bool:
    """Whether ``x`` is the ``.imag`` of a real expression, which NumPy makes read-only zeros."""
    return x._op == "imag" and getattr(x._args[0], "dtype", np.dtype(complex)).kind != "c"


def _uncaptured_in_place(op: Op, python_operator: Callable, target: LazyArray, other: Any) -> Any:
    """``target <op>= other`` where fusenum cannot compile it: NumPy's in-place operator, which unlike
    its binary one keeps an ndarray target whatever ``other`` is (``*=`` a matrix multiplies
    elementwise, ``+=`` a masked array adds its data) and refuses an operand that opted out of ufuncs.
    Over dask arrays it is dask's own operation, which stays lazy."""
    value = force(target)
    if type(value) is np.ndarray and not is_dask_type(type(other)):
        return _numpy_in_place(op, target, other)
    if _opted_out(other):
        return NotImplemented  # the other operand opted out of NumPy's operators; let Python ask it
    result = python_operator(value, force(other))
    if result.shape != target._shape or not np.can_cast(result.dtype, target._dtype, "same_kind"):
        _raise_in_place_error(op, target, other)
    return result.astype(target._dtype)


def _raise_in_place_error(op: Op, target: LazyArray, other: Any) -> None:
    """Raise NumPy's error for ``target <op>= other`` on stand-ins; return if NumPy takes it."""
    # (NumPy's operator: ``a **= 2`` squares)
    _raise_numpy_in_place_error(getattr(operator, f"i{_method_stem(op)}"), target, other)


def _divmod(left: Any, right: Any) -> tuple:
    """``divmod`` as NumPy defines it for arrays: ``(left // right, left % right)``."""
    quotient = capture_operation(OPS["floor_divide"], (left, right))
    remainder = capture_operation(OPS["remainder"], (left, right))
    if quotient is None or remainder is None:
        return divmod(force(left), force(right))
    return quotient, remainder


def _method_stem(op: Op) -> str:
    """Python's special-method stem for ``op``: its ``operator`` function's name (``and_`` -> ``and``)."""
    return op.python_fold.__name__.rstrip("_")


def _binary_methods(op: Op) -> dict[str, Callable]:
    stem = _method_stem(op)
    python_operator = op.python_fold

    def forward(self, other):
        return _operator(op, python_operator, self, other)

    def reflected(self, other):
        return _operator(op, python_operator, other, self)

    def in_place(self, other):
        return _in_place(op, python_operator, self, other)

    methods = {f"__{stem}__": forward}
    if op.weak_conversion != "compare":  # Python reflects a comparison into its mirror image itself
        methods.update({f"__r{stem}__": reflected, f"__i{stem}__": in_place})
    return methods


def _unary_method(op: Op) -> dict[str, Callable]:
    stem = _method_stem(op)
    python_operator = op.python_fold

    def method(self):
        return _operator(op, python_operator, self)

    return {f"__{stem}__": method}


def _install_operators() -> None:
    """Give LazyArray a special method per operator of the op table."""
    for op in BINARY_SYMBOLS.values():
        for name, method in _binary_methods(op).items():
            method.__name__ = method.__qualname__ = name
            setattr(LazyArray, name, method)
    for op in UNARY_SYMBOLS.values():
        for name, method in _unary_method(op).items():
            method.__name__ = method.__qualname__ = name
            setattr(LazyArray, name, method)
    pow_method = LazyArray.__pow__

    def power(self, other, modulo=None):
        if modulo is not None:
            return pow(self.compute(), force(other), modulo)
        return pow_method(self, other)

    LazyArray.__pow__ = power


_install_operators()


def _abs(self: LazyArray) -> LazyArray | np.ndarray:
    if self._dtype.kind == "c" and _stands_for_number(self):
        # NumPy's abs() of a complex *scalar* is the C library's hypot, not the array loop's
        # formula: the two can differ in the last bit, so NumPy computes this one value.
        return _numpy_scalar(abs(self.compute()[()]))
    return _operator(OPS["absolute"], abs, self)


def _opted_out(x: Any) -> bool:
    """Whether ``x``'s type opted out of NumPy's ufuncs and operators (``__array_ufunc__ = None``)."""
    return getattr(type(x), "__array_ufunc__", 0) is None


def _matmul(left: Any, right: Any, other: Any) -> Any:
    """``left @ right``, NumPy's operator on the forced operands (``np.matmul``, but deferring to an
    operand of higher ``__array_priority__`` with a reflected ``@``, as NumPy's operator does), where
    ``other`` is the operand that is not the LazyArray: an ``other`` that opted out of NumPy's
    operators is asked itself."""
    if _opted_out(other):
        return NotImplemented
    return operator.matmul(force(left), force(right))


def _trunc(self: LazyArray) -> Any:
    """``math.trunc(x)``: a NumPy scalar's (a float's or an int's) for a result that stands for one;
    an ndarray has no ``__trunc__``, so NumPy's ``TypeError`` for any other LazyArray."""
    if _stands_for_scalar(self):
        return math.trunc(self.compute()[()])
    return math.trunc(capture.stand_in(self._dtype, self._shape))


def _imatmul(self: LazyArray, other: Any) -> Any:
    """``self @= other`` with NumPy's in-place rules: ``np.matmul(self, other, out=self)``, so the
    result keeps ``self``'s shape and dtype (NumPy's ``ValueError`` for a shape that would change,
    its ``UFuncTypeError`` for ``same_kind`` casting). NumPy computes it on a copy of the value:
    as for the other in-place operators, the name is rebound and a wrapped array is never written."""
    if _stands_for_scalar(self):  # a NumPy scalar has no in-place @: Python falls back to @
        return _matmul(self, other, other)
    return _numpy_in_place_by(operator.imatmul, self, other)


def _round(self: LazyArray, ndigits: int | None = None) -> Any:
    """``round(x[, ndigits])`` as NumPy answers it: a NumPy scalar's ``__round__`` (an ``int``
    without ``ndigits``, else a scalar of its dtype, here a LazyArray standing for it) for a
    result that stands for one; an ndarray has no ``__round__``, so NumPy's ``TypeError``
    (without computing) for any other LazyArray."""
    if _stands_for_scalar(self):
        rounded = round(self.compute()[()], ndigits)
        return _numpy_scalar(rounded) if isinstance(rounded, np.generic) else rounded
    if not hasattr(np.ndarray, "__round__"):
        return round(capture.stand_in(self._dtype, self._shape), ndigits)  # NumPy's TypeError
    return round(self.compute(), ndigits)


def _install_other_operators() -> None:
    """``abs``, ``divmod``, ``@``, ``round`` and ``math.trunc``, which are not op-table operators. (No ``hash``:
    LazyArrays are unhashable as ndarrays are, also where they stand for a NumPy scalar, so that
    ``isinstance(x, Hashable)`` checks in xarray and pandas treat them as arrays.)"""
    methods = {"__abs__": _abs, "__divmod__": lambda self, other: _divmod(self, other),
               "__rdivmod__": lambda self, other: _divmod(other, self),
               "__matmul__": lambda self, other: _matmul(self, other, other),
               "__rmatmul__": lambda self, other: _matmul(other, self, other),
               "__imatmul__": _imatmul, "__round__": _round, "__trunc__": _trunc}
    for name, method in methods.items():
        method.__name__ = method.__qualname__ = name
        setattr(LazyArray, name, method)


_install_other_operators()
