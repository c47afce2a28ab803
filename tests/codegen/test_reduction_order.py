"""A reduction's order of operations is the same at every SIMD level: its bits never depend on it.

Float sums and products round at every step, so the grouping is part of the answer. The
kernels group elements into the same virtual lanes and combine them in the same tree at
every width (codegen/reduction.py), which these tests check against the scalar level.
"""
import numpy as np
import pytest

import fusenum

LEVELS = fusenum.available_simd()
LENGTHS = [1, 7, 8, 9, 31, 33, 64, 65, 100, 513, 1000, 4097, 100_003]


def _at_every_level(text: str, names: dict) -> dict[str, np.ndarray]:
    results = {}
    previous = fusenum.get_simd()
    try:
        for level in LEVELS:
            fusenum.set_simd(level)
            results[level] = np.asarray(fusenum.evaluate(text, names))
    finally:
        fusenum.set_simd(previous)
    return results


def _same_bits(results: dict[str, np.ndarray]) -> None:
    """Identical bits, except that a NaN's sign and payload are not compared (an FMA instruction
    and the C library's fma make different NaNs from inf * 0)."""
    reference = results["scalar"]
    for level, got in results.items():
        assert got.dtype == reference.dtype
        assert np.array_equal(np.isnan(got), np.isnan(reference))
        finite = ~np.isnan(reference)
        assert got[finite].tobytes() == reference[finite].tobytes(), (level, got, reference)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "complex64"])
@pytest.mark.parametrize("text", ["sum(a)", "prod(a)", "sum(exp(a) - b)", "max(a)"])
def test_whole_array_reductions_give_the_same_bits_at_every_level(dtype, text):
    rng = np.random.default_rng(7)
    for n in LENGTHS:
        # near 1, so that products of 100,000 elements neither overflow nor underflow
        a = (rng.random(n) * 0.01 + 0.995).astype(dtype)
        b = (rng.random(n) - 0.5).astype(dtype)
        if dtype.startswith("complex"):
            a = a + 1j * (rng.random(n) * 0.01).astype(dtype)
        if text == "max(a)" and dtype.startswith("complex"):
            continue
        _same_bits(_at_every_level(text, {"a": a, "b": b}))


@pytest.mark.parametrize("axis", [0, 1, None])
def test_reductions_over_an_axis_give_the_same_bits_at_every_level(axis):
    rng = np.random.default_rng(3)
    for shape in [(3, 1000), (1000, 3), (37, 129)]:
        a = rng.random(shape).astype(np.float32)
        _same_bits(_at_every_level(f"sum(a * 3, axis={axis})", {"a": a}))
        _same_bits(_at_every_level(f"prod(a + 0.5, axis={axis})", {"a": a}))
