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
from ..ir.ops import OPS
from ..ir.reductions import BY_NAME
from ..ir.typing import PY_SCALARS
from .lazy import LazyArray, _capture_cast, capture_operation, capture_reduction, lazy


def rebuild(program: tuple, leaves: tuple) -> LazyArray:
    """The LazyArray of ``program`` over ``leaves`` (what :meth:`LazyArray.__reduce__` gives)."""
    operands = [leaf if type(leaf) in PY_SCALARS else lazy(leaf) for leaf in leaves]
    stack: list[Any] = []
    results: list[LazyArray] = []
    taken = 0
    for token in program:
        kind = type(token)
        if kind is int:
            stack.append(operands[token] if token >= 0 else results[~token])
            continue
        if kind is str:
            op = OPS[token]
            args = tuple(stack[len(stack) - op.arity:])
            del stack[len(stack) - op.arity:]
            result = capture_operation(op, args)
        elif kind is tuple and token[0] == "reduce":
            _, name, axis, keepdims, dtype = token
            result = capture_reduction(BY_NAME[name], stack.pop(), axis, keepdims, dtype)
        elif kind is tuple:
            result = _capture_cast(stack.pop(), token[1], stays_array=len(token) == 3)
        else:  # a new leaf
            stack.append(operands[taken])
            taken += 1
            continue
        if result is None:  # only if this process compiles less than the one that pickled
            raise TypeError(f"fusenum cannot capture {token!r} in this process")
        stack.append(result)
        results.append(result)
    return stack.pop()


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
