"""Forcing a lazy expression graph: graph -> postfix program -> cached plan -> result.

A captured expression is a graph of :class:`~fusenum.frontend.lazy.LazyArray` nodes
whose leaves are ndarrays and Python scalars. Its :class:`Program` is a tuple
of tokens in postfix order that says everything the compiled code depends on
and nothing about the values:

* a new leaf: its descriptor (an ndarray's dtype; a Python scalar's type, or for
  an ``int`` the integer dtypes that can hold it -- the same key
  ``fusenum.evaluate`` uses for names bound to Python scalars);
* ``k >= 0``: leaf ``k`` again (the same ndarray object used twice);
* ``~k < 0``: the result of operation ``k`` again (a shared subexpression);
* an op-table name, ``("astype", dtype[, "array" | "scalar"])`` (``"array"``: an in-place
  operator's 0-d result, which NumPy keeps an array; ``"scalar"``: the astype of a computed
  0-d LazyArray that stands for a NumPy scalar), or ``("reduce", name, axis,
  keepdims, dtype)`` (a reduction, arguments in the canonical form of
  :func:`fusenum.frontend.capture.reduction`; built with ``Builder.reduce``): apply it
  to the top of the stack.

A leaf may also be a dask array (:func:`fusenum.lazy` of one): forcing then builds a dask graph of
fused kernels (:mod:`.dask_graph`) from the same program, typed through the same plan cache.

For the common expression -- a tree whose arrays are distinct objects -- the
program is the concatenation of its operands' programs, so capture builds it
as it goes and forcing only checks that no array repeats; other graphs (an
array used twice, shared subexpressions, very large trees) are walked once
by :func:`linearize`. The program is the key of the plan cache that
``fusenum.evaluate`` uses too, so forcing an expression seen before costs a
dict lookup and the kernel call; only a new program is typed and built into IR
(by :meth:`Program.build`, through the same :class:`~fusenum.ir.typing.Builder`
as the string front end, so equal expressions get the same IR and share
compiled kernels).

Python scalars are *weak* run-time operands, exactly like Python scalars bound
to names in ``fusenum.evaluate``: a loop that changes a coefficient reuses one
kernel. They are never merged by identity, so the key does not depend on
whether two equal numbers happen to be one object.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import dask_graph
from ..ir import nodes
from ..ir.ops import OPS
from ..ir.typing import PY_SCALARS, Builder, Operand, scalar_key
from ..runtime import cached_plan, execute
from .dask_types import has_dask


class Program(tuple):
    """A lazy expression in postfix tokens: the plan-cache key and the template to build its IR."""

    __slots__ = ()

    @property
    def names(self) -> tuple[str, ...]:
        """A label per leaf (kernel operand source), in order."""
        count = sum(1 for token in self if _is_new_leaf(token))
        return tuple(f"lazy operand {k}" for k in range(count))

    def build(self, builder: Builder, operands: list[Operand]) -> Operand:
        """The expression applied to ``operands`` (one per leaf) through ``builder``."""
        return self.replay(operands, builder.apply, lambda token, x: builder.reduce(token[1], x, *token[2:]),
                           lambda token, x: nodes.cast(x, token[1]))

    def replay(self, operands: list, apply: Callable, reduce: Callable, cast: Callable) -> Any:
        """Run the program on ``operands`` (one per leaf): ``apply(op, *args)`` for an op-table
        operation, ``reduce(token, x)`` for a reduction token, ``cast(token, x)`` for an astype token."""
        stack: list = []
        results: list = []
        leaves = 0
        for token in self:
            kind = type(token)
            if kind is str:
                op = OPS[token]
                args = stack[len(stack) - op.arity:]
                del stack[len(stack) - op.arity:]
                stack.append(apply(op, *args))
            elif kind is tuple:
                stack.append((reduce if token[0] == "reduce" else cast)(token, stack.pop()))
            elif kind is int:
                stack.append(operands[token] if token >= 0 else results[~token])
                continue
            else:
                stack.append(operands[leaves])
                leaves += 1
                continue
            results.append(stack[-1])
        return stack.pop()


def _is_new_leaf(token) -> bool:
    return type(token) not in (str, tuple, int)


def linearize(root) -> tuple[Program, list]:
    """The program of the graph under ``root`` and its leaf values (kernel operand sources).

    The arguments of a captured operation are ndarrays, Python scalars and
    LazyArrays that were not yet computed when it was captured (a computed
    one is recorded as its ndarray), so every LazyArray met here is expanded.
    Iterative, so a sum of ten thousand terms built in a loop is no recursion
    problem; each shared node is expanded once.
    """
    if root._value is not None:
        return Program((root._value.dtype,)), [root._value]
    tokens: list = []
    values: list = []
    emit = tokens.append
    array_leaves: dict[int, int] = {}
    done: dict[int, int] = {}
    stack = [root]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is tuple:  # every argument of item[0] is emitted: now the operation itself
            done[id(item[0])] = len(done)
            emit(item[0]._op)
        elif kind is np.ndarray:
            seen = array_leaves.get(id(item))
            if seen is None:
                array_leaves[id(item)] = len(values)
                values.append(item)
                emit(item.dtype)
            else:
                emit(seen)
        elif kind in PY_SCALARS:
            values.append(item)
            emit(scalar_key(item))
        elif item._op is None:  # a LazyArray over a dask array: that array is the leaf
            seen = array_leaves.get(id(item._args[0]))
            if seen is None:
                array_leaves[id(item._args[0])] = len(values)
                values.append(item._args[0])
                emit(item._dtype)
            else:
                emit(seen)
        else:  # a LazyArray
            seen = done.get(id(item))
            if seen is None:
                stack.append((item,))
                stack.extend(reversed(item._args))
            else:
                emit(~seen)
    return Program(tokens), values


def _repeats_an_array(values) -> bool:
    """Whether an ndarray occurs twice among ``values`` (equal Python scalars may share an object;
    that does not matter, as scalars are never merged)."""
    ids = [id(v) for v in values if type(v) is np.ndarray]
    return len(set(ids)) != len(ids)


def run(root, out: np.ndarray | None = None, order: str = "K", casting: str = "same_kind",
        dask_options: dict | None = None) -> np.ndarray:
    """Compute the lazy expression ``root`` in one compiled pass (into ``out`` if given); over dask
    arrays, dask's ``compute`` computes it, given ``dask_options``.

    The common expression -- a tree whose arrays are distinct objects -- has
    its program ready from capture (``root._program``); others are walked.
    """
    program, values = program_of(root)
    if has_dask(values):  # computed by dask's scheduler, through a graph of fused kernels
        dask_graph.check_options(out, order)
        return np.asarray(_dask_array(root, program, values).compute(**(dask_options or {})))
    plan = cached_plan(program, program, values)
    return execute(plan, values, (), out, order, casting)


def evaluate_lazy(r, out: np.ndarray | None = None, order: str = "K",
                  casting: str = "same_kind") -> np.ndarray:
    """``fusenum.evaluate(r, out=..., order=..., casting=...)`` for a LazyArray ``r``.

    Without ``out`` (and with ``order='K'``) this is ``r.compute()``. With
    ``out`` the value is written there, with evaluate's checks and casting,
    and ``r`` does not keep ``out`` (it is the caller's array). ``casting``
    judges that write only: each captured operation was judged when captured,
    as NumPy judges it (an operator's ``'same_kind'``, a ufunc's ``casting=``).
    """
    if out is None and order == "K":
        return r.compute()
    value = run(r, out, order, casting)
    if out is None and value.dtype != r._dtype:  # (see lazy.in_byte_order)
        value = value.astype(r._dtype, order="K")
    return value


def on_dask(root) -> bool:
    """Whether the lazy expression ``root`` (not computed) reads a dask array."""
    return has_dask(program_of(root)[1])


def to_dask(root, split_every=None):
    """The dask array of the lazy expression ``root`` over dask arrays (see :mod:`.dask_graph`)."""
    program, values = program_of(root)
    return _dask_array(root, program, values, split_every)


def _dask_array(root, program: Program, values: list, split_every=None):
    array = dask_graph.build_typed(program, program, values, split_every)
    # (fusenum computes in native byte order: a dask array of another one, as it is, keeps its dtype)
    return array if array.dtype == root.dtype else array.astype(root.dtype)


def program_of(root) -> tuple[Program, list]:
    """The program of the lazy expression ``root`` and its leaf values (see :func:`run`)."""
    if root._view is not None and root._value is None and root._view[0]._value is not None:
        root.compute()  # (``x[None]`` of an ``x`` computed since: the view of its value, lazy_axes)
    program, values = root._program, root._leaves
    if (root._value is not None or program is None
            or (len(set(map(id, values))) != len(values) and _repeats_an_array(values))):
        program, values = linearize(root)
    return Program(program), values
