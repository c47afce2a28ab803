"""Shared benchmark inputs: the expressions, their NumPy spellings, and operand arrays."""
import numexpr
import numpy as np

import fusenum

#: fusenum's thread count at import, before any benchmark changes it: what "all" means.
ALL = fusenum.get_num_threads()


def use_threads(count) -> None:
    """Set fusenum's and numexpr's thread count to ``count`` (an int, or "all" for :data:`ALL`)."""
    n = ALL if count == "all" else count
    fusenum.set_num_threads(n)
    numexpr.set_num_threads(n)


# expression text -> the same computation written with NumPy (eager, one temporary per operator)
EXPRESSIONS = {
    "a+b*c": lambda a, b, c: a + b * c,
    "2*a+3*b-c": lambda a, b, c: 2 * a + 3 * b - c,
    "((.25*a+.75)*a-1.5)*a-2": lambda a, b, c: ((.25 * a + .75) * a - 1.5) * a - 2,
    "where(a>b,a,c)": lambda a, b, c: np.where(a > b, a, c),
    "sqrt(a**2+b**2)": lambda a, b, c: np.sqrt(a ** 2 + b ** 2),
    "sin(a)**2+cos(b)**2": lambda a, b, c: np.sin(a) ** 2 + np.cos(b) ** 2,
    "exp(a)*log(b+1)": lambda a, b, c: np.exp(a) * np.log(b + 1),
}


def operands(size: int, dtype: str = "float64", seed: int = 0) -> dict:
    """Arrays a, b, c of ``size`` random values in [0, 1), not sharing memory.

    Generated directly in ``dtype`` (no temporary copies), so that a peak-memory
    benchmark's peak is its own and not its setup's.
    """
    rng = np.random.default_rng(seed)
    return {name: rng.random(size, dtype=dtype) for name in "abc"}


# The math library's benchmark: text -> the same function in NumPy. numexpr takes the same text.
MATH = {
    "exp(a)": lambda a, b: np.exp(a),
    "log(a)": lambda a, b: np.log(a),
    "sin(a)": lambda a, b: np.sin(a),
    "cos(a)": lambda a, b: np.cos(a),
    "tan(a)": lambda a, b: np.tan(a),
    "tanh(a)": lambda a, b: np.tanh(a),
    "sinh(a)": lambda a, b: np.sinh(a),
    "arctan(a)": lambda a, b: np.arctan(a),
    "arctan2(a,b)": lambda a, b: np.arctan2(a, b),
    "a**b": lambda a, b: a ** b,
    "expm1(a)": lambda a, b: np.expm1(a),
    "log1p(a)": lambda a, b: np.log1p(a),
}


def math_operands(size: int, dtype: str = "float64", seed: int = 0) -> dict:
    """``a`` in [0.1, 4.1) (positive, for log and **) and ``b`` in [-2, 2)."""
    rng = np.random.default_rng(seed)
    a = rng.random(size, dtype=dtype)
    a *= 4
    a += 0.1
    b = rng.random(size, dtype=dtype)
    b *= 4
    b -= 2
    return {"a": a, "b": b}


# Six operations, written once as NumPy code (run on ndarrays or on lazy arrays) and once as text.
SIX_OPERATIONS = "(a*2 + b*3) * c - a/b"


def six_operations(a, b, c):
    return (a * 2 + b * 3) * c - a / b


#: :func:`neighbour_differences` for numexpr, which cannot slice: its operands are the slices.
NEIGHBOUR_DIFFERENCES = "(2*a1 + b1*c1) - (2*a0 + b0*c0)"


def neighbour_differences(a, b, c):
    """Differences of neighbours of an expression (``np.diff`` of it): two slices of one value."""
    y = 2 * a + b * c
    return y[1:] - y[:-1]


def neighbour_operands(names: dict) -> dict:
    """:data:`NEIGHBOUR_DIFFERENCES`'s operands: each of a, b, c without its first (1) or last (0) element."""
    return {f"{name}{end}": a[1:] if end else a[:-1] for name, a in names.items() for end in (0, 1)}
