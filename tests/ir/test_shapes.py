"""Broadcasting of shapes: NumPy's answer and words, and beyond NumPy's 32-dimension broadcast."""
import itertools

import numpy as np
import pytest

from fusenum.ir import shapes as shapes_module
from fusenum.ir.shapes import broadcast_shapes


@pytest.mark.parametrize("numpy_words", [True, False], ids=["numpy raises", "own words"])
def test_every_small_case_is_numpys_answer_or_its_error(numpy_words, monkeypatch):
    if not numpy_words:  # the message written for more than 32 dimensions, checked where NumPy can say it
        monkeypatch.setattr(shapes_module, "_NUMPY_BROADCAST_MAX_DIMS", -1)
    sizes = (0, 1, 2, 3)
    shapes = [()] + [(a,) for a in sizes] + [(a, b) for a in sizes for b in sizes]
    for pair in itertools.product(shapes, repeat=2):
        for operands in (pair, pair + ((1, 1, 1),), pair + ((3,),), pair + ((2, 1),)):
            try:
                expected = np.broadcast_shapes(*operands)
            except ValueError as exc:
                with pytest.raises(ValueError) as caught:
                    broadcast_shapes(*operands)
                assert str(caught.value) == str(exc), operands
            else:
                assert broadcast_shapes(*operands) == expected, operands


@pytest.mark.parametrize("ndim", [33, 64])
def test_shapes_of_more_than_32_dimensions_broadcast(ndim):
    # (np.broadcast_shapes raises RuntimeError here in NumPy 2.4: this module is why)
    assert broadcast_shapes((1,) * ndim, (3,) + (1,) * (ndim - 1), (2,)) == (3,) + (1,) * (ndim - 2) + (2,)
    with pytest.raises(ValueError, match=r"^shape mismatch: objects cannot be broadcast to a single shape\. "
                                         r" Mismatch is between arg 0 with shape \(2,\) and arg 1"):
        broadcast_shapes((2,), (3,) + (1,) * (ndim - 2) + (3,))
