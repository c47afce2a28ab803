"""First calls in fresh processes: a 20-expression everyday workload, fusenum beside numexpr and NumPy.

Most real calls are first calls (scripts, notebooks, ``pandas.eval``, test suites,
every new worker process), so this measures what a new process pays: the import,
and each of 20 distinct expressions evaluated twice. Every contender and condition
runs in its own fresh process (a child of this script), one after the other:

* ``numpy``: the same computations written with NumPy functions;
* ``numexpr``: ``numexpr.evaluate`` of the same text (``a - mean(a)``, which numexpr
  cannot write as one expression, is ``sum(a)`` then ``a - m``, as its users write it);
* ``fusenum cold``: ``FUSENUM_CACHE_DIR`` set to a new, empty directory, with the one-node kernels
  shipped with the package (``fusenum.runtime.shipped``: ``pip install`` builds them, and this script
  builds them for the current SIMD level into the source tree first, with ``python -m fusenum ship``);
* ``fusenum cold, nothing shipped``: the same without them (``FUSENUM_SHIPPED_KERNELS=off``: a package
  built without them, or on a machine they do not serve). The three rows below are without them too;
* ``fusenum warm``: the same directory, in the next process (a persistent kernel cache,
  once there is one, makes these first calls loads instead of compiles), started once the helper
  that finishes the cold process's pending compiles after its exit is done (the time it took is
  printed below the table: a user's next run seldom comes sooner; it includes the prebuild of every
  one-node kernel after a machine's first use, ``fusenum.runtime.first_use``);
* ``fusenum used``: a directory that a process evaluating :data:`EARLIER` (other expressions with
  the same functions, at 10,000 elements: a machine that has run fusenum before) filled, with no
  prebuild after its exit (``FUSENUM_PREBUILD_AFTER_EXIT=off``); none of the workload's fused kernels
  is there, but the one-node kernels its interpretation needs are;
* ``fusenum after first use``: a directory that one earlier process used for :data:`FIRST_USE` alone
  (a function the workload does not use), then the helper that ran after its exit, which prebuilt
  every one-node kernel there (``fusenum.runtime.first_use``): the second process on a machine;
* ``fusenum prebuilt``: a directory that ``python -m fusenum prebuild`` filled (every one-node kernel
  the interpreter may use, nothing else), as after a prebuild once per machine;
* ``fusenum never cold`` / ``warm``: the same with ``FUSENUM_TIERING=never`` (every call waits for
  its kernel), beside the default ``auto`` (first calls interpreted while kernels compile).

``--loop`` adds, per size, a loop of 1,000 calls of one expression in a fresh process (fusenum
with an empty cache directory, so the loop starts interpreted; ``never`` timed after one warm-up
call, today's steady state; numexpr), and the first call of a new expression at N = 100.
``--first-calls COUNT`` times that first call alone in COUNT fresh processes per contender, taken
in turn, and reports the median (``--sizes ''`` skips the workload tables).

Usage::

    python3 benchmarks/first_call.py [--sizes 10000,1000000] [--repeat 1]

Before measuring, the fusenum next to this script is compiled to bytecode (``compileall``), as
``pip install`` does: a source tree run with ``PYTHONDONTWRITEBYTECODE`` set (or never imported)
would otherwise compile every module from source in every process, and that is not what users pay.

``--repeat`` runs every process that many times and reports the median of each
figure. Figures: ``import numpy`` and the contender's import on top of it (ms),
the first call of each expression (median and max over the 20, ms), the second
calls' median, and the whole workload (all 40 calls, ms).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

#: The workload: text for fusenum and numexpr. NumPy's spellings are in :func:`_numpy_workload`.
WORKLOAD = [
    "a+b", "2*a+3*b-c", "sin(a)**2+cos(b)**2", "where(a>b, a, c)", "a*b+c", "sqrt(a**2+b**2)",
    "exp(a)*log(b)", "a/b - c", "(a+b)*(a-b)", "a**3", "tanh(a)", "arctan2(a,b)", "abs(a-b)", "a>b",
    "(a<b)&(b<c)", "maximum(a,b)", "a - mean(a)", "sum(a*b)", "log1p(a)", "cos(a)*sin(b)",
]
#: What ``fusenum used``'s directory was filled with: the workload's functions, in other expressions.
EARLIER = [
    "sin(c) * 0.5 + a", "cos(c) - b", "exp(b) + 1", "log(a) - c", "b ** 2.5", "tanh(b) * c",
    "arctan2(c, a)", "log1p(b) * 2",
]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: What ``fusenum after first use``'s directory saw: one call of one function the workload does not use.
FIRST_USE = "cbrt(a) + b"
CONTENDERS = ("numpy", "numexpr", "fusenum cold", "fusenum warm", "fusenum cold, nothing shipped", "fusenum used",
              "fusenum after first use", "fusenum prebuilt", "fusenum never cold", "fusenum never warm")
#: The rows run without the kernels shipped with the package.
NOTHING_SHIPPED = ("fusenum cold, nothing shipped", "fusenum used", "fusenum after first use", "fusenum prebuilt")
#: The expression of the loop and single-call figures (``--loop``).
LOOP_EXPRESSION = "2*a+3*b-c"


def _numpy_workload(np) -> list:
    """The workload written with NumPy, in :data:`WORKLOAD`'s order."""
    return [
        lambda a, b, c: a + b, lambda a, b, c: 2 * a + 3 * b - c,
        lambda a, b, c: np.sin(a) ** 2 + np.cos(b) ** 2, lambda a, b, c: np.where(a > b, a, c),
        lambda a, b, c: a * b + c, lambda a, b, c: np.sqrt(a ** 2 + b ** 2),
        lambda a, b, c: np.exp(a) * np.log(b), lambda a, b, c: a / b - c,
        lambda a, b, c: (a + b) * (a - b), lambda a, b, c: a ** 3, lambda a, b, c: np.tanh(a),
        lambda a, b, c: np.arctan2(a, b), lambda a, b, c: np.abs(a - b), lambda a, b, c: a > b,
        lambda a, b, c: (a < b) & (b < c), lambda a, b, c: np.maximum(a, b),
        lambda a, b, c: a - np.mean(a), lambda a, b, c: np.sum(a * b), lambda a, b, c: np.log1p(a),
        lambda a, b, c: np.cos(a) * np.sin(b),
    ]


def _calls(contender: str, np) -> list:
    """One callable ``f(names) -> result`` per workload expression, for ``contender``."""
    if contender == "numpy":
        return [lambda names, f=f: f(**names) for f in _numpy_workload(np)]
    if contender == "numexpr":
        import numexpr

        def numexpr_call(text):
            if text == "a - mean(a)":
                return lambda names: numexpr.evaluate(
                    "a - m", {"a": names["a"], "m": numexpr.evaluate("sum(a)", names)[()] / names["a"].size})
            return lambda names: numexpr.evaluate(text, names)
        return [numexpr_call(text) for text in WORKLOAD]
    import fusenum
    return [lambda names, text=text: fusenum.evaluate(text, names) for text in WORKLOAD]


def child(contender: str, size: int) -> dict:
    """Run in a fresh process: import, then each expression twice; times in seconds."""
    started = time.perf_counter()
    import numpy as np
    numpy_import = time.perf_counter() - started
    started = time.perf_counter()
    if contender != "numpy":
        __import__(contender.split()[0])
    contender_import = time.perf_counter() - started
    calls = _calls(contender, np)
    rng = np.random.default_rng(0)
    names = {name: rng.random(size) + 0.5 for name in "abc"}
    first, second = [], []
    for call in calls:
        for record in (first, second):
            started = time.perf_counter()
            call(names)
            record.append(time.perf_counter() - started)
    module = sys.modules.get(contender.split()[0])
    return {"file": getattr(module, "__file__", None), "import_numpy": numpy_import, "import": contender_import, "first": first, "second": second}


#: The size :data:`EARLIER` is evaluated at to fill ``fusenum used``'s directory, whatever the workload's:
#: big calls of a process whose LLVM is up wait for their fused kernels, never asking for the one-node
#: kernels tier 0 needs (filled at 1,000,000 elements, the directory held none of them).
FILL_SIZE = 10_000


def fill_child(size: int) -> dict:
    """Run in a fresh process: evaluate :data:`EARLIER` twice each at :data:`FILL_SIZE` elements
    (``size`` is the workload's, unused), and wait for the compiles."""
    import numpy as np
    import fusenum
    from fusenum.runtime import tiering
    rng = np.random.default_rng(1)
    names = {name: rng.random(FILL_SIZE) + 0.5 for name in "abc"}
    for text in EARLIER:
        fusenum.evaluate(text, names)
        fusenum.evaluate(text, names)
    tiering.wait_for_compiles()
    return {}


def first_use_child(size: int) -> dict:
    """Run in a fresh process: evaluate :data:`FIRST_USE` once at :data:`FILL_SIZE` elements (``size``
    is the workload's, unused), and exit."""
    import numpy as np
    import fusenum
    rng = np.random.default_rng(1)
    fusenum.evaluate(FIRST_USE, {name: rng.random(FILL_SIZE) + 0.5 for name in "ab"})
    return {}


def loop_child(contender: str, size: int) -> dict:
    """Run in a fresh process: the first call at N = 100, then 1,000 calls at ``size``; seconds."""
    import numpy as np
    call = _calls(contender, np)[WORKLOAD.index(LOOP_EXPRESSION)]
    rng = np.random.default_rng(0)
    small = {name: rng.random(100) + 0.5 for name in "abc"}
    started = time.perf_counter()
    call(small)
    first = time.perf_counter() - started
    if size == 0:  # (--first-calls: the first call alone)
        return {"first_100": first, "loop": 0.0}
    names = {name: rng.random(size) + 0.5 for name in "abc"}
    if "never" in contender:
        call(names)  # today's steady state: timed after the compile
    started = time.perf_counter()
    for _ in range(1000):
        call(names)
    return {"first_100": first, "loop": time.perf_counter() - started}


def _environment(contender: str, cache_dir: str, mode: str = "--child") -> dict:
    # The fusenum next to this script, not some installed one.
    path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    return dict(os.environ, FUSENUM_CACHE_DIR=cache_dir, PYTHONPATH=path,
                FUSENUM_TIERING="never" if "never" in contender else "auto",
                FUSENUM_PREBUILD_AFTER_EXIT="off" if mode == "--fill-child" else "on",
                FUSENUM_SHIPPED_KERNELS="off" if contender in NOTHING_SHIPPED or mode in ("--fill-child", "--first-use-child")
                else "on")


def _run_child(contender: str, size: int, cache_dir: str, mode: str = "--child") -> dict:
    done = subprocess.run([sys.executable, __file__, mode, contender, "--size", str(size)],
                          env=_environment(contender, cache_dir, mode), capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout.splitlines()[-1])
    figures["helper"] = _wait_for_helper(cache_dir) if contender.startswith("fusenum") else 0.0
    return figures


def _wait_for_helper(cache_dir: str) -> float:
    """Wait until the helper that finishes a fusenum child's pending compiles after its exit
    (``fusenum.runtime.exit_compiles``) is done: the next process is the warm one, and a helper
    still compiling would take a core from whatever runs next. Seconds waited."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from fusenum.runtime import exit_compiles
    started = time.perf_counter()
    if not exit_compiles.wait_for_helpers(cache_dir, timeout=600):
        raise SystemExit(f"a fusenum helper process still compiles into {cache_dir} after 600 s")
    return time.perf_counter() - started


def _compile_bytecode() -> None:
    """Write fusenum's ``.pyc`` files, as an installed package has them."""
    import compileall
    if not compileall.compile_dir(os.path.join(ROOT, "fusenum"), quiet=1):
        raise SystemExit("compiling fusenum to bytecode failed")


def _ship() -> None:
    """Build the kernels shipped with the package for the current SIMD level into the source tree,
    as ``pip install`` builds them into the package, unless they are there and current."""
    check = ("import sys, fusenum\nfrom fusenum.codegen import settings\nfrom fusenum.runtime import shipped\n"
             "sys.exit(shipped.archive(settings.key) is None)")
    environment = dict(_environment("fusenum", tempfile.gettempdir()), FUSENUM_SHIPPED_KERNELS="on")
    if subprocess.run([sys.executable, "-c", check], env=environment).returncode == 0:
        return
    level = subprocess.run([sys.executable, "-c", "import fusenum; print(fusenum.get_simd())"], env=environment,
                           capture_output=True, text=True, check=True).stdout.strip()
    done = subprocess.run([sys.executable, "-m", "fusenum", "ship", "--simd", level], env=environment,
                          capture_output=True, text=True)
    if done.returncode or subprocess.run([sys.executable, "-c", check], env=environment).returncode:
        print(f"(no kernels are shipped here: 'fusenum cold' runs without them)\n{done.stdout}{done.stderr}")


def _prebuild(cache_dir: str) -> None:
    done = subprocess.run([sys.executable, "-m", "fusenum", "prebuild"], env=_environment("fusenum", cache_dir),
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"python -m fusenum prebuild failed:\n{done.stderr}")


def measure(size: int) -> dict[str, list[dict]]:
    """One fresh process per contender and condition (cold, then warm in the same cache directory;
    each tiering policy its own directory)."""
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="fusenum-first-call-") as auto_dir, \
            tempfile.TemporaryDirectory(prefix="fusenum-first-call-") as never_dir, \
            tempfile.TemporaryDirectory(prefix="fusenum-first-call-") as used_dir, \
            tempfile.TemporaryDirectory(prefix="fusenum-first-call-") as first_use_dir, \
            tempfile.TemporaryDirectory(prefix="fusenum-first-call-") as prebuilt_dir, \
            tempfile.TemporaryDirectory(prefix="fusenum-first-call-") as nothing_shipped_dir:
        _run_child("fusenum", size, used_dir, "--fill-child")
        _run_child("fusenum", size, first_use_dir, "--first-use-child")
        _prebuild(prebuilt_dir)
        own = {"fusenum used": used_dir, "fusenum after first use": first_use_dir, "fusenum prebuilt": prebuilt_dir,
               "fusenum cold, nothing shipped": nothing_shipped_dir}
        for contender in CONTENDERS:
            directory = own.get(contender, never_dir if "never" in contender else auto_dir)
            results[contender] = [_run_child(contender, size, directory)]
    return results


def measure_loop(size: int) -> list[str]:
    """Rows of the loop figures: each contender in a fresh process, fusenum with an empty cache."""
    rows = []
    for contender in ("numexpr", "fusenum cold", "fusenum cold, nothing shipped", "fusenum never cold"):
        with tempfile.TemporaryDirectory(prefix="fusenum-loop-") as cache_dir:
            figures = _run_child(contender, size, cache_dir, "--loop-child")
        rows.append(f"| {contender} | {size:,} | {figures['loop'] * 1e3:,.1f} | {figures['first_100'] * 1e3:,.2f} |")
    return rows


def measure_first_calls(count: int) -> list[str]:
    """Rows of the first call at N = 100 in ``count`` fresh processes per contender, taken in turn
    (fusenum with an empty cache directory each time): one process is too noisy a sample for it."""
    times: dict[str, list[float]] = {"numexpr": [], "fusenum cold": []}
    for _ in range(count):
        for contender, found in times.items():
            with tempfile.TemporaryDirectory(prefix="fusenum-first-") as cache_dir:
                found.append(_run_child(contender, 0, cache_dir, "--loop-child")["first_100"] * 1e3)
    return [f"| {contender} | {statistics.median(found):.3f} | {min(found):.3f} | {max(found):.3f} |"
            for contender, found in times.items()]


def _row(contender: str, size: int, runs: list[dict]) -> str:
    def median(figure) -> float:
        return statistics.median(figure(run) for run in runs) * 1e3
    # (its spread too: numexpr's first call starts its threads, 0.7 ms in some processes, 4 ms in others)
    workloads = [(sum(run["first"]) + sum(run["second"])) * 1e3 for run in runs]
    cells = [median(lambda r: r["import_numpy"]), median(lambda r: r["import"]),
             median(lambda r: statistics.median(r["first"])), median(lambda r: max(r["first"])),
             median(lambda r: statistics.median(r["second"])), statistics.median(workloads)]
    return f"| {contender} | {size:,} | " + " | ".join(f"{cell:,.2f}" for cell in cells) + \
        f" | {min(workloads):,.2f}-{max(workloads):,.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,1000000", help="comma-separated array sizes")
    parser.add_argument("--repeat", type=int, default=1, help="fresh processes per contender and size")
    parser.add_argument("--loop", action="store_true", help="also a loop of 1,000 calls, and a first call at N=100")
    parser.add_argument("--first-calls", type=int, default=0, metavar="COUNT",
                        help="also the first call at N=100 in COUNT fresh processes per contender")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--loop-child", help=argparse.SUPPRESS)
    parser.add_argument("--fill-child", help=argparse.SUPPRESS)
    parser.add_argument("--first-use-child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.size)))
        return
    if args.fill_child:
        print(json.dumps(fill_child(args.size)))
        return
    if args.first_use_child:
        print(json.dumps(first_use_child(args.size)))
        return
    if args.loop_child:
        print(json.dumps(loop_child(args.loop_child, args.size)))
        return
    _compile_bytecode()
    _ship()
    sizes = [int(size) for size in args.sizes.split(",") if size]
    if sizes:
        _workload_tables(sizes, args.repeat)
    if args.loop:
        print(f"\n1,000 calls of {LOOP_EXPRESSION!r} in a fresh process (fusenum: empty cache directory; "
              "'never' timed after one warm-up call), and its first call at N = 100\n")
        print("| contender | N | 1,000 calls (ms) | first call, N = 100 (ms) |")
        print("| --- | ---: | ---: | ---: |")
        for size in sizes:
            print("\n".join(measure_loop(size)), flush=True)
    if args.first_calls:
        print(f"\nThe first call of {LOOP_EXPRESSION!r} at N = 100 in {args.first_calls} fresh processes per "
              "contender, taken in turn (fusenum: an empty cache directory each)\n")
        print("| contender | median (ms) | min (ms) | max (ms) |")
        print("| --- | ---: | ---: | ---: |")
        print("\n".join(measure_first_calls(args.first_calls)), flush=True)


def _workload_tables(sizes: list[int], repeat: int) -> None:
    print(f"{len(WORKLOAD)} expressions, each evaluated twice, every contender in fresh processes "
          f"(median of {repeat}); times in ms\n")
    print("| contender | N | import numpy | import (over numpy) | first call median | first call max "
          "| second call median | whole workload | whole workload, range |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    helpers = []
    for size in sizes:
        runs: dict[str, list[dict]] = {contender: [] for contender in CONTENDERS}
        for _ in range(repeat):
            for contender, result in measure(size).items():
                runs[contender] += result
        for contender in CONTENDERS:
            print(_row(contender, size, runs[contender]), flush=True)
        helpers.append(f"{statistics.median(r['helper'] for r in runs['fusenum cold']) * 1e3:,.0f} ms at N = {size:,}")
    print(f"\nfusenum: {runs['fusenum cold'][0]['file']}, numexpr: {runs['numexpr'][0]['file']}")
    print("The helper finishing a cold process's pending compiles was done (median) "
          + ", ".join(helpers) + " after the process exited.")


if __name__ == "__main__":
    main()
