"""In-place operators on lazy arrays raise NumPy's error when the operands do not broadcast.

NumPy checks an in-place operator's output (its cast into the target, its shape) before it
broadcasts the inputs, and names the output among the shapes that do not broadcast; the
binary operator's own error is not the in-place one.
"""
import operator

import numpy as np
import pytest

from fusenum import lazy

CASES = [  # (target, other): neither broadcasts into the other
    (np.ones((3, 4), np.int32), np.ones((0, 4), np.int32)),  # NumPy's message names the output's shape
    (np.ones((3, 4), np.int32), np.ones((0, 4))),  # float64 into int32: NumPy's cast error first
    (np.ones((3, 4), np.uint8), np.ones((2, 4), np.float32)),
]


@pytest.mark.parametrize("in_place", [operator.iadd, operator.imul, operator.ifloordiv])
@pytest.mark.parametrize("target, other", CASES)
def test_in_place_without_broadcast_raises_numpys_error(target, other, in_place):
    with pytest.raises(Exception) as numpy_error:
        in_place(target.copy(), other)
    for wrap in (lambda x: x, lazy):
        with pytest.raises(type(numpy_error.value)) as raised:
            in_place(lazy(target), wrap(other))
        assert str(raised.value) == str(numpy_error.value)
