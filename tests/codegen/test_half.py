"""float16 conversions (``fusenum/codegen/half.py``, ``rules/casts.py``): a NaN keeps its sign and the
top bits of its payload through arithmetic and casts, as NumPy's conversions keep them (it was made
0x7e00), and a signaling one stays signaling when widened to float64 (it was quieted)."""
import warnings

import numpy as np
import pytest

import fusenum

HALF_NANS = np.array([0x7E01, 0xFE01, 0x7C01, 0xFFFF, 0x7E00, 0xFE00, 0x3C00, 0x7C00], np.uint16).view(np.float16)
FLOAT_NANS = np.array([0x7F802000, 0x7F800001, 0xFFC00000, 0x7FFFFFFF, 0xFF801234, 0x7FC02000], np.uint32)
DOUBLE_NANS = np.array([0x7FF0000000000001, 0xFFF4000000000000, 0x7FF0040000000000, 0x7FFFFFFFFFFFFFFF], np.uint64)


@pytest.mark.parametrize("policy", ["never", "always"])
def test_nans_keep_their_payload_through_float16(policy):
    previous = fusenum.set_tiering(policy)
    try:
        h = HALF_NANS
        f, d = FLOAT_NANS.view(np.float32), DOUBLE_NANS.view(np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for text, numpy in [("h * 3", lambda: h * 3), ("h + h", lambda: h + h), ("-h", lambda: -h),
                                ("abs(h)", lambda: np.abs(h)), ("sqrt(h)", lambda: np.sqrt(h)),
                                ("h / 2", lambda: h / 2), ("where(h > 0, 1, h)", lambda: np.where(h > 0, 1, h))]:
                expected, got = numpy(), fusenum.evaluate(text)
                assert got.tobytes() == expected.tobytes(), (text, got.view(np.uint16), expected.view(np.uint16))
            for wide in (f, d):
                into = np.empty(wide.shape, np.float16)
                fusenum.evaluate("wide * 1", out=into, casting="unsafe")
                assert into.tobytes() == (wide * 1).astype(np.float16).tobytes(), into.view(np.uint16)
            # widened to float64, a signaling NaN stays one: NumPy widens the bits (fpext would quiet it)
            d = np.zeros(h.shape)
            for text, numpy in [("where(d > 1, d, h)", lambda: np.where(d > 1, d, h)), ("h + 0j", lambda: h + 0j)]:
                expected, got = numpy(), fusenum.evaluate(text)
                assert got.tobytes() == expected.tobytes(), (text, got, expected)
            into = np.empty(h.shape)
            fusenum.evaluate("h", out=into, casting="unsafe")
            assert into.tobytes() == h.astype(np.float64).tobytes()
    finally:
        fusenum.set_tiering(previous)
