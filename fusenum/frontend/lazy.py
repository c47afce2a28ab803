"""``fusenum.lazy()``: ordinary NumPy code on lazy arrays, computed in one compiled pass.

``lazy(a)`` wraps an array without copying it. Operators, the ufuncs of the op
table and ``np.where`` applied to lazy arrays compute nothing: each returns a
new :class:`LazyArray` that records the operation, its operands and NumPy's
result dtype and shape (checked, with NumPy's errors, right away). Using the
values -- ``np.asarray(r)``, ``r.compute()``, ``fusenum.evaluate(r, out=...)``,
printing, indexing (but for slices, integers and new axes: :mod:`.lazy_axes`), ``bool``/``float``, any
other NumPy function -- *forces* the expression: it runs as one fused kernel, through the same plan
and kernel caches as ``fusenum.evaluate``, and the LazyArray keeps the result.

Reductions -- the methods ``sum``, ``prod``, ``min``, ``max``, ``mean``,
``any``, ``all`` and NumPy's functions of the same names (``np.amin``,
``np.amax`` too) -- are captured as well, with ``axis`` (None, an int, a
tuple, negative axes), ``keepdims`` and, for ``sum``/``prod``/``mean``,
``dtype=``: the result is a LazyArray of NumPy's dtype and shape, usable
anywhere in a further expression (``x - x.mean(axis=0)``), and NumPy's errors
(``AxisError``, a repeated axis, a dtype NumPy refuses, ``min``/``max`` of an
empty selection) are raised at capture, not when forced. A reduction to a
scalar is a 0-d LazyArray, which forces to a 0-d ndarray (NumPy returns a
NumPy scalar); ``out=`` forces into that array when it has the result's shape
and dtype. Reductions fall back to NumPy (forced inputs, NumPy's scalar or
ndarray) for ``where=``, ``initial=``, an ``out=`` of another dtype or shape,
dtypes fusenum does not compile and argument types NumPy accepts but fusenum
does not capture (``keepdims=1``, ``axis=0`` on a 0-d array).

``lazy(dask_array)`` stays lazy: forcing builds a dask graph of fused kernels (:mod:`.dask_graph`),
``fusenum.evaluate(r)`` gives that dask array, ``compute()`` computes it, NumPy fallbacks get it.

What the op table cannot express falls back to NumPy: the lazy inputs are
forced, NumPy computes, and the result is a plain ndarray. NumPy's protocols
(``__array_ufunc__``, ``__array_function__``) and the reduction methods are installed by :mod:`.lazy_numpy`,
and the Python operators by :mod:`.lazy_operators`, which the package imports with this module.
"""
from __future__ import annotations

import math
import operator
import warnings
from typing import Any, Callable

import numpy as np

from . import capture, forcing
from ..codegen import locks
from ..errors import ArgumentTypeError
from ..ir.ops import OPS, Op
from ..ir.reductions import Reduction
from ..ir.typing import PY_SCALARS, SUPPORTED, check_dtype, is_supported, scalar_key
from ..runtime.layout import CASTING_RULES, as_order
from .dask_graph import check_shape, has_ndarray_blocks
from .dask_types import is_dask_type

__all__ = ["LazyArray", "lazy"]

#: Held while a computed value is stored (:meth:`LazyArray.compute`).
_storing = locks.lock()

# Operations NumPy computes with a ufunc, which returns a scalar, not a 0-d array, for 0-d operands
# (``np.angle`` and ``np.sinc`` end in one: ``arctan2``, a division).
_UFUNC_TOKENS = frozenset(op.name for op in OPS.values() if op.ufunc is not None) | {"angle", "sinc", "round"}


class LazyArray:
    """An array whose value is an expression, computed in one compiled pass when first needed.

    Create with :func:`fusenum.lazy`. ``shape``, ``dtype``, ``ndim``, ``size`` and
    ``len()`` are known without computing. :meth:`compute` (or ``np.asarray``)
    forces it; the result is kept, so forcing twice computes once. The
    reductions ``sum``, ``prod``, ``min``, ``max``, ``mean``, ``any`` and ``all``
    are captured, as are ``np.nansum`` and the other ``np.nan*`` reductions.
    ``explain()`` (installed by :mod:`fusenum.frontend.explain`)
    describes what forcing would run. ``real`` and ``imag`` are NumPy's views, writable through
    (:mod:`.lazy_views`); slices, indices, new axes, transposes are captured (:mod:`.lazy_axes`). Other
    ndarray attributes and methods (``.reshape()``, ``.std()``...) force it and return NumPy's answer.

    Pickling and copying keep an unforced LazyArray unforced (:mod:`.lazy_pickle`); ``copy.copy``
    of a computed one copies its value, as for an ndarray. A LazyArray can be weakly referenced
    (``weakref.ref``), like an ndarray. One that stands for a NumPy scalar (a full reduction, a
    ufunc of 0-d operands) converts (``float()``, ``round()``...) as that scalar. LazyArrays are
    unhashable, as ndarrays are.
    """

    # _op, _args: the captured operation (a token of forcing.Program) and its operands; _value: the ndarray
    # once computed (from the start for lazy(array)); _program, _leaves: its forcing program and leaf values
    # when it is a small tree (else None); _view: for a view of an unforced x (x[1:], x[None], x.T, x.real),
    # (x, the view's functions) (lazy_axes); _views: of such an x, weak references to them (lazy_views).
    _FIELDS = ("_op", "_args", "_dtype", "_shape", "_program", "_leaves", "_value", "_view", "_views")
    __slots__ = _FIELDS + ("__weakref__",)
    __hash__ = None  # type: ignore[assignment]  # == is elementwise, as for an ndarray

    def __init__(self, array: Any):
        leaf = lazy(array)
        for name in LazyArray._FIELDS:
            setattr(self, name, getattr(leaf, name))

    # ---- what is known without computing ----------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return math.prod(self._shape)

    @property
    def itemsize(self) -> int:
        return self._dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self._dtype.itemsize

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of unsized object")
        return self._shape[0]

    @property
    def is_forced(self) -> bool:
        """Whether the value is computed (always true for ``lazy(array)`` itself)."""
        return self._value is not None

    # ---- forcing ------------------------------------------------------------------------------
    def compute(self, **dask_options: Any) -> np.ndarray:
        """The value as an ndarray, computed in one compiled pass on first use and then kept.

        Over dask arrays, ``dask_options`` go to dask's ``compute`` (``scheduler="threads"``...);
        for an expression over no dask array they are a :class:`~fusenum.ArgumentTypeError`.

        Each call returns a new view of the kept value (so does ``np.asarray(x)``): writes into
        its elements reach ``x``'s value, but assigning its ``shape``, ``dtype`` or ``strides``
        changes that view only, never ``x`` (whose shape and dtype are known without computing),
        as ``lazy(a)`` is a view of ``a``. ``x.real`` and ``x.imag`` are NumPy's views of ``x``'s
        value (see :func:`_part_view`). For a result that stands for a NumPy scalar, which is
        immutable, each call returns a new 0-d copy (as ``np.asarray`` of a NumPy scalar does).
        """
        if dask_options and not forcing.on_dask(self):
            raise ArgumentTypeError(f"compute() got {', '.join(map(repr, dask_options))}: options of dask's "
                                    "compute, for an expression over dask arrays, and this one reads none")
        value = self._value
        if value is None:
            value = _part_view(self, dask_options)
            if value is None:
                value = forcing.run(self, dask_options=dask_options)
                if value.dtype != self._dtype:  # an in-place operator's byte order (see in_byte_order)
                    value = value.astype(self._dtype)
            # Two threads forcing it at once both compute; the first value stored is the one kept,
            # and both get views of it (a write through either reaches ``x``).
            with _storing:
                if self._value is None:
                    self._value = value
                value = self._value
        if not self._shape and _stands_for_scalar(self):
            return value.copy()  # nothing handed out may change the kept value of a NumPy scalar
        return value.view()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        value = self.compute()
        if copy is False and not self._shape and _stands_for_scalar(self):
            np.asarray(value[()], copy=False)  # NumPy's ValueError: a NumPy scalar is always copied
        if dtype is not None and np.dtype(dtype) != value.dtype:
            if copy is False:
                raise ValueError("Unable to avoid copy while creating an array as requested.")
            return value.astype(dtype)
        return value.copy(order="K") if copy else value  # (np.array keeps the layout: order="K")

    def tolist(self) -> Any:
        return self.compute().tolist()

    def to_dask_array(self) -> Any:
        """The value as a dask array (what ``dask.array.asarray`` asks an object for): over dask
        arrays the fused graph, computing nothing; else the computed ndarray in one chunk."""
        value = force(self)
        if is_dask_type(type(value)):
            return value
        import dask.array as da

        return da.from_array(value, chunks=value.shape or ())

    def __repr__(self) -> str:  # over dask: the dask array's repr, which computes nothing
        value = force(self)
        return f"LazyArray({np.array_repr(value) if type(value) is np.ndarray else repr(value)})"

    def __str__(self) -> str:
        return str(force(self))

    def __format__(self, spec: str) -> str:
        return format(self.compute(), spec)

    def __getitem__(self, key: Any) -> Any:
        return as_numpy(self)[force_all(key)]

    def __setitem__(self, key: Any, value: Any) -> None:
        if not self._shape and _stands_for_scalar(self):  # NumPy's scalars are immutable
            raise TypeError(f"'numpy.{self.dtype.type.__name__}' object does not support item assignment")
        if self._op is None and self._value is None:  # lazy(d) of a dask array d: dask's item assignment into d
            self._args[0][force_all(key)] = force_all(value)
            return
        # Writes into the value: for lazy(a) that is a itself, as for any view of a. (Over dask, any
        # other expression is computed: expressions built from it before must not see the write, as
        # in NumPy, and they read it through its operation and operands, which must not change.)
        self.compute()[force_all(key)] = force_all(value)

    def __iter__(self):
        return iter(as_numpy(self))

    def __contains__(self, item: Any) -> bool:
        return force_all(item) in as_numpy(self)

    def __bool__(self) -> bool:
        return self._to_scalar(bool)

    def __float__(self) -> float:
        return self._to_scalar(float)

    def __int__(self) -> int:
        return self._to_scalar(int)

    def __complex__(self) -> complex:
        return self._to_scalar(complex)

    def __index__(self) -> int:
        return self._to_scalar(operator.index)

    def _to_scalar(self, convert: Callable):
        """``convert`` of the value, as NumPy converts arrays (NumPy's error when it refuses).

        The answer for any size other than 1 does not depend on the values, so
        NumPy gets a stand-in and an ambiguous ``if big_lazy_array:`` fails
        without computing anything.
        """
        if self.size != 1:
            return convert(capture.stand_in(self._dtype, self._shape))
        value = self.compute()
        # A NumPy scalar converts as a number (float() of a complex one warns and drops the imaginary
        # part); a 0-d array refuses what its Python number refuses.
        return convert(value[()] if _stands_for_scalar(self) else value)

    # ---- captured methods -----------------------------------------------------------------------
    def astype(self, dtype: Any, order: str = "K", casting: str = "unsafe", subok: bool = True,
               copy: bool = True) -> LazyArray | np.ndarray:
        """``ndarray.astype``: lazy for a native dtype fusenum compiles, else computed by NumPy (over
        dask arrays, by dask's ``astype`` of the fused dask array: nothing is computed here; dask
        arrays have no memory order to choose)."""
        dtype = np.dtype(dtype_argument(dtype))
        # (a casting rule beyond the five, NumPy 2.4's "same_value", checks values: NumPy's, on the values)
        if as_order(order) == "K" and dtype in SUPPORTED and dtype.isnative and casting in CASTING_RULES:
            if casting != "unsafe" and not np.can_cast(self._dtype, dtype, casting):
                capture.stand_in(self._dtype, self._shape).astype(dtype, casting=casting)  # NumPy's error
            if not copy and dtype == self._dtype:
                return self
            if self._dtype.kind == "c" and dtype.kind not in "cb":  # NumPy's, given where the cast is written
                warnings.warn("Casting complex values to real discards the imaginary part",
                              np.exceptions.ComplexWarning, stacklevel=2)
            return _capture_cast(self, dtype)
        if self._value is None and forcing.on_dask(self):
            return forcing.to_dask(self).astype(dtype, casting=casting, copy=copy)
        value = self.compute()[()] if _stands_for_scalar(self) else self.compute()  # (a scalar's: native)
        return value.astype(dtype, order=order, casting=casting, subok=subok, copy=copy)


def lazy(x: Any) -> LazyArray:
    """Wrap ``x`` as a :class:`LazyArray`, without copying an ndarray.

    ``x`` may be an ndarray, a ``np.memmap`` or anything ``np.asarray`` accepts
    (lists, NumPy and Python scalars, which become strong 0-d arrays), or a dask
    array (never computed here: see :mod:`.dask_graph`); a LazyArray is returned as it is. The input array is read when the expression
    is forced, not now: see the README's "Lazy arrays" section on mutation.
    Raises :class:`~fusenum.ArgumentTypeError` (a ``TypeError``) for other ndarray subclasses
    (``np.matrix``, masked
    arrays: their operators mean something else) and
    :class:`~fusenum.UnsupportedDTypeError` for dtypes fusenum does not compile.
    """
    kind = type(x)
    if kind is np.ndarray:
        # A view: shares the data (read when forced) but not .shape/.dtype, which callers may reassign.
        array = x.view()
    elif kind is LazyArray:
        return x
    elif is_dask_type(kind):
        return _dask_leaf(x)
    elif isinstance(x, np.ndarray) and kind is not np.memmap:
        raise ArgumentTypeError(f"fusenum.lazy() wraps plain ndarrays, not "
                                f"{kind.__module__}.{kind.__name__}, "
                        f"whose operations have their own meaning; pass np.asarray(x) to drop it")
    else:
        array = np.asarray(x)
    if array.dtype not in SUPPORTED:
        check_dtype(array.dtype, "the array given to fusenum.lazy()")
    leaf = object.__new__(LazyArray)
    leaf._op = leaf._args = leaf._view = leaf._views = None
    leaf._dtype, leaf._shape, leaf._value = array.dtype, array.shape, array
    leaf._program, leaf._leaves = (array.dtype,), (array,)
    return leaf


def _dask_leaf(x: Any) -> LazyArray:
    """A LazyArray over dask array ``x``: never computed by itself, only as part of a dask graph."""
    if not has_ndarray_blocks(x):
        meta = type(x._meta)
        raise ArgumentTypeError(f"fusenum.lazy() wraps dask arrays of plain ndarray blocks, not of "
                                f"{meta.__module__}.{meta.__name__} blocks, whose operations have their own "
                                f"meaning; map np.asarray over the blocks to drop it")
    check_shape(x)
    if x.dtype not in SUPPORTED:
        check_dtype(x.dtype, "the array given to fusenum.lazy()")
    return _node(None, (x,), x.dtype, x.shape, (x.dtype,), (x,))


# ---- capturing one operation ---------------------------------------------------------------------

_DTYPES = capture.DTYPES

#: Largest tree (in leaves, and in steps) whose forcing program is built while capturing; larger
#: ones are walked. (Each node holds its own program: a chain of one-operand operations without the
#: bound in steps took memory and time growing as its length squared, 1.5 GB for 20,000 ``sqrt``.)
MAX_INLINE_LEAVES = 64
MAX_INLINE_STEPS = 256


def capture_operation(op: Op, operands: tuple) -> LazyArray | None:
    """``op(*operands)`` as a new LazyArray, or None if fusenum cannot compile it.

    Raises NumPy's error if NumPy would refuse the operation (dtypes, an
    ``int`` out of range, shapes that do not broadcast). A LazyArray operand
    that is already computed is recorded as its ndarray, an ndarray as a view.
    """
    key = [op.name]
    args = []
    shape = None
    shapes = None  # the operands' shapes, once they differ
    program: tuple | None = ()
    leaves: tuple = ()
    for x in operands:
        kind = type(x)
        if kind is not LazyArray and kind is not np.ndarray and kind not in PY_SCALARS and is_dask_type(kind):
            if not has_ndarray_blocks(x) or not is_supported(x.dtype):
                return None  # (masked blocks or object values, say: dask's own operations)
            x, kind = _dask_leaf(x), LazyArray
        if kind is LazyArray:
            if x._view is not None:
                _settle(x)
            if x._value is None:
                key.append(x._dtype)
                args.append(x)
                if shape is None:
                    shape = x._shape
                elif shape != x._shape:
                    shapes = (shapes or [shape]) + [x._shape]
                if program is not None and x._program is not None:
                    program += x._program
                    leaves += x._leaves
                else:
                    program = None
                continue
            x = x._value
            kind = np.ndarray
        elif kind is not np.ndarray and kind not in PY_SCALARS:
            x = capture.as_operand(x)
            if x is None:
                return None
            kind = np.ndarray
        elif kind is np.ndarray:
            x = x.view()  # see lazy()
        if kind is np.ndarray:
            descriptor = x.dtype
            if shape is None:
                shape = x.shape
            elif shape != x.shape:
                shapes = (shapes or [shape]) + [x.shape]
        else:
            descriptor = scalar_key(x)
        key.append(descriptor)
        args.append(x)
        if program is not None:
            program += (descriptor,)
            leaves += (x,)
    if shape is None:  # Python scalars only (say np.add(1, 2, out=lazy_array)): NumPy's business
        return None
    key = tuple(key)
    dtype = _DTYPES.get(key)
    if dtype is None:
        dtype = capture.result_dtype(op, args, key)
        if dtype is None:
            return None
    if shapes is not None:
        shape = capture.broadcast(shapes)
        if shape is None:
            capture.raise_numpy_error(capture.numpy_function(op), args)
            raise ValueError(f"operands could not be broadcast together with shapes {shapes}")
    if program is not None and len(leaves) <= MAX_INLINE_LEAVES and len(program) < MAX_INLINE_STEPS:
        program += (op.name,)
    else:
        program = leaves = None
    return _node(op.name, tuple(args), dtype, shape, program, leaves)


def _capture_cast(x: LazyArray, dtype: np.dtype, mark: str | None = None) -> LazyArray:
    """``x.astype(dtype)`` for a native dtype fusenum compiles.

    ``mark`` ``"array"`` marks the result as a 0-d array where NumPy keeps one (an in-place
    operator's target) rather than a user's ``astype``, which keeps a NumPy scalar a scalar;
    ``"scalar"`` marks it as a NumPy scalar (a program replayed by :mod:`.lazy_pickle`, whose
    operand no longer says so). None: a scalar if ``x`` stands for one.
    """
    token = ("astype", dtype) if mark is None else ("astype", dtype, mark)
    return _unary_node(token, x, dtype, x._shape)


def in_byte_order(x: LazyArray, dtype: np.dtype) -> LazyArray:
    """``x`` (not computed, of ``dtype`` in native byte order) as a LazyArray of ``dtype`` in another
    byte order: an in-place operator's result on a byte-swapped target, which NumPy keeps.

    The node is ``x``'s operation on ``x``'s operands, so its program, kernels and dask graph
    are ``x``'s (fusenum computes in native byte order; its IR has no byte-swapping cast);
    only its dtype differs. Its value is stored in ``dtype`` when computed
    (:meth:`LazyArray.compute`, :func:`.forcing.evaluate_lazy`, :func:`.forcing.to_dask`), and an
    expression using it reads ``x``'s native value, equal to it.
    """
    return _node(x._op, x._args, dtype, x._shape, x._program, x._leaves)


def dtype_argument(dtype: Any) -> Any:
    """``dtype`` as given for a ``dtype=``, refusing an array with NumPy's ``TypeError``: a LazyArray
    stands for one, although ``np.dtype`` would take its ``dtype`` attribute (as any object's)."""
    if isinstance(dtype, (LazyArray, np.ndarray)):
        raise ArgumentTypeError("Cannot construct a dtype from an array")
    return dtype


def capture_reduction(row: Reduction, x: LazyArray, axis: Any, keepdims: bool, dtype: Any) -> LazyArray | None:
    """``row.numpy(x, axis=axis, keepdims=keepdims[, dtype=dtype])`` as a new LazyArray.

    The node's operation is the token ``("reduce", name, axis, keepdims, dtype)``
    (see :func:`fusenum.frontend.capture.reduction`), which forcing turns into
    ``Builder.reduce``. Returns None if fusenum does not capture it; raises
    NumPy's error if NumPy refuses it.
    """
    typed = capture.reduction(row, x._dtype, x._shape, axis, keepdims, dtype)
    if typed is None:
        return None
    token, dtype, shape = typed
    return _unary_node(token, x, dtype, shape)


def _unary_node(token: tuple, x: LazyArray, dtype: np.dtype, shape: tuple[int, ...]) -> LazyArray:
    """The node applying the one-operand token ``token`` to ``x`` (recorded as its ndarray if computed)."""
    if x._view is not None:
        _settle(x)
    if x._value is not None:
        if token[0] == "astype" and len(token) == 2 and _stands_for_scalar(x):
            token += ("scalar",)  # the node's argument is now x's ndarray, which no longer says so
        return _node(token, (x._value,), dtype, shape, (x._value.dtype, token), (x._value,))
    if x._program is None or len(x._program) >= MAX_INLINE_STEPS:
        return _node(token, (x,), dtype, shape, None, None)
    return _node(token, (x,), dtype, shape, x._program + (token,), x._leaves)


def _stands_for_scalar(x: LazyArray) -> bool:
    """Whether ``x`` is a 0-d result NumPy makes a scalar (a ufunc of 0-d operands, a reduction to 0-d)."""
    while not x._shape:
        op = x._op
        if type(op) is not tuple:
            if (op == "real" or op == "imag") and type(x._args[0]) is LazyArray:
                x = x._args[0]  # a NumPy scalar's part is a scalar
                continue
            return op in _UFUNC_TOKENS
        if op[0] != "astype":
            return op[0] == "reduce"  # a 0-d result, even with keepdims=True (of a 0-d operand)
        if len(op) != 2 or type(x._args[0]) is not LazyArray:
            return op[2:] == ("scalar",)
        x = x._args[0]  # a NumPy scalar's astype is a scalar
    return False


def _part_view(node: LazyArray, dask_options: dict) -> np.ndarray | None:
    """For a captured ``x.real``/``x.imag`` (``np.real``/``np.imag``), NumPy's answer: the view of
    the part in ``x``'s computed value (computed with ``dask_options``), so that writes into it reach
    ``x`` as in NumPy. None for any other node, and where NumPy's answer is no view of an array (``x``
    a NumPy scalar)."""
    if node._view is not None:  # x[1:], x[None], x.T (:mod:`.lazy_axes`): the view of x's value
        base, views = node._view
        value = base.compute(**dask_options)
        for view in views:
            value = view(value)
        return value
    part = node._op
    if part != "real" and part != "imag":
        return None
    base = node._args[0]
    if type(base) is LazyArray:
        if _stands_for_scalar(base):
            return None
        base = base.compute(**dask_options)
    if type(base) is not np.ndarray:
        return None
    view = getattr(base, part)
    return view if view.dtype == node._dtype else None


def _settle(x: LazyArray) -> None:
    """Compute a view of ``x`` (``x[1:]``, ``x.real``: :mod:`.lazy_axes`) once ``x`` is computed."""
    if x._value is None and x._view[0]._value is not None:
        x.compute()


def _node(op_token: Any, args: tuple, dtype: np.dtype, shape: tuple[int, ...], program: tuple | None,
          leaves: tuple | None) -> LazyArray:
    node = object.__new__(LazyArray)
    node._op, node._args, node._dtype, node._shape = op_token, args, dtype, shape
    node._program, node._leaves, node._value, node._view, node._views = program, leaves, None, None, None
    return node


def force(x: Any) -> Any:
    """``x``'s value: a LazyArray's ndarray, or over dask arrays the dask array (which stays lazy)."""
    if type(x) is not LazyArray:
        return x
    return forcing.to_dask(x) if x._value is None and forcing.on_dask(x) else x.compute()


def as_numpy(x: Any) -> Any:
    """What NumPy would hold in ``x``'s place: ``force(x)``, but for a LazyArray standing for a NumPy
    scalar (not over dask arrays) that scalar, so NumPy answers as for it (``out=`` refused, no
    ``in``, ``copy()`` hashable) and nothing it is handed can change the kept value."""
    if type(x) is LazyArray and not x._shape and _stands_for_scalar(x) \
            and (x._value is not None or not forcing.on_dask(x)):
        return x.compute()[()]
    return force(x)


def force_all(x: Any) -> Any:
    """``x`` with every LazyArray in it (also inside lists, tuples and dicts) forced to its ndarray
    (to its NumPy scalar where it stands for one: :func:`as_numpy`), as NumPy's functions get them."""
    kind = type(x)
    if kind is LazyArray:
        return as_numpy(x)
    if kind is tuple or kind is list:
        return kind(force_all(item) for item in x)
    if kind is dict:
        return {key: force_all(value) for key, value in x.items()}
    return x


def numpy_call(function: Callable, args: tuple, kwargs: dict) -> Any:
    """``function(*args, **kwargs)`` computed by NumPy on the forced arguments; what NumPy returns of
    a forced LazyArray argument (an ``out=``, by keyword or position, alone or in a tuple) is that
    LazyArray, NumPy having written into its value, as NumPy returns the ``out`` it is given."""
    forced_args, forced_kwargs = force_all(args), force_all(kwargs)
    result = function(*forced_args, **forced_kwargs)
    given = {}
    for original, forced in zip((*args, *kwargs.values()), (*forced_args, *forced_kwargs.values())):
        pairs = zip(original, forced) if type(original) is tuple else ((original, forced),)
        given.update((id(value), lazy_array) for lazy_array, value in pairs if type(lazy_array) is LazyArray)
    if not given:
        return result
    if type(result) is tuple:
        return tuple(given.get(id(item), item) for item in result)
    return given.get(id(result), result)


def _forwarded(name: str) -> property:
    def get(self):
        value = getattr(as_numpy(self), name)
        if not callable(value):
            return value

        def method(*args: Any, **kwargs: Any) -> Any:
            # (forced first: NumPy's own methods, ``std`` say, ran their in-place steps on a
            # LazyArray ``out=``, whose in-place operators rebind: silently wrong)
            return numpy_call(value, args, kwargs)
        method.__name__ = method.__qualname__ = name
        method.__doc__ = value.__doc__
        return method

    get.__name__ = name
    return property(get, doc=f"``ndarray.{name}`` of the computed value (forces it), or of the NumPy "
                             f"scalar the LazyArray stands for.")


def _install_ndarray_attributes() -> None:
    """Every other public ndarray attribute and method, and DLPack's, on the computed value."""
    for name in dir(np.ndarray):
        if name.startswith("__dlpack"):  # (methods: NumPy 2.0 calls them from the type)
            setattr(LazyArray, name, lambda self, *a, _n=name, **k: getattr(as_numpy(self), _n)(*a, **k))
        elif not name.startswith("_") and not hasattr(LazyArray, name):
            setattr(LazyArray, name, _forwarded(name))


_install_ndarray_attributes()

