"""Shared benchmark inputs: the expressions, their NumPy spellings, and operand arrays."""
import numpy as np

# expression text -> the same computation written with NumPy (eager, one temporary per operator)
EXPRESSIONS = {
    "a+b*c": lambda a, b, c: a + b * c,
    "2*a+3*b-c": lambda a, b, c: 2 * a + 3 * b - c,
    "((.25*a+.75)*a-1.5)*a-2": lambda a, b, c: ((.25 * a + .75) * a - 1.5) * a - 2,
    "where(a>b,a,c)": lambda a, b, c: np.where(a > b, a, c),
    "sqrt(a**2+b**2)": lambda a, b, c: np.sqrt(a ** 2 + b ** 2),
}


def operands(size: int, dtype: str = "float64", seed: int = 0) -> dict:
    """Arrays a, b, c of ``size`` random values in [0, 1), not sharing memory.

    Generated directly in ``dtype`` (no temporary copies), so that a peak-memory
    benchmark's peak is its own and not its setup's.
    """
    rng = np.random.default_rng(seed)
    return {name: rng.random(size, dtype=dtype) for name in "abc"}
