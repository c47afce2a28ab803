"""fusenum over dask on a real distributed.LocalCluster: 2 worker processes, one thread each.

The inputs are made on the workers (``da.random``, ``da.ones``), so what the
client sends is the graph alone: the tests check its size as well as the values.
"""
import os
import pickle

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import fusenum  # noqa: E402
from fusenum import lazy  # noqa: E402

# one pytest-xdist worker runs this module's tests, so one cluster serves them all
pytestmark = pytest.mark.xdist_group("distributed_cluster")

N = 1_000_000
CHUNK = 250_000


@pytest.fixture(scope="module")
def client():
    environment = dict(os.environ)  # distributed sets OMP_NUM_THREADS and more in this process
    os.environ.pop("FUSENUM_NUM_THREADS", None)  # the workers read OMP_NUM_THREADS then
    # distributed's scheduler registers a garbage-collection callback from its event-loop thread,
    # which can land inside a collection the main thread is running: the callback then sees the
    # collection's end without its start and fails an assertion (distributed 2026.8 on Python 3.13,
    # once in CI). Registered here first, on this thread, the scheduler's call only counts a user.
    from distributed.gc import disable_gc_diagnosis, enable_gc_diagnosis
    enable_gc_diagnosis()
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
        disable_gc_diagnosis()
        os.environ.clear()
        os.environ.update(environment)


def inputs(seed: int = 16):
    rng = da.random.default_rng(seed)
    return (rng.random(N, chunks=CHUNK), rng.random(N, chunks=CHUNK) + 0.5,
            rng.integers(-50, 50, (400, 5_000), chunks=(100, 5_000)).astype(np.float64))


def test_workers_run_one_fusenum_thread_per_task(client):
    # distributed starts workers with OMP_NUM_THREADS=1, which fusenum honours as numexpr does
    assert set(client.run(fusenum.get_num_threads).values()) == {1}


def test_elementwise_values_and_a_small_graph(client):
    a, b, _ = inputs()
    result = fusenum.evaluate("2*a + 3*b*a - sqrt(a)")
    assert len(pickle.dumps(result)) < 30_000  # the inputs (16 MB) are not in it
    value = client.compute(result).result()
    a_, b_ = client.compute([a, b], sync=True)
    np.testing.assert_array_equal(value, 2 * a_ + 3 * b_ * a_ - np.sqrt(a_), strict=True)


def test_reductions_on_workers(client):
    a, b, w = inputs()
    total = fusenum.evaluate("sum(a*b)", split_every=2)
    centred = fusenum.evaluate("w - mean(w, axis=0)")
    assert len(pickle.dumps(total)) < 30_000 and len(pickle.dumps(centred)) < 30_000
    total_value, centred_value = client.compute([total, centred], sync=True)
    a_, b_, w_ = client.compute([a, b, w], sync=True)
    np.testing.assert_allclose(total_value, np.sum(a_ * b_), rtol=1e-12)
    assert client.compute(total, sync=True).tobytes() == total_value.tobytes()  # same chunking, same bits
    np.testing.assert_array_equal(centred_value, w_ - np.mean(w_, axis=0), strict=True)  # whole numbers / 400


def test_lazy_arrays_over_dask_on_workers(client):
    ones = da.ones(N, chunks=CHUNK)
    a, b, _ = inputs()
    r = np.where(a > 0.5, lazy(a) * 2, lazy(ones) + b)
    assert not r.is_forced
    graph = fusenum.evaluate(r)
    assert len(pickle.dumps(graph)) < 30_000 and len(pickle.dumps(r)) < 30_000
    a_, b_ = client.compute([a, b], sync=True)
    expected = np.where(a_ > 0.5, a_ * 2, 1 + b_)
    np.testing.assert_array_equal(client.compute(graph, sync=True), expected, strict=True)


def test_each_worker_compiles_an_expression_once(client):
    a, b, _ = inputs(7)
    result = fusenum.evaluate("a * 7 - b / 3")
    client.compute(result, sync=True)
    before = client.run(lambda: fusenum.cache_info().misses)
    client.compute(fusenum.evaluate("a * 7 - b / 3"), sync=True)
    assert client.run(lambda: fusenum.cache_info().misses) == before


def test_a_reduction_inside_an_expression_is_finished_by_its_tasks_with_dasks_trees_bits(client, monkeypatch):
    from fusenum.frontend import dask_tree
    A = da.random.default_rng(3).random((1000, 800), chunks=(200, 800))
    centred = fusenum.evaluate("A - mean(A, axis=0)", split_every=2)
    assert not [name for name in centred.dask.layers if "aggregate" in name]
    monkeypatch.setattr(dask_tree, "MOST_PARTIALS_PER_TASK", 0)
    by_dasks_tree = fusenum.evaluate("A - mean(A, axis=0)", split_every=2)
    assert [name for name in by_dasks_tree.dask.layers if "aggregate" in name]
    on_workers = client.compute(centred, sync=True)
    assert on_workers.tobytes() == by_dasks_tree.compute(scheduler="threads").tobytes()
    assert on_workers.tobytes() == client.compute(by_dasks_tree, sync=True).tobytes()
