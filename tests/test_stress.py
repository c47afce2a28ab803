"""Stress: threads mixing new and cached expressions, strings and lazy arrays, checked against NumPy.

Runs for ``FUSENUM_STRESS_SECONDS`` (default 3) seconds; set it higher for a longer soak.
Only exactly rounded operations are generated, so every result must be NumPy's bit for bit.
"""
import operator
import os
import random
import threading
import time

import numpy as np

import fusenum

SECONDS = float(os.environ.get("FUSENUM_STRESS_SECONDS", "3"))
THREADS = 4
SIZES = [1, 17, 1000, 300_000]
DTYPES = [np.float64, np.float32]

# Python's operators, as the text means: two constants fold to a weak Python float.
_BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_FUNCTIONS = {"maximum": np.maximum, "minimum": np.minimum}


def random_tree(rng: random.Random, depth: int):
    """An expression over ``a``, ``b`` (b in [1, 2], the only divisor) and a weak constant."""
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(["a", "b", ("const", rng.choice([0.5, 2.0, 3.25]))])
    kind = rng.randrange(5)
    if kind == 0:
        return (rng.choice(list(_BINARY)), random_tree(rng, depth - 1), random_tree(rng, depth - 1))
    if kind == 1:
        return (rng.choice(list(_FUNCTIONS)), random_tree(rng, depth - 1), random_tree(rng, depth - 1))
    if kind == 2:
        return ("/", random_tree(rng, depth - 1), "b")
    if kind == 3:
        return ("sqrt", random_tree(rng, depth - 1))
    return ("where", random_tree(rng, depth - 1), random_tree(rng, depth - 1), random_tree(rng, depth - 1))


def text_of(tree) -> str:
    if isinstance(tree, str):
        return tree
    op, *args = tree
    if op == "const":
        return repr(args[0])
    if op in _BINARY or op == "/":
        return f"({text_of(args[0])} {op} {text_of(args[1])})"
    if op == "sqrt":
        return f"sqrt(abs({text_of(args[0])}))"
    if op == "where":
        return f"where({text_of(args[0])} > {text_of(args[1])}, {text_of(args[1])}, {text_of(args[2])})"
    return f"{op}({text_of(args[0])}, {text_of(args[1])})"


def value_of(tree, env: dict):
    """The tree computed by NumPy's functions on ``env``'s values (ndarrays or lazy arrays)."""
    if isinstance(tree, str):
        return env[tree]
    op, *args = tree
    if op == "const":
        return args[0]
    values = [value_of(arg, env) for arg in args]
    if op in _BINARY:
        return _BINARY[op](*values)
    if op == "/":
        return values[0] / values[1]
    if op == "sqrt":
        return np.sqrt(np.abs(values[0]))
    if op == "where":
        return np.where(values[0] > values[1], values[1], values[2])
    return _FUNCTIONS[op](*values)


def work(seed: int, deadline: float, cached: list, failures: list, counts: list) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline and not failures:
        tree = rng.choice(cached) if rng.random() < 0.7 else random_tree(rng, rng.randrange(1, 5))
        dtype, size = rng.choice(DTYPES), rng.choice(SIZES)
        a = np.linspace(-3, 3, size).astype(dtype)
        b = np.linspace(1, 2, size).astype(dtype)[::-1].copy()
        expected = np.asarray(value_of(tree, {"a": a, "b": b}))
        try:
            if rng.random() < 0.5:
                got = fusenum.evaluate(text_of(tree), {"a": a, "b": b})
            else:
                got = np.asarray(value_of(tree, {"a": fusenum.lazy(a), "b": fusenum.lazy(b)}))
            assert got.dtype == expected.dtype and got.shape == expected.shape, (got.dtype, expected.dtype)
            assert np.array_equal(got, expected, equal_nan=True), text_of(tree)
        except BaseException as exc:  # reported by the main thread
            failures.append((text_of(tree), dtype, size, exc))
        counts.append(1)


def test_threads_mixing_new_and_cached_expressions_agree_with_numpy():
    rng = random.Random(2026)
    cached = [random_tree(rng, 3) for _ in range(6)]
    failures: list = []
    counts: list = []
    deadline = time.monotonic() + SECONDS
    workers = [threading.Thread(target=work, args=(seed, deadline, cached, failures, counts))
               for seed in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not failures, failures[:3]
    assert len(counts) >= THREADS
