"""NumPy's answers shipped with the package: asked when it was built, adopted where the same NumPy runs.

Typing ``**`` or a reduction asks the installed NumPy a few questions (:mod:`fusenum.ir.answers`):
~1.5 ms of a new process's first calls, each time, where numexpr takes ~0.3 ms for such a call
whole. Building the package (``python -m fusenum ship``, :mod:`.shipping`) asks them all for every
dtype (:func:`ask_common`) and writes the answers beside the shipped kernels
(``fusenum/shipped_kernels/numpy_answers.txt``), under what they depend on:

* the NumPy release, named as the shipped kernels name it (:func:`fusenum.ir.numpy_behaviour.release`:
  its version, its core module's name and size, the CPU features its loops dispatch on here and the
  environment variables that change them);
* the C library's version (NumPy's float ``power`` loops call its ``pow`` in some releases);
* fusenum's version and the size and CRC-32 of each module that asks the questions (a changed
  question has other answers).

A process adopts them before its first question (:data:`fusenum.ir.answers.before_asking`), or
earlier on the look-ahead thread (:mod:`.prefetch`), if all of that is the same here; otherwise
(another NumPy, a NumPy built elsewhere, another C library: the package's build environment may
well have had another NumPy) it asks NumPy itself, as before, and the file costs one read.
``FUSENUM_SHIPPED_KERNELS=off`` turns these off with the kernels.
"""
from __future__ import annotations

import json
import os
import sys
import zlib

import numpy as np

from . import shipped
from ..ir import answers, numpy_behaviour, reductions
from ..version import __version__

#: The file's name in the archives' directory (:data:`.shipped.DIRECTORY`), and its first line.
NAME = "numpy_answers.txt"
MAGIC = "fusenum NumPy answers, format 2"
#: Exponents whose ``**`` NumPy may compute otherwise than with ``power`` (asked per dtype and kind).
_EXPONENTS = (2, -1, 1, 2.0, -1.0, 0.5, 1.0)
_DTYPES = [np.dtype(code) for code in "?bhilqBHILQefdFD"]  # (every dtype fusenum computes but bytes)


def path(directory: str | None = None) -> str:
    """Where the answers are: in ``directory``, default :data:`.shipped.DIRECTORY`."""
    return os.path.join(shipped.DIRECTORY if directory is None else directory, NAME)


def identity() -> dict:
    """What recorded answers must have been asked under to be adopted here (see the docstring)."""
    modules = sorted({function.__module__ for function in _own_questions().values()} | {answers.__name__})
    sources = {}
    for name in modules:
        with open(sys.modules[name].__file__, "rb") as file:
            text = file.read()
        sources[name] = [len(text), zlib.crc32(text)]
    return {"fusenum": __version__, "numpy": numpy_behaviour.release(),
            "libc": shipped.libc(), "questions": sources}


def _own_questions() -> dict:
    """fusenum's questions (by name), not those of other modules (tests) that mark questions too."""
    package = __name__.partition(".")[0]
    return {name: function for name, function in answers.questions().items()
            if function.__module__.partition(".")[0] == package}


def ask_common() -> None:
    """Ask every question typing and tier 0 ask, for every dtype (a few hundred NumPy calls)."""
    for dtype in _DTYPES:
        for name in reductions.ROWS:
            try:
                reductions.dtypes(name, dtype, None)
            except Exception:  # noqa: S112 -- NumPy refuses it: no answer to keep
                continue
        for exponent in _EXPONENTS:
            numpy_behaviour.operator_power_rewrite(dtype, exponent)
        if dtype.kind == "f":
            numpy_behaviour.power_loop_rewrites(dtype)
            numpy_behaviour.clip_single_valued_bounds_win_ties(dtype)
            numpy_behaviour.nextafter_nan_operand(dtype)
    for name in ("arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh"):
        numpy_behaviour.complex_differs_from_c_library(name)
    numpy_behaviour.clip_ignores_out_of_range_int_bounds()
    numpy_behaviour.bool_loops_refuse_ints_beyond_int64()
    numpy_behaviour.where_wraps_out_of_range_ints()
    numpy_behaviour.half_nextafter_gives_y_on_ties()


def write(directory: str | None = None) -> str:
    """Ask :func:`ask_common`'s questions and write the answers to fusenum's own questions to
    :func:`path` (``directory``), atomically; returns the path.

    The file: a first line naming the format, fusenum's :func:`identity` (JSON) on the second, the
    CRC-32 of the rest on the third, then one line per answer: the question's name, the arguments'
    text and the answer's text (:func:`fusenum.ir.answers.recorded`), separated by tabs."""
    answers.forget(adopt_again=False)  # (asked here, not taken from the file this replaces)
    ask_common()
    own = _own_questions()
    body = "".join(f"{name}\t{args}\t{answer}\n" for name, args, answer in answers.recorded() if name in own)
    body_bytes = body.encode("ascii")
    head = f"{MAGIC}\n{json.dumps(identity(), sort_keys=True)}\n{zlib.crc32(body_bytes)}\n"
    target = path(directory)
    shipped.write_atomically(target, head.encode("ascii") + body_bytes)
    return target


def adopt(directory: str | None = None) -> int:
    """Adopt the answers shipped in ``directory`` (default the package's) if they were asked under
    this process's :func:`identity`; returns how many were taken (0: none there, not for here,
    damaged, or shipped kernels off). About 0.15 ms: an answer is found and decoded when asked for."""
    if not shipped.enabled():
        return 0
    try:
        descriptor = os.open(path(directory), os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return 0
    try:
        magic, head, checksum, body = shipped.read_all(descriptor).split(b"\n", 3)
        if magic != MAGIC.encode() or json.loads(head) != identity() or int(checksum) != zlib.crc32(body):
            return 0
        return answers.adopt(body.decode("ascii"))
    except (ValueError, UnicodeDecodeError, OSError):  # damaged: asked as if absent
        return 0
    finally:
        os.close(descriptor)


def adopt_now() -> None:
    """:func:`adopt`, now rather than before the process's first question, if it has not yet (once
    per process; another thread's first question meanwhile waits for it)."""
    answers.prepare()


answers.before_asking = adopt

__all__ = ["NAME", "adopt", "adopt_now", "ask_common", "identity", "path", "write"]
