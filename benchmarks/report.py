"""The performance report: fusenum vs NumPy vs numexpr vs a C OpenMP loop, as Markdown and PNG.

    python benchmarks/report.py                      # full report (a few minutes)
    python benchmarks/report.py --sizes 1e6 --dtypes float64 --threads all

Everything is measured in one process: each contender runs the same
expression on the same arrays and the best of several repeats is kept. On one
thread the runs are interleaved, so machine noise hits all contenders alike;
on several threads each contender runs in a block of its own (in four rounds,
each after a pause), because
the thread pools of OpenMP, numexpr and fusenum spin between calls and would
otherwise fight over the cores. Results go
to ``benchmarks/report.md`` (table) and ``benchmarks/report.png`` (speed-up
over NumPy of fusenum and numexpr, per expression and size).

The C reference is the same expression written as a plain loop, compiled by
this script with the system C compiler (``cc -O3 -march=native -fopenmp
-fno-math-errno``; the last flag lets it vectorize ``sqrt``) and
called through ctypes; "% of C" is the C loop's time over fusenum's, i.e. how
close fusenum comes to what the machine does with a hand-written loop (above
100% is faster). All calls write into a preallocated ``out`` so no contender
pays for allocation (NumPy too: its last operation writes into ``out``).
"""
from __future__ import annotations

import argparse
import ctypes
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numexpr
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import fusenum  # noqa: E402

from benchmarks.compare import best_times  # noqa: E402

# text -> (NumPy writing into out, C loop body with T the element type and K() a constant of type T)
EXPRESSIONS = {
    "a+b*c": (lambda a, b, c, out: np.add(a, b * c, out=out), "a[i] + b[i] * c[i]"),
    "2*a+3*b-c": (lambda a, b, c, out: np.subtract(2 * a + 3 * b, c, out=out), "K(2) * a[i] + K(3) * b[i] - c[i]"),
    "((.25*a+.75)*a-1.5)*a-2": (lambda a, b, c, out: np.subtract(((.25 * a + .75) * a - 1.5) * a, 2, out=out),
                                "((K(.25) * a[i] + K(.75)) * a[i] - K(1.5)) * a[i] - K(2)"),
    "where(a>b,a,c)": (lambda a, b, c, out: np.copyto(out, np.where(a > b, a, c)), "a[i] > b[i] ? a[i] : c[i]"),
    "sqrt(a**2+b**2)": (lambda a, b, c, out: np.sqrt(a ** 2 + b ** 2, out=out), "SQRT(a[i] * a[i] + b[i] * b[i])"),
    "sin(a)**2+cos(b)**2": (lambda a, b, c, out: np.add(np.sin(a) ** 2, np.cos(b) ** 2, out=out),
                            "SIN(a[i]) * SIN(a[i]) + COS(b[i]) * COS(b[i])"),
    "exp(a)*log(b+1)": (lambda a, b, c, out: np.multiply(np.exp(a), np.log(b + 1), out=out),
                        "EXP(a[i]) * LOG(b[i] + K(1))"),
}
#: The memory-bound expressions, on which fusenum should reach the C loop.
MEMORY_BOUND = ["a+b*c", "2*a+3*b-c", "((.25*a+.75)*a-1.5)*a-2", "where(a>b,a,c)", "sqrt(a**2+b**2)"]

_C_TYPES = {"float64": ("double", ""), "float32": ("float", "f")}


def build_c_reference(dtype: str, workdir: Path):
    """Compile the C loops for ``dtype``; returns the ctypes library, or None without a compiler."""
    ctype, suffix = _C_TYPES[dtype]
    lines = ["#include <math.h>", "#include <omp.h>", f"typedef {ctype} T;", "#define K(x) ((T)(x))"]
    lines += [f"#define {name} {name.lower()}{suffix}" for name in ("SQRT", "SIN", "COS", "EXP", "LOG")]
    lines.append("void set_threads(int n) { omp_set_num_threads(n); }")
    for k, (_, body) in enumerate(EXPRESSIONS.values()):
        lines.append(f"void expr{k}(const T *restrict a, const T *restrict b, const T *restrict c, "
                     f"T *restrict out, long n) {{\n  #pragma omp parallel for simd schedule(static)\n"
                     f"  for (long i = 0; i < n; i++) out[i] = {body};\n}}")
    return compile_c("\n".join(lines) + "\n", workdir, f"reference_{dtype}")


def compile_c(source_text: str, workdir: Path, stem: str) -> ctypes.CDLL | None:
    """Compile ``source_text`` with OpenMP into ``workdir/lib<stem>.so`` and load it with ctypes.

    Returns None without a C compiler, or if the compilation fails (no OpenMP, say).
    """
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        return None
    source, library = workdir / f"{stem}.c", workdir / f"lib{stem}.so"
    source.write_text(source_text)
    # -fno-math-errno lets the compiler vectorize sqrt (results are the same; only errno is not set).
    command = [compiler, "-O3", "-march=native", "-fno-math-errno", "-fopenmp", "-shared", "-fPIC",
               str(source), "-o", str(library), "-lm"]
    if subprocess.run(command, capture_output=True).returncode != 0:
        return None
    return ctypes.CDLL(str(library))


def measure(dtype: str, sizes, thread_counts, reference) -> list[dict]:
    rows = []
    for threads in thread_counts:
        fusenum.set_num_threads(threads)
        numexpr.set_num_threads(threads)
        if reference is not None:
            reference.set_threads(threads)
        for size in sizes:
            rng = np.random.default_rng(0)
            names = {k: rng.random(size).astype(dtype) for k in "abc"}
            out = np.empty(size, dtype)
            pointers = [ctypes.c_void_p(names[k].ctypes.data) for k in "abc"] + [ctypes.c_void_p(out.ctypes.data)]
            for k, (text, (with_numpy, _)) in enumerate(EXPRESSIONS.items()):
                contenders = {
                    "fusenum": lambda: fusenum.evaluate(text, local_dict=names, out=out),
                    "numpy": lambda: with_numpy(**names, out=out),
                    "numexpr": lambda: numexpr.evaluate(text, local_dict=names, out=out),
                }
                if reference is not None:
                    function = getattr(reference, f"expr{k}")
                    contenders["C"] = lambda: function(*pointers, ctypes.c_long(size))
                times = best_times(contenders, seconds=0.25 if size < 10**6 else 0.6, interleave=threads == 1)
                rows.append(dict(expression=text, dtype=dtype, size=size, threads=threads, **times))
                _print_row(rows[-1])
    return rows


def _print_row(row: dict) -> None:
    c = row.get("C")
    percent = f"{100 * c / row['fusenum']:5.0f}%" if c else "   n/a"
    print(f"{row['expression']:24} {row['dtype']:8} {row['size']:>9} {row['threads']:>2}t  "
          f"fusenum {row['fusenum'] * 1e6:10.1f}us  numpy {row['numpy'] * 1e6:10.1f}us  "
          f"numexpr {row['numexpr'] * 1e6:10.1f}us  C {c * 1e6 if c else float('nan'):10.1f}us  {percent} of C",
          flush=True)


def write_markdown(rows: list[dict], path: Path, header: str) -> None:
    lines = [header, "",
             "| expression | dtype | size | threads | fusenum | NumPy | numexpr | C loop | fusenum vs NumPy "
             "| fusenum vs numexpr | % of C |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        c, fused = r.get("C"), r["fusenum"]
        percent_of_c = f"{100 * c / fused:.0f}%" if c else "n/a"
        lines.append(f"| `{r['expression']}` | {r['dtype']} | {r['size']:,} | {r['threads']} | {_us(fused)} "
                     f"| {_us(r['numpy'])} | {_us(r['numexpr'])} | {_us(c) if c else 'n/a'} "
                     f"| {r['numpy'] / fused:.2f}x | {r['numexpr'] / fused:.2f}x | {percent_of_c} |")
    path.write_text("\n".join(lines) + "\n")


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:,.2f} ms"


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({(r["dtype"], r["threads"]) for r in rows})
    expressions = list(dict.fromkeys(r["expression"] for r in rows))
    sizes = sorted({r["size"] for r in rows})
    fig, axes = plt.subplots(len(panels), 1, figsize=(13, 3.6 * len(panels)), squeeze=False)
    width = 0.8 / (2 * len(sizes))
    for ax, (dtype, threads) in zip(axes[:, 0], panels):
        for s, size in enumerate(sizes):
            for j, (who, color) in enumerate((("fusenum", "tab:blue"), ("numexpr", "tab:orange"))):
                values = []
                for text in expressions:
                    match = [r for r in rows if (r["expression"], r["dtype"], r["threads"], r["size"])
                             == (text, dtype, threads, size)]
                    values.append(match[0]["numpy"] / match[0][who] if match else np.nan)
                offset = (2 * s + j - len(sizes)) * width + width / 2
                ax.bar(np.arange(len(expressions)) + offset, values, width, color=color,
                       alpha=0.35 + 0.65 * (s + 1) / len(sizes),
                       label=f"{who}, n={size:.0e}" if ax is axes[0, 0] else None)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_ylabel("speed-up over NumPy")
        ax.set_title(f"{dtype}, {threads} thread{'s' if threads > 1 else ''}")
        ax.set_xticks(np.arange(len(expressions)), expressions, fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _sizes(text: str) -> list[int]:
    return [int(float(s)) for s in text.split(",")]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1e3,1e4,1e5,1e6,1e7", help="comma-separated element counts")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--threads", default="1,all", help="comma-separated counts; 'all' = every usable core")
    parser.add_argument("--expressions", default=";".join(EXPRESSIONS), help="';'-separated subset, by text")
    parser.add_argument("--output", default=str(HERE / "report"), help="path stem for .md and .png")
    args = parser.parse_args(argv)
    all_threads = fusenum.get_num_threads()
    thread_counts = sorted({all_threads if t == "all" else int(t) for t in args.threads.split(",")})
    chosen = args.expressions.split(";")
    for text in list(EXPRESSIONS):
        if text not in chosen:
            del EXPRESSIONS[text]
    header = (f"fusenum {fusenum.__version__} ({fusenum.get_simd()}), NumPy {np.__version__}, numexpr "
              f"{numexpr.__version__}, {all_threads} usable cores. Best of interleaved runs, out= preallocated.")
    print(header)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for dtype in args.dtypes.split(","):
            reference = build_c_reference(dtype, Path(workdir))
            if reference is None:
                print(f"no C compiler with OpenMP found: the C column is empty for {dtype}")
            rows += measure(dtype, _sizes(args.sizes), thread_counts, reference)
    stem = Path(args.output)
    write_markdown(rows, stem.with_suffix(".md"), header)
    try:
        import matplotlib  # noqa: F401 (an optional extra: without it, the table alone)
    except ImportError:
        drawn = "(no PNG: matplotlib is not installed)"
    else:
        plot(rows, stem.with_suffix(".png"), "fusenum and numexpr speed-up over NumPy (higher is better)")
        drawn = f"and {stem.with_suffix('.png')}"
    _summary(rows, all_threads)
    print(f"\nwrote {stem.with_suffix('.md')} {drawn}")


def _summary(rows: list[dict], all_threads: int) -> None:
    """The issue's targets, from this run."""
    big = [r for r in rows if r["size"] == max(x["size"] for x in rows) and r["dtype"] == "float64"
           and r["threads"] == all_threads and r["expression"] in MEMORY_BOUND]
    if big and all("C" in r for r in big):
        print("\nlargest float64 size, all threads, memory-bound set:")
        for r in big:
            print(f"  {r['expression']:24} {100 * r['C'] / r['fusenum']:5.0f}% of C, "
                  f"{r['numexpr'] / r['fusenum']:.2f}x numexpr")
        geomean = math.exp(sum(math.log(r["numexpr"] / r["fusenum"]) for r in big) / len(big))
        print(f"  geometric mean vs numexpr: {geomean:.2f}x")


if __name__ == "__main__":
    main()
