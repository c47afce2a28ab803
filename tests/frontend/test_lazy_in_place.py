"""In-place operators on one-element complex lazy arrays give NumPy's bits.

NumPy's complex multiply and square loops compute a one-element in-place call
(output = input) without the fused multiply-add of their SIMD loops, so the
last bit differs from ``x * y``; a lazy ``t *= y`` must match the in-place call.
"""
import operator

import numpy as np
import pytest

from fusenum import LazyArray, lazy

from ..strategies import assert_same

rng = np.random.default_rng(7)
VALUES = rng.standard_normal(300) + 1j * rng.standard_normal(300)
IN_PLACE = {"*= itself": lambda t, a: operator.imul(t, t), "*= other": lambda t, a: operator.imul(t, a),
            "*= python": lambda t, a: operator.imul(t, 1.3 - 0.7j), "**= 2": lambda t, a: operator.ipow(t, 2),
            "+= other": lambda t, a: operator.iadd(t, a)}


@pytest.mark.parametrize("how", list(IN_PLACE))
@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (3,)], ids=str)
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_in_place_complex_matches_numpy(dtype, shape, how):
    update = IN_PLACE[how]
    for value in VALUES:
        a = np.full(shape, value, dtype)
        other = np.full(shape, value * (0.9 + 0.2j), dtype)
        expected = update(a.copy(), other)
        got = update(lazy(a.copy()), other)
        assert type(got) is LazyArray
        assert_same(expected, np.asarray(got))
