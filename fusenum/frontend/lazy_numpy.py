"""NumPy's protocols on lazy arrays: ufunc calls and NumPy functions, captured or computed by NumPy.

``__array_ufunc__`` captures a call of any ufunc of the op table (read from
``BY_UFUNC``, so rows added to the table are captured too), including
``out=``, which forces the expression into that array. ``__array_function__``
captures the NumPy functions of the table that are not ufuncs (``BY_NUMPY_FUNCTION``:
``np.sinc``, ``np.angle``, called with the row's operands and no keywords; ``np.real`` and
``np.imag`` are :mod:`.lazy_views`), ``np.where`` and ``np.clip`` where the table can express them, the
reductions of :data:`fusenum.ir.reductions.BY_FUNCTION` (``np.sum``,
``np.prod``, ``np.min``/``np.amin``, ``np.max``/``np.amax``, ``np.mean``,
``np.any``, ``np.all``, ``np.nansum``, ``np.nanprod``, ``np.nanmin``,
``np.nanmax``, ``np.nanmean``; :func:`reduce` also serves the LazyArray methods) and
answers ``np.shape``, ``np.ndim``, ``np.size`` (``axis`` too) and ``np.result_type`` without
computing, as ``np.zeros_like``, ``np.ones_like``, ``np.empty_like`` and ``np.full_like`` do, with
NumPy's layout for ``order=`` (see :func:`_layout_prototype` for an expression not computed).

A reduction of a LazyArray is captured for any ``axis`` (None, int, tuple,
negative), ``keepdims`` and, where NumPy takes it, ``dtype``; its ``out=``
is computed into when it is an ndarray (or LazyArray) of exactly the result's
shape and dtype. It falls back to NumPy -- forced inputs, NumPy's scalar or
ndarray -- for ``where=`` (other than ``True``), ``initial=``, any other
``out=`` (NumPy reduces in ``out``'s dtype), a first argument that is not a
LazyArray, dtypes fusenum does not compile (``dtype=object``: NumPy's Python objects), and arguments NumPy accepts that
fusenum does not capture; NumPy's errors are raised at capture.

Everything else -- other ufuncs, ufunc methods and keywords, other NumPy
functions -- forces the lazy inputs and lets NumPy compute: a plain ndarray
comes back (a dask array, over dask arrays), or, where NumPy returns ``out``, a LazyArray given
as ``out=`` itself, its value written by NumPy. Dask arrays are operands like ndarrays (dask defers
to LazyArray in operators, ufuncs and NumPy functions). Objects that override ufuncs or NumPy functions
themselves get their turn, as NumPy's protocols prescribe.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import numpy as np

from . import capture, forcing, lazy_views
from ..ir import numpy_behaviour
from ..ir.ops import BY_NUMPY_FUNCTION, BY_UFUNC, OPS, Op
from ..ir.reductions import BY_FUNCTION, BY_NAME, Reduction
from ..ir.typing import PY_SCALARS, is_supported
from ..runtime.layout import allocate
from .dask_types import is_dask_type
from .lazy import (LazyArray, _stands_for_scalar, as_numpy, capture_operation, capture_reduction,
                   dtype_argument, force, force_all, in_byte_order, numpy_call)


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    """``LazyArray.__array_ufunc__``."""
    out = kwargs.pop("out", None)
    if out is not None and all(x is None for x in out):
        out = None
    if any(_foreign(x) for x in inputs) or (out is not None and any(_foreign(x) for x in out)):
        return NotImplemented
    op = BY_UFUNC.get(ufunc)
    if method == "__call__" and op is not None and not kwargs and len(inputs) == op.arity:
        try:
            result = capture_operation(op, inputs)
        except Exception:
            if out is not None:  # NumPy checks its output (cast, shape) before broadcasting the inputs
                _raise_numpy_error_with_out(ufunc, inputs, out[0])
            raise
        if result is not None:
            if out is None:
                return result
            if _force_into(result, out[0], same_dtype=False):
                return out[0]
    return _ufunc_fallback(ufunc, method, inputs, out, kwargs)


def _raise_numpy_error_with_out(ufunc: np.ufunc, inputs: tuple, target: Any) -> None:
    """Raise NumPy's error for ``ufunc(*inputs, out=target)`` on stand-ins; return if NumPy takes it."""
    if type(target) is LazyArray or isinstance(target, np.ndarray):
        out = capture.writable_stand_in(target.dtype, target.shape)
        value = target._value if type(target) is LazyArray else target
        if isinstance(value, np.ndarray) and not value.flags.writeable:
            # (NumPy's first check: ``read_only |= lazy`` of floats is its ValueError)
            out.flags.writeable = False
        capture.raise_numpy_error(lambda *args, out: ufunc(*args, out=out), inputs, out=out)


def array_function(func: Callable, types: tuple, args: tuple, kwargs: dict) -> Any:
    """``LazyArray.__array_function__``."""
    if any(t is not LazyArray and t.__array_function__ is not np.ndarray.__array_function__
           and not is_dask_type(t) for t in types):
        return NotImplemented
    handler = FUNCTIONS.get(func)
    if handler is not None:
        return handler(*args, **kwargs)
    return _function_fallback(func, args, kwargs)


def _function_fallback(func: Callable, args: tuple, kwargs: dict) -> Any:
    """NumPy's ``func`` on the forced arguments. A LazyArray given as ``out`` (by keyword or
    position) is computed into -- NumPy writes into its value -- and returned as itself where
    NumPy returns ``out``."""
    forced_args, forced_kwargs = force_all(args), force_all(kwargs)
    result = func(*forced_args, **forced_kwargs)
    if "out" not in kwargs and not any(type(x) is LazyArray or type(x) is tuple for x in args[1:]):
        return result  # (no LazyArray given as out)
    given = _out_argument(func, args, kwargs)
    if given is None:
        return result
    forced = _out_argument(func, forced_args, forced_kwargs)
    return _as_given_out(result, given, forced)


def _as_given_out(result: Any, given: Any, forced: Any) -> Any:
    """``result`` with each forced ``out`` array in it replaced by the LazyArray given as that ``out``
    (``given``/``forced``: the ``out`` argument as given and as passed to NumPy, an array or a tuple)."""
    if type(given) is not tuple:
        given, forced = (given,), (forced,)
    originals = {id(array): original for array, original in zip(forced, given) if type(original) is LazyArray}
    if not originals:
        return result
    if type(result) is tuple:
        return tuple(originals.get(id(r), r) for r in result)
    return originals.get(id(result), result)


def _out_argument(func: Callable, args: tuple, kwargs: dict) -> Any:
    """The ``out`` argument of the call ``func(*args, **kwargs)``, given by keyword or position (None
    if not given, or if the signature is unknown)."""
    if "out" in kwargs:
        return kwargs["out"]
    signature = _signature(func)
    try:
        return None if signature is None else signature.bind(*args, **kwargs).arguments.get("out")
    except TypeError:
        return None


@functools.lru_cache(maxsize=256)
def _signature(func: Callable) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def _foreign(x: Any) -> bool:
    """Whether ``x`` overrides ufuncs itself (NumPy's protocol: then we defer to it)."""
    kind = type(x)
    if kind is LazyArray or kind is np.ndarray or kind in PY_SCALARS or is_dask_type(kind):
        return False  # a dask array is captured as an operand (its own protocols defer to LazyArray)
    override = getattr(kind, "__array_ufunc__", np.ndarray.__array_ufunc__)
    return override is not np.ndarray.__array_ufunc__


def _force_into(result: LazyArray, target: Any, same_dtype: bool) -> bool:
    """Force ``result`` into ``out=`` target ``target``; False if only NumPy can.

    ``target`` must be a writeable ndarray (or LazyArray) of the result's shape
    (NumPy would broadcast into a larger ``out``). Its dtype must be the
    result's if ``same_dtype`` (a reduction: NumPy reduces in ``out``'s dtype),
    else one fusenum compiles and the result casts to with ``same_kind`` (a
    casting error is NumPy's to word). A LazyArray standing for a NumPy scalar is left to NumPy,
    which refuses a scalar as ``out`` (``TypeError``: :func:`~.lazy.as_numpy`).
    """
    if type(target) is LazyArray:
        if not target._shape and _stands_for_scalar(target):
            return False
        array = target.compute()
    else:
        array = target
    if type(array) is not np.ndarray or array.shape != result.shape or not array.flags.writeable:
        return False
    if same_dtype:
        if array.dtype != result.dtype:
            return False
    elif (not is_supported(array.dtype)
            or not np.can_cast(result.dtype, array.dtype, "same_kind")):
        return False
    forcing.run(result, out=array)
    return True


def _ufunc_fallback(ufunc: np.ufunc, method: str, inputs: tuple, out: tuple | None, kwargs: dict) -> Any:
    """NumPy's own ``ufunc.method`` on the forced inputs; LazyArrays given as ``out`` are returned as such.

    LazyArrays among the other keywords (``where=``, ``initial=``...) are forced too: NumPy would
    otherwise hand the call back to :func:`array_ufunc` for them, again and again.
    """
    kwargs = {key: force_all(value) for key, value in kwargs.items()}
    if out is not None:
        kwargs["out"] = forced_out = tuple(map(as_numpy, out))
    result = getattr(ufunc, method)(*map(as_numpy, inputs), **kwargs)
    if out is None:
        return result
    given = {id(array): original for array, original in zip(forced_out, out)}
    if type(result) is tuple:
        return tuple(given.get(id(r), r) for r in result)
    return given.get(id(result), result)


# ---- NumPy functions -----------------------------------------------------------------------------

_NO_VALUE = object()


def _where(condition: Any, x: Any = _NO_VALUE, y: Any = _NO_VALUE) -> Any:
    if x is not _NO_VALUE and y is not _NO_VALUE:
        result = capture_operation(OPS["where"], (condition, x, y))
        if result is not None:
            return result
    return np.where(*force_all([a for a in (condition, x, y) if a is not _NO_VALUE]))


def clip(a: Any, lower: Any, upper: Any) -> Any:
    """``np.clip(a, lower, upper)`` the way NumPy computes it, through ufuncs (so captured where the
    op table has them): a Python int bound beyond the range of an integer ``a`` does not apply
    (NumPy 2.0 raises ``OverflowError`` for it instead, as the ufunc then does)."""
    if a.dtype.kind in "iu" and numpy_behaviour.clip_ignores_out_of_range_int_bounds():
        info = np.iinfo(a.dtype)
        if type(lower) is int and lower <= info.min:
            lower = None
        if type(upper) is int and upper >= info.max:
            upper = None
    if lower is None and upper is None:
        return np.positive(a)
    if lower is None:
        return np.minimum(a, upper)
    if upper is None:
        return np.maximum(a, lower)
    return np._core.umath.clip(a, lower, upper)


def _clip_function(a: Any, a_min: Any = np._NoValue, a_max: Any = np._NoValue, out: Any = None, *,
                   min: Any = np._NoValue, max: Any = np._NoValue, **kwargs: Any) -> Any:
    absent = np._NoValue
    # NumPy's bounds: both positional, or keywords only (else its TypeError or ValueError, below)
    positional = a_min is not absent and a_max is not absent and min is absent and max is absent
    # (captured with a lazy bound of an ndarray too: NumPy's clip of an ndarray is the ufunc's)
    lazy_call = type(a) is LazyArray or (type(a) is np.ndarray
                                         and LazyArray in map(type, (a_min, a_max, min, max)))
    if lazy_call and out is None and not kwargs and (positional or (a_min is absent and a_max is absent)):
        lower = a_min if positional else None if min is absent else min
        upper = a_max if positional else None if max is absent else max
        if lower is not None or upper is not None:
            return clip(a, lower, upper)
    # min=/max= only when given: NumPy 2.0's np.clip has no such keywords (2.1 added them)
    bounds = {key: value for key, value in (("min", min), ("max", max)) if value is not absent}
    return numpy_call(np.clip, (a, a_min, a_max, out), {**bounds, **kwargs})


def _table_function(op: Op) -> Callable:
    """The handler of ``op.function`` (a NumPy function that is not a ufunc): captured when called
    with the row's operands alone, else NumPy's on the forced arguments."""
    function = op.function

    def handler(*args: Any, **kwargs: Any) -> Any:
        if not kwargs and len(args) == op.arity:
            result = capture_operation(op, args)
            if result is not None:
                return result
        return numpy_call(function, args, kwargs)
    handler.__name__ = handler.__qualname__ = op.name
    return handler


def _like(function: Callable) -> Callable:
    """The handler of ``np.zeros_like`` and its kin: only the shape, dtype and layout of a LazyArray
    matter, so it is not computed. A computed one passes its value (NumPy reads its layout for
    ``order='K'`` or ``'A'``); one over dask arrays passes its dask array (not computed either), so
    the answer is dask's, a dask array of the same chunks; for another not computed, a prototype laid
    out as its value will be (:func:`_layout_prototype`) takes its place, with the shape passed as
    ``shape=``."""
    # where ``shape`` comes among the arguments after ``a`` (NumPy 2.0's C functions have no
    # introspectable signature): after dtype, order, subok, and full_like's fill_value first
    shape_at = 4 if function is np.full_like else 3

    def handler(a: Any, *args: Any, **kwargs: Any) -> Any:
        args, kwargs = force_all(args), force_all(kwargs)
        if type(a) is LazyArray:
            if a._value is not None:
                a = a._value
            elif forcing.on_dask(a):  # (dask's answer: a dask array of a's chunks, nothing held in memory)
                a = forcing.to_dask(a)
            else:
                prototype = _layout_prototype(a)
                if prototype is None:
                    a = capture.stand_in(a.dtype, a.shape)
                else:
                    if len(args) > shape_at:
                        if args[shape_at] is None:
                            args = (*args[:shape_at], a.shape, *args[shape_at + 1:])
                    elif kwargs.get("shape") is None:
                        kwargs["shape"] = a.shape
                    a = prototype
        return function(a, *args, **kwargs)
    handler.__name__ = handler.__qualname__ = function.__name__
    return handler


def _layout_prototype(x: LazyArray) -> np.ndarray | None:
    """A small array (each dimension of ``x`` cut to at most 2) of ``x``'s dtype whose axes are laid
    out in memory as the value of ``x``, not computed, will be; None for C order.

    An expression of elementwise operations is laid out as NumPy lays out its ufuncs' results for
    ``order='K'`` (:func:`fusenum.runtime.layout.allocate` over the arrays it reads), which forcing
    does too. An expression with a reduction, or over dask arrays, is taken as C order, the layout
    of the value forcing gives it (NumPy's reductions may keep an input's Fortran order).
    """
    arrays = []
    stack, seen = [x], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if type(node) is LazyArray:
            if node._value is not None:
                arrays.append(node._value)
                continue
            op = node._op
            if op is None or (type(op) is tuple and op[0] == "reduce"):
                return None  # a dask leaf, a reduction
            stack.extend(node._args)
        elif type(node) is np.ndarray:
            arrays.append(node)
        elif node is not None and type(node) not in PY_SCALARS:
            return None
    if all(a.flags.c_contiguous for a in arrays):
        return None
    return allocate(tuple(min(n, 2) for n in x.shape), x.dtype, "K", arrays)


def _size(a: Any, axis: Any = None) -> int:
    """``np.size``: a LazyArray's is known without computing (a stand-in answers for ``axis``,
    with NumPy's errors)."""
    if type(a) is LazyArray:
        return a.size if axis is None else np.size(capture.stand_in(a.dtype, a.shape), axis)
    return np.size(force_all(a), axis)


def _astype(x: Any, dtype: Any, /, *, copy: bool = True, **kwargs: Any) -> Any:
    if type(x) is LazyArray and not kwargs:
        if _stands_for_scalar(x):  # (NumPy 2.0's np.astype refuses a NumPy scalar: its TypeError)
            np.astype(x.dtype.type(0), dtype, copy=copy)
        return x.astype(dtype, copy=copy)
    return np.astype(force(x), dtype, copy=copy, **kwargs)


# ---- reductions ------------------------------------------------------------------------------------

def reduce(name: str, a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
           keepdims: Any = np._NoValue, method: bool = False, **kwargs: Any) -> Any:
    """``np.<name>(a, axis, dtype, out, keepdims, **kwargs)``, or ``a.<name>(...)`` if ``method``:
    captured, or computed by NumPy.

    ``kwargs`` are ``initial=`` and ``where=`` (``np._NoValue`` when not
    given, as NumPy's own signatures have them) and anything else a caller
    passed, which NumPy judges. A ``dtype`` given to a reduction without one
    (``ndarray.any``/``all`` take one positionally; ``np.min`` refuses one)
    is NumPy's business.
    """
    row = BY_NAME[name]
    if row.takes_dtype:
        dtype = dtype_argument(dtype)
    extra = {key: value for key, value in kwargs.items()
             if value is not np._NoValue and not (key == "where" and value is True)}
    if type(a) is LazyArray and not extra and (dtype is None or row.takes_dtype) and not _refused_out(out):
        result = capture_reduction(row, a, axis, False if keepdims is np._NoValue else keepdims, dtype)
        if result is not None:
            if out is None:
                capture.warn_discarded_imaginary(a.dtype, dtype)
                return result
            if _force_into(result, out, same_dtype=True):
                capture.warn_discarded_imaginary(a.dtype, dtype)
                return out
    return _reduce_fallback(row, a, method, {"axis": axis, "dtype": dtype, "out": out, "keepdims": keepdims,
                                             **kwargs})


def _refused_out(out: Any) -> bool:
    """Whether NumPy refuses ``out`` before it looks at the axes and the data: neither an array nor a
    LazyArray (``np.min(x, 2, 'f8')`` passes ``'f8'`` as ``out``), or a read-only array."""
    if out is None or type(out) is LazyArray:
        return False
    return not isinstance(out, np.ndarray) or not out.flags.writeable


def _reduce_fallback(row: Reduction, a: Any, method: bool, kwargs: dict) -> Any:
    """NumPy's reduction on the forced arguments (a LazyArray given as ``out`` is returned as itself).
    Arguments not given are left out (``ndarray`` methods refuse ``np._NoValue``)."""
    out = kwargs["out"]
    kwargs = {key: force_all(value) for key, value in kwargs.items()
              if value is not np._NoValue and not (value is None and key in ("dtype", "out", "axis"))}
    a = as_numpy(a)
    result = getattr(a, row.name)(**kwargs) if method and isinstance(a, np.ndarray) else row.numpy(a, **kwargs)
    return out if out is not None and result is kwargs.get("out") else result


def _reduction_function(row: Reduction) -> Callable:
    """The handler of NumPy's function for ``row``, with its signature (positional arguments included):
    ``dtype`` after ``axis`` where the function takes one, ``initial`` after ``keepdims`` where it does."""
    name = row.name
    if row.takes_dtype and row.takes_initial:  # sum, prod, nansum, nanprod
        def handler(a, axis=None, dtype=None, out=None, keepdims=np._NoValue, initial=np._NoValue,
                    where=np._NoValue, **kwargs):
            return reduce(name, a, axis, dtype, out, keepdims, initial=initial, where=where, **kwargs)
    elif row.takes_initial:  # min, max, nanmin, nanmax
        def handler(a, axis=None, out=None, keepdims=np._NoValue, initial=np._NoValue, where=np._NoValue,
                    **kwargs):
            return reduce(name, a, axis, out=out, keepdims=keepdims, initial=initial, where=where, **kwargs)
    elif row.takes_dtype:  # mean, nanmean
        def handler(a, axis=None, dtype=None, out=None, keepdims=np._NoValue, *, where=np._NoValue, **kwargs):
            return reduce(name, a, axis, dtype, out, keepdims, where=where, **kwargs)
    else:  # any, all
        def handler(a, axis=None, out=None, keepdims=np._NoValue, *, where=np._NoValue, **kwargs):
            return reduce(name, a, axis, out=out, keepdims=keepdims, where=where, **kwargs)
    handler.__name__ = handler.__qualname__ = name
    return handler


def _round_keeping_byte_order(captured: Callable) -> Callable:
    """``np.round`` (``captured``: the op table's handler), in the dtype NumPy gives: an integer or
    complex array's own, byte order included (NumPy copies or rounds into it), where fusenum's
    results are in native order (and a 0-d one's scalar, native as every NumPy scalar)."""
    def handler(*args: Any, **kwargs: Any) -> Any:
        result = captured(*args, **kwargs)
        x = args[0] if args else None  # (with keywords, NumPy computes: its dtype already)
        dtype = getattr(x, "dtype", None)
        if type(result) is LazyArray and type(x) in (LazyArray, np.ndarray) and dtype.kind in "iuc" \
                and result.ndim and result.dtype != dtype and result.dtype == dtype.newbyteorder("="):
            return in_byte_order(result, dtype)
        return result
    handler.__name__ = handler.__qualname__ = captured.__name__
    return handler


# NumPy functions answered without NumPy computing on forced values; every other one falls back.
FUNCTIONS: dict[Callable, Callable] = {function: _table_function(op) for function, op in BY_NUMPY_FUNCTION.items()}
FUNCTIONS[np.round] = _round_keeping_byte_order(FUNCTIONS[np.round])
FUNCTIONS.update({
    np.where: _where,
    np.clip: _clip_function,
    np.shape: lambda a: a.shape if type(a) is LazyArray else np.shape(force_all(a)),
    np.ndim: lambda a: a.ndim if type(a) is LazyArray else np.ndim(force_all(a)),
    np.size: _size,
    np.result_type: lambda *args: np.result_type(*(a.dtype if type(a) is LazyArray else a for a in args)),
})
FUNCTIONS.update({function: _reduction_function(row) for function, row in BY_FUNCTION.items()})
FUNCTIONS.update({np.real: lazy_views.real_function, np.imag: lazy_views.imag_function})
FUNCTIONS.update({function: _like(function)
                  for function in (np.zeros_like, np.ones_like, np.empty_like, np.full_like)})
if hasattr(np, "astype"):  # NumPy >= 2.1
    FUNCTIONS[np.astype] = _astype


def _clip_method(self, min: Any = None, max: Any = None, out: Any = None, **kwargs: Any) -> Any:
    """``ndarray.clip``, lazy where the op table has the operations it needs."""
    if out is not None or kwargs:
        return numpy_call(self.compute().clip, (min, max), {"out": out, **kwargs})
    return clip(self, min, max)

# ---- LazyArray methods (ndarray's signatures) ------------------------------------------------
def _sum_method(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = np._NoValue,
        initial: Any = np._NoValue, where: Any = np._NoValue) -> Any:
    """``ndarray.sum``, captured (see the module docstring for what falls back to NumPy)."""
    return reduce("sum", self, axis, dtype, out, keepdims, True, initial=initial, where=where)

def _prod_method(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = np._NoValue,
         initial: Any = np._NoValue, where: Any = np._NoValue) -> Any:
    """``ndarray.prod``, captured (see the module docstring for what falls back to NumPy)."""
    return reduce("prod", self, axis, dtype, out, keepdims, True, initial=initial, where=where)

def _min_method(self, axis: Any = None, out: Any = None, keepdims: Any = np._NoValue, initial: Any = np._NoValue,
        where: Any = np._NoValue) -> Any:
    """``ndarray.min``, captured (see the module docstring for what falls back to NumPy)."""
    return reduce("min", self, axis, None, out, keepdims, True, initial=initial, where=where)

def _max_method(self, axis: Any = None, out: Any = None, keepdims: Any = np._NoValue, initial: Any = np._NoValue,
        where: Any = np._NoValue) -> Any:
    """``ndarray.max``, captured (see the module docstring for what falls back to NumPy)."""
    return reduce("max", self, axis, None, out, keepdims, True, initial=initial, where=where)

def _mean_method(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = np._NoValue, *,
         where: Any = np._NoValue) -> Any:
    """``ndarray.mean``, captured (see the module docstring for what falls back to NumPy)."""
    return reduce("mean", self, axis, dtype, out, keepdims, True, where=where)

def _any_method(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = np._NoValue, *,
        where: Any = np._NoValue) -> Any:
    """``ndarray.any`` (whose undocumented ``dtype`` NumPy computes), captured (see the module docstring
    for what falls back to NumPy)."""
    return reduce("any", self, axis, dtype, out, keepdims, True, where=where)

def _all_method(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = np._NoValue, *,
        where: Any = np._NoValue) -> Any:
    """``ndarray.all`` (whose undocumented ``dtype`` NumPy computes), captured (see the module docstring
    for what falls back to NumPy)."""
    return reduce("all", self, axis, dtype, out, keepdims, True, where=where)

def _array_ufunc_method(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    return array_ufunc(ufunc, method, inputs, kwargs)

def _array_function_method(self, func: Callable, types: tuple, args: tuple, kwargs: dict) -> Any:
    return array_function(func, types, args, kwargs)

def _install_methods() -> None:
    """Give LazyArray its NumPy protocols, ``clip`` and the reduction methods, which are defined here."""
    methods = {"clip": _clip_method, "sum": _sum_method, "prod": _prod_method, "min": _min_method,
               "max": _max_method, "mean": _mean_method, "any": _any_method, "all": _all_method,
               "__array_ufunc__": _array_ufunc_method, "__array_function__": _array_function_method}
    for name, method in methods.items():
        method.__name__ = method.__qualname__ = name
        setattr(LazyArray, name, method)


_install_methods()
