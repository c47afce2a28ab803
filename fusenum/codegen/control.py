"""Loops and branches in LLVM IR: the one scaffold every builder uses.

* :func:`counted_loop` -- ``for (i = begin; i + step <= end; i += step)``, with
  loop-carried values;
* :func:`while_loop` and :func:`do_while` -- loops that test their condition
  before and after the body, with loop-carried values;
* :func:`if_then` -- llvmlite's ``IRBuilder.if_then`` with explicit branch
  weights (llvmlite's ``likely`` only knows 99:1), and :func:`when`, a value
  computed only on the taken branch and merged with a phi;
* :func:`entry_alloca` -- stack slots at the start of the entry block, where
  LLVM promotes them to registers; :func:`entry_buffer`, a buffer of bytes there.

Loop-carried values are phis; a value may be a tuple of values (a complex
:class:`~fusenum.codegen.emitter.Pair`), which gets a phi per part. Loops
leave the builder at the start of their exit block.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

from . import ir_text as ir

#: Branch weights (taken, not taken) for a path taken about once in a million: LLVM moves it out of
#: line and keeps the fast path's values in registers, spilling around the rare path instead.
RARE = (1, 1 << 20)


def entry_alloca(b: ir.IRBuilder, typ: ir.Type, count: int | None = None, name: str = "") -> ir.Value:
    """A stack slot (of ``count`` elements, if given) at the start of the function's entry block.

    A fixed-size slot there is static: LLVM turns it into registers (or one frame slot),
    where a slot allocated inside a loop or a later block would be a dynamic allocation.
    """
    here = b.block
    b.position_at_start(b.function.entry_basic_block)
    slot = b.alloca(typ, size=None if count is None else ir.Constant(ir.IntType(64), count), name=name)
    b.position_at_end(here)
    return slot


def entry_buffer(b: ir.IRBuilder, size: int, name: str = "") -> ir.Value:
    """``size`` bytes of stack at the start of the function's entry block (static, as for
    :func:`entry_alloca`), as an untyped ``ptr`` that any element type is loaded from and stored to."""
    here = b.block
    b.position_at_start(b.function.entry_basic_block)
    slot = b.alloca(ir.ArrayType(ir.IntType(8), size), name=name)
    slot.type = ir.PointerType()  # an opaque ptr (LLVM's alloca gives one): no element type to match
    b.position_at_end(here)
    return slot


@contextmanager
def if_then(b: ir.IRBuilder, predicate: ir.Value,
            weights: tuple[int, int] | None = None) -> Iterator[ir.Block]:
    """``with if_then(b, p):`` emits its body only where ``p`` holds; ``weights`` (taken, not taken)
    become the branch's ``!prof`` metadata. Yields the join block, as llvmlite's ``if_then`` does."""
    before = b.block
    with b.if_then(predicate) as join:
        if weights is not None:
            before.terminator.set_weights(list(weights))
        yield join


def when(b: ir.IRBuilder, predicate: ir.Value, compute: Callable[[], object], otherwise,
         weights: tuple[int, int] | None = None):
    """``compute()`` if ``predicate`` holds, else ``otherwise``; ``compute`` runs only on its branch.

    ``otherwise`` must be computed before (it is the value on the branch not taken)."""
    before = b.block
    with if_then(b, predicate, weights):
        value = compute()
        after = b.block
    return _map(lambda computed, fallback: _phi(b, computed, [(computed, after), (fallback, before)]),
                value, otherwise)


def while_loop(b: ir.IRBuilder, initial: Sequence, condition: Callable[..., ir.Value],
               body: Callable[..., Sequence], name: str = "while") -> list:
    """``while condition(*values): values = body(*values)``; returns the final values (phis)."""
    before = b.block
    header = b.append_basic_block(name)
    loop = b.append_basic_block(f"{name}.body")
    done = b.append_basic_block(f"{name}.done")
    b.branch(header)
    b.position_at_end(header)
    values = [_map(lambda part: _phi(b, part, [(part, before)]), value) for value in initial]
    b.cbranch(condition(*values), loop, done)
    b.position_at_end(loop)
    _close(b, values, body(*values))
    b.branch(header)
    b.position_at_end(done)
    return values


def do_while(b: ir.IRBuilder, initial: Sequence, body: Callable[..., tuple[ir.Value, Sequence]],
             name: str = "repeat") -> list:
    """``do { again, values = body(*values) } while (again)``; returns the last ``body``'s values."""
    before = b.block
    loop = b.append_basic_block(name)
    done = b.append_basic_block(f"{name}.done")
    b.branch(loop)
    b.position_at_end(loop)
    values = [_map(lambda part: _phi(b, part, [(part, before)]), value) for value in initial]
    again, updated = body(*values)
    _close(b, values, updated)
    b.cbranch(again, loop, done)
    b.position_at_end(done)
    return list(updated)


def counted_loop(b: ir.IRBuilder, begin: ir.Value, end: ir.Value, body: Callable[..., Sequence | None],
                 step: int = 1, carried: Sequence = (), name: str = "loop") -> list:
    """``for (i = begin; i + step <= end; i += step) carried = body(i, *carried)`` (signed compare).

    ``body`` returns the carried values' next values (nothing, if none are carried).
    Returns the final ``i`` followed by the final carried values."""
    increment = ir.Constant(begin.type, step)

    def more(i, *values):
        return b.icmp_signed("<=", b.add(i, increment), end)

    def next_iteration(i, *values):
        updated = body(i, *values)
        return [b.add(i, increment), *(updated or ())]

    return while_loop(b, [begin, *carried], more, next_iteration, name)


def rotated_counted_loop(b: ir.IRBuilder, begin: ir.Value, end: ir.Value,
                         body: Callable[..., Sequence | None], step: int = 1, carried: Sequence = (),
                         name: str = "loop") -> list:
    """:func:`counted_loop` in the shape LLVM's loop rotation gives it: a test before the loop,
    and the body itself tests whether to go round again (``if (...) do { ... } while (...)``).

    Code generation runs no loop rotation: in :func:`counted_loop`'s shape the body does not
    dominate the loop's exit, and the register allocator kept fewer constants in registers
    across a loop with a rare path (float64 ``expm1``: a constant loaded in every iteration,
    ~5% slower than ``-O3``'s rotated loop)."""
    increment = ir.Constant(begin.type, step)
    before = b.block
    loop = b.append_basic_block(f"{name}.body")
    done = b.append_basic_block(f"{name}.done")
    b.cbranch(b.icmp_signed("<=", b.add(begin, increment), end), loop, done)
    b.position_at_end(loop)
    initial = [begin, *carried]
    values = [_map(lambda part: _phi(b, part, [(part, before)]), value) for value in initial]
    updated = body(*values)
    following = b.add(values[0], increment)
    updated = [following, *(updated or ())]
    again = b.icmp_signed("<=", b.add(following, increment), end)
    _close(b, values, updated)
    last = b.block
    b.cbranch(again, loop, done)
    b.position_at_end(done)
    return [_map(lambda first, final: _phi(b, first, [(first, before), (final, last)]), start, value)
            for start, value in zip(initial, updated, strict=True)]


def _phi(b: ir.IRBuilder, like: ir.Value, incoming) -> ir.PhiInstr:
    phi = b.phi(like.type)
    for value, block in incoming:
        phi.add_incoming(value, block)
    return phi


def _close(b: ir.IRBuilder, phis: list, updated: Sequence) -> None:
    """Give each phi (or tuple of phis) its value from the end of the loop body."""
    for phi, value in zip(phis, updated, strict=True):
        _map(lambda phi_part, part: phi_part.add_incoming(part, b.block), phi, value)


def _map(function, value, *others):
    """``function`` over the parts of ``value`` (and of ``others``, part by part); a tuple
    (a :class:`~fusenum.codegen.emitter.Pair`) comes back as the same kind of tuple."""
    if isinstance(value, tuple):
        parts = [function(*parts) for parts in zip(value, *others, strict=True)]
        return value._make(parts) if hasattr(value, "_make") else tuple(parts)
    return function(value, *others)
