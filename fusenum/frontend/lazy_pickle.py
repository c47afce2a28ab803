"""Pickling and copying a LazyArray: its expression and operands, not its value.

An unforced LazyArray pickles as its forcing program (postfix tokens: dtypes,
op names, reduction and cast tokens; see :mod:`.forcing`) and its leaves
(ndarrays, Python scalars, dask arrays); unpickling replays the program
through the same capture functions, so the copy is the same expression,
unforced, with NumPy's dtype and shape checked again. A LazyArray over dask
arrays thus ships as a few tokens plus the dask graphs of its inputs, never as
computed data. A forced LazyArray pickles as ``lazy(value)``, or, if it stands for a NumPy
scalar (a full reduction, a ufunc of 0-d operands), as a LazyArray standing for that scalar:
the round trip keeps what NumPy makes a scalar a scalar (its ``+=`` promotes, its complex
``*`` is NumPy's scalar product), and an ``astype`` token's mark (``"array"``/``"scalar"``)
is replayed as it was.

``copy.copy`` of an unforced LazyArray gives the same expression over the same leaves; of a
forced one, an independent copy of its value (as ``copy.copy`` of an ndarray is a copy, not a
view: writing into it leaves the original alone), with what it stands for kept.
``copy.deepcopy`` gives the expression over copies of the leaves, or a copy of the value.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import forcing
# Unpickling imports only this module: these install the rest of LazyArray's protocols.
from . import explain, lazy_axes, lazy_numpy  # noqa: F401
from ..errors import UnsupportedOperationError
from ..ir.reductions import BY_NAME
from ..ir.typing import PY_SCALARS
from .lazy import (LazyArray, _capture_cast, _settle, _stands_for_scalar, capture_operation,
                   capture_reduction, in_byte_order, lazy)
from .lazy_operators import _numpy_scalar


def rebuild(program: tuple, leaves: tuple, like: np.ndarray | None = None) -> LazyArray:
    """The LazyArray of ``program`` over ``leaves`` (what :meth:`LazyArray.__reduce__` gives); ``like``:
    an empty array of the dtype in the byte order an in-place operator's result keeps
    (:func:`.lazy.in_byte_order`), which the program does not say."""
    operands = [leaf if type(leaf) in PY_SCALARS else lazy(leaf) for leaf in leaves]
    result = forcing.Program(program).replay(
        operands,
        lambda op, *args: _captured(capture_operation(op, args), op.name),
        lambda token, x: _captured(capture_reduction(BY_NAME[token[1]], x, *token[2:]), token),
        lambda token, x: _capture_cast(x, token[1], *token[2:]))
    return result if like is None or like.dtype == result.dtype else in_byte_order(result, like.dtype)


def rebuild_scalar(value: np.ndarray) -> LazyArray:
    """The computed LazyArray standing for the NumPy scalar of 0-d ``value`` (a forced scalar result)."""
    return _numpy_scalar(value)


def _captured(result: LazyArray | None, token: Any) -> LazyArray:
    if result is None:  # only if this process compiles less than the one that pickled
        raise UnsupportedOperationError(f"fusenum cannot capture {token!r} in this process")
    return result


def _reduce(self: LazyArray):
    if self._value is not None:
        return (rebuild_scalar if _stands_for_scalar(self) else lazy, (self._value,))
    program, values = forcing.program_of(self)
    if not self._dtype.isnative:  # (an in-place operator's result on a byte-swapped target)
        # An array, not the dtype: it comes back in the byte order NumPy's own arrays do (native when
        # unpickled below protocol 5; kept by protocol 5 and by copy.deepcopy).
        return (rebuild, (tuple(program), _shared(values), np.empty(0, self._dtype)))
    return (rebuild, (tuple(program), _shared(values)))


def _shared(values: list) -> tuple:
    """``values`` with views of the same memory in the same layout made one object, which pickle
    then writes once (capture records a view of an ndarray each time it is used)."""
    first: dict[tuple, np.ndarray] = {}
    shared = []
    for value in values:
        if type(value) is np.ndarray:
            layout = (value.__array_interface__["data"][0], value.shape, value.strides, value.dtype.str)
            value = first.setdefault(layout, value)
        shared.append(value)
    return tuple(shared)


def _copy(self: LazyArray) -> LazyArray:
    """``copy.copy``: the same expression; a forced value copied as ``ndarray.__copy__`` does
    (memory order kept), so that writing into the copy leaves the original alone."""
    if self._view is not None:
        _settle(self)  # (x[None] of an x computed since: the copy is of that value, lazy_axes)
    clone = object.__new__(LazyArray)
    for field in LazyArray._FIELDS:
        setattr(clone, field, getattr(self, field))
    clone._view = clone._views = None  # (a copy of x[None] is its own expression, no view of x: lazy_axes)
    value = self._value
    if value is not None:
        clone._value = value = value.__copy__()
        if self._op is None:  # lazy(a): the copy is a leaf over its own array
            clone._leaves = (value,)
    elif self._op == "real" or self._op == "imag":
        # Forced, x.real is a view of x's value (lazy._part_view): the copy's must be of a copy.
        clone._args = tuple(_copy(x) if type(x) is LazyArray else x.__copy__() for x in self._args)
        clone._program = clone._leaves = None
    return clone


LazyArray.__reduce__ = _reduce
LazyArray.__copy__ = _copy
