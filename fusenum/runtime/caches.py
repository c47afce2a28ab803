"""One way to clear every cache: each module that keeps a memo table registers how to clear it.

Tables live with the module that fills them (the kernel cache, the plan cache,
staged plans, parsed texts, ...); each registers a clearing function with
:func:`owner` when it is imported. :func:`clear_cache` asks every owner in
turn. Settings that change machine code (SIMD level, vector math) are part of
every kernel key, so they never need this.

The memo tables are bounded ``OrderedDict`` s filled by :func:`remember` and emptied by
:func:`empty`, under one lock: reads (``table.get``) need none, but two threads changing one
``OrderedDict`` at once (a key's ``__eq__`` or ``__hash__`` in Python lets another thread run in the
middle of an insertion) leave its order out of step with its contents, and its ``popitem`` then
raised ``KeyError`` (four threads evaluating new expressions with a full plan cache).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, TypeVar

from ..codegen import loader, locks

_clearers: list[Callable[[], None]] = []
_changing = locks.lock()  # (re-entrant: a signal handler may call fusenum while a table changes)
V = TypeVar("V")


def remember(table: OrderedDict, key, value: V, limit: int) -> V:
    """Keep ``value`` under ``key`` in ``table``, dropping its oldest entries beyond ``limit``;
    returns ``value``. Safe from several threads at once."""
    with _changing:
        table[key] = value
        while len(table) > limit:
            table.popitem(last=False)
    return value


def empty(*tables: OrderedDict) -> None:
    """Empty ``tables`` (memo tables filled by :func:`remember`)."""
    with _changing:
        for table in tables:
            table.clear()


def owner(clear: Callable[[], None]) -> Callable[[], None]:
    """Register ``clear`` (a function that empties one module's tables); returns it unchanged."""
    _clearers.append(clear)
    return clear


def clear_cache() -> None:
    """Forget every compiled kernel, plan and parsed expression (cache statistics restart at zero)."""
    for clear in _clearers:
        clear()
    loader.release_dropped()  # the machine code of the kernels dropped above (and before)
