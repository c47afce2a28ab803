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

:func:`~.explain.explain` (:mod:`.explain`, also ``LazyArray.explain()``) describes what a
call would run.

Only :func:`evaluate` is imported with the package: the lazy front end
(:mod:`.lazy_arrays`, which installs LazyArray's protocols), :mod:`.explain` and
:mod:`.dask_graph` are imported when first used (``fusenum.lazy``,
``fusenum.explain``, a dask operand), so that a program that evaluates strings
does not pay for them at ``import fusenum``.

Both hand the runtime the same IR for the same expression, so they share
plans and kernels.
"""
from .evaluation import evaluate

__all__ = ["evaluate"]
