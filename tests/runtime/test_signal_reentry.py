"""A signal handler that calls fusenum while the main thread is inside fusenum, holding one of its locks.

A Python signal handler runs on the main thread between two bytecodes. Each case raises the signal
at one point of a process's first kernel call where the main thread holds a lock (so the handler
runs right there) and the handler evaluates another expression: it must finish, and so must the
call it interrupted. Each runs in a subprocess under a timeout, so a deadlock fails the test
rather than hanging it.

The last cases interrupt the main thread's import of the code generator, where no kernel can be
compiled: the handler's call is served by a kernel at hand or by tier 0, with the same bits, or
raises :class:`fusenum.ReentrantCompileError` when it would have to compile.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM")

_INTERRUPTED_FIRST_CALL = r"""
import faulthandler, signal, sys
import numpy as np
import fusenum
from fusenum.codegen import jit, orc
from fusenum.runtime import disk_cache, kernels

faulthandler.dump_traceback_later(60, exit=True)
a = np.linspace(0.5, 1.5, 1000)
results = []
signal.signal(signal.SIGALRM, lambda *_: results.append(fusenum.evaluate("a * 2 + 1", {"a": a})))
module, name = {"orc": orc, "disk_cache": disk_cache, "jit": jit, "kernels": kernels}[sys.argv[1]], sys.argv[2]
real = getattr(module, name)

def interrupting(*args, **kwargs):  # the handler runs before this returns: within the caller's lock
    setattr(module, name, real)
    signal.raise_signal(signal.SIGALRM)
    return real(*args, **kwargs)

if isinstance(real, type):  # a class: interrupt its constructor
    class Interrupting(real):
        def __init__(self, *args, **kwargs):
            setattr(module, name, real)
            signal.raise_signal(signal.SIGALRM)
            super().__init__(*args, **kwargs)
    interrupting = Interrupting
setattr(module, name, interrupting)
got = fusenum.evaluate("sin(a) + 3", {"a": a})
assert results, "the signal handler did not run"
np.testing.assert_allclose(results[0], a * 2 + 1)
np.testing.assert_allclose(got, np.sin(a) + 3)
"""

_FILL = """
import numpy as np, fusenum
a = np.linspace(0.5, 1.5, 1000)
fusenum.evaluate("a * 2 + 1", {"a": a}), fusenum.evaluate("sin(a) + 3", {"a": a})
"""


@pytest.mark.parametrize("where", [
    "orc.preload",  # loading LLVM to describe the host (target._host_lock, target.loading)
    "disk_cache._problem",  # checking the cache directory (disk_cache._lock)
    "disk_cache.get_disk_cache",  # recording the host's description (host_record._lock)
    "jit.link",  # linking a kernel loaded from the disk cache (stored_code._link_lock)
    "kernels._Pending",  # registering a kernel being made (kernels._lock)
])
def test_a_signal_handler_that_evaluates_during_the_first_call_does_not_deadlock(tmp_path, where):
    environment = dict(os.environ, FUSENUM_CACHE_DIR=str(tmp_path / "kernels"), FUSENUM_TIERING="never")
    if where == "jit.link":  # the main thread links only what it loads from the disk cache: fill it first
        subprocess.run([sys.executable, "-c", _FILL], env=environment, check=True, timeout=120)
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_FIRST_CALL, *where.split(".")], env=environment,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


# A second signal, raised as an import executes the module named ``where`` (the module is then in
# sys.modules, partially initialized), runs the script's handler inside that import.
_INTERRUPT_IMPORT_OF_WHERE = r"""
class InterruptImport:
    def find_spec(self, name, path=None, target=None):
        if name != where:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        execute = spec.loader.exec_module
        def exec_module(module):  # (the module is in sys.modules, partially initialized)
            signal.raise_signal(signal.SIGALRM)
            execute(module)
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, InterruptImport())
"""

# The main thread imports the code generator only for a call it compiles itself: a signal handler's
# call made while it holds one of fusenum's locks. So a first handler's call (of ``b * 2 + 1``,
# big enough that ``auto`` waits for its kernel) compiles on the main thread, and a second signal,
# raised as that import executes the module named in argv[1], runs a second handler's call
# (argv[2]) inside the import.
_INTERRUPTED_IMPORT = r"""
import faulthandler, importlib.util, signal, sys
import numpy as np
import fusenum
from fusenum.runtime import kernels, tiering

faulthandler.dump_traceback_later(60, exit=True)
where, text = sys.argv[1], sys.argv[2]
a = np.linspace(0.5, 1.5, 1000)
b = np.linspace(0.5, 1.5, tiering.COMPILE_NOW_ELEMENTS)
texts = ["b * 2 + 1", text]
results, inside_import = {}, []

def handler(*_):
    mine = texts[len(inside_import)]
    generator = sys.modules.get("fusenum.codegen.modules")
    inside_import.append(where in sys.modules and not hasattr(generator, "kernel_module"))
    results[mine] = fusenum.evaluate(mine, {"b": b})

signal.signal(signal.SIGALRM, handler)

""" + _INTERRUPT_IMPORT_OF_WHERE + r"""
real = kernels._Pending
class Interrupting(real):  # the first signal: with kernels._lock held
    def __init__(self):
        kernels._Pending = real
        signal.raise_signal(signal.SIGALRM)
        super().__init__()
kernels._Pending = Interrupting
try:
    got = fusenum.evaluate("sin(a) + 3", {"a": a})
except fusenum.ReentrantCompileError as error:
    print(f"{type(error).__name__}: {error}")
    got = fusenum.evaluate("sin(a) + 3", {"a": a})  # the import, done again, ends this time
assert inside_import == [False, True], inside_import
fusenum.set_tiering("never")  # each expression's fused kernel, compiled now
np.testing.assert_array_equal(got, fusenum.evaluate("sin(a) + 3", {"a": a.copy()}))
for done, value in results.items():
    np.testing.assert_array_equal(value, fusenum.evaluate(done, {"b": b.copy()}))
print(sorted(results))
"""

# Puts tier 0's one-node kernels of sin and cos (not tan) in the disk cache.
_ONE_NODE_KERNELS = """
import numpy as np, fusenum
a = np.linspace(0.5, 1.5, 1000)
fusenum.evaluate("sin(a) + 3", {"a": a}), fusenum.evaluate("cos(a) * 3", {"a": a})
"""


def _interrupt_import(tmp_path, policy: str, where: str, text: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, FUSENUM_CACHE_DIR=str(tmp_path / "kernels"), FUSENUM_TIERING="always")
    subprocess.run([sys.executable, "-c", _ONE_NODE_KERNELS], env=environment, check=True, timeout=120)
    environment["FUSENUM_TIERING"] = policy
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_IMPORT, where, text], env=environment,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.parametrize("policy, where, text", [
    ("auto", "fusenum.codegen.modules", "cos(b) * 3"),  # tier 0, its one-node kernel from the disk cache
    ("auto", "fusenum.codegen.mathlib", "b * 3 - 1"),  # tier 0, NumPy's loops (deep in the import)
    ("auto", "fusenum.codegen.modules", "sum(cos(b))"),  # a reduction big enough to wait for its kernel
    ("never", "fusenum.codegen.modules", "cos(b) * 3"),
    ("never", "fusenum.codegen.mathlib", "b * 3 - 1"),
])
def test_a_signal_handler_that_evaluates_while_its_thread_imports_the_code_generator_gets_tier_0(
        tmp_path, policy, where, text):
    done = _interrupt_import(tmp_path, policy, where, text)
    assert done.stdout == f"{sorted(['b * 2 + 1', text])}\n"  # both handlers' results, no error


@pytest.mark.parametrize("policy", ["auto", "never"])
def test_a_signal_handler_that_would_compile_while_its_thread_imports_the_code_generator_raises(
        tmp_path, policy):
    # tan's one-node kernel is not at hand: tier 0 could serve only by compiling it
    done = _interrupt_import(tmp_path, policy, "fusenum.codegen.modules", "tan(b) * 3")
    # Raised in the second handler, it ends the import, and so the first handler's call, then the
    # first call; the next call imports the code generator again, and every result is as usual.
    error, results, _ = done.stdout.split("\n")
    assert error == ("ReentrantCompileError: fusenum cannot compile a kernel while this thread is importing "
                     "its code generator (a signal handler's call during the process's first compile): call "
                     "it from the handler once that import has ended, or have the kernels it needs compiled "
                     "beforehand")
    assert results == "[]"


# ``fusenum.explain`` imports the code generator to describe kernels, without compiling: a signal
# handler's call during that import must be served as during a compile's import: by tier 0, where
# the policy ``never`` would otherwise compile its kernel.
_INTERRUPTED_EXPLAIN = r"""
import faulthandler, importlib.util, signal, sys
import numpy as np
import fusenum

faulthandler.dump_traceback_later(60, exit=True)
where = "fusenum.codegen.modules"
b = np.linspace(0.5, 1.5, 1000)
results = []
signal.signal(signal.SIGALRM, lambda *_: results.append(fusenum.evaluate("b * 2 + 1", {"b": b})))

""" + _INTERRUPT_IMPORT_OF_WHERE + r"""
shown = fusenum.explain("sin(b) + 3", {"b": b})
assert "typed IR" in str(shown) and len(results) == 1
np.testing.assert_array_equal(results[0], fusenum.evaluate("b * 2 + 1", {"b": b.copy()}))
print(fusenum.cache_info().tier0_calls)
"""


def test_a_signal_handler_that_evaluates_while_explain_imports_the_code_generator_gets_tier_0(tmp_path):
    environment = dict(os.environ, FUSENUM_CACHE_DIR=str(tmp_path / "kernels"), FUSENUM_TIERING="never")
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_EXPLAIN], env=environment, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "1\n"  # the handler's call: interpreted


# A handler's call while the main thread is in the import system's search for a module (a finder's
# find_spec, under the global import lock), in a process's first compile under ``never``: the
# compile's thread imports the code generator, and would wait for that lock.
_INTERRUPTED_FIND_SPEC = r"""
import faulthandler, os, signal, sys
import numpy as np
import fusenum

faulthandler.dump_traceback_later(60, exit=True)
fusenum.set_tiering("never")
x = np.arange(1000.0)
results = []
signal.signal(signal.SIGALRM, lambda *_: results.append(fusenum.evaluate("x * 3 + 7", {"x": x})))

class Finder:
    def find_spec(self, name, path=None, target=None):
        if name == "a_module_nobody_has":
            signal.raise_signal(signal.SIGALRM)
        return None

sys.meta_path.insert(0, Finder())
try:
    import a_module_nobody_has
except ImportError:
    pass
assert results, "the signal handler did not run"
np.testing.assert_array_equal(results[0], x * 3 + 7)
np.testing.assert_array_equal(fusenum.evaluate("x * 3 + 7", {"x": x}), x * 3 + 7)
"""

# A handler's call while the main thread, under ``auto``, is in the background compiler's
# bookkeeping: here inside Event.set() of ``wanted``, holding that event's lock (not re-entrant).
_INTERRUPTED_BOOKKEEPING = r"""
import faulthandler, signal, threading
import numpy as np
import fusenum
from fusenum.runtime import tiering

faulthandler.dump_traceback_later(60, exit=True)
a = np.arange(5000.0)
results = []
# (the same expression: its kernel is queued and wanted, so the handler's call wants it too)
signal.signal(signal.SIGALRM, lambda *_: results.append(fusenum.evaluate("a * 2 + 1", {"a": a})))

class Interrupting(threading.Event):
    def set(self):  # the handler runs with the event's lock held, as a signal there would (once)
        if not results:
            with self._cond:
                signal.raise_signal(signal.SIGALRM)
        super().set()

tiering._compiler.wanted = Interrupting()
for _ in range(3):  # the third finds its kernel queued (the thread waits 2 ms before it starts)
    got = fusenum.evaluate("a * 2 + 1", {"a": a})
assert results, "the signal handler did not run"
np.testing.assert_array_equal(results[0], a * 2 + 1)
np.testing.assert_array_equal(got, a * 2 + 1)
"""


@pytest.mark.parametrize("script", [_INTERRUPTED_FIND_SPEC, _INTERRUPTED_BOOKKEEPING],
                         ids=["in an import's find_spec", "in the compiler's bookkeeping"])
def test_a_signal_handler_that_evaluates_where_nothing_compiles_does_not_deadlock(tmp_path, script):
    # (auto, where the tests run under never: the first script sets its policy itself)
    environment = dict(os.environ, FUSENUM_CACHE_DIR=str(tmp_path / "kernels"), FUSENUM_TIERING="auto")
    done = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
