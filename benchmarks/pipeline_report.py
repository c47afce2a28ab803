"""Steady-state speed of the optimized build under LLVM pass pipelines: today's against the former one.

fusenum's optimized build runs no LLVM module passes, only ``opt=3`` code generation
(:mod:`fusenum.codegen.jit`): its IR is vectorized already, and the module pipeline cost ~25 ms per
kernel and left ~70 KB behind per run in llvmlite's pass manager. This script checks what that
costs in speed, kernel by kernel, on the report's expressions and the math benchmark's functions
(``benchmarks/common.py``), each compiled afresh under every pipeline in every round:

* ``shipped``: fusenum's optimized build, as it ships;
* ``O3``: LLVM's ``-O3`` module pipeline (llvmlite's pass builder) before the same code generation,
  as fusenum compiled before its pipeline was chosen (issue 12's "today's" figures);
* ``O1-simplify``: LLVM's ``-O1`` pipeline with loop unrolling, loop and SLP vectorization and
  interleaving off: only its function simplification;
* ``O3-again``: ``O3`` once more, compiled separately: the control. Its machine code is ``O3``'s,
  placed elsewhere in memory, so its ratios show how far a build is from itself in this run (on
  2026-12-05, memory-bound rows such as ``a+b*c`` moved by up to 10% between identical builds).

No pipeline changes a result's bits (no fast-math, no contraction): the last column checks it.
Each kernel runs on one thread with ``out=`` given (the same array for every pipeline); per round
the best of 7 calls, and the table
gives the best over the rounds, the pipelines taken in turn (rows of cheap, memory-bound
expressions still move by about 10% between runs on a shared machine; compare several runs).
Also printed: the median CPU time of each pipeline's compile.

    python3 benchmarks/pipeline_report.py [--size 1000000] [--rounds 15] [--dtypes float64,float32]

It routes fusenum's compiles through its own function (``jit._build_in_context``, a private
hook: this is a measuring tool, not an interface) and needs ``llvmlite.binding``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if __name__ == "__main__":  # (asv imports every module here: its benchmarks must not inherit these)
    os.environ.update(FUSENUM_CACHE="off", FUSENUM_TIERING="never", FUSENUM_COMPILE="optimized")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402

import fusenum  # noqa: E402
from benchmarks.common import EXPRESSIONS, MATH, math_operands, operands  # noqa: E402
from fusenum.codegen import jit, orc  # noqa: E402

PIPELINES = ("O3", "shipped", "O1-simplify", "O3-again")
llvm = None  # llvmlite.binding, imported by main()
_shipped_build = jit._build_in_context
_machines: dict[tuple, object] = {}
_state = {"pipeline": "shipped"}
compile_seconds: dict[str, list[float]] = {name: [] for name in PIPELINES}


def _tuning(pipeline: str):
    if pipeline.startswith("O3"):
        return llvm.create_pipeline_tuning_options(speed_level=3)
    options = llvm.create_pipeline_tuning_options(speed_level=1)
    options.loop_unrolling = options.loop_vectorization = False
    options.slp_vectorization = options.loop_interleaving = False
    return options


def _build(module_text: str, target, level: int, object_code: bool) -> bytes:
    """``jit._build_in_context`` under the current pipeline (module passes through llvmlite.binding)."""
    pipeline, started = _state["pipeline"], time.thread_time()
    try:
        if pipeline == "shipped":
            return _shipped_build(module_text, target, level, object_code)
        key = (target.cpu, target.features, level)
        if key not in _machines:
            _machines[key] = llvm.Target.from_triple(llvm.get_process_triple()).create_target_machine(
                cpu=target.cpu, features=target.features, opt=level, reloc="pic", codemodel=orc.CODE_MODEL)
        machine = _machines[key]
        module = llvm.parse_assembly(module_text, context=llvm.create_context())
        module.verify()
        module.triple, module.data_layout = llvm.get_process_triple(), str(machine.target_data)
        builder = llvm.create_pass_builder(machine, _tuning(pipeline))
        builder.getModulePassManager().run(module, builder)
        return machine.emit_object(module) if object_code else machine.emit_assembly(module).encode()
    finally:
        compile_seconds[pipeline].append(time.thread_time() - started)


def _cases(size: int, dtypes: list[str]) -> list[tuple[str, str, dict]]:
    cases = []
    for dtype in dtypes:
        cases += [(text, dtype, operands(size, dtype)) for text in EXPRESSIONS]
        cases += [(text, dtype, math_operands(size, dtype)) for text in MATH]
    return cases


def measure(size: int, rounds: int, dtypes: list[str]) -> tuple[dict, dict, list]:
    """Best seconds per (expression, dtype, pipeline), and whether all pipelines gave the same bits."""
    cases = _cases(size, dtypes)
    times: dict[tuple, list[float]] = {}
    results: dict[tuple, set] = {}
    # One output array per expression, written by every pipeline: a fresh one per pipeline moved
    # rows by up to 10% with the same machine code (where its pages happened to be).
    with np.errstate(all="ignore"):
        outs = [fusenum.evaluate(text, local_dict=names) for text, _, names in cases]
    for turn in range(rounds):
        for (text, dtype, names), out in zip(cases, outs):
            turns = turn % len(PIPELINES)
            for pipeline in PIPELINES[turns:] + PIPELINES[:turns]:
                _state["pipeline"] = pipeline
                fusenum.clear_cache()  # compiled again, under this pipeline
                with np.errstate(all="ignore"):
                    fusenum.evaluate(text, local_dict=names, out=out)
                    best = float("inf")
                    for _ in range(7):
                        started = time.perf_counter()
                        fusenum.evaluate(text, local_dict=names, out=out)
                        best = min(best, time.perf_counter() - started)
                times.setdefault((text, dtype, pipeline), []).append(best)
                results.setdefault((text, dtype), set()).add(out.tobytes())
    return times, {key: len(found) == 1 for key, found in results.items()}, cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--dtypes", default="float64,float32")
    args = parser.parse_args()
    global llvm
    import llvmlite.binding as llvm
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    jit._build_in_context = _build
    fusenum.set_num_threads(1)
    times, same_bits, cases = measure(args.size, args.rounds, args.dtypes.split(","))
    print(f"fusenum {fusenum.__version__} ({fusenum.get_simd()}), {args.size:,} elements, 1 thread, "
          f"best of {args.rounds} rounds; µs, and the ratio to O3\n")
    print("| expression | dtype | " + " | ".join(PIPELINES) + " | same bits |")
    print("| --- | --- |" + " ---: |" * len(PIPELINES) + " :---: |")
    ratios: dict[str, list[float]] = {name: [] for name in PIPELINES}
    for text, dtype, _ in cases:
        former = min(times[(text, dtype, "O3")])
        cells = []
        for pipeline in PIPELINES:
            best = min(times[(text, dtype, pipeline)])
            ratios[pipeline].append(best / former)
            cells.append(f"{best * 1e6:,.1f} ({best / former:.2f})")
        print(f"| `{text}` | {dtype} | " + " | ".join(cells) + f" | {'yes' if same_bits[(text, dtype)] else 'NO'} |")
    print()
    for pipeline in PIPELINES:
        print(f"{pipeline}: geometric mean {np.exp(np.mean(np.log(ratios[pipeline]))):.3f} of O3's time, "
              f"slowest row {max(ratios[pipeline]):.2f}, at most 5% slower than O3: "
              f"{sum(r <= 1.05 for r in ratios[pipeline])} of {len(cases)} rows; compile CPU median "
              f"{statistics.median(compile_seconds[pipeline]) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
