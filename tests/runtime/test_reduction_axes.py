"""Every reduction with every spelling of ``axis`` on 0-d and 1-d arrays, both front ends, against NumPy.

NumPy's ufunc reductions take an int axis 0 or -1 of a 0-d array as no axis at
all (``np.sum(s, 0)`` is ``s``), while ``np.mean`` refuses it: fusenum must
give the answer or the error NumPy gives, whichever it is.
"""
import numpy as np
import pytest

import fusenum
from fusenum import lazy
from fusenum.ir.reductions import REDUCTIONS

AXES = [0, -1, 1, -2, (0,), (-1,), (), (0, -1), None]
ARGUMENTS = {"0-d": np.array(2.5), "1-d": np.array([2.5, -1.0])}


def _outcome(function):
    try:
        return np.asarray(function()), None
    except Exception as exc:  # noqa: BLE001 -- NumPy's error is the expected answer
        return None, exc


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=repr)
@pytest.mark.parametrize("argument", list(ARGUMENTS))
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_axis_is_numpys(name, argument, axis, keepdims):
    s = ARGUMENTS[argument]
    function = REDUCTIONS[name].numpy
    expected, error = _outcome(lambda: function(s, axis=axis, keepdims=keepdims))
    answers = {
        "evaluate": lambda: fusenum.evaluate(f"{name}(s, axis={axis!r}, keepdims={keepdims})", local_dict={"s": s}),
        "lazy": lambda: np.asarray(function(lazy(s), axis=axis, keepdims=keepdims)),
    }
    for how, answer in answers.items():
        got, got_error = _outcome(answer)
        if error is not None:
            assert type(got_error) is type(error) and str(got_error) == str(error), (how, got_error, error)
        else:
            assert got_error is None, (how, got_error)
            assert got.shape == expected.shape and got.dtype == expected.dtype, (how, got, expected)
            np.testing.assert_allclose(got, expected)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [0, -1, (0,), None], ids=repr)
@pytest.mark.parametrize("argument", [np.array(2.5), np.array(3), np.array(True)], ids=lambda a: a.dtype.name)
@pytest.mark.parametrize("name", [name for name, row in REDUCTIONS.items() if row.takes_dtype])
def test_reduction_axis_of_a_zero_d_array_with_a_float16_dtype_is_numpys(name, argument, axis, keepdims):
    """A ``mean`` with ``dtype='float16'`` (and an integer ``nanmean``, which is NumPy's ``mean``) is a
    float16 total over a count: its axis rule is still ``np.mean``'s, which refuses ``axis=0`` of a
    0-d array where ``np.sum`` takes it."""
    function = REDUCTIONS[name].numpy
    expected, error = _outcome(lambda: function(argument, axis=axis, keepdims=keepdims, dtype=np.float16))
    text = f"{name}(s, axis={axis!r}, keepdims={keepdims}, dtype='float16')"
    got, got_error = _outcome(lambda: fusenum.evaluate(text, local_dict={"s": argument}))
    if error is not None:
        assert type(got_error) is type(error) and str(got_error) == str(error), (got_error, error)
    else:
        assert got_error is None and got.tobytes() == expected.tobytes() and got.shape == expected.shape
