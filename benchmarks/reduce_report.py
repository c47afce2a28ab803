"""Fused reductions: fusenum vs NumPy vs numexpr vs a C OpenMP reduction loop, from one run.

    python benchmarks/reduce_report.py [--size 10000000] [--threads all]

Cases (float64, all threads unless ``--threads`` says otherwise):

* ``sum(a*b)`` on ``--size`` elements -- NumPy ``np.sum(a*b)`` (a temporary, then
  a second pass), numexpr ``sum(a*b)`` (numexpr runs reductions on one thread),
  and the C loop ``s += a[i]*b[i]`` with ``#pragma omp parallel for simd
  reduction(+:s)`` compiled ``-O3 -march=native -fopenmp``;
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
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numexpr
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import fusenum  # noqa: E402

from benchmarks.compare import best_times  # noqa: E402

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
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        return None
    source, library = workdir / "dot.c", workdir / "libdot.so"
    source.write_text(C_SOURCE)
    command = [compiler, "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", str(source), "-o", str(library)]
    if subprocess.run(command, capture_output=True).returncode != 0:
        return None
    lib = ctypes.CDLL(str(library))
    lib.dot.restype = ctypes.c_double
    lib.dot.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long]
    return lib


def dot_case(size: int, reference) -> dict:
    """``sum(a*b)`` on ``size`` float64 elements, by each contender."""
    rng = np.random.default_rng(1)
    names = {"a": rng.random(size), "b": rng.random(size)}
    a, b = names["a"], names["b"]
    dot = {
        "fusenum": lambda: fusenum.evaluate("sum(a*b)", local_dict=names),
        "numpy": lambda: np.sum(a * b),
        "numexpr": lambda: numexpr.evaluate("sum(a*b)", local_dict=names),
    }
    if reference is not None:
        dot["C"] = lambda: reference.dot(a.ctypes.data, b.ctypes.data, size)
    return dot


def cases(size: int, reference) -> dict:
    rng = np.random.default_rng(0)
    a = rng.random(size)
    side = math.isqrt(size)
    A = rng.random((side, side))
    n = a.size
    names = {"a": a, "A": A}
    return {
        f"sum(a*b), {size:,}": dot_case(size, reference),
        f"sum(A, axis=0), {side}x{side}": {
            "fusenum": lambda: fusenum.evaluate("sum(A, axis=0)", local_dict=names),
            "numpy": lambda: np.sum(A, axis=0),
            "numexpr": lambda: numexpr.evaluate("sum(A, axis=0)", local_dict=names),
        },
        f"sum(A, axis=1), {side}x{side}": {
            "fusenum": lambda: fusenum.evaluate("sum(A, axis=1)", local_dict=names),
            "numpy": lambda: np.sum(A, axis=1),
            "numexpr": lambda: numexpr.evaluate("sum(A, axis=1)", local_dict=names),
        },
        f"a - mean(a), {size:,}": {
            "fusenum": lambda: fusenum.evaluate("a - mean(a)", local_dict=names),
            "numpy": lambda: a - np.mean(a),
            "numexpr": lambda: numexpr.evaluate("a - m", local_dict={"a": a, "m": numexpr.evaluate("sum(a)", local_dict=names) / n}),
        },
        "sum(a*b), 1,000 (call cost)": dot_case(1000, reference),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=lambda t: int(float(t)), default=10_000_000)
    parser.add_argument("--threads", default="all", help="thread count, or 'all' (the default)")
    args = parser.parse_args(argv)
    threads = len(os.sched_getaffinity(0)) if args.threads == "all" else int(args.threads)
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
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-4 else f"{seconds * 1e6:.1f} µs"


if __name__ == "__main__":
    main()
