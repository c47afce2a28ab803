"""Array layout: broadcasting shapes, allocating and checking results, and coalescing dimensions.

What NumPy's iterator does before a loop runs, done once per call (or once per
layout, for staged reductions): the broadcast shape of the operands, the
result array laid out as ``order`` asks, ``out=`` checked as NumPy checks it,
and the dimensions put in the output's memory order with every pair of
adjacent dimensions that is contiguous in all operands merged, so most calls
become one flat loop. :func:`access` classifies an operand's layout along the
innermost dimension (the layout classes of :class:`~fusenum.codegen.spec.Access`).
"""
from __future__ import annotations

import numpy as np

from ..codegen.spec import ACCESSES, Access
from ..errors import ArgumentTypeError, CastingError, InvalidArgumentError
from ..ir.shapes import broadcast_shapes
from ..ir.typing import check_dtype

CASTING_RULES = ("no", "equiv", "safe", "same_kind", "unsafe")
ORDERS = ("K", "A", "C", "F")


def broadcast_shape(arrays: list[np.ndarray], names=()) -> tuple[int, ...]:
    """NumPy's broadcast of the arrays' shapes (ValueError naming the operands if impossible)."""
    if not arrays:
        return ()
    first = arrays[0].shape
    if all(a.shape == first for a in arrays):
        return first
    try:
        return broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        described = ", ".join(f"{n}: {a.shape}" for n, a in zip(names, arrays)) or \
            " ".join(str(a.shape) for a in arrays)
        raise ValueError(f"operands could not be broadcast together with shapes {described}") from None


def allocate(shape, dtype: np.dtype, order: str, arrays: list[np.ndarray]) -> np.ndarray:
    """A new result array laid out as ``order`` asks, as NumPy's ufuncs lay it out: ``K`` orders the
    axes as NumPy's iterator does (:func:`_axes_fastest_first`), ``A`` is ``F`` if every input is
    Fortran-contiguous (a 1-d contiguous or 0-d array is), else ``C``."""
    if order == "K":
        if all(a.flags.c_contiguous for a in arrays):
            return np.empty(shape, dtype)
        slowest_first = _axes_fastest_first(shape, arrays)[::-1]
        base = np.empty([shape[ax] for ax in slowest_first], dtype)
        return base.transpose(np.argsort(slowest_first))
    if order == "A":
        order = "F" if arrays and all(a.flags.f_contiguous for a in arrays) else "C"
    return np.empty(shape, dtype, order=order)


def _axes_fastest_first(shape, arrays: list[np.ndarray]) -> list[int]:
    """The result's axes from the fastest varying in memory to the slowest, as NumPy's iterator
    orders them for ``order='K'``: a stable insertion sort by the operands' stride magnitudes, in
    which an axis moves inwards past another only if every operand with a stride along both (not
    broadcast there) agrees; where operands disagree, C order stays."""
    ndim = len(shape)
    strides = []  # per operand, by C axis; 0 where it is broadcast (a length-1 dimension included)
    for a in arrays:
        padded = [0] * (ndim - a.ndim) + [0 if n == 1 else abs(st) for n, st in zip(a.shape, a.strides)]
        if any(padded):
            strides.append(padded)
    order = list(range(ndim - 1, -1, -1))  # C order: the last axis fastest
    for i in range(1, ndim):
        axis, position = order[i], i
        for j in range(i - 1, -1, -1):
            compared = [(s[order[j]], s[axis]) for s in strides if s[order[j]] and s[axis]]
            if not compared:
                continue  # no operand tells: look further in
            if all(inner > outer for inner, outer in compared):
                position = j
            else:
                break
        order[position + 1:i + 1] = order[position:i]
        order[position] = axis
    return order


def as_order(order: object) -> object:
    """``order`` as NumPy's ufuncs take it: None is ``'K'``, a letter of ``ORDERS`` in either case,
    as a str or bytes (or a subclass of either), its capital; anything else as given, for
    :func:`check_options` to judge."""
    if order is None:
        return "K"
    # (str.upper and bytes.upper, not the methods of a subclass: NumPy reads the characters)
    if isinstance(order, str):
        letter = str.upper(order)
    elif isinstance(order, bytes):
        letter = bytes.decode(bytes.upper(order), "latin-1")
    else:
        return order
    return letter if letter in ORDERS else order


def as_casting(casting: object) -> object:
    """``casting`` as NumPy's ufuncs take it: a rule of ``CASTING_RULES`` as a str or bytes (or a
    subclass of either) is that rule's str; anything else as given, for :func:`check_options` to judge."""
    if isinstance(casting, str):
        rule = str.__str__(casting)  # (the characters, as an exact str)
    elif isinstance(casting, bytes):
        rule = bytes.decode(casting, "latin-1")
    else:
        return casting
    return rule if rule in CASTING_RULES else casting


def check_options(order, casting) -> None:
    """InvalidArgumentError unless ``order`` and ``casting`` are values NumPy accepts, as :func:`as_order`
    and :func:`as_casting` give them (ArgumentTypeError, a TypeError as NumPy's, for one that is neither
    a str nor bytes)."""
    for name, value in (("order", order), ("casting", casting)):
        if not isinstance(value, (str, bytes)):
            raise ArgumentTypeError(f"{name} must be a str or bytes, not {type(value).__name__}")
    if type(order) is not str or order not in ORDERS:
        raise InvalidArgumentError(f"order must be one of 'K', 'A', 'C', 'F', not {order!r}")
    if type(casting) is not str or casting not in CASTING_RULES:
        raise InvalidArgumentError(f"casting must be one of {', '.join(map(repr, CASTING_RULES))}, "
                                   f"not {casting!r}")


def writes_through_view(out) -> bool:
    """Whether ``out`` is an ndarray subclass that NumPy's ufuncs write as a plain array and return
    (``np.memmap``, ``np.matrix``, a subclass that only adds attributes): the front ends write a plain
    view of it and return it. Not a masked array, whose ufunc results also update its mask, nor a
    subclass with ufunc overrides of its own."""
    kind = type(out)
    return isinstance(out, np.ndarray) and kind.__array_ufunc__ is np.ndarray.__array_ufunc__ and \
        (kind.__array_wrap__ is np.ndarray.__array_wrap__ or issubclass(kind, np.memmap))


def check_out(out, shape, dtype: np.dtype, casting: str) -> None:
    """Validate ``out=``: an ndarray, writeable, of the result's shape, castable to."""
    if type(out) is not np.ndarray:
        subclass = " (a subclass whose ufunc results NumPy makes its own way; np.memmap, np.matrix and " \
            "subclasses without ufunc overrides are taken)" if isinstance(out, np.ndarray) else ""
        raise ArgumentTypeError(f"out must be a numpy.ndarray, not {type(out).__name__}{subclass}")
    if not out.flags.writeable:
        raise InvalidArgumentError("output array is read-only")
    if out.shape != tuple(shape):
        raise InvalidArgumentError(f"out has shape {out.shape}, but the expression's result has shape "
                                   f"{tuple(shape)}")
    check_dtype(out.dtype, "out")
    if not np.can_cast(dtype, out.dtype, casting):
        raise CastingError(f"Cannot cast expression output from {dtype!r} to {out.dtype!r} "
                           f"with casting rule {casting!r}")


def needs_temporary(out: np.ndarray, operands: list[np.ndarray]) -> bool:
    """Whether writing ``out`` could clobber an input element before it is read, or one of its own
    elements (NumPy's ufuncs compute into a temporary there, then copy it in)."""
    if overlaps_itself(out):
        return True
    for a in operands:
        if a.size and np.may_share_memory(out, a):
            same_elements = (a.shape == out.shape and a.strides == out.strides
                             and a.itemsize == out.itemsize
                             and a.__array_interface__["data"][0] == out.__array_interface__["data"][0])
            if not same_elements:
                return True
    return False


def single_value_views_copied(keys: tuple, values: list) -> list:
    """``values``, each array at ``keys`` that views one value over several elements (every stride
    0 along its axes longer than 1: ``np.broadcast_to``'s) replaced by a contiguous copy, as NumPy
    computes an expression's argument into a new array (see ``Plan.materialize``)."""
    copied = None
    for key in keys:
        value = values[key]
        if type(value) is np.ndarray and 0 in value.strides and value.size > 1 and not any(
                stride for stride, length in zip(value.strides, value.shape) if length > 1):
            if copied is None:
                copied = list(values)
            copied[key] = np.ascontiguousarray(value)
    return values if copied is None else copied


def overlaps_itself(a: np.ndarray) -> bool:
    """Whether two elements of ``a`` may share bytes (a 0 stride, or strides ``as_strided`` made to
    overlap). Cautious: axes by increasing stride, each must step past all the smaller ones span."""
    span = a.itemsize
    for stride, length in sorted((abs(s), n) for s, n in zip(a.strides, a.shape) if n > 1):
        if stride < span:
            return a.size > 0
        span += stride * (length - 1)
    return False


def access(a: np.ndarray, strides: list[int]) -> Access:
    if not any(strides):
        stride = "u"
    elif strides[-1] == a.itemsize:
        stride = "c"
    else:
        stride = "0" if strides[-1] == 0 else "s"
    return ACCESSES[stride, not a.dtype.isnative]


def coalesce(shape, arrays: list[np.ndarray]) -> tuple[list[int], list[list[int]]]:
    """Merge dimensions, in the last array's (the output's) memory order.

    Returns the merged shape and, per array, its strides in bytes over it
    (0 along broadcast dimensions). The shape has at least one dimension.
    """
    ndim = len(shape)
    strides = [broadcast_strides(a, shape) for a in arrays]
    out_strides = strides[-1]
    axes = sorted((ax for ax in range(ndim) if shape[ax] != 1), key=lambda ax: -abs(out_strides[ax]))
    return merge_axes(shape, strides, axes)


def merge_axes(shape, strides: list[list[int]], axes: list[int]) -> tuple[list[int], list[list[int]]]:
    """``shape``'s ``axes`` (outermost first), adjacent ones merged where every operand is contiguous
    across them; returns the merged shape and each operand's strides over it."""
    dims: list[int] = []
    per_array: list[list[int]] = [[] for _ in strides]
    for ax in axes:
        inner = [s[ax] for s in strides]
        if dims and all(outer[-1] == stride * shape[ax] for outer, stride in zip(per_array, inner)):
            dims[-1] *= shape[ax]
            for merged, stride in zip(per_array, inner):
                merged[-1] = stride
        else:
            dims.append(shape[ax])
            for merged, stride in zip(per_array, inner):
                merged.append(stride)
    if not dims:
        return [1], [[0] for _ in strides]
    return dims, per_array


def broadcast_strides(a: np.ndarray, shape) -> list[int]:
    """``a``'s strides over ``shape`` (NumPy's broadcasting: 0 along broadcast dimensions)."""
    pad = len(shape) - a.ndim
    return [0] * pad + [0 if n == 1 else s for n, s in zip(a.shape, a.strides)]
