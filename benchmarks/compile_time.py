"""First-call (cold compile) time of 20 everyday expressions, disk cache off.

Each expression is evaluated once on 10,000 float64 elements in this process; between expressions
the background optimizer is drained so that each first call is timed alone. Prints each call's
wall time, the CPU time of the thread that made its kernel (robust on a loaded machine: the main
thread hands a compile to a helper thread and waits) and the part of it spent building and printing
the LLVM IR, and their medians. ``FUSENUM_TIERING=never`` unless set: no interpreter meanwhile.
Compare builds with ``FUSENUM_COMPILE=tiered`` (default) and ``optimized``:

    FUSENUM_CACHE=off python benchmarks/compile_time.py
"""
from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if __name__ == "__main__":  # (asv imports every module here: its benchmarks must not inherit it)
    os.environ.setdefault("FUSENUM_TIERING", "never")
import fusenum  # noqa: E402
from fusenum.codegen import modules  # noqa: E402
from fusenum.runtime import kernels  # noqa: E402

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
    spent = {"make": 0.0, "ir": 0.0}
    _measure_thread_time(kernels, "_make", spent, "make")
    _measure_thread_time(modules, "kernel_module", spent, "ir")
    times, cpu, ir = [], [], []
    for text in EXPRESSIONS:
        drain()
        spent.update(make=0.0, ir=0.0)
        start = time.perf_counter()
        fusenum.evaluate(text, local_dict=names)
        times.append(time.perf_counter() - start)
        cpu.append(spent["make"])
        ir.append(spent["ir"])
        print(f"{times[-1] * 1e3:8.2f} ms wall {cpu[-1] * 1e3:8.2f} ms cpu (IR {ir[-1] * 1e3:6.2f})  {text}")
    drain()
    print(f"median {statistics.median(times) * 1e3:.2f} ms wall, {statistics.median(cpu) * 1e3:.2f} ms cpu "
          f"(IR {statistics.median(ir) * 1e3:.2f}); max {max(times) * 1e3:.2f} ms wall")


def _measure_thread_time(module, name: str, spent: dict, label: str) -> None:
    """Add the CPU time of the thread running ``module.name`` to ``spent[label]`` at each call (not
    counting the background optimizer's calls: the first build is what a first call waits for)."""
    function = getattr(module, name)

    def measured(*args, **kwargs):
        if threading.current_thread().name == "fusenum-optimizer":
            return function(*args, **kwargs)
        start = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.thread_time() - start
    setattr(module, name, measured)


if __name__ == "__main__":
    main()
