"""The lazy front end, complete: :class:`~.lazy.LazyArray` with every protocol installed on it.

:mod:`.lazy` defines the class; :mod:`.lazy_operators`, :mod:`.lazy_numpy`, :mod:`.lazy_views`,
:mod:`.lazy_axes`, :mod:`.lazy_pickle` and :mod:`.explain` install its operators, NumPy protocols,
views, new axes (``x[None, ...]``), pickling and ``explain()``. Importing this module
(``fusenum.lazy`` and ``fusenum.LazyArray`` do, on first use) imports them all; :mod:`.lazy_pickle`
does too, since unpickling a LazyArray imports only it.
"""
from . import lazy_pickle  # noqa: F401  (imports every module that installs a LazyArray protocol)
from .lazy import LazyArray, lazy

__all__ = ["LazyArray", "lazy"]
