"""Big expressions split into several kernels: the same bits as one kernel and as NumPy, at any size."""
import random
import sys

import numpy as np
import pytest

import fusenum
from fusenum.ir import nodes
from fusenum.ir.ops import expression_cost
from fusenum.runtime import PLANS, splitting, staging


def same_bits(got: np.ndarray, expected) -> None:
    expected = np.asarray(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    if expected.dtype.kind in "fc":
        width = expected.dtype.itemsize // (2 if expected.dtype.kind == "c" else 1)
        view = f"u{width}"
        assert np.array_equal(got.view(view), expected.view(view))
    else:
        assert np.array_equal(got, expected)


def random_chain(module, x, y, steps: int, seed: int):
    """A chain of mixed operations through ``module`` (numpy or fusenum's lazy arrays via numpy)."""
    rng = random.Random(seed)
    r = x
    for _ in range(steps):
        k = rng.randrange(7)
        if k == 0:
            r = r + x
        elif k == 1:
            r = r * 0.5
        elif k == 2:
            r = np.maximum(r, y) - x
        elif k == 3:
            r = np.sqrt(np.abs(r)) + y  # exact functions only: NumPy is the oracle bit for bit
        elif k == 4:
            r = np.where(r > y, r, x * y)
        elif k == 5:
            r = r / (y + 2)
        else:
            r = (r - y) * (r + x)   # a shared operand: a DAG, not a tree
            r = np.minimum(r, 1e3)
    return r


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.complex128])
def test_split_expression_has_the_bits_of_numpy_and_of_one_kernel(dtype, simd, monkeypatch):
    monkeypatch.setattr(splitting, "PIECE_COST", 64)  # many pieces from an expression quick to compile
    a = np.linspace(-3, 3, 1001).astype(dtype)
    b = np.linspace(0.5, 2, 1001).astype(dtype)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * a[::-1]
    steps = 40 if np.dtype(dtype).kind != "c" else 80
    with np.errstate(all="ignore"):
        expected = random_chain(np, a, b, steps, seed=7) if np.dtype(dtype).kind != "c" else None
    fusenum.clear_cache()
    split = np.asarray(_lazy_chain(a, b, steps))
    plan = list(PLANS.values())[-1]
    assert plan.staged is not None and expression_cost(plan.root) > splitting.PIECE_COST
    assert len(staging._stages[plan.root].steps) >= 1
    previous = splitting.PIECE_COST
    fusenum.clear_cache()
    try:
        splitting.PIECE_COST = 10**9
        whole = np.asarray(_lazy_chain(a, b, steps))
        assert list(PLANS.values())[-1].staged is None
    finally:
        splitting.PIECE_COST = previous
        fusenum.clear_cache()
    same_bits(split, whole)
    if expected is not None:
        same_bits(split, expected)


def _lazy_chain(a, b, steps):
    if a.dtype.kind == "c":  # no maximum/where ordering on complex: a chain of arithmetic
        x, y = fusenum.lazy(a), fusenum.lazy(b)
        r = x
        for k in range(steps):
            r = r * 0.5 + x if k % 2 else r - y * x
        return r
    return random_chain(np, fusenum.lazy(a), fusenum.lazy(b), steps, seed=7)


def test_every_kernel_of_a_split_plan_stays_under_the_piece_cost(monkeypatch):
    monkeypatch.setattr(splitting, "PIECE_COST", 64)
    a, b = np.linspace(-3, 3, 101), np.linspace(0.5, 2, 101)
    fusenum.clear_cache()
    np.asarray(random_chain(np, fusenum.lazy(a), fusenum.lazy(b), 150, seed=3))
    plan = list(PLANS.values())[-1]
    stages = staging._stages[plan.root]
    roots = [step.root for step in stages.steps] + [stages.final_root]
    assert len(roots) > 5
    for root in roots:
        # load counts a shared operand once per user: the bound is on that load, at least the cost
        assert expression_cost(root) <= splitting.PIECE_COST + 40


def test_kept_nodes_of_a_small_expression_is_empty():
    root = nodes.input_slot(0, np.dtype(float))
    for _ in range(10):
        root = nodes.make("add", (root, root), np.dtype(float))
    assert splitting.kept_nodes(root) == set()


def test_ten_thousand_terms_in_both_front_ends():
    a = np.arange(5.0)
    expected = a.copy()
    for _ in range(9999):
        expected = expected + a
    same_bits(fusenum.evaluate("a" + "+a" * 9999), expected)
    x = fusenum.lazy(a)
    r = x
    for _ in range(9999):
        r = r + x
    same_bits(np.asarray(r), expected)


def test_a_reduction_of_a_split_expression():
    a = np.linspace(-1, 1, 64).reshape(8, 8)
    text = "max(" + "a" + "*1.0001+a" * 400 + ", axis=0) - a"
    expected = a * 1.0001
    for _ in range(399):
        expected = expected + a * 1.0001
    expected = np.max(expected + a, axis=0) - a
    same_bits(fusenum.evaluate(text), expected)


def test_mixed_flat_chain_matches_a_left_fold():
    a, b = np.linspace(-2, 3, 7), np.linspace(1, 2, 7)
    rng = random.Random(1)
    text, expected = "a", a.copy()
    for _ in range(3000):
        sign, term = rng.choice("+-"), rng.choice(["a", "b", "(a*b)", "2.5", "b*a*a", "-b"])
        text += sign + term
        value = eval(term, {}, {"a": a, "b": b})  # the test's own oracle, on trusted text
        expected = expected + value if sign == "+" else expected - value
    same_bits(fusenum.evaluate(text), expected)


def test_errors_in_a_long_chain_name_their_column():
    a = np.arange(3.0)
    text = "a" + "-a*2" * 4999
    with pytest.raises(fusenum.ExpressionError, match=f"unknown function 'foo' at column {len(text) + 1}"):
        fusenum.evaluate(text + "+foo(a)", {"a": a})
    # A chain inside parentheses or a comparison is Python's parser's to take: some Python
    # versions parse it (then the answer is NumPy's), others refuse it with this error.
    for text, expected in [("(" + "a+" * 5000 + "a)*2", a * 5001 * 2), ("a < " + "a+" * 5000 + "a", a < a * 5001)]:
        try:
            result = fusenum.evaluate(text, {"a": a})
        except fusenum.ExpressionError as error:
            assert "nests too deeply" in str(error)
        else:
            same_bits(result, expected)


def _deep(depth: int, function):
    return function() if depth == 0 else _deep(depth - 1, function)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int8])
def test_a_cached_text_with_new_dtypes_deep_in_the_call_stack(dtype):
    a = np.arange(3, dtype=dtype)
    text = "a" + "+a" * 240
    depth = sys.getrecursionlimit() - 400
    got = _deep(depth, lambda: fusenum.evaluate(text, {"a": a}))
    same_bits(got, np.sum([a] * 241, axis=0, dtype=dtype) if dtype != np.int8 else _int8_sum(a, 241))
    x = fusenum.lazy(a)
    r = x
    for _ in range(240):
        r = r + x
    same_bits(_deep(depth, lambda: np.asarray(r)), got)


def _int8_sum(a, count):
    total = a.copy()
    for _ in range(count - 1):
        total = total + a
    return total
