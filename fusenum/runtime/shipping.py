"""Building the kernels shipped with the package (:mod:`.shipped`): ``python -m fusenum ship``.

Building the package (``pip install``, through ``setup.py``) runs it into the package being built:
every one-node kernel tier 0 may use (:func:`.prebuilt.one_node_specs`, every dtype but bytes) and
the native thread pool (:mod:`.threads`), for
every SIMD level from ``sse2`` up to the building machine's widest, each level's kernels compiled
for any x86-64 CPU with that level's features (:func:`fusenum.codegen.target.generic_target`) and
for a machine whose widest level it is. About 1,350 kernels and 6 s on 2 cores per level. Run by
hand, it writes into the package fusenum is imported from (a source checkout, say).
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, Sequence

import numpy as np

from . import kernels, prebuilt, shipped
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
    """The SIMD levels :func:`ship` builds for by default: ``sse2`` up to this machine's widest
    (none off x86-64, where kernels are compiled for the host)."""
    levels = [level for level in WIDTHS if level != "scalar"]
    widest = widest_here()
    return tuple(levels[:levels.index(widest) + 1]) if widest in levels else ()


def ship(directory: str | None = None, levels: Sequence[str] | None = None, threads: int | None = None,
         dtypes: Sequence | None = None) -> list[Shipped]:
    """Compile the archives of ``levels`` (default :func:`levels_to_ship`) into ``directory``
    (default the package's own, :data:`.shipped.DIRECTORY`), ``threads`` compiles at once (default
    the machine's cores), replacing what was there; returns what it wrote. ``dtypes`` narrows the
    kernels to those of some dtypes (default :data:`.prebuilt.DTYPES`, every dtype but bytes)."""
    directory = shipped.DIRECTORY if directory is None else os.fspath(directory)
    levels = levels_to_ship() if levels is None else tuple(levels)
    for level in levels:
        if level not in WIDTHS or level == "scalar":
            raise ConfigurationError(f"kernels are shipped for {', '.join(l for l in WIDTHS if l != 'scalar')}, "
                                     f"not {level!r}")
    threads = threads or os.cpu_count() or 1
    if threads < 1:
        raise ConfigurationError(f"ship's threads must be positive, not {threads!r}")
    os.makedirs(directory, exist_ok=True)
    specs = prebuilt.one_node_specs(prebuilt.DTYPES if dtypes is None else [np.dtype(d) for d in dtypes])
    kernels.load_compiler()
    written = []
    with ThreadPoolExecutor(threads, thread_name_prefix="fusenum-ship") as pool:
        for level in levels:
            started = time.perf_counter()
            codes = dict(pool.map(lambda spec, level=level: _entry(spec, level), specs))
            codes[threads_module.POOL_DESCRIPTION] = _native_pool()
            path = shipped.archive_path(level, directory)
            shipped.write(path, level, codes)
            written.append(Shipped(level, len(codes), path, time.perf_counter() - started))
    shipped.forget()
    return written


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
