"""pandas on numexpr, on fusenum.numexpr and on its own engine: first calls and repeated calls.

Four pandas operations that go through numexpr when it is installed, on frames of four float64
columns ``a, b, c, d`` (random, in [0, 1)):

* ``df.eval("a + b * c - d")`` and ``df.query("a > b and c < d")`` (``engine='numexpr'``, pandas'
  default, or ``engine='python'``);
* ``df ** 2`` and ``df1 + df2 * 3``: pandas hands a frame's arithmetic to ``numexpr.evaluate`` when
  the block has more than a million elements (``compute.use_numexpr``).

Contenders, each in its own fresh process (a child of this script) per operation and size:

* ``numexpr``: the real numexpr, as pandas uses it when installed;
* ``fusenum cold`` / ``fusenum warm``: ``fusenum.numexpr.install()`` before pandas is imported, so
  pandas' ``import numexpr`` is fusenum's; cold with ``FUSENUM_CACHE_DIR`` a new empty directory,
  warm in the next process with the same directory (its kernels on disk);
* ``python``: ``engine='python'`` for eval and query, and ``compute.use_numexpr`` off, so pandas
  computes everything with NumPy (for the arithmetic rows: pandas without numexpr).

Every child runs with glibc's allocator thresholds fixed (``MALLOC_MMAP_THRESHOLD_`` 32 MiB,
``MALLOC_TRIM_THRESHOLD_`` 64 MiB). By default glibc moves its mmap threshold as a process frees
memory, so whether pandas' copies of the columns (most of a 1M-row ``df.eval``) take fresh pages
from the kernel depends on what the process did before: the same ``df.eval`` at 300,000 rows took
5.5 ms or 12 ms per call in two processes with the same libraries, whichever library served it. Fixed
thresholds make the table compare the libraries; ``--default-malloc`` measures with glibc's defaults.

Each child times the first call of its operation, then ``--repeat`` more calls (the repeated
figure is their median; fusenum's comes from the warm process). It also times what of the first call
was spent inside ``numexpr.evaluate`` (a wrapper around it on the module, where pandas looks it up), so
that a second table splits each first call into the library's share and pandas' own. At 10M rows
pandas' own part of ``df.eval`` is mostly its five array copies of 80 MB and an 80 MB index, into fresh
pages, which took 40 ms in some processes and 110-230 ms in others, whichever library was installed:
system time, the kernel providing ~540 MB of fresh pages. On the development VM that depended on
what ran before: memory the machine had not used for a while took about four times as long to give
out, and in a fixed order of contenders one always came after pandas' python engine (the most memory).
So before each child this script touches 2 GiB of fresh memory and frees it (``--no-prefault``
does not): five 80 MB copies then took 49-58 ms in 11 processes of 12, against 48-234 ms without. Each child also hashes its result,
so the table says whether fusenum.numexpr's answer and numexpr's are NumPy's (pandas' python engine),
bit for bit. They need not agree with each other: pandas hands ``df ** 2`` to numexpr as ``a ** b``
with ``b`` a variable holding 2, which numexpr computes with the C library's ``pow`` (off by one
ULP in 33,811 of 40 million elements here), where NumPy and fusenum square. Thread counts are each
library's default.

Usage::

    python3 benchmarks/pandas_report.py [--sizes 1000000,10000000] [--repeat 7] [--rounds 3] [--quick]

Every contender's process is run ``--rounds`` times, the contenders in turn, and the table gives the
median over the rounds (processes cannot interleave calls: which numexpr pandas uses is fixed per
process). ``--quick`` (300,000 rows, 3 repeats, one round) is a smoke test: still over pandas' million-element
threshold for the arithmetic rows.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: glibc's allocator, fixed in every child (see the module's docstring); ``--default-malloc`` clears it.
FIXED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(64 << 20)}
OPERATIONS = ('df.eval("a + b * c - d")', 'df.query("a > b and c < d")', "df ** 2", "df1 + df2 * 3")
CONTENDERS = ("numexpr", "fusenum cold", "fusenum warm", "python")


def operation_call(name: str, engine: str):
    """``f(df1, df2)`` computing the operation called ``name`` with pandas' ``engine``."""
    return {
        OPERATIONS[0]: lambda df1, df2: df1.eval("a + b * c - d", engine=engine),
        OPERATIONS[1]: lambda df1, df2: df1.query("a > b and c < d", engine=engine),
        OPERATIONS[2]: lambda df1, df2: df1 ** 2,
        OPERATIONS[3]: lambda df1, df2: df1 + df2 * 3,
    }[name]


def import_pandas(contender: str):
    """pandas, on the numexpr ``contender`` names (fusenum's installed first)."""
    if contender.startswith("fusenum"):
        import fusenum.numexpr
        fusenum.numexpr.install()
    import pandas
    if contender == "python":
        pandas.set_option("compute.use_numexpr", False)
    return pandas


def engine(contender: str) -> str:
    return "python" if contender == "python" else "numexpr"


def two_frames(pandas, size: int) -> list:
    """Two frames of ``size`` rows and four float64 columns ``a, b, c, d`` (random, in [0, 1))."""
    import numpy as np
    rng = np.random.default_rng(0)
    return [pandas.DataFrame({name: rng.random(size) for name in "abcd"}) for _ in range(2)]


def child(contender: str, name: str, size: int, repeat: int) -> dict:
    """Run in a fresh process: the first call, then ``repeat`` calls; times in seconds."""
    pandas = import_pandas(contender)
    import numpy as np
    frames = two_frames(pandas, size)
    call = operation_call(name, engine(contender))
    in_library = _time_numexpr_calls(sys.modules.get("numexpr"))
    started = time.perf_counter()
    result = call(*frames)
    first = time.perf_counter() - started
    first_in_library = in_library[0]
    repeated = []
    for _ in range(repeat):
        started = time.perf_counter()
        call(*frames)
        repeated.append(time.perf_counter() - started)
    digest = hashlib.sha1(np.ascontiguousarray(result.to_numpy()).tobytes()).hexdigest()
    numexpr = sys.modules.get("numexpr")
    return {"first": first, "first_in_library": first_in_library, "repeated": repeated, "digest": digest,
            "numexpr": None if numexpr is None else f"{numexpr.__name__} {numexpr.__version__}"}


def _time_numexpr_calls(numexpr) -> list[float]:
    """A one-item list to which every later call of ``numexpr.evaluate`` adds its time (pandas looks
    the function up on the module at each call, so replacing it there catches all of them)."""
    spent = [0.0]
    if numexpr is None:
        return spent
    evaluate = numexpr.evaluate

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return evaluate(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started
    numexpr.evaluate = timed
    return spent


#: Bytes of memory this script touches and frees before each child (``--no-prefault``: none).
PREFAULT_BYTES = 2 << 30


def prefault() -> None:
    """Touch and free :data:`PREFAULT_BYTES` of fresh memory, so that the next child finds memory the
    machine has used recently, whatever ran before it (see the module's docstring)."""
    if PREFAULT_BYTES:
        import numpy as np
        np.ones(PREFAULT_BYTES // 8).sum()


def _run_child(contender: str, operation: str, size: int, repeat: int, cache_dir: str) -> dict:
    prefault()
    # The fusenum next to this script, not some installed one.
    path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, FUSENUM_CACHE_DIR=cache_dir, PYTHONPATH=path, **FIXED_MALLOC)
    done = subprocess.run([sys.executable, __file__, "--child", contender, "--operation", operation,
                           "--size", str(size), "--repeat", str(repeat)],
                          env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise RuntimeError(f"{contender} {operation} at {size:,} rows failed:\n{done.stderr}")
    if contender.startswith("fusenum"):  # its helper (compiles left at exit) finishes before the next process
        if ROOT not in sys.path:
            sys.path.insert(0, ROOT)
        from fusenum.runtime import exit_compiles
        exit_compiles.wait_for_helpers(cache_dir, timeout=600)
    return json.loads(done.stdout.splitlines()[-1])


def measure(operation: str, size: int, repeat: int, rounds: int) -> list[dict[str, dict]]:
    """``rounds`` rounds of every contender in its own fresh process, in turn (so a change in the
    machine's load falls on all of them); fusenum warm reuses its round's fusenum cold cache directory.
    Each round starts one contender later than the one before: which process comes first after a
    big one exits decides how fast the kernel hands it fresh pages (see the module's docstring)."""
    units = [("numexpr",), ("fusenum cold", "fusenum warm"), ("python",)]  # (warm runs right after cold)
    runs = []
    for number in range(rounds):
        turn = [c for unit in units[number % len(units):] + units[:number % len(units)] for c in unit]
        with tempfile.TemporaryDirectory(prefix="fusenum-pandas-") as cache_dir:
            runs.append({contender: _run_child(contender, operation, size, repeat, cache_dir)
                         for contender in turn})
    return runs


def _row(operation: str, size: int, rounds: list[dict[str, dict]]) -> str:
    """Medians over the rounds: of the first calls, and of each process's median repeated call."""
    def over_rounds(contender: str, figure) -> float:
        return statistics.median(figure(runs[contender]) for runs in rounds) * 1e3

    first = [over_rounds(c, lambda run: run["first"]) for c in CONTENDERS]
    repeated = [over_rounds(c, lambda run: statistics.median(run["repeated"]))
                for c in ("numexpr", "fusenum warm", "python")]
    def same_as_numpy(contenders) -> str:
        return "yes" if all(runs[c]["digest"] == runs["python"]["digest"] for runs in rounds for c in contenders) \
            else "NO"
    cells = [f"{t:,.1f}" for t in first + repeated] + [f"{repeated[0] / repeated[1]:.2f}x",
                                                        same_as_numpy(("fusenum cold", "fusenum warm")),
                                                        same_as_numpy(("numexpr",))]
    return f"| `{operation}` | {size:,} | " + " | ".join(cells) + " |"


def _library_row(operation: str, size: int, rounds: list[dict[str, dict]]) -> str:
    """Medians over the rounds of the first call's time inside ``numexpr.evaluate``, and of the rest."""
    cells = []
    for contender in ("numexpr", "fusenum cold", "fusenum warm"):
        inside = statistics.median(runs[contender]["first_in_library"] for runs in rounds) * 1e3
        rest = statistics.median(runs[contender]["first"] - runs[contender]["first_in_library"]
                                 for runs in rounds)
        cells += [f"{inside:,.1f}", f"{rest * 1e3:,.1f}"]
    return f"| `{operation}` | {size:,} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated row counts")
    parser.add_argument("--repeat", type=int, default=7, help="calls after the first (their median is reported)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="fresh processes per contender, taken in turn (the median over them is reported)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 300,000 rows, 3 repeats, 1 round")
    parser.add_argument("--no-prefault", action="store_true",
                        help="do not touch 2 GiB of fresh memory before each child")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's allocator thresholds at their defaults in the children")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--operation", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.operation, args.size, args.repeat)))
        return
    if args.default_malloc:
        FIXED_MALLOC.clear()
    if args.no_prefault:
        global PREFAULT_BYTES
        PREFAULT_BYTES = 0
    sizes, repeat, rounds = (([300_000], 3, 1) if args.quick else
                             ([int(s) for s in args.sizes.split(",")], args.repeat, args.rounds))
    print(f"pandas, four float64 columns; first call in a fresh process, then the median of {repeat} "
          f"repeated calls; the median over {rounds} such processes per contender, taken in turn; "
          f"times in ms; allocator: {FIXED_MALLOC or 'glibc defaults'}\n")
    print("| operation | rows | first: numexpr | first: fusenum cold | first: fusenum warm | first: python "
          "| repeated: numexpr | repeated: fusenum | repeated: python | numexpr / fusenum | fusenum = NumPy | numexpr = NumPy |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | :---: |")
    modules, library_rows = {}, []
    for size in sizes:
        for operation in OPERATIONS:
            rounds_run = measure(operation, size, repeat, rounds)
            modules.update({c: rounds_run[0][c]["numexpr"] for c in CONTENDERS})
            print(_row(operation, size, rounds_run), flush=True)
            library_rows.append(_library_row(operation, size, rounds_run))
    print(f"\nthe numexpr module pandas used: {modules}")
    print("\nThe same first calls split: the time inside `numexpr.evaluate` (the library pandas called), "
          "and the rest (pandas' own work around it); medians over the rounds, ms\n")
    print("| operation | rows | numexpr: inside | numexpr: rest | fusenum cold: inside | fusenum cold: rest "
          "| fusenum warm: inside | fusenum warm: rest |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(library_rows))


if __name__ == "__main__":
    main()
