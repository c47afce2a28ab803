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
    """Arrays a, b, c of ``size`` random values in (0, 1), not sharing memory."""
    rng = np.random.default_rng(seed)
    return {name: rng.random(size).astype(dtype) for name in "abc"}


def operands_without_temporaries(size: int, seed: int = 0) -> dict:
    """float64 arrays a, b, c like :func:`operands`, filled in place: making them never holds a fourth
    array, so a process's peak memory afterwards is the inputs' (for peak-memory benchmarks)."""
    rng = np.random.default_rng(seed)
    names = {}
    for name in "abc":
        names[name] = np.empty(size)
        rng.random(out=names[name])
    return names


# Six operations, written once as NumPy code (run on ndarrays or on lazy arrays) and once as text.
SIX_OPERATIONS = "(a*2 + b*3) * c - a/b"


def six_operations(a, b, c):
    return (a * 2 + b * 3) * c - a / b
