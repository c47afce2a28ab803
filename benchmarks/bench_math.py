"""asv: the math library's functions in fusenum, NumPy and numexpr, one thread.

`benchmarks/math_report.py` prints the same comparison side by side in one
process, with the geometric mean; ratios between separate asv runs on a shared
machine are noisy.
"""
import numexpr
import numpy as np

import fusenum

from .common import MATH, math_operands, use_threads

# The complex expressions, written with NumPy.
COMPLEX = {
    "z*w": lambda z, w: z * w,
    "z/w": lambda z, w: z / w,
    "abs(z)": lambda z, w: np.abs(z),
    "exp(z)": lambda z, w: np.exp(z),
    "sqrt(z)": lambda z, w: np.sqrt(z),
}


class MathFunctions:
    """Cached-kernel time of each function on 1M elements (numexpr without MKL, one thread)."""

    params = (list(MATH), ["float32", "float64"])
    param_names = ["function", "dtype"]

    def setup(self, function, dtype):
        use_threads(1)
        self.names = math_operands(1_000_000, dtype)
        self.numpy = MATH[function]
        with np.errstate(all="ignore"):
            fusenum.evaluate(function, local_dict=self.names)  # compile outside the timing

    def teardown(self, function, dtype):
        use_threads("all")

    def time_fusenum(self, function, dtype):
        fusenum.evaluate(function, local_dict=self.names)

    def time_numpy(self, function, dtype):
        with np.errstate(all="ignore"):
            self.numpy(**self.names)

    def time_numexpr(self, function, dtype):
        numexpr.evaluate(function, local_dict=self.names)


class ComplexFunctions:
    """Complex arithmetic (NumPy's formulas) and C-library functions on 100k elements."""

    params = (list(COMPLEX), ["complex64", "complex128"])
    param_names = ["expression", "dtype"]

    def setup(self, expression, dtype):
        use_threads(1)
        rng = np.random.default_rng(0)
        self.names = {k: (rng.standard_normal(100_000) + 1j * rng.standard_normal(100_000)).astype(dtype)
                      for k in "zw"}
        fusenum.evaluate(expression, local_dict=self.names)

    def teardown(self, expression, dtype):
        use_threads("all")

    def time_fusenum(self, expression, dtype):
        fusenum.evaluate(expression, local_dict=self.names)

    def time_numpy(self, expression, dtype):
        COMPLEX[expression](**self.names)
