"""Running a typed expression: bind operands, broadcast, allocate, coalesce, call.

A :class:`Plan` is an expression typed for one combination of input dtypes: its
IR root, where each kernel operand comes from, and the kernels compiled for it
so far, by layout. :func:`execute` runs a plan on concrete values:

1. the result shape is the broadcast of every array bound to the expression;
2. ``out`` is checked (shape, ``casting``) or allocated (``order``);
3. dimensions are put in the output's memory order and every pair of adjacent
   dimensions that is contiguous in all operands is merged, as NumPy's
   iterator does, so most calls become one flat loop;
4. each operand gets a layout class (see :mod:`fusenum.codegen.lower`), which
   with the dimension count selects the kernel;
5. the kernel runs over ``[0, size)`` with the GIL released, split over threads
   when the call is big enough (:mod:`fusenum.parallel`), and with streaming
   stores when the output is larger than the last-level cache.

The common call -- C-contiguous arrays of one shape -- skips steps 1 to 4: a
*checked* kernel verifies the layout itself and reports a mismatch, upon which
the general path runs.

If ``out`` overlaps an input in any other way than element-for-element (say
``out=a[::-1]`` while reading ``a``), the result is computed into a temporary
first, as NumPy does, so overlap never changes the answer.
"""
from __future__ import annotations

import struct
from operator import itemgetter
from pathlib import Path

import numpy as np

from . import cache, parallel, staging
from .codegen import target as simd
from .codegen.abi import STATUS_LAYOUT_MISMATCH, raise_status
from .codegen.lower import Access, KernelSpec
from .errors import CastingError
from .ir import nodes
from .ir.nodes import Node
from .ir.ops import expression_cost
from .ir.typing import Source, check_dtype

CASTING_RULES = ("no", "equiv", "safe", "same_kind", "unsafe")


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


#: Outputs at least this big are written with non-temporal (cache-bypassing) stores.
STREAM_BYTES = _last_level_cache_bytes()
ORDERS = ("K", "A", "C", "F")


class Plan:
    """An expression typed for specific input dtypes, with its kernels by layout.

    ``first_array`` is the index of the first array bound to the expression
    when every bound array is a kernel operand: then the common call (all
    arrays C-contiguous with one shape) can go straight to a checked kernel
    with an output shaped like that array. Otherwise it is None.
    """

    __slots__ = ("root", "sources", "dtype", "kernels", "first_array", "checked", "take", "parallel_size",
                 "wake_size", "stream_size", "big_size", "_array_swapped", "staged")

    def __init__(self, root: Node, sources: tuple[Source, ...], values: list):
        self.root = root
        self.sources = sources
        self.dtype = root.dtype
        self.kernels: dict[tuple, cache.Kernel] = {}
        arrays = [i for i, v in enumerate(values) if type(v) is np.ndarray]
        operand_arrays = {s.key for s in sources if s.dtype is None}
        self.staged = staging.has_reductions(root)
        self.first_array = arrays[0] if arrays and set(arrays) <= operand_arrays and not self.staged else None
        self._array_swapped = {i: not values[i].dtype.isnative for i in arrays}
        self.checked: dict[tuple, cache.Kernel] = {}  # (SIMD level, streaming) -> checked kernel
        self.take = _operand_getter(sources)  # values -> tuple of the kernel's input arrays
        work = work_per_element(root)
        self.parallel_size = parallel.min_size(work)
        self.wake_size = parallel.wake_size(work)
        self.stream_size = max(1, STREAM_BYTES // self.dtype.itemsize)
        self.big_size = min(self.parallel_size, self.stream_size)

    def kernel(self, out_dtype: np.dtype, accesses: tuple[Access, ...], ndim: int,
               checked: bool = False, streaming: bool = False) -> cache.Kernel:
        key = (out_dtype, accesses, ndim, checked, streaming, simd.get_simd())
        found = self.kernels.get(key)
        if found is not None:
            cache.stats.hits += 1
            return found
        root = nodes.cast(self.root, out_dtype.newbyteorder("="))
        spec = KernelSpec(root, accesses, ndim, checked, streaming)
        found = self.kernels[key] = cache.kernel(spec, simd.current())
        return found

    def compile_checked(self, values: list, streaming: bool = False) -> cache.Kernel | None:
        """The fast path's checked kernel, compiled if these values fit it (else None).

        Until a call's arrays are all C-contiguous with one shape nothing is
        compiled, so expressions only ever used on strided data compile one kernel.
        """
        arrays = [v for v in values if type(v) is np.ndarray]
        shape = arrays[0].shape
        if not all(a.shape == shape and a.flags.c_contiguous for a in arrays):
            return None
        accesses = tuple(Access("c", self._array_swapped[s.key]) if s.dtype is None else Access("u")
                         for s in self.sources) + (Access("c"),)
        kernel = self.kernel(self.dtype, accesses, 1, checked=True, streaming=streaming)
        self.checked[simd.get_simd(), streaming] = kernel
        return kernel

    def run_big(self, kernel: cache.Kernel, values: list, operands: tuple, size: int, itemsize: int) -> int:
        """Run a checked kernel call too big for one plain call: streaming stores, threads."""
        if size >= self.stream_size:
            # If these arrays do not fit a checked kernel, the plain one reports the mismatch.
            kernel = self.checked.get((simd.level, True)) or self.compile_checked(values, True) or kernel
        threads = parallel._threads if size >= self.parallel_size else 1
        return parallel.run(kernel, operands, None, size, itemsize, threads, size >= self.wake_size)


def work_per_element(root: Node) -> int:
    """How much work one element is: the arrays it touches (inputs and output) plus op-table costs."""
    arrays = 1 + sum(1 for n in nodes.walk(root) if n.op == "input")
    return arrays + expression_cost(root)


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


def execute(plan: Plan, values: list, names=(), out=None, order: str = "K",
            casting: str = "same_kind") -> np.ndarray:
    """Evaluate ``plan`` on ``values`` (one per name: an ndarray or a Python scalar)."""
    if plan.first_array is not None and (order == "K" or order == "C" or order == "A"):
        # The common call: the checked kernel verifies the layout itself.
        kernel = plan.checked.get((simd.level, False))
        compiled_now = kernel is None
        if compiled_now:
            kernel = plan.compile_checked(values)
        if kernel is not None:
            if out is None:
                result = np.empty(values[plan.first_array].shape, plan.dtype)
            elif type(out) is np.ndarray and out.dtype == plan.dtype and casting in CASTING_RULES:
                result = out
            else:
                result = None
            if result is not None:
                operands = plan.take(values) + (result,)
                size = result.size
                if size < plan.big_size:
                    status = kernel.whole(operands)
                else:
                    status = plan.run_big(kernel, values, operands, size, result.itemsize)
                if not status:
                    if not compiled_now:
                        cache.stats.hits += 1
                    return result
                if status != STATUS_LAYOUT_MISMATCH:
                    raise_status(status)
    return execute_general(plan, values, names, out, order, casting)


def execute_general(plan: Plan, values: list, names=(), out=None, order: str = "K",
                    casting: str = "same_kind") -> np.ndarray:
    """:func:`execute` for any layout: broadcast, coalesce, pick the kernel by layout."""
    if plan.staged:
        return staging.execute(plan, values, out, order, casting)
    arrays = [v for v in values if type(v) is np.ndarray]
    shape = broadcast_shape(arrays, [n for n, v in zip(names, values) if type(v) is np.ndarray])
    operands = list(plan.take(values))
    if out is None:
        if order not in ORDERS:
            raise ValueError(f"order must be one of 'K', 'A', 'C', 'F', not {order!r}")
        result = target = allocate(shape, plan.dtype, order, arrays)
    else:
        check_out(out, shape, plan.dtype, casting)
        result = out
        target = np.empty_like(out) if needs_temporary(out, operands) else out
    if target.size:
        run(plan, operands, target)
    if target is not result:
        np.copyto(result, target, casting="unsafe")
    return result


def broadcast_shape(arrays: list[np.ndarray], names=()) -> tuple[int, ...]:
    """NumPy's broadcast of the arrays' shapes (ValueError naming the operands if impossible)."""
    if not arrays:
        return ()
    first = arrays[0].shape
    if all(a.shape == first for a in arrays):
        return first
    try:
        return np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        described = ", ".join(f"{n}: {a.shape}" for n, a in zip(names, arrays)) or \
            " ".join(str(a.shape) for a in arrays)
        raise ValueError(f"operands could not be broadcast together with shapes {described}") from None


def allocate(shape, dtype: np.dtype, order: str, arrays: list[np.ndarray]) -> np.ndarray:
    """A new result array laid out as ``order`` asks (``K`` follows the inputs' layout)."""
    if order == "K":
        return _like_inputs(shape, dtype, arrays)
    if order == "A":
        fortran = arrays and all(a.flags.f_contiguous and not a.flags.c_contiguous
                                 for a in arrays if a.ndim > 1)
        order = "F" if fortran else "C"
    return np.empty(shape, dtype, order=order)


def _like_inputs(shape, dtype, arrays) -> np.ndarray:
    """An array whose axes are ordered in memory like the first full-shape input's."""
    for a in arrays:
        if a.shape == shape and a.ndim > 1 and not a.flags.c_contiguous:
            axes = sorted(range(a.ndim), key=lambda ax: -abs(a.strides[ax]))
            base = np.empty([shape[ax] for ax in axes], dtype)
            return base.transpose(np.argsort(axes))
        if a.shape == shape:
            break
    return np.empty(shape, dtype)


def check_out(out, shape, dtype: np.dtype, casting: str) -> None:
    """Validate ``out=``: an ndarray, writeable, of the result's shape, castable to."""
    if type(out) is not np.ndarray:
        raise TypeError(f"out must be a numpy.ndarray, not {type(out).__name__}")
    if casting not in CASTING_RULES:
        raise ValueError(f"casting must be one of {', '.join(map(repr, CASTING_RULES))}, not {casting!r}")
    if not out.flags.writeable:
        raise ValueError("output array is read-only")
    if out.shape != tuple(shape):
        raise ValueError(f"out has shape {out.shape}, but the expression's result has shape {tuple(shape)}")
    check_dtype(out.dtype, "out")
    if not np.can_cast(dtype, out.dtype, casting):
        raise CastingError(f"Cannot cast expression output from {dtype!r} to {out.dtype!r} "
                           f"with casting rule {casting!r}")


def needs_temporary(out: np.ndarray, operands: list[np.ndarray]) -> bool:
    """Whether writing ``out`` could clobber an input element before it is read."""
    for a in operands:
        if a.size and np.may_share_memory(out, a):
            same_elements = (a.shape == out.shape and a.strides == out.strides
                             and a.itemsize == out.itemsize
                             and a.__array_interface__["data"][0] == out.__array_interface__["data"][0])
            if not same_elements:
                return True
    return False


def run(plan: Plan, operands: list[np.ndarray], out: np.ndarray) -> None:
    """Call the kernel for these operands' layout to fill ``out`` (non-empty)."""
    arrays = operands + [out]
    shape, strides = coalesce(out.shape, arrays)
    ndim = len(shape)
    accesses = tuple(_access(a, s) for a, s in zip(operands, strides)) + (
        Access("c" if strides[-1][-1] == out.itemsize else "s", not out.dtype.isnative),)
    streaming = out.nbytes >= STREAM_BYTES and accesses[-1].stride == "c"
    kernel = plan.kernel(out.dtype, accesses, ndim, streaming=streaming)
    layout = None
    if kernel.needs_layout:
        words = list(shape) + [s for per_operand in strides for s in per_operand]
        layout = struct.pack(f"{len(words)}q", *words)
    size = out.size
    if parallel._threads > 1 and size >= plan.parallel_size:
        status = parallel.run(kernel, tuple(arrays), layout, size, out.itemsize, parallel._threads,
                              size >= plan.wake_size)
    else:
        status = kernel.function(0, size, tuple(arrays), layout)
    if status:
        raise_status(status)


def _access(a: np.ndarray, strides: list[int]) -> Access:
    if not any(strides):
        stride = "u"
    elif strides[-1] == a.itemsize:
        stride = "c"
    else:
        stride = "0" if strides[-1] == 0 else "s"
    return Access(stride, not a.dtype.isnative)


def coalesce(shape, arrays: list[np.ndarray]) -> tuple[list[int], list[list[int]]]:
    """Merge dimensions, in the last array's (the output's) memory order.

    Returns the merged shape and, per array, its strides in bytes over it
    (0 along broadcast dimensions). The shape has at least one dimension.
    """
    ndim = len(shape)
    strides = [_broadcast_strides(a, shape) for a in arrays]
    out_strides = strides[-1]
    axes = sorted((ax for ax in range(ndim) if shape[ax] != 1), key=lambda ax: -abs(out_strides[ax]))
    return merge_axes(shape, strides, axes)


def merge_axes(shape, strides: list[list[int]], axes: list[int]) -> tuple[list[int], list[list[int]]]:
    """``shape``'s ``axes`` (outermost first), adjacent ones merged where every operand is contiguous
    across them; returns the merged shape and each operand's strides over it."""
    dims: list[int] = []
    per_array: list[list[int]] = [[] for _ in strides]
    for ax in axes:
        inner = [s[ax] for s in strides]
        if dims and all(outer[-1] == stride * shape[ax] for outer, stride in zip(per_array, inner)):
            dims[-1] *= shape[ax]
            for merged, stride in zip(per_array, inner):
                merged[-1] = stride
        else:
            dims.append(shape[ax])
            for merged, stride in zip(per_array, inner):
                merged.append(stride)
    if not dims:
        return [1], [[0] for _ in strides]
    return dims, per_array


def _broadcast_strides(a: np.ndarray, shape) -> list[int]:
    pad = len(shape) - a.ndim
    return [0] * pad + [0 if n == 1 else s for n, s in zip(a.shape, a.strides)]
