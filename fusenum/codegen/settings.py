"""The settings that change a kernel's machine code: the SIMD level and the vector-math mode.

:mod:`fusenum.codegen.target` and :mod:`fusenum.codegen.mathlib` validate and
set them; this module only holds them. :data:`key` is the pair of both, and it
is part of every kernel's cache key (and of every table that keeps kernels), so
changing a setting never needs a cache cleared: kernels built under another
setting are simply not found.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager

from ..errors import ConfigurationError

VECTOR_MATH_MODES = ("auto", "builtin", "libm")


def _initial_vector_math() -> str:
    mode = os.environ.get("FUSENUM_VECTOR_MATH", "").strip().lower() or "auto"
    if mode not in VECTOR_MATH_MODES:
        raise ConfigurationError(
            f"FUSENUM_VECTOR_MATH must be one of {', '.join(VECTOR_MATH_MODES)}, not {mode!r}")
    return mode


#: The SIMD level new kernels are compiled for (``scalar``, ``sse2``, ``avx2``, ``avx512``); set when
#: :mod:`fusenum.codegen.target` is imported, from ``FUSENUM_SIMD`` or the host.
simd = "scalar"
#: The vector-math mode (``auto``, ``builtin``, ``libm``; ``FUSENUM_VECTOR_MATH``).
vector_math = _initial_vector_math()
#: ``(simd, vector_math)``: read directly on the hot call path.
key = (simd, vector_math)


def update(simd: str | None = None, vector_math: str | None = None) -> None:
    """Set either setting (already validated by its owner) and refresh :data:`key`."""
    global key
    module = globals()
    if simd is not None:
        module["simd"] = simd
    if vector_math is not None:
        module["vector_math"] = vector_math
    key = (module["simd"], module["vector_math"])


_building = threading.local()


@contextmanager
def building(settings_key: tuple, machine: str | None = None):
    """Generate code in this thread under ``settings_key`` (a :data:`key`), whatever the settings are
    now: a kernel built after its call (the optimized build, in the background) follows the settings
    it was keyed under, even if they have changed since. ``machine``: generate it as on a machine
    whose widest SIMD level is that one, not this machine's (kernels shipped with the package are
    built for other machines, :mod:`fusenum.runtime.shipping`)."""
    previous = getattr(_building, "key", None), getattr(_building, "machine", None)
    _building.key, _building.machine = settings_key, machine
    try:
        yield
    finally:
        _building.key, _building.machine = previous


def machine_for_code() -> str | None:
    """The widest SIMD level of the machine the code generated now is for, if it is not this
    machine's (see :func:`building`); else None."""
    return getattr(_building, "machine", None)


def vector_math_for_code() -> str:
    """The vector-math mode the code generated now follows (see :func:`building`)."""
    pinned = getattr(_building, "key", None)
    return vector_math if pinned is None else pinned[1]
