"""A native thread pool, generated as LLVM IR: handing work to other cores in microseconds.

Python threads cannot hand a chunk to another core quickly: the worker is
asleep on a lock, and waking a thread on another CPU and then getting it the
GIL costs tens of microseconds (about 55 µs per call measured on the 2-core
development VM), which makes splitting pointless below about a million
elements. Here the workers are pthreads running JIT-compiled code that never
touches Python: after a task a worker spins (``pause``) for about a millisecond
waiting for the next one, then sleeps on a futex.

A call is cut into several chunks per thread, and everybody -- the calling
thread and the woken workers -- takes chunks from one shared counter until
none are left (dynamic scheduling). On a busy machine, where the OS may not
run a worker for milliseconds, that worker holds up at most one small chunk;
the caller does the rest. The counter shares a 64-bit word with the call's
generation number, so a worker that wakes up late cannot take chunks of the
next call, and it reads a call's fields only after it has taken a chunk of it.
A call closes the previous generation before it publishes its own fields and
chunk count: a late worker that read the finished call's ticket could otherwise
pair it with the new chunk count, claim a chunk past the old call's end, and
run it as the new call's (run twice, and counted once too many: the caller then
returned while a chunk was still running, or waited for ever).

``fusenum_pool_run(fn, operands, layout, bounds, chunks, helpers, wake_ok)``
runs ``fn(bounds[k], bounds[k+1], operands, layout)`` for every chunk ``k``
with up to ``helpers`` workers (started on first use, or beforehand by
``fusenum_pool_start(helpers)``) and returns the OR of the statuses. One call
uses the pool at a time; a concurrent caller gets ``POOL_BUSY`` and runs
alone. If a needed worker is asleep and ``wake_ok`` is 0 (a call too small to
pay for a wake-up), the caller nudges the sleepers awake for the next call and
runs this one alone.

Linux x86-64 only (futex syscall number, ``pause``); elsewhere
:mod:`fusenum.runtime.threads` uses Python threads.
"""
from __future__ import annotations

from . import ir_text as ir

from .control import counted_loop, do_while, entry_alloca
from .emitter import I1, I32, I64, PTR
from .pool_abi import CONTROL_CTYPE, MAX_WORKERS, POOL_BUSY, RUN_CTYPE, SYMBOLS, supported  # noqa: F401

#: Each worker's wake-up word has a cache line pair of its own.
SLOT_BYTES = 128
#: ``pause`` iterations a worker spins before sleeping (about a millisecond).
SPIN_LIMIT = 1 << 15
#: While waiting for other threads' chunks, yield the CPU after this many ``pause`` spins.
YIELD_EVERY = 256

_SYS_FUTEX = 202
_FUTEX_WAIT_PRIVATE = 128
_FUTEX_WAKE_PRIVATE = 129
# Per-worker slot: i32 seq (futex word, bumped to wake the worker), i32 sleeping.
_SEQ, _SLEEPING = 0, 4
# The call being run (one at a time): i64 ticket = generation << 32 | next chunk, then the rest.
_TICKET, _COMPLETED, _STATUS, _CHUNKS, _FN, _OPERANDS, _LAYOUT, _BOUNDS = 0, 8, 12, 16, 24, 32, 40, 48
#: The chunk counter of a closed generation: above any chunk count, so no chunk can be taken.
_CLOSED = 0xFFFFFFFF
_TASK_BYTES = 64

KERNEL_TYPE = ir.FunctionType(I32, [I64, I64, PTR, PTR])


def _i32(value: int) -> ir.Constant:
    return ir.Constant(I32, value)


def _i64(value: int) -> ir.Constant:
    return ir.Constant(I64, value)


class _Module:
    """Builds the pool's module: globals, the worker loop, the chunk loop, run, fork helpers."""

    def __init__(self):
        self.module = ir.Module(name="fusenum_pool")
        m = self.module
        self.lock_variable = self._global("fusenum_pool_lock", I32, 4)
        self.workers_variable = self._global("fusenum_pool_workers", I32, 4)
        self.task_variable = self._global("fusenum_pool_task", ir.ArrayType(ir.IntType(8), _TASK_BYTES), 64)
        self.slots_variable = self._global("fusenum_pool_slots",
                                           ir.ArrayType(ir.IntType(8), SLOT_BYTES * MAX_WORKERS), SLOT_BYTES)
        self.pause = ir.Function(m, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
        self.syscall = ir.Function(m, ir.FunctionType(I64, [I64], var_arg=True), "syscall")
        self.pthread_create = ir.Function(m, ir.FunctionType(I32, [PTR, PTR, PTR, PTR]), "pthread_create")
        self.pthread_detach = ir.Function(m, ir.FunctionType(I32, [I64]), "pthread_detach")
        self.sched_yield = ir.Function(m, ir.FunctionType(I32, []), "sched_yield")
        self.take_chunks = ir.Function(m, ir.FunctionType(ir.VoidType(), [I32]), "fusenum_pool_take_chunks")
        self.take_chunks.linkage = "internal"
        self.worker = ir.Function(m, ir.FunctionType(PTR, [PTR]), "fusenum_pool_worker")
        self._build_take_chunks()
        self._build_worker()
        self._build_run()
        self._build_start()
        self._build_fork_helpers()

    def _global(self, name, typ, align):
        variable = ir.GlobalVariable(self.module, typ, name)
        variable.initializer = ir.Constant(typ, None)
        variable.align = align
        variable.linkage = "internal"
        return variable

    # ---- addresses ------------------------------------------------------------------------
    @staticmethod
    def address(b, variable):
        """``variable``'s address as an untyped ``ptr`` (llvmlite types a global's pointer by its contents)."""
        return b.inttoptr(b.ptrtoint(variable, I64), PTR)

    @staticmethod
    def field(b, base, offset):
        return b.gep(base, [_i64(offset)], source_etype=ir.IntType(8))

    def task(self, b, offset):
        return self.field(b, self.address(b, self.task_variable), offset)

    def slot(self, b, index):
        return b.gep(self.address(b, self.slots_variable), [b.mul(index, _i64(SLOT_BYTES))],
                     source_etype=ir.IntType(8))

    def futex(self, b, address, op, value):
        b.call(self.syscall, [_i64(_SYS_FUTEX), address, _i32(op), value, ir.Constant(PTR, None)])

    # ---- taking chunks (the caller and the workers run this) --------------------------------
    def _build_take_chunks(self):
        """take_chunks(generation): run chunks of that call until none are left."""
        fn = self.take_chunks
        generation = fn.args[0]
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        ticket_ptr = self.task(b, _TICKET)

        def take():
            ticket = b.load_atomic(ticket_ptr, "acquire", 8, typ=I64)
            same_call = b.icmp_unsigned("==", b.trunc(b.lshr(ticket, _i64(32)), I32), generation)
            chunk = b.trunc(ticket, I32)
            chunks = b.load_atomic(self.task(b, _CHUNKS), "acquire", 4, typ=I32)
            available = b.and_(same_call, b.icmp_unsigned("<", chunk, chunks))
            with b.if_then(available):
                claim = b.cmpxchg(ticket_ptr, ticket, b.add(ticket, _i64(1)), "acq_rel", "monotonic")
                with b.if_then(b.extract_value(claim, 1)):
                    self._run_chunk(b, b.zext(chunk, I64))
            return available, []  # taken or lost to another thread: try the next one

        do_while(b, [], take, name="take")
        b.ret_void()

    def _run_chunk(self, b, index):
        """Run chunk ``index``: it is ours, and the call's fields stay put until every chunk is completed."""
        bounds = b.load(self.task(b, _BOUNDS), typ=PTR)
        start = b.load(b.gep(bounds, [index], source_etype=I64), typ=I64)
        stop = b.load(b.gep(bounds, [b.add(index, _i64(1))], source_etype=I64), typ=I64)
        kernel = _Callee(b.load(self.task(b, _FN), typ=PTR), KERNEL_TYPE)
        status = b.call(kernel, [start, stop, b.load(self.task(b, _OPERANDS), typ=PTR),
                                 b.load(self.task(b, _LAYOUT), typ=PTR)])
        b.atomic_rmw("or", self.task(b, _STATUS), status, "monotonic")
        b.atomic_rmw("add", self.task(b, _COMPLETED), _i32(1), "release")

    # ---- worker --------------------------------------------------------------------------
    def _build_worker(self):
        fn = self.worker
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        slot = self.slot(b, b.ptrtoint(fn.args[0], I64))
        seq = self.field(b, slot, _SEQ)
        first = b.load_atomic(seq, "acquire", 4, typ=I32)
        entry = b.block
        wait = fn.append_basic_block("wait")
        spin = fn.append_basic_block("spin")
        sleep = fn.append_basic_block("sleep")
        work = fn.append_basic_block("work")
        b.branch(wait)

        b.position_at_end(wait)
        seen = b.phi(I32, "seen")
        spins = b.phi(I32, "spins")
        seen.add_incoming(first, entry)
        spins.add_incoming(_i32(0), entry)
        current = b.load_atomic(seq, "acquire", 4, typ=I32)
        b.cbranch(b.icmp_unsigned("!=", current, seen), work, spin)

        b.position_at_end(spin)
        b.call(self.pause, [])
        more = b.add(spins, _i32(1))
        seen.add_incoming(seen, spin)
        spins.add_incoming(more, spin)
        b.cbranch(b.icmp_unsigned("<", more, _i32(SPIN_LIMIT)), wait, sleep)

        # Announce the sleep, then re-check: a caller posting now either sees `sleeping` or we see its post.
        b.position_at_end(sleep)
        sleeping = self.field(b, slot, _SLEEPING)
        _store_atomic(b, _i32(1), sleeping, "seq_cst")
        unchanged = b.icmp_unsigned("==", b.load_atomic(seq, "seq_cst", 4, typ=I32), seen)
        with b.if_then(unchanged):
            self.futex(b, seq, _FUTEX_WAIT_PRIVATE, seen)
        _store_atomic(b, _i32(0), sleeping, "seq_cst")
        seen.add_incoming(seen, b.block)
        spins.add_incoming(_i32(0), b.block)
        b.branch(wait)

        b.position_at_end(work)
        ticket = b.load_atomic(self.task(b, _TICKET), "acquire", 8, typ=I64)
        b.call(self.take_chunks, [b.trunc(b.lshr(ticket, _i64(32)), I32)])
        seen.add_incoming(current, b.block)
        spins.add_incoming(_i32(0), b.block)
        b.branch(wait)

    # ---- run -------------------------------------------------------------------------------
    def _build_run(self):
        fn = ir.Function(self.module, ir.FunctionType(I32, [PTR, PTR, PTR, PTR, I32, I32, I32]),
                         "fusenum_pool_run")
        kernel, operands, layout, bounds, chunks, helpers_arg, wake_ok = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        lock = self.address(b, self.lock_variable)
        taken = b.extract_value(b.cmpxchg(lock, _i32(0), _i32(1), "acquire", "monotonic"), 1)
        with b.if_then(b.not_(taken)):
            b.ret(_i32(POOL_BUSY))
        helpers = b.zext(helpers_arg, I64)
        self._grow(b, helpers)

        # A call too small to pay for waking a sleeper runs alone, but leaves the pool awake.
        alone = b.and_(self._any_asleep(b, helpers), b.icmp_unsigned("==", wake_ok, _i32(0)))
        with b.if_then(alone):
            counted_loop(b, _i64(0), helpers, lambda k: self._wake(b, k), name="nudge")
            last = b.load(b.gep(bounds, [b.zext(chunks, I64)], source_etype=I64), typ=I64)
            status = b.call(_Callee(kernel, KERNEL_TYPE), [b.load(bounds, typ=I64), last, operands, layout])
            _store_atomic(b, _i32(0), lock, "release")
            b.ret(status)

        # Close the last call's generation (a late worker's claim on its ticket now fails), publish
        # the call, then open it with the new generation's chunk counter at 0.
        ticket_ptr = self.task(b, _TICKET)
        old = b.load_atomic(ticket_ptr, "monotonic", 8, typ=I64)
        generation = b.zext(b.add(b.trunc(b.lshr(old, _i64(32)), I32), _i32(1)), I64)
        _store_atomic(b, b.or_(b.shl(generation, _i64(32)), _i64(_CLOSED)), ticket_ptr, "seq_cst", 8)
        for offset, value in ((_FN, kernel), (_OPERANDS, operands), (_LAYOUT, layout), (_BOUNDS, bounds),
                              (_STATUS, _i32(0)), (_COMPLETED, _i32(0))):
            b.store(value, self.task(b, offset))
        _store_atomic(b, chunks, self.task(b, _CHUNKS), "release")
        _store_atomic(b, b.shl(generation, _i64(32)), ticket_ptr, "seq_cst", 8)
        generation = b.trunc(generation, I32)
        counted_loop(b, _i64(0), helpers, lambda k: self._post(b, k), name="post")

        b.call(self.take_chunks, [generation])
        self._await_completion(b, chunks)
        status = b.load_atomic(self.task(b, _STATUS), "acquire", 4, typ=I32)
        _store_atomic(b, _i32(0), lock, "release")
        b.ret(status)

    def _any_asleep(self, b, helpers) -> ir.Value:
        """i1: whether any of the first ``helpers`` workers is asleep."""
        def check(k, asleep):
            flag = b.load_atomic(self.field(b, self.slot(b, k), _SLEEPING), "seq_cst", 4, typ=I32)
            return [b.or_(asleep, b.icmp_unsigned("!=", flag, _i32(0)))]

        return counted_loop(b, _i64(0), helpers, check, carried=[ir.Constant(I1, 0)], name="asleep")[1]

    def _wake(self, b, k):
        self.futex(b, self.field(b, self.slot(b, k), _SEQ), _FUTEX_WAKE_PRIVATE, _i32(1))

    def _post(self, b, k):
        """Tell worker ``k`` there is a new call (waking it if it sleeps)."""
        seq = self.field(b, self.slot(b, k), _SEQ)
        _store_atomic(b, b.add(b.load(seq, typ=I32), _i32(1)), seq, "seq_cst")
        sleeping = b.load_atomic(self.field(b, self.slot(b, k), _SLEEPING), "seq_cst", 4, typ=I32)
        with b.if_then(b.icmp_unsigned("!=", sleeping, _i32(0))):
            self.futex(b, seq, _FUTEX_WAKE_PRIVATE, _i32(1))

    def _await_completion(self, b, chunks):
        """Spin until every chunk is completed, yielding the CPU now and then."""
        def spin(spins):
            completed = b.load_atomic(self.task(b, _COMPLETED), "acquire", 4, typ=I32)
            waiting = b.icmp_unsigned("!=", completed, chunks)
            with b.if_then(waiting):
                b.call(self.pause, [])
                every = b.icmp_unsigned("==", b.and_(spins, _i32(YIELD_EVERY - 1)), _i32(YIELD_EVERY - 1))
                with b.if_then(every):  # a worker holding a chunk may need this very CPU
                    b.call(self.sched_yield, [])
            return waiting, [b.add(spins, _i32(1))]

        do_while(b, [_i32(0)], spin, name="await")

    def _grow(self, b, helpers):
        """Start workers until there are ``helpers`` of them (the caller holds the lock)."""
        workers = self.address(b, self.workers_variable)
        thread = entry_alloca(b, I64)

        def start(k):
            b.call(self.pthread_create, [thread, ir.Constant(PTR, None), self.worker, b.inttoptr(k, PTR)])
            b.call(self.pthread_detach, [b.load(thread)])
            b.store(b.trunc(b.add(k, _i64(1)), I32), workers)

        counted_loop(b, b.zext(b.load(workers, typ=I32), I64), helpers, start, name="grow")

    def _build_start(self):
        """start(helpers): start workers until there are ``helpers`` of them, ahead of a call, so that
        the call does not wait for new threads to be scheduled; nothing if a call holds the pool.
        worker_count(): how many workers there are."""
        fn = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [I32]), "fusenum_pool_start")
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        lock = self.address(b, self.lock_variable)
        taken = b.extract_value(b.cmpxchg(lock, _i32(0), _i32(1), "acquire", "monotonic"), 1)
        with b.if_then(taken):
            self._grow(b, b.zext(fn.args[0], I64))
            _store_atomic(b, _i32(0), lock, "release")
        b.ret_void()

        count = ir.Function(self.module, ir.FunctionType(I32, []), "fusenum_pool_worker_count")
        b = ir.IRBuilder(count.append_basic_block("entry"))
        b.ret(b.load_atomic(self.address(b, self.workers_variable), "monotonic", 4, typ=I32))

    def _build_fork_helpers(self):
        void = ir.FunctionType(ir.VoidType(), [])
        acquire = ir.Function(self.module, void, "fusenum_pool_acquire")
        b = ir.IRBuilder(acquire.append_basic_block("entry"))

        def try_lock():
            lock = self.address(b, self.lock_variable)
            taken = b.extract_value(b.cmpxchg(lock, _i32(0), _i32(1), "acquire", "monotonic"), 1)
            return b.not_(taken), []

        do_while(b, [], try_lock, name="acquire")
        b.ret_void()

        release = ir.Function(self.module, void, "fusenum_pool_release")
        b = ir.IRBuilder(release.append_basic_block("entry"))
        _store_atomic(b, _i32(0), self.address(b, self.lock_variable), "release")
        b.ret_void()

        # In a forked child the workers do not exist: forget them (no call was in flight).
        reset = ir.Function(self.module, void, "fusenum_pool_reset")
        b = ir.IRBuilder(reset.append_basic_block("entry"))
        b.store(_i32(0), self.address(b, self.workers_variable))
        _store_atomic(b, _i32(0), self.address(b, self.lock_variable), "release")
        b.ret_void()


class _Callee:
    """A function pointer with its type, for an indirect call (llvmlite reads ``function_type``)."""

    def __init__(self, pointer: ir.Value, function_type: ir.FunctionType):
        self.pointer = pointer
        self.type = pointer.type
        self.function_type = function_type

    def get_reference(self) -> str:
        return self.pointer.get_reference()


def _store_atomic(b, value, ptr, ordering: str, align: int = 4):
    """An atomic store to an untyped ``ptr``."""
    b.store_atomic(value, ptr, ordering, align)


def module_text() -> str:
    """The pool's LLVM IR."""
    return str(_Module().module)
