"""Run by tests/runtime/test_interrupts.py in a subprocess: SIGINT to itself during a big
computation and during a big compile; prints how long KeyboardInterrupt took, as JSON."""
import json
import os
import random
import signal
import sys
import threading
import time

import numpy as np

import fusenum


def interrupt_after(seconds: float, action) -> float | None:
    """Run ``action`` with a SIGINT sent ``seconds`` after it starts: the latency, or None if it
    finished before the signal."""
    fired = []

    def fire():
        fired.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(seconds, fire)
    timer.start()
    try:
        action()
    except KeyboardInterrupt:
        return time.perf_counter() - fired[0]
    finally:
        timer.join()
    return None


def exact_text(terms: int, seed: int):
    """A long expression of exactly rounded operations, and NumPy's value of it (a left fold)."""
    rng = random.Random(seed)
    env = {"a": np.linspace(0.5, 2, 1000), "b": np.linspace(1, 3, 1000)}
    text, expected = "a", env["a"].copy()
    for _ in range(terms):
        sign, term = rng.choice("+-"), rng.choice(["sqrt(a*b)", "a/b", "maximum(a, b)*a", f"b*{rng.random():.4f}"])
        text += sign + term
        value = eval(term, {"sqrt": np.sqrt, "maximum": np.maximum}, env)  # the oracle, on trusted text
        expected = expected + value if sign == "+" else expected - value
    return text, env, expected


def main() -> None:
    # A shell starts background jobs with SIGINT ignored, and Python then keeps it ignored: install
    # Python's own handler, as an interactive session has it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    size = int(sys.argv[1])
    report = {}
    a = np.linspace(0, 1, size)
    text = "sin(cos(sin(cos(sin(cos(a))))))*exp(a)"
    small = fusenum.evaluate(text, {"a": a[:4096]})  # compiled; the big calls run the same kernel
    # Actions repeat, so that the signal finds them running on a fast machine too.
    report["compute"] = interrupt_after(0.2, lambda: [fusenum.evaluate(text, {"a": a}) for _ in range(100)])
    again = fusenum.evaluate(text, {"a": a})
    report["compute_after_ok"] = bool(np.array_equal(again[:4096], small))

    def lazy_expression(x):
        return np.sin(np.cos(np.sin(np.cos(np.sin(np.cos(x)))))) * np.exp(x)

    made = []

    def force_lazy_arrays():
        for _ in range(100):
            made.append(lazy_expression(fusenum.lazy(a)))
            made[-1].compute()

    report["lazy"] = interrupt_after(0.2, force_lazy_arrays)
    lazy = made[-1]
    report["lazy_not_forced"] = not lazy.is_forced
    report["lazy_after_ok"] = bool(np.array_equal(lazy.compute()[:4096], small))

    texts = [exact_text(int(sys.argv[2]), seed) for seed in range(20)]
    started = []

    def compile_texts():
        for big, env, _ in texts:
            started.append(big)
            fusenum.evaluate(big, env)

    report["compile"] = interrupt_after(0.2, compile_texts)
    big, env, expected = texts[len(started) - 1]
    report["compile_after_ok"] = bool(np.array_equal(fusenum.evaluate(big, env), expected))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
