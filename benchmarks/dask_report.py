"""fusenum on a dask cluster: fused kernels per chunk against numexpr/NumPy in ``map_blocks`` and dask's own.

    python3 benchmarks/dask_report.py [--quick] [--repeat 5] [--out benchmarks/dask_report.md]

One run, one ``distributed.LocalCluster`` of 2 worker processes with one thread each
(``--workers`` to change it). The inputs are made on the workers (``da.random``) and
persisted there, never on the client: ``a``, ``b``, ``c`` of 1e8 float64 in chunks of 1e7,
and a 10000x10000 float64 ``A`` in (1000, 10000) chunks (1e7 elements a chunk, rows
contiguous; ``mean(A, axis=0)`` then spans 10 blocks, so it is a tree reduction).
``--quick`` divides every size by 100 (a smoke test, seconds); ``--case TEXT`` runs only that case
(repeatable).

Cases: ``2*a+3*b*c-sqrt(a)``, ``where(a>b, a, c)**2``, ``sum(a*b)``, ``A - mean(A, axis=0)``.
Contenders, each timed as ``persist`` + ``wait`` of its dask array (the graph is built inside
the timing; the results stay on the workers and are released after each timing):

* ``fusenum str``: ``fusenum.evaluate(text, local_dict={...dask arrays})``;
* ``fusenum lazy``: the same written with operators and NumPy functions on ``fusenum.lazy(x)``;
* ``dask``: dask's own array expression;
* ``numexpr mb`` / ``NumPy mb`` / ``fusenum mb``: the expression per block in ``da.map_blocks``
  (reductions by hand: ``sum(a*b)`` as one partial sum per block, then dask's sum of the
  partials; the column mean as ``da.reduction`` with that engine's per-block column sums,
  then ``A - m`` in ``map_blocks``). ``fusenum mb`` is what the issue measured written from
  outside the library;
* ``fusenum str, tree tasks`` (the column mean only): ``fusenum str`` with each level of the mean's
  tree its own tasks, as before the expression's tasks ran the tree themselves.

Each contender runs once untimed (compile, warm-up; its result is checked against NumPy on a
subsample: elementwise rows bit for bit, reductions to 1e-12), then ``--repeat`` interleaved
rounds, each starting with the next contender in turn; the table shows medians. Also measured:

* **first compute on fresh workers**: a cluster started with ``FUSENUM_CACHE_DIR`` set to an
  empty directory (cold), then a restarted cluster over the same directory (warm): the first
  ``persist`` of each case (fusenum imported on the workers beforehand, so the import is not
  in it, and the cluster's own first persists done beforehand with NumPy in ``map_blocks``:
  ~2 s on a fresh cluster whatever runs in the blocks), the second one, and each worker's
  compile and disk-cache counters;
* **what the scheduler costs**: the fused kernel on one chunk in this process (one thread),
  against the compute time of the cluster's tasks per chunk (from the task stream of one more
  untimed ``fusenum str`` run) and that run's wall time per chunk per worker.

Ratios are the point: the machine this runs on may be shared (see ``uptime`` in the header).
"""
from __future__ import annotations

import argparse
import functools
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the workers inherit sys.path: they import this fusenum
import dask
import dask.array as da
import distributed
import numexpr

import fusenum

F8 = np.dtype(np.float64)
CONTENDERS = ("fusenum str", "fusenum lazy", "dask", "numexpr mb", "NumPy mb", "fusenum mb",
              "fusenum str, tree tasks")
#: Ratio targets of the issue: fusenum against numexpr in map_blocks, and against dask's own.
TARGETS = {"elementwise": (2.0, 4.0), "reduction": (1.3, 1.3)}


# ---- what runs in a block (pickled by value with this script: it is __main__) -----------------------

def engine(name: str):
    """``evaluate(text, local_dict)`` of ``numexpr`` or ``fusenum`` (imported where the task runs)."""
    if name == "numexpr":
        import numexpr as module
    else:
        import fusenum as module
    return module.evaluate


def block_expression(name: str, text: str, names: str, *blocks):
    """``text`` over one block of each operand, by engine ``name``."""
    return engine(name)(text, local_dict=dict(zip(names, blocks)))


def block_dot(name: str, a, b):
    """``sum(a*b)`` of one block, as a 1-element array (one partial sum)."""
    if name == "NumPy":
        return np.reshape(np.sum(a * b), (1,))
    return np.reshape(engine(name)("sum(a*b)", local_dict={"a": a, "b": b}), (1,))


def block_column_sums(name: str, x, axis, keepdims):
    """``da.reduction``'s chunk step: the column sums of one block, keeping the axis."""
    if name == "NumPy":
        return np.sum(x, axis=0, keepdims=True)
    return engine(name)("sum(x, axis=0)", local_dict={"x": x})[None, :]


def sum_partials(x, axis, keepdims):
    return np.sum(x, axis=axis, keepdims=keepdims)


def mean_of_partials(rows: int, x, axis, keepdims):
    return np.sum(x, axis=axis, keepdims=keepdims) / rows


# ---- the cases ----------------------------------------------------------------------------------------

def numpy_of(case: str):
    """The case written with NumPy: a function of the inputs it names."""
    return {
        "2*a+3*b*c-sqrt(a)": lambda a, b, c: 2 * a + 3 * b * c - np.sqrt(a),
        "where(a>b, a, c)**2": lambda a, b, c: np.where(a > b, a, c) ** 2,
        "sum(a*b)": lambda a, b: np.sum(a * b),
        "A - mean(A, axis=0)": lambda A: A - np.mean(A, axis=0),
    }[case]


def in_map_blocks(case: str, name: str, x: dict):
    """The case per block in ``da.map_blocks`` (reductions by hand), by engine ``name``."""
    if case == "sum(a*b)":
        a, b = x["a"], x["b"]
        partials = da.map_blocks(functools.partial(block_dot, name), a, b, chunks=((1,) * a.numblocks[0],),
                                 dtype=F8, meta=np.empty((0,), F8))
        return partials.sum()
    if case == "A - mean(A, axis=0)":
        A = x["A"]
        m = da.reduction(A, functools.partial(block_column_sums, name),
                         functools.partial(mean_of_partials, A.shape[0]), combine=sum_partials, axis=0,
                         dtype=F8, meta=np.empty((0,), F8), concatenate=True)
        return _elementwise_blocks(name, "A - m", {"A": A, "m": m}, lambda A, m: A - m)
    names = "abc"
    return _elementwise_blocks(name, case, {n: x[n] for n in names}, numpy_of(case))


def _elementwise_blocks(name: str, text: str, x: dict, with_numpy):
    fn = with_numpy if name == "NumPy" else functools.partial(block_expression, name, text, "".join(x))
    return da.map_blocks(fn, *x.values(), dtype=F8, meta=np.empty((0,) * max(v.ndim for v in x.values()), F8))


def lazy_of(case: str, x: dict):
    """The case written with operators and NumPy functions on ``fusenum.lazy`` of the dask arrays."""
    lz = {n: fusenum.lazy(v) for n, v in x.items()}
    if case == "2*a+3*b*c-sqrt(a)":
        r = 2 * lz["a"] + 3 * lz["b"] * lz["c"] - np.sqrt(lz["a"])
    elif case == "where(a>b, a, c)**2":
        r = np.where(lz["a"] > lz["b"], lz["a"], lz["c"]) ** 2
    elif case == "sum(a*b)":
        r = np.sum(lz["a"] * lz["b"])
    else:
        r = lz["A"] - np.mean(lz["A"], axis=0)
    return fusenum.evaluate(r)


def dask_of(case: str, x: dict):
    if case == "2*a+3*b*c-sqrt(a)":
        return 2 * x["a"] + 3 * x["b"] * x["c"] - da.sqrt(x["a"])
    if case == "where(a>b, a, c)**2":
        return da.where(x["a"] > x["b"], x["a"], x["c"]) ** 2
    if case == "sum(a*b)":
        return (x["a"] * x["b"]).sum()
    return x["A"] - x["A"].mean(axis=0)


def builders(case: str, x: dict) -> dict:
    """Contender -> a function building the case's dask array from the persisted inputs ``x``."""
    names = {n: x[n] for n in ("A",)} if "A" in case else {n: x[n] for n in "abc" if n in case}
    return {
        "fusenum str": lambda: fusenum.evaluate(case, local_dict=names),
        "fusenum lazy": lambda: lazy_of(case, names),
        "dask": lambda: dask_of(case, names),
        "numexpr mb": lambda: in_map_blocks(case, "numexpr", names),
        "NumPy mb": lambda: in_map_blocks(case, "NumPy", names),
        "fusenum mb": lambda: in_map_blocks(case, "fusenum", names),
        **({"fusenum str, tree tasks": lambda: with_the_trees_own_tasks(case, names)}
           if "mean" in case else {}),
    }


def with_the_trees_own_tasks(case: str, names: dict):
    """``fusenum str`` as it was before the expression's tasks ran a reduction's tree themselves: each
    level of the tree its own tasks, as in dask's own graph (what that change buys, in the same run)."""
    from fusenum.frontend import dask_tree
    saved, dask_tree.MOST_PARTIALS_PER_TASK = dask_tree.MOST_PARTIALS_PER_TASK, 0
    try:
        return fusenum.evaluate(case, local_dict=names)
    finally:
        dask_tree.MOST_PARTIALS_PER_TASK = saved


CASES = {"2*a+3*b*c-sqrt(a)": "elementwise", "where(a>b, a, c)**2": "elementwise",
         "sum(a*b)": "reduction", "A - mean(A, axis=0)": "reduction"}


# ---- the cluster and its inputs -----------------------------------------------------------------------

def sizes(quick: bool) -> dict:
    scale = 100 if quick else 1
    side = 10_000 // (10 if quick else 1)
    return {"n": 10 ** 8 // scale, "chunk": 10 ** 7 // scale, "side": side, "rows": side // 10}


def start(workers: int, cache_dir: str):
    """A LocalCluster of ``workers`` single-threaded processes sharing ``cache_dir`` as fusenum's disk
    cache, and its client. Workers read OMP_NUM_THREADS=1 (distributed sets it), as numexpr does."""
    env = {"FUSENUM_CACHE_DIR": cache_dir, "FUSENUM_CACHE": "on"}
    # fusenum reads these at import, and a spawned worker imports this script (so fusenum) before
    # the Nanny applies env=: they must be in the environment the worker processes inherit.
    os.environ.update(env)
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, env=env, memory_limit="8GB")
    return cluster, distributed.Client(cluster)


def make_inputs(client, size: dict) -> dict:
    """``a``, ``b``, ``c``, ``A`` made and persisted on the workers (the client never holds them)."""
    rng = da.random.default_rng(16)
    x = {n: rng.random(size["n"], chunks=size["chunk"]) for n in "abc"}
    x["A"] = rng.random((size["side"], size["side"]), chunks=(size["rows"], size["side"]))
    x = dict(zip(x, client.persist(list(x.values()))))
    distributed.wait(list(x.values()))
    return x


def import_fusenum() -> str:
    import fusenum as module
    return module.__file__


def prime() -> float:
    """Seconds for this worker's first kernel (LLVM start-up, and a compile or a disk-cache load) of an
    expression no case uses; run before the first computes, so that they show each case's own cost."""
    import fusenum as module
    previous = module.set_tiering("never")
    try:
        started = time.perf_counter()
        module.evaluate("x*0.5 + 1.25", local_dict={"x": np.ones(16)})
        return time.perf_counter() - started
    finally:
        module.set_tiering(previous)


def counters() -> dict:
    import fusenum as module
    info = module.cache_info()
    return {"compiles": info.disk_misses, "compile_s": info.compile_seconds, "disk_loads": info.disk_hits,
            "tier0_calls": info.tier0_calls}


# ---- timing and checking ------------------------------------------------------------------------------

def timed_persist(client, build, use=None) -> tuple[float, object]:
    """Seconds to build the graph, persist it and wait for it; and ``use(persisted)`` (None without
    ``use``). Returns once the scheduler has forgotten the result: dask names are deterministic, so
    the next persist of the same graph would otherwise find it still in memory and cost nothing."""
    started = time.perf_counter()
    persisted = client.persist(build())
    distributed.wait(persisted)
    seconds = time.perf_counter() - started
    used = None if use is None else use(persisted)
    keys = list(dask.core.flatten(persisted.__dask_keys__()))
    del persisted
    deadline = time.monotonic() + 60
    while client.run_on_scheduler(_held, keys) and time.monotonic() < deadline:
        time.sleep(0.02)
    return seconds, used


def _held(keys, dask_scheduler=None) -> bool:
    return any(key in dask_scheduler.tasks for key in keys)


def subsample(case: str, x, size: dict):
    """A part of ``x`` (an input or a result of ``case``) small enough to check on the client."""
    if "A" in case:
        return x[:, :: max(1, size["side"] // 100)]
    if x.ndim == 0:
        return x
    return x[:: max(1, size["n"] // 1_000_000)]


def reference(case: str, x: dict, size: dict, client):
    """NumPy's answer on the subsample (``sum(a*b)``: NumPy's per-chunk sums added exactly, the whole)."""
    if case == "sum(a*b)":
        a, b = x["a"], x["b"]
        parts = []
        for k in range(a.numblocks[0]):
            ak, bk = client.compute([a.blocks[k], b.blocks[k]], sync=True)
            parts.append(float(np.sum(ak * bk)))
        return np.float64(math.fsum(parts))
    names = ["A"] if "A" in case else [n for n in "abc" if n in case]
    blocks = client.compute([subsample(case, x[n], size) for n in names], sync=True)
    return numpy_of(case)(*blocks)


def check(kind: str, got, want) -> str:
    got = np.asarray(got)
    if got.dtype != want.dtype or got.shape != want.shape:
        return f"WRONG dtype/shape {got.dtype}{got.shape}"
    if got.tobytes() == np.asarray(want).tobytes():
        return "bits"
    worst = float(np.max(np.abs(got - want)) / np.max(np.abs(want)))  # normwise: A - mean(A) has zeros
    if kind == "elementwise" or worst > 1e-12:
        return f"DIFFERS ({np.count_nonzero(got != want)} of {got.size}, max |diff|/max|x| {worst:.1e})"
    return f"max |diff|/max|x| {worst:.0e}"


# ---- the measurements ---------------------------------------------------------------------------------

def cluster_first_persists(client, x: dict) -> tuple[float, float]:
    """Seconds of the first and second ``persist`` of the first case through ``NumPy mb``: what a fresh
    cluster's first computation costs with no fusenum in it (its workers' first big allocations, the
    scheduler's first graph), paid here so that :func:`first_computes` shows fusenum's own cost."""
    build = builders(next(iter(CASES)), x)["NumPy mb"]
    return timed_persist(client, build)[0], timed_persist(client, build)[0]


def first_computes(client, x: dict) -> dict:
    """Seconds of the first and second ``persist`` of each case through ``fusenum str``."""
    out = {}
    for case in CASES:
        build = builders(case, x)["fusenum str"]
        first, _ = timed_persist(client, build)
        second, _ = timed_persist(client, build)
        out[case] = (first, second)
    return out


def main_table(client, x: dict, size: dict, repeat: int) -> tuple[dict, dict, dict, int]:
    """Median seconds per case and contender, the checks, the task stream of one untimed fusenum str run, and the
    interpreted (tier 0) calls on the workers during the timed runs (0 when every kernel was ready)."""
    times, checks, streams, tier0 = {}, {}, {}, 0
    for case, kind in CASES.items():
        build = builders(case, x)
        want = reference(case, x, size, client)
        checks[case] = {}
        for name, fn in build.items():
            _, got = timed_persist(client, fn, lambda r, case=case: client.compute(subsample(case, r, size),
                                                                                 sync=True))
            checks[case][name] = check(kind, got, want)  # the warm-up's result
        samples = {name: [] for name in build}
        tier0 -= _tier0_calls(client)
        names = list(build)
        for turn in range(repeat):
            # each repeat starts with another contender: the first one of a repeat pays for the
            # workers freeing the previous repeat's results (fusenum str, always first, was ~10% slower)
            for name in names[turn % len(names):] + names[:turn % len(names)]:
                t, _ = timed_persist(client, build[name])
                samples[name].append(t)
        tier0 += _tier0_calls(client)
        # The task stream of one more fusenum str run, untimed: recording it costs the scheduler time
        # (it made the timed fusenum str runs of the tree reduction ~20% slower than fusenum lazy's).
        # Its wall time is kept beside its tasks: the scheduler column compares the two from one run
        # (against the timed runs' median, one slow recorded run gave a negative difference).
        with distributed.get_task_stream(client) as stream:
            wall, _ = timed_persist(client, build["fusenum str"])
        streams[case] = (wall, stream.data)
        times[case] = {name: statistics.median(s) for name, s in samples.items()}
        print(f"  {case}: " + ", ".join(f"{n} {_ms(t)}" for n, t in times[case].items()), flush=True)
    return times, checks, streams, tier0


def _tier0_calls(client) -> int:
    return sum(c["tier0_calls"] for c in client.run(counters).values())


def task_seconds(records: list) -> float:
    """Compute seconds of all tasks in one run's task stream (transfers left out)."""
    return sum(ss["stop"] - ss["start"] for rec in records for ss in rec["startstops"]
               if ss["action"] == "compute")


def kernel_on_one_chunk(client, case: str, x: dict, repeat: int) -> float:
    """Median seconds of ``fusenum.evaluate(case)`` on one chunk's ndarrays in this process, one thread."""
    names = ["A"] if "A" in case else [n for n in "abc" if n in case]
    arrays = dict(zip(names, client.compute([x[n].blocks[0] for n in names], sync=True)))
    saved = fusenum.get_num_threads()
    fusenum.set_num_threads(1)
    try:
        fusenum.evaluate(case, local_dict=arrays)
        fusenum.evaluate(case, local_dict=arrays)
        samples = []
        for _ in range(max(repeat, 5)):
            started = time.perf_counter()
            fusenum.evaluate(case, local_dict=arrays)
            samples.append(time.perf_counter() - started)
    finally:
        fusenum.set_num_threads(saved)
    return statistics.median(samples)


# ---- the report ---------------------------------------------------------------------------------------

def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds >= 0.01 else f"{seconds * 1e3:.2f} ms"


def table_lines(times: dict) -> list[str]:
    lines = ["| case | " + " | ".join(CONTENDERS) + " | numexpr mb / fusenum | dask / fusenum | targets |",
             "|---" * (len(CONTENDERS) + 4) + "|"]
    for case, kind in CASES.items():
        t = times[case]
        ours = t["fusenum str"]
        vs_ne, vs_dask = t["numexpr mb"] / ours, t["dask"] / ours
        want_ne, want_dask = TARGETS[kind]
        met = "met" if vs_ne >= want_ne and vs_dask >= want_dask else "NOT met"
        lines.append(f"| `{case}` | " + " | ".join(_ms(t[n]) if n in t else "-" for n in CONTENDERS)
                     + f" | {vs_ne:.2f}x | {vs_dask:.2f}x | ≥ {want_ne}x / ≥ {want_dask}x: {met} |")
    return lines


def first_lines(cold: dict, warm: dict, cold_counts: dict, warm_counts: dict) -> list[str]:
    lines = ["| case | cold: first | cold: second | warm: first | warm: second |", "|---|---|---|---|---|"]
    for case in CASES:
        lines.append(f"| `{case}` | {_ms(cold[case][0])} | {_ms(cold[case][1])} | {_ms(warm[case][0])} | "
                     f"{_ms(warm[case][1])} |")
    lines.append("")
    for label, counts in (("cold", cold_counts), ("warm", warm_counts)):
        for worker, c in sorted(counts.items()):
            lines.append(f"- {label}, worker {worker}: {c['compiles']} kernels compiled "
                         f"({c['compile_s']:.2f} s compiling), {c['disk_loads']} loaded from the disk cache, "
                         f"{c['tier0_calls']} interpreted (tier 0) calls")
    return lines


def scheduler_lines(streams: dict, kernels: dict, size: dict, workers: int) -> list[str]:
    lines = [("| case | kernel on one chunk, this process, 1 thread | task compute per chunk, cluster | "
              "wall per chunk per worker | scheduler and transfer (wall - compute / workers) |"),
             "|---|---|---|---|---|"]
    for case in CASES:
        chunks = size["side"] // size["rows"] if "A" in case else size["n"] // size["chunk"]
        wall, records = streams[case]
        compute = task_seconds(records)
        lines.append(f"| `{case}` | {_ms(kernels[case])} | {_ms(compute / chunks)} | "
                     f"{_ms(wall * workers / chunks)} | {_ms(wall - compute / workers)} |")
    return lines


def header(size: dict, workers: int, client, command: str) -> list[str]:
    threads = client.run(lambda: (__import__("fusenum").get_num_threads(),
                                  __import__("numexpr").get_num_threads()))
    return [f"`{command}`", "",
            (f"fusenum {fusenum.__version__} ({fusenum.get_simd()}), NumPy {np.__version__}, numexpr "
            f"{numexpr.__version__}, dask {dask.__version__}, distributed {distributed.__version__}; "
            f"LocalCluster of {workers} worker processes, 1 thread each (fusenum, numexpr threads per "
            f"worker: {sorted(set(threads.values()))}); float64; a, b, c: {size['n']:.0e} elements in chunks "
            f"of {size['chunk']:.0e}; A: {size['side']}x{size['side']} in ({size['rows']}, {size['side']}) "
            f"chunks; {os.cpu_count()} CPUs"), "", f"load before: `{_uptime()}`"]


def _uptime() -> str:
    try:
        done = subprocess.run(["uptime"], capture_output=True, text=True, timeout=5, check=False)
        return done.stdout.strip()
    except OSError:
        return "unknown"


def measure(workers: int, size: dict, repeat: int) -> dict:
    """Everything the report shows: a cold cluster (first computes, the table, the per-chunk kernel),
    then a warm one (first computes), both over one new disk-cache directory."""
    r = {}
    with tempfile.TemporaryDirectory(prefix="fusenum-dask-cache-") as cache_dir:
        cluster, client = start(workers, cache_dir)
        try:
            r["header"] = header(size, workers, client, "")
            x = make_inputs(client, size)
            client.run(import_fusenum)
            r["cold_prime"] = client.run(prime)
            r["cold_cluster"] = cluster_first_persists(client, x)
            r["cold"] = first_computes(client, x)
            r["cold_counts"] = client.run(counters)
            print("cold first computes done", flush=True)
            r["times"], r["checks"], r["streams"], r["tier0"] = main_table(client, x, size, repeat)
            r["kernels"] = {case: kernel_on_one_chunk(client, case, x, repeat) for case in CASES}
        finally:
            client.close()
            cluster.close()
        cluster, client = start(workers, cache_dir)
        try:
            x = make_inputs(client, size)
            client.run(import_fusenum)
            r["warm_prime"] = client.run(prime)
            r["warm_cluster"] = cluster_first_persists(client, x)
            r["warm"] = first_computes(client, x)
            r["warm_counts"] = client.run(counters)
        finally:
            client.close()
            cluster.close()
    return r


def report(r: dict, command: str, size: dict, repeat: int, workers: int) -> str:
    lines = [f"`{command}`"] + r["header"][1:]
    lines += ["", f"Median of {repeat} interleaved repeats, persist + wait (graph building included):", ""]
    lines += table_lines(r["times"])
    lines += ["", ("Checked against NumPy on a subsample (elementwise: bit for bit; `sum(a*b)`: the whole, "
                   "against NumPy's per-chunk sums added exactly):"), ""]
    lines += [f"- `{case}`: " + ", ".join(f"{n} {c}" for n, c in r["checks"][case].items()) for case in CASES]
    lines += ["", ("First compute on fresh workers (fusenum str; fusenum already imported there), "
                   "FUSENUM_CACHE_DIR shared by the workers, cold (empty) then warm "
                   "(the restarted cluster):"), ""]
    lines += first_lines(r["cold"], r["warm"], r["cold_counts"], r["warm_counts"])
    cold, warm = (", ".join(_ms(t) for t in r[k].values()) for k in ("cold_prime", "warm_prime"))
    lines += [(f"- each worker's first kernel (`x*0.5 + 1.25`, before the cases; LLVM start-up and a compile "
               f"or a load): cold {cold}, warm {warm}"),
              (f"- before these, each fresh cluster's first two persists of `{next(iter(CASES))}` through NumPy mb "
               f"(no fusenum in them: the workers' first big allocations, the scheduler's first graph): cold "
               f"{', '.join(map(_ms, r['cold_cluster']))}, warm {', '.join(map(_ms, r['warm_cluster']))}"),
              f"- interpreted (tier 0) calls on the workers in the first table's timed runs: {r['tier0']}"]
    lines += ["", "What the scheduler costs (one more fusenum str run, its task stream recorded):", ""]
    lines += scheduler_lines(r["streams"], r["kernels"], size, workers)
    lines += ["", f"load after: `{_uptime()}`"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes / 100: a smoke test")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="also write the report (markdown) here")
    parser.add_argument("--case", action="append", choices=list(CASES),
                        help="only this case (repeatable; default: all)")
    args = parser.parse_args(argv)
    for case in set(CASES) - set(args.case or CASES):
        del CASES[case]
    os.environ.pop("FUSENUM_NUM_THREADS", None)  # the workers follow OMP_NUM_THREADS=1
    size = sizes(args.quick)
    given = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python3 benchmarks/dask_report.py", *given])
    text = report(measure(args.workers, size, args.repeat), command, size, args.repeat, args.workers)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
