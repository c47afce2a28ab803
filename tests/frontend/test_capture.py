"""Capture-time typing: the dtype memo, lowering checks, broadcasting and NumPy's errors on stand-ins."""


import numpy as np
import pytest

import fusenum
from fusenum import lazy
from fusenum.frontend import capture
from fusenum.ir import records
from fusenum.ir.ops import OPS


def test_a_second_capture_with_the_same_descriptors_does_not_type_again(monkeypatch):
    x = lazy(np.ones(3, np.int16))
    x * 3
    monkeypatch.setattr(capture, "Builder", lambda: pytest.fail("typed again"))
    assert (x * 5).dtype == np.int16
    assert (lazy(np.zeros(7, np.int16)) * 100).dtype == np.int16


def test_errors_are_not_memoized_and_name_the_value():
    x = lazy(np.ones(3, np.int8))
    for value in (300, 400):
        with pytest.raises(OverflowError, match=f"^Python integer {value} out of bounds for int8$"):
            x + value


def test_operations_the_table_cannot_lower_are_not_captured(monkeypatch):
    # Every row lowers every kind NumPy accepts today; a row without integer rules stands in
    # for an operation added to the table for floats only.
    float_only = records.replace(OPS["reciprocal"], lower={"f": OPS["reciprocal"].lower["f"]})
    monkeypatch.setitem(OPS, "reciprocal", float_only)
    monkeypatch.setattr(capture, "DTYPES", {})
    ints = np.array([1, 2], np.int32)
    assert capture.result_dtype(float_only, (ints,), ("reciprocal", ints.dtype)) is None
    floats = np.array([1.0])
    assert capture.result_dtype(float_only, (floats,), ("reciprocal", floats.dtype)) == np.float64


def test_unsupported_dtypes_are_not_captured():
    times = np.array(["2026-01-01"], "M8[s]")
    delta = np.array([1], "m8[s]")
    assert capture.result_dtype(OPS["add"], (times, delta), ("add", times.dtype, delta.dtype)) is None


def test_broadcast():
    assert capture.broadcast([(3, 1), (3, 1)]) == (3, 1)
    assert capture.broadcast([(3, 1), (4,), ()]) == (3, 4)
    assert capture.broadcast([(3,), (4,)]) is None


def test_stand_ins_take_one_element_whatever_their_shape():
    big = capture.stand_in(np.dtype(np.float64), (10**9, 10**9))
    assert big.shape == (10**9, 10**9) and big.base.nbytes == 8 and not big.flags.writeable
    out = capture.writable_stand_in(np.dtype(np.int8), (10**9,))
    assert out.flags.writeable and out.base.base.nbytes == 1


def test_raise_numpy_error_returns_when_numpy_accepts():
    assert capture.raise_numpy_error(np.add, (lazy(np.ones(2)), 1)) is None
    with pytest.raises(TypeError, match="ufunc 'bitwise_and' not supported"):
        capture.raise_numpy_error(np.bitwise_and, (lazy(np.ones(2)), 1.5))


@pytest.mark.parametrize("ndim", [33, 64])
def test_operands_of_more_than_32_dimensions_broadcast_as_numpy(ndim):
    """NumPy's arrays and ufuncs take up to 64 dimensions; np.broadcast_shapes, which fusenum used,
    stops at 32 (RuntimeError)."""
    a = np.ones((1,) * ndim)
    b = np.arange(3.).reshape((3,) + (1,) * (ndim - 1))
    c = np.arange(2.).reshape((1,) * (ndim - 1) + (2,))
    expected = np.where(a + b > 1, b * c, a)
    for got in (np.where(fusenum.lazy(a) + b > 1, fusenum.lazy(b) * c, a),
                fusenum.evaluate("where(a + b > 1, b * c, a)"), fusenum.evaluate("sum(a * b * c, axis=0)")):
        want = expected if got.ndim == ndim else np.sum(a * b * c, axis=0)
        assert np.asarray(got).shape == want.shape and np.asarray(got).tobytes() == want.tobytes()
