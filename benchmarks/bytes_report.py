"""Bytes (S) comparisons and contains(): fusenum vs numexpr vs NumPy, side by side in one process.

    python benchmarks/bytes_report.py

Cached-kernel times (best of 7 repeats) of the expressions of ``benchmarks/bench_bytes.py`` on
1,000 and 1,000,000 elements (S6 and S4 words, a float64 array), with one thread and all threads.
"""
import sys
import timeit
from pathlib import Path

import numexpr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fusenum  # noqa: E402
from benchmarks.bench_bytes import EXPRESSIONS, bytes_operands  # noqa: E402
from benchmarks.common import use_threads  # noqa: E402


def best_microseconds(call, size: int) -> float:
    number = max(1, 200_000 // size)
    return min(timeit.repeat(call, number=number, repeat=7)) / number * 1e6


def main() -> None:
    print("| threads | size | expression | fusenum (us) | numexpr (us) | NumPy (us) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for threads in (1, "all"):
        use_threads(threads)
        for size in (1_000, 1_000_000):
            names = bytes_operands(size)
            for text, spelled in EXPRESSIONS.items():
                fusenum.evaluate(text, local_dict=names)
                numexpr.evaluate(text, local_dict=names)
                times = [best_microseconds(lambda: fusenum.evaluate(text, local_dict=names), size),
                         best_microseconds(lambda: numexpr.evaluate(text, local_dict=names), size),
                         best_microseconds(lambda: spelled(**names), size)]
                print(f"| {threads} | {size:,} | `{text}` | " + " | ".join(f"{t:,.1f}" for t in times) + " |")


if __name__ == "__main__":
    main()
