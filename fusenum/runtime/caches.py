"""One way to clear every cache: each module that keeps a memo table registers how to clear it.

Tables live with the module that fills them (the kernel cache, the plan cache,
staged plans, parsed texts, ...); each registers a clearing function with
:func:`owner` when it is imported. :func:`clear_cache` asks every owner in
turn. Settings that change machine code (SIMD level, vector math) are part of
every kernel key, so they never need this.
"""
from __future__ import annotations

from typing import Callable

_clearers: list[Callable[[], None]] = []


def owner(clear: Callable[[], None]) -> Callable[[], None]:
    """Register ``clear`` (a function that empties one module's tables); returns it unchanged."""
    _clearers.append(clear)
    return clear


def clear_cache() -> None:
    """Forget every compiled kernel, plan and parsed expression (cache statistics restart at zero)."""
    for clear in _clearers:
        clear()
