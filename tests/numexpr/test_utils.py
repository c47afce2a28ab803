"""``fusenum.numexpr.utils`` and ``_init_num_threads``: numexpr's thread calls by numexpr's names and rules."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fusenum.numexpr as ne
from fusenum.numexpr import utils

pytest.importorskip("numexpr")
ROOT = Path(__file__).resolve().parents[2]
_THREAD_VARIABLES = ("NUMEXPR_NUM_THREADS", "OMP_NUM_THREADS", "NUMEXPR_MAX_THREADS", "FUSENUM_NUM_THREADS")


def _init_num_threads_in(module: str, **env) -> str:
    """What ``_init_num_threads()`` returns and the thread count after it, with ``env`` set after the
    import (as numexpr's tests set it); or the exception's type."""
    script = (f"import os, warnings, {module} as ne\n"
              "warnings.simplefilter('ignore')\n"
              f"os.environ.update({env!r})\n"
              "try:\n    print(ne._init_num_threads(), ne.get_num_threads())\n"
              "except Exception as error:\n    print(type(error).__name__)")
    environment = {name: value for name, value in os.environ.items() if name not in _THREAD_VARIABLES}
    environment["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("env", [
    {}, {"OMP_NUM_THREADS": "5"}, {"OMP_NUM_THREADS": "5", "NUMEXPR_NUM_THREADS": "3"},
    {"OMP_NUM_THREADS": ""}, {"NUMEXPR_MAX_THREADS": ""}, {"NUMEXPR_MAX_THREADS": "3"},
    {"NUMEXPR_NUM_THREADS": "100"}, {"NUMEXPR_NUM_THREADS": "abc"}, {"OMP_NUM_THREADS": "2,1"},
])
def test_init_num_threads_follows_numexprs_rules(env):
    assert _init_num_threads_in("fusenum.numexpr", **env) == _init_num_threads_in("numexpr", **env)


@pytest.mark.parametrize("value", ["x", "0", "-2"])
def test_init_num_threads_ignores_a_numexpr_max_threads_that_is_not_a_positive_number(value):
    """numexpr then reports 0 or -2 threads and runs one; fusenum.numexpr keeps its bound of 64 and
    takes the variable as unset: the processors online, at most 16 (not 64 threads on 2 cores)."""
    cores = min(ne.detect_number_of_cores(), 16)
    assert _init_num_threads_in("fusenum.numexpr", NUMEXPR_MAX_THREADS=value) == f"{cores} {cores}"


def test_utils_has_numexprs_public_calls():
    import numexpr.utils as real_utils

    for name in ("set_num_threads", "get_num_threads", "detect_number_of_cores", "detect_number_of_threads",
                 "get_vml_version", "set_vml_accuracy_mode", "set_vml_num_threads", "get_vml_num_threads",
                 "_init_num_threads", "MAX_THREADS", "use_vml"):
        assert hasattr(real_utils, name), name
        assert getattr(utils, name) is getattr(ne, name) or name in ("get_vml_num_threads",), name
    assert ne.utils is utils and ne._init_num_threads is utils._init_num_threads
    assert utils.set_vml_num_threads(3) is None and utils.get_vml_num_threads() is None
    assert utils.version is ne.version


def test_numexprs_utils_internals_are_named_as_not_provided():
    import numexpr.utils as real_utils

    for name in utils.NOT_PROVIDED:
        assert hasattr(real_utils, name), name
        with pytest.raises(AttributeError, match=f"does not provide numexpr's '{name}'"):
            getattr(utils, name)
