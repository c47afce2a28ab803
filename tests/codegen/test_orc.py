"""The minimal binding used for compiling and linking (codegen/orc.py): the same answers as
llvmlite.binding, working links and errors, the fallback, and processes that never import
llvmlite.binding."""
import ctypes
import gc
import os
import subprocess
import sys
import weakref

import pytest

import fusenum
from fusenum.codegen import jit, orc, target

_MODULE = ("declare double @cos(double)\n"
           "define double @twice_cos(double %x) {\n  %c = call double @cos(double %x)\n"
           "  %r = fmul double %c, 2.0\n  ret double %r\n}\n"
           "define i64 @seven() {\n  ret i64 7\n}\n")
_OWN = orc.load()
needs_own = pytest.mark.skipif(_OWN is None, reason="this llvmlite is not one orc.py was verified with")


def _bindings() -> list:
    return [_OWN, orc.Binding(target.llvm())] if _OWN is not None else [orc.Binding(target.llvm())]


@needs_own
def test_the_binding_describes_the_host_as_llvmlite_does():
    binding = target.llvm()
    assert _OWN.process_triple() == binding.get_process_triple()
    assert _OWN.host_cpu_name() == binding.get_host_cpu_name()
    assert _OWN.host_cpu_features() == dict(binding.get_host_cpu_features())
    assert _OWN.version() == tuple(binding.llvm_version_info)


@pytest.mark.parametrize("which", range(2))
def test_linked_code_runs_resolves_process_symbols_and_is_freed(which):
    bindings = _bindings()
    if which >= len(bindings):
        pytest.skip("own binding not available")
    library = bindings[which]
    code = jit.compile_object(_MODULE, target.current())
    tracker = library.create_lljit().link("orc_test", code, ["twice_cos", "seven"])
    twice_cos = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(tracker["twice_cos"])
    assert twice_cos(0.0) == 2.0  # cos comes from the C library loaded in this process
    assert ctypes.CFUNCTYPE(ctypes.c_int64)(tracker["seven"])() == 7
    alive = weakref.ref(tracker)
    del tracker, twice_cos
    gc.collect()
    assert alive() is None


@pytest.mark.parametrize("which", range(2))
def test_a_symbol_that_cannot_be_resolved_is_a_runtime_error(which):
    bindings = _bindings()
    if which >= len(bindings):
        pytest.skip("own binding not available")
    code = jit.compile_object("declare i64 @fusenum_no_such_symbol()\ndefine i64 @f() {\n"
                              "  %r = call i64 @fusenum_no_such_symbol()\n  ret i64 %r\n}\n", target.current())
    with pytest.raises(RuntimeError, match=r"Failed to materialize symbols: .*orc_missing.*\bf\b"):
        bindings[which].create_lljit().link("orc_missing", code, ["f"])


@needs_own
@pytest.mark.parametrize("object_code", [True, False])
def test_the_binding_compiles_what_llvmlite_binding_compiles(object_code):
    here = target.current()
    made = []
    for library in _bindings():
        machine = library.target_machine(here.cpu, here.features, jit.OPTIMIZED)
        made.append((machine.data_layout(),
                     library.compile(_MODULE, machine, library.process_triple(), machine.data_layout(), object_code)))
    assert made[0] == made[1]
    assert made[0][1]  # not empty


@pytest.mark.parametrize("which", range(2))
@pytest.mark.parametrize("text, message", [
    ("define i64 @f() {\n  ret i64 %nowhere\n}\n", "invalid LLVM IR: LLVM IR parsing error"),
    ("define i64 @f() {\n  ret i32 1\n}\n", "invalid LLVM IR"),
    ("define i64 @f() {\nentry:\n  br label %next\nnext:\n  %x = add i64 %y, 1\n  %y = add i64 %x, 1\n"
     "  ret i64 %x\n}\n", "invalid LLVM IR: Instruction does not dominate all uses"),
])
def test_invalid_ir_is_a_compile_error_never_a_crash(which, text, message):
    bindings = _bindings()
    if which >= len(bindings):
        pytest.skip("own binding not available")
    library, here = bindings[which], target.current()
    machine = library.target_machine(here.cpu, here.features, jit.QUICK)
    with pytest.raises(fusenum.CompileError, match=message):
        library.compile(text, machine, library.process_triple(), machine.data_layout(), True)


def test_a_missing_library_is_a_runtime_error():
    library = _OWN or orc.Binding(target.llvm())
    with pytest.raises(RuntimeError, match="fusenum-no-such-library"):
        library.load_library_permanently("libfusenum-no-such-library.so")


def test_an_unverified_llvmlite_goes_through_llvmlite_binding(monkeypatch):
    monkeypatch.setattr(orc, "VERIFIED", ())
    assert orc.load() is None


_VERSION_CHILD = """
import os, sys
from fusenum.codegen import orc
version, path = orc.llvmlite_version(), orc._path()
imported = 'llvmlite' in sys.modules
import llvmlite
from llvmlite.utils import get_library_name
print(imported, version == llvmlite.__version__,
      path == os.path.join(os.path.dirname(llvmlite.__file__), "binding", get_library_name()))
"""


def test_llvmlite_s_version_and_library_are_found_without_importing_llvmlite():
    """What a warm process's disk-cache key needs of llvmlite is read from its files (importing it
    took ~0.4 ms of the first call), and is what llvmlite itself says."""
    done = subprocess.run([sys.executable, "-c", _VERSION_CHILD], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True", "True"]


_VERSION_FALLBACK_CHILD = """
import sys
from fusenum.codegen import orc
orc._package_directory = lambda: sys.argv[1]
orc.llvmlite_version.cache_clear()  # (in case a look-ahead thread read the real file first)
version = orc.llvmlite_version()
imported = 'llvmlite' in sys.modules
import llvmlite
print(imported, version == llvmlite.__version__)
"""


def test_an_unrecognised_version_file_falls_back_to_importing_llvmlite(tmp_path):
    (tmp_path / "_version.py").write_text("__version__ = get_it_elsewhere()\n")
    # No look-ahead thread (runtime.prefetch, started by ``import fusenum`` where a disk cache or a shipped
    # archive may serve): it reads llvmlite's version from the real file, racing the child's patch.
    env = dict(os.environ, FUSENUM_CACHE="off", FUSENUM_SHIPPED_KERNELS="off")
    done = subprocess.run([sys.executable, "-c", _VERSION_FALLBACK_CHILD, str(tmp_path)], capture_output=True,
                          text=True, check=True, env=env)
    assert done.stdout.split() == ["True", "True"]


_WARM_CHILD = """
import sys
import numpy as np
import fusenum
from fusenum.runtime import tiering
a = np.linspace(0, 1, 100)
fusenum.evaluate('a * 3 - 1')
fusenum.evaluate('a * 3 - 1')
tiering.wait_for_compiles()  # auto: two calls interpreted, the kernel made in the background (asked by the second)
print(fusenum.evaluate('a * 3 - 1').tolist() == (a * 3 - 1).tolist(),
      fusenum.cache_info().disk_hits, 'llvmlite.binding' in sys.modules, 'llvmlite.ir' in sys.modules)
"""


@needs_own
@pytest.mark.parametrize("tiering", ["never", "auto"])
def test_a_process_never_imports_llvmlite_binding_to_compile_or_to_load(tmp_path, tiering):
    env = dict(os.environ, FUSENUM_CACHE_DIR=str(tmp_path / "cache"), FUSENUM_TIERING=tiering,
               FUSENUM_COMPILE="optimized", FUSENUM_SIMD=target.get_simd())

    def run() -> list[str]:
        done = subprocess.run([sys.executable, "-c", _WARM_CHILD], env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()
    assert run() == ["True", "0", "False", "False"]  # compiled (and stored)
    assert run() == ["True", "1", "False", "False"]  # loaded: no llvmlite.binding, no llvmlite.ir


_FALLBACK_CHILD = """
import numpy as np
import fusenum
from fusenum.codegen import orc, target
orc.VERIFIED = ()  # as with an llvmlite this module was not checked against
a = np.linspace(0, 1, 1000)
first = fusenum.evaluate('a * 3 - 1')
fusenum.clear_cache()
again = fusenum.evaluate('a * 3 - 1')
print(first.tolist() == again.tolist() == (a * 3 - 1).tolist(), fusenum.cache_info().disk_hits,
      type(target.native()).__name__)
"""


def test_an_unverified_llvmlite_compiles_stores_and_loads_through_llvmlite_binding(tmp_path):
    env = dict(os.environ, FUSENUM_CACHE_DIR=str(tmp_path / "cache"), FUSENUM_TIERING="never",
               FUSENUM_COMPILE="optimized", FUSENUM_SIMD=target.get_simd())
    done = subprocess.run([sys.executable, "-c", _FALLBACK_CHILD], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "1", "Binding"]


def test_the_version_line_is_the_first_well_formed_one():
    lines = ["# version_version = '0.1'\n", "version_version = 'not a version'\n", "version_version = '0.50.1+x'\n",
             "version_version = '9'\n"]
    assert orc._version_in(lines) == "0.50.1+x"
    assert orc._version_in(["version_version = ''\n", "version_version = '1.0'\r\n"]) is None
