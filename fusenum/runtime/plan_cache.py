"""The plan cache both front ends share: (template, value descriptors) -> typed plan.

A *template* is what a plan is built from: a parsed text
(:mod:`fusenum.frontend.parser`) or a lazy program
(:mod:`fusenum.frontend.forcing`). The key says what the plan depends on (the
template and the values' descriptors), never the values themselves, except
for the rare expression whose typing depends on a Python scalar's value
(:class:`~fusenum.ir.operands.NeedsValue`): those plans are specialised per
value (:class:`_ByValue`).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

import numpy as np

from . import caches, kernels, staging
from ..ir import nodes
from ..ir.operands import NeedsValue, Operand, weak_var
from ..ir.typing import Builder
from .plan import Plan

#: Plans kept (least recently created are dropped first). A plan keeps its kernels alive, so this
#: follows the kernel cache's size (``FUSENUM_MAX_KERNELS``): together they bound the memory kept.
MAX_ENTRIES = kernels.MAX_KERNELS
#: Value-specialised plans kept per expression.
MAX_VALUE_PLANS = 64


class Template(Protocol):
    """What a plan is built from: a parsed text, or a lazy program (:class:`fusenum.frontend.forcing.Program`).

    A template may also keep typed plans (a text's, in the disk cache: :mod:`.plan_store`), with
    ``typed_plan(key)``, the ``(root, sources, casts)`` kept under ``key`` or None, and
    ``keep_typed_plan(key, root, sources, casts)``; and say (``records_casts = True``) that
    ``casting=`` covers the inputs of its operations, as NumPy's ufuncs' does (:attr:`.Plan.casts`)."""

    names: tuple[str, ...]  # one label per bound value

    def build(self, builder: Builder, operands: list[Operand]) -> Operand: ...


#: The plans, by key; front ends may read it directly on their hot path (a hit is a :class:`Plan`).
PLANS: "OrderedDict[tuple, object]" = OrderedDict()


def cached_plan(key: tuple, template: Template, values: list) -> Plan:
    """The plan for ``template`` typed for ``values``, from the plan cache both front ends share.

    ``key`` says what the plan depends on (the template and the values'
    descriptors), never the values themselves. The front ends' keys cannot
    collide: a text's key starts with the text, a lazy program with a leaf
    descriptor.
    """
    plan = PLANS.get(key)
    if plan is None:
        plan = caches.remember(PLANS, key, _make_plan(template, values, key), MAX_ENTRIES)
    if type(plan) is _ByValue:
        plan = plan.plan_for(template, values)
    return plan


def _make_plan(parsed: Template, values: list, key: tuple):
    """The plan for these values' dtypes; a :class:`_ByValue` if it must know some values."""
    typed_plan = getattr(parsed, "typed_plan", None)
    typed = None if typed_plan is None else typed_plan(key)
    if typed is not None:
        root, sources, casts = typed
        return staging.new_plan(root, sources, values, casts)
    literal: frozenset = frozenset()
    while True:
        try:
            plan = _build_plan(parsed, values, literal, getattr(parsed, "keep_typed_plan", None), key)
        except NeedsValue as needed:
            literal |= needed.sources
            continue
        if not literal:
            return plan
        by_value = _ByValue(literal)
        by_value.plans[by_value.key(values)] = plan
        return by_value


def _build_plan(parsed: Template, values: list, literal: frozenset, keep=None, key: tuple = ()) -> Plan:
    """Type the expression for these values (the ``literal`` ones by value); ``keep(key, root,
    sources)`` is given the typed IR of a plan that depends on no value and gave no warning."""
    builder = Builder()
    builder.records_casts = getattr(parsed, "records_casts", False)
    operands = []
    for index, (name, value) in enumerate(zip(parsed.names, values)):
        if type(value) is np.ndarray:
            if index in literal and value.ndim == 0:  # typing needs this 0-d array's value
                operands.append(nodes.const(value[()], True))
            else:
                operands.append(builder.array(index, value.dtype, label=name, zero_d=False if index in literal else None))
        elif index in literal:
            operands.append(value)
        else:
            operands.append(weak_var(index, value))
    root, sources = builder.finish(parsed.build(builder, operands))
    casts = tuple(builder.casts) if builder.records_casts else None
    plan = staging.new_plan(root, sources, values, casts)
    plan.warnings = tuple(builder.call_warnings)
    if keep is not None and not literal and not builder.may_warn:
        keep(key, root, sources, casts)
    return plan


class _ByValue:
    """Plans for an expression whose typing depends on some Python-scalar values."""

    def __init__(self, indices: frozenset):
        self.indices = tuple(sorted(indices))
        self.plans: OrderedDict = OrderedDict()

    def key(self, values: list) -> tuple:
        return tuple(_value_key(values[i]) for i in self.indices)

    def plan_for(self, parsed: Template, values: list) -> Plan:
        key = self.key(values)
        plan = self.plans.get(key)
        if plan is None:
            plan = caches.remember(self.plans, key, _build_plan(parsed, values, frozenset(self.indices)),
                                   MAX_VALUE_PLANS)
        return plan


def _value_key(value) -> tuple:
    """What a value-specialised plan depends on: a Python scalar's value, a 0-d array's dtype and
    value; not a bigger array's (it is only ever an array operand). Floats by their bits: ``-0.0``
    is not ``0.0``, nor ``-nan`` ``nan`` (a plan folds the value: ``-k`` of one NaN is the other)."""
    if type(value) is np.ndarray:
        return (np.ndarray, value.dtype, value.tobytes() if value.ndim == 0 else None)
    if type(value) is float or type(value) is complex:
        return (type(value), np.asarray(value).tobytes())
    return (type(value), repr(value))


@caches.owner
def clear() -> None:
    caches.empty(PLANS)
