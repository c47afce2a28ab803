"""Expression texts as ``fusenum.evaluate`` keeps them: parsed, or recalled from the disk cache.

A :class:`StoredText` is the plan cache's template for a text (:mod:`fusenum.runtime.plan_cache`).
It keeps the typed IR of every plan built from it, and the disk cache keeps them for later
processes (:mod:`fusenum.runtime.plan_store`). A process whose disk cache holds the text's record
takes its names from there, and builds its plans from the typed IR recalled: it parses the text only
to type it for operands the record has no plan for.
"""
from __future__ import annotations

from ..codegen import locks
from ..ir.typing import Builder, Operand
from ..runtime import plan_store
from .parser import Parsed, parse

# Guards the texts' records: one lock for all (fork handlers cannot be unregistered, so not one per
# text), re-entrant and released in a forked child as fusenum's locks are. A plain lock per text hung
# a signal handler's call of the text its thread was recording, and a child forked meanwhile.
_lock = locks.lock()


class StoredText:
    """A text's names and their columns, its typed plans by operand descriptors, and (when it had to
    be parsed) its template."""

    __slots__ = ("text", "names", "columns", "_parsed", "_record")
    #: ``fusenum.evaluate``'s ``casting=`` covers the inputs of each operation, as NumPy's ufuncs' does.
    records_casts = True

    def __init__(self, text: str, parsed: Parsed | None, record: plan_store.Record):
        self.text, self.names, self.columns = text, record.names, record.columns
        self._parsed = parsed
        self._record = record

    @property
    def template(self) -> tuple:
        return self.parsed().template

    def parsed(self) -> Parsed:
        """The text parsed (once, the first time a plan must be typed)."""
        if self._parsed is None:
            self._parsed = parse(self.text)
        return self._parsed

    def build(self, builder: Builder, operands: list[Operand]) -> Operand:
        return self.parsed().build(builder, operands)

    def typed_plan(self, key: tuple) -> tuple | None:
        """The typed IR ``(root, sources, casts)`` kept for the plan-cache key ``key``, or None."""
        return self._record.plans.get(key[1:])

    def keep_typed_plan(self, key: tuple, root, sources: tuple, casts: tuple) -> None:
        """Keep a newly typed plan, here and in the disk cache."""
        with _lock:
            self._record.plans[key[1:]] = (root, sources, casts)
            record = plan_store.Record(self.names, self.columns, dict(self._record.plans))
        plan_store.store(self.text, record)


def stored_text(text: str) -> StoredText:
    """``text`` recalled from the disk cache, else parsed (:class:`~fusenum.ExpressionError` if invalid)."""
    record = plan_store.recall(text) if type(text) is str else None
    if record is not None:
        return StoredText(text, None, record)
    parsed = parse(text)
    return StoredText(text, parsed, plan_store.Record(parsed.names, parsed.columns, {}))
