"""Elementwise kernels: the quick build emits an expensive body once, running the elements left over
through stack buffers, and computes exactly the bits of the optimized build (vector loop and scalar
tail) over sizes around the vector width, layouts, dtypes, special values and output alignments; its
buffered steps read and write nothing outside their row."""

import numpy as np
import pytest

import fusenum
from fusenum.codegen import settings
from fusenum.codegen.modules import kernel_module
from fusenum.codegen.target import make_target
from fusenum.ir import nodes
from fusenum.ir.ops import expression_cost
from fusenum.codegen.elementwise import UNROLL_COST
from fusenum.codegen.spec import ACCESSES, KernelSpec
from fusenum.runtime import kernels, plan

EXPENSIVE = ["tanh(a)", "exp(a) * log(b)", "where(a > b, expm1(a), b)", "a ** b"]
SIZES = [0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 33, 100]
DTYPES = ["f8", "f4", "f2", ">f8", "c16", "c8"]
#: Values that send vector math down its slow paths, sprinkled into the operands.
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, 1e300, -750.0, 750.0]
pytestmark = pytest.mark.usefixtures("memory_only_kernels")


def _operands(dtype: str, size: int, rng) -> list[tuple[str, dict]]:
    """(layout, {a, b}) for ``size`` elements of ``dtype``: contiguous, strided, reversed, a 0-d
    ``b``, and a 2-d array read by columns."""
    def values(n):
        x = rng.uniform(0.2, 3.0, n) + (1j * rng.uniform(-1, 1, n) if dtype[-2] == "c" else 0)
        x[rng.random(n) < 0.2] = rng.choice(SPECIAL)
        with np.errstate(over="ignore"):  # 1e300 is inf in float16 and float32
            return x.astype(dtype)

    a, b, wide = values(size), values(size), values(2 * size)
    cases = [("contiguous", {"a": a, "b": b}), ("strided", {"a": wide[::2], "b": b}),
             ("reversed", {"a": a[::-1], "b": wide[1::2]}), ("0-d", {"a": a, "b": values(1).reshape(())})]
    if size:
        grid = values(3 * size).reshape(size, 3)
        cases.append(("columns", {"a": grid.T, "b": values(3 * size).reshape(3, size)}))
    return cases


def _only_builds(monkeypatch, quick: bool) -> None:
    """From an empty kernel cache, kernels are only quick-built (never optimized) or only optimized."""
    fusenum.clear_cache()
    monkeypatch.setattr(kernels, "TIERED", quick)
    monkeypatch.setattr(kernels, "_optimize", lambda *args: None)  # the quick build stays in use


def _results(monkeypatch, quick: bool) -> dict:
    """Every case's result and its byte-swapped twin, with kernels only quick-built or only optimized."""
    _only_builds(monkeypatch, quick)
    rng = np.random.default_rng(7)
    results = {}
    for text in EXPENSIVE:
        for dtype in DTYPES:
            if dtype[-2] == "c" and "where" in text:
                continue  # complex numbers are not ordered
            for size in SIZES:
                for layout, values in _operands(dtype, size, rng):
                    with np.errstate(all="ignore"):
                        out = fusenum.evaluate(text, values)
                        swapped = np.empty(out.shape, out.dtype.newbyteorder())  # a byte-swapped output
                        fusenum.evaluate(text, values, out=swapped)
                    results[text, dtype, size, layout] = (out, swapped.astype(out.dtype))
    return results


def _same_bits(x: np.ndarray, y: np.ndarray) -> bool:
    """Equal bits, but for the sign and payload of NaNs, which the README leaves open (a NaN an invalid
    operation makes, or which of two NaN operands an instruction passes on, may differ between builds)."""
    if x.dtype != y.dtype or x.shape != y.shape:
        return False
    if x.dtype.kind == "c":
        return _same_bits(x.real, y.real) and _same_bits(x.imag, y.imag)
    bits = np.dtype(f"u{x.dtype.itemsize}")
    same = np.ascontiguousarray(x).view(bits) == np.ascontiguousarray(y).view(bits)
    return bool(np.all(same | (np.isnan(x) & np.isnan(y))))


def test_quick_builds_give_the_optimized_builds_bits(simd, monkeypatch):
    quick = _results(monkeypatch, quick=True)
    optimized = _results(monkeypatch, quick=False)
    assert quick.keys() == optimized.keys()
    assert [key for key in quick if not all(map(_same_bits, quick[key], optimized[key]))] == []


@pytest.mark.parametrize("misalignment", [0, 8, 24, 1])
def test_streaming_rows_give_the_same_bits_whatever_the_outputs_alignment(simd, monkeypatch, misalignment):
    """Streaming stores need an aligned output: the elements before it (all of them when the output is
    not even element-aligned) take a scalar loop, in quick and optimized builds alike (streaming
    kernels keep the two-copy loop)."""
    if simd == "scalar":
        pytest.skip("the scalar level has no vectors, so no streaming stores")
    monkeypatch.setattr(plan, "STREAM_BYTES", 256)
    monkeypatch.setattr(plan, "STREAM_MAX_COST", 1 << 30)  # (this body's vector math would not stream)
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.2, 3.0, 301), rng.uniform(0.2, 3.0, 301)
    got = {}
    for quick in (True, False):
        _only_builds(monkeypatch, quick)
        raw = np.zeros(301 * 8 + 128, np.uint8)
        start = -raw.ctypes.data % 64 + misalignment
        out = raw[start:start + 301 * 8].view(np.float64)
        fusenum.evaluate("exp(a) * log(b) + tanh(a)", {"a": a, "b": b}, out=out)
        assert "streaming stores yes" in fusenum.explain("exp(a) * log(b) + tanh(a)", {"a": a, "b": b}, out=out)
        got[quick] = out.tobytes()
    assert got[True] == got[False]


def test_a_quick_build_compiles_an_expensive_body_once():
    root = nodes.make("tanh", (nodes.input_slot(0, np.dtype("f8")),), np.dtype("f8"))
    assert expression_cost(root) > UNROLL_COST
    contiguous = ACCESSES["c", False]
    spec = KernelSpec(root, (contiguous, contiguous), 1)
    target = make_target("avx2" if "avx2" in fusenum.available_simd() else "sse2")
    with settings.building(settings.key):
        quick, optimized = kernel_module(spec, target, quick=True), kernel_module(spec, target, quick=False)
    # the optimized build's scalar tail is a second copy of the body, computing on plain doubles
    assert 'call double @"llvm.fabs.f64"' in optimized and 'call double @"llvm.fabs.f64"' not in quick
    assert len(quick) < 0.9 * len(optimized)


def test_buffered_steps_read_and_write_only_their_row(simd, monkeypatch):
    """The elements after a row's end are negative exponents here, which integer ``**`` refuses (NumPy's
    ValueError) if a buffered step read them; the output sits between guard elements."""
    _only_builds(monkeypatch, quick=True)
    i8 = np.dtype(np.int64)
    root = nodes.make("power", (nodes.input_slot(0, i8), nodes.input_slot(1, i8)), i8)
    assert expression_cost(root) > UNROLL_COST  # so its quick build has one body
    rng = np.random.default_rng(11)
    for size in range(1, 40):
        a = rng.integers(-9, 10, size)
        exponents = np.full(size + 64, -1, np.int64)
        exponents[:size] = rng.integers(0, 6, size)
        b = exponents[:size]
        guarded = np.full(size + 128, -7, np.int64)
        out = guarded[64:64 + size]
        fusenum.evaluate("a ** b", {"a": a, "b": b}, out=out)
        np.testing.assert_array_equal(out, a ** b)
        assert (guarded[:64] == -7).all() and (guarded[64 + size:] == -7).all()
