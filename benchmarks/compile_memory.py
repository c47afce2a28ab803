"""Resident memory while compiling many structurally distinct kernels: it must level off.

Each expression is new (integer expressions whose constants differ, in several shapes), so every
call compiles a kernel; the in-memory kernel cache keeps at most ``FUSENUM_MAX_KERNELS`` of them
and frees the machine code of the others. Prints the resident set size every ``--every`` kernels.

    FUSENUM_CACHE=off python benchmarks/compile_memory.py --count 20000 --every 1000

``FUSENUM_TIERING=never`` unless set: under the default policy a new expression's first call on
these small arrays is interpreted and compiles nothing, so the curve would measure no compile.
"""
from __future__ import annotations

import argparse
import gc
import os
import time

import numpy as np

if __name__ == "__main__":  # (asv imports every module here: its benchmarks must not inherit it)
    os.environ.setdefault("FUSENUM_TIERING", "never")
import fusenum  # noqa: E402
from fusenum.runtime import background  # noqa: E402

SHAPES = ["a * {k} + b", "(a + {k}) * b - c", "a * b + c * {k}", "(a - {k}) * (b + c)", "a * {k} - b * c + 1"]


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--every", type=int, default=1000)
    args = parser.parse_args()
    arrays = {name: np.arange(64, dtype=np.int64) for name in "abc"}
    start = time.perf_counter()
    print(f"cache={os.environ.get('FUSENUM_CACHE', 'on')} max_kernels={fusenum.runtime.kernels.MAX_KERNELS}")
    print(f"{'calls':>8} {'RSS MB':>8} {'entries':>8} {'misses':>8} {'compile s':>9} {'seconds':>8}", flush=True)
    print(f"{0:8d} {rss_mb():8.1f} {0:8d} {0:8d} {0.0:9.1f} {0.0:8.1f}", flush=True)
    for i in range(args.count):
        shape = SHAPES[i % len(SHAPES)]
        fusenum.evaluate(shape.format(k=i // len(SHAPES) + 2), local_dict=arrays)
        if (i + 1) % args.every == 0:
            background.wait()
            gc.collect()
            info = fusenum.cache_info()
            print(f"{i + 1:8d} {rss_mb():8.1f} {info.entries:8d} {info.misses:8d} {info.compile_seconds:9.1f} "
                  f"{time.perf_counter() - start:8.1f}", flush=True)


if __name__ == "__main__":
    main()
