"""asv: comparisons and contains() of bytes (S) arrays: fusenum against NumPy and numexpr.

NumPy's spelling of ``contains`` is ``np.strings.find(a, b) >= 0`` (the same answer when no
element holds a NUL byte before other bytes, as here).
"""
import numexpr
import numpy as np

import fusenum

from .common import use_threads

EXPRESSIONS = {
    "a == b'abc'": lambda a, b, x: a == b"abc",
    "a < b": lambda a, b, x: a < b,
    "contains(a, b'bc')": lambda a, b, x: np.strings.find(a, b"bc") >= 0,
    "(a == b) & (x > 0)": lambda a, b, x: (a == b) & (x > 0),
}
WORDS = np.array([b"abc", b"abd", b"xyz", b"ab", b"zzzzzz", b"", b"bcbc"])


def bytes_operands(size: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"a": rng.choice(WORDS, size).astype("S6"), "b": rng.choice(WORDS, size).astype("S4"),
            "x": rng.normal(size=size)}


class BytesExpressions:
    """Cached-kernel time; numexpr gets the same thread count."""

    params = (list(EXPRESSIONS), [1_000, 1_000_000], [1, "all"])
    param_names = ["expression", "size", "threads"]

    def setup(self, expression, size, threads):
        use_threads(threads)
        self.names = bytes_operands(size)
        fusenum.evaluate(expression, local_dict=self.names)  # compile outside the timing
        numexpr.evaluate(expression, local_dict=self.names)

    def teardown(self, *params):
        use_threads("all")

    def time_fusenum(self, expression, size, threads):
        fusenum.evaluate(expression, local_dict=self.names)

    def time_numexpr(self, expression, size, threads):
        numexpr.evaluate(expression, local_dict=self.names)

    def time_numpy(self, expression, size, threads):
        EXPRESSIONS[expression](**self.names)
