"""LazyArray's ``real`` and ``imag`` (and ``np.real``/``np.imag``) as NumPy's views, and its writable attributes.

For NumPy, ``a.real`` and ``a.imag`` are views of ``a``: writing into them writes into ``a``.
So they are for a LazyArray:

* of a computed LazyArray (always ``lazy(a)`` itself), the answer wraps NumPy's view of the
  value: ``lazy(a).real[0] = 0`` and ``np.real(lazy(a))[...] = 0`` write into ``a``, and
  ``lazy(a).imag`` of a real ``a`` is NumPy's read-only zeros (writing raises NumPy's error);
* of an expression not computed yet, asking for it computes nothing (duck-array checks such as
  xarray's look the attributes up): it is captured, and fused into the expressions that use it;
  forced itself, it computes the expression and is NumPy's view of that value
  (:func:`fusenum.frontend.lazy._part_view`), so writes reach the expression's value; and once the
  expression is computed, it is that view wherever it is used (the ``_view`` of :mod:`.lazy_axes`);
* of a result that stands for a NumPy scalar (a full reduction, a ufunc of 0-d operands), it
  stands for the scalar's part, a NumPy scalar too.

The attributes NumPy lets one assign are assignable, with NumPy's meaning and errors:
``x.real = v``, ``x.imag = v`` and ``x.flat = v`` write into the value (as ``x[...] = v``
does: for ``lazy(a)``, into ``a``), and ``x.shape``, ``x.dtype`` and ``x.strides`` make ``x``
a new view of its value (``lazy(a)`` is a view of ``a``: ``a`` keeps its shape, as a view's
base does). For a result standing for a NumPy scalar they raise NumPy's ``AttributeError``.

What changes the array object itself acts on the LazyArray's kept value, not on a throwaway view:
``x.setflags(write=False)`` and ``x.flags.writeable = False`` make ``x`` read-only (NumPy's errors
for writes into it, ``out=x`` included; ``a`` itself stays writeable, as a view's base does), and
``x.resize(shape)`` of the same size reshapes ``x`` as ``x.shape = shape`` does. A size change
is refused (:class:`~fusenum.InvalidArgumentError`): NumPy resizes only an array that owns its data.
For a result standing for a NumPy scalar, all three are the scalar's (no effect, or its error).
"""
from __future__ import annotations

import math
import operator
import warnings
import weakref
from typing import Any, Callable

import numpy as np

from ..errors import InvalidArgumentError, warn
from ..ir.ops import OPS
from .lazy import (LazyArray, _stands_for_scalar, as_numpy, capture_operation, force, force_all, in_byte_order,
                   lazy)
from .lazy_operators import _numpy_scalar


def part(x: LazyArray, name: str) -> Any:
    """``x.real`` (``name`` ``"real"``) or ``x.imag``: NumPy's view, see the module docstring."""
    value = x._value
    if value is not None:
        if _stands_for_scalar(x):
            return _numpy_scalar(getattr(value[()], name))
        return lazy(getattr(value, name))
    result = capture_operation(OPS[name], (x,))
    if result is None:
        return getattr(x.compute(), name)
    if not x._dtype.isnative:  # (an in-place operator's result on a byte-swapped target: NumPy's view keeps it)
        result = in_byte_order(result, result._dtype.newbyteorder(x._dtype.byteorder))
    if (x._dtype.kind == "c" or name == "real") and not _stands_for_scalar(x):
        mark_view(result, x, operator.attrgetter(name))  # (see the module docstring)
    return result


def mark_view(captured: LazyArray, x: LazyArray, view: Callable[[np.ndarray], np.ndarray]) -> None:
    """Mark ``captured`` as the view ``view`` makes of unforced ``x``'s value: its ``_view`` is ``x``'s
    own base and views, then ``view``, where ``x`` is such a view itself (chains stay one level
    deep), else ``x`` and ``view``. Forced, the view is applied to the base's value
    (:func:`fusenum.frontend.lazy._part_view`); once the base is computed, it is that view wherever it
    is used (:func:`fusenum.frontend.lazy._settle`). The base keeps a weak reference to it, so that
    the view is taken of the value the base has now before the base becomes another view of it
    (:func:`settle_views`)."""
    base, views = (x, ()) if x._view is None else x._view
    captured._view = base, views + (view,)
    known = base._views
    if known is None:
        base._views = known = []
    elif len(known) >= 8 and not len(known) & (len(known) - 1):  # (at powers of two: a loop of x[i])
        known[:] = [ref for ref in known if ref() is not None]
    known.append(weakref.ref(captured))


def settle_views(x: LazyArray) -> None:
    """Before computed ``x`` is made another view of its value (``x.shape = ...``, ``x.resize``) or
    its value's flags change (``x.setflags(write=False)``), take the views captured of it while it
    was unforced (``v = x[1:]``): in NumPy ``v`` is a view of ``x``'s memory as ``x`` was, whose shape,
    dtype and flags do not follow ``x``'s."""
    known, x._views = x._views, None
    if known is None or type(x._value) is not np.ndarray:
        return
    for ref in known:
        captured = ref()
        if captured is not None and captured._value is None and captured._view is not None:
            captured.compute()


def real_function(val: Any) -> Any:
    """``np.real(val)`` of a LazyArray: ``val.real``, as NumPy answers for an array."""
    return part(val, "real") if type(val) is LazyArray else np.real(force_all(val))


def imag_function(val: Any) -> Any:
    """``np.imag(val)`` of a LazyArray: ``val.imag``, as NumPy answers for an array."""
    return part(val, "imag") if type(val) is LazyArray else np.imag(force_all(val))


def _refuse_on_scalar(x: LazyArray, name: str) -> None:
    """NumPy's error for assigning attribute ``name`` of a NumPy scalar, if ``x`` stands for one."""
    if _stands_for_scalar(x):
        raise AttributeError(f"attribute '{name}' of 'numpy.generic' objects is not writable")


def _writer(name: str) -> Callable:
    """The setter of ``name`` (``real``, ``imag``, ``flat``): assigns into the computed value."""
    def set_part(self: LazyArray, value: Any) -> None:
        _refuse_on_scalar(self, name)
        setattr(self.compute(), name, force_all(value))
    return set_part


def _reviewer(name: str) -> Callable:
    """The setter of ``name`` (``shape``, ``dtype``, ``strides``): the LazyArray becomes a new view
    of its value with ``name`` set by NumPy (NumPy's errors and warnings; fusenum's error for a
    dtype it does not compile). Expressions captured before keep the old view."""
    def set_layout(self: LazyArray, value: Any) -> None:
        _refuse_on_scalar(self, name)
        view = self.compute().view()
        settle_views(self)
        new = force_all(value)
        _warning_at_callers_line(lambda: setattr(view, name, new))
        _rebind(self, view)
    return set_layout


def _warning_at_callers_line(assign: Callable[[], None]) -> None:
    """Run ``assign``, giving NumPy's warnings from it again at the user's line: NumPy attributes
    them to the line that assigned the attribute, here fusenum's (NumPy 2.5 deprecates assigning
    ``shape`` and ``dtype``, 2.4 ``strides``), where the default filters would hide them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assign()
    for given in caught:
        warn(str(given.message), given.category)


def _rebind(x: LazyArray, view: np.ndarray) -> None:
    """Make ``x`` the leaf ``lazy(view)`` (expressions captured before keep the old value)."""
    leaf = lazy(view)
    for field in LazyArray._FIELDS:
        setattr(x, field, getattr(leaf, field))


def _kept(x: LazyArray) -> Any:
    """The object whose flags and shape ``x``'s own are: its kept value (computed first), the NumPy
    scalar it stands for, or over dask arrays the dask array (which has neither: its error)."""
    value = as_numpy(x)
    if type(value) is not np.ndarray:
        return value
    settle_views(x)  # (their flags are their own, as NumPy's views taken before are)
    return x._value


def flags(self: LazyArray) -> Any:
    """``ndarray.flags`` of the kept value: assigning ``writeable`` sets it on that value."""
    return _kept(self).flags


def setflags(self: LazyArray, write: Any = None, align: Any = None, uic: Any = None) -> None:
    """``ndarray.setflags`` on the kept value, so that ``write=False`` makes ``self`` read-only."""
    _kept(self).setflags(write, align, uic)


def resize(self: LazyArray, *new_shape: Any, refcheck: bool = True) -> None:
    """``ndarray.resize`` to the same size (``self`` becomes a view of its value in the new shape,
    NumPy's errors included); a new size is refused, as NumPy refuses it for a view."""
    value = _kept(self)
    if type(value) is not np.ndarray:
        return value.resize(*new_shape, refcheck=refcheck)
    view = value.view()
    size = _requested_size(new_shape) if new_shape else view.size  # (``resize()`` changes nothing)
    if size is not None and size != view.size:
        raise InvalidArgumentError(
            f"LazyArray.resize() cannot change the size ({view.size} elements to {size}): a "
            f"LazyArray is a view of its value, and NumPy resizes only an array that owns its data; "
            f"use np.resize(x, shape) (repeats the values), or b = np.array(x); b.resize(shape) "
            f"(pads with zeros)")
    view.resize(*new_shape, refcheck=False)  # NumPy's errors; a view never reallocates: nothing to check
    _rebind(self, view)


def _requested_size(new_shape: tuple) -> int | None:
    """The size of the shape given to ``resize`` (None where NumPy is to word the error)."""
    shape = new_shape[0] if len(new_shape) == 1 else new_shape
    try:
        dims = [operator.index(n) for n in shape] if np.iterable(shape) else [operator.index(shape)]
    except TypeError:
        return None
    return math.prod(dims) if min(dims, default=0) >= 0 else None


def _install() -> None:
    """Install ``real``, ``imag`` and the setters on LazyArray."""
    for name in ("real", "imag"):
        def get(self: LazyArray, name: str = name) -> Any:
            return part(self, name)
        setattr(LazyArray, name, property(get, _writer(name), doc=f"``ndarray.{name}``: see :mod:`{__name__}`."))
    LazyArray.flat = property(lambda self: force(self).flat, _writer("flat"),
                              doc="``ndarray.flat`` of the computed value (forces it); assignable.")
    for name in ("shape", "dtype"):
        getter = getattr(LazyArray, name).fget
        setattr(LazyArray, name, property(getter, _reviewer(name), doc=getter.__doc__))
    LazyArray.flags = property(flags, doc=flags.__doc__)
    for method in (setflags, resize):
        setattr(LazyArray, method.__name__, method)
    LazyArray.strides = property(lambda self: force(self).strides, _reviewer("strides"),
                                 doc="``ndarray.strides`` of the computed value (forces it); assignable.")


_install()
