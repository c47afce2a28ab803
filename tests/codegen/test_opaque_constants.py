"""Constants and negations of an expression are hidden from LLVM's code generator (``Emitter.opaque``):
both builds give NumPy's bits for input NaNs, where the optimized one folded ``x * -1.0`` into a
negation and ``-x + a`` into ``a - x`` (the NaN's sign flipped, or not), and both folded ``x * 1.0``
into ``x`` (a signaling NaN not quieted)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import warnings
import numpy as np
import fusenum

warnings.simplefilter("ignore")
mismatches = []
for dtype, bits, signaling, payload in [(np.float64, np.uint64, 0x7FF0000000000001, 0xFFF8000000000123),
                                        (np.float32, np.uint32, 0x7F800001, 0xFFC00123)]:
    odd = np.array([signaling, payload], bits).view(dtype)
    x = np.array([1.5, np.nan, -np.nan, odd[0], odd[1], -0.0, np.inf], dtype)
    for constant in ["-1.0", "1.0", "-0.0", "0.0", "2.0", "-2.0", "0.5", "4.0"]:
        value = dtype(float(constant))
        for form in ["x * C", "C * x", "x / C", "C / x", "x + C", "C + x", "x - C", "C - x"]:
            expected = eval(form.replace("C", "value"))
            got = fusenum.evaluate(form.replace("C", f"({constant})"), {"x": x})
            if got.dtype != expected.dtype or got.tobytes() != expected.tobytes():
                mismatches.append((dtype.__name__, form, constant))
    for form in ["-x + a", "a + -x", "a - -x", "-x - a", "-x * a"]:
        a = np.ones_like(x)
        if fusenum.evaluate(form, {"x": x, "a": a}).tobytes() != eval(form).tobytes():
            mismatches.append((dtype.__name__, form, ""))
z = np.array([np.nan, 2.0])
if fusenum.evaluate("(-1+1j) * z").tobytes() != ((-1 + 1j) * z).tobytes():
    mismatches.append(("complex128", "(-1+1j) * z", ""))
z, w = np.full(4, complex(np.nan, -np.nan)), np.ones(4, complex)
for form in ["-z + w", "w - -z", "np.conj(z) + w", "w - np.conj(z)"]:
    if fusenum.evaluate(form.replace("np.", ""), {"z": z, "w": w}).tobytes() != eval(form).tobytes():
        mismatches.append(("complex128", form, ""))
print(mismatches)
"""


@pytest.mark.parametrize("build", ["quick", "optimized"])
def test_input_nans_keep_numpys_bits_through_operations_with_constants(build, tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "FUSENUM_CACHE_DIR": str(tmp_path),
                   "FUSENUM_TIERING": "never", "FUSENUM_COMPILE": "optimized" if build == "optimized" else "tiered"}
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=environment,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
