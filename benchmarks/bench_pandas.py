"""asv: pandas' eval, query and large-frame arithmetic (1M rows) on the real numexpr, on
fusenum.numexpr and on pandas' own engine, repeated calls.

asv runs each benchmark in a process of its own: fusenum's install ``fusenum.numexpr`` before
pandas is imported, so pandas calls fusenum wherever it would call numexpr. Skipped where pandas
is not installed. ``benchmarks/pandas_report.py`` also measures first calls and 10M rows.
"""
import importlib.util
import sys

from .pandas_report import OPERATIONS, engine, import_pandas, operation_call, two_frames

ROWS = 1_000_000


class _Pandas:
    params = [list(OPERATIONS)]
    param_names = ["operation"]
    contender = ""

    def setup(self, name):
        if importlib.util.find_spec("pandas") is None:
            raise NotImplementedError("pandas is not installed")
        pandas = import_pandas(self.contender)
        numexpr = sys.modules.get("numexpr")
        if self.contender != "python" and ("fusenum" in numexpr.__name__) != (self.contender == "fusenum"):
            raise RuntimeError(f"pandas would use {numexpr.__name__}, not {self.contender}")
        self.frames = two_frames(pandas, ROWS)
        self.call = operation_call(name, engine(self.contender))
        self.call(*self.frames)  # the kernels compile outside the timing

    def time_operation(self, name):
        self.call(*self.frames)


class NumexprPandas(_Pandas):
    contender = "numexpr"


class FusenumPandas(_Pandas):
    contender = "fusenum"


class PythonPandas(_Pandas):
    """``engine='python'`` and ``compute.use_numexpr`` off: pandas on NumPy alone."""

    contender = "python"
