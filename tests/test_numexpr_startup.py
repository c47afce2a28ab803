"""``fusenum-numexpr.pth`` and ``_fusenum_numexpr``: ``FUSENUM_NUMEXPR=1`` alone makes every new
Python process's ``import numexpr`` give fusenum.numexpr.

Where fusenum is installed from a wheel (CI), the start-up file is in site-packages and the child
processes here are plain ones. In a development tree installed in editable mode it is not, so each
child gets it the way site-packages would give it: ``site.addsitedir`` of a directory holding a copy,
from a ``sitecustomize`` on ``PYTHONPATH`` (which children of children inherit too).
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STARTUP_FILE = "fusenum-numexpr.pth"
INSTALLED = os.path.exists(os.path.join(sysconfig.get_paths()["purelib"], STARTUP_FILE))


@pytest.fixture(scope="module")
def startup_path(tmp_path_factory) -> str:
    """The ``PYTHONPATH`` under which a new process reads the start-up file."""
    if INSTALLED:
        return os.environ.get("PYTHONPATH", "")
    site_dir = tmp_path_factory.mktemp("site")
    shutil.copyfile(os.path.join(ROOT, STARTUP_FILE), site_dir / STARTUP_FILE)
    (site_dir / "sitecustomize.py").write_text(f"import site\nsite.addsitedir({str(site_dir)!r})\n")
    return os.pathsep.join([str(site_dir), ROOT])


def _run(code: str, startup_path: str, switch: str | None) -> str:
    env = {name: value for name, value in os.environ.items() if name != "FUSENUM_NUMEXPR"}
    env["PYTHONPATH"] = startup_path
    if switch is not None:
        env["FUSENUM_NUMEXPR"] = switch
    with tempfile.TemporaryDirectory() as elsewhere:  # (not a checkout's directory: the installed package)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                              env=env, cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("switch", ["1", "on", " Yes ", "TRUE"])
def test_pandas_gets_fusenum_numexpr_from_the_variable_alone(startup_path, switch):
    pytest.importorskip("pandas")
    out = _run("import sys\n"
               "loaded = [m for m in ('numpy', 'fusenum') if m in sys.modules]\n"
               "import pandas as pd, numpy as np, numexpr\n"
               "from pandas.core.computation import check, expressions\n"
               "df = pd.DataFrame({'a': np.arange(5.0), 'b': np.ones(5)})\n"
               "assert (df.eval('a * 2 + b', engine='numexpr') == df.a * 2 + df.b).all()\n"
               "print(loaded, numexpr.__name__, check.ne is numexpr, expressions.ne is numexpr)",
               startup_path, switch)
    # (nothing is imported at start-up: numpy and fusenum come with the first import of numexpr)
    assert out == "[] fusenum.numexpr True True"


@pytest.mark.parametrize("switch", [None, "", "0", "off", "No", "false"])
def test_without_the_variable_numexpr_is_numexpr_and_nothing_is_imported(startup_path, switch):
    pytest.importorskip("numexpr")
    out = _run("import sys\n"
               "loaded = [m for m in ('_fusenum_numexpr', 'numpy', 'fusenum') if m in sys.modules]\n"
               "import numexpr\n"
               "print(loaded, numexpr.__name__, 'fusenum' in sys.modules)", startup_path, switch)
    assert out == "[] numexpr False"


def test_spawned_and_forkserver_processes_get_it_too(startup_path, tmp_path):
    script = tmp_path / "pool.py"  # (a spawned child imports the parent's main module by its file)
    script.write_text("import multiprocessing\n"
                      "def name(_):\n"
                      "    import numexpr\n"
                      "    return numexpr.__name__\n"
                      "if __name__ == '__main__':\n"
                      "    for how in ('spawn', 'forkserver'):\n"
                      "        with multiprocessing.get_context(how).Pool(1) as pool:\n"
                      "            print(pool.map(name, [0])[0])\n")
    out = _run(f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')", startup_path, "1")
    assert out.split() == ["fusenum.numexpr", "fusenum.numexpr"]


def test_asking_whether_numexpr_is_there_does_not_disarm_it(startup_path):
    out = _run("import importlib.util, sys\n"
               "found = importlib.util.find_spec('numexpr') is not None\n"
               "import numexpr\n"
               "print(found, 'fusenum' in sys.modules, numexpr.__name__)", startup_path, "1")
    assert out == "True True fusenum.numexpr"


def test_a_submodule_imported_first_is_fusenums(startup_path):
    out = _run("from numexpr.expressions import ConstantNode\n"
               "import numexpr\n"
               "print(ConstantNode.__module__, numexpr.__name__)", startup_path, "1")
    assert out == "fusenum.numexpr.expressions fusenum.numexpr"


@pytest.mark.parametrize("first", ["import numexpr, fusenum.numexpr", "import fusenum, numexpr"],
                         ids=["numexpr first", "fusenum first"])
def test_uninstall_gives_back_the_real_numexpr(startup_path, first):
    pytest.importorskip("numexpr")
    out = _run(f"{first}\n"
               "assert numexpr is fusenum.numexpr\n"
               "fusenum.numexpr.uninstall()\n"
               "import numexpr\n"
               "print(numexpr.__name__, numexpr.evaluate('1 + a', {'a': 1.0}))", startup_path, "1")
    assert out == "numexpr 2.0"


def test_an_invalid_value_is_fusenums_error_at_import_numexpr(startup_path):
    out = _run("import sys\n"
               "print('fusenum' in sys.modules)\n"
               "try:\n"
               "    import numexpr\n"
               "except ValueError as exc:\n"
               "    print(type(exc).__name__, exc)\n", startup_path, "maybe")
    assert out.splitlines() == ["False", "ConfigurationError FUSENUM_NUMEXPR must be on (1) or off (0), not 'maybe'"]
