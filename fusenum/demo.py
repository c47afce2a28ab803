"""``python -m fusenum.demo``: the main job in one screen -- same answer as NumPy, one fused pass.

Evaluates a few expressions on a few million elements with fusenum and with
NumPy, checks that the results are identical (dtype and every value), and
prints the times side by side.
"""
from __future__ import annotations

import time

import numpy as np

import fusenum


def _best_of(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(size: int = 4_000_000) -> None:
    rng = np.random.default_rng(0)
    a, b, c = rng.random((3, size))
    i = rng.integers(-1000, 1000, size, dtype=np.int32)
    cases = [
        ("2*a + 3*b*c - sqrt(a)", lambda: 2 * a + 3 * b * c - np.sqrt(a)),
        ("where(a > b, a, c) * 0.5", lambda: np.where(a > b, a, c) * 0.5),
        ("((.25*a + .75)*a - 1.5)*a - 2", lambda: ((.25 * a + .75) * a - 1.5) * a - 2),
        ("(i << 3) // 7 + i % 5", lambda: (i << 3) // 7 + i % 5),
    ]
    names = {"a": a, "b": b, "c": c, "i": i}
    print(f"fusenum {fusenum.__version__}, SIMD level {fusenum.get_simd()}, {size:,} elements\n")
    print(f"{'expression':34} {'dtype':8} {'same':5} {'fusenum':>10} {'NumPy':>10} {'speed-up':>9}")
    for text, with_numpy in cases:
        started = time.perf_counter()
        result = fusenum.evaluate(text, local_dict=names)
        first_call = time.perf_counter() - started
        expected = with_numpy()
        same = result.dtype == expected.dtype and np.array_equal(result, expected, equal_nan=True)
        fused = _best_of(lambda: fusenum.evaluate(text, local_dict=names))
        eager = _best_of(with_numpy)
        print(f"{text:34} {str(result.dtype):8} {'yes' if same else 'NO':5} "
              f"{fused * 1e3:8.2f}ms {eager * 1e3:8.2f}ms {eager / fused:8.1f}x"
              f"   (first call: {first_call * 1e3:.0f} ms)")
        if not same:
            raise SystemExit(f"fusenum and NumPy disagree on {text!r}")
    print(f"\nkernel cache: {fusenum.cache_info()}")


if __name__ == "__main__":
    main()
