"""Slices, indices, new length-1 axes and transposes of a LazyArray not computed yet, captured:
``x[1:]``, ``x[:, ::-2]``, ``x[0]``, ``x[None]``, ``x[:, np.newaxis]``, ``x[None, ..., 2:5]``,
``np.expand_dims``, ``x.T``, ``x.transpose(...)``, ``np.transpose``, ``np.permute_dims``. This is how
xarray broadcasts a DataArray to more dimensions, lines dimensions up, selects and takes differences
(``d - d.mean("t")``, ``xr.where(d > m, d, m)``, ``d.diff("t")``, ``d.isel(t=0)``).

NumPy's answer is a view of ``x`` with its axes changed. For an unforced expression it is captured
as the same expression over operands with the axes changed (each ndarray operand sliced, indexed,
reshaped or transposed, a view, where an operand broadcast along an axis keeps all of it; each reduction's
axes moved along, its reduced axes never sliced; a dask operand changed by dask), so that it stays
one fused expression with whatever uses it; bad keys and axes are NumPy's errors, raised at once.
It is still NumPy's view where that shows:

* forced on its own, it computes ``x`` and is the view of ``x``'s value, so writes into it reach
  ``x`` (as with ``x.real``: :mod:`.lazy_views`);
* once ``x`` is computed, it is that view wherever it is used (writes into ``x``'s value since are
  read, as they are for any computed operand).

Like any unforced operand, an expression built from it computes ``x``'s expression as part of
its own; a copy (``copy.copy``, pickling) is the expression, no view of ``x``. Any other key
(arrays, lists, booleans) forces ``x`` and indexes its value, as do all of these on a 0-d ``x`` and
on an expression too big to hold its own program (:data:`.lazy.MAX_INLINE_STEPS`), an integer for
every axis (NumPy's scalar), a key that would leave one of the expression's operations 0-d (NumPy
computes those on scalars), a slice or index of the kept axes of a reduction whose combining order
is not exact (a float sum: its grouping follows the kept extents) and one that selects nothing of,
or takes away, a length-1 axis a reduction keeps (the reduced axes are never sliced).
"""
from __future__ import annotations

import operator
from typing import Any, Callable

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from ..ir.ops import OPS
from ..ir.reductions import ROWS, normalize_axes
from ..ir.typing import PY_SCALARS
from .capture import stand_in
from .lazy import (LazyArray, _capture_cast, _dask_leaf, _node, capture_operation, capture_reduction,
                   in_byte_order, lazy, numpy_call)
from .lazy_numpy import FUNCTIONS
from .lazy_views import mark_view


def _entries(key: Any) -> tuple:
    """The entries of an index, a tuple or one object."""
    return key if type(key) is tuple else (key,)


def _is_integer(k: Any) -> bool:
    """Whether index ``k`` is an integer (not a bool, which NumPy takes for a mask)."""
    return type(k) is int or isinstance(k, np.integer)


def _basic_key(key: Any) -> bool:
    """Whether ``key`` is made of ``None``, slices, integers and ``...`` (by identity: ``==`` of an
    array in the key would be elementwise)."""
    return all(k is None or k is Ellipsis or type(k) is slice or _is_integer(k) for k in _entries(key))


def _selection(key: tuple, shape: tuple[int, ...]) -> tuple:
    """What ``key`` (a valid key of :func:`_basic_key`'s kind, its integers ints) selects of each axis
    of ``shape``: an index (the axis goes), ``(start, stop, step)`` as ``slice.indices`` gives it, or
    None for the whole axis."""
    picks = [k for k in key if k is not None]
    if Ellipsis in picks:
        at = picks.index(Ellipsis)
        picks[at:at + 1] = [slice(None)] * (len(shape) - len(picks) + 1)
    picks += [slice(None)] * (len(shape) - len(picks))
    selection: list = []
    for length, chosen in zip(shape, picks):
        if type(chosen) is int:
            selection.append(chosen + length if chosen < 0 else chosen)
            continue
        start, stop, step = chosen.indices(length)
        whole = step == 1 and start == 0 and stop == length or length == 0
        selection.append(None if whole else (start, stop, step))
    return tuple(selection)


def _holds_no_array(key: Any) -> bool:
    """Whether ``key`` has no list and nothing of a dimension or more (an index array, a lazy array)
    among its entries: checked on a stand-in, it costs nothing."""
    return all(not isinstance(k, (list, LazyArray)) and np.ndim(k) == 0 for k in _entries(key))


def _with_int_bounds(key: Any) -> Any:
    """``key`` with its integers and its slices' bounds and steps as ints (``TypeError`` for one
    that is no index)."""
    def bound(value: Any) -> int | None:
        return None if value is None else operator.index(value)
    entries = tuple(slice(bound(k.start), bound(k.stop), bound(k.step)) if type(k) is slice
                    else operator.index(k) if _is_integer(k) else k for k in _entries(key))
    return entries if type(key) is tuple else entries[0]


def _as_index(chosen: int | tuple[int, int, int] | None) -> int | slice:
    """The index that selects ``chosen`` of :func:`_selection`: the int, or the slice that selects
    what ``slice.indices`` gave (its stop of -1 stepping down means past the first element, which a
    slice says with None)."""
    if chosen is None:
        return slice(None)
    if type(chosen) is int:
        return chosen
    start, stop, step = chosen
    if not len(range(start, stop, step)):
        return slice(0, 0)  # (an empty pick stepping down can start at -1, which a slice reads as the last)
    return slice(start, None if stop < 0 else stop, step)


def _in_range(key: Any, shape: tuple[int, ...]) -> tuple:
    """Valid basic ``key`` (its integers ints) with each slice replaced by one that selects the same
    elements of its axis of ``shape`` with bounds inside it (:func:`_as_index`): dask sizes a slice
    stepping down from below ``-len`` wrongly (``da.ones(5)[-8:1:-1]`` has 3 elements, NumPy's 0)."""
    entries = _entries(key)
    picked = sum(1 for k in entries if k is not None and k is not Ellipsis)
    normalized, axis = [], 0
    for k in entries:
        if k is Ellipsis:
            axis += len(shape) - picked
        elif type(k) is slice:
            k = _as_index(k.indices(shape[axis]))
        normalized.append(k)
        axis += k is not None and k is not Ellipsis
    return tuple(normalized)


def new_axis_positions(key: Any, ndim: int) -> list[int]:
    """The positions in ``x[key]``'s shape of the axes ``key`` adds to an array of ``ndim``
    dimensions (a valid key of :func:`_basic_key`'s kind without integers, its slices whole)."""
    key = _entries(key)
    whole = sum(1 for k in key if type(k) is slice)
    positions, at = [], 0
    for k in key:
        if k is None:
            positions.append(at)
            at += 1
        else:
            at += ndim - whole if k is Ellipsis else 1
    return positions


def indexed(x: LazyArray, key: Any) -> LazyArray | None:
    """``x[key]`` captured if ``key`` only slices, indexes and adds axes to an unforced ``x``, and
    leaves an array (see the module's docstring), else None."""
    if not _capturable(x) or not _basic_key(key):
        return None
    try:  # (each bound's __index__ called once, as NumPy does)
        key = _with_int_bounds(key)
    except TypeError:
        pass  # (NumPy's error, below)
    stand_in(x._dtype, x._shape)[key]  # (NumPy's error for too many indices or axes, nothing computed)
    entries = _entries(key)
    selection = _selection(entries, x._shape)
    if all(type(chosen) is int for chosen in selection) and None not in entries:
        return None  # (a NumPy scalar: the forced value's element)
    captured = x
    try:
        if any(chosen is not None for chosen in selection):
            captured = _Selection().of(x, selection)
        whole = tuple(slice(None) if type(k) is slice else k for k in entries if type(k) is not int)
        for position in new_axis_positions(whole, len(captured._shape)):  # (in increasing order: each
            captured = _Insertion().of(captured, position)  # in the shape with the ones before)
    except _NotCaptured:
        return None
    return _as_view(captured, x, operator.itemgetter(key))


def transposed(x: LazyArray, order: tuple[int, ...]) -> LazyArray | None:
    """``x.transpose(order)`` (``order`` a permutation of ``x``'s axes, checked) captured for an
    unforced ``x`` (see the module's docstring), else None."""
    if not _capturable(x):
        return None
    try:
        captured = _Permutation().of(x, order)
    except _NotCaptured:
        return None
    return _as_view(captured, x, operator.methodcaller("transpose", order))


def _as_view(captured: LazyArray, x: LazyArray, view: Callable[[np.ndarray], np.ndarray]) -> LazyArray:
    """``captured`` marked as the view ``view`` of ``x``'s value (:func:`.lazy_views.mark_view`)."""
    if captured is x:  # (no axis changed: a new node for the same expression)
        captured = _same_expression(x)
    mark_view(captured, x, view)
    return captured


def _capturable(x: LazyArray) -> bool:
    return x._value is None and bool(x._shape) and x._program is not None


class _NotCaptured(Exception):
    """A part of the expression this module does not rebuild: the caller forces ``x`` instead."""


class _Rebuild:
    """The nodes of an expression rebuilt with its axes changed by ``change`` (a subclass's: a new
    axis, a permutation), each once for each change (a shared subexpression stays shared, an
    ndarray used twice one object)."""

    def __init__(self):
        # (id(x), change) -> (x, x rebuilt): x is kept, so that no other object takes its id while
        # the rebuild lasts (a lower-rank operand's padded array is a temporary)
        self.done: dict[tuple[int, Any], tuple[Any, Any]] = {}

    def of(self, x: Any, change: Any) -> Any:
        """``x`` (an ndarray or an unforced LazyArray) with its axes changed by ``change``."""
        done = self.done.get((id(x), change))
        if done is None:
            done = self.done[id(x), change] = (x, self._rebuilt(x, change))
        return done[1]

    def _rebuilt(self, x: Any, change: Any) -> Any:
        shape = self.shape(x.shape, change)
        if type(x) is np.ndarray:
            return self.array(x, change)
        op = x._op
        if not shape:  # (an integer for every axis: NumPy computes 0-d operations on scalars)
            raise _NotCaptured
        if op is None:
            if x._value is not None:  # (an operand rebound as its value since: ``y.shape = ...``)
                raise _NotCaptured
            return _dask_leaf(self.array(x._args[0], change))  # dask's own indexing or transpose, lazy
        if type(op) is str:
            if not x._shape:
                raise _NotCaptured  # (a 0-d operation under a reduction: its operands would change kind)
            ndim = len(x._shape)
            operands = tuple(a if type(a) in PY_SCALARS or not a.shape else self.operand(a, ndim, change)
                             for a in x._args)
            result = capture_operation(OPS[op], operands)
        elif op[0] == "astype":
            result = _capture_cast(lazy(self.of(x._args[0], change)), op[1])
        else:  # ("reduce", name, axis, keepdims, dtype)
            operand = x._args[0]
            axes = normalize_axes(op[2], len(operand.shape), op[1], operand.dtype)
            # (a float sum's grouping follows the kept extents: slicing them would change its bits)
            exact = ROWS[op[1]].combine not in ("add", "multiply") or x._dtype.kind not in "fc"
            operand_change, axes = self.reduced(len(operand.shape), axes, op[3], change, exact)
            operand = lazy(self.of(operand, operand_change))
            result = capture_reduction(ROWS[op[1]], operand, axes, op[3], op[4])
        if result is None or result._shape != shape or result._dtype != x._dtype.newbyteorder("="):
            raise _NotCaptured
        return result if x._dtype.isnative else in_byte_order(result, x._dtype)


def _as_captured(a: Any) -> Any:
    """Operand ``a`` of a rebuilt operation, left unchanged: as the expression built from it
    captured it (a view taken of an expression computed since is still that expression there, not
    the view of its value that a new capture of it is: :func:`.lazy._settle`)."""
    if type(a) is not LazyArray or a._op is None:
        if type(a) is LazyArray and a._value is not None:  # (rebound as its value since)
            raise _NotCaptured
        return a
    return _same_expression(a)


def _same_expression(x: LazyArray) -> LazyArray:
    """A new node of ``x``'s expression, without what ``x`` was marked as (its value, a view)."""
    return _node(x._op, x._args, x._dtype, x._shape, x._program, x._leaves)


class _Insertion(_Rebuild):
    """A new length-1 axis at position ``change`` of the shape."""

    @staticmethod
    def shape(shape: tuple[int, ...], position: int) -> tuple[int, ...]:
        return shape[:position] + (1,) + shape[position:]

    @staticmethod
    def array(a: Any, position: int) -> Any:
        return a[(slice(None),) * position + (None, Ellipsis)]  # (a view: a length-1 axis needs no copy)

    def operand(self, a: Any, ndim: int, position: int) -> Any:
        """Operand ``a`` (not 0-d) of an elementwise operation of ``ndim`` dimensions: as it is
        where broadcasting puts the new axis in front of its own, else with it."""
        at = position - (ndim - len(a.shape))
        return _as_captured(a) if at < 0 else self.of(a, at)

    @staticmethod
    def reduced(ndim: int, axes: tuple[int, ...], keepdims: bool, position: int,
                exact: bool) -> tuple[int, tuple]:
        """The new axis's position in a reduction's operand of ``ndim`` dimensions, and its axes then."""
        kept = [axis for axis in range(ndim) if axis not in axes]
        at = position if keepdims else (kept[position] if position < len(kept) else ndim)
        return at, tuple(axis + (axis >= at) for axis in axes)


class _Selection(_Rebuild):
    """Part of each axis, as ``change`` says (:func:`_selection`: an index, ``(start, stop, step)``
    or None for the whole axis): what ``x[1:]``, ``x[:, ::2]``, ``x[:, 0]`` select of ``x``."""

    @staticmethod
    def shape(shape: tuple[int, ...], selection: tuple) -> tuple[int, ...]:
        return tuple(length if chosen is None else len(range(*chosen))
                     for length, chosen in zip(shape, selection) if type(chosen) is not int)

    @staticmethod
    def array(a: Any, selection: tuple) -> Any:
        return a[tuple(map(_as_index, selection))]  # (a view)

    def operand(self, a: Any, ndim: int, selection: tuple) -> Any:
        """Operand ``a`` (not 0-d) of an elementwise operation of ``ndim`` dimensions: the same part
        of each of its axes, but all of a length-1 axis, which broadcasting reads at every index
        (none of it where nothing is selected, its one element where an index is)."""
        own = tuple(_broadcast_pick(chosen) if length == 1 else chosen
                    for length, chosen in zip(a.shape, selection[ndim - len(a.shape):]))
        return _as_captured(a) if all(chosen is None for chosen in own) else self.of(a, own)

    @staticmethod
    def reduced(ndim: int, axes: tuple[int, ...], keepdims: bool, selection: tuple,
                exact: bool) -> tuple[tuple, tuple]:
        """A reduction's operand of ``ndim`` dimensions: its kept axes selected as the result's, all
        of its reduced axes (renumbered past the kept axes an index takes). Not captured: a reduced
        axis kept with length 1 and selected otherwise than whole, and any kept axis selected of a
        reduction whose order of combining is not exact (a float sum's grouping follows the extents
        of the kept axes: the part would not have the whole's bits)."""
        if not exact and any(chosen is not None for chosen in selection):
            raise _NotCaptured
        if keepdims:
            if any(type(selection[axis]) is int or selection[axis] is not None
                   and len(range(*selection[axis])) != 1 for axis in axes):
                raise _NotCaptured
            change = tuple(None if axis in axes else selection[axis] for axis in range(ndim))
        else:
            kept = iter(selection)
            change = tuple(None if axis in axes else next(kept) for axis in range(ndim))
        gone = [axis for axis, chosen in enumerate(change) if type(chosen) is int]
        return change, tuple(axis - sum(1 for g in gone if g < axis) for axis in axes)


def _broadcast_pick(chosen: int | tuple[int, int, int] | None) -> int | tuple[int, int, int] | None:
    """What of a length-1 axis that broadcasting stretches gives ``chosen`` of the stretched axis."""
    if chosen is None:
        return None
    if type(chosen) is int:
        return 0
    return None if len(range(*chosen)) else (0, 0, 1)


class _Permutation(_Rebuild):
    """The axes permuted by ``change`` (``order[k]`` is the axis that becomes axis ``k``)."""

    def __init__(self):
        super().__init__()
        self.padding = _Insertion()  # (the leading axes of lower-rank operands, each made once)

    @staticmethod
    def shape(shape: tuple[int, ...], order: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(shape[k] for k in order)

    @staticmethod
    def array(a: Any, order: tuple[int, ...]) -> Any:
        return a.transpose(order)

    def operand(self, a: Any, ndim: int, order: tuple[int, ...]) -> Any:
        """Operand ``a`` (not 0-d) of an elementwise operation of ``ndim`` dimensions, given the
        leading axes broadcasting would (a permutation may move them among its own)."""
        for _ in range(ndim - len(a.shape)):
            a = self.padding.of(a, 0)
        return self.of(a, order)

    @staticmethod
    def reduced(ndim: int, axes: tuple[int, ...], keepdims: bool, order: tuple[int, ...], exact: bool):
        """The permutation of a reduction's operand of ``ndim`` dimensions, and its axes then: the
        kept axes permuted among their own places, the reduced ones left where they are."""
        if keepdims:
            return order, tuple(sorted(order.index(axis) for axis in axes))
        kept = [axis for axis in range(ndim) if axis not in axes]
        permutation = list(range(ndim))
        for place, axis in enumerate(kept):
            permutation[axis] = kept[order[place]]
        return tuple(permutation), axes


def _permutation(x: LazyArray, permute: Callable[[np.ndarray], np.ndarray]) -> tuple[int, ...]:
    """The axis order ``permute`` (NumPy's ``transpose`` with the caller's arguments) gives an array
    of ``x``'s shape, NumPy's error if it refuses them. It is read from a probe's strides (axis ``k``
    has stride ``k + 1``), whose memory is never read."""
    strides = tuple(range(1, len(x._shape) + 1))
    probe = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), x._shape, strides)
    return tuple(stride - 1 for stride in permute(probe).strides)


def _transpose_function(a: Any, axes: Any = None) -> Any:
    """``np.transpose`` (and ``np.permute_dims``) of a LazyArray: captured, see the module's docstring."""
    if type(a) is LazyArray and _capturable(a):
        captured = transposed(a, _permutation(a, lambda probe: np.transpose(probe, axes)))
        if captured is not None:
            return captured
    return numpy_call(np.transpose, (a, axes), {})


def _expand_dims_function(a: Any, axis: Any) -> Any:
    """``np.expand_dims`` of a LazyArray: ``a[key]`` with ``None`` at the new axes, captured."""
    if type(a) is LazyArray:  # (NumPy's error for a bad axis, where dask's is another: StopIteration)
        ndim = np.expand_dims(stand_in(a._dtype, a._shape), axis).ndim
    if type(a) is LazyArray and _capturable(a):
        positions = normalize_axis_tuple(axis, ndim)
        captured = indexed(a, tuple(None if k in positions else slice(None) for k in range(ndim)))
        if captured is not None:
            return captured
    return numpy_call(np.expand_dims, (a, axis), {})


def _install() -> None:
    """Make ``x[key]``, ``x.T``, ``x.transpose()``, ``np.transpose``, ``np.permute_dims`` and
    ``np.expand_dims`` capture what only adds or permutes axes."""
    force_and_index = LazyArray.__getitem__
    forced_transpose, forced_transpose_method = LazyArray.T.fget, LazyArray.transpose.fget

    def __getitem__(self: LazyArray, key: Any) -> Any:
        if self._value is None:
            captured = indexed(self, key)
            if captured is not None:
                return captured
            if _holds_no_array(key):  # (NumPy's error for a bad key, ``x[1.5]``, before computing)
                stand_in(self._dtype, self._shape)[key]
                if _basic_key(key):  # (a slice of a mean's kept axis, say: computed, maybe by dask)
                    key = _in_range(_with_int_bounds(key), self._shape)
        return force_and_index(self, key)
    __getitem__.__doc__ = "``x[key]``: see :mod:`fusenum.frontend.lazy_axes` for the keys that stay lazy."
    LazyArray.__getitem__ = __getitem__

    def T(self: LazyArray) -> Any:  # noqa: N802 (ndarray's name)
        captured = transposed(self, tuple(reversed(range(self.ndim)))) if _capturable(self) else None
        return forced_transpose(self) if captured is None else captured
    LazyArray.T = property(T, doc="``ndarray.T``: captured for an unforced expression (:mod:`.lazy_axes`).")

    def transpose(self: LazyArray, *axes: Any, **keywords: Any) -> Any:
        """``ndarray.transpose``: captured for an unforced expression (:mod:`.lazy_axes`)."""
        if _capturable(self):  # (keywords: NumPy's TypeError, from the probe)
            captured = transposed(self, _permutation(self, lambda probe: probe.transpose(*axes, **keywords)))
            if captured is not None:
                return captured
        return forced_transpose_method(self)(*axes, **keywords)
    LazyArray.transpose = transpose
    FUNCTIONS[np.transpose] = _transpose_function
    if hasattr(np, "permute_dims"):  # (NumPy >= 2.1)
        FUNCTIONS[np.permute_dims] = _transpose_function
    FUNCTIONS[np.expand_dims] = _expand_dims_function


_install()
