"""Pickling and copying a LazyArray: its expression and operands, not its value.

An unforced LazyArray pickles as its forcing program (postfix tokens: dtypes,
op names, reduction and cast tokens; see :mod:`.forcing`) and its leaves
(ndarrays, Python scalars, dask arrays); unpickling replays the program
through the same capture functions, so the copy is the same expression,
unforced, with NumPy's dtype and shape checked again. A LazyArray over dask
arrays thus ships as a few tokens plus the dask graphs of its inputs, never as
computed data. A forced LazyArray pickles as ``lazy(value)``.

``copy.copy`` gives the same expression over the same leaves, ``copy.deepcopy``
over copies of them.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import forcing
from ..errors import UnsupportedOperationError
from ..ir.reductions import BY_NAME
from ..ir.typing import PY_SCALARS
from .lazy import LazyArray, _capture_cast, capture_operation, capture_reduction, lazy


def rebuild(program: tuple, leaves: tuple) -> LazyArray:
    """The LazyArray of ``program`` over ``leaves`` (what :meth:`LazyArray.__reduce__` gives)."""
    operands = [leaf if type(leaf) in PY_SCALARS else lazy(leaf) for leaf in leaves]
    return forcing.Program(program).replay(
        operands,
        lambda op, *args: _captured(capture_operation(op, args), op.name),
        lambda token, x: _captured(capture_reduction(BY_NAME[token[1]], x, *token[2:]), token),
        lambda token, x: _capture_cast(x, token[1], stays_array=len(token) == 3))


def _captured(result: LazyArray | None, token: Any) -> LazyArray:
    if result is None:  # only if this process compiles less than the one that pickled
        raise UnsupportedOperationError(f"fusenum cannot capture {token!r} in this process")
    return result


def _reduce(self: LazyArray):
    if self._value is not None:
        return (lazy, (self._value,))
    program, values = forcing.program_of(self)
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


LazyArray.__reduce__ = _reduce
