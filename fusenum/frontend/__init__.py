"""The front ends: where expressions come from, built into typed IR through one Builder.

* strings: :func:`evaluate` parses numexpr-style text (:mod:`.parser`: Python's
  ``ast`` against an allowlist, never ``eval``) and looks names up in the
  caller's frame or the given dicts (:mod:`.evaluation`);
* lazy arrays: :func:`lazy` wraps arrays whose operators, ufuncs and NumPy
  functions record operations instead of computing (:mod:`.lazy`,
  :mod:`.lazy_operators`, :mod:`.lazy_numpy`, :mod:`.capture`), and forcing turns the recorded graph
  into a program that keys the plan cache (:mod:`.forcing`);
* dask arrays, bound to names or wrapped by :func:`lazy`: the same typed plan
  becomes a dask graph of fused kernels (:mod:`.dask_graph`).

:func:`explain` (:mod:`.explain`, also ``LazyArray.explain()``) describes what a
call would run.

Both hand the runtime the same IR for the same expression, so they share
plans and kernels.
"""
from . import lazy_numpy  # noqa: F401  (installs LazyArray's NumPy protocols and reduction methods)
from . import lazy_operators  # noqa: F401  (installs LazyArray's Python operators)
from . import lazy_pickle  # noqa: F401  (installs LazyArray.__reduce__: pickles the expression)
from .evaluation import evaluate
from .explain import Explanation, explain
from .lazy import LazyArray, lazy

__all__ = ["Explanation", "LazyArray", "evaluate", "explain", "lazy"]
