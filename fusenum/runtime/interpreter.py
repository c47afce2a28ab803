"""Tier 0: an interpreter of an elementwise plan's typed IR that runs at once, with no compile of its own.

A call is run in blocks of :data:`BLOCK` elements: :class:`numpy.nditer` (buffered, external loop)
walks the kernel's operands and the output together, handling broadcasting, strides, byte order
and the cast into ``out=`` as it goes, and each block is computed node by node into small block
buffers, one per IR node until its value is read for the last time (numexpr's model: no full-size
temporaries). Every node is computed by code
that already exists and gives **exactly the bits the fused kernel gives**:

* an exact op-table row (:attr:`~fusenum.ir.ops.Op.exact`) whose answer NumPy fixes, by the
  row's NumPy ufunc with ``out=`` into the block buffer -- fusenum's exact rows are NumPy's bit
  for bit (the differential tests check it); casts by :func:`numpy.copyto` (``casting="unsafe"``,
  i.e. ``astype``); ``where``, ``real``, ``imag`` and ``complex`` by copies;
* every other row -- transcendental functions (``ulp > 0``: NumPy's last bits differ from
  fusenum's vector math), and exact rows whose answer NumPy leaves open (:data:`KERNEL_ROWS`) --
  by a small fusenum kernel of that one node over contiguous blocks: a regular
  :class:`~fusenum.codegen.spec.KernelSpec`, compiled once per function, dtypes and SIMD level
  and kept in the disk cache, shared by every expression that uses it.

Floating-point warnings are off, as in compiled kernels (which never warn); the errors compiled
kernels report (a negative integer power) come from the one-node kernels' status, as there.

A reduction's argument is interpreted too (:mod:`fusenum.runtime.staging`): into an array laid out
in the fused pass's order, which a one-node reduction kernel then reduces, grouping the elements
as the fused kernel would (its virtual lanes, :mod:`fusenum.codegen.lanes`), so its bits never
depend on the tier either.

A call of :data:`LARGE_ELEMENTS` or more is shared between ``fusenum.get_num_threads()``
threads (the Python workers of :mod:`.threads`): they take contiguous ranges of the iteration in
turn, each walked with its own copy of the iterator and its own buffers, in blocks of
:data:`SHARED_BLOCK` (:data:`LARGE_BLOCK` on one thread). The
ufunc loops and the one-node kernels on those large blocks release the GIL (a small call's keep
it: :data:`fusenum.runtime.compiled_kernel.HOLD_GIL_WORK`); the per-block Python work does not, hence the
bigger blocks. Every element is computed by the same code whatever the split, so the bits do not
depend on the thread count.
"""
from __future__ import annotations

import functools
import threading
from typing import Callable, Iterator

import numpy as np

from . import caches, first_use, kernels
from . import threads as threads_module
from .layout import broadcast_strides
from ..codegen import locks, settings
from ..codegen.abi import raise_status
from ..codegen.lanes import virtual_lanes
from ..codegen.spec import Access, KernelSpec
from ..ir import nodes
from ..ir.nodes import Node
from ..ir.ops import OPS
from ..ir.reductions import ROWS, same_kernel

#: Elements per block: every node buffer of a block stays in the core's own caches.
BLOCK = 4096
#: Calls of at least this many elements run in blocks of :data:`SHARED_BLOCK`, shared between
#: threads (see :func:`run`), or of :data:`LARGE_BLOCK` on one thread.
LARGE_ELEMENTS = 1 << 17
#: Elements per block of a large call on one thread: fewer blocks, so less per-block Python work.
LARGE_BLOCK = 1 << 15
#: Elements per block of a large call that threads share: the per-block Python work holds the GIL
#: (NumPy's loops and the one-node kernels let it go), and each handing over of the GIL between two
#: threads costs a wake-up. Measured (``2*a+3*b-c``, ``sin(a)**2+cos(b)**2``... at 300,000 to
#: 4,000,000 elements, two threads): on a Zen 4 VM, 4,096 made the two threads wait for each other's
#: GIL, slower than one thread; 32,768 ran 1.5-2.2x faster than one thread in blocks of 4,096. On an
#: Intel Xeon VM (2 cores, 2 MB L2 each; 2026-12-06) a wake-up took as long as a NumPy loop over
#: 32,768 elements, and two threads ran no faster than one; 65,536 (with steps sharing buffers,
#: :class:`Program`) ran ``a + b * c - d``, ``2*a+3*b-c``, ``sin(a)**2+cos(b)**2``, ``sqrt(a**2+b**2)``
#: and ``(a+b)*(a-b)`` at 300,000 to 4,000,000 float64 elements 1.03-1.5x faster than 32,768 did
#: before, where one thread in blocks of 65,536 was up to 1.3x slower (its blocks' arrays no longer
#: fit its L2).
SHARED_BLOCK = 1 << 16
#: Calls of at most this many elements whose arrays need no iterator (:func:`_plain`) run as one
#: block, straight on the operands. Measured at 10,000 elements (``2*a+3*b-c``, ``sin(a)+cos(b)**2``):
#: 30-40% faster than blocks of :data:`BLOCK` through the iterator.
DIRECT_ELEMENTS = 1 << 14
#: Bytes of block buffers each thread keeps between calls (:func:`_buffers`).
SCRATCH_BYTES = 1 << 22
#: Elements of a shared call's range at most (about 1-5 ms of work: how long a Ctrl-C may wait).
MAX_RANGE_ELEMENTS = 1 << 20
_FLAGS = ["external_loop", "buffered", "zerosize_ok"]
# "ranged": each thread walks its own range of a copy; "delay_bufalloc": copies get buffers of their own.
_SHARED_FLAGS = _FLAGS + ["ranged", "delay_bufalloc"]
#: Programs kept (one per root and codegen settings).
MAX_PROGRAMS = 1024

#: Exact rows computed by a one-node kernel anyway: NumPy's own answer between equal zeros depends
#: on where the element falls (its vector loop and scalar tail choose differently), fusenum's never.
KERNEL_ROWS = frozenset({"fmax", "fmin", "clip"})
#: Likewise for complex numbers: NumPy's multiply and square loops use fused multiply-adds (as
#: fusenum does) except in their plain C loop, which takes some one-element blocks; its absolute
#: differs in the last bit between its vector loop and the loop it runs on blocks of a reversed
#: array (``|2-111j|`` in complex64: 0x42de0938 and 0x42de0939).
COMPLEX_KERNEL_ROWS = frozenset({"multiply", "square", "absolute"})
#: Rows computed by copies, not arithmetic.
_COPIES = frozenset({"where", "real", "imag", "complex"})

_CONTIGUOUS = Access("c")
_UNIFORM = Access("u")


class Program:
    """A plan's root compiled into steps: ``steps`` run in order, each ``(run, arguments, buffer,
    single)`` where ``run(arguments, destination)`` fills ``destination`` and ``arguments`` index the
    block's slots (the operands' blocks, then ``constants``, then each step's result). ``buffer``
    indexes the block buffers (``dtypes``: each one's dtype), which steps share once the values in
    them are read for the last time: a NumPy ufunc may even write over an argument it reads whole
    (``a + b * c - d`` keeps one buffer, not two, in the cache). A ``single``
    step's arguments all have one value for the call (constants, single-valued operands, other
    single steps): it computes one element, which the steps after it broadcast (the cast of ``3``
    in ``a * 3`` no longer fills a block-long buffer)."""

    __slots__ = ("steps", "constants", "dtypes", "root_slot", "root_writes_out", "uniform_slots")

    def __init__(self, root: Node, slot_count: int, uniform_slots: frozenset = frozenset(),
                 settings_key: tuple | None = None):
        if settings_key is None:
            settings_key = settings.key
        self.uniform_slots = uniform_slots
        slots: dict[Node, int] = {}
        self.constants: list[np.ndarray] = []
        walked = list(nodes.walk(root))  # operands before their users
        for node in walked:
            if node.op == "input":
                slots[node] = node.attr
            elif node.op == "const":
                slots[node] = slot_count + len(self.constants)
                # with the node's dtype: a bytes scalar drops trailing NULs, and kernels read the whole width
                self.constants.append(np.asarray(node.value, node.dtype))
        first_result = slot_count + len(self.constants)
        computed = list(_computed(walked, uniform_slots))
        last_use: dict[Node, int] = {}
        for index, (node, _) in enumerate(computed):
            slots[node] = first_result + index
            for argument in node.args:
                last_use[argument] = index
        self.steps: list[tuple[Callable, list[int], int, bool]] = []
        self.dtypes: list[np.dtype] = []  # of each buffer
        buffer_of: dict[Node, int] = {}
        single_of: dict[Node, bool] = {}
        free: list[int] = []  # buffers whose values no later step reads
        for index, (node, uniform_args) in enumerate(computed):
            step = _step(node, uniform_args, settings_key)
            single = all(uniform_args)
            dying = {a: buffer_of[a] for a in node.args if a in buffer_of and last_use[a] == index}
            # A ufunc may write over an argument it reads whole (element for element), which keeps
            # fewer buffers in the cache; a one-node kernel's pointers do not alias.
            in_place = getattr(step, "elementwise", False) and not single
            reusable = free + [b for a, b in dying.items() if in_place and not single_of[a]]
            buffer = next((b for b in reusable if self.dtypes[b] == node.dtype), None)
            if buffer is None:
                buffer = len(self.dtypes)
                self.dtypes.append(node.dtype)
            elif buffer in free:
                free.remove(buffer)
            free.extend(b for b in dying.values() if b != buffer)
            buffer_of[node], single_of[node] = buffer, single
            self.steps.append((step, [slots[a] for a in node.args], buffer, single))
        self.root_slot = slots[root]
        # A ufunc may write its block straight into the output (it reads each element before writing it).
        self.root_writes_out = bool(self.steps) and getattr(self.steps[-1][0], "elementwise", False) \
            and not self.steps[-1][3]

    def run(self, operands: list[np.ndarray], out: np.ndarray, threads: int = 1) -> None:
        """Fill ``out`` (non-empty; not overlapping the operands except element for element), on
        this thread and up to ``threads - 1`` workers, taking contiguous ranges of blocks in turn."""
        if out.ndim == 0:  # nditer's blocks of 0-d operands are 0-d: make them one element long
            operands, out = [a.reshape(1) for a in operands], out.reshape(1)
        if out.size < LARGE_ELEMENTS:
            block = BLOCK
        else:
            block = SHARED_BLOCK if threads > 1 and out.size >= 2 * SHARED_BLOCK else LARGE_BLOCK
        # (a call in large blocks, which threads share, runs straight only if it is one block)
        if out.size <= (DIRECT_ELEMENTS if block == BLOCK else block) and _plain(operands, out, self.uniform_slots):
            # one block that needs no iterator: its arrays are the operands themselves
            with _buffers(self.dtypes, out.size) as buffers, np.errstate(all="ignore"):
                self._compute([a.reshape(-1) for a in operands], out.reshape(-1), buffers)
            return
        dtypes = [a.dtype.newbyteorder("=") for a in operands] + [out.dtype.newbyteorder("=")]
        parallel = threads > 1 and out.size >= 2 * block
        iterator = np.nditer(operands + [out], flags=_SHARED_FLAGS if parallel else _FLAGS,
                             op_flags=[["readonly"]] * len(operands) + [["writeonly"]], op_dtypes=dtypes,
                             casting="unsafe", buffersize=block, order="K")
        if not parallel:
            self._run_blocks(iterator, bool(operands), block)
            return
        # Copies of an iterator whose buffers are not allocated yet: each gets its own on reset
        # (setting its range), and none writes a block it was not given back into ``out``.
        size = iterator.itersize
        # A few ranges per thread, taken in turn (one thread's slower blocks do not hold the others
        # up), and short enough that a Ctrl-C, which waits for the ranges begun, is soon answered.
        per_range = -(-size // (threads * threads_module.CHUNKS_PER_THREAD * block))
        step = max(1, min(per_range, MAX_RANGE_ELEMENTS // block)) * block
        ranges = [(start, min(size, start + step)) for start in range(0, size, step)]
        shares = {start: iterator if k == 0 else iterator.copy() for k, (start, _) in enumerate(ranges)}

        def share(start: int, stop: int) -> None:
            part = shares[start]
            part.iterrange = (start, stop)
            self._run_blocks(part, bool(operands), block)
        threads_module.run_python(share, ranges, threads)

    def _run_blocks(self, iterator: np.nditer, has_operands: bool, block: int) -> None:
        """Compute every block ``iterator`` walks (each at most ``block`` elements long)."""
        with _buffers(self.dtypes, block) as buffers, iterator, np.errstate(all="ignore"):
            for items in iterator if has_operands else ((b,) for b in iterator):
                destination = items[-1]
                size = destination.shape[0]
                self._compute(items[:-1], destination, buffers if size == block else [b[:size] for b in buffers])

    def _compute(self, blocks, destination: np.ndarray, buffers: list[np.ndarray]) -> None:
        """Fill ``destination`` from the operands' ``blocks`` (each as long, or one element long:
        single-valued), with ``buffers`` (one per step dtype, as long as ``destination``)."""
        steps = self.steps
        # Straight into a strided destination (a non-contiguous ``out=``) no more: NumPy 2.4's
        # ``isnan``, ``isinf``, ``isfinite`` and ``signbit`` loops left most of one unwritten.
        last = len(steps) - 1 if self.root_writes_out and destination.strides[0] == destination.itemsize else -1
        slots = [*blocks, *self.constants]
        for index, (run, arguments, buffer, single) in enumerate(steps):
            if single:  # (a single-valued operand's block is its value repeated, or one element)
                target = buffers[buffer][:1]
                run([slots[k].reshape(-1)[:1] for k in arguments], target)
            else:
                target = destination if index == last else buffers[buffer]
                run([slots[k] for k in arguments], target)
            slots.append(target)
        if last < 0:
            np.copyto(destination, slots[self.root_slot], casting="unsafe")


_scratch = threading.local()


class _buffers:
    """``with _buffers(dtypes, size) as buffers``: one array of ``size`` elements per dtype.

    Large ones are views of the thread's scratch bytes, kept between calls (up to
    :data:`SCRATCH_BYTES` per thread, until it ends or calls :func:`clear`): freeing a few hundred kilobytes of fresh buffers after every call made
    glibc give the memory back to the system and take it again on the next call (page faults: a
    10,000-element ``sin(a)**2+cos(b)**2`` took 240 us instead of 76). The last views made are
    kept with the bytes, so a loop of calls of one program and size makes them once. The bytes
    are taken from the thread while in use, so a nested call on the same thread (a signal
    handler's) gets its own."""

    __slots__ = ("dtypes", "size", "scratch")

    def __init__(self, dtypes: list[np.dtype], size: int):
        self.dtypes, self.size, self.scratch = dtypes, size, None

    def __enter__(self) -> list[np.ndarray]:
        size, dtypes = self.size, self.dtypes
        scratch = getattr(_scratch, "state", None)  # (bytes, dtypes, size, views of the bytes)
        if scratch is not None and scratch[1] is dtypes and scratch[2] == size:
            _scratch.state, self.scratch = None, scratch
            return scratch[3]
        spans = [-(-size * dtype.itemsize // 64) * 64 for dtype in dtypes]  # cache-line aligned
        total = sum(spans)
        if total < (1 << 16):  # small buffers come and go cheaply
            return [np.empty(size, dtype) for dtype in dtypes]
        _scratch.state = None
        arena = None if scratch is None else scratch[0]
        if arena is None or arena.size < total:
            arena = np.empty(total, np.uint8)
        views, start = [], 0
        for dtype, span in zip(dtypes, spans):
            views.append(arena[start:start + size * dtype.itemsize].view(dtype))
            start += span
        # (the dtypes list itself is kept: an equal id could otherwise belong to another program's)
        self.scratch = (arena, dtypes, size, views)
        return views

    def __exit__(self, *exc) -> None:
        if self.scratch is not None and self.scratch[0].size <= SCRATCH_BYTES:
            _scratch.state = self.scratch


def _plain(operands: list[np.ndarray], out: np.ndarray, uniform_slots: frozenset) -> bool:
    """Whether the arrays need nothing of an iterator: native, aligned and C-contiguous, every
    operand either as big as ``out`` (so, broadcast or not, in ``out``'s element order) or one
    element that the program reads as single-valued (one of ``uniform_slots``, as NumPy's loops
    broadcast it; a one-node kernel reads any other operand element by element)."""
    flags = out.flags
    if not (flags.c_contiguous and flags.aligned and out.dtype.isnative):
        return False
    size = out.size
    for k, a in enumerate(operands):
        flags = a.flags
        if not (flags.c_contiguous and flags.aligned and a.dtype.isnative
                and (a.size == size or a.size == 1 and k in uniform_slots)):
            return False
    return True


def _computed(walked: list[Node], uniform_slots: frozenset) -> Iterator[tuple[Node, tuple[bool, ...]]]:
    """Each node of ``walked`` (operands before their users) that a step computes, with which of
    its arguments have one value for the whole call: what a compiled kernel knows of its operands
    (``power`` and ``clip`` answer as NumPy's loops do for single-valued operands)."""
    single: dict[Node, bool] = {}
    for node in walked:
        if node.op == "input":
            single[node] = node.attr in uniform_slots
        elif node.op == "const":
            single[node] = True
        else:
            uniform_args = tuple(single[a] for a in node.args)
            single[node] = bool(node.args) and all(uniform_args)
            yield node, uniform_args


def _step(node: Node, uniform_args: tuple[bool, ...] = (), settings_key: tuple | None = None) -> Callable:
    """How one node is computed on a block (``uniform_args``: which arguments are single-valued;
    a one-node kernel's, under the codegen settings ``settings_key``, else the current ones)."""
    if not _by_numpy(node):
        return _kernel_step(node, uniform_args, settings_key)
    if node.op == "cast":
        return _cast
    if node.op in _COPIES:
        return _COPY_STEPS[node.op]
    return _ufunc_step(OPS[node.op].ufunc)


def _by_numpy(node: Node) -> bool:
    """Whether NumPy computes ``node`` here (a cast, a copy or a ufunc loop), not a one-node kernel."""
    if node.op == "cast":
        return _numpy_casts_alike(node.args[0].dtype, node.dtype)
    if node.op in _COPIES:
        return True
    row = OPS[node.op]
    by_kernel = node.op in KERNEL_ROWS or (node.op in COMPLEX_KERNEL_ROWS
                                           and any(a.dtype.kind == "c" for a in node.args))
    return row.exact and row.ufunc is not None and not by_kernel and _loop_gives(row.ufunc, node)


def needs_kernels(root: Node) -> bool:
    """Whether interpreting ``root`` needs a one-node kernel (so LLVM, and perhaps compiles)."""
    found = _needs_kernels.get(root)
    if found is None:
        found = _keep(_needs_kernels, root, any(n.args and not _by_numpy(n) for n in nodes.walk(root)))
    return found


def is_one_numpy_operation(root: Node) -> bool:
    """Whether ``root`` is a single operation that NumPy computes, on operands perhaps cast by
    NumPy (``a * 3`` of a float ``a`` casts the Python int): interpreting it is NumPy's loop."""
    operations = sum(1 for node in nodes.walk(root) if node.args and node.op != "cast")
    return operations == 1 and not needs_kernels(root)


def kernel_specs(root: Node, uniform_slots: frozenset = frozenset()) -> list[KernelSpec]:
    """The one-node kernels that interpreting ``root`` (the operands in ``uniform_slots``
    single-valued) uses, in the order its steps run."""
    return [node_spec(node, uniform_args) for node, uniform_args in _computed(list(nodes.walk(root)), uniform_slots)
            if not _by_numpy(node)]


def missing_kernels(root: Node, uniform_slots: frozenset = frozenset(),
                    settings_key: tuple | None = None) -> list[KernelSpec]:
    """The one-node kernels that interpreting ``root`` (the operands in ``uniform_slots``
    single-valued) would have to compile under the current codegen settings (or ``settings_key``):
    those neither in memory, nor shipped with the package, nor in the disk cache. Those shipped or on
    disk are loaded now, as the interpreter would load them."""
    if not needs_kernels(root):
        return []
    if settings_key is None:
        settings_key = settings.key
    return [spec for spec in kernel_specs(root, uniform_slots) if not kernels.at_hand(spec, settings_key)]


def _numpy_casts_alike(source: np.dtype, target: np.dtype) -> bool:
    """Whether NumPy's cast gives the compiled cast's bits for every value: between integer, bool
    and float32/float64 dtypes except float to integer (out-of-range floats are undefined in C, and
    NumPy's vectorized cast loops answer differently from its scalar ones; the kernel answers as
    ``ndarray.astype`` does on x86), and never through float16 or complex (rounding paths differ)."""
    if source.kind == "c" or target.kind == "c" or np.float16 in (source.type, target.type):
        return source.kind == "c" and target.kind == "c"
    return not (source.kind == "f" and target.kind in "iub")


def _loop_gives(ufunc: np.ufunc, node: Node) -> bool:
    """Whether NumPy's loop for the node's argument dtypes yields the node's dtype."""
    return _loop_yields(ufunc, tuple(a.dtype for a in node.args), node.dtype)


@functools.lru_cache(maxsize=4096)
def _loop_yields(ufunc: np.ufunc, arguments: tuple[np.dtype, ...], dtype: np.dtype) -> bool:
    try:
        resolved = ufunc.resolve_dtypes(arguments + (None,) * ufunc.nout)
    except (TypeError, ValueError):
        return False
    return resolved[-1] == dtype and resolved[:-1] == arguments


def _ufunc_step(ufunc: np.ufunc) -> Callable:
    def run(arguments: list, destination: np.ndarray) -> None:
        ufunc(*arguments, out=destination)
    run.elementwise = True
    return run


def _cast(arguments: list, destination: np.ndarray) -> None:
    source = arguments[0]
    if source.dtype.kind == "c" and destination.dtype.kind != "c":
        source = source.real  # astype's meaning, without its ComplexWarning
    np.copyto(destination, source, casting="unsafe")


def _where(arguments: list, destination: np.ndarray) -> None:
    # (a block-sized temporary: np.where has no out=, and a masked copyto is slower still)
    np.copyto(destination, np.where(*arguments))


def _real(arguments: list, destination: np.ndarray) -> None:
    np.copyto(destination, arguments[0].real)


def _imag(arguments: list, destination: np.ndarray) -> None:
    np.copyto(destination, arguments[0].imag)


def _complex(arguments: list, destination: np.ndarray) -> None:
    np.copyto(destination.real, arguments[0])
    np.copyto(destination.imag, arguments[1])


_COPY_STEPS = {"where": _where, "real": _real, "imag": _imag, "complex": _complex}


def node_spec(node: Node, uniform_args: tuple[bool, ...] = ()) -> KernelSpec:
    """The one-node kernel that computes ``node`` over contiguous blocks (constants, and arguments
    single-valued for the call, as single values)."""
    uniform = [a.op == "const" or (k < len(uniform_args) and uniform_args[k]) for k, a in enumerate(node.args)]
    arguments = tuple(nodes.input_slot(k, a.dtype) for k, a in enumerate(node.args))
    accesses = tuple(_UNIFORM if u else _CONTIGUOUS for u in uniform) + (_CONTIGUOUS,)
    return KernelSpec(Node(node.op, arguments, node.dtype, node.attr), accesses, 1)


def reduction_spec(argument: Node, reduction: str, accumulator: Access, ndim: int, pieces: bool,
                   lanes: tuple[int, int] | None = None) -> KernelSpec:
    """The one-node kernel with which tier 0 reduces ``argument``'s interpreted values (C-contiguous
    over the pass's ``ndim`` dims, :mod:`.staging`) into an accumulator of access ``accumulator``,
    grouping them as the fused kernel of ``argument`` would (or as ``lanes`` says)."""
    values = nodes.input_slot(0, argument.dtype)
    lanes = lanes or virtual_lanes(argument)
    # (None where the values' own lanes are the same: one kernel serves a plain sum(x) in both tiers)
    return KernelSpec(values, (_CONTIGUOUS, accumulator), ndim, reduce=same_kernel(reduction),
                      pairwise=pairwise(reduction, values), pieces=pieces,
                      lanes=None if lanes == virtual_lanes(values) else lanes)


def pairwise(reduction: str, node: Node) -> bool:
    """Whether reduction ``reduction`` of ``node``'s values sums floats pairwise."""
    return ROWS[reduction].combine == "add" and node.dtype.kind in "fc"


def _kernel_step(node: Node, uniform_args: tuple[bool, ...] = (),
                 settings_key: tuple | None = None) -> Callable:
    spec = node_spec(node, uniform_args)
    kernel = first_use.one_node(spec, settings_key)
    single = tuple(access is _UNIFORM for access in spec.accesses[:-1])

    def run(arguments: list, destination: np.ndarray) -> None:
        operands = tuple(a if a.ndim == 0 or a.flags.c_contiguous else a[:1] if one else np.ascontiguousarray(a)
                         for a, one in zip(arguments, single))
        size = destination.shape[0]
        # (the large blocks that threads share let the GIL go, so the threads run at once)
        call = kernel.held if size <= kernel.hold_size else kernel.function
        status = call(0, size, (*operands, destination), None)
        if status:
            raise_status(status)
    return run


_programs: dict[tuple, Program] = {}
_needs_kernels: dict[Node, bool] = {}
_tables_lock = locks.lock()  # two threads making room at once would pop one key twice


def program(root: Node, slot_count: int, uniform_slots: frozenset = frozenset(),
            settings_key: tuple | None = None) -> Program:
    """The program for ``root`` (over ``slot_count`` operands, those in ``uniform_slots``
    single-valued) under the current codegen settings (or ``settings_key``), read once: its
    one-node kernels are those of the key it is kept under."""
    if settings_key is None:
        settings_key = settings.key
    key = (root, slot_count, uniform_slots, settings_key)
    found = _programs.get(key)
    if found is None:
        found = _keep(_programs, key, Program(root, slot_count, uniform_slots, settings_key))
    return found


def _keep(table: dict, key, value):
    """``table[key] = value``, dropping the oldest entry once ``table`` holds :data:`MAX_PROGRAMS`."""
    with _tables_lock:
        if len(table) >= MAX_PROGRAMS:
            table.pop(next(iter(table)))
        table[key] = value
    return value


def run(root: Node, operands: list[np.ndarray], out: np.ndarray, scalars: frozenset | None = None,
        settings_key: tuple | None = None) -> None:
    """Compute ``root`` (whose dtype is ``out``'s, made native) over ``operands`` into ``out``, with
    the one-node kernels of the codegen settings ``settings_key`` (else the current ones).

    Which operands are single-valued is what the kernel that would serve the call sees: for the
    general path's kernels, every operand with no stride along the output (broadcast, or of a
    one-element call); for the common call's checked kernel (C-contiguous arrays of the output's
    shape), only the operands that stand for Python scalars (``scalars``, their indices)."""
    shape = out.shape
    uniform = scalars if scalars is not None and out.flags.c_contiguous else frozenset(
        k for k, a in enumerate(operands) if not any(s for s, n in zip(broadcast_strides(a, shape), shape) if n != 1))
    count = threads_module.get_num_threads() if out.size >= LARGE_ELEMENTS else 1
    program(root, len(operands), uniform, settings_key).run(operands, out, count)


@caches.owner
def clear() -> None:
    """Forget every program (the one-node kernels they hold stay in the kernel cache) and this
    thread's scratch buffers."""
    with _tables_lock:
        _programs.clear()
        _needs_kernels.clear()
    _scratch.__dict__.pop("state", None)  # (the calling thread's: the others' go with their threads)
