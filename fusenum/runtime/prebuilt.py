"""Prebuilding: every one-node kernel tier 0 can ask for, compiled ahead of need into the disk cache.

Tier 0 (:mod:`.interpreter`) computes most IR nodes with NumPy, but a transcendental function, a
float-to-integer cast, ``fmax`` and a few others need a small fusenum kernel of that one node. A
call whose one-node kernels are neither in memory nor in the disk cache cannot be interpreted
without compiling, so under ``auto`` it waits for its fused kernel, compiled on the calling thread
(:mod:`.tiering`): on a machine where fusenum never ran, the first use of each function costs
10-90 ms. :func:`prebuild` compiles them all beforehand (``python -m fusenum prebuild``, once per
machine, say after installing fusenum or in a container image): from then on every new
elementwise expression over those dtypes, in every process of the user, is interpreted from its
first call, and its fused kernel is compiled in the background.

What it builds: for every op-table row, every dtype of :data:`DTYPES` (or those asked for) and every
choice of which arguments are single-valued (a constant, or a name bound to a Python number), the
one-node kernels that interpreting that row needs; and every cast between two of those dtypes
that NumPy's cast does not compute with the compiled cast's bits. About 460 kernels for every
dtype at one SIMD level, 5-7 s on the 2-core development machine, 5 MB on disk. Byte strings are
left out (their kernels depend on the strings' length), and so are reductions: they run compiled
kernels, whatever the tier (:mod:`.staging`).
"""
from __future__ import annotations

import itertools
import time
from typing import Iterable, NamedTuple, Sequence

import numpy as np

from . import disk_cache, interpreter, kernels
from ..codegen import settings
from ..codegen.spec import KernelSpec
from ..codegen.target import available as available_simd
from ..codegen.target import make_target
from ..errors import ConfigurationError, UnsupportedDTypeError
from ..ir import nodes
from ..ir.ops import OPS
from ..ir.typing import Builder, check_dtype

#: The dtypes :func:`prebuild` covers unless told otherwise: every dtype fusenum computes in but bytes.
DTYPES = tuple(np.dtype(name) for name in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128"))
#: The value of a constant argument (its dtype's): one that no typing rule rewrites (``x ** 2`` is a
#: square, ``x ** 3`` a power). A kernel reads a constant as an operand, so one value serves all.
CONSTANT = 3


class PrebuildResult(NamedTuple):
    """What :func:`prebuild` did."""

    simd: tuple[str, ...]  #: the SIMD levels built for
    kernels: int  #: one-node kernels wanted, over every level
    compiled: int  #: of those, compiled now
    found: int  #: of those, already in memory or in the disk cache
    seconds: float
    directory: str  #: the disk cache's directory


def one_node_specs(dtypes: Iterable[np.dtype] = DTYPES) -> list[KernelSpec]:
    """Every one-node kernel tier 0 may use for operations over ``dtypes`` (see the module's docstring)."""
    dtypes = [np.dtype(d) for d in dtypes]
    specs: dict[KernelSpec, None] = {}
    for row in OPS.values():
        for dtype in dtypes:
            for constants in itertools.product((False, True), repeat=row.arity):
                root = _typed(row.name, dtype, constants) if not all(constants) else None  # (all: folded)
                if root is not None:
                    specs.update(dict.fromkeys(interpreter.kernel_specs(root)))
    for source, target in itertools.permutations(dtypes, 2):
        specs.update(dict.fromkeys(interpreter.kernel_specs(nodes.cast(nodes.input_slot(0, source), target))))
    return list(specs)


def _typed(name: str, dtype: np.dtype, constants: tuple[bool, ...]) -> nodes.Node | None:
    """``name`` applied to arrays of ``dtype`` (a constant where ``constants`` says), typed as
    NumPy types it; None where NumPy or fusenum has no such operation."""
    builder = Builder()
    operands = [nodes.const(np.asarray(CONSTANT).astype(dtype)[()]) if constant else builder.array(k, dtype)
                for k, constant in enumerate(constants)]
    try:
        typed = builder.apply(name, *operands)
    except (TypeError, ValueError):  # no loop for these dtypes (fusenum's errors subclass these)
        return None
    return typed if isinstance(typed, nodes.Node) else None


def prebuild(dtypes: Sequence | None = None, simd: str | Sequence[str] | None = None,
             threads: int | None = None) -> PrebuildResult:
    """Compile every one-node kernel tier 0 may use into the disk cache (see the module's docstring).

    ``dtypes``: the dtypes to cover (default :data:`DTYPES`); ``simd``: a SIMD level, a list of
    them, or ``"all"`` (every level this machine runs; default: the current level, which
    ``FUSENUM_SIMD`` or :func:`fusenum.set_simd` may have chosen); ``threads``: compiles at once
    (default: :func:`fusenum.get_num_threads`). Kernels already there are not compiled again.
    Raises :class:`~fusenum.ConfigurationError` if the disk cache is off or unusable (prebuilt
    kernels would last only as long as this process).
    """
    directory = disk_cache.get_disk_cache().directory
    if not disk_cache.usable():
        raise ConfigurationError(
            f"prebuild stores kernels in the disk cache, which is off or unusable ({directory!r}): see "
            "fusenum.get_disk_cache() and FUSENUM_CACHE / FUSENUM_CACHE_DIR")
    levels = _levels(simd)
    chosen = DTYPES if dtypes is None else tuple(map(_checked, dtypes))
    if threads is None:
        from .threads import get_num_threads
        threads = get_num_threads()
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ConfigurationError(f"prebuild threads must be a positive int, not {threads!r}")
    started = time.perf_counter()
    wanted = [(spec, (level, settings.vector_math)) for level in levels for spec in one_node_specs(chosen)]
    from concurrent.futures import ThreadPoolExecutor  # (not at import: fusenum's import stays short)
    kernels.load_compiler()
    with ThreadPoolExecutor(threads, thread_name_prefix="fusenum-prebuild") as pool:
        try:
            compiled = sum(pool.map(_build, wanted))
        except BaseException:  # Ctrl-C: no new compiles (those under way finish, and are kept)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return PrebuildResult(levels, len(wanted), compiled, len(wanted) - compiled, time.perf_counter() - started,
                          directory)


def _checked(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind == "S":
        raise UnsupportedDTypeError(f"prebuild covers no bytes dtype ({dtype}): a bytes kernel depends on the "
                                    "strings' length, so it is compiled for the arrays a call brings")
    return check_dtype(dtype, "prebuild(dtypes=...)")


def _levels(simd: str | Sequence[str] | None) -> tuple[str, ...]:
    if simd is None:
        return (settings.simd,)
    if simd == "all":
        return tuple(available_simd())
    levels = (simd,) if isinstance(simd, str) else tuple(simd)
    for level in levels:
        make_target(level)  # a TargetError naming a level that does not exist, or that this machine cannot run
    return levels


def _build(wanted: tuple[KernelSpec, tuple]) -> bool:
    """Make one kernel under its settings key (in a worker thread, which compiles on itself);
    whether it was compiled (not found in memory or on disk)."""
    spec, settings_key = wanted
    before = kernels.cached(spec, settings_key)
    if before is not None:
        return False
    with kernels.nobody_waiting():  # no call waits: the optimized build at once
        return kernels.kernel(spec, settings_key).origin != "disk"


__all__ = ["DTYPES", "PrebuildResult", "one_node_specs", "prebuild"]
