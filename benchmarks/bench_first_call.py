"""asv: the first call of a new expression in a fresh process (fusenum cold and warm, numexpr).

asv's ``timeraw_`` benchmarks run the returned code in a new Python process:
the returned pair is (timed code, setup code). The setup imports the library and
makes the arrays; the timed code is the first call of ``2*a+3*b-c``. fusenum runs
with ``FUSENUM_CACHE_DIR`` set to an empty directory (cold) or to one a previous
process filled with the same kernel (warm). The import itself is timed on its own.
:class:`MathFirstCall` times the first call of a new expression with transcendental functions
on a machine that used those functions before, in another expression (``used``).
``benchmarks/first_call.py`` runs the whole 20-expression workload.
"""
import shutil
import subprocess
import sys
import tempfile

EXPRESSION = "2*a+3*b-c"
SIZES = [10_000, 1_000_000]


def _setup(size: int, library: str, cache_dir: str | None = None, fresh: bool = False,
           copy_into: str | None = None) -> str:
    """Setup code: the cache directory (``fresh``: a new empty one under ``cache_dir``;
    ``copy_into``: a new copy of ``cache_dir`` under that directory), the import, the arrays."""
    environment = ""
    if cache_dir:
        directory = repr(cache_dir)
        if fresh:
            directory = f"tempfile.mkdtemp(dir={cache_dir!r})"
        elif copy_into:
            directory = f"shutil.copytree({cache_dir!r}, tempfile.mkdtemp(dir={copy_into!r}) + '/cache')"
        # (timed processes hand no compile to a helper: it would run during the next samples)
        environment = (f"import os, shutil, tempfile\nos.environ['FUSENUM_CACHE_DIR'] = {directory}\n"
                       "os.environ['FUSENUM_COMPILE_AFTER_EXIT'] = 'off'\n")
    return (environment + f"import numpy as np\nimport {library}\n"
            f"rng = np.random.default_rng(0)\n"
            f"names = {{k: rng.random({size}) for k in 'abc'}}\n")


def _first_call(library: str) -> str:
    return f"{library}.evaluate({EXPRESSION!r}, names)"


class FirstCall:
    """One first call per fresh process, at two sizes."""

    params = [SIZES]
    param_names = ["size"]
    timeout = 120
    number = 1  # one call per process: the first
    repeat = (1, 5, 30.0)

    def setup(self, size):
        self.cold = tempfile.mkdtemp(prefix="fusenum-asv-cold-")
        self.warm = tempfile.mkdtemp(prefix="fusenum-asv-warm-")
        # Fill the warm directory: one process that compiles the kernel (a no-op without a disk cache).
        code = _setup(size, "fusenum", self.warm) + _first_call("fusenum")
        subprocess.run([sys.executable, "-c", code], check=True)

    def teardown(self, size):
        for directory in (self.cold, self.warm):
            shutil.rmtree(directory, ignore_errors=True)

    def timeraw_fusenum_cold(self, size):
        # A new empty directory per process, so every timed call is a cold one.
        return _first_call("fusenum"), _setup(size, "fusenum", self.cold, fresh=True)

    def timeraw_fusenum_warm(self, size):
        return _first_call("fusenum"), _setup(size, "fusenum", self.warm)

    def timeraw_numexpr(self, size):
        return _first_call("numexpr"), _setup(size, "numexpr")


class MathFirstCall:
    """The first call of ``sin(a)**2 + cos(b)**2`` in a fresh process: with an empty cache
    directory (cold), and with one a process filled by evaluating other expressions with ``sin``
    and ``cos`` (used: their one-node kernels are on disk, the expression's fused kernel is not)."""

    EXPRESSION = "sin(a)**2 + cos(b)**2"
    EARLIER = ("sin(c) * 0.5 + a", "cos(c) - b")
    params = [[10_000]]
    param_names = ["size"]
    timeout = 120
    number = 1
    repeat = (1, 5, 30.0)

    def setup(self, size):
        self.cold = tempfile.mkdtemp(prefix="fusenum-asv-cold-")
        self.used = tempfile.mkdtemp(prefix="fusenum-asv-used-")
        self.copies = tempfile.mkdtemp(prefix="fusenum-asv-copies-")
        calls = "".join(f"fusenum.evaluate({text!r}, names)\n" for text in self.EARLIER)
        code = (_setup(size, "fusenum", self.used) + calls
                + "from fusenum.runtime import tiering\ntiering.wait_for_compiles()\n")
        subprocess.run([sys.executable, "-c", code], check=True)

    def teardown(self, size):
        for directory in (self.cold, self.used, self.copies):
            shutil.rmtree(directory, ignore_errors=True)

    def _call(self, library: str) -> str:
        return f"{library}.evaluate({self.EXPRESSION!r}, names)"

    def timeraw_fusenum_cold(self, size):
        return self._call("fusenum"), _setup(size, "fusenum", self.cold, fresh=True)

    def timeraw_fusenum_used(self, size):
        # each process a copy, so that none finds the fused kernel an earlier one left
        return self._call("fusenum"), _setup(size, "fusenum", self.used, copy_into=self.copies)

    def timeraw_numexpr(self, size):
        return self._call("numexpr"), _setup(size, "numexpr")


def timeraw_import_fusenum():
    return "import fusenum", "import numpy"


def timeraw_import_numexpr():
    return "import numexpr", "import numpy"


def timeraw_import_numpy():
    return "import numpy"

