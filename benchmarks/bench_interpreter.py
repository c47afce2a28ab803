"""asv: tier 0, the interpreter that serves a call while its kernel compiles, on large calls.

``set_tiering("always")`` makes every call interpreted (its one-node kernels are compiled in
``setup``), ``never`` runs the compiled kernel; on one thread and on all.
``benchmarks/interpreter_report.py`` prints the same beside numexpr and NumPy in one run.
"""
import fusenum

from .common import EXPRESSIONS, operands, use_threads


class Interpreted:
    """A call of 1,000,000 float64 elements, interpreted (``always``) or compiled (``never``)."""

    params = (list(EXPRESSIONS), [1, "all"], ["always", "never"])
    param_names = ["expression", "threads", "tiering"]

    def setup(self, expression, threads, tiering):
        use_threads(threads)
        self.names = operands(1_000_000)
        self.previous = fusenum.set_tiering(tiering)
        fusenum.evaluate(expression, local_dict=self.names)  # kernels compiled outside the timing

    def teardown(self, *params):
        fusenum.set_tiering(self.previous)
        use_threads("all")

    def time_evaluate(self, expression, threads, tiering):
        fusenum.evaluate(expression, local_dict=self.names)
