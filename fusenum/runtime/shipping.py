"""Building the kernels shipped with the package (:mod:`.shipped`): ``python -m fusenum ship``.

Building the package (``pip install``, through ``setup.py``) runs it into the package being built:
every one-node kernel tier 0 may use (:func:`.prebuilt.one_node_specs`, every dtype but bytes) and
the native thread pool (:mod:`.threads`), for the building machine's widest SIMD level, compiled
for any x86-64 CPU with that level's features (:func:`fusenum.codegen.target.generic_target`) and
as for a machine whose widest level it is. About 1,300 kernels and 6 s on 2 cores. Only the widest
level: an archive serves a machine whose widest level it is, and the kernels that follow NumPy's
answers (most transcendental functions) only where NumPy's loops dispatch on the same CPU features,
so a narrower level's archive built here would serve few kernels anywhere. Run by hand, it writes
into the package fusenum is imported from (a source checkout, say).
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, Sequence

import numpy as np

from . import kernels, prebuilt, shipped, shipped_answers
from . import threads as threads_module
from ..codegen import jit
from ..codegen.spec import KernelSpec
from ..codegen.target import WIDTHS, generic_target, widest_here
from ..errors import ConfigurationError


class Shipped(NamedTuple):
    """One archive :func:`ship` wrote."""

    level: str
    kernels: int
    path: str
    seconds: float


def levels_to_ship() -> tuple[str, ...]:
    """The SIMD levels :func:`ship` builds for by default: this machine's widest (none off x86-64,
    where kernels are compiled for the host)."""
    widest = widest_here()
    return (widest,) if widest in LEVELS else ()


#: The levels kernels can be shipped for.
LEVELS = tuple(level for level in WIDTHS if level != "scalar")


def ship(directory: str | None = None, levels: Sequence[str] | None = None, threads: int | None = None,
         dtypes: Sequence | None = None) -> list[Shipped]:
    """Compile the archives of ``levels`` (default :func:`levels_to_ship`; another level's archive
    serves machines whose widest level it is) into ``directory`` (default the package's own,
    :data:`.shipped.DIRECTORY`), ``threads`` compiles at once (default the machine's cores),
    replacing what was there; returns what it wrote. ``dtypes`` narrows the kernels to those of
    some dtypes (default :data:`.prebuilt.DTYPES`, every dtype but bytes)."""
    meta = {level: shipped.metadata(level) for level in _levels(levels)}  # (the sources as the build begins)
    if threads is None:
        threads = os.cpu_count() or 1
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigurationError(f"ship's threads must be a positive int, not {threads!r}")
    directory = shipped.DIRECTORY if directory is None else os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    shipped_answers.write(directory)
    specs = prebuilt.one_node_specs(prebuilt.DTYPES if dtypes is None else [np.dtype(d) for d in dtypes])
    kernels.load_compiler()
    written = []
    with ThreadPoolExecutor(threads, thread_name_prefix="fusenum-ship") as pool:
        for level, built in meta.items():
            started = time.perf_counter()
            codes = dict(pool.map(lambda spec, level=level: _entry(spec, level), specs))
            codes[threads_module.POOL_DESCRIPTION] = _native_pool()
            path = shipped.archive_path(level, directory)
            shipped.write(path, built, codes)
            written.append(Shipped(level, len(codes), path, time.perf_counter() - started))
    shipped.forget()
    return written


def _levels(levels: Sequence[str] | None) -> tuple[str, ...]:
    chosen = levels_to_ship() if levels is None else tuple(dict.fromkeys(
        level.strip().lower() if isinstance(level, str) else level for level in levels))  # (as set_simd reads them)
    for level in chosen:
        if level not in LEVELS:
            raise ConfigurationError(f"kernels are shipped for {', '.join(LEVELS)}, not {level!r}")
    return chosen


def _native_pool() -> bytes:
    """The native thread pool's object code (:mod:`.threads`; built for the ``scalar`` level's
    target, the same on every x86-64 machine), as each archive holds it."""
    from ..codegen import pool
    return jit.storable(jit.compile_object(pool.module_text(), generic_target("scalar")))


def _entry(spec: KernelSpec, level: str) -> tuple[str, bytes]:
    """``spec``'s entry in the archive of ``level``: its description and optimized object code."""
    settings_key = (level, "auto")
    target = generic_target(level)
    text = kernels.module_text(spec, target, False, settings_key, machine=level)
    code = jit.storable(jit.compile_object(text, target))
    return kernels.description(spec, settings_key, portable=True), code


__all__ = ["Shipped", "levels_to_ship", "ship"]
