"""Constant folding computes what NumPy code computes: a 0-d array (``np.where`` of numbers) meets
Python numbers through NumPy's ufuncs, never through Python's arithmetic."""
import numpy as np
import pytest

import fusenum
from fusenum.ir.ops import BINARY_SYMBOLS

from ..numpy_outcome import outcome as _outcome
from ..strategies import assert_same

NAMES = {"a": 1, "b": 0, "c": 2.5}
ZERO_D = ["where(a, 5, 0.5)", "where(a, b, 0.5)", "where(a, 3, 4)", "where(b, 2j, c)", "where(a, True, False)"]
PYTHON = ["2j", "(1.5-1j)", "3", "-1.5", "True", "0"]
SYMBOLS = sorted(BINARY_SYMBOLS)


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize("zero_d", ZERO_D)
def test_operators_on_zero_d_results_fold_like_numpy(symbol, zero_d):
    for python in PYTHON:
        for text in (f"{python} {symbol} {zero_d}", f"{zero_d} {symbol} {python}"):
            numpy_text = text.replace("where(", "np.where(")
            expected, error = _outcome(lambda: eval(numpy_text, {"np": np}, dict(NAMES)))  # noqa: S307 -- our own text
            got, got_error = _outcome(lambda: fusenum.evaluate(text, local_dict=dict(NAMES)))
            if error is not None:
                assert type(got_error) is type(error), (text, got_error, error)
            else:
                assert got_error is None, (text, got_error)
                assert_same(expected, got)


def test_numpy_scalars_keep_pythons_arithmetic():
    # np.sqrt(25.0) is a NumPy scalar, a float: (1.5-1j) / it is Python's complex division
    got = fusenum.evaluate("(1.5-1j) / sqrt(25.0)")
    assert_same(np.asarray((1.5 - 1j) / np.sqrt(25.0)), got)
    assert_same(np.asarray((1.5 - 1j) / np.where(1, 5, 0.5)), fusenum.evaluate("(1.5-1j) / where(1, 5, 0.5)"))


@pytest.mark.parametrize("text", ["clip(a << 127, where(b, b, b), b)",
                                  "clip(2**127, where(a, True, False), where(a, True, False))",
                                  "clip(a << 100, where(a, 3, 4), 2)"])
def test_a_fold_numpy_computes_in_object_dtype_is_refused(text):
    # np.clip converts 2**127 to an object array: NumPy's answer is a Python int (or bool), whose
    # dtype fusenum does not compute -- never an int64 of the same value
    numpy_text = text.replace("where(", "np.where(").replace("clip(", "np.clip(", 1)
    expected = eval(numpy_text, {"np": np}, dict(NAMES))  # noqa: S307 -- our own text
    assert not isinstance(expected, (np.ndarray, np.generic)), expected
    with pytest.raises(fusenum.UnsupportedDTypeError, match=r"clip\(\) of the constants .* dtype object"):
        fusenum.evaluate(text, local_dict=dict(NAMES))
