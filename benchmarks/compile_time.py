"""First-call (cold compile) time of 20 everyday expressions, disk cache off.

Each expression is evaluated once on 10,000 float64 elements in this process; between expressions
the background optimizer is drained so that each first call is timed alone. Prints each call's
wall time and CPU time of the calling thread (robust on a loaded machine), and their medians.
The calling thread compiles (``FUSENUM_TIERING=never`` unless set: no interpreter meanwhile).
Compare builds with ``FUSENUM_COMPILE=tiered`` (default) and ``optimized``:

    FUSENUM_CACHE=off python benchmarks/compile_time.py
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("FUSENUM_TIERING", "never")
import fusenum  # noqa: E402

EXPRESSIONS = [
    "a + b", "2*a + 3*b - c", "a * b + c", "sin(a)**2 + cos(b)**2", "where(a > b, a, c)",
    "sqrt(a**2 + b**2)", "exp(a) * log(b)", "a / (b + 1)", "abs(a - b)", "((0.25*a + 0.75)*a - 1.5)*a - 2",
    "tanh(a)", "arctan2(a, b)", "a**b", "(a > 0.5) & (b < 0.5)", "a * 1.5 + b * 2.5 + c * 3.5",
    "log1p(a) - expm1(b)", "maximum(a, b) - minimum(b, c)", "a**2 + b**2 + c**2", "cos(a) * b", "exp(-a*a)",
]


def main() -> None:
    try:
        from fusenum.runtime import background
        drain = background.wait
    except ImportError:  # a build without background optimizing
        def drain() -> bool:
            return True
    names = {name: np.random.default_rng(0).random(10_000) + 0.25 for name in "abc"}
    times, cpu = [], []
    for text in EXPRESSIONS:
        drain()
        start, start_cpu = time.perf_counter(), time.thread_time()
        fusenum.evaluate(text, local_dict=names)
        times.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
        print(f"{times[-1] * 1e3:8.2f} ms wall {cpu[-1] * 1e3:8.2f} ms cpu  {text}")
    drain()
    print(f"median {statistics.median(times) * 1e3:.2f} ms wall, {statistics.median(cpu) * 1e3:.2f} ms cpu; "
          f"max {max(times) * 1e3:.2f} ms wall")


if __name__ == "__main__":
    main()
