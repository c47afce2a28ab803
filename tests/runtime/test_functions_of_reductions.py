"""Every op-table function applied to reductions: NumPy's shape, dtype and values, in both front ends.

A function whose result does not read its argument's values (``imag`` of a real
number is zeros) must still take its argument's *shape*, which for a reduction
is not the shape of the arrays bound to the expression.
"""
import warnings

import numpy as np
import pytest

import fusenum
from fusenum import lazy
from fusenum.ir.ops import OPS

A = np.arange(1, 16, dtype=np.float64).reshape(3, 5) / 7
D = np.linspace(0.1, 0.5, 5)
#: (expression text, NumPy's computation of it) for the argument of each function.
REDUCED = {
    "sum(a)": lambda a, d: np.sum(a),
    "mean(a, axis=0)": lambda a, d: np.mean(a, axis=0),
}
DTYPES = ["float64", "int64", "bool", "complex128"]


def _numpy_function(op):
    return op.ufunc if op.ufunc is not None else getattr(np, op.name, None)


CASES = [op for op in OPS.values() if op.names and _numpy_function(op) is not None]


def _expected(function, args):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return np.asarray(function(*args))
        except TypeError:  # NumPy has no loop for this dtype
            return None


def _assert_same(got, expected):
    got = np.asarray(got)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    if expected.dtype.kind in "fc":
        np.testing.assert_allclose(got, expected, rtol=1e-5, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduced", list(REDUCED))
@pytest.mark.parametrize("op", CASES, ids=lambda op: op.name)
def test_function_of_reduction_has_numpys_shape(op, reduced, dtype):
    a = (A * 3).astype(dtype) if dtype != "complex128" else (A + 1j * A[::-1]).astype(dtype)
    function = _numpy_function(op)
    argument = REDUCED[reduced](a, D)
    expected = _expected(function, (argument,) * op.arity)
    if expected is None:
        pytest.skip(f"NumPy has no {op.name} loop for {dtype}")
    text = f"{op.names[0]}({', '.join([reduced] * op.arity)})"
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            got_text = fusenum.evaluate(text, local_dict={"a": a, "d": D})
        except NotImplementedError:
            pytest.skip(f"fusenum does not implement {op.name} for {dtype}")
        lazy_argument = REDUCED[reduced](lazy(a), D)
        got_lazy = np.asarray(function(*(lazy_argument,) * op.arity))
    _assert_same(got_text, expected)
    _assert_same(got_lazy, expected)


def test_function_of_reduction_broadcasts_with_other_operands():
    a = A
    expected = np.imag(np.mean(a, axis=0)) + D
    _assert_same(fusenum.evaluate("imag(mean(a, axis=0)) + d", local_dict={"a": a, "d": D}), expected)
    _assert_same(np.imag(lazy(a).mean(axis=0)) + lazy(D), expected)
