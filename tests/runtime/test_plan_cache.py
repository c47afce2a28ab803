"""The plan cache: a plan typed by a Python scalar's value is kept per value, floats by their bits."""
import numpy as np
import pytest

import fusenum


@pytest.mark.parametrize("text, numpy", [("-k + a", lambda k, a: -k + a), ("k * 2 + a", lambda k, a: k * 2 + a),
                                         ("sqrt(k) + a", lambda k, a: np.sqrt(k) + a)])
def test_a_plan_folding_a_scalar_is_kept_per_bit_pattern(text, numpy):
    """``-k`` folded for one NaN was served for the other (the plan's key was the value's repr, the
    same "nan" for both), and likewise for -0.0 and 0.0 where repr tells them apart but NaNs not."""
    a = np.array([1.0, 2.0])
    for k in [float("nan"), -float("nan"), 0.0, -0.0, complex(float("nan"), 1.0), complex(-float("nan"), 1.0)]:
        if isinstance(k, complex) and "sqrt" in text:
            continue
        for value in (k, np.array(k)) if not isinstance(k, complex) else (k,):
            expected = numpy(value, a)
            got = fusenum.evaluate(text, {"k": value, "a": a})
            assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes(), (text, k, type(value))
