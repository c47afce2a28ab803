"""Telling a dask array from other values without importing dask (or :mod:`.dask_graph`).

A call binds its names on every call, so the check must be cheap, and ``import fusenum`` must
import neither dask nor the code that builds dask graphs: a dask array is recognised by its
type's module name.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ir.operands import PY_SCALARS


def is_dask_type(kind: type) -> bool:
    """Whether ``kind`` is ``dask.array.Array`` (or a subclass), told without importing dask."""
    return any(k.__name__ == "Array" and k.__module__.startswith("dask.array") for k in kind.__mro__)


def is_dask_array(x: Any) -> bool:
    """Whether ``x`` is a dask array."""
    return is_dask_type(type(x))


def has_dask(values) -> bool:
    """Whether any of ``values`` (ndarrays, Python scalars, ...) is a dask array."""
    for value in values:
        kind = type(value)
        if kind is not np.ndarray and kind not in PY_SCALARS and is_dask_type(kind):
            return True
    return False
