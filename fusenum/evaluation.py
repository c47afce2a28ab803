"""``fusenum.evaluate``: names -> values, (text, dtypes) -> plan, plan -> result.

The path of a repeated call is short on purpose: one dict lookup for the parsed
text, one lookup per name, one dict lookup for the plan keyed on the text and
the operands' dtypes, and then the runtime.

Python scalars bound to names are *weak*, as in NumPy (``a + x`` with an int8
``a`` and a Python int ``x`` is int8). They are kernel operands, so a loop
that changes ``x`` reuses one kernel. The rare expression that combines such a
variable only with other constants (``x * 2 + a``) is computed the way Python
computes ``x * 2``, which needs the value: such plans are specialised per value.
"""
from __future__ import annotations

import sys
from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .errors import ExpressionError
from .expr import Parsed, parse
from .ir.typing import PY_SCALARS, Builder, NeedsValue, Operand, scalar_key, weak_var
from .runtime import Plan, execute

if TYPE_CHECKING:
    from .lazy import LazyArray

#: Parsed texts and plans kept (least recently created are dropped first).
MAX_ENTRIES = 4096
#: Value-specialised plans kept per expression.
MAX_VALUE_PLANS = 64

_MISSING = object()


class Template(Protocol):
    """What a plan is built from: a parsed text, or a lazy program (:class:`fusenum.forcing.Program`)."""

    names: tuple[str, ...]  # one label per bound value

    def build(self, builder: Builder, operands: list[Operand]) -> Operand: ...


_parsed: "OrderedDict[str, Parsed]" = OrderedDict()
_plans: "OrderedDict[tuple, object]" = OrderedDict()


def evaluate(ex: str | LazyArray, local_dict: dict | None = None, global_dict: dict | None = None,
             out: np.ndarray | None = None, order: str = "K", casting: str = "same_kind") -> np.ndarray:
    """Evaluate array expression ``ex`` in one compiled pass, with NumPy's result.

    Names are looked up in ``local_dict`` then ``global_dict``; each defaults to
    the caller's locals or globals. Values go through ``np.asarray`` except
    Python scalars, which stay weakly typed as NumPy treats them. The result
    has the dtype, shape and values NumPy gives for the same expression; it is
    written into ``out`` if given (its shape must be the result's; ``casting``
    as in NumPy), else into a new array laid out as ``order`` says
    (``'K'`` follows the inputs, ``'A'``, ``'C'``, ``'F'``). A scalar result is
    a 0-d array.

    ``ex`` may also be a :class:`~fusenum.LazyArray` (which holds its own
    operands, so the dicts do not apply): see :func:`fusenum.lazy.evaluate_lazy`.
    """
    if type(ex) is not str:
        from .lazy import LazyArray, evaluate_lazy
        if isinstance(ex, LazyArray):
            if local_dict is not None or global_dict is not None:
                raise TypeError("local_dict and global_dict do not apply to a LazyArray, "
                                "which holds its operands")
            return evaluate_lazy(ex, out, order, casting)
    parsed = _parsed.get(ex)
    if parsed is None:
        parsed = _remember(_parsed, ex, parse(ex))
    if local_dict is None or global_dict is None:
        frame = sys._getframe(1)
        if local_dict is None:
            local_dict = frame.f_locals
        if global_dict is None:
            global_dict = frame.f_globals
    values = []
    key = [ex]
    for name in parsed.names:
        # .get with a sentinel: a raised KeyError would cost more than the whole kernel call
        value = local_dict.get(name, _MISSING)
        if value is _MISSING:
            value = global_dict.get(name, _MISSING)
            if value is _MISSING:
                column = parsed.columns[parsed.names.index(name)]
                raise ExpressionError(f"unknown name {name!r}", parsed.text, column)
        kind = type(value)
        if kind is np.ndarray:
            key.append(value.dtype)
        elif kind in PY_SCALARS:
            key.append(scalar_key(value))
        else:
            value = np.asarray(value)
            key.append(value.dtype)
        values.append(value)
    key = tuple(key)
    plan = _plans.get(key)
    if type(plan) is not Plan:
        plan = cached_plan(key, parsed, values)
    return execute(plan, values, parsed.names, out, order, casting)


def cached_plan(key: tuple, template: Template, values: list) -> Plan:
    """The plan for ``template`` typed for ``values``, from the plan cache both front ends share.

    ``key`` says what the plan depends on (the template and the values'
    descriptors), never the values themselves. The front ends' keys cannot
    collide: a text's key starts with the text, a lazy program with a leaf
    descriptor.
    """
    plan = _plans.get(key)
    if plan is None:
        plan = _remember(_plans, key, _make_plan(template, values))
    if type(plan) is _ByValue:
        plan = plan.plan_for(template, values)
    return plan


def _remember(table: OrderedDict, key, value):
    table[key] = value
    if len(table) > MAX_ENTRIES:
        table.popitem(last=False)
    return value


def _make_plan(parsed: Template, values: list):
    """The plan for these values' dtypes; a :class:`_ByValue` if it must know some values."""
    literal: frozenset = frozenset()
    while True:
        try:
            plan = _build_plan(parsed, values, literal)
        except NeedsValue as needed:
            literal |= needed.sources
            continue
        if not literal:
            return plan
        by_value = _ByValue(literal)
        by_value.plans[by_value.key(values)] = plan
        return by_value


def _build_plan(parsed: Template, values: list, literal: frozenset) -> Plan:
    """Type the expression for these values (the ``literal`` ones by value)."""
    builder = Builder()
    operands = []
    for index, (name, value) in enumerate(zip(parsed.names, values)):
        if type(value) is np.ndarray:
            operands.append(builder.array(index, value.dtype, label=name))
        elif index in literal:
            operands.append(value)
        else:
            operands.append(weak_var(index, value))
    return Plan(*builder.finish(parsed.build(builder, operands)), values)


class _ByValue:
    """Plans for an expression whose typing depends on some Python-scalar values."""

    def __init__(self, indices: frozenset):
        self.indices = tuple(sorted(indices))
        self.plans: OrderedDict = OrderedDict()

    def key(self, values: list) -> tuple:
        # repr tells -0.0 from 0.0 and makes every NaN one key
        return tuple((type(values[i]), repr(values[i])) for i in self.indices)

    def plan_for(self, parsed: Template, values: list) -> Plan:
        key = self.key(values)
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = _build_plan(parsed, values, frozenset(self.indices))
            if len(self.plans) > MAX_VALUE_PLANS:
                self.plans.popitem(last=False)
        return plan


def clear_plans() -> None:
    _parsed.clear()
    _plans.clear()
