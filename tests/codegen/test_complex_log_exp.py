"""Complex exp2, expm1, log2, log10 and log1p: NumPy's formulas on the C library, bit for bit,
special values and branch cuts included, at every SIMD level."""
import itertools
import warnings

import numpy as np
import pytest

import fusenum
from fusenum import lazy

from ..strategies import assert_same

PARTS = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 1e-8, -1e-20, 3.7, 710.0, -745.0, 1e300, -1e300, 1e-300,
         np.inf, -np.inf, np.nan]
FUNCTIONS = ["exp2", "expm1", "log2", "log10", "log1p"]


def _grid(dtype) -> np.ndarray:
    pairs = np.array(list(itertools.product(PARTS, PARTS)))
    rng = np.random.default_rng(3)
    z = np.empty(len(pairs) + 500, dtype)
    with np.errstate(over="ignore"):
        z.real[:len(pairs)], z.imag[:len(pairs)] = pairs[:, 0], pairs[:, 1]
    z.real[len(pairs):], z.imag[len(pairs):] = rng.standard_normal((2, 500)) * 5
    return z


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_complex_function_matches_numpy_bit_for_bit(simd, name, dtype):
    z = _grid(dtype)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        expected = getattr(np, name)(z)
        assert_same(expected, fusenum.evaluate(f"{name}(z)", local_dict={"z": z}))
        assert_same(expected, np.asarray(getattr(np, name)(lazy(z))))
