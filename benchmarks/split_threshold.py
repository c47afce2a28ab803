"""First-call time and peak memory of a lazy chain of N mixed operations, vs N (and the split threshold).

    python benchmarks/split_threshold.py [--sizes 100,1000,3000,10000] [--piece-cost 256]

Each size runs in a fresh process with an empty kernel cache directory, so every kernel is
compiled; the chain is a random mix of ``+ x``, ``* 0.5``, ``- y``, ``maximum(r, y)`` and
``r * y + 1``, built in a loop as a program would. Prints a markdown table: seconds for building
and forcing the chain, seconds spent compiling, kernels made, peak resident memory. With the default
tiering the first call is interpreted while kernels compile in the background; set
``FUSENUM_TIERING=never`` to time compiling every kernel before the call.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, random, resource, sys, time
import numpy as np
import fusenum
from fusenum.runtime import kernels, splitting
n, piece_cost = int(sys.argv[1]), int(sys.argv[2])
splitting.PIECE_COST = piece_cost
rng = random.Random(n)
a, b = np.arange(1000.0), np.linspace(0, 1, 1000)
steps = [lambda r, x, y: r + x, lambda r, x, y: r * 0.5, lambda r, x, y: r - y,
         lambda r, x, y: np.maximum(r, y), lambda r, x, y: r * y + 1.0]
sequence = [rng.randrange(len(steps)) for _ in range(n)]
start = time.perf_counter()
x, y = fusenum.lazy(a), fusenum.lazy(b)
r = x
for k in sequence:
    r = steps[k](r, x, y)
value = np.asarray(r)
seconds = time.perf_counter() - start
expected = a
for k in sequence:
    expected = steps[k](expected, a, b)
info = kernels.cache_info()
print(json.dumps({"n": n, "seconds": seconds, "compile": info.compile_seconds, "kernels": info.entries,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                  "numpy_bits": bool(np.array_equal(value, expected))}))
"""


def measure(n: int, piece_cost: int) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "FUSENUM_CACHE_DIR": cache, "PYTHONPATH": str(ROOT), "FUSENUM_COMPILE_AFTER_EXIT": "off"}
        done = subprocess.run([sys.executable, "-c", CHILD, str(n), str(piece_cost)], env=env,
                              capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,3000,10000")
    parser.add_argument("--piece-cost", type=int, default=256)
    args = parser.parse_args()
    print(f"PIECE_COST = {args.piece_cost}\n")
    print("| operations | first call (s) | compiling (s) | kernels | peak RSS (MB) | NumPy's bits |")
    print("|---:|---:|---:|---:|---:|:---:|")
    for n in map(int, args.sizes.split(",")):
        row = measure(n, args.piece_cost)
        print(f"| {n} | {row['seconds']:.2f} | {row['compile']:.2f} | {row['kernels']} | {row['peak_mb']} | "
              f"{'yes' if row['numpy_bits'] else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()
