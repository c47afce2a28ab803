"""The look-ahead ``import fusenum`` starts (:mod:`fusenum.runtime.prefetch`): the host's record and the
sources' digest read on the background thread before the first call, and nothing where there is
nothing to read."""
import os
import subprocess
import sys

import pytest

from fusenum.codegen import target
from fusenum.runtime import host_record

_AFTER_IMPORT = """
import os, sys
import fusenum
from fusenum.codegen import target
from fusenum.runtime import background, sources_digest
started = background._state["thread"] is not None
background.wait()
print(started, target.host_described(), sources_digest.sources_digest.cache_info().currsize,
      target.llvm_ready(), "llvmlite" in sys.modules, os.path.isdir(os.environ["FUSENUM_CACHE_DIR"]))
"""

_FILL = "import numpy as np, fusenum; a = np.arange(10.0); fusenum.evaluate('a * 3 - 1')"


def _run(code: str, **env: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "FUSENUM_TIERING": "never", **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_import_reads_the_host_record_ahead_of_the_first_call_without_llvm(tmp_path):
    directory = str(tmp_path / "cache")
    _run(_FILL, FUSENUM_CACHE_DIR=directory)  # compiles: stores a kernel and the host's record
    assert _run(_AFTER_IMPORT, FUSENUM_CACHE_DIR=directory) == ["True", "True", "1", "False", "False", "True"]


@pytest.mark.parametrize("case", ["empty", "missing", "off"])
def test_import_reads_nothing_where_there_is_nothing_to_read(tmp_path, case):
    directory = tmp_path / "cache"
    if case == "empty":
        directory.mkdir(mode=0o700)
    env = {"FUSENUM_CACHE_DIR": str(directory), **({"FUSENUM_CACHE": "off"} if case == "off" else {})}
    started, described, digested, llvm, llvmlite, exists = _run(_AFTER_IMPORT, **env)
    assert (described, digested, llvm, llvmlite) == ("False", "0", "False", "False")
    assert started == str(case == "empty")  # a missing directory is not created at import, nor looked in
    assert exists == str(case == "empty")


def test_import_does_not_warn_about_an_unfit_directory(tmp_path):
    """The first call decides about the directory and warns, as before: not the import's thread."""
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o777)
    os.chmod(directory, 0o777)
    result = subprocess.run([sys.executable, "-W", "error", "-c", "import fusenum; print('ok')"], timeout=600,
                            capture_output=True, text=True, env={**os.environ, "FUSENUM_CACHE_DIR": str(directory)})
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "ok", "")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_child_forked_during_a_recall_looks_again(monkeypatch):
    """A fork while the look-ahead is recalling leaves the child marked as recalled with no host
    described: the child must look for the record again, not load LLVM to describe the host."""
    monkeypatch.setitem(host_record._state, "recalled", True)
    monkeypatch.setattr(target, "host_described", lambda: False)  # (as in a process that has not asked LLVM)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, and leave at once
        os.close(read)
        os.write(write, b"%d" % host_record._state["recalled"])
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        reported = pipe.read()
    os.waitpid(pid, 0)
    assert reported == b"0"
    assert host_record._state["recalled"]  # (the parent's stays)
