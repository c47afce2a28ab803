"""Reduction kernels: the elementwise expression computed inside the reduction loop.

A reduction kernel walks the iteration space like an elementwise kernel (same
operand access, same rows), but the output is an *accumulator* array whose
strides are 0 along the reduced axes, and each result is merged into it with
the reduction's ``combine`` operation instead of overwriting it. What a row
does depends on the output's stride along it:

* the output moves along the row (a kept axis is innermost, e.g. ``sum(a,
  axis=0)`` of a C array): each step loads the accumulators, combines and
  stores them back -- vertical vector adds over rows that stay in cache;
* the output stands still (a reduced axis is innermost, e.g. ``sum(a)``): the
  row is reduced in registers, in independent vector accumulators (so the
  additions overlap in the pipeline), which are then combined across vectors
  and across lanes into one value merged into the output once.

Floats round at every addition, so the grouping of a row's elements is part of
the answer, and it is the same at every SIMD level: a row is consumed in steps
of :func:`~fusenum.codegen.lanes.virtual_lanes` elements (or the spec's
``lanes``), element ``j`` of a step going to *virtual lane* ``j`` (lane
``j % lanes`` of accumulator ``j // lanes``, however wide a register is), then
in steps of one 64-byte register of the widest level into the first virtual
lanes, then one element at a time into a scalar. The virtual lanes are
combined in one tree (lane ``j`` with lane ``j + half``, halving), which at each
width is first whole accumulators, then halves of a register.

Float sums (``spec.pairwise``) are summed in blocks of ``PAIRWISE_STEPS``
vector steps: each block's partial sum goes onto a binary-carry stack that
adds equal-sized partials together, so the summation tree is pairwise over
blocks -- error growing with the logarithm of the row length, as in NumPy's
pairwise summation, whose blocks are the same depth (16 additions per
accumulator lane). The order of every addition is fixed by the row length,
so a result never depends on timing.

A complex accumulator is a :class:`~fusenum.codegen.emitter.Pair` of float
vectors, kept in two stack slots; its parts are summed pairwise like floats,
and ``min``/``max`` compare lexicographically through the op table's rule.
"""
from __future__ import annotations

from . import ir_text as ir

from ..ir import nodes
from ..ir.reductions import ROWS, start_value
from . import rules
from .control import entry_alloca, while_loop
from .emitter import I64, Emitter, Pair
from .elementwise import KernelBuilder
from .lanes import PAIRWISE_STEPS, virtual_lanes
#: Levels of the pairwise stack: 2**64 blocks is more than any array.
STACK_DEPTH = 64


class ReductionBuilder(KernelBuilder):
    """Builds a reduction kernel (see the module docstring); ``spec.reduce`` names the reduction."""

    def __init__(self, spec, target, fn):
        super().__init__(spec, target, fn)
        self.accumulator = spec.root.dtype
        combine = ROWS[spec.reduce].combine
        self.combine_node = nodes.make(combine, (spec.root, spec.root), self.accumulator)
        self.start = start_value(spec.reduce, self.accumulator)

    def _combine(self, em: Emitter, x, y):
        return rules.lower(em, self.combine_node, [x, y])

    def _emitter(self, lanes: int) -> Emitter:
        return Emitter(self.b, lanes, self.status, self.uniform_slots, self.target)

    # ---- output moves along the row: accumulate element by element -------------------------
    def _step(self, ptrs, i, lanes: int, per_row: dict):
        em, value = self._value(ptrs, i, lanes, per_row)
        old = self._load(em, len(self.dtypes) - 1, ptrs[-1], i)
        self._store(em, self._combine(em, old, value), ptrs[-1], i)

    def _row(self, ptrs, count):
        if self.spec.accesses[-1].stride not in ("0", "u"):
            return super()._row(ptrs, count)
        return self._reduce_row(ptrs, count)

    # ---- output stands still: reduce the row in registers ------------------------------------
    def _reduce_row(self, ptrs, count):
        b = self.b
        per_row = self._per_row(ptrs)
        vector_em, scalar_em = self._emitter(self.lanes), self._emitter(1)
        identity = vector_em.const(self.accumulator, self.start)
        scalar_identity = scalar_em.const(self.accumulator, self.start)
        step, tail_step = self.spec.lanes or virtual_lanes(self.spec.root)
        accumulators = [self._new_slot(identity) for _ in range(step // self.lanes)]
        scalar = self._new_slot(scalar_identity)

        def reset():
            for slot in accumulators:
                self._put(slot, identity)
            self._put(scalar, scalar_identity)

        def vectors(i, slots=accumulators):
            for k, slot in enumerate(slots):
                _, value = self._value(ptrs, b.add(i, ir.Constant(I64, k * self.lanes)), self.lanes, per_row)
                self._put(slot, self._combine(vector_em, self._get(slot), value))

        def single(i):
            _, value = self._value(ptrs, i, 1, per_row)
            self._put(scalar, self._combine(scalar_em, self._get(scalar), value))

        def partial_sum():
            total = self._across(accumulators)
            return self._combine(scalar_em, total, self._get(scalar))

        start = ir.Constant(I64, 0)
        stack = None
        if self.spec.pairwise:
            stack = _PairwiseStack(self, scalar_identity)
            block = step * PAIRWISE_STEPS

            def one_block(i):
                reset()
                self._loop(i, b.add(i, ir.Constant(I64, block)), step, vectors)
                stack.push(partial_sum())

            start = self._loop(start, count, block, one_block)
        reset()
        start = self._loop(start, count, step, vectors)
        if tail_step < step:
            start = self._loop(start, count, tail_step, lambda i: vectors(i, accumulators[:tail_step // self.lanes]))
        self._loop(start, count, 1, single)
        total = partial_sum()
        if stack is not None:
            total = stack.fold(total)
        out = len(self.dtypes) - 1
        old = self._load_scalar(out, ptrs[-1])
        self._store(scalar_em, self._combine(scalar_em, old, total), ptrs[-1], ir.Constant(I64, 0))

    def _across(self, accumulators) -> ir.Value:
        """One value combining every lane of every accumulator (a fixed tree)."""
        b = self.b
        em = self._emitter(self.lanes)
        values = [self._get(slot) for slot in accumulators]
        while len(values) > 1:  # accumulator k with k + half: virtual lane j with j + half
            half = len(values) // 2
            values = [self._combine(em, values[k], values[k + half]) for k in range(half)]
        value, width = values[0], self.lanes
        while width > 1:
            half = width // 2
            if half == 1:
                low = _each(value, lambda v: b.extract_element(v, ir.Constant(ir.IntType(32), 0)))
                high = _each(value, lambda v: b.extract_element(v, ir.Constant(ir.IntType(32), 1)))
            else:
                low = _each(value, lambda v: em.shuffle(v, v, range(half)))
                high = _each(value, lambda v: em.shuffle(v, v, range(half, width)))
            value, width = self._combine(self._emitter(half), low, high), half
        return value

    # ---- accumulators in stack slots (two per complex value) -----------------------------------
    def _new_slot(self, like):
        """A slot for values of ``like``'s type (a :class:`Pair` of slots for a complex value)."""
        return _each(like, lambda part: entry_alloca(self.b, part.type))

    def _get(self, slot):
        return _each(slot, lambda part: self.b.load(part))

    def _put(self, slot, value) -> None:
        if isinstance(slot, Pair):
            self.b.store(value.re, slot.re)
            self.b.store(value.im, slot.im)
        else:
            self.b.store(value, slot)


class _PairwiseStack:
    """Partial sums of 1, 2, 4, ... blocks: pushing a block adds equal-sized partials pairwise."""

    def __init__(self, kernel: ReductionBuilder, like):
        self.kernel = kernel
        b = kernel.b
        self.levels = _each(like, lambda part: entry_alloca(b, part.type, STACK_DEPTH))
        self.count = entry_alloca(b, I64)
        b.store(ir.Constant(I64, 0), self.count)

    def _load(self, index):
        b = self.kernel.b
        return _each(self.levels, lambda part: b.load(b.gep(part, [index], source_etype=part.allocated_type)))

    def _store(self, value, index) -> None:
        b = self.kernel.b
        for part, levels in zip(_parts(value), _parts(self.levels)):
            b.store(part, b.gep(levels, [index], source_etype=levels.allocated_type))

    def push(self, value) -> None:
        """Add one block's sum: while the count's low bit says the level is full, merge upwards."""
        k, b = self.kernel, self.kernel.b
        em = k._emitter(1)
        n = b.add(b.load(self.count), ir.Constant(I64, 1))
        b.store(n, self.count)

        def full(carry, bits, level):
            return b.icmp_unsigned("==", b.and_(bits, ir.Constant(I64, 1)), ir.Constant(I64, 0))

        def merge(carry, bits, level):
            merged = k._combine(em, self._load(level), carry)
            return merged, b.lshr(bits, ir.Constant(I64, 1)), b.add(level, ir.Constant(I64, 1))

        carry, _, level = while_loop(b, [value, n, ir.Constant(I64, 0)], full, merge, name="push")
        self._store(carry, level)

    def fold(self, tail):
        """``tail`` plus every partial on the stack, smallest first."""
        k, b = self.kernel, self.kernel.b
        em = k._emitter(1)
        count = b.load(self.count)

        def more(total, level):
            return b.icmp_unsigned("!=", b.lshr(count, level), ir.Constant(I64, 0))

        def add(total, level):
            held = b.trunc(b.lshr(count, level), ir.IntType(1))
            added = k._combine(em, self._load(level), total)
            return em.select(held, added, total), b.add(level, ir.Constant(I64, 1))

        total, _ = while_loop(b, [tail, ir.Constant(I64, 0)], more, add, name="fold")
        return total


def _parts(value) -> list:
    """The registers of a value: its two parts if it is a complex :class:`Pair`."""
    return list(value) if isinstance(value, Pair) else [value]


def _each(value, function):
    """``function`` applied to each part of ``value`` (a :class:`Pair` in, a :class:`Pair` out)."""
    return Pair(function(value.re), function(value.im)) if isinstance(value, Pair) else function(value)


__all__ = ["ReductionBuilder"]
