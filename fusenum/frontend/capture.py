"""Capture-time typing of one lazy operation: NumPy's result dtype and shape, or NumPy's error.

Capturing ``x + y`` must be cheap, so it builds no IR: the result dtype comes
from a memo keyed on the operation and its operands' *descriptors* (the dtype
of an array, the Python type of a weak scalar, and for a Python ``int`` the
set of integer dtypes that can hold it, which decides NumPy's
``OverflowError``). A memo miss types the operation once through the same
:class:`~fusenum.ir.typing.Builder` that forcing uses later, so capture and
forcing cannot disagree.

When typing or broadcasting fails, the error raised is NumPy's own: the NumPy
function is called on *stand-ins* -- zero-strided arrays of the operands'
dtypes and shapes that take no memory -- and raises exactly what the eager
NumPy code would (type, message, and which of two errors comes first).

Reductions (:func:`reduction`) are typed the same way -- through
``Builder.reduce``, memoized on the reduction's token and the operand's dtype
-- and their shape comes from :mod:`fusenum.ir.reductions`. When anything about
a reduction's arguments fails, NumPy is asked on a tiny array of the operand's
dtype and number of dimensions (each axis of length 0 or 1, so a reduction of
nothing stays one): if NumPy raises, its error is raised; if NumPy accepts what
fusenum does not capture, the caller falls back to NumPy.
"""
from __future__ import annotations

import operator
import warnings
from typing import Any

import numpy as np

from ..errors import UnsupportedDTypeError, warn
from ..ir import reductions
from ..ir.ops import Op
from ..ir.shapes import broadcast_shapes
from ..ir.typing import PY_SCALARS, Builder

#: ``(op name, *operand descriptors) -> result dtype``; callers may look up a key here first.
DTYPES: dict[tuple, np.dtype] = {}


def result_dtype(op: Op, operands: tuple, key: tuple) -> np.dtype | None:
    """The dtype of ``op(*operands)``; ``key`` is ``(op.name, *descriptors)``.

    Returns None if fusenum cannot compile it (an operand or result dtype it
    does not support); raises NumPy's error if NumPy would refuse it.
    """
    dtype = DTYPES.get(key)
    if dtype is not None:
        return dtype
    builder = Builder()
    try:
        args = [x if type(x) in PY_SCALARS else builder.array(i, x.dtype) for i, x in enumerate(operands)]
        node = builder.apply(op, *args)
    except (UnsupportedDTypeError, NotImplementedError):  # NumPy computes what fusenum does not compile
        return None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise_numpy_error(numpy_function(op), operands)
        raise exc
    # Failures are not memoized: the message names the value (say the int that overflows).
    DTYPES[key] = node.dtype
    return node.dtype


def broadcast(shapes: list[tuple[int, ...]]) -> tuple[int, ...] | None:
    """NumPy's broadcast of ``shapes`` (at least one), or None if they do not broadcast."""
    first = shapes[0]
    for shape in shapes:
        if shape != first:
            break
    else:
        return first
    try:
        return broadcast_shapes(*shapes)
    except ValueError:
        return None


def numpy_function(op: Op):
    """The NumPy function an op-table row stands for (its ufunc, or ``np.where`` and the like)."""
    return op.numpy if op.numpy is not None else getattr(np, op.name)


def stand_in(dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only array of ``dtype`` and ``shape`` backed by a single element."""
    return np.broadcast_to(np.zeros((), dtype), shape)


def writable_stand_in(dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A writeable array of ``dtype`` and ``shape`` backed by a single element (an ``out=`` stand-in)."""
    return np.lib.stride_tricks.as_strided(np.zeros(1, dtype), shape, (0,) * len(shape))


def raise_numpy_error(function, operands, out: np.ndarray | None = None) -> None:
    """Call NumPy's ``function`` on stand-ins of ``operands`` so that it raises its own error.

    Operands with a dtype (lazy arrays, ndarrays, NumPy scalars) become
    stand-ins; others (Python scalars, whose errors depend on the value, and
    lists) are passed as they are. Stand-ins keep the
    shapes only when they do not broadcast: a typing error must not allocate a
    result. Returns normally if NumPy accepts the call.
    """
    arrays = [x for x in operands if type(x) not in PY_SCALARS and hasattr(x, "dtype")]
    keep_shapes = out is not None or (bool(arrays) and broadcast([x.shape for x in arrays]) is None)
    args = [stand_in(x.dtype, x.shape if keep_shapes else ()) if any(x is a for a in arrays) else x
            for x in operands]
    kwargs = {} if out is None else {"out": out}
    with np.errstate(all="ignore"):
        try:
            function(*args, **kwargs)
        except Exception as exc:
            raise exc.with_traceback(None) from None


def reduction(row: reductions.Reduction, dtype: np.dtype, shape: tuple[int, ...], axis, keepdims,
              requested) -> tuple[tuple, np.dtype, tuple[int, ...]] | None:
    """``(token, result dtype, result shape)`` of ``row.numpy(x, axis, keepdims[, dtype=requested])``.

    ``x`` has ``dtype`` and ``shape``. The token ``("reduce", name, axis,
    keepdims, dtype)`` holds the arguments in canonical form (Python ints, a
    bool, an ``np.dtype`` or None); it is the operation of the lazy node and the
    token of its forcing program. Raises NumPy's error if NumPy refuses the call
    (an axis out of range or repeated, a dtype it does not understand, ``min``
    of nothing); returns None if NumPy accepts it but fusenum does not capture
    it (dtypes fusenum lacks, unusual argument types such as ``keepdims=1``).
    """
    try:
        token = _reduce_token(row, axis, keepdims, requested)
        axes = reductions.normalize_axes(token[2], len(shape), row.name, dtype)
        key = (token, dtype)
        result = DTYPES.get(key)
        if result is None:  # (typing warns nothing: the caller gives NumPy's warning, warn_discarded_imaginary)
            builder = Builder()
            result = builder.reduce(row.name, builder.array(0, dtype), token[2], token[3], token[4]).dtype
            DTYPES[key] = result
    except Exception:  # noqa: BLE001 -- NumPy's own answer decides: its error, or a fallback
        raise_reduction_error(row, dtype, shape, axis, keepdims, requested)
        return None
    if row.identity is None and 0 in shape:  # min/max of nothing: NumPy's ValueError, now
        raise_reduction_error(row, dtype, shape, axis, keepdims, requested)
    return token, result, reductions.result_shape(shape, axes, token[3])


def warn_discarded_imaginary(dtype: np.dtype, requested) -> None:
    """NumPy's ``ComplexWarning`` for a reduction of ``dtype`` computed in ``dtype=requested``, if NumPy
    gives one (complex in a real dtype): at each call, as NumPy's."""
    if reductions.discards_imaginary(dtype, requested):
        warn(reductions.DISCARDED_IMAGINARY, np.exceptions.ComplexWarning)


def _reduce_token(row: reductions.Reduction, axis, keepdims, requested) -> tuple:
    """The canonical token; TypeError for arguments the token cannot hold (NumPy decides about them)."""
    if type(keepdims) is not bool:
        raise TypeError("keepdims")
    if axis is not None:
        if isinstance(axis, tuple):
            if any(isinstance(ax, (bool, np.bool_)) for ax in axis):
                raise TypeError("axis")
            axis = tuple(operator.index(ax) for ax in axis)
        elif isinstance(axis, (bool, np.bool_)):
            raise TypeError("axis")
        else:
            axis = operator.index(axis)
    if requested is not None:
        requested = np.dtype(requested)
    return ("reduce", row.name, axis, keepdims, requested)


def raise_reduction_error(row: reductions.Reduction, dtype: np.dtype, shape: tuple[int, ...], axis, keepdims,
                          requested) -> None:
    """Reduce a tiny array like the operand (each axis of length ``min(n, 1)``) with NumPy so that it
    raises its own error; returns normally if NumPy accepts the call."""
    probe = np.zeros(tuple(min(n, 1) for n in shape), dtype)
    kwargs = {"axis": axis, "keepdims": keepdims}
    if requested is not None:
        kwargs["dtype"] = requested
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            row.numpy(probe, **kwargs)
        except Exception as exc:
            raise exc.with_traceback(None) from None


def as_operand(x: Any) -> np.ndarray | None:
    """A NumPy scalar, list or tuple as the ndarray NumPy would make of it; None for other objects."""
    if isinstance(x, np.generic) or type(x) in (list, tuple):
        array = np.asarray(x)
        return array if array.dtype != object else None
    return None
