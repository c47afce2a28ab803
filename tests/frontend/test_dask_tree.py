"""A reduction's tree run inside the tasks of the expression around it: dask's tree's bits, fewer phases."""
import math
import pickle

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import fusenum  # noqa: E402
from fusenum import lazy  # noqa: E402
from fusenum.frontend import dask_tree  # noqa: E402
from fusenum.frontend.dask_tree import fits_in_a_task, group_sizes, tree_depth  # noqa: E402

RNG = np.random.default_rng(60)
# Random floats: each grouping of the partial sums gives other last bits, so equal bits mean equal groups.
TALL = RNG.random((3840, 6)) * 1e3
CUBE = RNG.random((192, 160, 5))


@pytest.fixture(autouse=True)
def threaded():
    with dask.config.set(scheduler="threads"):
        yield


@pytest.fixture
def dasks_tree(monkeypatch):
    """Every reduction as dask's own tree of tasks (no task can take the partial results)."""
    monkeypatch.setattr(dask_tree, "MOST_PARTIALS_PER_TASK", 0)


def tree_layers(result) -> list[str]:
    return [name for name in result.dask.layers if name.endswith(("-partial", "-aggregate"))
            or "-partial-" in name or "-aggregate-" in name]


def both_ways(text: str, values: dict, monkeypatch, **options):
    """``text`` over ``values`` computed with the tree in the tasks and with dask's tree, and each graph."""
    local = fusenum.evaluate(text, local_dict=values, **options)
    with monkeypatch.context() as patch:
        patch.setattr(dask_tree, "MOST_PARTIALS_PER_TASK", 0)
        tree = fusenum.evaluate(text, local_dict=values, **options)
    return local, tree


def bit_equal(got, want) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


CASES = [
    # (expression, chunks of A, split_every): trees of one, two and three levels, one and two reduced axes
    ("A - mean(A, axis=0)", (384, 6), None),
    ("A - mean(A, axis=0)", (384, 6), 2),
    ("A - mean(A, axis=0)", (384, 3), 3),
    ("A - mean(A, axis=0)", (256, 2), {0: 4}),
    ("A - mean(A, axis=0)", (384, 6), 16),
    ("A * sum(A, axis=0, keepdims=True)", (480, 6), 2),
    ("A / max(A, axis=0) + min(A, axis=0)", (384, 4), None),
    ("exp(A / 1000) - prod(A / 500, axis=0)", (384, 6), 3),
    ("sum(A - mean(A, axis=0), axis=0)", (384, 6), 2),
    ("A - mean(A)", (384, 6), None),
    ("sum(A, axis=(0, 1), keepdims=True) * 2", (384, 6), 2),
    ("W - mean(W, keepdims=True)", (384, 6), None),
    ("W * 2 + mean(W)", (384, 6), 3),
    ("A - mean(A - mean(A, axis=0), axis=0)", (384, 6), None),
]


@pytest.mark.parametrize("text, chunks, split_every", CASES, ids=[f"case{k}" for k in range(len(CASES))])
def test_tasks_running_the_tree_give_dasks_trees_bits(text, chunks, split_every, monkeypatch):
    values = {"A": da.from_array(TALL, chunks=chunks), "W": da.from_array(TALL[:, 1], chunks=chunks[0])}
    local, tree = both_ways(text, values, monkeypatch, split_every=split_every)
    assert len(tree_layers(local)) < len(tree_layers(tree))
    bit_equal(local.compute(), tree.compute())


@pytest.mark.parametrize("text", ["C - sum(C, axis=(0, 1))", "C - mean(C, axis=(0, 1), keepdims=True)",
                                  "C * nansum(C, axis=(1, 0))", "C - max(C, axis=(0, 1))"])
@pytest.mark.parametrize("split_every", [None, 4, 9, {0: 2, 1: 3}])
def test_two_reduced_axes(text, split_every, monkeypatch):
    values = {"C": da.from_array(CUBE, chunks=(48, 40, 5))}
    local, tree = both_ways(text, values, monkeypatch, split_every=split_every)
    assert not tree_layers(local)
    bit_equal(local.compute(), tree.compute())


@pytest.mark.parametrize("dtype", ["float16", "float32", "complex128", "int64", "uint8", "bool"])
def test_dtypes(dtype, monkeypatch):
    data = (TALL * 7).astype(dtype) if dtype != "complex128" else TALL + 1j * TALL[::-1]
    values = {"A": da.from_array(data, chunks=(384, 3))}
    for text in ("A - mean(A, axis=0)", "A + sum(A, axis=0)", "A * 2 + max(A, axis=0)"):
        if dtype == "bool" and text != "A * 2 + max(A, axis=0)":
            continue
        local, tree = both_ways(text, values, monkeypatch, split_every=3)
        assert not tree_layers(local)
        bit_equal(local.compute(), tree.compute())


def test_several_reductions_each_get_their_own_concatenated_index(monkeypatch):
    # (both once took the same new index: dask then failed to unify 4 partial results with 2)
    values = {"A": da.from_array(TALL[:8], chunks=(2, 3)), "B": da.from_array(TALL[:6, :6], chunks=(3, 3))}
    for text in ("A - mean(A, axis=0) - mean(A, axis=1, keepdims=True)",
                 "A - mean(A, axis=0) + max(B, axis=0)", "A - sum(A) * min(A, axis=(0, 1))"):
        local, tree = both_ways(text, values, monkeypatch)
        assert not tree_layers(local)
        bit_equal(local.compute(), tree.compute())


def test_the_groups_matter_so_the_test_above_can_see_a_wrong_one():
    values = {"A": da.from_array(TALL, chunks=(384, 6))}
    two = fusenum.evaluate("A - mean(A, axis=0)", local_dict=values, split_every=2).compute()
    three = fusenum.evaluate("A - mean(A, axis=0)", local_dict=values, split_every=3).compute()
    assert two.tobytes() != three.tobytes()


def test_the_values_are_numpys_to_rounding():
    values = {"A": da.from_array(TALL, chunks=(384, 6))}
    got = fusenum.evaluate("A - mean(A, axis=0)", local_dict=values).compute()
    np.testing.assert_allclose(got, TALL - TALL.mean(axis=0), rtol=0, atol=1e-10)


def test_partial_results_too_big_for_each_task_go_through_dasks_tree():
    # 16 partial results of 5,000 elements (a kept axis in one chunk, which once counted as 1 element)
    A = da.zeros((1600, 5000), chunks=(100, 5000))
    assert tree_layers(fusenum.evaluate("A - mean(A, axis=0)", local_dict={"A": A}))
    A = da.zeros((1600, 4000), chunks=(100, 4000))
    assert not tree_layers(fusenum.evaluate("A - mean(A, axis=0)", local_dict={"A": A}))


def test_a_reduction_alone_is_dasks_tree():
    values = {"A": da.from_array(TALL, chunks=(384, 6))}
    assert tree_layers(fusenum.evaluate("mean(A, axis=0)", local_dict=values))


def test_partial_results_that_would_be_rechunked_go_through_dasks_tree(monkeypatch):
    # B's chunks along axis 1 win the unification: rechunking the partial sums would change their bits
    values = {"A": da.from_array(TALL, chunks=(384, 3)), "B": da.from_array(TALL, chunks=(96, 2))}
    local, tree = both_ways("B - mean(A, axis=0)", values, monkeypatch)
    assert tree_layers(local)
    bit_equal(local.compute(), tree.compute())


def test_lazy_arrays_take_the_same_graph():
    A = da.from_array(TALL, chunks=(384, 6))
    text = fusenum.evaluate("A - mean(A, axis=0)", local_dict={"A": A})
    captured = fusenum.evaluate(lazy(A) - np.mean(lazy(A), axis=0))
    assert not tree_layers(captured)
    bit_equal(captured.compute(), text.compute())


def test_a_zero_d_results_name_is_deterministic():
    # (its meta, np.empty(()), held one uninitialised element, which dask's name tokenizes)
    A = da.from_array(TALL[:, 0], chunks=384)
    names = set()
    for k in range(20):
        names.add(fusenum.evaluate("sum(A) * 2", local_dict={"A": A}).name)
        del [np.full(1, float(k))][0]
    assert len(names) == 1


def test_names_are_deterministic_and_the_graph_pickles():
    A = da.from_array(TALL, chunks=(384, 6))
    first = fusenum.evaluate("A - mean(A, axis=0)", local_dict={"A": A})
    again = fusenum.evaluate("A - mean(A, axis=0)", local_dict={"A": A})
    other = fusenum.evaluate("A - mean(A, axis=0)", local_dict={"A": A}, split_every=2)
    assert first.name == again.name != other.name
    bit_equal(pickle.loads(pickle.dumps(first)).compute(), first.compute())


# ---- the pieces -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("blocks", [2, 3, 4, 5, 8, 16, 17, 27, 64, 65, 125, 243])
@pytest.mark.parametrize("split_every", [2, 3, 4, 5, 8])
def test_tree_depth_is_dasks(blocks, split_every):
    x = da.ones(blocks, chunks=1)
    reduced = da.reduction(x, lambda b, axis, keepdims: b,
                           lambda b, axis, keepdims: b.sum(axis, keepdims=keepdims), axis=(0,),
                           keepdims=False, dtype=x.dtype, split_every=split_every, concatenate=True)
    combine_levels = sum(1 for name in reduced.dask.layers if "-partial-" in name)
    assert tree_depth((blocks,), group_sizes(split_every, (0,))) == combine_levels + 1


def test_group_sizes_read_split_every_as_dask_does():
    assert group_sizes(None, (0,)) == {0: 4}
    with dask.config.set(split_every=7):
        assert group_sizes(None, (0, 1)) == {0: 2, 1: 2}
        assert group_sizes(None, (0,)) == {0: 7}
    assert group_sizes(16, (0, 2)) == {0: 4, 2: 4}
    assert group_sizes({0: 3}, (0, 1)) == {0: 3, 1: 2}


def test_a_task_takes_few_partial_results_much_smaller_than_its_block():
    assert fits_in_a_task(((1000,) * 10, (10000,)), (0,))
    assert not fits_in_a_task(((100,) * 10, (10000,)), (0,))  # 10 partials, 16x: needs 160 rows
    assert fits_in_a_task(((100,) * 10, (6553,)), (0,))  # but 65,530 elements are few
    assert not fits_in_a_task(((100,) * 10, (6554,)), (0,))
    assert fits_in_a_task(((5000,) * 16, (10,)), (0,))
    assert not fits_in_a_task(((5000,) * 17, (10,)), (0,))  # too many edges and combine steps per task
    assert fits_in_a_task(((100,) * 4, (100,) * 4, (3,)), (0, 1))
    assert not fits_in_a_task(((15,) * 4, (15,) * 4, (5000,)), (0, 1))  # 16 partials, 16x: needs 256 per block
    assert fits_in_a_task(((15,) * 4, (15,) * 4, (4096,)), (0, 1))
