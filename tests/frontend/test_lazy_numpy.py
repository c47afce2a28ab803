"""A ufunc called with ``out=`` on lazy operands that do not broadcast raises NumPy's error.

NumPy checks ``out`` (the cast into it, its shape) before broadcasting the inputs, and names
``out``'s shape among those that do not broadcast: ``ndarray += lazy`` and ``np.add(lazy, x,
out=...)`` must raise that error, not the one of the call without ``out``.
"""
import operator

import numpy as np
import pytest

from fusenum import lazy

CASES = [  # (out, operand): the operand does not broadcast to out's shape
    (np.ones((3, 4), np.int32), np.ones((0, 4), np.int32)),
    (np.ones((3, 4), np.int32), np.ones((0, 4))),  # float64 into int32: NumPy's cast error first
    (np.ones((3, 4), np.uint8), np.ones((2, 4), np.float32)),
]


def _error(call):
    with pytest.raises(Exception) as raised:
        call()
    return type(raised.value), str(raised.value)


@pytest.mark.parametrize("out, operand", CASES)
def test_ndarray_in_place_with_a_lazy_operand_raises_numpys_error(out, operand):
    assert _error(lambda: operator.iadd(out.copy(), lazy(operand))) == \
        _error(lambda: operator.iadd(out.copy(), operand))


@pytest.mark.parametrize("wrap_out", [False, True])
@pytest.mark.parametrize("out, operand", CASES)
def test_ufunc_with_out_raises_numpys_error(out, operand, wrap_out):
    target = lazy(out.copy()) if wrap_out else out.copy()
    assert _error(lambda: np.add(lazy(operand), out, out=target)) == \
        _error(lambda: np.add(operand, out, out=out.copy()))


@pytest.mark.parametrize("call", [
    lambda target, operand: operator.ior(target, operand),  # (no loop for floats: the read-only error first)
    lambda target, operand: operator.iadd(target, operand[:2]),  # (does not broadcast: the same)
    lambda target, operand: np.negative(operand.astype(bool), out=target),
], ids=["|= floats", "+= not broadcasting", "negative of bools"])
@pytest.mark.parametrize("wrap_target", [False, True])
def test_a_read_only_out_is_numpys_first_error(call, wrap_target):
    """NumPy checks that its output is writeable before it types or broadcasts the inputs."""
    def target():
        a = np.arange(3.0)
        a.flags.writeable = False
        return lazy(a) if wrap_target else a
    operand = np.ones(3)
    expected = _error(lambda: call(np.asarray(target()), operand))
    assert expected[0] is ValueError and _error(lambda: call(target(), lazy(operand))) == expected
