"""IR -> one LLVM kernel function: operand access, loops, vector body and scalar tail.

The kernel (see :mod:`fusenum.codegen.abi` for its signature) walks the
range ``[start, stop)`` of the flattened iteration space. With one (coalesced)
dimension that is a single loop; with more, the range is cut into rows of the
innermost dimension, and each row's start address comes from its index.

Each row runs a vector loop of ``lanes`` elements per iteration and then a
scalar loop for the remainder, both computing the expression with the same
lowering rules. In a quick build without streaming stores, an expensive
expression's body is emitted once instead: the last step of its loop runs the
vector body over stack copies of the elements left. How an operand is read
along a row depends on its layout class, which is part of the kernel's cache
key:

* ``c`` contiguous: vector loads;
* ``s`` strided: one load per lane (runtime stride);
* ``0`` constant along the row (a broadcast inner dimension): loaded once per row;
* ``u`` single-valued for the whole call (0-d or all strides zero): loaded once.

Byte-swapped operands are swapped in registers after loading (and before
storing), and every access is unaligned-safe (``align 1``), so neither needs a
copy. float16 elements are widened to float32 on loading and rounded back on
storing (:mod:`fusenum.codegen.half`); complex elements are loaded as
interleaved (real, imaginary) numbers and split into two vectors by shuffles.
A bytes (``S<n>``) element is not loaded at all: its value in registers is its
address, and the rules that compare or search bytes read them from there.
"""
from __future__ import annotations

import numpy as np
from . import ir_text as ir

from ..ir.nodes import Node, walk
from ..ir.ops import expression_cost
from . import rules
from .abi import (ARRAY_DATA_OFFSET, ARRAY_DIMS_OFFSET, ARRAY_FLAGS_OFFSET, ARRAY_NDIM_OFFSET,
                  NPY_ARRAY_C_CONTIGUOUS, NPY_ARRAY_WRITEABLE, POINTER_SIZE, STATUS_LAYOUT_MISMATCH,
                  TUPLE_ITEMS_OFFSET)
from . import half
from .control import counted_loop, entry_alloca, entry_buffer, rotated_counted_loop, while_loop
from .emitter import I1, I8, I32, I64, PTR, Emitter, Pair, memory_type, register_bytes, scalar_type
from .lanes import UNROLL_COST
from .spec import KernelSpec
from .target import Target

#: Vector steps per iteration of the main loop (independent, so they also overlap in the pipeline),
#: for expressions up to UNROLL_COST: beyond that the loop overhead is noise and unrolling
#: only multiplies compile time.
UNROLL = 4


def slot_dtypes(root: Node) -> dict[int, np.dtype]:
    return {n.attr: n.dtype for n in walk(root) if n.op == "input"}


def lanes_for(root: Node, target: Target) -> int:
    """Vector lanes: as many elements of the widest dtype in the expression as a register holds.

    Widths count register elements: a complex number's parts are vectors of their
    own, and float16 computes in float32.
    """
    widest = max(register_bytes(n.dtype) for n in walk(root))
    return target.lanes(widest)


class KernelBuilder:
    """Builds the body of an elementwise kernel function for one :class:`KernelSpec` and target.

    ``quick``: for the quick first build, which serves calls until the optimized build arrives,
    so what LLVM compiles matters more than the last part of the speed: cheap bodies' loops are not
    unrolled, and an expensive body is emitted once (:meth:`_row_one_body`). Neither changes a
    result's bits."""

    def __init__(self, spec: KernelSpec, target: Target, fn: ir.Function, quick: bool = False):
        self.spec = spec
        self.fn = fn
        self.target = target
        self.lanes = lanes_for(spec.root, target)
        if spec.lanes is not None:  # (never more lanes than the virtual ones of a step's tail)
            self.lanes = min(self.lanes, spec.lanes[1])
        dtypes = slot_dtypes(spec.root)
        self.dtypes = [dtypes[k] for k in range(len(spec.accesses) - 1)] + [spec.root.dtype]
        self.uniform_slots = frozenset(
            k for k, access in enumerate(spec.accesses[:-1]) if access.stride == "u")
        self.streaming = (spec.streaming and spec.accesses[-1].stride == "c" and self.lanes > 1
                          and target.name in ("sse2", "avx2", "avx512"))
        self.vector_bytes = self.lanes * self.dtypes[-1].itemsize
        # LLVM does not unroll loops of unknown trip count on x86, and one vector per iteration
        # leaves the loop overhead as the bottleneck for cheap expressions.
        # (Bytes operations run lane by lane anyway: unrolling them would only multiply their code.)
        cheap = expression_cost(spec.root) <= UNROLL_COST and not any(d.kind == "S" for d in self.dtypes)
        self.quick = quick
        self.unroll = UNROLL if cheap and not quick and self.lanes > 1 else 1
        self._buffers: dict[int, ir.Value] | None = None  # stack copies of partial vectors, by operand

    # ---- entry: operand base pointers, layout, single-valued inputs ----------------------
    def build(self):
        start, stop, operands, layout = self.fn.args
        b = self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))
        self.status = entry_alloca(b, I32, name="status")
        b.store(ir.Constant(I32, 0), self.status)
        items = b.gep(operands, [ir.Constant(I64, TUPLE_ITEMS_OFFSET)], source_etype=I8)
        arrays = [self._field(items, k * POINTER_SIZE, PTR) for k in range(len(self.spec.accesses))]
        self.bases = [self._field(array, ARRAY_DATA_OFFSET, PTR) for array in arrays]
        if self.spec.checked:
            size = self._validate(arrays)
            stop = b.select(b.icmp_signed("<", stop, ir.Constant(I64, 0)), size, stop)
        ndim = self.spec.ndim
        if self.spec.needs_layout:
            count = ndim * (1 + len(self.bases)) + (2 if self.spec.pieces else 0)
            words = [b.load(b.gep(layout, [ir.Constant(I64, i)], source_etype=I64), typ=I64)
                     for i in range(count)]
            self.shape = words[:ndim]
            self.strides = [words[ndim * (1 + k):ndim * (2 + k)] for k in range(len(self.bases))]
            if self.spec.pieces:
                # The call's range is one piece; its results go to that piece's partials.
                piece_length, piece_stride = words[-2:]
                offset = b.mul(b.sdiv(start, piece_length), piece_stride)
                self.bases[-1] = b.gep(self.bases[-1], [offset], source_etype=I8)
        self.inner_strides = [self._inner_stride(k) for k in range(len(self.bases))]
        self.uniform_values = {k: self._load_scalar(k, self.bases[k]) for k in self.uniform_slots}

        if ndim == 1:
            ptrs = [b.gep(base, [b.mul(start, stride)], source_etype=I8)
                    for base, stride in zip(self.bases, self.inner_strides)]
            self._row(ptrs, b.sub(stop, start))
        else:
            self._rows(start, stop)
        if self.streaming:
            # Non-temporal stores are weakly ordered: make them visible before returning.
            b.call(ir.Function(self.fn.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse.sfence"), [])
        b.ret(b.load(self.status))

    def _field(self, base, offset: int, typ: ir.Type) -> ir.Value:
        """Load the ``typ`` at byte ``offset`` of a C struct."""
        return self.b.load(self.b.gep(base, [ir.Constant(I64, offset)], source_etype=I8), typ=typ)

    def _validate(self, arrays: list[ir.Value]) -> ir.Value:
        """Check the operands fit this checked kernel (else return a mismatch); returns the size."""
        b, fn = self.b, self.fn
        mismatch = fn.append_basic_block("mismatch")
        with b.goto_block(mismatch):
            b.ret(ir.Constant(I32, STATUS_LAYOUT_MISMATCH))

        def flags_have(array, mask: int):
            flags = self._field(array, ARRAY_FLAGS_OFFSET, I32)
            return b.icmp_unsigned("==", b.and_(flags, ir.Constant(I32, mask)), ir.Constant(I32, mask))

        out = arrays[-1]
        out_ndim = self._field(out, ARRAY_NDIM_OFFSET, I32)
        ok = flags_have(out, NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_WRITEABLE)
        full = [k for k, a in enumerate(self.spec.accesses[:-1]) if a.stride == "c"]
        for k, access in enumerate(self.spec.accesses[:-1]):
            ndim = self._field(arrays[k], ARRAY_NDIM_OFFSET, I32)
            if access.stride == "c":
                ok = b.and_(ok, b.and_(b.icmp_signed("==", ndim, out_ndim),
                                       flags_have(arrays[k], NPY_ARRAY_C_CONTIGUOUS)))
            else:
                ok = b.and_(ok, b.icmp_signed("==", ndim, ir.Constant(I32, 0)))
        shapes_ok = fn.append_basic_block("shapes")
        b.cbranch(ok, shapes_ok, mismatch)

        # Same dimensions everywhere (safe to read now: every ndim equals the output's).
        b.position_at_end(shapes_ok)
        # The size and the agreement are loop-carried values: stack slots here, outside the entry
        # block, would be dynamic allocations, which LLVM's code generation (no module passes run to
        # promote them) serves with a frame pointer: one register less for every kernel's loops.
        dims = [self._field(arrays[k], ARRAY_DIMS_OFFSET, PTR) for k in full]
        out_dims = self._field(out, ARRAY_DIMS_OFFSET, PTR)

        def compare_dim(j, size, same):
            extent = b.load(b.gep(out_dims, [j], source_etype=I64), typ=I64)
            for other in dims:
                same = b.and_(same, b.icmp_signed("==", b.load(b.gep(other, [j], source_etype=I64), typ=I64), extent))
            return [b.mul(size, extent), same]

        _, n, ok = counted_loop(b, ir.Constant(I64, 0), b.sext(out_ndim, I64), compare_dim,
                                carried=[ir.Constant(I64, 1), ir.Constant(I1, 1)], name="loop1")
        # Writing the output must not clobber an input element before it is read.
        out_end = b.gep(self.bases[-1], [b.mul(n, ir.Constant(I64, self.dtypes[-1].itemsize))], source_etype=I8)
        for k in full:
            begin = self.bases[k]
            end = b.gep(begin, [b.mul(n, ir.Constant(I64, self.dtypes[k].itemsize))], source_etype=I8)
            apart = b.or_(b.icmp_unsigned("<=", end, self.bases[-1]), b.icmp_unsigned("<=", out_end, begin))
            same_elements = b.and_(b.icmp_unsigned("==", begin, self.bases[-1]),
                                   ir.Constant(I1, self.dtypes[k].itemsize == self.dtypes[-1].itemsize))
            ok = b.and_(ok, b.or_(apart, same_elements))
        valid = fn.append_basic_block("valid")
        b.cbranch(ok, valid, mismatch)
        b.position_at_end(valid)
        return n

    def _inner_stride(self, k: int) -> ir.Value:
        stride = self.spec.accesses[k].stride
        if stride == "c":
            return ir.Constant(I64, self.dtypes[k].itemsize)
        if stride == "s":
            return self.strides[k][-1]
        return ir.Constant(I64, 0)

    # ---- rows of the innermost dimension ---------------------------------------------------
    def _rows(self, start, stop):
        b = self.b
        while_loop(b, [start], lambda pos: b.icmp_signed("<", pos, stop),
                   lambda pos: self._next_row(pos, stop), name="rows")

    def _next_row(self, pos, stop) -> list:
        """Compute the row (its part before ``stop``) from flat index ``pos``; the index after it."""
        b = self.b
        inner_n = self.shape[-1]
        row, col = b.udiv(pos, inner_n), b.urem(pos, inner_n)
        count = b.sub(inner_n, col)
        left = b.sub(stop, pos)
        count = b.select(b.icmp_signed("<", left, count), left, count)
        offsets = [b.mul(col, stride) for stride in self.inner_strides]
        for dim in reversed(range(self.spec.ndim - 1)):
            index = b.urem(row, self.shape[dim])
            row = b.udiv(row, self.shape[dim])
            offsets = [b.add(off, b.mul(index, self.strides[k][dim])) for k, off in enumerate(offsets)]
        ptrs = [b.gep(base, [off], source_etype=I8) for base, off in zip(self.bases, offsets)]
        self._row(ptrs, count)
        return [b.add(pos, count)]

    def _row(self, ptrs: list[ir.Value], count: ir.Value):
        """Compute ``count`` elements starting at ``ptrs``: vector loop, then scalar tail (or, for an
        expensive body in a quick build, one loop whose last step runs over stack copies:
        :meth:`_row_one_body`)."""
        per_row = self._per_row(ptrs)
        if self.lanes > 1 and self._one_body():
            self._row_one_body(ptrs, count, per_row)
            return
        start = ir.Constant(I64, 0)
        if self.streaming:
            start = self._loop(start, self._steps_to_alignment(ptrs[-1], count), 1,
                               lambda i: self._step(ptrs, i, 1, per_row))
        if self.lanes > 1:
            lanes = self.lanes
            if self.unroll > 1:
                def unrolled(i):
                    for k in range(self.unroll):
                        self._step(ptrs, self.b.add(i, ir.Constant(I64, k * lanes)), lanes, per_row)

                start = self._loop(start, count, lanes * self.unroll, unrolled)
            start = self._loop(start, count, lanes, lambda i: self._step(ptrs, i, lanes, per_row))
        self._loop(start, count, 1, lambda i: self._step(ptrs, i, 1, per_row))

    # ---- an expensive body compiled once: partial vectors through stack buffers ---------------
    def _one_body(self) -> bool:
        """Whether rows run one copy of the vector body, the elements left over included, rather than a
        vector loop and a scalar loop: in a quick build (never a reduction's) without streaming stores,
        for an expensive body (op-table cost above ``UNROLL_COST``: a transcendental function, ``**``,
        a long expression), whose scalar copy makes about a third of what LLVM compiles (``tanh``'s
        kernel: 8.5-9.7 ms at the quick level without it, 12.2-13.1 with it). Every lane of the vector
        body gives the bits a scalar body gives, as at every SIMD level. The code runs 1.1-1.5x slower
        at ``opt=0`` than the two-copy loop (float64 ``exp``: ~1.3x), which is why the optimized build
        keeps the scalar loop, as do streaming kernels (big calls of bodies cheaper than a vector math
        function: :meth:`fusenum.runtime.plan.Plan.streams`) and cheap bodies, whose code is small."""
        return (self.quick and not self.streaming and expression_cost(self.spec.root) > UNROLL_COST
                and all(d.kind in "biufc" and d.itemsize in _COPY_TYPES for d in self.dtypes))

    def _row_one_body(self, ptrs, count, per_row) -> None:
        """The row, ``lanes`` elements a step, through one copy of the body. The last step, with fewer
        left, first copies them into stack buffers, padding with its first element (so the padding
        raises no status of its own); the body reads and writes the buffers, and the results are
        copied out. Whole steps go round the loop as in :meth:`_row`, with no branch in the body (at
        the quick build's ``opt=0`` each branch spills the values live across it)::

            start ──(count < lanes)──► gather ─┐
              │                                ▼
              └──────────────────────────► step ──(partial)──► copy out ──► done
                                            ▲  │
                               (lanes left) └──┴─(fewer left)─► gather"""
        b, lanes = self.b, ir.Constant(I64, self.lanes)
        out, zero, one = len(self.dtypes) - 1, ir.Constant(I64, 0), ir.Constant(I1, 1)
        moving = self._moving()
        if self._buffers is None:
            self._buffers = {k: entry_buffer(b, self.lanes * self.dtypes[k].itemsize, name=f"lanes{k}")
                             for k in moving + [out]}
        first, gather, step, latch, more, finish, done = (
            b.append_basic_block(f"row.{name}") for name in ("first", "gather", "step", "latch", "more", "finish", "done"))
        b.cbranch(b.icmp_signed(">", count, zero), first, done)
        b.position_at_end(first)
        b.cbranch(b.icmp_signed("<", count, lanes), gather, step)
        # gather: the last step's elements into the buffers
        b.position_at_end(gather)
        gather_j, gather_count = b.phi(I64), b.phi(I64)
        gather_j.add_incoming(zero, first)
        gather_count.add_incoming(count, first)
        for k in moving:
            self._copy(k, lambda lane: self._element_ptr(k, ptrs[k], self._index(gather_j, lane, gather_count)),
                       lambda lane: self._buffer_ptr(k, lane), lanes)
        gathered = b.block
        b.branch(step)
        # step: the body, over memory or over the buffers
        b.position_at_end(step)
        j, partial, left = b.phi(I64), b.phi(I1), b.phi(I64)
        for phi, (value_first, value_gathered) in zip((j, partial, left), ((zero, gather_j), (ir.Constant(I1, 0), one),
                                                                         (lanes, gather_count))):
            phi.add_incoming(value_first, first)
            phi.add_incoming(value_gathered, gathered)
        inside, strides = list(ptrs), {}
        for k in moving + [out]:
            inside[k] = b.select(partial, self._buffers[k], self._element_ptr(k, ptrs[k], j))
            strides[k] = b.select(partial, ir.Constant(I64, self.dtypes[k].itemsize), self.inner_strides[k])
        em, result = self._value(inside, zero, self.lanes, per_row, strides)
        self._store(em, result, inside[out], zero, strides[out])
        b.cbranch(partial, finish, latch)
        # latch: the next step, whole or the last
        b.position_at_end(latch)
        following = b.add(j, lanes)
        remaining = b.sub(count, following)
        j.add_incoming(following, latch)
        partial.add_incoming(ir.Constant(I1, 0), latch)
        left.add_incoming(lanes, latch)
        b.cbranch(b.icmp_signed(">=", remaining, lanes), step, more)
        b.position_at_end(more)
        gather_j.add_incoming(following, more)
        gather_count.add_incoming(remaining, more)
        b.cbranch(b.icmp_signed(">", remaining, zero), gather, done)
        # finish: the last step's results out of the buffer
        b.position_at_end(finish)
        self._copy(out, lambda lane: self._buffer_ptr(out, lane),
                   lambda lane: self._element_ptr(out, ptrs[-1], b.add(j, lane)), left)
        b.branch(done)
        b.position_at_end(done)

    def _moving(self) -> list[int]:
        """The operands read element by element along a row (not single-valued there)."""
        return [k for k, access in enumerate(self.spec.accesses[:-1]) if access.stride not in ("u", "0")]

    def _index(self, j, lane, count):
        """Element ``j + lane`` of the row, or ``j`` for a lane at or past ``count``."""
        b = self.b
        return b.add(j, b.select(b.icmp_signed("<", lane, count), lane, ir.Constant(I64, 0)))

    def _buffer_ptr(self, k: int, lane):
        return self.b.gep(self._buffers[k], [self.b.mul(lane, ir.Constant(I64, self.dtypes[k].itemsize))],
                          source_etype=I8)

    def _copy(self, k: int, source, destination, count) -> None:
        """Copy ``count`` elements of operand ``k``, raw bytes: element ``lane`` from ``source(lane)`` to
        ``destination(lane)``."""
        b, raw = self.b, _COPY_TYPES[self.dtypes[k].itemsize]

        def one(lane):
            b.store(b.load(source(lane), typ=raw, align=1), destination(lane), align=1)
        counted_loop(b, ir.Constant(I64, 0), count, one, name="copy")

    def _per_row(self, ptrs) -> dict:
        """Values of the operands that are constant along the row, loaded once per row."""
        return {k: self._load_scalar(k, ptrs[k]) for k, a in enumerate(self.spec.accesses[:-1]) if a.stride == "0"}

    def _steps_to_alignment(self, out_ptr, count):
        """Elements to write before ``out_ptr`` is vector-aligned (all of them if it never will be)."""
        b = self.b
        itemsize = self.dtypes[-1].itemsize
        address = b.ptrtoint(out_ptr, I64)
        misaligned = b.and_(address, ir.Constant(I64, self.vector_bytes - 1))
        gap = b.and_(b.sub(ir.Constant(I64, self.vector_bytes), misaligned), ir.Constant(I64, self.vector_bytes - 1))
        element_aligned = b.icmp_unsigned("==", b.and_(address, ir.Constant(I64, itemsize - 1)), ir.Constant(I64, 0))
        steps = b.select(element_aligned, b.udiv(gap, ir.Constant(I64, itemsize)), count)
        return b.select(b.icmp_signed("<", steps, count), steps, count)

    def _loop(self, begin, end, step: int, body) -> ir.Value:
        """``for (i = begin; i + step <= end; i += step) body(i)``; returns the final ``i``."""
        return rotated_counted_loop(self.b, begin, end, body, step=step, name=f"loop{step}")[0]

    # ---- one step: load operands, compute, store -------------------------------------------
    def _step(self, ptrs, i, lanes: int, per_row: dict):
        em, result = self._value(ptrs, i, lanes, per_row)
        self._store(em, result, ptrs[-1], i)

    def _value(self, ptrs, i, lanes: int, per_row: dict, strides: dict | None = None) -> tuple[Emitter, ir.Value]:
        """The expression's value at element ``i`` of the row (``lanes`` elements from there);
        ``strides``: operand -> its stride in bytes here, where not its row's."""
        em = Emitter(self.b, lanes, self.status, self.uniform_slots, self.target)
        values = {}
        for k, access in enumerate(self.spec.accesses[:-1]):
            if access.stride == "u":
                values[k] = em.splat(self.uniform_values[k])
            elif access.stride == "0":
                values[k] = em.splat(per_row[k])
            else:
                values[k] = self._load(em, k, ptrs[k], i, (strides or {}).get(k))
        return em, _evaluate(em, self.spec.root, values)

    def _element_ptr(self, k, ptr, index, stride=None):
        stride = self.inner_strides[k] if stride is None else stride
        return self.b.gep(ptr, [self.b.mul(index, stride)], source_etype=I8)

    def _load(self, em: Emitter, k: int, ptr, i, stride=None):
        b, dtype = self.b, self.dtypes[k]
        if dtype.kind == "S":
            return self._addresses(em, k, ptr, i)
        raw_type, parts = memory_type(dtype), _parts(dtype)
        if self.spec.accesses[k].stride == "c":
            raw = b.load(self._element_ptr(k, ptr, i, stride), typ=_vector(raw_type, em.lanes * parts), align=1)
        else:
            raw = ir.Constant(_vector(raw_type, em.lanes * parts), ir.Undefined)
            for lane in range(em.lanes):
                element = self._element_ptr(k, ptr, b.add(i, ir.Constant(I64, lane)), stride)
                for part in range(parts):
                    at = b.gep(element, [ir.Constant(I64, part * raw_type.width // 8)], source_etype=I8)
                    scalar = b.load(at, typ=raw_type, align=1)
                    if em.lanes * parts == 1:
                        raw = scalar
                    else:
                        raw = b.insert_element(raw, scalar, ir.Constant(I32, lane * parts + part))
        return self._from_memory(em, raw, k)

    def _load_scalar(self, k: int, ptr) -> ir.Value:
        em = Emitter(self.b, 1, self.status)
        dtype = self.dtypes[k]
        if dtype.kind == "S":
            return self.b.ptrtoint(ptr, I64)
        raw = self.b.load(ptr, typ=_vector(memory_type(dtype), _parts(dtype)), align=1)
        return self._from_memory(em, raw, k)

    def _addresses(self, em: Emitter, k: int, ptr, i) -> ir.Value:
        """The addresses of bytes elements ``i, i + 1, ...`` (one per lane): a bytes value in
        registers is its address (the rules read the bytes, whatever the element's width)."""
        b = self.b
        first = b.ptrtoint(self._element_ptr(k, ptr, i), I64)
        if em.lanes == 1:
            return first
        lane_numbers = ir.Constant(em.vector(I64), list(range(em.lanes)))
        return b.add(em.splat(first), b.mul(lane_numbers, em.splat(self.inner_strides[k])))

    def _from_memory(self, em: Emitter, raw, k: int):
        """Register value of raw element bits (byte-swapped first if the operand is)."""
        dtype = self.dtypes[k]
        if self.spec.accesses[k].swapped and dtype.itemsize > 1:
            raw = em.intrinsic("llvm.bswap", raw)
        if dtype.kind == "b":
            return self.b.icmp_unsigned("!=", raw, em.splat_constant(I8, 0))
        if dtype.kind == "c":
            parts = self.b.bitcast(raw, _vector(scalar_type(dtype), 2 * em.lanes))
            return Pair(_every_other(em, parts, 0), _every_other(em, parts, 1))
        if dtype.kind == "f" and dtype.itemsize == 2:
            return half.to_float(em, raw)
        return self.b.bitcast(raw, em.type(dtype)) if dtype.kind == "f" else raw

    def _store(self, em: Emitter, value, ptr, i, stride=None):
        b, k = self.b, len(self.dtypes) - 1
        dtype = self.dtypes[k]
        raw_type, parts = memory_type(dtype), _parts(dtype)
        if dtype.kind == "b":
            value = b.zext(value, em.vector(I8))
        elif dtype.kind == "c":
            value = b.bitcast(_interleave(em, value), _vector(raw_type, 2 * em.lanes))
        elif dtype.kind == "f" and dtype.itemsize == 2:
            value = half.from_float(em, value)
        elif dtype.kind == "f":
            value = b.bitcast(value, em.vector(raw_type))
        if self.spec.accesses[k].swapped and dtype.itemsize > 1:
            value = em.intrinsic("llvm.bswap", value)
        if em.lanes > 1 and self.streaming:
            store = b.store(value, self._element_ptr(k, ptr, i), align=self.vector_bytes)
            store.set_metadata("nontemporal", self.fn.module.add_metadata([ir.Constant(I32, 1)]))
            return
        if self.spec.accesses[k].stride == "c" or em.lanes == 1:
            b.store(value, self._element_ptr(k, ptr, i, stride), align=1)
            return
        for lane in range(em.lanes):
            element = self._element_ptr(k, ptr, b.add(i, ir.Constant(I64, lane)), stride)
            for part in range(parts):
                at = b.gep(element, [ir.Constant(I64, part * raw_type.width // 8)], source_etype=I8)
                b.store(b.extract_element(value, ir.Constant(I32, lane * parts + part)), at, align=1)


#: The integer type that copies one element of each size (bytes) through the stack buffers.
_COPY_TYPES = {size: ir.IntType(8 * size) for size in (1, 2, 4, 8, 16)}


def _parts(dtype: np.dtype) -> int:
    """Numbers stored per element: 2 for complex (real, imaginary), else 1."""
    return 2 if dtype.kind == "c" else 1


def _vector(element: ir.Type, count: int) -> ir.Type:
    return element if count == 1 else ir.VectorType(element, count)


def _every_other(em: Emitter, parts: ir.Value, first: int) -> ir.Value:
    """Lanes ``first, first + 2, ...`` of interleaved ``parts`` (de-interleaving a complex load)."""
    if em.lanes == 1:
        return em.b.extract_element(parts, ir.Constant(I32, first))
    return em.shuffle(parts, ir.Constant(parts.type, ir.Undefined), range(first, 2 * em.lanes, 2))


def _interleave(em: Emitter, value: Pair) -> ir.Value:
    """``re0, im0, re1, im1, ...``: a complex value laid out as in memory."""
    if em.lanes == 1:
        pair = ir.Constant(ir.VectorType(value.re.type, 2), ir.Undefined)
        pair = em.b.insert_element(pair, value.re, ir.Constant(I32, 0))
        return em.b.insert_element(pair, value.im, ir.Constant(I32, 1))
    order = [lane + part * em.lanes for lane in range(em.lanes) for part in range(2)]
    return em.shuffle(value.re, value.im, order)


def _evaluate(em: Emitter, root: Node, inputs: dict[int, ir.Value]) -> ir.Value:
    """LLVM value of ``root``, each shared subexpression emitted once."""
    values: dict[Node, ir.Value] = {}
    for node in walk(root):
        if node.op == "input":
            values[node] = inputs[node.attr]
        elif node.op == "const":
            values[node] = em.opaque(em.const(node.dtype, node.value))
        else:
            values[node] = rules.lower(em, node, [values[a] for a in node.args])
    return values[root]


