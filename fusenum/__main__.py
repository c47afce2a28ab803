"""fusenum's commands.

* ``python -m fusenum prebuild [--dtypes float32,float64] [--simd LEVEL|all] [--threads N]``: compile
  the interpreter's one-node kernels into the disk cache, once per machine (:func:`fusenum.prebuild`).
* ``python -m fusenum ship [--into DIRECTORY] [--simd LEVEL] [--threads N]``: compile them into the
  archives shipped with the package (:mod:`fusenum.runtime.shipping`; building the package runs it).
"""
from __future__ import annotations

import argparse
import sys

import fusenum


def main(argv: list[str]) -> int:
    """Run the command in ``argv``; its exit status (argparse exits with 2 on bad usage)."""
    parser = argparse.ArgumentParser(prog="python -m fusenum", description="fusenum's commands")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser(
        "prebuild", help="compile the interpreter's one-node kernels into the disk cache",
        description="Compile every one-node kernel fusenum's interpreter may use into the disk cache, so that "
                    "no first call of a new expression compiles on its own thread. (Where the package ships "
                    "them for this machine's widest SIMD level, as pip install builds it, those serve already; "
                    "a prebuild serves other levels and vector-math modes.)")
    build.add_argument("--dtypes", help="comma-separated dtypes to cover (default: every dtype but bytes)")
    build.add_argument("--simd", action="append",
                       help="a SIMD level to build for, or 'all' (repeatable; default: the current level)")
    build.add_argument("--threads", type=_positive, help="compiles at once (default: fusenum.get_num_threads(), "
                                                         "at most the machine's cores)")
    ship = commands.add_parser(
        "ship", help="compile the interpreter's one-node kernels into the archives shipped with fusenum",
        description="Compile every one-node kernel fusenum's interpreter may use, for this machine's widest SIMD "
                    "level, into an archive that fusenum loads them from without LLVM. Building the package (pip "
                    "install) runs this into the package.")
    ship.add_argument("--into", help="the directory to write the archives to (default: the package's own, "
                                     "where fusenum is imported from)")
    ship.add_argument("--simd", action="append",
                      help="a SIMD level to build for, for machines whose widest level it is (repeatable; default: "
                           "this machine's widest)")
    ship.add_argument("--threads", type=_positive, help="compiles at once (default: the machine's cores)")
    args = parser.parse_args(argv)
    if args.command == "ship":
        return _ship(args)
    dtypes = None if args.dtypes is None else [name.strip() for name in args.dtypes.split(",") if name.strip()]
    simd = None if args.simd is None else "all" if "all" in args.simd else args.simd
    if simd == "all" and set(args.simd) != {"all"}:  # (a misspelled level must not pass unseen)
        parser.error(f"--simd all builds every level: no other level goes with it ({', '.join(args.simd)})")
    try:
        done = fusenum.prebuild(dtypes=dtypes, simd=simd, threads=args.threads)
    except (fusenum.FusenumError, TypeError) as exc:  # (np.dtype's own TypeError for an unknown name)
        print(f"python -m fusenum prebuild: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # the kernels stored so far stay; a later run finds them
        print("python -m fusenum prebuild: interrupted", file=sys.stderr)
        return 130
    print(f"{done.kernels} one-node kernels for {', '.join(done.simd)}: {done.compiled} compiled, "
          f"{done.found} already there, in {done.seconds:.1f} s; disk cache: {done.directory}")
    return 0


def _positive(text: str) -> int:
    """A count on the command line: a usage error (status 2) unless a positive integer."""
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"a positive integer, not {text!r}")
    return count


def _ship(args: argparse.Namespace) -> int:
    from fusenum.runtime import shipping
    try:
        written = shipping.ship(args.into, args.simd, args.threads)
    except (fusenum.FusenumError, OSError, TypeError) as exc:  # (TypeError: np.dtype's, for a bad name)
        print(f"python -m fusenum ship: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("python -m fusenum ship: interrupted", file=sys.stderr)
        return 130
    if not written:
        print("python -m fusenum ship: no kernels are shipped on this machine (not x86-64): they are compiled "
              "on first use")
    for done in written:
        print(f"{done.kernels} one-node kernels for {done.level} in {done.seconds:.1f} s: {done.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
