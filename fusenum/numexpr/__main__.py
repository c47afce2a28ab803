"""``python -m fusenum.numexpr script.py [args]`` (or ``-m module [args]``): run it with numexpr
replaced by fusenum.numexpr (:func:`fusenum.numexpr.install`), so pandas' ``eval``, ``query`` and
large-frame arithmetic run on fusenum with no change to the code."""
from __future__ import annotations

import runpy
import sys

from .drop_in import install

USAGE = "usage: python -m fusenum.numexpr (script.py | -m module) [arguments...]"


def main(argv: list[str]) -> int:
    """Run the script or module named in ``argv`` with fusenum.numexpr installed; 2 on bad usage."""
    if not argv or argv[0] in ("-h", "--help") or (argv[0] == "-m" and len(argv) < 2):
        print(USAGE, file=sys.stderr if argv[:1] not in (["-h"], ["--help"]) else sys.stdout)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    install()
    if argv[0] == "-m":
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = argv
        runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
