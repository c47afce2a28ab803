"""Tier 0 (the interpreter): small calls' per-call cost, and large calls on one thread against all,
beside the compiled kernel, numexpr and NumPy, in one run.

A call fusenum has no kernel for yet runs in the interpreter (:mod:`fusenum.runtime.interpreter`)
while its kernel compiles. This measures the interpreter alone (``set_tiering("always")``; its
one-node kernels compiled beforehand), so the figures say what an interpreted call costs and what
sharing its blocks between threads gains. Every row is the median of ``--repeat`` calls, all
contenders measured in turn in this process; times in ms. The last columns check that the
interpreter's bits are the kernel's.

Usage::

    python3 benchmarks/interpreter_report.py [--sizes 100,10000,1000000,4000000] [--repeat 9]

Calls of fewer than 131,072 elements run on one thread whatever the thread count (both tier 0
columns then measure the same thing); small calls are timed ``--small-repeat`` times.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numexpr  # noqa: E402

import fusenum  # noqa: E402

EXPRESSIONS = {
    "a*3": lambda a, b, c: a * 3,
    "2*a+3*b-c": lambda a, b, c: 2 * a + 3 * b - c,
    "where(a>b, a, c)": lambda a, b, c: np.where(a > b, a, c),
    "sin(a)**2+cos(b)**2": lambda a, b, c: np.sin(a) ** 2 + np.cos(b) ** 2,
    "exp(a)*log(b)": lambda a, b, c: np.exp(a) * np.log(b),
}


#: Calls per figure below 100,000 elements (each takes microseconds).
SMALL_REPEAT = 301


def median_ms(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def row(text: str, size: int, repeat: int, threads: int, small_repeat: int = SMALL_REPEAT) -> str:
    if size < 100_000:
        repeat = max(repeat, small_repeat)
    rng = np.random.default_rng(0)
    names = {name: rng.random(size) + 0.5 for name in "abc"}
    evaluate = lambda: fusenum.evaluate(text, local_dict=names)  # noqa: E731
    fusenum.set_tiering("never")
    compiled = evaluate()
    kernel = median_ms(evaluate, repeat)
    fusenum.set_tiering("always")
    figures = []
    for count in (1, threads):
        fusenum.set_num_threads(count)
        interpreted = evaluate()  # (its one-node kernels are compiled by this call)
        figures.append(median_ms(evaluate, repeat))
    same = interpreted.tobytes() == compiled.tobytes()
    fusenum.set_tiering("never")
    numexpr_ms = median_ms(lambda: numexpr.evaluate(text, local_dict=names), repeat)
    numpy_ms = median_ms(lambda: EXPRESSIONS[text](*names.values()), repeat)
    cells = [_ms(figures[0]), _ms(figures[1]), f"{figures[0] / figures[1]:.2f}x", _ms(kernel),
             _ms(numexpr_ms), _ms(numpy_ms), "yes" if same else "NO"]
    return f"| `{text}` | {size:,} | " + " | ".join(cells) + " |"


def _ms(figure: float) -> str:
    return f"{figure:.3f}" if figure < 1 else f"{figure:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,10000,1000000,4000000", help="comma-separated element counts")
    parser.add_argument("--repeat", type=int, default=9, help="calls per figure (the median is reported)")
    parser.add_argument("--small-repeat", type=int, default=SMALL_REPEAT,
                        help="calls per figure below 100,000 elements")
    args = parser.parse_args()
    threads = fusenum.get_num_threads()
    numexpr.set_num_threads(threads)
    print(f"tier 0 (interpreter) against the compiled kernel, {threads} threads where not 1; "
          f"median of {args.repeat} calls, ms\n")
    print(f"| expression | N | tier 0, 1 thread | tier 0, {threads} threads | gain | kernel | numexpr | NumPy "
          "| tier 0 = kernel |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |")
    for size in (int(s) for s in args.sizes.split(",")):
        for text in EXPRESSIONS:
            print(row(text, size, args.repeat, threads, args.small_repeat), flush=True)
        fusenum.set_num_threads(threads)


if __name__ == "__main__":
    main()
