"""Thread scaling from 1 to all cores, fusenum next to the C OpenMP loop, round by round.

    python benchmarks/thread_scaling.py [--size 1e7] [--rounds 8] [--threads all]

A memory-bound loop scales with threads only as far as the memory system lets
it. On a shared virtual machine that limit moves: two virtual CPUs on separate
physical cores each get their own share of bandwidth, two that land on
hyperthreads of one core share one core's. So a single scaling figure says
little about the code. This script measures, in each round and within a
second of each other, the 1-thread and the all-thread time of fusenum and of
the same loop in C (``cc -O3 -march=native -fopenmp``, from
``benchmarks/report.py``) on the memory-bound expressions, and prints the
speed-up of both per round: where the C loop scales, fusenum should too.

Each timing is the best of a few calls writing into a preallocated ``out``;
after each contender the script pauses so that the thread pools that spin
between calls (OpenMP's and fusenum's) go to sleep before the next one runs.
"""
from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import fusenum  # noqa: E402

from benchmarks.compare import SPIN_PAUSE_SECONDS  # noqa: E402
from benchmarks.report import EXPRESSIONS, MEMORY_BOUND, build_c_reference  # noqa: E402


def best_of(fn, calls: int = 5) -> float:
    fn()
    best = float("inf")
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    time.sleep(SPIN_PAUSE_SECONDS)
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=lambda t: int(float(t)), default=10_000_000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", default="all", help="the thread count compared with 1, or 'all'")
    args = parser.parse_args(argv)
    many = fusenum.get_num_threads() if args.threads == "all" else int(args.threads)
    rng = np.random.default_rng(0)
    names = {k: rng.random(args.size) for k in "abc"}
    out = np.empty(args.size)
    pointers = [ctypes.c_void_p(names[k].ctypes.data) for k in "abc"] + [ctypes.c_void_p(out.ctypes.data)]
    with tempfile.TemporaryDirectory() as workdir:
        reference = build_c_reference("float64", Path(workdir))
        print(f"fusenum {fusenum.__version__} ({fusenum.get_simd()}), {args.size:,} float64, "
              f"speed-up from 1 to {many} threads (1-thread time / {many}-thread time)")
        print(f"{'round':>5}  " + "  ".join(f"{text:>24}" for text in MEMORY_BOUND))
        scaling = {"fusenum": [], "C": []}
        for round_number in range(args.rounds):
            cells, row = [], {"fusenum": [], "C": []}
            for text in MEMORY_BOUND:
                times = {}
                for threads in (1, many):
                    fusenum.set_num_threads(threads)
                    times["fusenum", threads] = best_of(lambda: fusenum.evaluate(text, local_dict=names, out=out))
                    if reference is not None:
                        reference.set_threads(threads)
                        function = getattr(reference, f"expr{list(EXPRESSIONS).index(text)}")
                        times["C", threads] = best_of(lambda: function(*pointers, ctypes.c_long(args.size)))
                ours = times["fusenum", 1] / times["fusenum", many]
                row["fusenum"].append(ours)
                cell = f"fusenum {ours:4.2f}x"
                if reference is not None:
                    theirs = times["C", 1] / times["C", many]
                    row["C"].append(theirs)
                    cell += f" C {theirs:4.2f}x"
                cells.append(f"{cell:>24}")
            print(f"{round_number:>5}  " + "  ".join(cells), flush=True)
            for who, values in row.items():
                if values:
                    scaling[who].append(statistics.geometric_mean(values))
        fusenum.set_num_threads(many)
    print("\ngeometric mean over the memory-bound set, per round:")
    for who, values in scaling.items():
        if values:
            print(f"  {who:8} median {statistics.median(values):.2f}x, best round {max(values):.2f}x, "
                  f"worst round {min(values):.2f}x")


if __name__ == "__main__":
    main()
