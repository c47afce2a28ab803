"""The math library's benchmark: fusenum / NumPy / numexpr per function, side by side.

    python benchmarks/math_report.py                 # 4M elements, float64 and float32, one thread
    python benchmarks/math_report.py --size 1000000 --dtypes float64 --repeat 11

Each function runs on the same arrays in all three (``a`` in [0.1, 4.1), ``b`` in
[-2, 2)), as an ordinary call that returns a new array. The runs are interleaved
and the best of the repeats is kept (:func:`benchmarks.compare.best_times`), so a
noisy neighbour slows all contenders alike. Printed: each time, fusenum's
speed-up over NumPy and over numexpr, and per dtype and overall the geometric
mean of the speed-ups and the slowest function.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numexpr
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import fusenum  # noqa: E402

from benchmarks.common import MATH, math_operands  # noqa: E402
from benchmarks.compare import _format, best_times  # noqa: E402


def measure(size: int, dtype: str, repeat: int, seconds: float) -> list[tuple[str, dict]]:
    names = math_operands(size, dtype)
    rows = []
    for text, with_numpy in MATH.items():
        with np.errstate(all="ignore"):
            times = best_times({
                "fusenum": lambda: fusenum.evaluate(text, local_dict=names),
                "numpy": lambda: with_numpy(**names),
                "numexpr": lambda: numexpr.evaluate(text, local_dict=names),
            }, seconds=seconds, repeat=repeat)
        rows.append((text, times))
    return rows


def _geomean(values) -> float:
    return statistics.geometric_mean(values)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=4_000_000)
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.0, help="rough time budget per contender")
    args = parser.parse_args(argv)
    fusenum.set_num_threads(1)
    numexpr.set_num_threads(1)
    print(f"fusenum {fusenum.__version__} ({fusenum.get_simd()}), NumPy {np.__version__}, numexpr "
          f"{numexpr.__version__}; one thread, {args.size:,} elements\n")
    header = (f"{'function':14} {'dtype':8} {'fusenum':>10} {'NumPy':>10} {'numexpr':>10}  "
              f"{'vs NumPy':>8} {'vs numexpr':>10}")
    print(header)
    print("-" * len(header))
    all_numpy, all_numexpr = [], []
    for dtype in args.dtypes.split(","):
        vs_numpy, vs_numexpr = [], []
        for text, t in measure(args.size, dtype, args.repeat, args.seconds):
            vs_numpy.append(t["numpy"] / t["fusenum"])
            vs_numexpr.append(t["numexpr"] / t["fusenum"])
            times = " ".join(_format(t[name]) for name in ("fusenum", "numpy", "numexpr"))
            print(f"{text:14} {dtype:8} {times}  {vs_numpy[-1]:7.2f}x {vs_numexpr[-1]:9.2f}x", flush=True)
        means = f"{_geomean(vs_numpy):7.2f}x {_geomean(vs_numexpr):9.2f}x"
        print(f"{'geometric mean':14} {dtype:8} {'':32}  {means}  "
              f"(slowest: {min(vs_numpy):.2f}x NumPy, {min(vs_numexpr):.2f}x numexpr)\n")
        all_numpy += vs_numpy
        all_numexpr += vs_numexpr
    print(f"overall: geometric mean {_geomean(all_numpy):.2f}x NumPy, {_geomean(all_numexpr):.2f}x numexpr; "
          f"slowest {min(all_numpy):.2f}x NumPy, {min(all_numexpr):.2f}x numexpr")


if __name__ == "__main__":
    main()
