"""Small calls beside a busy Python thread: fusenum, numexpr and NumPy, in one process.

A program with another thread running Python (a GUI or server loop, a progress reporter, a
library's worker) shares the GIL with it. A call that lets the GIL go for its computation gets it
back only when the other thread's switch interval runs out (5 ms by default), so every small call
can cost milliseconds however short its computation. fusenum keeps the GIL for kernel calls of at
most ``fusenum.runtime.compiled_kernel.HOLD_GIL_ELEMENTS`` elements on one thread (microseconds of work);
numexpr and NumPy's loops (above 500 elements) let it go.

    python3 benchmarks/busy_thread.py [--sizes 1000,10000] [--calls 200]

Each contender is timed alone, then beside a thread counting in a Python loop; the figure is the
mean time per call (us). Kernels are compiled before timing (``FUSENUM_TIERING=never`` for the
warm-up), so this is the steady state.
"""
from __future__ import annotations

import argparse
import threading
import time

import numpy as np

EXPRESSIONS = {"2*a+3*b-c": lambda a, b, c: 2 * a + 3 * b - c,
               "sin(a)+b": lambda a, b, c: np.sin(a) + b}


def _per_call(call, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls * 1e6


def _beside_busy_thread(call, calls: int) -> float:
    stop = threading.Event()

    def count():
        n = 0
        while not stop.is_set():
            n += 1

    counter = threading.Thread(target=count, daemon=True)
    counter.start()
    try:
        return _per_call(call, calls)
    finally:
        stop.set()
        counter.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    import fusenum
    contenders = {"fusenum": lambda text, names, _: (lambda: fusenum.evaluate(text, names)),
                  "NumPy": lambda text, names, numpy_form: (lambda: numpy_form(**names))}
    try:
        import numexpr
        contenders["numexpr"] = lambda text, names, _: (lambda: numexpr.evaluate(text, names))
    except ImportError:
        pass
    fusenum.set_tiering("never")
    print(f"Mean time per call (us) over {args.calls} calls, alone and beside a busy Python thread "
          f"(switch interval {1e3 * __import__('sys').getswitchinterval():g} ms)\n")
    print("| expression | N | contender | alone | beside a busy thread | ratio |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    rng = np.random.default_rng(0)
    for size in (int(s) for s in args.sizes.split(",")):
        names = {name: rng.random(size) + 0.5 for name in "abc"}
        for text, numpy_form in EXPRESSIONS.items():
            for contender, make in contenders.items():
                call = make(text, names, numpy_form)
                for _ in range(5):
                    call()
                alone = _per_call(call, args.calls * 5)
                busy = _beside_busy_thread(call, args.calls)
                print(f"| `{text}` | {size:,} | {contender} | {alone:,.1f} | {busy:,.1f} | {busy / alone:,.1f}x |",
                      flush=True)


if __name__ == "__main__":
    main()
