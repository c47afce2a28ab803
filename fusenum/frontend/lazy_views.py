"""LazyArray's ``real`` and ``imag`` (and ``np.real``/``np.imag``) as NumPy's views, and its writable attributes.

For NumPy, ``a.real`` and ``a.imag`` are views of ``a``: writing into them writes into ``a``.
So they are for a LazyArray:

* of a computed LazyArray (always ``lazy(a)`` itself), the answer wraps NumPy's view of the
  value: ``lazy(a).real[0] = 0`` and ``np.real(lazy(a))[...] = 0`` write into ``a``, and
  ``lazy(a).imag`` of a real ``a`` is NumPy's read-only zeros (writing raises NumPy's error);
* of an expression not computed yet, asking for it computes nothing (duck-array checks such as
  xarray's look the attributes up): it is captured, and fused into the expressions that use it;
  forced itself, it computes the expression and is NumPy's view of that value
  (:func:`fusenum.frontend.lazy._part_view`), so writes reach the expression's value;
* of a result that stands for a NumPy scalar (a full reduction, a ufunc of 0-d operands), it
  stands for the scalar's part, a NumPy scalar too.

The attributes NumPy lets one assign are assignable, with NumPy's meaning and errors:
``x.real = v``, ``x.imag = v`` and ``x.flat = v`` write into the value (as ``x[...] = v``
does: for ``lazy(a)``, into ``a``), and ``x.shape``, ``x.dtype`` and ``x.strides`` make ``x``
a new view of its value (``lazy(a)`` is a view of ``a``: ``a`` keeps its shape, as a view's
base does). For a result standing for a NumPy scalar they raise NumPy's ``AttributeError``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..ir.ops import OPS
from .lazy import LazyArray, _stands_for_scalar, capture_operation, force, force_all, lazy
from .lazy_operators import _numpy_scalar


def part(x: LazyArray, name: str) -> Any:
    """``x.real`` (``name`` ``"real"``) or ``x.imag``: NumPy's view, see the module docstring."""
    value = x._value
    if value is not None:
        if _stands_for_scalar(x):
            return _numpy_scalar(getattr(value[()], name))
        return lazy(getattr(value, name))
    result = capture_operation(OPS[name], (x,))
    return getattr(x.compute(), name) if result is None else result


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
        setattr(view, name, force_all(value))
        leaf = lazy(view)
        for field in LazyArray._FIELDS:
            setattr(self, field, getattr(leaf, field))
    return set_layout


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
    LazyArray.strides = property(lambda self: force(self).strides, _reviewer("strides"),
                                 doc="``ndarray.strides`` of the computed value (forces it); assignable.")


_install()
