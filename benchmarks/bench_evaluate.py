"""asv: fusenum.evaluate against NumPy and numexpr on the same expressions and arrays.

Time ratios only mean something within one run on one machine (shared machines
are noisy); `benchmarks/report.py` measures them side by side in one process.
"""
import numexpr
import numpy as np

import fusenum

from .common import EXPRESSIONS, operands, use_threads

SIZES = [1_000, 100_000, 10_000_000]


class Expressions:
    """Cached-kernel time of whole expressions; numexpr gets the same thread count. float64 at every
    size; float32 (twice the lanes per vector) in :class:`Float32Expressions`."""

    params = (list(EXPRESSIONS), SIZES, ["float64"], [1, "all"])
    param_names = ["expression", "size", "dtype", "threads"]

    def setup(self, expression, size, dtype, threads):
        use_threads(threads)
        self.names = operands(size, dtype)
        fusenum.evaluate(expression, local_dict=self.names)  # compile outside the timing
        numexpr.evaluate(expression, local_dict=self.names)

    def teardown(self, *params):
        use_threads("all")

    def time_fusenum(self, expression, size, dtype, threads):
        fusenum.evaluate(expression, local_dict=self.names)

    def time_numexpr(self, expression, size, dtype, threads):
        numexpr.evaluate(expression, local_dict=self.names)


class Float32Expressions(Expressions):
    """The same in float32, at the biggest size on all threads (asv runs every combination of
    parameters in a process of its own: CI's quick run of the suite must fit in its time)."""

    params = (list(EXPRESSIONS), [SIZES[-1]], ["float32"], ["all"])


class ExpressionsOut:
    """The same with ``out=``, at the smallest and biggest size (asv runs every combination of
    parameters in a process of its own: CI's quick run of the suite must fit in its time)."""

    params = (list(EXPRESSIONS), [SIZES[0], SIZES[-1]], ["float64"], [1, "all"])
    param_names = Expressions.param_names
    teardown = Expressions.teardown

    def setup(self, expression, size, dtype, threads):
        Expressions.setup(self, expression, size, dtype, threads)
        self.out = np.empty(size, dtype)

    def time_fusenum_out(self, expression, size, dtype, threads):
        fusenum.evaluate(expression, local_dict=self.names, out=self.out, casting="unsafe")


class NumPyExpressions:
    """NumPy's time on the same expressions and arrays (one thread: it has no others)."""

    params = (list(EXPRESSIONS), SIZES, ["float64"])
    param_names = ["expression", "size", "dtype"]

    def setup(self, expression, size, dtype):
        self.names = operands(size, dtype)

    def time_numpy(self, expression, size, dtype):
        EXPRESSIONS[expression](**self.names)


class NumPyFloat32Expressions(NumPyExpressions):
    """NumPy's time beside :class:`Float32Expressions`."""

    params = (list(EXPRESSIONS), [SIZES[-1]], ["float32"])


class PeakMemory:
    """Peak memory of evaluating an expression on 10M float64 (inputs included: 3 x 80 MB)."""

    params = [list(EXPRESSIONS)]
    param_names = ["expression"]

    def setup(self, expression):
        self.names = operands(10_000_000)
        fusenum.evaluate(expression, local_dict=operands(10))
        numexpr.evaluate(expression, local_dict=operands(10))

    def peakmem_fusenum(self, expression):
        fusenum.evaluate(expression, local_dict=self.names)

    def peakmem_numexpr(self, expression):
        numexpr.evaluate(expression, local_dict=self.names)

    def peakmem_numpy(self, expression):
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

    def teardown(self, size):
        use_threads("all")

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
