"""Lazy arrays vs NumPy eager vs numexpr: peak memory, time, capture overhead, from one run.

    python benchmarks/lazy_report.py [--size 10000000] [--threads 1]

1. Peak memory forcing a six-operation expression on float64 arrays of
   ``--size`` elements, in units of one array's size, measured two ways:

   * tracemalloc: NumPy reports every array buffer to tracemalloc, so the peak
     of traced memory during the call, minus what was traced before it, is the
     memory the call allocated at its worst moment (result included);
   * RSS: each contender runs once in a fresh subprocess (Linux); the peak
     resident size during the call (``VmHWM`` in /proc/self/status, restarted
     just before it) minus the resident size before it is what the operating
     system saw -- the quantity asv's ``peakmem_`` reports, without the inputs.
     Kernels are compiled before the measurement.

2. Time of the same expression (best of interleaved runs, as in compare.py).
3. Capture overhead: ``lazy(a) + lazy(b) * lazy(c)`` built and forced on 1000
   elements with warm caches, next to ``fusenum.evaluate`` and numexpr.
4. Differences of neighbours, ``y[1:] - y[:-1]`` of ``y = 2*a + b*c``: lazy (the slices captured,
   one fused pass), lazy with ``y`` computed first (what slicing did before it was captured),
   NumPy, and numexpr given the slices as operands.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numexpr
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import fusenum  # noqa: E402

from benchmarks.common import (NEIGHBOUR_DIFFERENCES, SIX_OPERATIONS, neighbour_differences,  # noqa: E402
                               neighbour_operands, operands, six_operations)
from benchmarks.compare import _format, best_times  # noqa: E402


def contenders(names: dict) -> dict:
    """The same six operations three ways, each returning an ndarray."""
    lazy_names = {name: fusenum.lazy(a) for name, a in names.items()}
    return {
        "lazy": lambda: np.asarray(six_operations(**lazy_names)),
        "NumPy": lambda: six_operations(**names),
        "numexpr": lambda: numexpr.evaluate(SIX_OPERATIONS, local_dict=names),
    }


def traced_peak(fn) -> int:
    """Bytes allocated (as tracemalloc sees them) at the worst moment of ``fn()``."""
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak - before


def rss_peak(contender: str, size: int, threads: int) -> int:
    """Increase of peak RSS in bytes while ``contender`` runs once, in a fresh process."""
    output = subprocess.run([sys.executable, __file__, "--rss-child", contender, "--size", str(size),
                             "--threads", str(threads)], check=True, capture_output=True, text=True,
                            env=dict(os.environ, FUSENUM_COMPILE_AFTER_EXIT="off")).stdout
    return int(output.split()[-1])


def _rss_child(contender: str, size: int) -> None:
    contenders(operands(1000))[contender]()  # compile the kernel for these dtypes and layouts
    fn = contenders(operands(size))[contender]
    before = _status_bytes("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # restart the peak (VmHWM) from the current RSS
    fn()
    print(_status_bytes("VmHWM") - before)


def _status_bytes(field: str) -> int:
    """A memory figure of this process from /proc/self/status (Linux), in bytes.

    (``getrusage``'s ``ru_maxrss`` will not do: a child starts with its parent's peak.)
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--threads", type=int, default=1, help="numexpr threads")
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    numexpr.set_num_threads(args.threads)
    if args.rss_child:
        _rss_child(args.rss_child, args.size)
        return

    print(f"fusenum {fusenum.__version__} ({fusenum.get_simd()}), NumPy {np.__version__}, numexpr "
          f"{numexpr.__version__} ({args.threads} thread{'s' if args.threads > 1 else ''})")
    names = operands(args.size)
    one_array = names["a"].nbytes
    runs = contenders(names)
    times = best_times(runs, seconds=1.0, repeat=5)

    print(f"\nExpression {SIX_OPERATIONS!r} (6 operations) on {args.size:,} float64 "
          f"(one array = {one_array / 1e6:.0f} MB)\n")
    header = f"{'':10} {'peak (tracemalloc)':>19} {'peak (RSS)':>12} {'time':>11} {'time vs lazy':>13}"
    print(header)
    print("-" * len(header))
    for name, fn in runs.items():
        traced = traced_peak(fn) / one_array
        rss = rss_peak(name, args.size, args.threads) / one_array
        print(f"{name:10} {traced:17.2f}x {rss:11.2f}x {_format(times[name]):>11} "
              f"{times[name] / times['lazy']:12.2f}x")

    a, b, c = operands(1000).values()
    lazy = fusenum.lazy
    small = {"a": a, "b": b, "c": c}
    overhead = best_times({
        "lazy(a) + lazy(b) * lazy(c), forced": lambda: np.asarray(lazy(a) + lazy(b) * lazy(c)),
        "fusenum.evaluate('a+b*c')": lambda: fusenum.evaluate("a+b*c", local_dict=small),
        "numexpr.evaluate('a+b*c')": lambda: numexpr.evaluate("a+b*c", local_dict=small),
        "NumPy a + b * c": lambda: a + b * c,
    })
    print("\nCapture overhead: 1000 float64, warm caches\n")
    for name, seconds in overhead.items():
        print(f"{name:38} {_format(seconds)}")

    lazy_names = {name: lazy(a) for name, a in names.items()}
    sliced = neighbour_operands(names)

    def forced_first():
        y = (2 * lazy_names["a"] + lazy_names["b"] * lazy_names["c"]).compute()
        return y[1:] - y[:-1]
    neighbours = best_times({
        "lazy, slices captured": lambda: np.asarray(neighbour_differences(**lazy_names)),
        "lazy, y computed first": forced_first,
        "NumPy": lambda: neighbour_differences(**names),
        "numexpr, slices as operands": lambda: numexpr.evaluate(NEIGHBOUR_DIFFERENCES, local_dict=sliced),
    }, seconds=1.0, repeat=5)
    print(f"\nDifferences of neighbours, y[1:] - y[:-1] of y = 2*a + b*c, {args.size:,} float64\n")
    for name, seconds in neighbours.items():
        print(f"{name:30} {_format(seconds):>11} {seconds / neighbours['lazy, slices captured']:6.2f}x")


if __name__ == "__main__":
    main()
