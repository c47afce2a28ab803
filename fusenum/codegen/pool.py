"""A native thread pool, generated as LLVM IR: dispatching a kernel to other cores in ~1 µs.

Python threads cannot hand a chunk to another core quickly: the worker is
asleep on a lock, and waking a thread on another CPU and then getting it the
GIL costs tens of microseconds (about 55 µs per call measured on the 2-core
development VM), which makes splitting pointless below about a million
elements. Here the workers are pthreads running JIT-compiled code that never
touches Python: after each task a worker spins (``pause``) for about a
millisecond waiting for the next one, then sleeps on a futex. A call whose
workers are spinning is dispatched with a few cache-line writes.

Each worker has its own 128-byte slot (no false sharing)::

    0 seq      i32   futex word: the caller increments it to post a task
    4 sleeping i32   1 while the worker waits on the futex
    8 done     i32   the worker sets it to seq when the task is finished
   12 status   i32   the kernel's return value
   16 fn, 24 operands, 32 layout (pointers), 40 start, 48 stop (i64)

``fusenum_pool_run(fn, operands, layout, bounds, chunks, wake_ok)`` runs
``fn(bounds[k], bounds[k+1], operands, layout)`` for every chunk ``k``: chunk 0
on the calling thread, chunk ``k`` on worker ``k-1`` (started on first use). One
call uses the pool at a time; a second concurrent caller gets ``POOL_BUSY`` and
runs alone. If a needed worker is asleep and ``wake_ok`` is 0 (a call too
small to pay for a wake-up), the caller nudges the sleepers awake for the next
call and runs this one alone.

Linux x86-64 only (futex syscall number, ``pause``); elsewhere
:mod:`fusenum.parallel` uses Python threads.
"""
from __future__ import annotations

import ctypes
import platform
import sys

from llvmlite import ir
from llvmlite.ir import instructions as ir_instructions

from .emitter import I1, I32, I64, PTR

MAX_WORKERS = 255
SLOT_BYTES = 128
#: ``pause`` iterations a worker spins before sleeping (about a millisecond).
SPIN_LIMIT = 1 << 15
#: Returned when another thread is using the pool: run the call alone.
POOL_BUSY = 1 << 29

_SYS_FUTEX = 202
_FUTEX_WAIT_PRIVATE = 128
_FUTEX_WAKE_PRIVATE = 129
_SEQ, _SLEEPING, _DONE, _STATUS, _FN, _OPERANDS, _LAYOUT, _START, _STOP = 0, 4, 8, 12, 16, 24, 32, 40, 48

KERNEL_TYPE = ir.FunctionType(I32, [I64, I64, PTR, PTR])
SYMBOLS = ["fusenum_pool_run", "fusenum_pool_acquire", "fusenum_pool_release", "fusenum_pool_reset"]
RUN_CTYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.py_object, ctypes.c_void_p,
                             ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32)
CONTROL_CTYPE = ctypes.CFUNCTYPE(None)


def supported() -> bool:
    """Whether the native pool can run here (Linux on x86-64)."""
    return sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64")


class _Module:
    """Builds the pool's module: globals, the worker loop, run, and fork helpers."""

    def __init__(self):
        self.module = ir.Module(name="fusenum_pool")
        m = self.module
        self.lock_variable = self._global("fusenum_pool_lock", I32, 4)
        self.workers_variable = self._global("fusenum_pool_workers", I32, 4)
        self.slots = self._global("fusenum_pool_slots", ir.ArrayType(ir.IntType(8), SLOT_BYTES * MAX_WORKERS),
                                  SLOT_BYTES)
        self.pause = ir.Function(m, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
        self.syscall = ir.Function(m, ir.FunctionType(I64, [I64], var_arg=True), "syscall")
        self.pthread_create = ir.Function(m, ir.FunctionType(I32, [PTR, PTR, PTR, PTR]), "pthread_create")
        self.pthread_detach = ir.Function(m, ir.FunctionType(I32, [I64]), "pthread_detach")
        self.worker = ir.Function(m, ir.FunctionType(PTR, [PTR]), "fusenum_pool_worker")
        self._build_worker()
        self._build_run()
        self._build_fork_helpers()

    def _global(self, name, typ, align):
        variable = ir.GlobalVariable(self.module, typ, name)
        variable.initializer = ir.Constant(typ, None)
        variable.align = align
        variable.linkage = "internal"
        return variable

    # ---- helpers ------------------------------------------------------------------------
    @staticmethod
    def address(b, variable):
        """``variable``'s address as an untyped ``ptr`` (llvmlite types a global's pointer by its contents)."""
        return b.inttoptr(b.ptrtoint(variable, I64), PTR)

    def lock(self, b):
        return self.address(b, self.lock_variable)

    def workers(self, b):
        return self.address(b, self.workers_variable)

    @staticmethod
    def field(b, slot, offset):
        return b.gep(slot, [ir.Constant(I64, offset)], source_etype=ir.IntType(8))

    def slot(self, b, index):
        return b.gep(self.address(b, self.slots), [b.mul(index, ir.Constant(I64, SLOT_BYTES))], source_etype=ir.IntType(8))

    def futex(self, b, address, op, value):
        b.call(self.syscall, [ir.Constant(I64, _SYS_FUTEX), address, ir.Constant(I32, op), value,
                              ir.Constant(PTR, None)])

    @staticmethod
    def call_kernel(b, fn, start, stop, operands, layout):
        return b.call(_Callee(fn, KERNEL_TYPE), [start, stop, operands, layout])

    # ---- worker --------------------------------------------------------------------------
    def _build_worker(self):
        fn = self.worker
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        slot = self.slot(b, b.ptrtoint(fn.args[0], I64))
        seq = self.field(b, slot, _SEQ)
        # A new worker starts from the last finished task: nothing is in flight when it is created.
        first = b.load_atomic(self.field(b, slot, _DONE), "acquire", 4, typ=I32)
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
        spins.add_incoming(ir.Constant(I32, 0), entry)
        current = b.load_atomic(seq, "acquire", 4, typ=I32)
        b.cbranch(b.icmp_unsigned("!=", current, seen), work, spin)

        b.position_at_end(spin)
        b.call(self.pause, [])
        more = b.add(spins, ir.Constant(I32, 1))
        seen.add_incoming(seen, spin)
        spins.add_incoming(more, spin)
        b.cbranch(b.icmp_unsigned("<", more, ir.Constant(I32, SPIN_LIMIT)), wait, sleep)

        # Announce the sleep, then re-check: a caller posting now either sees `sleeping` or we see its post.
        b.position_at_end(sleep)
        sleeping = self.field(b, slot, _SLEEPING)
        _store_atomic(b, ir.Constant(I32, 1), sleeping, "seq_cst")
        unchanged = b.icmp_unsigned("==", b.load_atomic(seq, "seq_cst", 4, typ=I32), seen)
        with b.if_then(unchanged):
            self.futex(b, seq, _FUTEX_WAIT_PRIVATE, seen)
        _store_atomic(b, ir.Constant(I32, 0), sleeping, "seq_cst")
        seen.add_incoming(seen, b.block)
        spins.add_incoming(ir.Constant(I32, 0), b.block)
        b.branch(wait)

        b.position_at_end(work)
        load = lambda offset, typ: b.load(self.field(b, slot, offset), typ=typ)  # noqa: E731
        status = self.call_kernel(b, load(_FN, PTR), load(_START, I64), load(_STOP, I64),
                                  load(_OPERANDS, PTR), load(_LAYOUT, PTR))
        b.store(status, self.field(b, slot, _STATUS))
        _store_atomic(b, current, self.field(b, slot, _DONE), "release")
        seen.add_incoming(current, work)
        spins.add_incoming(ir.Constant(I32, 0), work)
        b.branch(wait)

    # ---- run -------------------------------------------------------------------------------
    def _build_run(self):
        fn = ir.Function(self.module, ir.FunctionType(I32, [PTR, PTR, PTR, PTR, I32, I32]), "fusenum_pool_run")
        kernel, operands, layout, bounds, chunks, wake_ok = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        bound = lambda k: b.load(b.gep(bounds, [k], source_etype=I64), typ=I64)  # noqa: E731
        taken = b.extract_value(b.cmpxchg(self.lock(b), ir.Constant(I32, 0), ir.Constant(I32, 1),
                                          "acquire", "monotonic"), 1)
        with b.if_then(b.not_(taken)):
            b.ret(ir.Constant(I32, POOL_BUSY))
        helpers = b.zext(b.sub(chunks, ir.Constant(I32, 1)), I64)
        self._grow(b, fn, helpers)

        # A call too small to pay for waking a sleeper runs alone, but leaves the pool awake.
        asleep = b.alloca(I1)
        b.store(ir.Constant(I1, 0), asleep)
        with self._for(b, fn, helpers) as k:
            is_asleep = b.load_atomic(self.field(b, self.slot(b, k), _SLEEPING), "seq_cst", 4, typ=I32)
            b.store(b.or_(b.load(asleep), b.icmp_unsigned("!=", is_asleep, ir.Constant(I32, 0))), asleep)
        alone = b.and_(b.load(asleep), b.icmp_unsigned("==", wake_ok, ir.Constant(I32, 0)))
        with b.if_then(alone):
            with self._for(b, fn, helpers) as k:
                self.futex(b, self.field(b, self.slot(b, k), _SEQ), _FUTEX_WAKE_PRIVATE, ir.Constant(I32, 1))
            status = self.call_kernel(b, kernel, bound(ir.Constant(I64, 0)), bound(b.add(helpers, ir.Constant(I64, 1))),
                                      operands, layout)
            _store_atomic(b, ir.Constant(I32, 0), self.lock(b), "release")
            b.ret(status)

        with self._for(b, fn, helpers) as k:
            slot = self.slot(b, k)
            for offset, value in ((_FN, kernel), (_OPERANDS, operands), (_LAYOUT, layout),
                                  (_START, bound(b.add(k, ir.Constant(I64, 1)))),
                                  (_STOP, bound(b.add(k, ir.Constant(I64, 2))))):
                b.store(value, self.field(b, slot, offset))
            seq = self.field(b, slot, _SEQ)
            _store_atomic(b, b.add(b.load(seq, typ=I32), ir.Constant(I32, 1)), seq, "seq_cst")
            sleeping = b.load_atomic(self.field(b, slot, _SLEEPING), "seq_cst", 4, typ=I32)
            with b.if_then(b.icmp_unsigned("!=", sleeping, ir.Constant(I32, 0))):
                self.futex(b, seq, _FUTEX_WAKE_PRIVATE, ir.Constant(I32, 1))

        total = b.alloca(I32)
        b.store(self.call_kernel(b, kernel, bound(ir.Constant(I64, 0)), bound(ir.Constant(I64, 1)), operands, layout),
                total)
        with self._for(b, fn, helpers) as k:
            slot = self.slot(b, k)
            posted = b.load(self.field(b, slot, _SEQ), typ=I32)
            before = b.block
            wait = fn.append_basic_block("await")
            finished = fn.append_basic_block("finished")
            b.branch(wait)
            b.position_at_end(wait)
            done = b.load_atomic(self.field(b, slot, _DONE), "acquire", 4, typ=I32)
            ready = b.icmp_unsigned("==", done, posted)
            with b.if_then(b.not_(ready)):
                b.call(self.pause, [])
            b.cbranch(ready, finished, wait)
            b.position_at_end(finished)
            del before
            b.store(b.or_(b.load(total), b.load(self.field(b, slot, _STATUS), typ=I32)), total)
        _store_atomic(b, ir.Constant(I32, 0), self.lock(b), "release")
        b.ret(b.load(total))

    def _grow(self, b, fn, helpers):
        """Start workers until there are ``helpers`` of them (the caller holds the lock)."""
        have = b.zext(b.load(self.workers(b), typ=I32), I64)
        thread = b.alloca(I64)
        with self._for(b, fn, helpers, start=have) as k:
            b.call(self.pthread_create, [thread, ir.Constant(PTR, None), self.worker, b.inttoptr(k, PTR)])
            b.call(self.pthread_detach, [b.load(thread)])
            b.store(b.trunc(b.add(k, ir.Constant(I64, 1)), I32), self.workers(b))

    def _for(self, b, fn, stop, start=None):
        """``with self._for(b, fn, n) as k:`` -- a counted loop over ``k`` in ``[start, n)``."""
        return _CountedLoop(b, fn, start if start is not None else ir.Constant(I64, 0), stop)

    def _build_fork_helpers(self):
        void = ir.FunctionType(ir.VoidType(), [])
        acquire = ir.Function(self.module, void, "fusenum_pool_acquire")
        b = ir.IRBuilder(acquire.append_basic_block("entry"))
        loop = acquire.append_basic_block("loop")
        done = acquire.append_basic_block("done")
        b.branch(loop)
        b.position_at_end(loop)
        taken = b.extract_value(b.cmpxchg(self.lock(b), ir.Constant(I32, 0), ir.Constant(I32, 1),
                                          "acquire", "monotonic"), 1)
        b.cbranch(taken, done, loop)
        b.position_at_end(done)
        b.ret_void()

        release = ir.Function(self.module, void, "fusenum_pool_release")
        b = ir.IRBuilder(release.append_basic_block("entry"))
        _store_atomic(b, ir.Constant(I32, 0), self.lock(b), "release")
        b.ret_void()

        # In a forked child the workers do not exist: forget them (no task was in flight).
        reset = ir.Function(self.module, void, "fusenum_pool_reset")
        b = ir.IRBuilder(reset.append_basic_block("entry"))
        b.store(ir.Constant(I32, 0), self.workers(b))
        _store_atomic(b, ir.Constant(I32, 0), self.lock(b), "release")
        b.ret_void()


class _Callee:
    """A function pointer with its type, for an indirect call (llvmlite reads ``function_type``)."""

    def __init__(self, pointer: ir.Value, function_type: ir.FunctionType):
        self.pointer = pointer
        self.type = pointer.type
        self.function_type = function_type

    def get_reference(self) -> str:
        return self.pointer.get_reference()


def _store_atomic(b, value, ptr, ordering: str):
    """An atomic i32 store (llvmlite's store_atomic insists on typed pointers)."""
    b._insert(ir_instructions.StoreAtomicInstr(b.block, value, ptr, ordering, 4))


class _CountedLoop:
    def __init__(self, b, fn, start, stop):
        self.b, self.fn, self.start, self.stop = b, fn, start, stop

    def __enter__(self):
        b = self.b
        before = b.block
        self.header = self.fn.append_basic_block("for")
        self.body = self.fn.append_basic_block("for.body")
        self.exit = self.fn.append_basic_block("for.end")
        b.branch(self.header)
        b.position_at_end(self.header)
        self.k = b.phi(I64, "k")
        self.k.add_incoming(self.start, before)
        b.cbranch(b.icmp_signed("<", self.k, self.stop), self.body, self.exit)
        b.position_at_end(self.body)
        return self.k

    def __exit__(self, *exc):
        b = self.b
        self.k.add_incoming(b.add(self.k, ir.Constant(I64, 1)), b.block)
        b.branch(self.header)
        b.position_at_end(self.exit)
        return False


def module_text() -> str:
    """The pool's LLVM IR."""
    return str(_Module().module)
