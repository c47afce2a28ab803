"""Linked machine code by description: from the disk cache (a kernel's optimized build, else its
quick build), or compiled for a target, stored there and linked. :mod:`.kernels` makes its kernels
with it, and :mod:`.threads` the native thread pool."""
from __future__ import annotations

from typing import Callable

from . import disk_cache, host_record
from ..codegen import jit, libraries, locks
from ..codegen.target import Target

_link_lock = locks.lock()  # JIT linking (a fraction of a millisecond)


def load_or_compile(description: str, target: Target, module_text: Callable[[bool], str], names: list[str],
                    later: list | None = None, look: bool = True,
                    quick: bool = True) -> tuple[jit.Compiled, str, bool]:
    """Linked code for ``description`` (a canonical text of everything that decides it besides the
    target and fusenum's code generator) on ``target``: from the disk cache, else compiled from
    ``module_text(quick)`` and stored (``quick``: the text for a quick build). Also where it came
    from (``"disk"`` or ``"compiled"``) and whether the disk cache was looked in. With ``later``
    (a list), a quick build on disk will do, and so does a quick compile unless ``quick`` is False
    (the optimizer is behind: then the compile is optimized at once); either appends to ``later`` a
    function that builds, stores and returns the optimized code. ``look`` False: compile without
    looking in the disk cache (the caller just did)."""
    digest = disk_cache.key(description, target) if disk_cache.usable() else None
    build = builder(digest, target, module_text, names)
    if digest is not None and look:
        compiled, quick_build = load_entry(digest, names, later is not None)
        if quick_build:  # an earlier process's quick build: optimized later, here
            later.append(build)
        if compiled is not None:
            return compiled, "disk", True

    if later is None or not quick:
        return build(), "compiled", digest is not None
    later.append(build)
    return build(quick=True), "compiled", digest is not None


def builder(digest: bytes | None, target: Target, module_text: Callable[[bool], str],
             names: list[str]) -> Callable[..., jit.Compiled]:
    """``build(quick=False)``: compile ``module_text(quick)`` for ``target``, store the object code
    under ``digest`` (a quick build as such; an optimized one replaces it) and link it."""
    def build(quick: bool = False) -> jit.Compiled:
        if quick:
            object_code = jit.compile_object(module_text(True), target, quick=True)
        else:
            object_code = jit.compile_object(module_text(False), target)
        host_record.record()  # LLVM is loaded now: record the host (or check an adopted record)
        if digest is not None:
            disk_cache.store(digest, jit.storable(object_code), disk_cache.QUICK_SUFFIX if quick else disk_cache.SUFFIX)
            if not quick:  # (after: one of the two entries is there at every moment)
                disk_cache.discard(digest, disk_cache.QUICK_SUFFIX)
        return _link(object_code, names)
    return build


def load_stored(description: str, target: Target, names: list[str]) -> jit.Compiled | None:
    """:func:`load_or_compile`'s code from the disk cache, if it is there and links without LLVM
    (:mod:`fusenum.codegen.loader`); else None."""
    if not disk_cache.usable():
        return None
    return _load_linked(disk_cache.key(description, target), names, with_jit=False)


def load_entry(digest: bytes, names: list[str], quick_ok: bool,
               may_skip: bool = False) -> tuple[jit.Compiled | None, bool]:
    """The code stored under ``digest``, linked: its optimized build, else (``quick_ok``) its quick
    build; also whether it is the quick build. ``may_skip``: as :func:`.disk_cache.load`'s."""
    compiled = _load_linked(digest, names, may_skip=may_skip)
    if compiled is not None or not quick_ok:
        return compiled, False
    compiled = _load_linked(digest, names, disk_cache.QUICK_SUFFIX, may_skip=may_skip)
    return compiled, compiled is not None


def _load_linked(digest: bytes, names: list[str], suffix: str = disk_cache.SUFFIX,
                 with_jit: bool = True, may_skip: bool = False) -> jit.Compiled | None:
    """The code stored under ``digest`` (and ``suffix``) in the disk cache, linked; None if there is
    none (or it cannot be linked, when it is discarded; or, ``with_jit`` False, it needs LLVM's JIT)."""
    object_code = disk_cache.load(digest, suffix, may_skip)
    if object_code is None:
        return None
    libraries.load_for(object_code)  # what code compiled by another process may call
    try:
        return _link(object_code, names, with_jit)
    except RuntimeError:  # e.g. a library symbol this process cannot resolve
        disk_cache.discard(digest, suffix)
        return None


def link_loaded(object_code: bytes, names: list[str]) -> jit.Compiled | None:
    """``object_code`` from elsewhere (another process, the package), linked without LLVM; None if
    it cannot be (a symbol this process lacks, a damaged image, code only LLVM's JIT links)."""
    libraries.load_for(object_code)
    try:
        return _link(object_code, names, with_jit=False)
    except RuntimeError:
        return None


def _link(object_code: bytes, names: list[str], with_jit: bool = True) -> jit.Compiled | None:
    with _link_lock:
        return jit.link(object_code, names, with_jit)
