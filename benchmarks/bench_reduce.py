"""asv: fused reductions against NumPy and numexpr (string and lazy front ends).

`benchmarks/reduce_report.py` measures the same side by side in one process,
with a C OpenMP reduction loop as the reference.
"""
import inspect

import numexpr
import numpy as np

import fusenum

from .common import use_threads

SIZES = [100_000, 10_000_000]

# text -> the same in NumPy, taking the arrays it uses by name (the rest go to **_);
# numexpr takes the texts it supports (sum/prod outermost only).
REDUCTIONS = {
    "sum(a*b)": lambda a, b, **_: np.sum(a * b),
    "sum(A, axis=0)": lambda A, **_: np.sum(A, axis=0),
    "sum(A, axis=1)": lambda A, **_: np.sum(A, axis=1),
    "a - mean(a)": lambda a, **_: a - np.mean(a),
    "max(abs(a - b))": lambda a, b, **_: np.max(np.abs(a - b)),
    "sum(z*w)": lambda z, w, **_: np.sum(z * w),  # complex128
    "sum(W, axis=0)": lambda W, **_: np.sum(W, axis=0),  # W: 20 rows
}
# numexpr has sum and prod, only as the outermost operation: the rest takes two calls (or NumPy).
NUMEXPR = {
    "sum(a*b)": lambda names: numexpr.evaluate("sum(a*b)", local_dict=names),
    "sum(A, axis=0)": lambda names: numexpr.evaluate("sum(A, axis=0)", local_dict=names),
    "sum(A, axis=1)": lambda names: numexpr.evaluate("sum(A, axis=1)", local_dict=names),
    "a - mean(a)": lambda names: numexpr.evaluate(
        "a - m", local_dict={"a": names["a"], "m": numexpr.evaluate("sum(a)", local_dict=names) / names["a"].size}),
    "max(abs(a - b))": lambda names: np.max(numexpr.evaluate("abs(a - b)", local_dict=names)),
    "sum(z*w)": lambda names: numexpr.evaluate("sum(z*w)", local_dict=names),
    "sum(W, axis=0)": lambda names: numexpr.evaluate("sum(W, axis=0)", local_dict=names),
}


def _operands(size: int, names=("a", "b", "A", "z", "w", "W")) -> dict:
    """The operands named in ``names`` (default all), only those built.

    a, b: ``size`` float64; A: square float64 of about ``size`` elements; z, w: ``size``
    complex128; W: float64 of 20 rows and ``size // 20`` columns.
    """
    rng = np.random.default_rng(0)
    side = int(size ** 0.5)
    build = {  # in the order the random numbers are drawn
        "z": lambda: rng.random(size) + 1j * rng.random(size),
        "w": lambda: rng.random(size) + 1j * rng.random(size),
        "a": lambda: rng.random(size),
        "b": lambda: rng.random(size),
        "A": lambda: rng.random((side, side)),
        "W": lambda: rng.random((20, size // 20)),
    }
    return {name: make() for name, make in build.items() if name in names}


def _names(expression: str) -> tuple[str, ...]:
    """The operands ``expression`` uses (its NumPy spelling's parameters)."""
    return tuple(name for name in inspect.signature(REDUCTIONS[expression]).parameters if name != "_")


class Reductions:
    """Cached-kernel time of a reduction (the whole expression it sits in), float64."""

    params = (list(REDUCTIONS), SIZES, [1, "all"])
    param_names = ["expression", "size", "threads"]

    def setup(self, expression, size, threads):
        use_threads(threads)
        self.names = _operands(size, _names(expression))
        fusenum.evaluate(expression, local_dict=self.names)

    def teardown(self, *params):
        use_threads("all")

    def time_fusenum(self, expression, size, threads):
        fusenum.evaluate(expression, local_dict=self.names)

    def time_fusenum_lazy(self, expression, size, threads):
        lazy = {k: fusenum.lazy(v) for k, v in self.names.items()}
        np.asarray(REDUCTIONS[expression](**lazy))

    def time_numexpr(self, expression, size, threads):
        NUMEXPR[expression](self.names)


class NumPyReductions:
    """NumPy's time on the same reductions (one thread: it has no others)."""

    params = (list(REDUCTIONS), SIZES)
    param_names = ["expression", "size"]

    def setup(self, expression, size):
        self.names = _operands(size, _names(expression))

    def time_numpy(self, expression, size):
        REDUCTIONS[expression](**self.names)


class ReductionPeakMemory:
    """Peak memory of ``sum(a*b)`` on 10M float64 (inputs included: 2 x 80 MB): no temporary."""

    def setup(self):
        # Only a and b: asv's peak includes setup, which must stay below the measured call's peak.
        self.names = _operands(10_000_000, ("a", "b"))
        fusenum.evaluate("sum(a*b)", local_dict=_operands(100, ("a", "b")))

    def peakmem_fusenum(self):
        fusenum.evaluate("sum(a*b)", local_dict=self.names)

    def peakmem_numpy(self):
        np.sum(self.names["a"] * self.names["b"])
