"""Fused reductions: fusenum vs NumPy vs numexpr vs a C OpenMP reduction loop, from one run.

    python benchmarks/reduce_report.py [--size 10000000] [--threads all]

Cases (float64, all threads unless ``--threads`` says otherwise):

* ``sum(a*b)`` on ``--size`` elements -- NumPy ``np.sum(a*b)`` (a temporary, then
  a second pass), numexpr ``sum(a*b)`` (numexpr runs reductions on one thread),
  and the C loop ``s += a[i]*b[i]`` with ``#pragma omp parallel for simd
  reduction(+:s)`` compiled ``-O3 -march=native -fopenmp`` (by
  :func:`benchmarks.report.compile_c`);
* ``sum(A, axis=0)`` and ``sum(A, axis=1)`` on a square array of about
  ``--size`` elements;
* ``a - mean(a)`` -- NumPy ``a - np.mean(a)``; numexpr needs two calls;
* ``sum(a*b)`` on 1,000 elements: the cost of a call with a cached kernel.

Each contender runs in a block of its own (the thread pools spin between
calls), best of several repeats. The table goes to stdout and to
``benchmarks/reduce_report.md``.
"""
from __future__ import annotations

import argparse
import ctypes
import math
import sys
import tempfile
from pathlib import Path

import numexpr
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import fusenum  # noqa: E402

from benchmarks.bench_reduce import NUMEXPR, REDUCTIONS  # noqa: E402
from benchmarks.compare import _format, best_times  # noqa: E402
from benchmarks.report import compile_c  # noqa: E402

C_SOURCE = """
#include <omp.h>
void set_threads(int n) { omp_set_num_threads(n); }
double dot(const double *restrict a, const double *restrict b, long n) {
  double s = 0.0;
  #pragma omp parallel for simd reduction(+:s) schedule(static)
  for (long i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}
"""


def build_c_reference(workdir: Path):
    """The C reduction loop as a ctypes library, or None without a C compiler with OpenMP."""
    lib = compile_c(C_SOURCE, workdir, "dot")
    if lib is None:
        return None
    lib.dot.restype = ctypes.c_double
    lib.dot.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long]
    return lib


def contenders(text: str, names: dict) -> dict:
    """``text`` on ``names`` by fusenum, NumPy and numexpr (the spellings of bench_reduce.py)."""
    with_numpy, with_numexpr = REDUCTIONS[text], NUMEXPR[text]
    return {
        "fusenum": lambda: fusenum.evaluate(text, local_dict=names),
        "numpy": lambda: with_numpy(**names),
        "numexpr": lambda: with_numexpr(names),
    }


def dot_case(size: int, reference) -> dict:
    """``sum(a*b)`` on ``size`` float64 elements, by each contender."""
    rng = np.random.default_rng(1)
    names = {"a": rng.random(size), "b": rng.random(size)}
    dot = contenders("sum(a*b)", names)
    if reference is not None:
        a, b = names["a"], names["b"]
        dot["C"] = lambda: reference.dot(a.ctypes.data, b.ctypes.data, size)
    return dot


def cases(size: int, reference) -> dict:
    rng = np.random.default_rng(0)
    side = math.isqrt(size)
    names = {"a": rng.random(size), "A": rng.random((side, side))}
    return {
        f"sum(a*b), {size:,}": dot_case(size, reference),
        f"sum(A, axis=0), {side}x{side}": contenders("sum(A, axis=0)", names),
        f"sum(A, axis=1), {side}x{side}": contenders("sum(A, axis=1)", names),
        f"a - mean(a), {size:,}": contenders("a - mean(a)", names),
        "sum(a*b), 1,000 (call cost)": dot_case(1000, reference),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=lambda t: int(float(t)), default=10_000_000)
    parser.add_argument("--threads", default="all", help="thread count, or 'all' (the default)")
    args = parser.parse_args(argv)
    threads = fusenum.get_num_threads() if args.threads == "all" else int(args.threads)
    fusenum.set_num_threads(threads)
    numexpr.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        reference = build_c_reference(Path(tmp))
        if reference is not None:
            reference.set_threads(threads)
        header = (f"fusenum {fusenum.__version__} ({fusenum.get_simd()}), NumPy {np.__version__}, "
                  f"numexpr {numexpr.__version__}; {threads} thread(s), float64")
        lines = [header, "", "| case | fusenum | NumPy | numexpr | C OpenMP | vs NumPy | vs numexpr | % of C |",
                 "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        print(header)
        for name, contenders in cases(args.size, reference).items():
            times = best_times(contenders, seconds=0.6, interleave=threads == 1)
            ours, c = times["fusenum"], times.get("C")
            of_c = f"{100 * c / ours:.0f}%" if c else "-"
            row = (f"| {name} | {_ms(ours)} | {_ms(times['numpy'])} | {_ms(times['numexpr'])} | "
                   f"{_ms(c) if c else '-'} | {times['numpy'] / ours:.2f}x | {times['numexpr'] / ours:.2f}x | "
                   f"{of_c} |")
            lines.append(row)
            print(row)
    (HERE / "reduce_report.md").write_text("\n".join(lines) + "\n")


def _ms(seconds: float) -> str:
    return _format(seconds).strip()


if __name__ == "__main__":
    main()
