"""``python -m fusenum.numexpr script.py [args]`` (or ``-m module [args]``): run it with numexpr
replaced by fusenum.numexpr (:func:`fusenum.numexpr.install`), so pandas' ``eval``, ``query`` and
large-frame arithmetic run on fusenum with no change to the code."""
from __future__ import annotations

import importlib.util
import os
import runpy
import sys

from .drop_in import install

USAGE = "usage: python -m fusenum.numexpr (script.py | -m module) [arguments...]"


def main(argv: list[str]) -> int:
    """Run the script or module named in ``argv`` with fusenum.numexpr installed; 2 on bad usage."""
    if not argv or argv[0] in ("-h", "--help") or (argv[0] == "-m" and len(argv) < 2):
        print(USAGE, file=sys.stderr if argv[:1] not in (["-h"], ["--help"]) else sys.stdout)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    problem = _not_runnable(argv)
    if problem is not None:  # (one line and a status, as python itself gives: not runpy's traceback)
        message, status = problem
        print(f"python -m fusenum.numexpr: {message}", file=sys.stderr)
        return status
    install()
    if argv[0] == "-m":
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = argv
        if os.path.isfile(argv[0]):  # (python puts a script's folder first; run_path, a folder or zip itself)
            sys.path[0] = os.path.dirname(os.path.realpath(argv[0]))
        runpy.run_path(argv[0], run_name="__main__")
    return 0


def _not_runnable(argv: list[str]) -> tuple[str, int] | None:
    """Why python could not start what ``argv`` names, and its exit status; None if it can."""
    if argv[0] == "-m":
        # Only the top-level name: finding a submodule imports its parents, which must import
        # numexpr after install() (runpy reports a missing submodule itself).
        top = argv[1].partition(".")[0]
        try:
            found = importlib.util.find_spec(top) if top else None
        except (ImportError, ValueError):
            found = None
        return None if found is not None else (f"No module named {top or argv[1]!r}", 1)
    path = argv[0]
    if not os.path.exists(path):
        return f"can't open file {os.path.abspath(path)!r}: No such file or directory", 2
    if os.path.isdir(path) and not os.path.exists(os.path.join(path, "__main__.py")):
        return f"can't find '__main__' module in {path!r}", 1
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
