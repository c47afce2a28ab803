"""``fusenum.evaluate``: names -> values, (text, dtypes) -> plan, plan -> result.

The path of a repeated call is short on purpose: one dict lookup for the parsed
text, one lookup per name, one dict lookup for the plan keyed on the text and
the operands' dtypes, and then the runtime.

Python scalars bound to names are *weak*, as in NumPy (``a + x`` with an int8
``a`` and a Python int ``x`` is int8). They are kernel operands, so a loop
that changes ``x`` reuses one kernel. The rare expression that combines such a
variable only with other constants (``x * 2 + a``) is computed the way Python
computes ``x * 2``, which needs the value: such plans are specialised per value.
"""
from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ArgumentTypeError, ExpressionError, InvalidArgumentError, warn
from ..ir.operands import PY_SCALARS, scalar_key
from ..runtime import PLANS, Plan, cached_plan, caches, execute
from ..runtime.layout import CASTING_RULES, ORDERS, as_casting, as_order, check_options, writes_through_view
from .dask_types import has_dask, is_dask_array
from .stored_texts import StoredText, stored_text

if TYPE_CHECKING:
    from .lazy import LazyArray

#: Texts kept, parsed or recalled from the disk cache (least recently kept are dropped first).
MAX_ENTRIES = 4096

_MISSING = object()
_DASK = object()  # marks a dask array's descriptor in a key
_SPLIT_EVERY_ALONE = "split_every applies only when an operand is a dask array"


_parsed: "OrderedDict[str, StoredText]" = OrderedDict()


def evaluate(ex: str | LazyArray, local_dict: dict | None = None, global_dict: dict | None = None,
             out: np.ndarray | None = None, order: str = "K", casting: str = "same_kind", *,
             split_every: int | dict | None = None) -> np.ndarray:
    """Evaluate array expression ``ex`` in one compiled pass, with NumPy's result.

    Names are looked up in ``local_dict`` then ``global_dict``; each defaults to
    the caller's locals or globals. Values go through ``np.asarray`` except
    Python scalars, which stay weakly typed as NumPy treats them. The result
    has the dtype, shape and values NumPy gives for the same expression; it is
    written into ``out`` if given (its shape must be the result's; ``casting``
    as in NumPy; an ndarray subclass that NumPy's ufuncs write as a plain array, such as
    ``np.memmap``, is written so and returned, a masked array refused), else into a new array laid out as ``order`` says
    (``'K'`` follows the inputs, ``'A'``, ``'C'``, ``'F'``). A scalar result is
    a 0-d array. ``order`` and ``casting`` are taken as NumPy's ufuncs take them:
    str or bytes, ``order`` also in lower case or None (``'K'``).

    Only the dtypes fusenum compiles are computed: a reduction asked for
    ``dtype=object`` (NumPy then sums or multiplies Python objects) raises
    :class:`~fusenum.UnsupportedDTypeError`, as an object operand does (a
    lazy array's reduction computes it with NumPy instead).

    ``ex`` may also be a :class:`~fusenum.LazyArray` (which holds its own
    operands, so the dicts do not apply): see :func:`fusenum.frontend.forcing.evaluate_lazy`.

    If any operand is a dask array the result is a dask array and nothing is
    computed (:mod:`fusenum.frontend.dask_graph`): one blockwise layer running
    the fused kernel per chunk, and a tree reduction per reduction, which
    merges at most ``split_every`` partial results per step (an int, or a dict
    axis -> int, as in dask; dask's default otherwise). ``out=`` is then an
    error, ``order`` may only be ``'K'``, ``'A'`` or ``'C'``.
    """
    if type(order) is not str or order not in ORDERS:
        order = as_order(order)
    if type(casting) is not str or casting not in CASTING_RULES:
        casting = as_casting(casting)
    if out is not None and type(out) is not np.ndarray and writes_through_view(out):
        plain = out.view(np.ndarray)
        if isinstance(ex, str):  # (names bound here, from the caller's frame, not this call's)
            frame = sys._getframe(1)
            local_dict = frame.f_locals if local_dict is None else local_dict
            global_dict = frame.f_globals if global_dict is None else global_dict
        result = evaluate(ex, local_dict, global_dict, plain, order, casting, split_every=split_every)
        return out if result is plain else result
    if type(ex) is not str:
        if _is_lazy_array(ex):
            if local_dict is not None or global_dict is not None:
                raise ArgumentTypeError("local_dict and global_dict do not apply to a LazyArray, "
                                        "which holds its operands")
            if order != "K" or casting != "same_kind":
                check_options(order, casting)
            from . import dask_graph, forcing
            if ex._value is None and forcing.on_dask(ex):
                dask_graph.check_options(out, order)
                return forcing.to_dask(ex, split_every)
            if split_every is not None:
                raise InvalidArgumentError(_SPLIT_EVERY_ALONE)
            from .forcing import evaluate_lazy
            return evaluate_lazy(ex, out, order, casting)
        if not isinstance(ex, str):
            raise not_an_expression(ex)
        ex = str.__str__(ex)  # (a str subclass's characters, not what its own methods make of them)
    parsed, values, key = bind(ex, local_dict, global_dict, sys._getframe(1))
    plan = PLANS.get(key)
    if type(plan) is not Plan or split_every is not None:
        if split_every is not None or any(type(d) is tuple and d[0] is _DASK for d in key):
            return _evaluate_dask(parsed, values, key, out, order, casting, split_every)
        plan = cached_plan(key, parsed, values)
    for message, category in plan.warnings:  # (NumPy's at each call; typing gave none)
        warn(message, category)
    return execute(plan, values, parsed.names, out, order, casting)


def not_an_expression(ex: object) -> ArgumentTypeError:
    """The error for an ``ex`` that is neither a text nor a LazyArray (``evaluate``'s, ``explain``'s)."""
    return ArgumentTypeError(f"the expression must be a str or a fusenum.LazyArray, not {type(ex).__name__}")


def _evaluate_dask(parsed: StoredText, values: list, key: tuple, out, order: str, casting: str, split_every):
    """``evaluate`` with dask arrays among the values: a dask array (see :mod:`.dask_graph`)."""
    if not has_dask(values):
        raise InvalidArgumentError(_SPLIT_EVERY_ALONE)
    check_options(order, casting)
    from . import dask_graph
    dask_graph.check_options(out, order)
    key = tuple(d[1] if type(d) is tuple and d[0] is _DASK else d for d in key)
    return dask_graph.build_typed(key, parsed, values, split_every, parsed.names, casting, warns=True)


def bind(ex: str, local_dict: dict | None, global_dict: dict | None, frame) -> tuple[StoredText, list, tuple]:
    """The parsed text, the values its names are bound to (missing dicts are ``frame``'s locals or
    globals) and the plan-cache key; :class:`~fusenum.ExpressionError` for an unknown name."""
    parsed = _parsed.get(ex)
    if parsed is None:
        parsed = caches.remember(_parsed, ex, stored_text(ex), MAX_ENTRIES)
    if type(local_dict) is not dict or type(global_dict) is not dict:
        _check_mapping(local_dict, "local_dict")
        _check_mapping(global_dict, "global_dict")
    if local_dict is None:
        local_dict = frame.f_locals
    if global_dict is None:
        global_dict = frame.f_globals
    values = []
    key = [ex]
    unforced = []  # positions of LazyArrays over ndarrays, not computed yet
    for name in parsed.names:
        value = _lookup(local_dict, name)
        if value is _MISSING:
            value = _lookup(global_dict, name)
            if value is _MISSING:
                column = parsed.columns[parsed.names.index(name)]
                raise ExpressionError(f"unknown name {name!r}", parsed.text, column)
        kind = type(value)
        if kind is np.ndarray:
            key.append(value.dtype)
        elif kind in PY_SCALARS:
            key.append(scalar_key(value))
        elif is_dask_array(value) or (_is_lazy_array(value) and value._value is None and _on_dask(value)):
            if not is_dask_array(value):
                from .forcing import to_dask
                value = to_dask(value)  # a layer of its own, but no computing
            key.append((_DASK, value.dtype))  # never a cached plan's key: evaluate goes to the dask path
        else:
            if isinstance(value, np.ndarray) and kind is not np.memmap:
                # (np.matrix's ``*`` is a matrix product, a masked array's results are masked:
                # computing their data as plain arrays would not be NumPy's answer)
                raise ArgumentTypeError(f"{name!r} is a {kind.__module__}.{kind.__name__}, whose operations have "
                                        f"their own meaning; fusenum computes plain ndarrays: pass "
                                        f"np.asarray({name}) to drop it")
            if _is_lazy_array(value) and value._value is None:
                unforced.append(len(values))
            else:
                value = np.asarray(value)
            key.append(value.dtype)
        values.append(value)
    if unforced:
        _bind_unforced(values, key, unforced)
    return parsed, values, tuple(key)


def _bind_unforced(values: list, key: list, positions: list[int]) -> None:
    """Bind the LazyArrays over ndarrays at ``positions`` of ``values``: computed now, or beside dask
    arrays a dask array of one block that computes it when the graph runs, from its operands as they
    are then (the graph holds its expression and operands, as a LazyArray pickles, never a value
    fusenum computed). Its key is unique (``pure=False``): naming it by content would hash every
    operand now, and two LazyArrays equal now would share one block."""
    if not has_dask(values):
        for k in positions:
            values[k] = np.asarray(values[k])
            key[k + 1] = values[k].dtype
        return
    import dask
    import dask.array as da

    for k in positions:
        x = values[k]
        meta = np.zeros((0,) * x.ndim, x.dtype)
        values[k] = da.from_delayed(dask.delayed(np.asarray, pure=False)(x), x.shape, dtype=x.dtype, meta=meta)
        key[k + 1] = (_DASK, x.dtype)


def _is_lazy_array(x) -> bool:
    # (fusenum.frontend.lazy is imported with the first LazyArray: until then nothing is one, and
    # a program that only evaluates strings never imports the lazy front end)
    lazy = sys.modules.get("fusenum.frontend.lazy")
    return lazy is not None and isinstance(x, lazy.LazyArray)


def _on_dask(x: LazyArray) -> bool:
    from .forcing import on_dask
    return on_dask(x)


def _lookup(names, name: str):
    """``names[name]``, or ``_MISSING``; a mapping's own ``__missing__`` (a ``defaultdict``) is
    honoured, as ``numexpr`` honours it by indexing."""
    if type(names) is dict:
        # .get with a sentinel: a raised KeyError would cost more than the whole kernel call
        return names.get(name, _MISSING)
    try:
        return names[name]
    except KeyError:
        return _MISSING


def _check_mapping(names, what: str) -> None:
    if names is not None and not isinstance(names, Mapping):
        raise ArgumentTypeError(f"{what} must be a dict (or another mapping) of names to values, "
                                f"not {type(names).__name__}")


@caches.owner
def _clear() -> None:
    caches.empty(_parsed)
