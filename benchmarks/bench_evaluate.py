"""asv: fusenum.evaluate against NumPy and numexpr on the same expressions and arrays.

Time ratios only mean something within one run on one machine (shared machines
are noisy); `benchmarks/compare.py` prints them side by side.
"""
import numexpr
import numpy as np

import fusenum

from .common import EXPRESSIONS, operands


class Expressions:
    """Cached-kernel time of whole expressions, one thread (numexpr too)."""

    params = (list(EXPRESSIONS), [1_000, 100_000, 1_000_000], ["float32", "float64"])
    param_names = ["expression", "size", "dtype"]

    def setup(self, expression, size, dtype):
        self.names = operands(size, dtype)
        self.out = np.empty(size, dtype)
        numexpr.set_num_threads(1)
        fusenum.evaluate(expression, local_dict=self.names)  # compile outside the timing
        numexpr.evaluate(expression, local_dict=self.names)

    def time_fusenum(self, expression, size, dtype):
        fusenum.evaluate(expression, local_dict=self.names)

    def time_fusenum_out(self, expression, size, dtype):
        fusenum.evaluate(expression, local_dict=self.names, out=self.out, casting="unsafe")

    def time_numexpr(self, expression, size, dtype):
        numexpr.evaluate(expression, local_dict=self.names)

    def time_numpy(self, expression, size, dtype):
        EXPRESSIONS[expression](**self.names)


class CallOverhead:
    """A cached expression on tiny arrays: what remains is the cost of the call itself."""

    params = [10, 1000]
    param_names = ["size"]

    def setup(self, size):
        self.names = operands(size)
        numexpr.set_num_threads(1)
        fusenum.evaluate("a+b*c", local_dict=self.names)
        numexpr.evaluate("a+b*c", local_dict=self.names)

    def time_fusenum(self, size):
        fusenum.evaluate("a+b*c", local_dict=self.names)

    def time_numexpr(self, size):
        numexpr.evaluate("a+b*c", local_dict=self.names)

    def time_numpy(self, size):
        a, b, c = self.names.values()
        a + b * c


class Compile:
    """First-call cost: parsing, typing, LLVM optimization and JIT linking of a new expression."""

    def setup(self):
        self.names = operands(1000)
        self.counter = 0

    def time_compile_new_expression(self):
        self.counter += 1
        fusenum.evaluate(f"a*{self.counter}.5 + b*c - a/3", local_dict=self.names)
