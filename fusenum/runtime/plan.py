"""Plans: an expression typed for one combination of input dtypes, and the kernels it uses.

A :class:`Plan` holds its IR root, where each kernel operand comes from
(:class:`~fusenum.ir.operands.Source`), and the kernels compiled for it so far,
keyed by layout and by the codegen settings (SIMD level, vector math). The
thresholds that decide how a call runs (threads, streaming stores) are worked
out once, from the expression's cost per element.
"""
from __future__ import annotations

from operator import itemgetter
from pathlib import Path
from typing import Callable

import numpy as np

from . import kernels, tiering
from . import threads as threads_module
from ..codegen import settings
from ..codegen.spec import ACCESSES, Access, KernelSpec
from ..ir import nodes
from ..ir.nodes import Node
from ..ir.ops import MATH_COST, expression_cost, numpy_materializes, work_per_element
from ..ir.operands import Source
from .kernels import Kernel


def _last_level_cache_bytes() -> int:
    """Size of the largest CPU cache (Linux sysfs), or 32 MiB when it cannot be read."""
    sizes = []
    for entry in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = entry.read_text().strip().upper()
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        digits = text.rstrip("KMG")
        if digits.isdigit():
            sizes.append(int(digits) * scale)
    return max(sizes, default=32 << 20)


#: A last-level cache bigger than this is a many-core server's, most of it other cores' share: on a
#: 2-core VM whose L3 reads 480 MiB, streaming stores into an existing 16 MB output were 0-9% faster,
#: into 32-256 MB ones 1.1-2x (``out=``, one thread and two; ``benchmarks/report.py --sizes 1e7``).
STREAM_CAP_BYTES = 16 << 20
#: Outputs at least this big are written with non-temporal (cache-bypassing) stores (:meth:`Plan.streams`).
STREAM_BYTES = min(_last_level_cache_bytes(), STREAM_CAP_BYTES)
#: Only bodies whose arithmetic costs less than one vector math function
#: (:func:`~fusenum.ir.ops.expression_cost`, the op table's costs) stream. Streaming saves memory traffic,
#: which only a memory-bound loop gains from; on that VM, 10M-element ``log``, ``sin``, ``tanh`` and
#: ``exp`` ran 1.3-2.4x slower with it (so did a C loop of 8-24 dependent FMAs per vector), while
#: bodies of cost 1-14 ran up to 2x faster and none slower.
STREAM_MAX_COST = MATH_COST
#: A result fusenum allocates of at least this size is a new mapping (glibc's ``malloc`` maps every
#: block this big itself): its pages are zeroed at first touch, which leaves each in the cache,
#: dirty. Ordinary stores then write into the cache; streaming ones must first write those zeros
#: back, doubling the writes (1.05-1.45x slower there, with huge pages and without).
FRESH_MAPPING_BYTES = 32 << 20


class Plan:
    """An expression typed for specific input dtypes, with its kernels by layout.

    ``first_array`` is the index of the first array bound to the expression
    when every bound array is a kernel operand: then the common call (all
    arrays C-contiguous with one shape) can go straight to a checked kernel
    with an output shaped like that array. Otherwise it is None.
    """

    __slots__ = ("root", "sources", "dtype", "kernels", "first_array", "checked", "checked_streaming", "take",
                 "parallel_size", "wake_size", "stream_bytes", "big_size", "round_size", "staged",
                 "scalar_operands", "casts", "warnings", "materialize", "_specs", "_checked_accesses")

    def __init__(self, root: Node, sources: tuple[Source, ...], values: list, staged: Callable | None = None,
                 casts: tuple | None = None):
        self.root = root
        #: The inputs the expression's operations convert (:attr:`fusenum.ir.typing.Builder.casts`),
        #: which ``casting='no'`` and ``'equiv'`` forbid; None where ``casting=`` covers the result only.
        self.casts = casts
        #: ``(message, category)`` of the warnings NumPy gives at each call of the expression
        #: (:attr:`fusenum.ir.typing.Builder.call_warnings`), which the front end gives.
        self.warnings: tuple = ()
        self.sources = sources
        self.dtype = root.dtype
        self.kernels: dict[tuple, Kernel] = {}
        self._specs: dict[tuple, KernelSpec] = {}  # by layout: an interpreted call asks for its kernel each time
        arrays = [i for i, v in enumerate(values) if type(v) is np.ndarray]
        operand_arrays = {s.key for s in sources if s.dtype is None}
        #: How a plan with reductions runs (:func:`fusenum.runtime.staging.execute`); None without.
        self.staged = staged
        self.first_array = arrays[0] if arrays and set(arrays) <= operand_arrays and staged is None else None
        swapped = {i: not values[i].dtype.isnative for i in arrays}
        #: Checked kernels by codegen settings (SIMD level, vector math), without and with streaming stores.
        self.checked: dict[tuple, Kernel] = {}
        self.checked_streaming: dict[tuple, Kernel] = {}
        self.take = _operand_getter(sources)  # values -> tuple of the kernel's input arrays
        #: Which kernel operands stand for Python scalars (single-valued in every call).
        self.scalar_operands = frozenset(k for k, s in enumerate(sources) if s.dtype is not None)
        #: The values (by index) whose broadcast views NumPy computes into new arrays before a loop
        #: that takes a shortcut for a single value sees them (:func:`~fusenum.ir.ops.numpy_materializes`):
        #: :func:`~.layout.single_value_views_copied` copies them.
        self.materialize = tuple(dict.fromkeys(sources[k].key for k in sorted(numpy_materializes(root))
                                                if sources[k].dtype is None))
        #: The common call's layout classes (:meth:`checked_accesses`), fixed by the operands' dtypes.
        self._checked_accesses = tuple(ACCESSES["c", swapped.get(s.key, False)] if s.dtype is None
                                       else ACCESSES["u", False] for s in sources) + (ACCESSES["c", False],)
        work = work_per_element(root)
        self.parallel_size = threads_module.min_size(work)
        self.wake_size = threads_module.wake_size(work)
        self.round_size = threads_module.round_size(work)
        #: The smallest output (in bytes) written with streaming stores, if any is.
        self.stream_bytes = STREAM_BYTES if expression_cost(root) < STREAM_MAX_COST else 1 << 62
        self.big_size = min(self.parallel_size, max(1, self.stream_bytes // self.dtype.itemsize))

    def kernel(self, out_dtype: np.dtype, accesses: tuple[Access, ...], ndim: int,
               checked: bool = False, streaming: bool = False, tiered: bool = False,
               size: int = 0, settings_key: tuple | None = None) -> Kernel | None:
        """The kernel for these arguments, compiled if need be; ``tiered``: None instead when the
        tiering policy has the interpreter serve this call of ``size`` elements
        (:func:`fusenum.runtime.tiering.obtain`). It is the kernel for the codegen settings
        ``settings_key`` (else the current ones, read once: another thread may call ``set_simd``
        meanwhile, and a kernel must be kept under the key it was made for)."""
        if settings_key is None:
            settings_key = settings.key
        key = (out_dtype, accesses, ndim, checked, streaming, settings_key)
        found = self.kernels.get(key)
        if found is not None and not (tiered and tiering.policy == "always"):
            kernels.stats.hits += 1
            return found
        spec = self.spec(out_dtype, accesses, ndim, checked, streaming)
        found = (tiering.obtain(spec, size, settings_key=settings_key) if tiered
                 else kernels.kernel(spec, settings_key))
        if found is not None:
            self.kernels[key] = found
        return found

    def spec(self, out_dtype: np.dtype, accesses: tuple[Access, ...], ndim: int,
             checked: bool = False, streaming: bool = False) -> KernelSpec:
        """The spec of the kernel :meth:`kernel` gives for these arguments."""
        key = (out_dtype, accesses, ndim, checked, streaming)
        found = self._specs.get(key)
        if found is None:
            root = nodes.cast(self.root, out_dtype.newbyteorder("="))
            found = self._specs[key] = KernelSpec(root, accesses, ndim, checked, streaming)
        return found

    def kernel_in_memory(self, out_dtype: np.dtype, accesses: tuple[Access, ...], ndim: int,
                         checked: bool = False, streaming: bool = False) -> Kernel | None:
        """The kernel :meth:`kernel` would give, if this plan or the kernel cache already holds it
        (nothing is compiled or counted)."""
        settings_key = settings.key
        key = (out_dtype, accesses, ndim, checked, streaming, settings_key)
        found = self.kernels.get(key)
        return found if found is not None else kernels.cached(self.spec(out_dtype, accesses, ndim, checked,
                                                                        streaming), settings_key)

    def checked_accesses(self, values: list) -> tuple[Access, ...] | None:
        """The fast path's layout classes if these values fit a checked kernel, else None:
        all arrays C-contiguous with one shape."""
        arrays = [v for v in values if type(v) is np.ndarray]
        shape = arrays[0].shape
        if not all(a.shape == shape and a.flags.c_contiguous for a in arrays):
            return None
        return self._checked_accesses

    def compile_checked(self, values: list, streaming: bool = False, tiered: bool = False,
                        accesses: tuple[Access, ...] | None = None) -> Kernel | None:
        """The fast path's checked kernel, compiled if these values fit it (else None; also None
        if ``tiered`` and the tiering policy has the interpreter serve the call); ``accesses``:
        :meth:`checked_accesses` of ``values``, if the caller has it.

        Until a call's arrays are all C-contiguous with one shape nothing is
        compiled, so expressions only ever used on strided data compile one kernel.
        The codegen settings are read once, so the kernel is kept under the key it was made for.
        """
        if accesses is None:
            accesses = self.checked_accesses(values)
        if accesses is None:
            return None
        settings_key = settings.key
        kernel = self.kernel(self.dtype, accesses, 1, checked=True, streaming=streaming, tiered=tiered,
                             size=values[self.first_array].size, settings_key=settings_key)
        if kernel is not None:
            (self.checked_streaming if streaming else self.checked)[settings_key] = kernel
        return kernel

    def streams(self, nbytes: int, fresh: bool) -> bool:
        """Whether an output of ``nbytes`` is written with streaming stores (``fresh``: allocated for
        this call, not the caller's ``out``)."""
        return nbytes >= self.stream_bytes and not (fresh and nbytes >= FRESH_MAPPING_BYTES)

    def run_big(self, kernel: Kernel, values: list, operands: tuple, size: int, itemsize: int,
                fresh: bool) -> int:
        """Run a checked kernel call too big for one plain call: streaming stores, threads
        (``fresh``: the result was allocated for this call)."""
        if self.streams(size * itemsize, fresh):
            # If these arrays do not fit a checked kernel, the plain one reports the mismatch.
            # A streaming kernel not at hand yet (tiers): the plain one gives the same bits.
            kernel = (self.checked_streaming.get(settings.key) or self.compile_checked(values, True, tiered=True)
                      or kernel)
        threads = threads_module._threads if size >= self.parallel_size else 1
        return threads_module.run(kernel, operands, None, size, itemsize, threads, size >= self.wake_size,
                                  self.round_size)


def _operand_getter(sources: tuple[Source, ...]):
    """A fast ``values -> tuple of kernel input arrays`` for these sources."""
    keys = [s.key for s in sources]
    if any(s.dtype is not None for s in sources):
        return lambda values: tuple(values[s.key] if s.dtype is None else s.convert(values[s.key])
                                    for s in sources)
    if len(keys) == 0:
        return lambda values: ()
    if len(keys) == 1:
        key = keys[0]
        return lambda values: (values[key],)
    return itemgetter(*keys)
