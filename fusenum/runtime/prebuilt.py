"""Prebuilding: every one-node kernel tier 0 can ask for, compiled ahead of need into the disk cache.

Tier 0 (:mod:`.interpreter`) computes most IR nodes with NumPy, but a transcendental function, a
float-to-integer cast, ``fmax`` and a few others need a small fusenum kernel of that one node. A
call whose one-node kernels are neither in memory nor in the disk cache cannot be interpreted
without compiling, so under ``auto`` it waits for its fused kernel, compiled on the calling thread
(:mod:`.tiering`): on a machine where fusenum never ran, the first use of each function costs
10-90 ms -- unless the package shipped them (:mod:`.shipped`, built with the package for the
machine's widest SIMD level), which serve first. :func:`prebuild` compiles them all beforehand (``python -m fusenum prebuild``, once per
machine, say after installing fusenum or in a container image): from then on every new
expression over those dtypes (elementwise, or with reductions over the layouts below), in every
process of the user, is interpreted from its first call, and its fused kernel is compiled in the
background. The helper that runs after a process's exit does the same once per machine, unasked,
after a process that lacked one of them (:func:`prebuild_after_exit`, :mod:`.first_use`).

What it builds: for every op-table row, every dtype of :data:`DTYPES` (or those asked for) and every
choice of which arguments are single-valued (a constant, a name bound to a number, a 0-d or
broadcast array), the one-node kernels that interpreting that row needs; every cast between two of
those dtypes that NumPy's cast does not compute with the compiled cast's bits, from an array or a
single value; and, for every reduction of those dtypes, the one-node kernels that reduce an
interpreted argument (:mod:`.staging`) over a whole contiguous array, its rows or its columns,
grouped as a cheap argument and, for floats, as an expensive one. About 1,300 kernels for every
dtype at one SIMD level, about 6 s on the 2-core development machine (10 s of CPU time), 1.5 MB
of entries. Byte strings are left out (their kernels depend on the strings' length), and so are
reductions over other layouts (they wait for their fused kernel, as before).
"""
from __future__ import annotations

import itertools
import os
import time
from typing import Iterable, NamedTuple, Sequence

import numpy as np

from . import disk_cache, first_use, interpreter, kernels
from ..codegen import settings
from ..codegen.lanes import lanes_of, register_bytes
from ..codegen.spec import ACCESSES, KernelSpec
from ..codegen.target import available as available_simd
from ..codegen.target import make_target
from ..errors import ArgumentTypeError, ConfigurationError, UnsupportedDTypeError
from ..ir import nodes
from ..ir.ops import OPS
from ..ir.reductions import REDUCTIONS
from ..ir.typing import Builder, check_dtype

#: The dtypes :func:`prebuild` covers unless told otherwise: every dtype fusenum computes in but bytes.
DTYPES = tuple(np.dtype(name) for name in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128"))


class PrebuildResult(NamedTuple):
    """What :func:`prebuild` did."""

    simd: tuple[str, ...]  #: the SIMD levels built for
    kernels: int  #: one-node kernels wanted, over every level
    compiled: int  #: of those, compiled now
    found: int  #: of those, already in the disk cache
    seconds: float
    directory: str  #: the disk cache's directory


def one_node_specs(dtypes: Iterable[np.dtype] = DTYPES) -> list[KernelSpec]:
    """Every one-node kernel tier 0 may use for operations over ``dtypes`` (see the module's docstring)."""
    dtypes = [np.dtype(d) for d in dtypes]
    specs: dict[KernelSpec, None] = {}

    def add(root: nodes.Node) -> None:
        # each choice of single-valued operands: a constant is one too (node_spec treats them alike)
        for count in range(len(root.args) + 1):
            for uniform in itertools.combinations(range(len(root.args)), count):
                specs.update(dict.fromkeys(interpreter.kernel_specs(root, frozenset(uniform))))

    for row in OPS.values():
        for dtype in dtypes:
            root = _typed(row.name, dtype, row.arity)
            if root is not None:
                add(root)
    for source, target in itertools.permutations(dtypes, 2):
        add(nodes.cast(nodes.input_slot(0, source), target))
    for name in REDUCTIONS:
        for dtype in dtypes:
            root = _reduced(name, dtype)
            for node in nodes.walk(root) if root is not None else ():
                if node.op == "reduce":
                    specs.update(dict.fromkeys(_reduction_specs(node)))
    return list(specs)


def _reduced(name: str, dtype: np.dtype) -> nodes.Node | None:
    """Reduction ``name`` of an array of ``dtype``, typed; None where there is no such reduction."""
    builder = Builder()
    try:
        typed = builder.reduce(name, builder.array(0, dtype))
    except (TypeError, ValueError, NotImplementedError):
        return None
    return typed if isinstance(typed, nodes.Node) else None


#: The passes :func:`_reduction_specs` covers: (dims, the accumulator's access, cut into pieces):
#: a whole contiguous array, small or big enough for pieces; rows of a C array (``axis=-1``); and
#: its columns (``axis=0``).
_FLAT_PASSES = ((1, "u", False), (1, "u", True), (2, "0", False), (2, "c", False))


def _reduction_specs(node: nodes.Node) -> list[KernelSpec]:
    """Tier 0's one-node kernels for reducing ``node``'s argument in :data:`_FLAT_PASSES`, grouped as a
    cheap argument and, for floats, as an expensive one (a transcendental function: fewer virtual
    lanes per step), whose widest dtype is the result's or 8 bytes wide (``sum(x > 0)`` of float64
    ``x``)."""
    argument = nodes.replace(node.args[0], {n: nodes.input_slot(k, n.dtype)
                                            for k, n in enumerate(nodes.inputs(node.args[0]))})
    costs = (False, True) if argument.dtype.kind in "fc" else (False,)  # (expensive integer arguments are rare)
    choices = {lanes_of(widest, expensive) for widest in {register_bytes(argument.dtype), 8} for expensive in costs}
    return [interpreter.reduction_spec(argument, node.attr.reduction, ACCESSES[stride, False], ndim, pieces, lanes)
            for ndim, stride, pieces in _FLAT_PASSES for lanes in sorted(choices)]


def _typed(name: str, dtype: np.dtype, arity: int) -> nodes.Node | None:
    """``name`` applied to ``arity`` arrays of ``dtype`` (operands 0, 1, ...), typed as NumPy types
    it; None where NumPy or fusenum has no such operation."""
    builder = Builder()
    try:
        typed = builder.apply(name, *(builder.array(k, dtype) for k in range(arity)))
    except (TypeError, ValueError, NotImplementedError):  # no loop for these dtypes, or not implemented
        return None                                         # (fusenum's errors subclass these)
    return typed if isinstance(typed, nodes.Node) else None


def prebuild(dtypes: Sequence | None = None, simd: str | Sequence[str] | None = None,
             threads: int | None = None) -> PrebuildResult:
    """Compile every one-node kernel tier 0 may use into the disk cache (see the module's docstring).

    ``dtypes``: a dtype or a list of them to cover (default :data:`DTYPES`; mixed dtypes compute in
    promoted ones, and ``fusenum.numexpr`` computes small integers and float16 in wider types, so
    cover those too); ``simd``: a SIMD level, a list of them, or ``"all"`` (every level this machine
    runs; default: the current level, which ``FUSENUM_SIMD`` or :func:`fusenum.set_simd` may have
    chosen); ``threads``: compiles at once (default: :func:`fusenum.get_num_threads`, at most the
    machine's cores). The kernels are built for the current vector-math mode
    (``FUSENUM_VECTOR_MATH``). A kernel whose entry is on disk is not compiled again; nothing is
    kept in memory. Raises :class:`~fusenum.ConfigurationError` if the disk cache is off or
    unusable, or stops taking kernels, or its bound evicts some of them (prebuilt kernels would last
    only as long as this process).
    """
    directory = disk_cache.get_disk_cache().directory
    if not disk_cache.usable():
        raise ConfigurationError(
            f"prebuild stores kernels in the disk cache, which is off or unusable ({directory!r}): see "
            "fusenum.get_disk_cache() and FUSENUM_CACHE / FUSENUM_CACHE_DIR")
    levels = _levels(simd)
    chosen = DTYPES if dtypes is None else _dtypes(dtypes)
    if threads is None:
        from .threads import get_num_threads
        threads = get_num_threads()
    if not isinstance(threads, (int, np.integer)) or isinstance(threads, bool):
        raise ArgumentTypeError(f"prebuild threads must be a positive int, not {threads!r}")
    if threads < 1:
        raise ConfigurationError(f"prebuild threads must be a positive int, not {threads!r}")
    started = time.perf_counter()
    specs = one_node_specs(chosen)
    wanted = [(spec, (level, settings.vector_math)) for level in levels for spec in specs]
    from concurrent.futures import ThreadPoolExecutor  # (not at import: fusenum's import stays short)
    kernels.load_compiler()
    with ThreadPoolExecutor(min(int(threads), os.cpu_count() or 1), thread_name_prefix="fusenum-prebuild") as pool:
        try:
            compiled = sum(pool.map(lambda one: kernels.store_on_disk(*one), wanted))
        except BaseException:  # Ctrl-C, or a compile's error: no new compiles (those under way finish)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    if not disk_cache.usable():  # a store failed (it warned): the kernels are not on disk
        raise ConfigurationError(f"the disk cache ({directory!r}) stopped taking kernels during prebuild: see the "
                                 "warning above")
    kept = sum(kernels.on_disk(*one) for one in wanted)
    if kept < len(wanted):  # (evicted: the cache's bound is too small to hold them)
        raise ConfigurationError(
            f"the disk cache ({directory!r}) kept only {kept} of the {len(wanted)} prebuilt kernels: its bound, "
            f"{disk_cache.get_disk_cache().max_bytes:,} bytes, evicted the others (raise FUSENUM_CACHE_MAX_BYTES, "
            "or set_disk_cache(max_bytes=...))")
    return PrebuildResult(levels, len(wanted), compiled, len(wanted) - compiled, time.perf_counter() - started,
                          directory)


#: The dtypes a prebuild after first use covers first: those of most transcendental calls.
FIRST_DTYPES = (np.dtype("float64"), np.dtype("float32"))


def prebuild_after_exit(settings_keys: Sequence[tuple], deadline: float, directory: str) -> None:
    """The exit helper's prebuild after a machine's first use (:mod:`.first_use`): every one-node
    kernel of :data:`DTYPES` (:data:`FIRST_DTYPES` first) under each of ``settings_keys`` into the
    disk cache, then the marker saying so. Stops, with no marker, at ``deadline``
    (``time.monotonic()``), if ``directory`` is gone or if the disk cache stops taking entries; a
    kernel that fails to compile is left out (a process that needs it compiles it, and reports why),
    and so is the marker, as when the kernels are not all on disk at the end (evicted meanwhile)."""
    first = one_node_specs(FIRST_DTYPES)
    specs = list(dict.fromkeys(first + one_node_specs()))
    for settings_key in settings_keys:
        try:
            if first_use.done(settings_key):
                continue
        except Exception:  # noqa: BLE001 -- a SIMD level LLVM refuses here, say: nothing to build
            continue
        whole = True
        for spec in specs:
            if time.monotonic() > deadline or not os.path.isdir(directory) or not disk_cache.usable():
                return
            try:
                kernels.store_on_disk(spec, settings_key)
            except Exception:  # noqa: BLE001
                whole = False
        if whole and disk_cache.usable() and all(kernels.on_disk(spec, settings_key) for spec in specs):
            first_use.mark_done(settings_key)


def _dtypes(dtypes) -> tuple[np.dtype, ...]:
    if isinstance(dtypes, (str, np.dtype, type)):
        dtypes = [dtypes]
    try:
        listed = list(dtypes)
    except TypeError:
        raise ArgumentTypeError(f"prebuild's dtypes must be a dtype or a list of dtypes, "
                                f"not {type(dtypes).__name__}") from None
    chosen = tuple(dict.fromkeys(map(_checked, listed)))
    if not chosen:
        raise ConfigurationError("prebuild needs at least one dtype")
    return chosen


def _checked(dtype) -> np.dtype:
    if dtype is None:  # (np.dtype(None) is float64: not what a list entry of None means)
        raise ArgumentTypeError("prebuild's dtypes may not hold None")
    try:
        dtype = np.dtype(dtype)
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(f"{dtype!r} is not a dtype ({exc}), in prebuild's dtypes") from None
    if dtype.kind == "S":
        raise UnsupportedDTypeError(f"prebuild covers no bytes dtype ({dtype}): a bytes kernel depends on the "
                                    "strings' length, so it is compiled for the arrays a call brings")
    return check_dtype(dtype, "prebuild(dtypes=...)")


def _levels(simd: str | Sequence[str] | None) -> tuple[str, ...]:
    if simd is None:
        levels: tuple = (settings.simd,)
    else:
        try:
            listed = [simd] if isinstance(simd, str) else list(simd)
        except TypeError:
            listed = [None]
        if not all(isinstance(level, str) for level in listed):
            raise ArgumentTypeError(f"prebuild's simd must be a SIMD level, a list of them or 'all', not {simd!r}")
        levels = tuple(dict.fromkeys(level.strip().lower() for level in listed))  # (as set_simd reads them)
        if levels == ("all",):
            return tuple(available_simd())
    if not levels:
        raise ConfigurationError("prebuild needs at least one SIMD level")
    for level in levels:
        make_target(level)  # a TargetError naming a level that does not exist, or that this machine cannot run
    return levels


__all__ = ["DTYPES", "FIRST_DTYPES", "PrebuildResult", "one_node_specs", "prebuild", "prebuild_after_exit"]
