"""A run of new expressions, each called once: fusenum beside numexpr, in fresh processes.

What a notebook, a test suite or ``pandas.eval`` over many columns does: hundreds of distinct
texts, none called twice. Nothing is compiled for a text called once (tier 0 serves it), so this
measures the front end and the interpreter: parsing, typing, planning, the disk cache's lookups
and the typed-plan records it writes (:mod:`fusenum.runtime.plan_store`), and whatever the
background threads take from the calls. The texts are random trees of ``+ - * /`` over four
float64 arrays and constants (seeded: the same in every process); texts of one structure share a
kernel, so some kernels are compiled in the background as the run goes on.

Contenders, each in its own fresh process per round, taken in turn:

* ``numexpr``: ``numexpr.evaluate``;
* ``fusenum, empty cache``: ``FUSENUM_CACHE_DIR`` a new, empty directory each round;
* ``fusenum, cache off``: ``FUSENUM_CACHE=off`` (no lookups, no records written);
* ``fusenum, warm cache``: the directory the round's empty-cache process left (its records
  written, its kernels and those its exit's helper compiled).

Figures per process: the whole run (ms), the median, 90th percentile and slowest call; the table
gives the median over ``--rounds`` processes. Usage::

    python3 benchmarks/new_texts.py [--count 400] [--size 100] [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTENDERS = ("numexpr", "fusenum, empty cache", "fusenum, cache off", "fusenum, warm cache")


def texts(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct random expressions over ``a``, ``b``, ``c``, ``d``."""
    draw = random.Random(seed)

    def term(depth: int) -> str:
        if depth == 0 or draw.random() < 0.3:
            return draw.choice(["a", "b", "c", "d", str(draw.randint(1, 9)), f"{draw.random():.3f}"])
        left, operator, right = term(depth - 1), draw.choice("+-*/"), term(depth - 1)
        if operator == "/" and not _has_name(right):  # (numexpr folds constants: 1 / (2 - 2) raises)
            operator = "*"
        return f"({left} {operator} {right})"

    found: dict[str, None] = {}
    while len(found) < count:
        text = term(3)
        if _has_name(text):
            found[text] = None
    return list(found)


def _has_name(text: str) -> bool:
    return any(name in text for name in "abcd")


def child(contender: str, count: int, size: int) -> dict:
    """Run in a fresh process: each text once; seconds per call and for the whole run."""
    import numpy as np
    if contender == "numexpr":
        import numexpr
        evaluate = numexpr.evaluate
    else:
        import fusenum
        evaluate = fusenum.evaluate
    rng = np.random.default_rng(0)
    names = {name: rng.random(size) + 0.5 for name in "abcd"}
    run = texts(count)
    calls = []
    started = time.perf_counter()
    for text in run:
        begun = time.perf_counter()
        evaluate(text, names)
        calls.append(time.perf_counter() - begun)
    return {"total": time.perf_counter() - started, "calls": calls}


def _run_child(contender: str, count: int, size: int, cache_dir: str) -> dict:
    path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path, FUSENUM_CACHE_DIR=cache_dir,
               FUSENUM_CACHE="off" if contender == "fusenum, cache off" else "on")
    done = subprocess.run([sys.executable, __file__, "--child", contender, "--count", str(count),
                           "--size", str(size)], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def _wait_for_helper(cache_dir: str) -> None:
    """Let the helper that compiles a fusenum process's leftovers after its exit finish first: it
    would take a core from the next process (and the warm process is meant to find its work)."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from fusenum.runtime import exit_compiles
    exit_compiles.wait_for_helpers(cache_dir, timeout=600)


def measure(count: int, size: int, rounds: int) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {contender: [] for contender in CONTENDERS}
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="fusenum-new-texts-") as cache_dir:
            for contender in CONTENDERS:
                found[contender].append(_run_child(contender, count, size, cache_dir))
                _wait_for_helper(cache_dir)
    return found


def _row(contender: str, runs: list[dict]) -> str:
    def median(figure) -> float:
        return statistics.median(figure(run) for run in runs)
    total = median(lambda run: run["total"]) * 1e3
    middle = median(lambda run: statistics.median(run["calls"])) * 1e6
    p90 = median(lambda run: sorted(run["calls"])[int(0.9 * len(run["calls"]))]) * 1e6
    slowest = median(lambda run: max(run["calls"])) * 1e3
    return f"| {contender} | {total:,.1f} | {middle:,.0f} | {p90:,.0f} | {slowest:,.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=400, help="distinct texts per process")
    parser.add_argument("--size", type=int, default=100, help="elements per array")
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per contender")
    parser.add_argument("--child", metavar="CONTENDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.count, args.size)))
        return
    results = measure(args.count, args.size, args.rounds)
    print(f"{args.count} new texts, each called once, {args.size:,} float64 elements; medians over "
          f"{args.rounds} fresh processes per contender\n")
    print("| contender | whole run (ms) | median call (us) | 90th percentile (us) | slowest call (ms) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for contender in CONTENDERS:
        print(_row(contender, results[contender]))


if __name__ == "__main__":
    main()
