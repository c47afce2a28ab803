"""Tier 0's reductions by NumPy (:mod:`fusenum.runtime.replayed_sums`): the fused kernel's bits for
every float sum that is not NaN (rows, pieces, both lane groupings, block boundaries, signed zeros,
infinities, float and complex) and every integer or bool reduction in any layout, no one-node kernel
compiled for them, and the one-node kernel for a NaN sum or a layout the replay does not cover."""
import numpy as np
import pytest

import fusenum
from fusenum.codegen.lanes import PAIRWISE_STEPS, lanes_of
from fusenum.runtime import kernels, replayed_sums

pytestmark = pytest.mark.usefixtures("memory_only_kernels")

RNG = np.random.default_rng(20261204)
#: Lengths around the grouping's edges for 8-byte lanes (steps of 32, tail steps of 8, blocks of 512)
#: and 4-byte ones (64, 16, 1024), a flat row cut into pieces (over 65,536), and a few others.
LENGTHS = [1, 2, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 511, 512, 513, 1023, 1024, 1025, 1536, 3 * 512 + 40,
           7 * 1024 + 100, 10_000, 65_535, 70_001]


def _values(shape, dtype: str, kind: str) -> np.ndarray:
    if kind == "wide":  # magnitudes over many orders, so that every grouping rounds differently
        x = RNG.standard_normal(shape) * 10.0 ** RNG.integers(-12, 12, shape)
    elif kind == "zeros":
        x = np.where(RNG.random(shape) < 0.5, -0.0, 0.0)
    else:  # infinities of one sign among finite values: no NaN
        x = np.where(RNG.random(shape) < 0.01, np.inf, RNG.standard_normal(shape))
    with np.errstate(all="ignore"):
        if dtype.startswith("complex"):
            x = x + 1j * x[..., ::-1]
        return x.astype(dtype)


def _both(text: str, names: dict):
    """``text`` by the fused kernel, then by tier 0 with no kernel in memory; how many one-node
    reduction kernels tier 0 compiled."""
    previous = fusenum.set_tiering("never")
    try:
        fused = fusenum.evaluate(text, names)
        fusenum.clear_cache()
        fusenum.set_tiering("always")
        interpreted = fusenum.evaluate(text, names)
        return fused, interpreted, sum(1 for spec, _ in kernels._kernels if spec.reduce)
    finally:
        fusenum.set_tiering(previous)
        fusenum.clear_cache()


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", ["float64", "float32", "complex128", "complex64"])
@pytest.mark.parametrize("length", LENGTHS)
def test_a_flat_sum_has_the_fused_kernels_bits_and_compiles_nothing(dtype, length):
    for kind in ("wide", "zeros", "infinities"):
        a = _values(length, dtype, kind)
        for text in ("sum(a)", "mean(a * 3)", "sum(sin(a))"):  # (sin: the expensive lanes)
            fused, interpreted, compiled = _both(text, {"a": a})
            assert _same_bits(fused, interpreted), (text, kind, fused, interpreted)
            assert compiled == np.isnan(fused).any(), text  # (a NaN sum: the one-node kernel)


@pytest.mark.parametrize("shape, text", [
    ((3, 1000), "sum(a, axis=1)"), ((17, 513), "mean(a, axis=-1)"), ((5, 3, 700), "sum(a * a, axis=(1, 2))"),
    ((4, 6, 5), "sum(a, axis=2)"), ((2, 40_000), "sum(a, axis=1, keepdims=True)"), ((1, 1), "sum(a)"),
])
@pytest.mark.parametrize("dtype", ["float64", "float32", "complex128"])
def test_rows_reduced_in_registers_have_the_fused_kernels_bits(shape, text, dtype):
    fused, interpreted, compiled = _both(text, {"a": _values(shape, dtype, "wide")})
    assert _same_bits(fused, interpreted) and not np.isnan(fused).any() and compiled == 0


def test_a_transposed_argument_is_reduced_in_memory_order_by_the_one_node_kernel():
    # (9, 700) with the reduced axis the contiguous one: the kernel walks memory, the kept axis
    # innermost, which the replay does not cover
    a = _values((700, 9), "float64", "wide").T
    fused, interpreted, compiled = _both("sum(a, axis=1)", {"a": a})
    assert _same_bits(fused, interpreted) and compiled == 1


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "uint64", "int16", "bool"])
@pytest.mark.parametrize("shape", [(5,), (1000,), (70_001,), (30, 40), (3, 7, 9), (2, 40_000)])
def test_integer_and_bool_reductions_in_any_layout_are_numpys_and_compile_nothing(dtype, shape):
    a = RNG.integers(-100, 100, shape).astype(dtype)
    f = RNG.standard_normal(shape)
    f[RNG.random(shape) < 0.1] = np.nan
    texts = ["sum(a)", "prod(a)", "max(a)", "min(a)", "any(a > 3)", "all(a > -100)", "sum(a > 0)",
             "sum(a, axis=0)", "min(a, axis=-1)", "nanmean(f)"]  # (nanmean: a float sum and a count)
    if len(shape) == 3:
        texts.append("prod(a * 3, axis=(0, 2))")
    for text in texts:
        fused, interpreted, compiled = _both(text, {"a": a, "f": f})
        assert _same_bits(fused, interpreted) and compiled == 0, text


_NARROWER = {
    "sum(a, dtype='int8')": lambda a, b: np.sum(a, dtype="int8"),
    "prod(a + 1, dtype='int16')": lambda a, b: np.prod(a + 1, dtype="int16"),
    "sum(a * 2**24, dtype='int32')": lambda a, b: np.sum(a * 2**24, dtype="int32"),
    "sum(b, axis=(0, 1), dtype='int16')": lambda a, b: np.sum(b, axis=(0, 1), dtype="int16"),
    "sum(a, dtype='uint8')": lambda a, b: np.sum(a, dtype="uint8"),
}


@pytest.mark.parametrize("text", list(_NARROWER))
def test_an_integer_reduction_into_a_narrower_dtype_wraps_as_the_kernel_does(text):
    # NumPy reduces in int64: its 0-d result must wrap into the accumulator, not raise OverflowError
    a, b = np.arange(100), np.arange(10_000).reshape(100, 100)
    fused, interpreted, compiled = _both(text, {"a": a, "b": b})
    assert _same_bits(fused, interpreted) and compiled == 0
    assert _same_bits(interpreted, _NARROWER[text](a, b))


def test_a_nan_sum_and_an_uncovered_layout_go_to_the_one_node_kernel():
    a = _values(5000, "float64", "wide")
    a[1234] = np.nan
    fused, interpreted, compiled = _both("sum(a)", {"a": a})
    assert np.isnan(fused) and np.isnan(interpreted) and compiled == 1
    # the accumulator moves along the innermost axis (column sums of a C array): not replayed
    fused, interpreted, compiled = _both("sum(a, axis=0)", {"a": _values((300, 40), "float64", "wide")})
    assert _same_bits(fused, interpreted) and compiled == 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_grouping_itself(dtype):
    """The additions, written out for one row: 2 blocks and a tail, by hand."""
    step, tail = lanes_of(np.dtype(dtype).itemsize, False)
    block = step * PAIRWISE_STEPS
    row = _values(2 * block + step + tail + 3, np.dtype(dtype).name, "wide")
    zero = dtype(0)

    def tree(lanes):
        while len(lanes) > 1:
            half = len(lanes) // 2
            lanes = lanes[:half] + lanes[half:]
        return lanes[0]

    def lanes_of_steps(part, width):
        lanes = np.zeros(width, dtype)
        for k in range(0, len(part), width):
            lanes = lanes + part[k:k + width]
        return lanes
    with np.errstate(all="ignore"):
        first, second = (tree(lanes_of_steps(row[k * block:(k + 1) * block], step)) + zero for k in (0, 1))
        lanes = lanes_of_steps(row[2 * block:2 * block + step], step)
        lanes[:tail] = lanes[:tail] + row[2 * block + step:2 * block + step + tail]
        scalar = zero
        for value in row[2 * block + step + tail:]:
            scalar = scalar + value
        expected = zero + ((first + second) + (tree(lanes) + scalar))
    got = replayed_sums.reduce_rows(row.reshape(1, -1), step, tail)
    assert got.tobytes() == np.array([expected], dtype).tobytes()


def test_which_reductions_and_layouts_are_replayed():
    f8, f2, i8 = np.dtype("float64"), np.dtype("float16"), np.dtype("int64")
    assert replayed_sums.replays("sum", f8, [8, 0], False) and replayed_sums.replays("mean", f8, [0], True)
    assert not replayed_sums.replays("prod", f8, [0], False)  # not a sum
    assert not replayed_sums.replays("nansum", f8, [0], False)  # (typed as a sum: never reaches here)
    assert not replayed_sums.replays("sum", f2, [0], False)
    assert not replayed_sums.replays("sum", f8, [8, 0, 8], False)  # the accumulator moves along the row
    assert not replayed_sums.replays("sum", f8, [0, 8, 0], False)  # rows of an outer reduced axis fold
    assert not replayed_sums.replays("sum", f8, [8, 0], True)  # pieces of rows
    assert not replayed_sums.replays("max", f8, [0], False)  # (which zero a float max keeps: the order's)
    assert replayed_sums.replays("prod", i8, [8, 0, 8], False)  # exact: any layout
    assert replayed_sums.replays("any", np.dtype(bool), [0], True)
