"""What a well-used disk cache costs a short process: its wall time with a cache directory of many
entries beside one of a hundred, in the same run.

Each process imports fusenum, evaluates one new expression on a small array (interpreted: no
compile) and exits, writing the expression's typed plan to the cache. A process learns how much
the directory holds by a scan (a stat per entry), which only a process that writes a random share
of the size bound makes (see ``fusenum/runtime/disk_cache.py``): the two should be close. Both
directories hold files of fusenum's names, two kernels (``.kernel``) to one typed plan (``.plan``),
1,500 bytes each (about the sizes of both), under the default bound (512 MiB, which holds them all
for up to about 130,000 entries of a 4 KB block each); they are never read.

    python benchmarks/big_cache.py --entries 100000 --processes 9
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

#: fusenum's default bound of the disk cache (``fusenum.runtime.disk_cache.DEFAULT_MAX_BYTES``).
DEFAULT_MAX_BYTES = 512 * 2**20
#: Entries of the directory the big one is compared with.
SMALL = 100
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD = """
import random
import numpy as np
import fusenum
a = np.ones(10)
fusenum.evaluate("a * %d + 1" % random.randrange(10**12), {"a": a})
"""


def fill(directory: str, count: int) -> None:
    """``count`` files named as fusenum names its entries, 1,500 bytes each."""
    payload = b"\0" * 1500
    for number in range(count):
        suffix = ".plan" if number % 3 == 2 else ".kernel"
        name = hashlib.sha256(f"fake entry {number}".encode()).hexdigest() + suffix
        with open(os.path.join(directory, name), "wb") as entry:
            entry.write(payload)


def process_seconds(directory: str) -> float:
    """Wall time of one child process using ``directory`` as its disk cache."""
    environment = dict(os.environ, FUSENUM_CACHE_DIR=directory,
                       FUSENUM_CACHE_MAX_BYTES=str(DEFAULT_MAX_BYTES),
                       PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", CHILD], env=environment, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=9, help="processes per directory, interleaved")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as big, tempfile.TemporaryDirectory() as small:
        os.chmod(big, 0o700)
        os.chmod(small, 0o700)
        fill(big, args.entries)
        fill(small, SMALL)
        times: dict[str, list[float]] = {"small": [], "big": []}
        for _ in range(args.processes):
            times["small"].append(process_seconds(small))
            times["big"].append(process_seconds(big))
    small_ms, big_ms = (statistics.median(times[k]) * 1e3 for k in ("small", "big"))
    print(f"process wall, median of {args.processes}: {SMALL} entries {small_ms:.0f} ms, "
          f"{args.entries:,} entries {big_ms:.0f} ms ({big_ms / small_ms:.2f}x)")


if __name__ == "__main__":
    main()
