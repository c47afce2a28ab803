"""fusenum vs NumPy vs numexpr, side by side, measured in one process.

    python benchmarks/compare.py [--sizes 10,1000,1000000] [--dtype float64] [--threads 1]

Each contender runs the same expression on the same arrays; the runs are
interleaved (one timing of each, then again) and the best of the repeats is
kept, so a noisy neighbour slows all contenders alike. Ratios are the point:
absolute times depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numexpr
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import fusenum  # noqa: E402

from benchmarks.common import EXPRESSIONS, operands  # noqa: E402

#: Pause before timing a contender after another: longer than the spin of OpenMP's, numexpr's and
#: fusenum's thread pools before their threads go to sleep.
SPIN_PAUSE_SECONDS = 0.05


def best_times(contenders: dict, seconds: float = 0.3, repeat: int = 7, interleave: bool = True) -> dict:
    """Best per-call time of each contender.

    Interleaved (the default), one timing of each contender follows the other,
    so slow phases of a noisy machine hit all alike. With ``interleave=False``
    each contender runs a few repeats back to back after a pause, in four
    rounds: needed for multi-threaded contenders, whose thread pools spin
    between calls (OpenMP's, numexpr's, fusenum's) and would otherwise fight
    over the cores. Several short rounds rather than two long ones, because the
    bandwidth a shared machine gives two threads changes over seconds: each
    contender should get a turn in each phase.
    """
    loops = {}
    for name, fn in contenders.items():
        fn()  # warm up (and compile)
        count, elapsed = 1, 0.0
        while elapsed < seconds / repeat / 4:
            start = time.perf_counter()
            for _ in range(count):
                fn()
            elapsed = time.perf_counter() - start
            count *= 2
        loops[name] = max(1, count // 2)
    best = {name: float("inf") for name in contenders}

    def timed(name, fn):
        start = time.perf_counter()
        for _ in range(loops[name]):
            fn()
        best[name] = min(best[name], (time.perf_counter() - start) / loops[name])

    if interleave:
        for _ in range(repeat):
            for name, fn in contenders.items():
                timed(name, fn)
    else:
        for _ in range(4):
            for name, fn in contenders.items():
                time.sleep(SPIN_PAUSE_SECONDS)  # let the previous contender's spinning threads go to sleep
                fn()
                for _ in range(max(2, repeat // 2)):
                    timed(name, fn)
    return best


def _format(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:7.2f} {unit}"
    return f"{seconds / 1e-9:7.0f} ns"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,1000,1000000")
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--threads", type=int, default=1, help="numexpr threads")
    args = parser.parse_args(argv)
    numexpr.set_num_threads(args.threads)
    print(f"fusenum {fusenum.__version__} ({fusenum.get_simd()}), NumPy {np.__version__}, "
          f"numexpr {numexpr.__version__} ({args.threads} thread{'s' if args.threads > 1 else ''}), "
          f"{args.dtype}\n")
    header = f"{'expression':26} {'size':>9}  {'fusenum':>10} {'NumPy':>10} {'numexpr':>10}  " \
             f"{'vs NumPy':>8} {'vs numexpr':>10}"
    print(header)
    print("-" * len(header))
    for size in (int(s) for s in args.sizes.split(",")):
        names = operands(size, args.dtype)
        for text, with_numpy in EXPRESSIONS.items():
            t = best_times({
                "fusenum": lambda: fusenum.evaluate(text, local_dict=names),
                "numpy": lambda: with_numpy(**names),
                "numexpr": lambda: numexpr.evaluate(text, local_dict=names),
            })
            print(f"{text:26} {size:>9}  {_format(t['fusenum'])} {_format(t['numpy'])} "
                  f"{_format(t['numexpr'])}  {t['numpy'] / t['fusenum']:7.2f}x {t['numexpr'] / t['fusenum']:9.2f}x")


if __name__ == "__main__":
    main()
