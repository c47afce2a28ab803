"""numexpr's thread and VML controls, mapped onto fusenum's, and ``print_versions``.

Threads: numexpr's thread count *is* fusenum's (:func:`fusenum.set_num_threads`),
so ``ne.set_num_threads(1)`` also makes ``fusenum.evaluate`` single-threaded.
At import, as numexpr does: ``NUMEXPR_MAX_THREADS`` bounds the count
(:data:`MAX_THREADS`, default 64), and ``NUMEXPR_NUM_THREADS``, else
``OMP_NUM_THREADS``, sets it -- unless ``FUSENUM_NUM_THREADS`` is set, which is
fusenum's own and wins. Without any of them fusenum's default (every core the
process may run on) stays, at most ``NUMEXPR_MAX_THREADS`` (numexpr, given only that
variable, uses that many threads even beyond the cores; fusenum never more than the cores),
and :data:`nthreads` reports it.

VML: fusenum never uses Intel's VML/MKL (its vector math is its own and gives
the same bits whatever the settings), so :data:`use_vml` is False and the VML
calls are accepted and do nothing, returning what numexpr returns without VML
(None).
"""
from __future__ import annotations

import os
import platform
import sys

import numpy as np

from .. import runtime
from ..runtime import threads as runtime_threads
from ..errors import warn

#: numexpr's version this module follows; ``__version__`` adds ``+fusenum`` (PEP 440 local part).
NUMEXPR_VERSION = "2.14.2"
#: fusenum.numexpr never calls VML/MKL.
use_vml = False
#: Largest count :func:`set_num_threads` accepts: ``NUMEXPR_MAX_THREADS``, else 64 (numexpr's default).
DEFAULT_MAX_THREADS = 64
#: numexpr's "every core would exceed this without NUMEXPR_MAX_THREADS" cap.
SAFE_THREADS = 16


def _given_max_threads() -> int | None:
    """``NUMEXPR_MAX_THREADS`` if it is a positive integer, else None (unset, empty or invalid)."""
    try:
        value = int(os.environ.get("NUMEXPR_MAX_THREADS", "").strip())
    except ValueError:
        return None
    return value if value > 0 else None


MAX_THREADS = _given_max_threads() or DEFAULT_MAX_THREADS


def detect_number_of_cores() -> int:
    """The number of processors online (numexpr's count: not the ones this process may use)."""
    count = os.sysconf("SC_NPROCESSORS_ONLN") if hasattr(os, "sysconf") else 0
    if isinstance(count, int) and count > 0:
        return count
    try:
        count = int(os.environ.get("NUMBER_OF_PROCESSORS", ""))
    except ValueError:
        count = 0
    return count if count > 0 else 1


def _env_int(name: str) -> int | None:
    text = os.environ.get(name, "")
    return int(text) if text != "" else None


def detect_number_of_threads() -> int:
    """numexpr's older rule: ``NUMEXPR_NUM_THREADS``, else ``OMP_NUM_THREADS``, else the cores,
    at most :data:`MAX_THREADS`."""
    for name in ("NUMEXPR_NUM_THREADS", "OMP_NUM_THREADS"):
        try:
            count = _env_int(name)
        except ValueError:
            continue
        if count is not None:
            return min(count, MAX_THREADS)
    return min(detect_number_of_cores(), MAX_THREADS)


def get_num_threads() -> int:
    """The number of threads large evaluations are split over (fusenum's setting)."""
    return runtime.get_num_threads()


def set_num_threads(nthreads: int) -> int:
    """Use ``nthreads`` threads (for fusenum.numexpr and fusenum alike); returns the previous count.

    As numexpr: an int from 1 to :data:`MAX_THREADS`, else a warning and -1 (numexpr prints an
    error and returns -1); a non-integer is a ``TypeError``, one beyond a C int an ``OverflowError``.
    Beyond fusenum's own bound (1,024, :data:`fusenum.runtime.threads.MAX_THREADS`), it uses 1,024.
    """
    if not hasattr(nthreads, "__index__"):  # (a bool is an int, as numexpr takes it)
        raise TypeError(f"'{type(nthreads).__name__}' object cannot be interpreted as an integer")
    nthreads = nthreads.__index__()
    if not -2**31 <= nthreads < 2**31:  # (numexpr takes a C int)
        raise OverflowError(f"signed integer is {'greater than maximum' if nthreads > 0 else 'less than minimum'}")
    if nthreads < 1:
        warn("Error.  nthreads must be a positive integer")
        return -1
    if nthreads > MAX_THREADS:
        warn(f'Error.  nthreads cannot be larger than environment variable "NUMEXPR_MAX_THREADS" '
             f"({MAX_THREADS})")
        return -1
    return runtime.set_num_threads(min(nthreads, runtime_threads.MAX_THREADS))  # (fusenum's cap: 1,024)


def initial_threads() -> int:
    """Apply numexpr's environment variables at import (see the module docstring); the count."""
    if os.environ.get("FUSENUM_NUM_THREADS", "").strip():
        return get_num_threads()
    requested = _env_threads("NUMEXPR_NUM_THREADS")
    if requested is None:
        requested = _env_threads("OMP_NUM_THREADS")
    if requested is not None:
        set_num_threads(min(requested, MAX_THREADS))
    elif get_num_threads() > MAX_THREADS:  # NUMEXPR_MAX_THREADS alone, below the cores: numexpr uses that many
        set_num_threads(MAX_THREADS)
    return get_num_threads()


def init_num_threads() -> int:
    """numexpr's ``_init_num_threads()``: read ``NUMEXPR_MAX_THREADS``, ``NUMEXPR_NUM_THREADS`` and
    ``OMP_NUM_THREADS`` again and apply them by numexpr's rules; the count asked for.

    ``NUMEXPR_NUM_THREADS``, else ``OMP_NUM_THREADS`` (``ValueError`` if not an integer, as numexpr's),
    else the processors online (:func:`detect_number_of_cores`), at most 16 unless one of
    ``NUMEXPR_MAX_THREADS`` and ``OMP_NUM_THREADS`` is set, when it is :data:`MAX_THREADS` instead (an
    empty variable is unset, and so is a ``NUMEXPR_MAX_THREADS`` that is not a positive integer). The
    count goes to :func:`set_num_threads` (which refuses one above :data:`MAX_THREADS`, as numexpr's
    does) and is returned whether taken or not; on SPARC it is 1. Unlike the import
    (:func:`initial_threads`), ``FUSENUM_NUM_THREADS`` does not take part: this call asks for
    numexpr's setting.
    """
    if "sparc" in platform.machine():
        set_num_threads(1)
        return 1
    environ = os.environ
    if _given_max_threads() is not None or environ.get("OMP_NUM_THREADS", "") != "":
        cores = MAX_THREADS
    else:
        cores = min(detect_number_of_cores(), SAFE_THREADS)
    requested = _env_int("NUMEXPR_NUM_THREADS")
    if requested is None:
        requested = _env_int("OMP_NUM_THREADS")
    if requested is None:
        requested = cores
    set_num_threads(requested)
    return requested


def _env_threads(name: str) -> int | None:
    """The count environment variable ``name`` asks for, or None; one that is not an integer is
    ignored with a warning (numexpr's import raises ``ValueError``; here it would take ``import fusenum``
    down under ``FUSENUM_NUMEXPR=1``, for another library's setting), except an OpenMP list in
    ``OMP_NUM_THREADS`` (``"3,2"``), whose first entry counts, as for fusenum itself."""
    try:
        return _env_int(name)
    except ValueError:
        pass
    value = os.environ.get(name)
    first = runtime_threads.openmp_first_count(value) if name == "OMP_NUM_THREADS" else None
    if first is not None:  # (fusenum's runtime already took it)
        warn(f"{name}={value!r} is not an integer; fusenum.numexpr takes its first entry, {first}, as "
             "fusenum does (numexpr's import would raise ValueError)")
        return first
    warn(f"{name}={value!r} is not an integer; fusenum.numexpr ignores it "
         "(numexpr's import would raise ValueError)")
    return None


def get_vml_version() -> None:
    """None: fusenum.numexpr does not use VML."""
    return None


def set_vml_accuracy_mode(mode: str | None) -> None:
    """Accepted and ignored, whatever ``mode`` is, as numexpr built without VML (its wheels) does:
    fusenum's vector math is within a few ULP of NumPy in every mode."""
    return None


def set_vml_num_threads(nthreads: int) -> None:
    """Accepted and ignored (no VML); use :func:`set_num_threads`."""
    return None


def get_vml_num_threads() -> None:
    """None: fusenum.numexpr does not use VML."""
    return None


def print_versions() -> None:
    """Print the versions fusenum.numexpr runs with, in numexpr's layout."""
    import llvmlite

    from ..codegen.target import get_simd

    fusenum_version = sys.modules[__name__.split(".")[0]].__version__

    rule = "-=" * 38
    lines = [rule,
             f"Numexpr version:   {NUMEXPR_VERSION}+fusenum (fusenum.numexpr)",
             f"fusenum version:   {fusenum_version}",
             f"llvmlite version:  {llvmlite.__version__}",
             f"NumPy version:     {np.__version__}",
             f"Python version:    {sys.version}",
             f"Platform:          {sys.platform}-{platform.machine()}-{platform.version()}",
             f"SIMD level:        {get_simd()}",
             f"VML available?     {use_vml}",
             f"Number of threads used by default: {get_num_threads()} "
             f"(out of {detect_number_of_cores()} detected cores)",
             f"Maximum number of threads: {MAX_THREADS}",
             rule]
    print("\n".join(lines))
