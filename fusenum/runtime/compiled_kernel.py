"""A compiled kernel: its entry points, which build serves, and which calls keep the GIL.

:mod:`.kernels` keeps these by signature (memory, then disk); this module owns what one of them is:
the ctypes entry points of its machine code (all of them replaced together when the optimized
build takes over from the quick one), where it came from, and the size below which a call keeps
the GIL rather than release it for a few microseconds of work.
"""
from __future__ import annotations

from ..codegen import jit
from ..codegen.abi import KERNEL_CTYPE, KERNEL_HELD_CTYPE, SYMBOL, WHOLE_CTYPE, WHOLE_HELD_CTYPE, WHOLE_SYMBOL
from ..codegen.spec import KernelSpec
from ..codegen.target import Target
from ..ir.nodes import walk
from ..ir.ops import work_per_element

#: Calls of at most this much work (elements times :func:`~fusenum.ir.ops.work_per_element`: tens
#: of microseconds, the size below which a call is not worth splitting between threads) keep the
#: GIL (``Kernel.held``, ``whole_held``; ``Kernel.hold_size`` elements): a thread that lets the GIL
#: go waits up to the switch interval (5 ms) to get it back whenever another thread runs Python
#: meanwhile -- fusenum's background compiler, or the program's own threads.
HOLD_GIL_WORK = 600_000  # (threads.PARALLEL_WORK; threads imports the kernel cache, which imports this)
#: ... and at most this many elements.
HOLD_GIL_ELEMENTS = 1 << 14
#: Complex arithmetic costs several times the op table's costs, which are float64's (2-9x measured:
#: ``a*2+1`` 2.2x, ``sin`` 8.5x in complex128).
COMPLEX_WORK = 8


class Kernel:
    """A compiled kernel: ``function(start, stop, operands_tuple, layout) -> status``.

    Checked kernels also have ``whole(operands_tuple) -> status``. ``held`` and ``whole_held`` are
    the same entries called with the GIL kept, for calls of at most ``hold_size`` elements (see
    :data:`HOLD_GIL_WORK`). ``origin`` is
    ``"compiled"``, ``"disk"`` or ``"shipped"`` (with the package, :mod:`.shipped`) and ``seconds``
    how long compiling or loading took.
    """

    __slots__ = ("spec", "target", "compiled", "address", "function", "whole", "held", "whole_held", "hold_size",
                 "needs_layout", "origin", "seconds", "quick", "build", "__weakref__")

    def __init__(self, spec: KernelSpec, target: Target, compiled: jit.Compiled, origin: str, seconds: float,
                 build: str = "optimized"):
        self.spec = spec
        #: ``"quick"`` while the quick build serves (its optimized build is queued), else ``"optimized"``.
        self.build = build
        self.target = target
        self.needs_layout = spec.needs_layout
        work = work_per_element(spec.root) * (COMPLEX_WORK if any(n.dtype.kind == "c" for n in walk(spec.root)) else 1)
        self.hold_size = min(HOLD_GIL_ELEMENTS, HOLD_GIL_WORK // work)
        self.origin = origin
        self.seconds = seconds
        #: The quick build replaced by optimized code: kept while this kernel lives, since another
        #: thread may still be running it.
        self.quick: jit.Compiled | None = None
        self._use(compiled)

    def _use(self, compiled: jit.Compiled) -> None:
        # Each entry is replaced in one assignment: other threads may be calling them meanwhile.
        whole = compiled.addresses[WHOLE_SYMBOL] if self.spec.checked else None
        self.compiled = compiled
        self.address = compiled.addresses[SYMBOL]
        self.function = KERNEL_CTYPE(self.address)
        self.held = KERNEL_HELD_CTYPE(self.address)
        self.whole = None if whole is None else WHOLE_CTYPE(whole)
        self.whole_held = None if whole is None else WHOLE_HELD_CTYPE(whole)

    def optimized(self, compiled: jit.Compiled) -> None:
        """Switch to ``compiled``, the optimized build of the same code."""
        self.quick = self.compiled
        self._use(compiled)
        self.build = "optimized"
