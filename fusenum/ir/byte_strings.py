"""Arrays of bytes (NumPy's ``S`` dtypes): what fusenum computes on them, and what it refuses.

An ``S<n>`` element is ``n`` bytes. fusenum compares them (``==``, ``!=``, ``<``, ``<=``, ``>``,
``>=``: NumPy's loops, which compare as if the shorter were padded with NUL bytes, byte by byte
as unsigned numbers, so trailing NULs never matter) and searches them (``contains``, numexpr's
function); every result is bool, so a bytes value never leaves the kernel. Any other operation
on a bytes operand is refused by :func:`refuse`.

``contains(haystack, needle)`` has numexpr's meaning (numexpr 2.14's ``stringcontains``): each
operand is read as a C string, up to its first NUL byte (or its whole width), and the result is
whether the needle's bytes occur in the haystack's. An empty needle occurs everywhere.
``np.strings.find(a, b) >= 0`` agrees except where an element holds a NUL byte before other
bytes (NumPy keeps embedded NULs, numexpr stops at them).
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedDTypeError, UnsupportedOperationError

#: The NumPy kind of bytes dtypes (``np.dtype("S3").kind``), also the op table's key for their rules.
KIND = "S"

#: What fusenum computes on bytes, for error messages.
WHAT_IS_COMPUTED = "bytes (S) operands are only compared (==, !=, <, <=, >, >=) and searched (contains)"


def is_bytes(dtype) -> bool:
    """Whether ``dtype`` (a dtype, or a Python type standing for a weak scalar) is a bytes dtype."""
    return isinstance(dtype, np.dtype) and dtype.kind == KIND


def c_string(value: bytes) -> bytes:
    """``value`` up to its first NUL byte: what numexpr's ``contains`` reads of an element."""
    return value.split(b"\0", 1)[0]


def contains_dtypes(haystack, needle):
    """Typing of ``contains``: two bytes operands (of any widths) give bool."""
    if not (is_bytes(haystack) and is_bytes(needle)):
        raise UnsupportedDTypeError(f"contains() takes two bytes (S) operands, not "
                                    f"{describe(haystack)}, {describe(needle)}")
    return (haystack, needle), np.dtype(bool)


def contains_fold(haystack, needle) -> np.bool_:
    """``contains`` of two constants (Python bytes, NumPy bytes scalars or 0-d arrays)."""
    arrays = [np.asarray(v) for v in (haystack, needle)]
    contains_dtypes(*(a.dtype for a in arrays))
    return np.bool_(c_string(arrays[1][()]) in c_string(arrays[0][()]))


def describe(descriptor) -> str:
    """A dtype, or ``Python int`` for the Python type of a weak scalar."""
    return f"Python {descriptor.__name__}" if isinstance(descriptor, type) else str(descriptor)


def refuse(op, descriptors: tuple) -> None:
    """Raise the error for op-table row ``op`` applied to operands with a bytes dtype, which fusenum
    does not compute: :class:`~fusenum.UnsupportedDTypeError` (a ``TypeError``, as NumPy raises)
    where NumPy has no loop for them either, :class:`~fusenum.UnsupportedOperationError` where
    NumPy computes it (``+`` concatenates bytes in NumPy 2)."""
    what = f"{op.name}() of {', '.join(map(describe, descriptors))}"
    if op.numpy is None:
        raise UnsupportedDTypeError(f"{what}: {WHAT_IS_COMPUTED}")
    try:
        with np.errstate(all="ignore"):
            op.numpy(*map(_stand_in, descriptors))
    except Exception:  # NumPy refuses them too (UFuncTypeError, a TypeError, for ufuncs)
        raise UnsupportedDTypeError(f"{what}: {WHAT_IS_COMPUTED}") from None
    raise UnsupportedOperationError(f"fusenum does not implement {what}: {WHAT_IS_COMPUTED}")


def _stand_in(descriptor):
    """An empty array of a dtype, or a Python scalar of a weak operand's type."""
    return descriptor(0) if isinstance(descriptor, type) else np.zeros(0, descriptor)
