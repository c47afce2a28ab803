"""The NaN of an out-of-domain input has NumPy's sign, for every op-table function, at every
SIMD level and in every vector-math mode (``signbit`` and ``copysign`` show it)."""
import warnings

import numpy as np
import pytest

from fusenum import lazy
from fusenum.codegen import mathlib
from fusenum.ir.ops import OPS

VALUES = [-np.inf, -1e30, -2.0, -1.5, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 1.5, 2.0, 1e30, np.inf]
UNARY = [op for op in OPS.values() if op.arity == 1 and op.ufunc is not None and op.rule_for("f") is not None]


def _numpy(ufunc, x):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.asarray(ufunc(x))


@pytest.fixture(params=mathlib.MODES)
def vector_math(request):
    previous = mathlib.set_mode(request.param)
    yield request.param
    mathlib.set_mode(previous)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_out_of_domain_nans_have_numpys_sign(simd, vector_math, dtype):
    x = np.array(VALUES, dtype)
    checked = 0
    for op in UNARY:
        expected = _numpy(op.ufunc, x)
        nan = np.isnan(expected)
        if expected.dtype.kind != "f" or not nan.any():
            continue
        got = _numpy(op.ufunc, lazy(x))
        assert np.array_equal(np.isnan(got), nan), (op.name, x[nan], got[nan])
        assert np.array_equal(np.signbit(got[nan]), np.signbit(expected[nan])), (
            op.name, x[nan], np.signbit(got[nan]), np.signbit(expected[nan]))
        checked += 1
    assert checked >= 6  # arcsin, arccos, log, log2, log10, log1p, arccosh, arctanh, sqrt, ...


def test_power_of_negative_base_nan_sign(simd, vector_math):
    base = np.array([-2.0, -0.5, -np.inf, -1e30])
    for dtype in ("float32", "float64"):
        x = base.astype(dtype)
        expected = _numpy(lambda v: np.power(v, np.asarray(0.3, dtype)), x)
        got = _numpy(lambda v: np.power(v, np.asarray(0.3, dtype)), lazy(x))
        nan = np.isnan(expected)
        assert np.array_equal(np.signbit(got[nan]), np.signbit(expected[nan]))
