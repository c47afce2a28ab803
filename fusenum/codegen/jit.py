"""LLVM IR text -> machine code in this process, via llvmlite's ORC JIT.

Each kernel becomes its own JIT library: the module is parsed and verified
(llvmlite is built with LLVM assertions, so unverified IR could abort the
process; verification turns it into a :class:`~fusenum.errors.CompileError`),
optimized with the new pass manager for the kernel's target, turned into object
code, and linked. The returned :class:`Compiled` owns the library: dropping it
frees the machine code. Object code is also what a disk cache would store.
"""
from __future__ import annotations

import ctypes
import itertools
import os
import threading
from dataclasses import dataclass
from functools import lru_cache

import llvmlite.binding as llvm

from ..errors import CompileError
from .target import Target, _host

_lock = threading.Lock()
_library_names = itertools.count()
if hasattr(os, "register_at_fork"):
    # A fork during another thread's compilation would leave the child a lock nobody releases.
    os.register_at_fork(before=_lock.acquire, after_in_parent=_lock.release, after_in_child=_lock.release)


@dataclass
class Compiled:
    """A linked kernel library: symbol addresses, kept valid by ``tracker``."""

    addresses: dict[str, int]
    tracker: object
    object_code: bytes

    @property
    def address(self) -> int:
        """The address of the (first) exported symbol."""
        return next(iter(self.addresses.values()))


@lru_cache(maxsize=None)
def _lljit():
    _host()  # initializes LLVM's native target
    return llvm.create_lljit_compiler()


@lru_cache(maxsize=None)
def _target_machine(target: Target):
    triple = llvm.get_process_triple()
    return llvm.Target.from_triple(triple).create_target_machine(
        cpu=target.cpu, features=target.features, opt=3, reloc="pic", codemodel="jitdefault")


@lru_cache(maxsize=None)
def _light_target_machine(target: Target):
    triple = llvm.get_process_triple()
    return llvm.Target.from_triple(triple).create_target_machine(
        cpu=target.cpu, features=target.features, opt=0, reloc="pic", codemodel="jitdefault")


def _parse(module_text: str, target: Target):
    try:
        module = llvm.parse_assembly(module_text)
        module.verify()
    except RuntimeError as exc:
        raise CompileError(f"fusenum generated invalid LLVM IR: {exc}") from None
    module.triple = llvm.get_process_triple()
    module.data_layout = str(_target_machine(target).target_data)
    return module


def optimize_light(module_text: str, target: Target):
    """Parse, verify and clean up with a few cheap passes (for very big kernels, see
    :func:`compile_object`); returns the llvmlite ModuleRef."""
    module = _parse(module_text, target)
    manager = llvm.create_new_module_pass_manager()
    manager.add_sroa_pass()
    manager.add_instruction_combine_pass()
    manager.add_simplify_cfg_pass()
    manager.run(module, llvm.create_pass_builder(_target_machine(target),
                                                 llvm.create_pipeline_tuning_options(speed_level=1)))
    return module


def optimize(module_text: str, target: Target):
    """Parse, verify and optimize; returns the llvmlite ModuleRef."""
    module = _parse(module_text, target)
    tm = _target_machine(target)
    options = llvm.create_pipeline_tuning_options(speed_level=3)
    options.loop_vectorization = target.auto_vectorize
    options.slp_vectorization = target.auto_vectorize
    builder = llvm.create_pass_builder(tm, options)
    builder.getModulePassManager().run(module, builder)
    return module


def compile_object(module_text: str, target: Target, light: bool = False) -> bytes:
    """Object code for ``module_text`` on ``target`` (what :func:`link` loads and a disk cache keeps).

    ``light`` compiles with a few cheap passes (SROA, instcombine, simplifycfg) and ``opt=0`` code
    generation: 5-10 times faster for a kernel of hundreds of operations, whose code measured
    within 10% of the ``-O3`` code's speed (the IR is explicitly vectorized already). No pass may
    change floating-point semantics (no fast-math flags, no contraction), so the bits are the same.
    """
    with _lock:
        if light:
            return _light_target_machine(target).emit_object(optimize_light(module_text, target))
        module = optimize(module_text, target)
        return _target_machine(target).emit_object(module)


def compile_kernel(module_text: str, symbols, target: Target) -> Compiled:
    """Compile ``module_text`` for ``target``; resolve ``symbols`` (a name or a list of names)."""
    object_code = compile_object(module_text, target)
    with _lock:
        return link(object_code, symbols)


def link(object_code: bytes, symbols) -> Compiled:
    """Load object code into the JIT and resolve ``symbols`` (a name or a list of names)."""
    symbols = [symbols] if isinstance(symbols, str) else list(symbols)
    builder = llvm.JITLibraryBuilder().add_object_img(object_code).add_current_process()
    for symbol in symbols:
        builder.export_symbol(symbol)
    tracker = builder.link(_lljit(), f"fusenum_{next(_library_names)}")
    return Compiled({symbol: tracker[symbol] for symbol in symbols}, tracker, object_code)


def assembly(module_text: str, target: Target) -> str:
    """The optimized machine assembly for ``module_text`` (for inspection and tests)."""
    with _lock:
        return _target_machine(target).emit_assembly(optimize(module_text, target))


def load_library(name: str) -> bool:
    """Make a shared library's symbols visible to kernels; False if it cannot be loaded."""
    try:
        llvm.load_library_permanently(name)
        ctypes.CDLL(name)
    except (OSError, RuntimeError):
        return False
    return True
