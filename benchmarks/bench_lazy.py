"""asv: lazy arrays -- peak memory and time of a fused expression, and the cost of capturing one.

NumPy code on ``fusenum.lazy`` arrays against the same code on ndarrays and
against numexpr (one thread). ``benchmarks/lazy_report.py`` prints the same
comparisons side by side from one process.
"""
import numexpr
import numpy as np

import fusenum

from .common import (NEIGHBOUR_DIFFERENCES, SIX_OPERATIONS, neighbour_differences, neighbour_operands,
                     operands, six_operations)

BIG = 10_000_000


class LazyPeakMemory:
    """Peak memory forcing a six-operation expression on 10M float64 (80 MB per array).

    asv measures the process's peak RSS, which includes the three inputs
    (``peakmem_baseline``): subtract it. Lazy adds the result only (one
    array); NumPy holds two or three arrays at once (it reuses some temporaries).
    """

    def setup(self):
        numexpr.set_num_threads(1)
        # Compile on small arrays (same dtypes and layout, same kernel): asv reports the process's
        # peak, so setup must not compute a 10M result itself.
        warm_up = {name: fusenum.lazy(a) for name, a in operands(1000).items()}
        np.asarray(six_operations(**warm_up))
        self.names = operands(BIG)
        self.lazy_names = {name: fusenum.lazy(a) for name, a in self.names.items()}

    def peakmem_baseline(self):
        """The inputs alone: subtract this from the others."""

    def peakmem_lazy(self):
        np.asarray(six_operations(**self.lazy_names))

    def peakmem_numpy(self):
        six_operations(**self.names)

    def peakmem_numexpr(self):
        numexpr.evaluate(SIX_OPERATIONS, local_dict=self.names)


class LazyTime:
    """Time of the same expression: lazy (capture + one fused pass), NumPy eager, numexpr."""

    params = [[100_000, BIG]]
    param_names = ["size"]

    def setup(self, size):
        self.names = operands(size)
        self.lazy_names = {name: fusenum.lazy(a) for name, a in self.names.items()}
        numexpr.set_num_threads(1)
        np.asarray(six_operations(**self.lazy_names))

    def time_lazy(self, size):
        np.asarray(six_operations(**self.lazy_names))

    def time_numpy(self, size):
        six_operations(**self.names)

    def time_numexpr(self, size):
        numexpr.evaluate(SIX_OPERATIONS, local_dict=self.names)


class LazyNeighbourDifferences:
    """``y[1:] - y[:-1]`` of ``y = 2*a + b*c``: lazy (slices captured: one fused pass, ``y`` computed
    for each slice), lazy with ``y`` forced first (as before slices were captured), NumPy, numexpr
    (one thread, its operands the slices)."""

    params = [[100_000, BIG]]
    param_names = ["size"]

    def setup(self, size):
        self.names = operands(size)
        self.lazy_names = {name: fusenum.lazy(a) for name, a in self.names.items()}
        self.sliced = neighbour_operands(self.names)
        numexpr.set_num_threads(1)
        self.time_lazy(size)
        self.time_lazy_forced_first(size)

    def time_lazy(self, size):
        np.asarray(neighbour_differences(**self.lazy_names))

    def time_lazy_forced_first(self, size):
        lazy_names = self.lazy_names
        y = (2 * lazy_names["a"] + lazy_names["b"] * lazy_names["c"]).compute()
        y[1:] - y[:-1]

    def time_numpy(self, size):
        neighbour_differences(**self.names)

    def time_numexpr(self, size):
        numexpr.evaluate(NEIGHBOUR_DIFFERENCES, local_dict=self.sliced)


class LazyCaptureOverhead:
    """``lazy(a) + lazy(b) * lazy(c)`` built and forced on 1000 float64, warm caches: the front end's cost."""

    def setup(self):
        self.a, self.b, self.c = operands(1000).values()
        numexpr.set_num_threads(1)
        self.time_lazy()
        self.time_evaluate()
        self.time_numexpr()

    def time_lazy(self):
        lazy = fusenum.lazy
        np.asarray(lazy(self.a) + lazy(self.b) * lazy(self.c))

    def time_evaluate(self):
        fusenum.evaluate("a+b*c", local_dict={"a": self.a, "b": self.b, "c": self.c})

    def time_numexpr(self):
        numexpr.evaluate("a+b*c", local_dict={"a": self.a, "b": self.b, "c": self.c})

    def time_numpy(self):
        self.a + self.b * self.c
