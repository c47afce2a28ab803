"""New length-1 axes (``x[None, ...]``, ``x[:, None]``, ``np.expand_dims``), slices (``x[1:]``,
``x[:, ::-2]``) and transposes (``x.T``, ``np.transpose``) of an unforced LazyArray: captured, with
NumPy's values, errors and view semantics (fusenum.frontend.lazy_axes)."""
import copy
import pickle

import numpy as np
import pytest

import fusenum
from fusenum import LazyArray, lazy
from fusenum.frontend import forcing

rng = np.random.default_rng(5)
A = rng.random((5, 7))
B = rng.random(7)
C = rng.random((3, 5, 7))
I16 = rng.integers(-100, 100, (5, 7)).astype(np.int16)

EXPRESSIONS = {
    "elementwise, broadcast": lambda m: m(A) * 2 + m(B),
    "axis reduction": lambda m: (m(A) - 1).mean(axis=0),
    "keepdims reduction, negative axis": lambda m: (m(A) - 1).max(axis=-1, keepdims=True),
    "two axes": lambda m: np.sum(m(C) * 3, axis=(0, 2)),
    "full reduction inside": lambda m: m(A) - np.mean(m(A)),
    "nan reduction": lambda m: np.nanmean(m(A), axis=0) + m(B),
    "astype": lambda m: (m(A) * 2).astype(np.float32),
    "where and power": lambda m: np.where(m(A) > 0.5, m(A), m(B)) ** 2,
    "integers": lambda m: (m(I16) + 3) // 2,
    "byte-swapped operand": lambda m: m(A.astype(">f8")) + 1,
}
KEYS = [None, (None, None), (None, Ellipsis), (None, slice(None)), (None, Ellipsis, slice(None)),
        (np.newaxis, np.newaxis, Ellipsis), (slice(None), None), (Ellipsis, None), (None, Ellipsis, None),
        (slice(None), None, Ellipsis, None), (slice(None),), Ellipsis, (slice(None), Ellipsis)]


def counting_runs(monkeypatch) -> list:
    """A list that gets an item each time a lazy expression is computed."""
    runs = []
    real_run = forcing.run
    monkeypatch.setattr(forcing, "run", lambda *args, **kwargs: runs.append(1) or real_run(*args, **kwargs))
    return runs


@pytest.mark.parametrize("key", KEYS, ids=repr)
@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_new_leading_axes_are_captured_with_numpys_shape_and_the_forced_values_bits(name, key, monkeypatch):
    make = EXPRESSIONS[name]
    runs = counting_runs(monkeypatch)
    x = make(lazy)
    y = x[key]
    result = y * 2 - 1  # an expression over it: the expanded expression, fused
    assert type(y) is LazyArray and type(result) is LazyArray and not runs and not x.is_forced
    numpy_value = np.asarray(make(lambda a: a))[key]
    assert y.shape == numpy_value.shape and y.dtype == numpy_value.dtype
    forced_first = np.asarray(make(lazy))[key]  # x computed, then NumPy's indexing of its value
    got = np.asarray(result)
    assert got.tobytes() == (forced_first * 2 - 1).tobytes() and got.shape == numpy_value.shape
    np.testing.assert_allclose(np.asarray(y), numpy_value, rtol=1e-13)


def test_forced_on_its_own_it_is_a_view_of_the_expressions_value():
    x = lazy(A) * 2
    y = x[None, ...]
    y[0, 0, 0] = -5.0  # writes through the view reach x, as in NumPy
    assert x.is_forced and np.asarray(x)[0, 0] == -5.0
    assert np.shares_memory(np.asarray(x), np.asarray(y))


def test_once_the_expression_is_computed_the_axes_are_a_view_of_its_value():
    x = lazy(A) * 2
    y = x[None]
    x.compute()[1, 1] = 7.0  # written after y was taken, before y is used
    assert np.asarray(y + 0)[0, 1, 1] == 7.0
    np.testing.assert_allclose(np.asarray(y.sum(axis=1))[0], np.asarray(x).sum(axis=0), rtol=1e-14)
    assert np.asarray(y)[0, 1, 1] == 7.0


def test_copies_and_pickles_are_the_expression_not_a_view():
    x = lazy(A) * 2
    y = x[None]
    for other in (copy.copy(y), copy.deepcopy(y), pickle.loads(pickle.dumps(y))):
        value = np.asarray(other)
        assert value.tobytes() == (A * 2)[None].tobytes()
        assert not np.shares_memory(value, np.asarray(x))
    assert x.is_forced  # (the last np.asarray(x))


SELECTING_KEYS = [(None, [0, 1]), np.array([0, 2]), True, (slice(1, 3), [0]), (Ellipsis, np.bool_(False)),
                  (None, np.array([True, False, True, False, True]))]
SLICES = [slice(1, None), (slice(None), slice(1, None)), slice(None, None, -1),
          (slice(1, 4), slice(None, None, 2)), (None, slice(2, None)), (slice(None, 1), None),
          (Ellipsis, slice(3, 0, -1)), slice(5, None), (slice(None), slice(None, 0)),
          (slice(-2, None, -2), slice(-1, -8, -3)), (slice(None), slice(3, 4)), (slice(np.int64(1), None),),
          (slice(None, -1), Ellipsis, None),
          # integers: each takes its axis away
          0, -1, (slice(None), 3), (2, slice(1, None, 2)), (Ellipsis, 0), (0, None),
          (None, 1, slice(None, None, -1)), (np.int64(-2),), (slice(None), None, -3)]


#: The expressions whose result is a float sum or mean: any slice of them slices its kept axes.
SUMS_SLICED = {"axis reduction", "two axes", "nan reduction"}


def _entries(key) -> tuple:
    return key if type(key) is tuple else (key,)


def _integers(key) -> int:
    return sum(isinstance(k, (int, np.integer)) for k in _entries(key))


def _slices_of(ndim: int) -> list:
    """The keys of SLICES that leave an array of ``ndim`` dimensions an array (NumPy gives a scalar
    for an integer per axis)."""
    return [key for key in SLICES if sum(type(k) is slice for k in _entries(key)) + _integers(key) <= ndim
            and (_integers(key) < ndim or None in _entries(key))]


@pytest.mark.parametrize("name, key", [
    (name, key) for name, make in EXPRESSIONS.items()
    for key in _slices_of(np.asarray(make(lambda a: a)).ndim)
    # (an index of a reduced axis kept with length 1: test_an_index_of_a_reduced_axis_kept_...)
    if not (name == "keepdims reduction, negative axis" and _integers(key))], ids=repr)
def test_slices_are_captured_with_numpys_shape_and_the_forced_values_bits(name, key, monkeypatch):
    make = EXPRESSIONS[name]
    runs = counting_runs(monkeypatch)
    x = make(lazy)
    y = x[key]
    result = y * 2 - 1  # an expression over the selected part: that part of the expression, fused
    numpy_value = np.asarray(make(lambda a: a))[key]
    kept_one = name == "keepdims reduction, negative axis" and numpy_value.shape[-1:] == (0,)
    if name in SUMS_SLICED or kept_one:
        # (a float sum's kept axes sliced; its reduced axis kept with length 1 selected otherwise
        # than whole; a 0-d result, of operations NumPy computes on scalars: computed)
        assert type(y) is np.ndarray and x.is_forced
        assert y.tobytes() == np.asarray(make(lazy))[key].tobytes()
        return
    assert type(y) is LazyArray and type(result) is LazyArray and not runs and not x.is_forced
    assert y.shape == numpy_value.shape and y.dtype == numpy_value.dtype
    forced_first = np.asarray(make(lazy))[key]  # x computed, then NumPy's indexing of its value
    got = np.asarray(result)
    assert got.tobytes() == (forced_first * 2 - 1).tobytes() and got.shape == numpy_value.shape
    np.testing.assert_allclose(np.asarray(y), numpy_value, rtol=1e-13)


def test_differences_of_neighbours_are_one_computation_with_the_forced_values_bits(monkeypatch):
    runs = counting_runs(monkeypatch)
    make = lambda: np.sqrt(lazy(A) * 3) + lazy(B)  # noqa: E731
    y = make()
    steps = y[1:] - y[:-1]
    columns = y[:, 2:] + y[:, :-2]
    assert not runs
    assert np.asarray(steps).tobytes() == np.diff(np.asarray(make()), axis=0).tobytes()
    assert np.asarray(columns).tobytes() == (lambda v: v[:, 2:] + v[:, :-2])(np.asarray(make())).tobytes()
    assert len(runs) == 4 and not y.is_forced  # (steps, columns, and the two forced references)


@pytest.mark.parametrize("make, key", [
    (lambda: lazy(A[:1]) * 2 + lazy(B), slice(1, None)),  # a length-1 axis selected empty: all operands empty
    (lambda: lazy(A) + A[:, :1], (slice(None), slice(7, None))),  # a broadcast column, no column left
    (lambda: lazy(A) * A[:1], (slice(2, 4), slice(1, None, 3))),  # a broadcast row: read whole
    (lambda: (lazy(A) - lazy(A).max(axis=0, keepdims=True)), (slice(3, None), slice(None, None, -2))),
    (lambda: lazy(C).min(axis=1) + lazy(B), (slice(1, None), slice(2, 5))),  # a reduction's kept axes only
    (lambda: (lazy(A) - lazy(A).mean(axis=0)), (slice(3, None),)),  # a float mean broadcast: not sliced
])
def test_broadcast_operands_and_reductions_are_selected_along_their_own_axes(make, key):
    y = make()[key]
    assert type(y) is LazyArray
    expected = np.asarray(make())[key]
    assert np.asarray(y + 0).tobytes() == (expected + 0).tobytes() and y.shape == expected.shape


@pytest.mark.parametrize("make, key", [
    (lambda m: (m(A) * 2).sum(axis=1), slice(1, None)),
    (lambda m: np.mean(m(np.random.default_rng(0).standard_normal((100, 2))) * 2, axis=0), slice(1, None)),
    (lambda m: (m(np.random.default_rng(1).standard_normal((2, 150_000)))).sum(axis=1), slice(None, 1)),
    (lambda m: np.nanprod(m(C) + 1, axis=(0, 2), keepdims=True), (slice(None), slice(None, None, -2))),
    (lambda m: (m(A) * 1j).sum(axis=0), slice(2, 5)),
])
def test_a_slice_of_an_inexact_reductions_kept_axes_computes_it_with_the_wholes_bits(make, key):
    x = make(lazy)
    y = x[key]
    assert type(y) is np.ndarray and x.is_forced
    assert y.tobytes() == np.asarray(make(lazy))[key].tobytes()


@pytest.mark.parametrize("make", [lambda m: (m(A) - 1).max(axis=1), lambda m: (m(I16) * 3).sum(axis=0),
                                  lambda m: np.nanmin(m(A), axis=0, keepdims=True),
                                  lambda m: (m(A) > 0.5).any(0)])
def test_a_slice_of_an_exact_reductions_kept_axes_is_captured(make):
    x = make(lazy)
    key = (Ellipsis, slice(1, None, 2))
    y = x[key]
    assert type(y) is LazyArray and not x.is_forced
    assert np.asarray(y + 0).tobytes() == (np.asarray(make(lazy))[key] + 0).tobytes()


@pytest.mark.parametrize("key", [slice(-10, None, -1), slice(-6, 0, -2), slice(-1, -9, -1)], ids=repr)
def test_empty_picks_stepping_down_are_empty(key):
    for make in (lambda m: m(A) * A[:1], lambda m: m(A) * 2):
        y = make(lazy)[key]
        expected = np.asarray(make(lambda a: a))[key]
        assert type(y) is LazyArray and y.shape == expected.shape
        assert np.asarray(y + 0).tobytes() == (expected + 0).tobytes()


@pytest.mark.parametrize("change", [lambda z: z[2:], lambda z: z[None], lambda z: z[:, None]])
def test_an_operand_left_unchanged_is_the_expression_it_was_captured_as(change):
    y = lazy(A) * 2
    z = lazy(A) * 3 + y[:1]  # y[:1], captured while y is not computed: z computes y's expression
    y.compute()[0, 0] = 99.0  # (so y[:1], used now, would be the view of this value)
    assert np.asarray(change(z) + 0).tobytes() == (change(np.asarray(z)) + 0).tobytes()


@pytest.mark.parametrize("change", [lambda z: z[1:], lambda z: z[None], lambda z: z.T])
@pytest.mark.parametrize("shape", [(5, 7), (7, 5)])
def test_an_operand_rebound_since_computes_the_expression_first(change, shape):
    y = lazy(A) * 2
    z = y + 1
    y.shape = shape
    got = change(z)
    assert type(got) is np.ndarray and got.tobytes() == change(A * 2 + 1).tobytes()


def test_a_bounds_index_is_asked_once():
    class Counting:
        calls = 0

        def __index__(self):
            Counting.calls += 1
            return Counting.calls
    y = (lazy(A) * 2)[Counting():]
    assert Counting.calls == 1 and y.shape == np.asarray(y).shape == (4, 7)


def test_an_index_of_a_reduced_axis_kept_with_length_one_computes_the_reduction():
    x = (lazy(A) - 1).max(axis=-1, keepdims=True)
    got = x[:, 0]
    assert type(got) is np.ndarray and x.is_forced and got.tobytes() == (A - 1).max(axis=-1).tobytes()
    kept = (lazy(A) - 1).max(axis=-1, keepdims=True)[2]  # (an index of the kept axis: captured)
    assert type(kept) is LazyArray
    assert np.asarray(kept + 0).tobytes() == (A - 1).max(axis=-1, keepdims=True)[2].tobytes()


@pytest.mark.parametrize("key", [(0, 0), (-1, Ellipsis, 3), (np.int64(2), -1)], ids=repr)
def test_an_index_for_every_axis_is_the_forced_values_numpy_scalar(key):
    x = lazy(A) * 2
    got = x[key]  # (NumPy's scalar, or with an Ellipsis its 0-d view)
    assert type(got) is type((A * 2)[key]) and x.is_forced and got == (A * 2)[key]


@pytest.mark.parametrize("make, key", [
    (lambda m: m(A) * 2 + m(B), (slice(None), 3)),  # the lower-rank operand's only axis: a 0-d operand
    (lambda m: m(C) - m(A) * 3, (1, slice(None), -2)),
    (lambda m: (m(C) > 0.5).any(axis=1) & (m(B) < 0.5), (0, slice(2, None))),
    (lambda m: np.max(m(C), axis=0) + m(A), 3),  # the reduction's operand: its middle axis taken
    (lambda m: np.min(m(C) * 2, axis=2, keepdims=True) - 1, (1,)),  # its reduced axis renumbered
])
def test_integers_take_axes_away_from_every_operand(make, key):
    y = make(lazy)[key]
    assert type(y) is LazyArray
    expected = np.asarray(make(lazy))[key]
    assert np.asarray(y + 0).tobytes() == (expected + 0).tobytes() and y.shape == expected.shape


def test_a_kept_length_one_axis_selected_empty_forces_the_reduction():
    x = (lazy(A) - 1).max(axis=0, keepdims=True)
    got = x[1:]
    assert type(got) is np.ndarray and x.is_forced and got.shape == (0, 7)


def test_a_slice_is_a_view_of_the_expressions_value():
    x = lazy(A) * 2
    y = x[1:, ::2]
    y[0, 1] = -5.0  # forced on its own: the view of x's value, as in NumPy
    assert x.is_forced and np.asarray(x)[1, 2] == -5.0
    later = lazy(A) * 2
    part = later[::-1]
    later.compute()[4, 0] = 9.0  # x computed after the slice was taken: the slice reads its value
    assert np.asarray(part + 0)[0, 0] == 9.0


class _RefusedIndex:
    def __index__(self):
        raise TypeError("not an index")


@pytest.mark.parametrize("key, error", [
    ((slice(1, None),) * 3, IndexError), (slice(1.5, None), TypeError),
    ((Ellipsis, slice(None), Ellipsis), IndexError),
    # keys that are not basic: a stand-in gives NumPy's error before anything is computed
    (0.0, IndexError), (1.5, IndexError), ((slice(None), np.float64(1)), IndexError), ("a", IndexError),
    ((0, _RefusedIndex()), IndexError),
], ids=["too many", "float bound", "two ellipses", "0.0", "1.5", "float64 index", "str", "refused __index__"])
def test_keys_numpy_refuses_are_its_errors_without_computing(key, error, monkeypatch):
    runs = counting_runs(monkeypatch)
    x = lazy(A) * 2
    with pytest.raises(error) as raised:
        x[key]
    with pytest.raises(error) as numpys:
        (A * 2)[key]
    assert str(raised.value) == str(numpys.value) and not runs and not x.is_forced


@pytest.mark.parametrize("key", SELECTING_KEYS)
def test_other_keys_force_and_index_the_value(key):
    x = lazy(A) * 2
    got = x[key]
    assert type(got) is np.ndarray and x.is_forced
    assert got.tobytes() == (A * 2)[key].tobytes()


def test_too_many_indices_is_numpys_index_error():
    with pytest.raises(IndexError, match="too many indices"):
        (lazy(A) * 2)[None, :, :, :]


def test_a_zero_d_result_indexes_as_numpys_scalar():
    total = lazy(A).sum()
    got = total[None]
    assert type(got) is np.ndarray and got.shape == (1,) and got[0] == np.asarray(lazy(A).sum())


def test_over_dask_arrays_the_axes_stay_in_the_graph():
    da = pytest.importorskip("dask.array")
    d = da.from_array(A, chunks=(2, 7))
    x = lazy(d) * 2 - lazy(d).mean(axis=0)
    y = x[None, ...]
    assert type(y) is LazyArray
    graph = fusenum.evaluate(y + lazy(da.from_array(B, chunks=7)))
    assert type(graph).__name__ == "Array" and graph.shape == (1, 5, 7)
    expected = np.asarray(x)[None] + B
    np.testing.assert_allclose(graph.compute(), expected, rtol=1e-14)


@pytest.mark.parametrize("key", [slice(-8, 1, -1), slice(-20, None, -1), slice(None, -20, -2),
                                 slice(-2, -2, -2), (slice(None), slice(3, -30, -1)),
                                 (Ellipsis, slice(-9, 0, -3))], ids=repr)
def test_a_key_handed_to_dask_selects_what_numpys_does(key):
    """A key fusenum does not capture (a slice of a float mean's kept axes) goes to the computed value,
    over dask arrays a dask array: in range, so that dask sizes a slice stepping down from below
    ``-len`` as NumPy does (dask's own ``da.ones(5)[-8:1:-1]`` has 3 elements)."""
    da = pytest.importorskip("dask.array")
    for make in (lambda m: m(A).mean(axis=0, keepdims=True), lambda m: (m(C) * 2).mean(axis=1)):
        y = make(lambda a: lazy(da.from_array(a, chunks=3)))[key]
        expected = make(np.asarray)[key]
        assert y.shape == expected.shape
        np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-14)


PERMUTATIONS = {
    "x.T": lambda x: x.T,
    "x.transpose()": lambda x: x.transpose(),
    "x.transpose(1, ..., 0)": lambda x: x.transpose(*range(1, x.ndim), 0),
    "x.transpose((-1, 0, ...))": lambda x: x.transpose((-1, *range(x.ndim - 1))),
    "np.transpose(x, last and first swapped)":
        lambda x: np.transpose(x, (x.ndim - 1, *range(1, x.ndim - 1), 0)[:x.ndim]),
    "np.expand_dims(x, (0, -1))": lambda x: np.expand_dims(x, (0, -1)),
    "np.expand_dims(x, 1)": lambda x: np.expand_dims(x, 1),
}
THREE_D = {
    "elementwise over 3-d": lambda m: m(C) * 2 + m(B) - m(A[:, :1]),
    "axis 1 reduced": lambda m: (m(C) - 1).sum(axis=1),
    "two axes kept": lambda m: np.sum(m(C) * 3, axis=(0, 2), keepdims=True) + m(B),
    "nan reduction": lambda m: np.nanmean(m(C), axis=1) + m(B),
}


@pytest.mark.parametrize("permute", list(PERMUTATIONS))
@pytest.mark.parametrize("name", list(EXPRESSIONS) + list(THREE_D))
def test_transposes_and_expand_dims_are_captured_with_the_forced_values_bits(name, permute, monkeypatch):
    make = {**EXPRESSIONS, **THREE_D}[name]
    runs = counting_runs(monkeypatch)
    x = make(lazy)
    y = PERMUTATIONS[permute](x)
    result = y * 2 - 1
    assert type(y) is LazyArray and type(result) is LazyArray and not runs and not x.is_forced
    forced_first = PERMUTATIONS[permute](np.asarray(make(lazy)))
    got = np.asarray(result)
    assert got.shape == forced_first.shape and got.tobytes() == (forced_first * 2 - 1).tobytes()
    assert np.shares_memory(np.asarray(y), np.asarray(x))  # forced on its own: a view of x's value


@pytest.mark.parametrize("call, error", [
    (lambda x: x.transpose(0, 0), "repeated axis in transpose"),
    (lambda x: np.transpose(x, (0, 2)), "axis 2 is out of bounds for array of dimension 2"),
    (lambda x: x.transpose(1), "axes don't match array"),
    (lambda x: np.expand_dims(x, 5), "axis 5 is out of bounds for array of dimension 3"),
])
def test_bad_axes_are_numpys_errors_without_computing(call, error):
    x = lazy(A) * 2
    with pytest.raises((ValueError, np.exceptions.AxisError)) as raised:
        call(x)
    with pytest.raises(type(raised.value), match=error):
        call(A * 2)
    assert str(raised.value) == error and not x.is_forced


@pytest.mark.parametrize("axis, error", [((1, 1), "repeated axis"), (2, "axis 2 is out of bounds")])
def test_bad_axes_of_expand_dims_of_a_dask_scalar_are_numpys_errors(axis, error):
    """A 0-d expression is not captured: its dask array gets ``expand_dims``, whose error for a
    repeated axis is dask's ``StopIteration``; fusenum checks the axes first."""
    da = pytest.importorskip("dask.array")
    with pytest.raises((ValueError, np.exceptions.AxisError), match=error):
        np.expand_dims(lazy(da.from_array(B, chunks=3)).sum(), axis)


def test_a_transposed_dask_expression_stays_a_graph():
    da = pytest.importorskip("dask.array")
    d = da.from_array(C, chunks=(1, 5, 7))
    x = lazy(d) * 2 - lazy(d).mean(axis=1)[:, None]
    y = np.transpose(x, (2, 0, 1))
    assert type(y) is LazyArray and type(fusenum.evaluate(y)).__name__ == "Array"
    expected = np.transpose(C * 2 - C.mean(axis=1)[:, None], (2, 0, 1))
    np.testing.assert_allclose(y.compute(), expected, rtol=1e-14)


def test_operands_of_lower_rank_keep_their_own_values_through_a_transpose():
    # Each 2-d operand is padded to 3-d first, a temporary: the rebuild must never take one
    # temporary's result for another's (their ids could repeat once the first is freed).
    lower = [rng.random((5, 7)) + 10 * k for k in range(6)]
    def combined(c):
        return np.where(c > 0.5, lower[0], lower[1]) + lower[2] * lower[3] - np.maximum(lower[4], lower[5])
    expected = combined(C)
    for _ in range(50):
        x = combined(lazy(C))
        assert np.asarray(x.T + 0).tobytes() == (expected.T + 0).tobytes()


@pytest.mark.parametrize("use", [
    lambda y: fusenum.evaluate(y, out=np.empty(y.shape)),
    lambda y: fusenum.evaluate(y, order="F"),
    lambda y: np.asarray(y + 0),
    lambda y: np.asarray(y.sum(axis=0, keepdims=True)),
    lambda y: np.asarray(copy.copy(y)),
    lambda y: np.asarray(pickle.loads(pickle.dumps(y))),
], ids=["evaluate out=", "evaluate order=F", "in an expression", "reduced", "copy", "pickle"])
@pytest.mark.parametrize("chain", [
    lambda x: x[None], lambda x: x.T, lambda x: x[None].T, lambda x: np.expand_dims(x.T, 0)[..., None],
], ids=["x[None]", "x.T", "x[None].T", "expand_dims(x.T)[..., None]"])
def test_every_use_after_the_base_is_computed_reads_its_value(chain, use):
    x = lazy(A) * 2
    y = chain(x)
    x.compute()[0, 0] = 99.0  # written after y was taken
    written = A * 2
    written[0, 0] = 99.0
    expected = np.asarray(use(lazy(chain(written))))  # (the same layout as the view of x's value)
    assert np.asarray(use(y)).tobytes() == expected.tobytes()
    assert not np.array_equal(expected, np.asarray(use(lazy(chain(A * 2)))))  # (the write shows)


@pytest.mark.parametrize("key", [(None, slice(None), slice(None), slice(None)), (Ellipsis, Ellipsis),
                                 (None,) * 70])
def test_bad_keys_of_new_axes_are_numpys_errors_without_computing(key):
    x = lazy(A) * 2
    with pytest.raises(IndexError) as raised:
        x[key]
    with pytest.raises(IndexError) as numpys:
        (A * 2)[key]
    assert str(raised.value) == str(numpys.value) and not x.is_forced


@pytest.mark.parametrize("part", [
    lambda x: x.real, lambda x: x.imag, lambda x: np.real(x[None]), lambda x: x.T.imag, lambda x: x.real.T,
], ids=["x.real", "x.imag", "np.real(x[None])", "x.T.imag", "x.real.T"])
def test_parts_of_a_complex_expression_computed_since_are_views_of_its_value(part):
    z = A + 1j * A[::-1]
    x = lazy(z) * 2
    y = part(x)
    x.compute()[0, 0] = 99.0 - 98.0j  # written after y was taken
    written = z * 2
    written[0, 0] = 99.0 - 98.0j
    assert np.asarray(y + 0).tobytes() == (part(written) + 0).tobytes()
    assert np.asarray(copy.copy(y)).tobytes() == np.asarray(part(written)).tobytes()
