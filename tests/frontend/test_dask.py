"""fusenum over dask arrays on the threaded scheduler: graphs, values, dtypes, reductions, lazy arrays."""
import copy
import pickle

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import fusenum  # noqa: E402
from fusenum import LazyArray, lazy  # noqa: E402
from fusenum.frontend.dask_graph import BlockKernel  # noqa: E402
from fusenum.frontend.dask_types import is_dask_array  # noqa: E402
from fusenum.ir import nodes  # noqa: E402
from fusenum.ir.nodes import Node  # noqa: E402
from fusenum.ir.reductions import ReduceAttr  # noqa: E402

RNG = np.random.default_rng(16)
A = RNG.random((8, 12))
B = RNG.random(12) + 0.5
C = RNG.random((8, 1))
# Small integers as floats: every partial sum is exact, so any chunking gives NumPy's bits.
WHOLE = RNG.integers(-50, 50, (8, 12)).astype(np.float64)


@pytest.fixture(autouse=True)
def threaded():
    with dask.config.set(scheduler="threads"):
        yield


def chunked(x, chunks):
    return da.from_array(x, chunks=chunks)


def fusenum_layers(result) -> list[str]:
    return [name for name in result.dask.layers if name.startswith("fusenum")]


def same(result, expected) -> None:
    """``result`` (dask) computes to exactly ``expected``: dtype, shape, bits."""
    value = result.compute()
    assert value.dtype == expected.dtype and value.shape == expected.shape
    np.testing.assert_array_equal(value, expected, strict=True)


# ---- elementwise: one blockwise layer ----------------------------------------------------------------------

def test_elementwise_is_one_blockwise_layer_with_numpys_answer():
    a, b, c = chunked(A, (4, 6)), chunked(B, 6), chunked(C, (4, 1))
    result = fusenum.evaluate("2*a + 3*b*c - sqrt(a)")
    assert is_dask_array(result)
    assert len(fusenum_layers(result)) == 1
    assert set(result.dask.layers) == {a.name, b.name, c.name, *fusenum_layers(result)}
    assert result.chunks == (a + b * c).chunks
    assert type(result._meta) is np.ndarray and result._meta.dtype == np.float64 and result._meta.ndim == 2
    assert fusenum.evaluate("2*a + 3*b*c - sqrt(a)").name == result.name  # deterministic names
    same(result, 2 * A + 3 * B * C - np.sqrt(A))


def test_chunks_are_unified_as_dask_unifies_them():
    a, b = chunked(A, (3, 5)), chunked(A, (4, 4))
    result = fusenum.evaluate("a * b + 1")
    assert result.chunks == (a * b + 1).chunks
    same(result, A * A + 1)


@pytest.mark.parametrize("left, right, expression", [
    (np.arange(6, dtype=np.int8), 3, "x + y"),                       # a weak Python int keeps int8
    (np.linspace(0, 1, 6, dtype=np.float32), 2.5, "x * y"),          # a weak Python float keeps float32
    (np.arange(6, dtype=np.int32), np.float32(2), "x * y"),          # NumPy 2 promotion: float64
    (np.arange(6, dtype=np.uint8), np.arange(6, dtype=np.int8), "where(x > 2, x, y)"),
])
def test_result_dtype_is_numpys(left, right, expression):
    x = chunked(left, 4)
    y = chunked(right, 4) if isinstance(right, np.ndarray) else right
    result = fusenum.evaluate(expression)
    expected = fusenum.evaluate(expression, local_dict={"x": left, "y": right})
    assert result.dtype == expected.dtype == result._meta.dtype
    same(result, expected)


def test_zero_d_dask_arrays_and_python_scalars():
    a = chunked(A, (4, 6))
    s = da.from_array(np.float32(2.5))  # a 0-d array is strong: float64 * float32 -> float64
    k = 3
    result = fusenum.evaluate("a * s + k")
    same(result, A * np.asarray(np.float32(2.5)) + 3)
    only_scalars = fusenum.evaluate("s * 2", local_dict={"s": s})
    assert only_scalars.shape == ()
    same(only_scalars, np.asarray(np.float32(2.5)) * 2)


def test_a_length_one_axis_split_by_empty_chunks_broadcasts():
    # .compute_chunk_sizes() leaves empty chunks; dask's unify_chunks took a length-1 axis in chunks (1, 0)
    # for a chunking the other operands must match ("Chunks do not add up to shape")
    row = da.from_array(WHOLE[:1], chunks=((1, 0), (5, 7)))
    column = da.from_array(WHOLE[:, :1], chunks=((3, 5), (0, 1, 0)))
    same(fusenum.evaluate("w + row", {"w": chunked(WHOLE, (3, 5)), "row": row}), WHOLE + WHOLE[:1])
    same(fusenum.evaluate("w * column", {"w": WHOLE, "column": column}), WHOLE * WHOLE[:, :1])
    same(fusenum.evaluate("sum(row * column, axis=0)", {"row": row, "column": column}),
         np.sum(WHOLE[:1] * WHOLE[:, :1], axis=0))


def test_an_empty_axis_in_several_chunks_of_dasks_own_making():
    # dask's elementwise operations on an empty axis split in chunks (0, 0) make an array whose graph has
    # only its first block; fused over, it failed with "Missing dependency" where dask's own where works
    y = da.from_array(np.ones((1, 0)), chunks=((1,), (0, 0)))
    made = y == 1
    same(fusenum.evaluate("sum(where(made, y, y) * y, axis=0)"), np.zeros(0))
    same(fusenum.evaluate(np.sum(np.where(made, lazy(y), y) * y, axis=0)), np.zeros(0))


def test_ndarray_operands_are_rechunked_to_the_dask_operand():
    a = chunked(A, (4, 6))
    result = fusenum.evaluate("a - b", local_dict={"a": a, "b": B})
    assert result.chunks == a.chunks
    same(result, A - B)


def test_nothing_is_computed_until_asked():
    calls = []

    def counted(block):
        if block.size:  # (dask's map_blocks calls it on an empty block to learn the meta)
            calls.append(block.shape)
        return block

    a = chunked(WHOLE, (4, 6)).map_blocks(counted, dtype=A.dtype)
    result = fusenum.evaluate("sum(a*a, axis=0) + a")
    lazy_result = lazy(a) * 2 - 1
    fusenum.evaluate(lazy_result)
    shown = repr(lazy_result) + str(lazy_result)  # a notebook shows it: that computes nothing either
    assert calls == [] and not lazy_result.is_forced and "dask.array<" in shown
    same(result, np.sum(WHOLE * WHOLE, axis=0) + WHOLE)
    assert len(calls) == 4


def test_a_graph_holds_the_expression_not_arrays_or_kernels():
    a, b = da.ones((4_000_000,), chunks=1_000_000), da.ones((4_000_000,), chunks=1_000_000)
    result = fusenum.evaluate("2*a + 3*b - sqrt(a)")
    reduced = fusenum.evaluate("sum(a*b)")
    assert len(pickle.dumps(result)) < 20_000 and len(pickle.dumps(reduced)) < 40_000


def test_block_kernel_pickles_as_its_ir():
    root = fusenum.frontend.dask_graph.nodes.input_slot(0, np.dtype(np.float64))
    kernel = BlockKernel(root)
    twin = pickle.loads(pickle.dumps(kernel))
    assert twin.root is root  # hash-consed again on arrival
    assert dask.base.tokenize(twin) == dask.base.tokenize(kernel)


# ---- errors ------------------------------------------------------------------------------------------------

def test_out_is_refused_with_a_dask_operand():
    a = chunked(A, (4, 6))
    message = "^out= is not supported when an operand is a dask array"
    with pytest.raises(fusenum.ArgumentTypeError, match=message):
        fusenum.evaluate("a + 1", out=np.empty_like(A))
    with pytest.raises(fusenum.ArgumentTypeError, match=message):
        fusenum.evaluate(lazy(a) + 1, out=np.empty_like(A))


def test_order_f_is_refused_with_a_dask_operand():
    a = chunked(A, (4, 6))
    with pytest.raises(fusenum.InvalidArgumentError, match="^order='F' is not supported over dask arrays"):
        fusenum.evaluate("a + 1", order="F")


def test_split_every_needs_a_dask_operand():
    message = "^split_every applies only when an operand is a dask array$"
    with pytest.raises(fusenum.InvalidArgumentError, match=message):
        fusenum.evaluate("sum(a)", local_dict={"a": A}, split_every=2)
    with pytest.raises(fusenum.InvalidArgumentError, match=message):
        fusenum.evaluate(lazy(A).sum(), split_every=2)


def test_unknown_chunk_sizes_are_refused():
    a = chunked(A.ravel(), 24)
    unknown = a[a > 0.5]
    with pytest.raises(fusenum.InvalidArgumentError, match="^fusenum needs dask arrays of known shape"):
        fusenum.evaluate("unknown + 1")
    with pytest.raises(fusenum.InvalidArgumentError, match="^fusenum needs dask arrays of known shape"):
        lazy(unknown)


def test_shapes_that_do_not_broadcast_raise_numpys_error():
    a, b = chunked(A, (4, 6)), chunked(np.ones(5), 5)
    with pytest.raises(ValueError, match="shape mismatch|could not be broadcast"):
        fusenum.evaluate("a + b")


def test_reduction_errors_are_numpys():
    a = chunked(A, (4, 6))
    with pytest.raises(np.exceptions.AxisError, match="axis 2 is out of bounds for array of dimension 2"):
        fusenum.evaluate("sum(a, axis=2)")
    empty = chunked(np.ones((0, 3)), 2)
    message = "^zero-size array to reduction operation maximum which has no identity$"
    with pytest.raises(ValueError, match=message):
        fusenum.evaluate("max(empty)")


# ---- reductions --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sum", "prod", "min", "max", "mean", "any", "all"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(name, axis, keepdims):
    data = np.where(WHOLE < 0, -1.0, 1.0) if name == "prod" else WHOLE  # exact products
    w = chunked(data, (3, 5))
    text = f"{name}(w > 0, axis={axis!r}, keepdims={keepdims})" if name in ("any", "all") else \
        f"{name}(w * 2, axis={axis!r}, keepdims={keepdims})"
    result = fusenum.evaluate(text)
    expected = fusenum.evaluate(text, local_dict={"w": data})
    assert result.dtype == expected.dtype and result.shape == expected.shape
    same(result, expected)


@pytest.mark.parametrize("dtype, name", [(np.int32, "sum"), (np.int16, "mean"), (np.float16, "mean"),
                                         (np.bool_, "sum"), (np.uint8, "max")])
def test_reduction_dtypes_are_numpys(dtype, name):
    data = (WHOLE % 7).astype(dtype)
    w = chunked(data, (3, 5))
    result = fusenum.evaluate(f"{name}(w, axis=0)")
    expected = getattr(np, name)(data, axis=0)
    assert result.dtype == expected.dtype == result._meta.dtype
    np.testing.assert_allclose(result.compute(), expected, rtol=1e-3)


def test_mean_of_float16_is_numpys_over_a_tree_too():
    # Summed in float32 (a float16 sum would overflow: inf), divided and rounded to float16 as NumPy
    # rounds a scalar's mean and an array's (they differ for this 1,853,414 / 19,750).
    ones = np.full(2000, 100, np.float16)
    same(fusenum.evaluate("mean(w)", {"w": chunked(ones, 300)}), np.asarray(np.mean(ones)))
    x = np.array([94] * 16664 + [93] * 3086, np.float16)
    rows = np.stack([x, x[::-1]])
    same(fusenum.evaluate("mean(w)", {"w": chunked(x, 4000)}), np.asarray(np.mean(x)))
    same(fusenum.evaluate("mean(w, keepdims=True)", {"w": chunked(x, 4000)}), np.mean(x, keepdims=True))
    same(fusenum.evaluate("mean(w, axis=1)", {"w": chunked(rows, (1, 4000))}), np.mean(rows, axis=1))
    same(fusenum.evaluate("mean(w, axis=1)", {"w": chunked(rows, (1, 20000))}), np.mean(rows, axis=1))


@pytest.mark.parametrize("split_every", [None, 2, 3, {0: 2, 1: 4}])
def test_split_every_gives_numpys_bits_for_exact_sums(split_every):
    w = chunked(WHOLE, (2, 3))
    result = fusenum.evaluate("sum(w * w + 1, axis=0)", split_every=split_every)
    same(result, np.sum(WHOLE * WHOLE + 1, axis=0))


@pytest.mark.parametrize("split_every", [2.5, "3", (2, 2), np.float64(4)])
def test_split_every_of_another_type_is_refused_naming_it(split_every):
    # (dask's own ValueError, "split_every must be a int or a dict", came from inside its reduction)
    w = chunked(WHOLE, (2, 12))
    message = "^split_every must be an int or a dict .* not "
    for text in ("sum(w, axis=0)", "w - mean(w, axis=0)"):
        with pytest.raises(fusenum.ArgumentTypeError, match=message):
            fusenum.evaluate(text, {"w": w}, split_every=split_every)
    with pytest.raises(fusenum.ArgumentTypeError, match=message):
        fusenum.evaluate(lazy(w) - np.mean(lazy(w), axis=0), split_every=split_every)


@pytest.mark.parametrize("split_every", [{0: 1}, {0: 0}, {1: 2.5}, {0: True}])
def test_split_every_per_axis_needs_whole_numbers_of_at_least_two(split_every):
    # dask's own sum(axis=0, split_every={0: 1}) reduces part of the axis, silently
    w = chunked(WHOLE, 2)
    with pytest.raises(fusenum.InvalidArgumentError, match="^split_every\\[[01]\\] is .*at least 2"):
        fusenum.evaluate("sum(w, axis=0)", split_every=split_every)


def test_split_every_sets_the_depth_of_the_tree():
    w = chunked(WHOLE.ravel(), 3)  # 32 blocks
    shallow = fusenum.evaluate("sum(w)", split_every=32)
    deep = fusenum.evaluate("sum(w)", split_every=2)
    assert len(deep.dask.layers) > len(shallow.dask.layers)


def test_a_chunking_always_gives_the_same_bits_pairwise_partials_combined_in_order():
    data = RNG.random(100_000)
    w = chunked(data, 25_000)
    first = fusenum.evaluate("sum(w * 3)", split_every=4).compute()
    second = fusenum.evaluate("sum(w * 3)", split_every=4).compute()
    partials = np.array([fusenum.evaluate("sum(x * 3)", local_dict={"x": data[k:k + 25_000]})
                         for k in range(0, 100_000, 25_000)])
    expected = fusenum.evaluate("sum(p)", local_dict={"p": partials})
    assert first.tobytes() == second.tobytes() == expected.tobytes()
    np.testing.assert_allclose(first, np.sum(data * 3), rtol=1e-13)


def test_an_operand_alone_comes_back_as_over_an_ndarray():
    """A text's operand alone comes back in native byte order; a lazy array keeps its dtype (as
    ``evaluate(lazy(ndarray))`` does)."""
    swapped = chunked(np.arange(6.0).astype(">f8"), 2)
    for result, dtype in ((fusenum.evaluate("b", local_dict={"b": swapped}), "<f8"),
                          (fusenum.evaluate(lazy(swapped)), ">f8")):
        ndarray_result = fusenum.evaluate("b", local_dict={"b": np.arange(6.0).astype(">f8")}) if dtype == "<f8" \
            else fusenum.evaluate(lazy(np.arange(6.0).astype(">f8")))
        assert result.dtype == np.dtype(dtype) == result._meta.dtype == ndarray_result.dtype
        np.testing.assert_array_equal(result.compute(), np.arange(6.0))


def test_dask_asarray_of_a_lazy_array_is_its_dask_array():
    data = np.arange(48.0).reshape(6, 8)
    over_dask = lazy(chunked(data, (3, 5))) * 2
    result = da.asarray(over_dask)
    assert is_dask_array(result) and result.chunks == ((3, 3), (5, 3)) and not over_dask.is_forced
    assert type(result.blocks[0, 0].compute()) is np.ndarray
    same(result, data * 2)
    over_numpy = da.asarray(lazy(data) * 2)
    assert is_dask_array(over_numpy)
    same(over_numpy, data * 2)


def test_dask_arrays_of_masked_blocks_keep_their_mask():
    # lazy() refuses them as it refuses a masked ndarray; mixed into lazy expressions they are left to
    # dask's own operations, which keep the mask (a fused kernel would compute the masked values too).
    data = np.arange(12.0).reshape(3, 4) / 7
    masked = da.ma.masked_greater(chunked(data, 2), 1.0)
    expected = np.ma.masked_greater(data, 1.0)
    with pytest.raises(fusenum.ArgumentTypeError, match="^fusenum.lazy\\(\\) wraps dask arrays of plain ndarray "
                                                        "blocks, not of numpy.ma.MaskedArray blocks"):
        lazy(masked)
    for text in ("a + 1", "sum(a)"):  # the string front end refuses them too: it dropped the mask, block by block
        with pytest.raises(fusenum.ArgumentTypeError, match="^fusenum computes dask arrays of plain ndarray blocks, "
                                                            "not of numpy.ma.MaskedArray blocks"):
            fusenum.evaluate(text, {"a": masked})
    zeros = lazy(da.zeros((3, 4), chunks=2))
    for result in (zeros + masked, masked + zeros, np.add(zeros, masked), np.add(lazy(np.zeros((3, 4))), masked)):
        value = result.compute()
        assert isinstance(value, np.ma.MaskedArray)
        np.testing.assert_array_equal(value.mask, expected.mask)
        assert np.sum(result).compute() == pytest.approx(expected.sum())


def test_a_dask_operand_of_a_dtype_fusenum_does_not_compute_is_left_to_dask():
    # as an ndarray of that dtype is left to NumPy: dask's own operation (it used to raise
    # UnsupportedDTypeError, blaming "the array given to fusenum.lazy()", never called on it)
    other, data = chunked(np.array([1, 2], dtype=object), 1), np.arange(2.0)
    for mine in (lazy(data), lazy(chunked(data, 1))):
        for result in (mine + other, other + mine, np.add(mine, other), np.multiply(other, mine)):
            assert is_dask_array(result) and result.dtype == object
            np.testing.assert_array_equal(result.compute(), np.array([1.0, 3.0] if result.name.startswith("add")
                                                                     else [0.0, 2.0], dtype=object))


@pytest.mark.parametrize("reduction", ["sum", "mean", "prod"])
def test_a_blocks_layout_does_not_change_its_partial_result(reduction):
    # A local scheduler hands a task strided views of da.from_array's array, a distributed one unpickles
    # contiguous copies (C or Fortran order): a chunking must give the same bits from any of them.
    rng = np.random.default_rng(3)
    data = rng.standard_normal((200, 300)) / 4 + 1
    root = Node("reduce", (nodes.input_slot(0, data.dtype),), data.dtype,
                ReduceAttr(reduction, (0, 1), True, partial=True))
    kernel = pickle.loads(pickle.dumps(BlockKernel(root)))
    for _ in range(20):
        row, column = rng.integers(0, 150), rng.integers(0, 250)
        view = data[row:row + 25, column:column + 40]
        bits = {kernel(block).tobytes() for block in (view, view.copy(order="C"), view.copy(order="F"))}
        assert len(bits) == 1


@pytest.mark.parametrize("name", ["max", "min", "nanmax", "nanmin", "sum", "prod", "mean", "any"])
def test_a_zero_size_chunk_leaves_a_reduction_as_it_is(name):
    # .compute_chunk_sizes() after boolean indexing often leaves empty chunks; min and max have no
    # identity, but only a reduction of nothing at all is NumPy's ValueError.
    data = np.arange(6.0) - 2.5
    for chunks in (((3, 0, 3),), ((0, 6),), ((2, 0, 0, 4, 0),)):
        x = da.from_array(data, chunks=chunks)
        assert fusenum.evaluate(f"{name}(x)").compute() == getattr(np, name)(data)
    filtered = chunked(np.arange(20.0), 5)
    filtered = filtered[filtered % 7 == 0].compute_chunk_sizes()
    assert 0 in filtered.chunks[0]
    assert fusenum.evaluate(f"{name}(f)", local_dict={"f": filtered}).compute() == \
        getattr(np, name)(np.array([0.0, 7.0, 14.0]))


def test_one_block_along_the_reduced_axes_gives_fusenums_bits():
    data = RNG.random((6, 4000))
    w = chunked(data, (6, 1000))
    result = fusenum.evaluate("w - mean(w, axis=0)")
    same(result, fusenum.evaluate("w - mean(w, axis=0)", local_dict={"w": data}))
    assert not any("aggregate" in name for name in result.dask.layers)


def test_reductions_anywhere_in_an_expression():
    w = chunked(WHOLE, (3, 5))
    result = fusenum.evaluate("w - mean(w, axis=0) + sum(w * 2) / max(abs(w))")
    expected = WHOLE - np.mean(WHOLE, axis=0) + np.sum(WHOLE * 2) / np.max(np.abs(WHOLE))
    same(result, expected)
    nested = fusenum.evaluate("sum(w - mean(w, axis=0, keepdims=True), axis=0)")  # 8 rows: exact means
    same(nested, np.sum(WHOLE - np.mean(WHOLE, axis=0, keepdims=True), axis=0))


def test_reduction_over_a_broadcast_argument():
    a, c = chunked(WHOLE, (3, 5)), chunked(WHOLE[:, :1], (4, 1))
    result = fusenum.evaluate("sum(a * c, axis=0)")
    same(result, np.sum(WHOLE * WHOLE[:, :1], axis=0))


# ---- lazy arrays over dask arrays --------------------------------------------------------------------------

def test_lazy_of_a_dask_array_stays_lazy_and_forces_to_a_dask_array():
    a = chunked(A, (4, 6))
    r = lazy(a) * 2 + np.sqrt(lazy(a))
    assert type(r) is LazyArray and not r.is_forced
    assert (r.dtype, r.shape) == (np.dtype(np.float64), A.shape)
    graph = fusenum.evaluate(r)
    assert is_dask_array(graph) and len(fusenum_layers(graph)) == 1
    same(graph, A * 2 + np.sqrt(A))
    value = r.compute()
    assert type(value) is np.ndarray and r.is_forced
    np.testing.assert_array_equal(np.asarray(lazy(a) + 1), A + 1)


def test_compute_hands_dask_its_options_and_refuses_them_without_dask():
    seen = []

    def scheduler(graph, keys, **kwargs):
        seen.append(kwargs.get("marker"))
        return dask.get(graph, keys)

    r = lazy(chunked(A, (4, 6))) * 2
    np.testing.assert_array_equal(r.compute(scheduler=scheduler, marker="given"), A * 2)
    assert seen and set(seen) == {"given"}
    part = lazy(chunked(A + 1j, (4, 6))).imag
    np.testing.assert_array_equal(part.compute(scheduler=scheduler, marker="part"), np.ones_like(A))
    assert "part" in seen
    with pytest.raises(fusenum.ArgumentTypeError, match="'scheduler'.*reads none"):
        (lazy(A) * 2).compute(scheduler="threads")


@pytest.mark.parametrize("build", [
    lambda L, d, n: L + d,
    lambda L, d, n: d + L,
    lambda L, d, n: d * L - n,
    lambda L, d, n: n - d * L,
    lambda L, d, n: np.add(L, d),
    lambda L, d, n: np.add(d, L),
    lambda L, d, n: np.where(d > 0.5, L, 0),
    lambda L, d, n: np.where(L > 0.5, d, n),
    lambda L, d, n: np.maximum(np.sin(d), L * n),
], ids=["lazy+dask", "dask+lazy", "dask*lazy-nd", "nd-dask*lazy", "np.add(lazy,dask)", "np.add(dask,lazy)",
        "where(dask,lazy,0)", "where(lazy,dask,nd)", "maximum(sin(dask),lazy*nd)"])
def test_mixing_lazy_arrays_ndarrays_and_dask_arrays_builds_one_fused_layer(build):
    d = chunked(B, 4)
    mixed = build(lazy(A), d, C)
    assert type(mixed) is LazyArray and not mixed.is_forced
    graph = fusenum.evaluate(mixed)
    assert len(fusenum_layers(graph)) == 1  # (d > 0.5 with a dask d is dask's own layer)
    expected = build(A, B, C)
    same(graph, expected)


def test_lazy_reductions_over_dask_arrays():
    w = chunked(WHOLE, (3, 5))
    r = lazy(w) - lazy(w).mean(axis=0)
    same(fusenum.evaluate(r), WHOLE - WHOLE.mean(axis=0))
    same(fusenum.evaluate(np.sum(lazy(w) * 2, axis=1, keepdims=True), split_every=2),
         np.sum(WHOLE * 2, axis=1, keepdims=True))


@pytest.mark.parametrize("operation", [lambda s: s ** 0.5, lambda s: (s + 0j) * (1.5 - 1j), lambda s: abs(s + 1j)],
                         ids=["power", "complex-multiply", "complex-abs"])
def test_scalar_arithmetic_on_a_reduction_over_dask_stays_lazy(operation):
    # On NumPy values these are NumPy's scalar arithmetic, computed at once; over dask, nothing is.
    total = lazy(chunked(WHOLE, (4, 6))).sum()
    result = operation(total)
    assert type(result) is LazyArray and is_dask_array(fusenum.evaluate(result)) and not total.is_forced
    np.testing.assert_allclose(np.asarray(result), operation(WHOLE.sum()), rtol=1e-12)


def test_numpy_fallbacks_get_the_dask_array():
    a = chunked(WHOLE, (4, 6))
    r = lazy(a) + 1
    assert is_dask_array(np.cumsum(r, axis=0)) and is_dask_array(r[[0, 2]])
    for captured in (r.T, r[1:], r[:, ::-2], r[2]):  # (transposes, slices and indices are captured)
        assert type(captured) is LazyArray and is_dask_array(fusenum.evaluate(captured))
    np.testing.assert_array_equal(np.cumsum(r, axis=0).compute(), np.cumsum(WHOLE + 1, axis=0))
    assert not r.is_forced


@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy"])
def test_a_lazy_array_over_dask_pickles_as_its_expression(how):
    a = da.ones((2_000_000,), chunks=500_000)
    r = lazy(a) * 3 + lazy(np.arange(4.0)).sum()
    twin = {"pickle": lambda x: pickle.loads(pickle.dumps(x)), "copy": copy.copy,
            "deepcopy": copy.deepcopy}[how](r)
    assert len(pickle.dumps(r)) < 20_000
    assert not r.is_forced and not twin.is_forced
    same(fusenum.evaluate(twin), np.full(2_000_000, 9.0))


def test_a_lazy_array_over_ndarrays_pickles_as_its_expression_and_operands():
    x = np.arange(100_000.0)
    r = np.sqrt(lazy(x)) * 2 + lazy(x).sum()
    data = pickle.dumps(r)
    assert len(data) < x.nbytes + 2_000  # the operand once, no result
    twin = pickle.loads(data)
    assert not twin.is_forced and not r.is_forced
    np.testing.assert_array_equal(twin.compute(), np.sqrt(x) * 2 + x.sum())


def test_explain_refuses_expressions_over_dask_arrays():
    a = chunked(A, (4, 6))
    message = "^fusenum.explain does not describe expressions over dask arrays"
    with pytest.raises(fusenum.UnsupportedOperationError, match=message):
        fusenum.explain("a * 2")
    with pytest.raises(fusenum.UnsupportedOperationError, match=message):
        fusenum.explain(lazy(a) * 2)
    assert is_dask_array(fusenum.evaluate("a * 2"))  # and no plan was left under the dask key


def test_importing_fusenum_does_not_import_dask():
    import subprocess
    import sys
    code = ("import sys, numpy as np, fusenum; r = fusenum.lazy(np.ones(3)) + 1; "
            "fusenum.evaluate('a+1', local_dict={'a': np.ones(3)}); r.compute(); "
            "print(sorted(m for m in sys.modules if m.startswith('dask')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_a_name_bound_to_a_lazy_array_over_dask_stays_lazy():
    a = chunked(A, (4, 6))
    r = lazy(a) * 2
    result = fusenum.evaluate("r + 1")
    assert is_dask_array(result) and not r.is_forced
    same(result, A * 2 + 1)


def test_typing_that_needs_a_zero_d_dask_arrays_value_is_refused(monkeypatch, memory_only_kernels):
    # NumPy <= 2.2 rewrites a ** s by the value of a 0-d s (see ir.typing._array_rewrite_may_matter)
    from fusenum.ir import typing as typing_module
    monkeypatch.setattr(typing_module, "_array_rewrite_may_matter", lambda base, exponent: True)
    fusenum.clear_cache()
    a, s = chunked(A, (4, 6)), da.from_array(np.float64(2.0))
    try:
        message = "^NumPy's typing of this expression depends on the value of a 0-d dask array"
        with pytest.raises(fusenum.UnsupportedOperationError, match=message):
            fusenum.evaluate("a ** s")
    finally:
        fusenum.clear_cache()


def test_an_operand_evaluated_as_it_is_is_a_new_dask_array():
    """evaluate returns a new ndarray for an ndarray; for a dask array, a new array object, so that
    dask's __setitem__ on the result leaves the caller's array alone."""
    data = np.arange(4.0)
    source = chunked(data, 2)
    for result in (fusenum.evaluate("a", {"a": source}), fusenum.evaluate("real(a)", {"a": source}),
                   fusenum.evaluate(lazy(source))):
        assert result is not source
        result[0] = 100.0
        np.testing.assert_array_equal(source.compute(), data)


@pytest.mark.parametrize("dtype", [object, "M8[s]", np.longdouble, ">f8", str])
def test_astype_to_a_dtype_fusenum_does_not_compile_stays_a_dask_array(dtype):
    data = np.arange(6.0).reshape(2, 3)
    x = lazy(chunked(data, (1, 3))) * 1
    result = x.astype(dtype)  # (before, every block was computed here and an ndarray returned)
    assert is_dask_array(result)
    expected = data.astype(dtype)
    assert result.dtype == expected.dtype
    assert result.compute().tolist() == expected.tolist()
    assert is_dask_array(x.astype(np.float32, order="C"))


@pytest.mark.parametrize("front", ["string", "lazy"])
def test_a_mean_of_nothing_over_several_blocks_warns_as_numpy_does(front):
    """A zero count that reaches dask's combining step (a reduced axis in several blocks) warns
    "Mean of empty slice", as NumPy's mean and fusenum's over an ndarray do."""
    x = chunked(np.zeros((0, 3)), ((0,), (1, 2)))
    with pytest.warns(RuntimeWarning, match="Mean of empty slice") as caught:
        result = fusenum.evaluate("mean(x)") if front == "string" else np.mean(lazy(x))
        got = np.asarray(result.compute() if hasattr(result, "compute") else result)
    assert np.isnan(got)
    with pytest.warns(RuntimeWarning) as numpy_caught:
        np.mean(np.zeros((0, 3)))
    assert str(numpy_caught[0].message) in {str(w.message) for w in caught}


def test_in_place_on_a_non_native_byte_order_stays_lazy_and_keeps_it():
    computed = []
    d = chunked(np.arange(6.0).astype(">f8"), 2).map_blocks(lambda b: computed.append(1) or b, dtype=">f8")
    x = lazy(d)
    computed.clear()  # (map_blocks called it once on its meta)
    x += 1
    assert computed == [] and not x.is_forced and x.dtype == np.dtype(">f8")
    got = np.asarray(x)
    assert got.dtype == np.dtype(">f8") and got.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def test_a_lazy_dask_array_of_non_native_byte_order_computes_to_its_dtype():
    x = lazy(chunked(np.arange(3.0).astype(">f8"), 2))
    assert x.dtype == np.asarray(x).dtype == x.compute().dtype == np.dtype(">f8")
    assert (x * 2).compute().dtype == np.float64  # (arithmetic gives the native dtype, as NumPy's)


def test_a_complex_reduction_in_a_real_dtype_warns_once_per_call_of_either_front_end():
    import warnings

    c = da.from_array(np.array([1 + 2j, 3 - 4j, 0.5j]), chunks=2)
    for _ in range(2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            text = fusenum.evaluate("sum(c, dtype='float64')")
            lazy_sum = np.sum(lazy(c), dtype=float)
            assert text.compute() == 4.0 and np.asarray(lazy_sum)[()] == 4.0  # (forcing warns no more)
        assert [(w.category, w.filename) for w in caught] == [(np.exceptions.ComplexWarning, __file__)] * 2


@pytest.mark.parametrize("function, args", [(np.zeros_like, ()), (np.ones_like, ()), (np.empty_like, ()),
                                            (np.full_like, (7,))])
def test_zeros_like_of_a_lazy_dask_expression_is_dasks_and_holds_no_array(function, args):
    x = lazy(chunked(A, (3, 5))) * 2 + 1
    result = function(x, *args, dtype=np.float32)
    expected = function(A, *args, dtype=np.float32)
    assert is_dask_array(result) and result.chunks == ((3, 3, 2), (5, 5, 2)) and not x.is_forced
    # (only the chunks are read: the graph holds neither A nor a computed array)
    assert not any(isinstance(v, np.ndarray) and v.size > 1 for v in dict(result.dask).values())
    if function is not np.empty_like:
        same(result, expected)


@pytest.mark.parametrize("tier", ["never", "always"])
@pytest.mark.parametrize("text", ["d * 2", "sum(d * 2)", "d", "real(d)"])
def test_blocks_of_another_dtype_than_declared_are_cast_to_it(tier, text):
    """A block's real dtype may differ from its array's (a wrong ``dtype=`` of ``map_blocks``; dask's
    ``percentile`` of float16 gives float64 blocks): the kernel read int8 blocks as float64, past
    their end (a crash, at 4e7 elements). They are cast to the declared dtype, which the graph
    computes in; a cast ``same_kind`` refuses is an error naming both dtypes."""
    size = 300_000
    d = da.ones(size, chunks=size // 3).map_blocks(lambda b: b.astype(np.int8), dtype=np.float64)
    c = da.ones(10, chunks=5).map_blocks(lambda b: b.astype(np.complex128), dtype=np.float64)
    previous = fusenum.set_tiering(tier)
    try:
        got = fusenum.evaluate(text).compute()
        expected = np.ones(size) * (2 if "2" in text else 1)
        assert_bits_equal(np.asarray(got), expected.sum() if "sum" in text else expected)
        # (an operand alone, as `c`, `real(c)` or a lazy array's own value, is a task of fusenum's too: it
        # passed the blocks on as they were, complex under a float64 dask array)
        for wrong in (fusenum.evaluate("c * 2"), fusenum.evaluate("c"), fusenum.evaluate("real(c)"),
                      fusenum.evaluate(lazy(c))):
            with pytest.raises(TypeError, match="complex128, where its dask array declares float64"):
                wrong.compute()
    finally:
        fusenum.set_tiering(previous)


def assert_bits_equal(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.dtype == expected.dtype and got.shape == expected.shape and got.tobytes() == expected.tobytes()
