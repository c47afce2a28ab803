"""The kernel calling convention, and the object-layout facts it relies on.

Every kernel has the C signature::

    int32_t kernel(int64_t start, int64_t stop, PyObject *operands, int64_t *layout)

``operands`` is a tuple of ndarrays (inputs in slot order, then the output);
the kernel reads each array's data pointer from the array object itself, so
Python never has to extract pointers (``arr.ctypes.data`` alone costs about a
microsecond). ``[start, stop)`` is a range of the flattened, C-ordered
iteration space, so threads split any shape evenly. ``layout`` holds the
coalesced shape followed by each operand's strides in bytes (``ndim`` values
per operand); kernels whose shape is one dimension with compile-time strides
ignore it and accept NULL.

A checked kernel (see :class:`~fusenum.codegen.spec.KernelSpec`) also exports
``int32_t kernel_whole(PyObject *operands)``, the whole-array call.

The return value is 0, or a bitwise OR of the ``STATUS_*`` flags below, which
the runtime turns into the exception NumPy would raise. Called through the
``CFUNCTYPE`` prototypes ctypes releases the GIL for the duration of the call;
through the ``PYFUNCTYPE`` ones (``*_HELD_CTYPE``, for short calls) it keeps it.

The data pointer's offset inside an ndarray (``PyArrayObject_fields.data``
follows the object header) and the offset of a tuple's items are checked when
this module is imported, so an interpreter with another layout fails loudly
here instead of corrupting memory later.
"""
from __future__ import annotations

import ctypes
import sys

import numpy as np

#: The kernel's symbol, and the checked kernel's whole-array entry.
SYMBOL = "kernel"
WHOLE_SYMBOL = "kernel_whole"


def entry_points(checked: bool) -> list[str]:
    """The symbols a kernel module exports (a checked kernel's whole-array entry too)."""
    return [SYMBOL, WHOLE_SYMBOL] if checked else [SYMBOL]

# Bit flags a kernel ORs into its return value.
STATUS_NEGATIVE_INT_POWER = 1
#: A checked kernel's operands are not what it was compiled for: take the general path.
STATUS_LAYOUT_MISMATCH = 1 << 30
STATUS_MESSAGES = {
    STATUS_NEGATIVE_INT_POWER: (ValueError, "Integers to negative integer powers are not allowed."),
}

POINTER_SIZE = ctypes.sizeof(ctypes.c_void_p)
TUPLE_ITEMS_OFFSET = tuple.__basicsize__
# PyArrayObject_fields (NumPy's public C struct): after the object header come
# char *data; int nd; npy_intp *dimensions; npy_intp *strides; base; descr; int flags.
ARRAY_DATA_OFFSET = object.__basicsize__
ARRAY_NDIM_OFFSET = ARRAY_DATA_OFFSET + POINTER_SIZE
ARRAY_DIMS_OFFSET = ARRAY_NDIM_OFFSET + POINTER_SIZE
ARRAY_STRIDES_OFFSET = ARRAY_DIMS_OFFSET + POINTER_SIZE
ARRAY_FLAGS_OFFSET = ARRAY_STRIDES_OFFSET + 3 * POINTER_SIZE
#: The interpreter whose object layout compiled code builds in (the offsets above): part of the
#: key of code kept across processes, which another interpreter (a free-threaded build) must not run.
PYTHON_LAYOUT = (f"{sys.implementation.cache_tag} {getattr(sys, 'abiflags', '')} tuple {TUPLE_ITEMS_OFFSET} "
                 f"object {ARRAY_DATA_OFFSET} pointer {POINTER_SIZE}")
NPY_ARRAY_C_CONTIGUOUS = 0x0001
NPY_ARRAY_WRITEABLE = 0x0400

KERNEL_CTYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int64, ctypes.c_int64,
                                ctypes.py_object, ctypes.c_void_p)
#: A checked kernel's second entry, ``kernel_whole(operands)`` = ``kernel(0, -1, operands, NULL)``:
#: one argument to convert instead of four saves a quarter of a microsecond per call.
WHOLE_CTYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.py_object)
#: The same entries called without releasing the GIL, for short calls (tens of microseconds at
#: most, :data:`fusenum.runtime.compiled_kernel.HOLD_GIL_WORK`): a thread that releases it must then wait
#: for it, up to the switch interval (5 ms) when another thread runs Python meanwhile -- a hundred
#: times what the call itself took.
KERNEL_HELD_CTYPE = ctypes.PYFUNCTYPE(ctypes.c_int32, ctypes.c_int64, ctypes.c_int64,
                                      ctypes.py_object, ctypes.c_void_p)
WHOLE_HELD_CTYPE = ctypes.PYFUNCTYPE(ctypes.c_int32, ctypes.py_object)


def _read_pointer(address: int) -> int:
    return ctypes.c_void_p.from_address(address).value or 0


def _check_layout() -> None:
    probe = np.arange(6.0).reshape(2, 3)[:, ::2]
    pair = (probe, probe[1:])
    base = id(probe)
    dims = _read_pointer(base + ARRAY_DIMS_OFFSET)
    strides = _read_pointer(base + ARRAY_STRIDES_OFFSET)
    flags = ctypes.c_int.from_address(base + ARRAY_FLAGS_OFFSET).value
    readable = (
        _read_pointer(base + ARRAY_DATA_OFFSET) == probe.ctypes.data
        and ctypes.c_int.from_address(base + ARRAY_NDIM_OFFSET).value == probe.ndim
        and tuple((ctypes.c_ssize_t * 2).from_address(dims)) == probe.shape
        and tuple((ctypes.c_ssize_t * 2).from_address(strides)) == probe.strides
        and flags & NPY_ARRAY_WRITEABLE and not flags & NPY_ARRAY_C_CONTIGUOUS)
    if not readable:
        raise ImportError("fusenum: unexpected ndarray object layout in this NumPy build")
    if _read_pointer(id(pair) + TUPLE_ITEMS_OFFSET + POINTER_SIZE) != id(pair[1]):
        raise ImportError("fusenum: unexpected tuple object layout in this Python build")


_check_layout()


def raise_status(status: int) -> None:
    """Raise the exception for a non-zero kernel status."""
    for flag, (exc_type, message) in STATUS_MESSAGES.items():
        if status & flag:
            raise exc_type(message)
    raise RuntimeError(f"fusenum kernel returned unknown status {status}")
