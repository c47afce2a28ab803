"""``import fusenum``: what it loads, and the names it imports only when first used."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import fusenum

#: Modules a program that only evaluates strings never needs at import (the lazy front end, explain,
#: the dask graph builder, prebuild, the exit helper, the queues of the threads and the compiler).
_NOT_AT_IMPORT = ["fusenum.frontend.lazy", "fusenum.frontend.lazy_numpy", "fusenum.frontend.lazy_operators",
                  "fusenum.frontend.lazy_pickle", "fusenum.frontend.capture", "fusenum.frontend.explain",
                  "fusenum.frontend.forcing", "fusenum.frontend.dask_graph", "fusenum.runtime.prebuilt",
                  "fusenum.runtime.exit_compiles", "fusenum.runtime.exit_helper", "queue", "llvmlite", "dask"]


def _run(code: str, without: tuple[str, ...] = ()) -> str:
    env = {name: value for name, value in os.environ.items() if name not in without}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**env, "FUSENUM_TIERING": "auto"})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_loads_only_what_evaluating_needs():
    # (FUSENUM_COMPILE_AFTER_EXIT, which the tests set, is checked at import by the exit helper's module)
    loaded = _run(f"import sys, fusenum; print([m for m in {_NOT_AT_IMPORT!r} if m in sys.modules])",
                  without=("FUSENUM_COMPILE_AFTER_EXIT",))
    assert loaded.strip() == "[]"


def test_evaluating_with_a_kernel_on_disk_loads_no_lazy_front_end():
    fusenum.evaluate("a * 3 + 1", {"a": np.arange(10.0)})  # (FUSENUM_TIERING=never here: compiled, stored)
    loaded = _run("import sys, numpy as np, fusenum\n"
                  "assert (fusenum.evaluate('a * 3 + 1', {'a': np.arange(10.0)}) == np.arange(10.0) * 3 + 1).all()\n"
                  "assert fusenum.cache_info().disk_hits == 1\n"
                  f"print([m for m in {_NOT_AT_IMPORT[:9]!r} if m in sys.modules])")
    assert loaded.strip() == "[]"


def test_names_imported_on_first_use_are_there():
    code = ("import fusenum, numpy as np\n"
            "x = fusenum.lazy(np.arange(4.0))\n"
            "assert isinstance(x, fusenum.LazyArray)\n"
            "assert (np.asarray(np.sqrt(x) * 2) == np.sqrt(np.arange(4.0)) * 2).all()\n"
            "assert str(fusenum.explain(x + 1)).startswith('LazyArray.explain()')\n"
            "assert callable(fusenum.prebuild) and fusenum.PrebuildResult._fields\n"
            "assert set(fusenum.__all__) <= set(dir(fusenum))\n"
            "print('ok')")
    assert _run(code).strip() == "ok"
    namespace: dict = {}
    exec("from fusenum import *", namespace)
    assert set(fusenum.__all__) <= set(namespace)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="'fusenum' has no attribute 'lazzy'"):
        fusenum.lazzy  # noqa: B018


def test_an_unpickled_lazy_array_in_a_fresh_process_has_every_protocol():
    x = fusenum.lazy(np.arange(5.0)) * 2
    code = ("import pickle, sys, numpy as np\n"
            f"x = pickle.loads({pickle.dumps(x)!r})\n"
            "r = np.sqrt(x) + x  # a ufunc (lazy_numpy), an operator (lazy_operators)\n"
            "assert type(r).__name__ == 'LazyArray' and r._value is None, type(r)\n"
            "assert (np.asarray(r) == np.sqrt(np.arange(5.0) * 2) + np.arange(5.0) * 2).all()\n"
            "assert '= multiply(' in str(x.explain())\n"
            "assert (np.asarray(x[1:3]) == [2.0, 4.0]).all()\n"
            "print('ok')")
    assert _run(code).strip() == "ok"


@pytest.mark.parametrize("setting, message", [
    ("FUSENUM_SIMD=avx1024", "FUSENUM_SIMD='avx1024': not a SIMD level (choose one of scalar, sse2, avx2, avx512)"),
    ("FUSENUM_NUM_THREADS=two", "FUSENUM_NUM_THREADS must be a positive integer, not 'two'"),
    ("FUSENUM_NUMEXPR=maybe", "FUSENUM_NUMEXPR must be on (1) or off (0), not 'maybe'"),
])
@pytest.mark.parametrize("command, shown", [(["-m", "fusenum", "prebuild"], "fusenum"),
                                            (["-X", "utf8", "-mfusenum.numexpr", "x.py"], "fusenum.numexpr"),
                                            (["-m", "fusenum.demo"], "fusenum.demo")])
def test_a_bad_setting_ends_a_command_with_its_message_and_status_2(setting, message, command, shown, tmp_path):
    """As a bad argument does; imported by a program, the package raises the error (below)."""
    name, value = setting.split("=")
    done = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, name: value})
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"python -m {shown}: {message}\n")


def test_a_bad_setting_raises_in_a_program_that_imports_fusenum(tmp_path):
    script = tmp_path / "uses_fusenum.py"
    script.write_text("import fusenum\n")
    for command in (["-c", "import fusenum"], [str(script)], ["-m", "uses_fusenum"]):
        done = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=300,
                              cwd=tmp_path, env={**os.environ, "FUSENUM_SIMD": "avx1024"})
        assert done.returncode == 1 and "Traceback" in done.stderr, command
        assert done.stderr.endswith("fusenum.errors.TargetError: FUSENUM_SIMD='avx1024': not a SIMD level "
                                    "(choose one of scalar, sse2, avx2, avx512)\n")
