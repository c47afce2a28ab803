"""Where does splitting a call over threads start to pay? Measures the crossover.

    python benchmarks/thread_threshold.py

For cheap (``a+b*c``, cost 2 per element) and costlier expressions it times
each size on one thread and split over all threads (interleaved, best of
several runs) and prints the smallest size at which the split call wins,
converted to *work* (elements x op-table cost per element). That work is what
``fusenum.runtime.threads.PARALLEL_WORK`` is set from.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import fusenum  # noqa: E402
from fusenum.runtime import PLANS  # noqa: E402
from fusenum.runtime import threads as parallel  # noqa: E402
from fusenum.runtime.plan import work_per_element  # noqa: E402

from benchmarks.compare import best_times  # noqa: E402

EXPRESSIONS = ["a+b*c", "((.25*a+.75)*a-1.5)*a-2", "a/b + c/a", "sin(a)**2+cos(b)**2", "exp(a)*log(b)",
               "tanh(a)", "arctan2(a, b)"]
SIZES = [2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000]


def main() -> None:
    threads = parallel.get_num_threads()
    if threads < 2:
        raise SystemExit("only one core available: nothing to measure")
    print(f"{threads} threads\n{'expression':26} {'work/elem':>9} {'size':>9} {'1 thread':>10} "
          f"{'split':>10} {'speed-up':>8}")
    saved = parallel.PARALLEL_WORK
    for text in EXPRESSIONS:
        crossover = None
        for size in SIZES:
            names = {k: np.random.default_rng(0).random(size) + 1 for k in "abc"}
            out = np.empty(size)
            fusenum.evaluate(text, local_dict=names, out=out)
            plan = next(p for k, p in PLANS.items() if k[0] == text)
            work = work_per_element(plan.root)

            def one():
                parallel.set_num_threads(1)
                plan.parallel_size = plan.big_size = plan.wake_size = 10**12
                fusenum.evaluate(text, local_dict=names, out=out)

            def split():
                parallel.set_num_threads(threads)
                plan.parallel_size = plan.big_size = plan.wake_size = 1
                fusenum.evaluate(text, local_dict=names, out=out)

            t = best_times({"one": one, "split": split}, seconds=0.2, repeat=9)
            gain = t["one"] / t["split"]
            print(f"{text:26} {work:>9} {size:>9} {t['one'] * 1e6:8.1f}us {t['split'] * 1e6:8.1f}us {gain:7.2f}x")
            if crossover is None and gain > 1.1:
                crossover = size * work
        print(f"  -> splitting wins from about {crossover} work units\n")
    parallel.PARALLEL_WORK = saved
    parallel.set_num_threads(threads)


if __name__ == "__main__":
    main()
