"""A minimal binding to llvmlite's C library: IR text to object code, and linking (LLVM's ORC JIT).

fusenum needs a few things from LLVM: describe the host (the cache key), parse,
verify and code-generate IR text, and link object code. Importing
``llvmlite.binding`` for that costs ~20-25 ms of CPU on top of loading the
library (~7 ms) -- its Python layer, including ``llvmlite.ir`` -- and, in a
background compile, holds the GIL from the user's thread all that time. This
module declares just the handful of llvmlite's C functions those need (the same
functions ``llvmlite.binding`` calls, with the same argument types) on the same
shared library, so fusenum never imports ``llvmlite.binding``.

llvmlite's C functions are not a public interface: this binding is used only with
the llvmlite versions in :data:`VERIFIED` (their ``ffi/orcjit.cpp``, ``targets.cpp``,
``dylib.cpp``, ``initfini.cpp``, ``module.cpp``, ``assembly.cpp`` and ``context.cpp``
were read for these signatures); any other version goes through
``llvmlite.binding`` (same behaviour, slower first call). Calls are serialized
by one lock, as llvmlite serializes its own, except a compile's: each compile
has its own LLVM context and module and borrows a target machine no other
thread uses meanwhile, so compiles in different threads run at the same time.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
import threading
from contextlib import nullcontext
from ctypes import POINTER, c_bool, c_char_p, c_int, c_size_t, c_uint, c_uint8, c_uint64, c_void_p
from functools import lru_cache

from ..errors import CompileError
from . import locks

#: The code model of every kernel: "small" (code, constants and data within 2 GB of each other,
#: reached by 32-bit offsets; libraries through a table), not the JIT's default "large" (every
#: address a 64-bit constant in a register): with the large one, a loop calling two libmvec
#: functions kept their addresses in registers and reloaded two array pointers from the stack
#: around every call (sin(a)**2+cos(b)**2, float64: 1,501 against 1,278 us per 1M elements).
CODE_MODEL = "small"
#: llvmlite versions (major.minor) whose C functions this module declares.
VERIFIED = ("0.50",)
#: Serializes calls into the library (a fork waits for it: :mod:`.jit`).
lock = locks.track(threading.RLock())
_NO_LOCK = nullcontext()


class _LinkElement(ctypes.Structure):
    _fields_ = [("element_kind", c_uint8), ("value", c_char_p), ("value_len", c_size_t)]


class _SymbolAddress(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("address", c_uint64)]


_OBJECT_CODE, _CURRENT_PROCESS = 2, 3  # element kinds of LLVMPY_LLJIT_Link
_SIGNATURES = {
    "LLVMPY_InitializeNativeTarget": ([], None),
    "LLVMPY_InitializeNativeAsmPrinter": ([], None),
    "LLVMPY_GetVersionInfo": ([], c_uint),
    "LLVMPY_DisposeString": ([c_char_p], None),
    "LLVMPY_GetProcessTriple": ([POINTER(c_char_p)], None),
    "LLVMPY_GetHostCPUName": ([POINTER(c_char_p)], None),
    "LLVMPY_GetHostCPUFeatures": ([POINTER(c_char_p)], c_int),
    "LLVMPY_LoadLibraryPermanently": ([c_char_p, POINTER(c_char_p)], c_bool),
    "LLVMPY_CreateLLJITCompiler": ([c_void_p, c_bool, c_bool, POINTER(c_char_p)], c_void_p),
    "LLVMPY_LLJITDispose": ([c_void_p], None),
    "LLVMPY_LLJIT_Link": ([c_void_p, c_char_p, POINTER(_LinkElement), c_size_t, POINTER(_SymbolAddress), c_size_t,
                           POINTER(_SymbolAddress), c_size_t, POINTER(c_char_p)], c_void_p),
    "LLVMPY_LLJIT_Dylib_Tracker_Dispose": ([c_void_p, POINTER(c_char_p)], c_bool),
    "LLVMPY_SearchAddressOfSymbol": ([c_char_p], c_void_p),
    # compiling
    "LLVMPY_GetTargetFromTriple": ([c_char_p, POINTER(c_char_p)], c_void_p),
    "LLVMPY_CreateTargetMachine": ([c_void_p, c_char_p, c_char_p, c_char_p, c_int, c_char_p, c_char_p, c_int,
                                    c_int, c_char_p], c_void_p),
    "LLVMPY_DisposeTargetMachine": ([c_void_p], None),
    "LLVMPY_CreateTargetMachineData": ([c_void_p], c_void_p),
    "LLVMPY_CopyStringRepOfTargetData": ([c_void_p, POINTER(c_char_p)], None),
    "LLVMPY_DisposeTargetData": ([c_void_p], None),
    "LLVMPY_ContextCreate": ([], c_void_p),
    "LLVMPY_ContextDispose": ([c_void_p], None),
    "LLVMPY_ParseAssembly": ([c_void_p, c_char_p, POINTER(c_char_p)], c_void_p),
    "LLVMPY_VerifyModule": ([c_void_p, POINTER(c_char_p)], c_bool),
    "LLVMPY_SetTarget": ([c_void_p, c_char_p], None),
    "LLVMPY_SetDataLayout": ([c_void_p, c_char_p], None),
    "LLVMPY_DisposeModule": ([c_void_p], None),
    "LLVMPY_TargetMachineEmitToMemory": ([c_void_p, c_void_p, c_int, POINTER(c_char_p)], c_void_p),
    "LLVMPY_GetBufferStart": ([c_void_p], c_void_p),
    "LLVMPY_GetBufferSize": ([c_void_p], c_size_t),
    "LLVMPY_DisposeMemoryBuffer": ([c_void_p], None),
}


class Library:
    """llvmlite's shared library with :data:`_SIGNATURES` declared, and LLVM's native target
    initialized."""

    def __init__(self, handle: ctypes.CDLL):
        for name, (arguments, result) in _SIGNATURES.items():
            function = getattr(handle, name)
            function.argtypes, function.restype = arguments, result
            setattr(self, name[len("LLVMPY_"):], function)
        with lock:
            self.InitializeNativeTarget()
            self.InitializeNativeAsmPrinter()

    def _string(self, function, *arguments, locked: bool = True) -> tuple[object, str]:
        """Call ``function(*arguments, &out)`` (under :data:`lock` unless ``locked`` is False); its
        result and ``out`` (freed)."""
        out = c_char_p(None)
        with lock if locked else _NO_LOCK:
            result = function(*arguments, ctypes.byref(out))
            text = out.value.decode(errors="replace") if out.value else ""
            if out.value is not None:
                self.DisposeString(out)
        return result, text

    def address_of_symbol(self, name: str) -> int | None:
        """The address of ``name`` among the symbols loaded in the process, or None."""
        with lock:
            return self.SearchAddressOfSymbol(name.encode())

    def target_machine(self, cpu: str, features: str, level: int) -> TargetMachine:
        """A target machine for the host's triple: position-independent code of the small code model
        (:data:`CODE_MODEL`)."""
        triple = self.process_triple().encode()
        target, error = self._string(self.GetTargetFromTriple, triple)
        if not target:
            raise RuntimeError(error)
        with lock:
            pointer = self.CreateTargetMachine(target, triple, cpu.encode(), features.encode(), level, b"pic",
                                               CODE_MODEL.encode(), 0, 0, b"")
        if not pointer:
            raise RuntimeError("LLVM could not make a target machine")
        return TargetMachine(self, pointer)

    def compile(self, module_text: str, machine: TargetMachine, triple: str, data_layout: str,
                object_code: bool) -> bytes:
        """Parse and verify ``module_text`` in a context of its own and generate object code (or
        assembly) with ``machine`` (used by this thread only meanwhile). No lock is held."""
        context = self.ContextCreate()
        try:
            module, error = self._string(self.ParseAssembly, context, module_text.encode(), locked=False)
            try:
                if error or not module:
                    raise CompileError(f"fusenum generated invalid LLVM IR: LLVM IR parsing error\n{error}")
                failed, error = self._string(self.VerifyModule, module, locked=False)
                if failed:
                    raise CompileError(f"fusenum generated invalid LLVM IR: {error}")
                self.SetTarget(module, triple.encode())
                self.SetDataLayout(module, data_layout.encode())
                buffer, error = self._string(self.TargetMachineEmitToMemory, machine.pointer, module,
                                             int(object_code), locked=False)
                if not buffer:
                    raise CompileError(f"LLVM could not compile a fusenum kernel: {error}")
                try:
                    return ctypes.string_at(self.GetBufferStart(buffer), self.GetBufferSize(buffer))
                finally:
                    self.DisposeMemoryBuffer(buffer)
            finally:
                if module:
                    self.DisposeModule(module)  # before its context
        finally:
            self.ContextDispose(context)

    def version(self) -> tuple[int, ...]:
        """LLVM's version, e.g. ``(20, 1, 8)``."""
        with lock:
            packed = self.GetVersionInfo()
        parts = []
        while packed:
            parts.append(packed & 0xFF)
            packed >>= 8
        return tuple(reversed(parts))

    def process_triple(self) -> str:
        return self._string(self.GetProcessTriple)[1]

    def host_cpu_name(self) -> str:
        return self._string(self.GetHostCPUName)[1]

    def host_cpu_features(self) -> dict[str, bool]:
        """``{feature: enabled}`` as LLVM detects the host (empty if it cannot)."""
        found, text = self._string(self.GetHostCPUFeatures)
        if not found:
            return {}
        return {feature[1:]: feature[0] == "+" for feature in text.split(",") if feature}

    def load_library_permanently(self, name: str) -> None:
        failed, error = self._string(self.LoadLibraryPermanently, name.encode())
        if failed:
            raise RuntimeError(error)

    def create_lljit(self) -> "LLJIT":
        pointer, error = self._string(self.CreateLLJITCompiler, None, False, False)
        if not pointer:
            raise RuntimeError(error)
        return LLJIT(self, pointer)


class TargetMachine:
    """An LLVM target machine (code generation settings); one thread may use it at a time."""

    def __init__(self, library: Library, pointer: int):
        self.library, self.pointer = library, pointer

    def data_layout(self) -> str:
        with lock:
            data = self.library.CreateTargetMachineData(self.pointer)
        try:
            return self.library._string(self.library.CopyStringRepOfTargetData, data)[1]
        finally:
            with lock:
                self.library.DisposeTargetData(data)

    def __del__(self, finalizing=sys.is_finalizing):
        if not finalizing():
            with lock:
                self.library.DisposeTargetMachine(self.pointer)


class LLJIT:
    """An ORC LLJIT; each library linked into it owns a reference to it (freed with the last)."""

    def __init__(self, library: Library, pointer: int):
        self.library, self.pointer = library, pointer

    def link(self, name: str, object_code: bytes, symbols: list[str]) -> "Tracker":
        """Link ``object_code`` (resolving other symbols in this process) as library ``name``;
        the returned tracker has the addresses of ``symbols`` and frees the code when garbage."""
        elements = (_LinkElement * 2)()
        elements[0].element_kind, elements[0].value, elements[0].value_len = \
            _OBJECT_CODE, object_code, len(object_code)
        elements[1].element_kind, elements[1].value, elements[1].value_len = _CURRENT_PROCESS, b"", 0
        exports = (_SymbolAddress * len(symbols))()
        for index, symbol in enumerate(symbols):
            exports[index].name = symbol.encode()
        imports = (_SymbolAddress * 0)()
        pointer, error = self.library._string(self.library.LLJIT_Link, self.pointer, name.encode(), elements, 2,
                                              imports, 0, exports, len(symbols))
        if not pointer:
            raise RuntimeError(error)
        return Tracker(self.library, pointer, {symbol: exports[i].address for i, symbol in enumerate(symbols)})

    def __del__(self, finalizing=sys.is_finalizing):
        if not finalizing():  # at exit the process's memory goes anyway
            with lock:
                self.library.LLJITDispose(self.pointer)


class Tracker:
    """A linked library: ``tracker[symbol]`` is an address, valid while the tracker lives."""

    def __init__(self, library: Library, pointer: int, addresses: dict[str, int]):
        self.library, self.pointer, self.addresses = library, pointer, addresses

    def __getitem__(self, symbol: str) -> int:
        return self.addresses[symbol]

    def __del__(self, finalizing=sys.is_finalizing):
        if finalizing():  # at exit the process's memory goes anyway
            return
        failed, error = self.library._string(self.library.LLJIT_Dylib_Tracker_Dispose, self.pointer)
        if failed:
            raise RuntimeError(error)  # reported by Python as unraisable, as llvmlite's own


class Binding:
    """The same interface as :class:`Library` through ``llvmlite.binding`` (any llvmlite version)."""

    def __init__(self, binding):
        self.binding = binding

    def version(self) -> tuple[int, ...]:
        return tuple(self.binding.llvm_version_info)

    def process_triple(self) -> str:
        return self.binding.get_process_triple()

    def host_cpu_name(self) -> str:
        return self.binding.get_host_cpu_name()

    def host_cpu_features(self) -> dict[str, bool]:
        return dict(self.binding.get_host_cpu_features())

    def load_library_permanently(self, name: str) -> None:
        self.binding.load_library_permanently(name)

    def create_lljit(self) -> "_BindingJIT":
        return _BindingJIT(self.binding, self.binding.create_lljit_compiler())

    def address_of_symbol(self, name: str) -> int | None:
        return self.binding.address_of_symbol(name)

    def target_machine(self, cpu: str, features: str, level: int) -> "_BindingMachine":
        return _BindingMachine(self.binding.Target.from_triple(self.binding.get_process_triple())
                               .create_target_machine(cpu=cpu, features=features, opt=level, reloc="pic",
                                                      codemodel=CODE_MODEL))

    def compile(self, module_text: str, machine, triple: str, data_layout: str, object_code: bool) -> bytes:
        context = self.binding.create_context()
        try:
            try:
                module = self.binding.parse_assembly(module_text, context=context)
            except RuntimeError as exc:
                raise CompileError(f"fusenum generated invalid LLVM IR: {exc}") from None
            try:
                try:
                    module.verify()
                except RuntimeError as exc:
                    raise CompileError(f"fusenum generated invalid LLVM IR: {exc}") from None
                module.triple, module.data_layout = triple, data_layout
                try:
                    emit = machine.machine.emit_object if object_code else machine.machine.emit_assembly
                    code = emit(module)
                    return code if object_code else code.encode()
                except RuntimeError as exc:
                    raise CompileError(f"LLVM could not compile a fusenum kernel: {exc}") from None
            finally:
                module.close()  # before its context
        finally:
            context.close()


class _BindingMachine:
    """An ``llvmlite.binding`` target machine with :class:`TargetMachine`'s interface."""

    def __init__(self, machine):
        self.machine = machine

    def data_layout(self) -> str:
        return str(self.machine.target_data)


class _BindingJIT:
    def __init__(self, binding, jit):
        self.binding, self.jit = binding, jit

    def link(self, name: str, object_code: bytes, symbols: list[str]):
        builder = self.binding.JITLibraryBuilder().add_object_img(object_code).add_current_process()
        for symbol in symbols:
            builder.export_symbol(symbol)
        return builder.link(self.jit, name)


#: The file name of llvmlite's shared library on each kind of system (``llvmlite.utils``'s rule).
_LIBRARY_NAME = ("llvmlite.dll" if os.name == "nt" else
                 "libllvmlite.dylib" if sys.platform == "darwin" else "libllvmlite.so")


@lru_cache(maxsize=None)
def _package_directory() -> str:
    """llvmlite's package directory, found without importing llvmlite: a warm process's first kernel
    needs its library's file and its version (:func:`fusenum.codegen.target.host_signature`, the
    disk-cache key), not llvmlite itself, whose import took ~0.4 ms of that call. Found once per
    process: a ``sys.path`` changed afterwards to reach another llvmlite is not followed."""
    module = sys.modules.get("llvmlite")
    if module is not None:
        return os.path.dirname(module.__file__)
    spec = importlib.util.find_spec("llvmlite")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("llvmlite is not installed")
    return list(spec.submodule_search_locations)[0]


@lru_cache(maxsize=None)
def llvmlite_version() -> str:
    """``llvmlite.__version__``; read from its ``_version.py`` while llvmlite is not imported yet,
    where that file has the form llvmlite's releases give it (else llvmlite is imported)."""
    module = sys.modules.get("llvmlite")
    if module is not None and hasattr(module, "__version__"):
        return module.__version__
    if module is None:
        try:
            with open(os.path.join(_package_directory(), "_version.py"), encoding="utf-8") as source:
                found = _version_in(source)
        except (OSError, ValueError):  # (ValueError: not UTF-8)
            found = None
        if found is not None:
            return found
    import llvmlite as module  # (waits for another thread's import of it to finish)
    return module.__version__


_VERSION_LINE = "version_version = '"
_VERSION_CHARACTERS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+!-")


def _version_in(lines) -> str | None:
    """The version in the first line of the form ``version_version = '<version>'`` (a plain scan:
    compiling a regular expression for it cost ~0.2 ms of a warm process's first kernel call)."""
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith(_VERSION_LINE) and line.endswith("'"):
            version = line[len(_VERSION_LINE):-1]
            if version and _VERSION_CHARACTERS.issuperset(version):
                return version
    return None


def _path() -> str:
    """Where llvmlite's shared library is (a plain file next to ``llvmlite.binding``, normally)."""
    return os.path.join(_package_directory(), "binding", _LIBRARY_NAME)


def preload() -> None:
    """Map llvmlite's library (~100 MB) into the process without holding the GIL.

    ``ctypes.CDLL`` holds the GIL while the dynamic loader works (7 ms of CPU, far more wall time
    on a busy machine), so a background thread loading LLVM would stall the thread running the
    user's call; a foreign call to ``dlopen`` releases it. The later ``CDLL`` of the same file
    (here or in llvmlite) only finds it loaded. Linux only; elsewhere nothing is done."""
    path = _path()
    if not sys.platform.startswith("linux") or not os.path.isfile(path):
        return
    dlopen = ctypes.CDLL(None).dlopen
    dlopen.argtypes, dlopen.restype = [c_char_p, c_int], c_void_p
    dlopen(os.fsencode(path), os.RTLD_NOW | os.RTLD_LOCAL)  # the mode CDLL uses; a failure shows there


def load() -> Library | None:
    """llvmlite's library through this binding, or None if this llvmlite is not one of
    :data:`VERIFIED` (or its library is not a plain file next to ``llvmlite.binding``)."""
    if ".".join(llvmlite_version().split(".")[:2]) not in VERIFIED:
        return None
    path = _path()
    if not os.path.isfile(path):
        return None
    preload()
    try:
        return Library(ctypes.CDLL(path))
    except AttributeError:  # a build of this version without one of the functions: llvmlite.binding serves
        return None
