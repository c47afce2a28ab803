"""Indexing that only adds length-1 axes to a LazyArray not computed yet (``x[None]``,
``x[:, np.newaxis]``, ``x[None, ..., None]``, ``x[:, :]``), captured: how xarray broadcasts a
DataArray to more dimensions (``d - d.mean("t")``, ``xr.where(d > m, d, m)``).

NumPy's answer is a view of ``x`` with the new axes. For an unforced expression it is captured as
the same expression over operands given the axes (each ndarray operand reshaped, a view; each
reduction's axes moved along; a dask operand indexed by dask), so that it stays one fused
expression with whatever uses it. It is still NumPy's view where that shows:

* forced on its own, it computes ``x`` and is the view of ``x``'s value, so writes into it reach
  ``x`` (as with ``x.real``: :mod:`.lazy_views`);
* once ``x`` is computed, it is that view wherever it is used (writes into ``x``'s value since are
  read, as they are for any computed operand).

Like any unforced operand, an expression built from it computes ``x``'s expression as part of
its own; a copy (``copy.copy``, pickling) is the expression, no view of ``x``. Any other key
(integers, slices that select, arrays) forces ``x`` and indexes its value, as do keys on a 0-d
``x`` and on an expression too big to hold its own program (:data:`.lazy.MAX_INLINE_STEPS`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ir.ops import OPS
from ..ir.reductions import ROWS, normalize_axes
from ..ir.typing import PY_SCALARS
from .lazy import (LazyArray, _capture_cast, _dask_leaf, _node, capture_operation, capture_reduction,
                   in_byte_order, lazy)


def new_axis_positions(key: Any, ndim: int) -> list[int] | None:
    """The positions in ``x[key]``'s shape of the axes ``key`` adds, if adding axes is all it does
    to an array of ``ndim`` dimensions (``None``, whole slices ``:``, one ``...``); else None."""
    key = key if type(key) is tuple else (key,)
    # (by identity: ``==`` of an array in the key is elementwise)
    whole = sum(1 for k in key if type(k) is slice and k == slice(None))
    ellipses = sum(1 for k in key if k is Ellipsis)
    if whole + ellipses + sum(1 for k in key if k is None) != len(key) or ellipses > 1 or whole > ndim:
        return None
    positions, at = [], 0
    for k in key:
        if k is None:
            positions.append(at)
            at += 1
        else:
            at += ndim - whole if k is Ellipsis else 1
    return positions


def with_new_axes(x: LazyArray, key: Any) -> LazyArray | None:
    """``x[key]`` captured if ``key`` only adds axes to an unforced ``x`` (see the module's
    docstring), else None."""
    if x._value is not None or not x._shape or x._program is None:
        return None
    positions = new_axis_positions(key, len(x._shape))
    if positions is None:
        return None
    captured = x
    try:
        for position in positions:  # (in increasing order: each in the shape with the ones before)
            captured = _Insertion(position).of(captured)
    except _NotCaptured:
        return None
    if captured is x:  # whole slices only: a new node for the same expression (a view of x's value)
        captured = _node(x._op, x._args, x._dtype, x._shape, x._program, x._leaves)
    captured._view = (x, key)
    return captured


class _NotCaptured(Exception):
    """A part of the expression this module does not rebuild: the caller forces ``x`` instead."""


class _Insertion:
    """The nodes of an expression rebuilt with a new length-1 axis at ``position`` of the root's
    shape, each once (a shared subexpression stays shared, an ndarray used twice one object)."""

    def __init__(self, position: int):
        self.position = position
        self.done: dict[tuple[int, int], Any] = {}

    def of(self, x: Any, position: int | None = None) -> Any:
        """``x`` (an ndarray or an unforced LazyArray) with a new axis at ``position`` of its shape."""
        position = self.position if position is None else position
        done = self.done.get((id(x), position))
        if done is None:
            done = self.done[id(x), position] = self._inserted(x, position)
        return done

    def _operand(self, x: Any, ndim: int, position: int) -> Any:
        """Operand ``x`` of an elementwise operation of ``ndim`` dimensions given the axis at
        ``position``: where broadcasting puts the new axis in front of ``x``'s (0-d operands,
        Python scalars), ``x`` as it is (a 0-d exponent keeps NumPy's shortcuts); else ``x`` with it."""
        if type(x) in PY_SCALARS:
            return x
        at = position - (ndim - len(x.shape))
        return x if at < 0 or not x.shape else self.of(x, at)

    def _inserted(self, x: Any, position: int) -> Any:
        shape = x.shape[:position] + (1,) + x.shape[position:]
        if type(x) is np.ndarray:
            return x.reshape(shape)  # (a view: a length-1 axis never needs a copy)
        op = x._op
        if op is None:  # a dask array: dask's own indexing, lazy
            return _dask_leaf(x._args[0][(slice(None),) * position + (None, Ellipsis)])
        if type(op) is str:
            if not x._shape:
                raise _NotCaptured  # (a 0-d operation under a reduction: its operands would change kind)
            operands = tuple(self._operand(a, len(x._shape), position) for a in x._args)
            result = capture_operation(OPS[op], operands)
        elif op[0] == "astype":
            result = _capture_cast(lazy(self.of(x._args[0], position)), op[1])
        else:  # ("reduce", name, axis, keepdims, dtype)
            operand = x._args[0]
            ndim = len(operand.shape)
            axes = normalize_axes(op[2], ndim, op[1], operand.dtype)
            kept = [axis for axis in range(ndim) if axis not in axes]
            at = position if op[3] else (kept[position] if position < len(kept) else ndim)
            result = capture_reduction(ROWS[op[1]], lazy(self.of(operand, at)),
                                       tuple(axis + (axis >= at) for axis in axes), op[3], op[4])
        if result is None or result._shape != shape or result._dtype != x._dtype.newbyteorder("="):
            raise _NotCaptured
        return result if x._dtype.isnative else in_byte_order(result, x._dtype)


def _install() -> None:
    """Make ``LazyArray.__getitem__`` capture keys that only add leading axes."""
    force_and_index = LazyArray.__getitem__

    def __getitem__(self: LazyArray, key: Any) -> Any:
        if self._value is None:
            captured = with_new_axes(self, key)
            if captured is not None:
                return captured
        return force_and_index(self, key)
    __getitem__.__doc__ = "``x[key]``: see :mod:`fusenum.frontend.lazy_axes` for the keys that stay lazy."
    LazyArray.__getitem__ = __getitem__


_install()
