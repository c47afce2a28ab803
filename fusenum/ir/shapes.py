"""Broadcasting of shapes, as NumPy's rules give it, at every number of dimensions an array can have.

``np.broadcast_shapes`` goes through ``np.broadcast``, which stops at 32 dimensions (NumPy 2.4:
``RuntimeError``), where arrays, ufuncs and fusenum's kernels take up to 64.
"""
from __future__ import annotations

import numpy as np

#: The most dimensions ``np.broadcast_shapes`` takes (and so words its own error for).
_NUMPY_BROADCAST_MAX_DIMS = 32


def broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape ``shapes`` broadcast to; NumPy's ``ValueError`` (its words) if they do not."""
    ndim = max((len(shape) for shape in shapes), default=0)
    result = []
    # Axis by axis, then shape by shape, as NumPy looks: a mismatch names the pair NumPy's names.
    for axis in range(ndim):
        size, setter = 1, 0
        for index, shape in enumerate(shapes):
            position = axis - (ndim - len(shape))
            if position < 0 or shape[position] == 1 or shape[position] == size:
                continue
            if size != 1:
                _mismatch(shapes, setter, index)
            size, setter = shape[position], index
        result.append(size)
    return tuple(result)


def _mismatch(shapes: tuple[tuple[int, ...], ...], first: int, second: int) -> None:
    """Raise NumPy's ``ValueError`` for ``shapes``, whose ``first`` and ``second`` clash: NumPy's own
    where it can word it, else in its words."""
    if max(len(shape) for shape in shapes) <= _NUMPY_BROADCAST_MAX_DIMS:
        np.broadcast_shapes(*shapes)  # (raises)
    raise ValueError(f"shape mismatch: objects cannot be broadcast to a single shape.  Mismatch is "
                     f"between arg {first} with shape {tuple(shapes[first])} and arg {second} with shape "
                     f"{tuple(shapes[second])}.")
