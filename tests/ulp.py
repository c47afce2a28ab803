"""ULP distances and the input grids of the accuracy tests."""
from __future__ import annotations

import numpy as np

_BITS = {2: (np.int16, 0x7FFF), 4: (np.int32, 0x7FFFFFFF), 8: (np.int64, 0x7FFFFFFFFFFFFFFF)}


def ordinal(x: np.ndarray) -> np.ndarray:
    """Floats mapped to integers in the same order, adjacent floats to adjacent integers
    (+0.0 and -0.0 both to 0)."""
    itype, mask = _BITS[x.dtype.itemsize]
    bits = np.ascontiguousarray(x).view(itype).astype(np.int64)
    return np.where(bits < 0, -(bits & mask), bits)


def ulp_distance(expected: np.ndarray, got: np.ndarray) -> np.ndarray:
    """ULPs between ``got`` and ``expected`` (0 where both are NaN; huge where only one is,
    or where an infinity or the sign of a zero differs)."""
    expected, got = np.asarray(expected), np.asarray(got)
    assert expected.dtype == got.dtype, (expected.dtype, got.dtype)
    distance = np.abs(ordinal(expected) - ordinal(got))
    nan_e, nan_g = np.isnan(expected), np.isnan(got)
    distance = np.where(nan_e & nan_g, 0, distance)
    must_match = nan_e | nan_g | np.isinf(expected) | np.isinf(got) | ((expected == 0) & (got == 0))
    mismatch = must_match & ~(nan_e & nan_g) & ~((expected == got) & (np.signbit(expected) == np.signbit(got)))
    return np.where(mismatch, np.iinfo(np.int64).max, distance)


def edge_values(dtype) -> np.ndarray:
    """Zeros, infinities, NaN, subnormals, the limits of the range and numbers near them."""
    info = np.finfo(dtype)
    values = [0.0, 1.0, np.inf, np.nan, info.max, info.max / 2, info.tiny, info.tiny / 2,
              info.smallest_subnormal, 2 * info.smallest_subnormal, info.eps, info.epsneg, 0.5, 2.0,
              1 - info.epsneg, 1 + info.eps]
    values = np.array(values, dtype)
    return np.concatenate([values, -values])


def grid(dtype, low: float, high: float, count: int = 20000, seed: int = 0) -> np.ndarray:
    """A dense linear grid on [low, high], log-spaced magnitudes across it, and edge values."""
    rng = np.random.default_rng(seed)
    linear = np.linspace(low, high, count)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        top = max(abs(low), abs(high))
        exponents = rng.uniform(np.log2(float(np.finfo(dtype).smallest_subnormal)), np.log2(top) if top else 0, count)
        logs = np.exp2(exponents) * rng.choice([-1.0, 1.0], count)
        logs = logs[(logs >= low) & (logs <= high)]
        values = np.concatenate([linear, logs]).astype(dtype)
    return np.concatenate([values, edge_values(dtype)])
