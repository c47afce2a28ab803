"""Operand kinds: what the typing Builder accepts besides IR nodes, and how values are keyed.

An operand of the :class:`~fusenum.ir.typing.Builder` is an IR node, a Python
scalar (a *weak* literal, as NEP 50 calls it) or a :class:`WeakVar` (a Python
scalar bound to a name: read at run time, typed weakly). :class:`NeedsValue`
is how typing asks for a weak variable's value, :class:`Source` says where a
kernel operand comes from at run time, and :func:`scalar_key` is the
cache-key descriptor of a Python scalar. The op table and the typing rules both
use these, so they live below both.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Union

import numpy as np

from ..errors import ConstantOverflowError
from . import numpy_behaviour
from .nodes import Node
from .records import record

PyScalar = Union[bool, int, float, complex]
PY_SCALARS = (bool, int, float, complex)

#: dtypes the code generator handles.
SUPPORTED = frozenset(np.dtype(c) for c in "?bhilqBHILQefdFD")


def is_supported(dtype: np.dtype) -> bool:
    """Whether fusenum compiles ``dtype`` in either byte order. (New-style dtypes such as
    StringDType are always native and refuse ``newbyteorder``.)"""
    return dtype in SUPPORTED or (not dtype.isnative and dtype.newbyteorder("=") in SUPPORTED)


@record
class WeakVar:
    """A name bound to a Python scalar: a run-time operand that NumPy types weakly.

    ``fits`` lists the integer dtypes that can hold the value (``int`` only); it is
    part of the cache key, so typing knows whether a conversion would overflow.
    """

    source: object
    pytype: type
    fits: frozenset = frozenset()


Operand = Union[Node, PyScalar, WeakVar, bytes]  # bytes: a literal of an S dtype (ir/byte_strings.py)


class NeedsValue(Exception):
    """An operation combines a :class:`WeakVar` with constants only.

    Python computes such a combination (e.g. ``x*2`` for a Python int ``x``)
    with its own arithmetic, so the plan must know the value: the caller
    rebuilds with those variables as literals.
    """

    def __init__(self, sources):
        super().__init__(sources)
        self.sources = frozenset(sources)


@record
class Source:
    """Where kernel operand slot ``k`` comes from when a plan runs.

    ``key`` is the front end's handle for a bound value. ``dtype`` is the dtype
    to convert a weak variable to (None for arrays, which are passed as is);
    ``wrap`` converts out-of-range Python ints modulo 2**n (``np.where`` does)
    instead of raising ``OverflowError``.
    """

    key: object
    dtype: np.dtype | None = None
    wrap: bool = False

    def convert(self, value) -> np.ndarray:
        """The 0-d array a weak variable's ``value`` becomes for this slot."""
        if self.wrap:
            return np.asarray(value).astype(self.dtype)
        if (self.dtype == _BOOL and type(value) is int and not _C_LONG[0] <= value <= _C_LONG[1]
                and numpy_behaviour.bool_loops_refuse_ints_beyond_int64()):
            # The installed NumPy's loops take a Python int as a bool through a C long
            # (``logical_and(a, 2**63)`` raises), where np.asarray(value, bool) would give True
            raise ConstantOverflowError(f"Python int {_digits(value)} is out of bounds for a bool operand "
                                        "(NumPy converts it through a C long, int64)")
        return np.asarray(value, dtype=self.dtype)


_BOOL = np.dtype(bool)
_C_LONG = (-(2**63), 2**63 - 1)


def _digits(value: int) -> str:
    """``str(value)``, or its size for an int too long to print (Python refuses over 4300 digits)."""
    return str(value) if value.bit_length() <= 64 else f"<{value.bit_length()}-bit int>"


# Boundaries between the value ranges of NumPy's integer dtypes; two ints in the
# same interval fit exactly the same set of dtypes.
_INT_BOUNDS = [-(2**63), -(2**31), -(2**15), -(2**7), 0, 2**7, 2**8, 2**15, 2**16, 2**31, 2**32, 2**63, 2**64]
_INT_DTYPES = [np.dtype(c) for c in "bhilqBHILQ"]


def _fits_table():
    table = []
    for i in range(len(_INT_BOUNDS) + 1):
        probe = _INT_BOUNDS[i - 1] if i else _INT_BOUNDS[0] - 1
        table.append(frozenset(d for d in _INT_DTYPES
                               if np.iinfo(d).min <= probe <= np.iinfo(d).max))
    return table


_FITS = _fits_table()


def int_fits(value: int) -> frozenset:
    """The integer dtypes that can hold Python int ``value``."""
    return _FITS[bisect_right(_INT_BOUNDS, value)]


def scalar_key(value: PyScalar) -> type | frozenset:
    """The cache-key descriptor of Python scalar ``value``: :func:`int_fits` for an ``int``, else its type."""
    kind = type(value)
    # int_fits inlined: this is on evaluate's per-call path
    return _FITS[bisect_right(_INT_BOUNDS, value)] if kind is int else kind


def weak_var(source: object, value: PyScalar) -> WeakVar:
    """The weak operand for a name bound to Python scalar ``value``."""
    pytype = type(value)
    return WeakVar(source, pytype, int_fits(value) if pytype is int else frozenset())
