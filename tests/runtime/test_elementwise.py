"""Execution: broadcasting, out=, casting=, order=, overlap, coalescing, empty and 0-d."""
import numpy as np
import pytest

import fusenum
from fusenum.runtime import background, interpreter
from fusenum.runtime.layout import access, coalesce, overlaps_itself

rng = np.random.default_rng(1)
a = rng.random((4, 6))
b = rng.random(6)


def test_broadcasting_follows_numpy():
    col = rng.random((4, 1))
    np.testing.assert_array_equal(fusenum.evaluate("a * b + col"), a * b + col)


def test_broadcast_mismatch_names_the_operands():
    c = rng.random(5)
    with pytest.raises(ValueError, match=r"could not be broadcast together with shapes a: \(4, 6\), c: \(5,\)"):
        fusenum.evaluate("a + c")


def test_zero_d_inputs_give_a_zero_d_result():
    x, y = np.array(2.0), np.float32(3)
    result = fusenum.evaluate("x * y")
    assert result.shape == () and result.dtype == np.float64 and result == 6.0


def test_python_scalars_only_give_a_zero_d_array():
    result = fusenum.evaluate("1 + 2")
    assert isinstance(result, np.ndarray) and result.shape == () and result == 3


def test_only_exact_python_scalar_types_are_weak():
    """An int or float subclass (``IntEnum``) is typed as an array of its default dtype, as NumPy 2.1
    and later type it (2.0 took it as weak, see README)."""
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    class Ratio(float):
        pass
    u, f = np.arange(4, dtype=np.uint8), np.arange(4, dtype=np.float32)
    assert fusenum.evaluate("u + k", {"u": u, "k": Level.HIGH}).dtype == np.int64
    assert fusenum.evaluate("f * r", {"f": f, "r": Ratio(0.5)}).dtype == np.float64
    assert fusenum.evaluate("u + k", {"u": u, "k": 3}).dtype == np.uint8
    if np.lib.NumpyVersion(np.__version__) >= "2.1.0":
        assert (u + Level.HIGH).dtype == np.int64 and (f * Ratio(0.5)).dtype == np.float64


def test_empty_arrays():
    e = np.empty((0, 3), np.int16)
    result = fusenum.evaluate("e * 2 + 1")
    assert result.shape == (0, 3) and result.dtype == np.int16


def test_empty_array_with_negative_integer_power_does_not_raise_like_numpy():
    e = np.empty(0, np.int64)
    assert fusenum.evaluate("e ** -1").shape == (0,)


def test_negative_integer_power_raises_numpys_value_error():
    i = np.arange(1, 5)
    with pytest.raises(ValueError, match="^Integers to negative integer powers are not allowed.$"):
        fusenum.evaluate("i ** (i - 3)")


@pytest.mark.parametrize("order, c, f", [("C", True, False), ("F", False, True)])
def test_order_c_and_f(order, c, f):
    result = fusenum.evaluate("a + 1", order=order)
    assert result.flags.c_contiguous == c and result.flags.f_contiguous == f
    np.testing.assert_array_equal(result, a + 1)


def test_order_k_and_a_follow_fortran_inputs():
    fa = np.asfortranarray(a)
    for order in "KA":
        result = fusenum.evaluate("fa * 2", order=order)
        assert result.flags.f_contiguous and not result.flags.c_contiguous
    assert fusenum.evaluate("a * 2", order="K").flags.c_contiguous


def test_order_k_keeps_a_transposed_layout():
    t = np.ascontiguousarray(rng.random((3, 4, 5)).transpose(2, 0, 1)).transpose(1, 2, 0)
    result = fusenum.evaluate("t + 1")
    assert np.argsort(result.strides).tolist() == np.argsort(t.strides).tolist()
    np.testing.assert_array_equal(result, t + 1)


def _random_view(rng, shape):
    """A view of ``shape`` with its axes in a random memory order, maybe strided or reversed."""
    perm = rng.permutation(len(shape))
    big = [n * int(rng.integers(1, 3)) for n in shape]
    base = np.ones([big[p] for p in perm]).transpose(np.argsort(perm))
    steps = [(-1 if rng.random() < 0.2 else 1) * (big[k] // n) for k, n in enumerate(shape)]
    return base[tuple(slice(None, None, step) for step in steps)]


@pytest.mark.parametrize("seed", range(6))
def test_orders_k_and_a_lay_results_out_as_numpys_ufuncs(seed):
    # NumPy's iterator moves an axis inwards only where every operand striding along both agrees, and
    # 'A' is Fortran only if every input is Fortran-contiguous (a strided 1-d row is not).
    rng = np.random.default_rng(seed)
    for _ in range(150):
        ndim = int(rng.integers(1, 5))
        shape = [int(rng.integers(1, 5)) for _ in range(ndim)]
        operands = []
        for _ in range(int(rng.integers(1, 4))):
            own = shape[int(rng.integers(0, ndim)):] if rng.random() < 0.3 else list(shape)
            operands.append(_random_view(rng, [1 if rng.random() < 0.2 else n for n in own]))
        names = dict(zip("xyz", operands))
        text, ufunc = {1: ("-x", np.negative), 2: ("x + y", np.add), 3: ("clip(x, y, z)", np.clip)}[len(operands)]
        for order in "KA":
            try:
                expected = ufunc(*operands, order=order)
            except ValueError:  # shapes that do not broadcast
                break
            got = fusenum.evaluate(text, local_dict=names, order=order)
            # (the stride of a length-1 axis says nothing about the layout)
            assert [st for n, st in zip(got.shape, got.strides) if n > 1] == \
                [st for n, st in zip(expected.shape, expected.strides) if n > 1], (order, names, expected.strides)


def test_bad_order_is_a_value_error():
    with pytest.raises(ValueError, match="order must be one of 'K', 'A', 'C', 'F', not 'X'"):
        fusenum.evaluate("a + 1", order="X")


def test_out_receives_the_result_and_is_returned():
    out = np.empty_like(a)
    assert fusenum.evaluate("a * b", out=out) is out
    np.testing.assert_array_equal(out, a * b)


def test_out_shape_must_match():
    with pytest.raises(ValueError, match=r"out has shape \(6,\), but the expression's result has shape \(4, 6\)"):
        fusenum.evaluate("a + b", out=np.empty(6))


def test_out_must_be_a_writeable_ndarray():
    with pytest.raises(TypeError, match="out must be a numpy.ndarray, not list"):
        fusenum.evaluate("b + 1", out=[0.0] * 6)
    frozen = np.empty(6)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="output array is read-only"):
        fusenum.evaluate("b + 1", out=frozen)


def test_casting_same_kind_by_default():
    out = np.empty(a.shape, np.int32)
    with pytest.raises(fusenum.CastingError, match=r"Cannot cast expression output from dtype\('float64'\) "
                                                   r"to dtype\('int32'\) with casting rule 'same_kind'"):
        fusenum.evaluate("a + 1", out=out)
    assert issubclass(fusenum.CastingError, TypeError)
    fusenum.evaluate("a * 100", out=out, casting="unsafe")
    np.testing.assert_array_equal(out, (a * 100).astype(np.int32))
    f32 = np.empty(a.shape, np.float32)
    fusenum.evaluate("a * 3", out=f32)  # same kind: allowed
    np.testing.assert_array_equal(f32, (a * 3).astype(np.float32))


@pytest.mark.parametrize("casting", ["no", "equiv", "safe"])
def test_strict_casting_rules(casting):
    # (``a + 1.0``: NumPy's ``'equiv'`` refuses a Python int converted to float64, see test_input_casting)
    out = np.empty(a.shape, np.float32)
    with pytest.raises(fusenum.CastingError, match=casting):
        fusenum.evaluate("a + 1.0", out=out, casting=casting)
    same = np.empty(a.shape)
    fusenum.evaluate("a + 1.0", out=same, casting=casting)
    swapped = np.empty(a.shape, ">f8")
    if casting == "no":
        with pytest.raises(fusenum.CastingError):
            fusenum.evaluate("a + 1.0", out=swapped, casting=casting)
    else:
        fusenum.evaluate("a + 1.0", out=swapped, casting=casting)
        np.testing.assert_array_equal(swapped, a + 1)


def test_bad_casting_name():
    with pytest.raises(ValueError, match="casting must be one of 'no', 'equiv', 'safe', 'same_kind', 'unsafe'"):
        fusenum.evaluate("a + 1", out=np.empty_like(a), casting="sometimes")


def test_in_range_float_to_int_casts_match_numpy():
    values = np.array([0.0, -0.0, 1.9, -1.9, 100.5, -100.5, 127.0, -128.0])
    for dtype in ["i1", "i2", "i4", "i8", "?"]:
        out = np.empty(values.shape, dtype)
        fusenum.evaluate("values * 1", out=out, casting="unsafe")
        np.testing.assert_array_equal(out, values.astype(dtype), err_msg=dtype)


def test_out_of_range_float_to_int_casts_are_numpys_per_element_result():
    # NumPy warns "invalid value encountered in cast" and its answer depends on the
    # array's length (vector loop vs scalar tail); fusenum always gives the scalar one.
    special = np.array([1e10, -1e10, np.nan, np.inf, -np.inf, 300.0, -1.5, 2.5, 3e9, 1e19, 2e19, -1.0])
    for dtype in ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "?"]:
        out = np.empty(special.shape, dtype)
        fusenum.evaluate("special + 0", out=out, casting="unsafe")
        with np.errstate(all="ignore"):
            expected = [np.array([v]).astype(dtype)[0] for v in special]
        np.testing.assert_array_equal(out, expected, err_msg=dtype)


def test_in_place_update():
    x = np.arange(10.0)
    expected = x * 2 + 1
    fusenum.evaluate("x * 2 + 1", out=x)
    np.testing.assert_array_equal(x, expected)


def test_overlapping_out_is_computed_as_if_into_a_temporary():
    x = np.arange(10.0)
    expected = x + 1
    fusenum.evaluate("x + 1", out=x[::-1])
    np.testing.assert_array_equal(x[::-1], expected)
    y = np.arange(12.0)
    shifted = y[1:]
    expected = y[:-1] * 2
    source = y[:-1]
    fusenum.evaluate("source * 2", out=shifted)
    np.testing.assert_array_equal(y[1:], expected)


@pytest.mark.parametrize("policy", ["never", "always"])
def test_an_out_whose_elements_overlap_each_other_gets_numpys_answer(policy):
    """NumPy computes into a temporary, then copies it in: inputs are read before any write, and the
    last element in C order wins. Written straight into, a 0-stride ``out`` fed its own sums back."""
    as_strided = np.lib.stride_tricks.as_strided
    previous = fusenum.set_tiering(policy)
    try:
        for rows, columns in [(3, 4096), (2, 5), (400, 4096)]:
            ours, numpys = np.zeros(columns), np.zeros(columns)
            into = [as_strided(base, (rows, columns), (0, 8)) for base in (ours, numpys)]
            fusenum.evaluate("a + 1", {"a": into[0]}, out=into[0])
            np.add(into[1], 1, out=into[1])
            np.testing.assert_array_equal(ours, numpys)
            b = np.arange(rows * columns, dtype=np.float64).reshape(rows, columns)
            fusenum.evaluate("b * 1", out=into[0])
            np.multiply(b, 1, out=into[1])
            np.testing.assert_array_equal(ours, numpys)
        ours = np.zeros(8)  # (rows of 4 overlapping by 2: no zero stride)
        numpys = ours.copy()
        b = np.arange(12.0).reshape(3, 4)
        fusenum.evaluate("b - 1", out=as_strided(ours, (3, 4), (16, 8)))
        np.subtract(b, 1, out=as_strided(numpys, (3, 4), (16, 8)))
        np.testing.assert_array_equal(ours, numpys)
    finally:
        fusenum.set_tiering(previous)


def test_overlaps_itself_tells_overlapping_layouts():
    as_strided = np.lib.stride_tricks.as_strided
    base = np.zeros(64)
    assert overlaps_itself(as_strided(base, (3, 4), (0, 8))) and overlaps_itself(as_strided(base, (3, 4), (16, 8)))
    assert overlaps_itself(as_strided(base, (4,), (4,)))  # (elements of 8 bytes, 4 apart)
    for fine in (base, base[::-3], base.reshape(8, 8).T, base.reshape(4, 4, 4)[:, ::2, 1:], base[:1],
                 as_strided(base, (5, 0), (0, 8)), as_strided(base, (1, 4), (0, 8))):
        assert not overlaps_itself(fine)


def test_coalescing_merges_contiguous_dims():
    c = np.empty((3, 4, 5))
    assert coalesce(c.shape, [c, c])[0] == [60]
    f = np.asfortranarray(c)
    assert coalesce(f.shape, [f, f])[0] == [60]
    row = np.empty((1, 5))
    shape, strides = coalesce((4, 5), [row, np.empty((4, 5))])
    assert shape == [4, 5] and strides[0] == [0, 8]
    assert coalesce((), [np.empty(())])[0] == [1]


def test_layout_classes():
    x = np.empty(10)
    assert access(x, [8]).stride == "c"
    assert access(x, [0]).stride == "u"
    assert access(x, [16]).stride == "s"
    assert access(x, [16, 0]).stride == "0"


@pytest.mark.parametrize("size", [1, 7, 8, 9, 63, 64, 65, 1000, 100_003])
def test_vector_body_and_tail_sizes(simd, size):
    x = rng.random(size)
    y = rng.random(size)
    np.testing.assert_array_equal(fusenum.evaluate("x * y - x / 3"), x * y - x / 3)


@pytest.mark.parametrize("tier", ["never", "always"])
@pytest.mark.parametrize("names", [{"x": 0, "y": np.array(True)}, {"x": np.zeros(()), "y": np.ones(())},
                                   {"x": np.zeros(1), "y": np.ones(1)}, {"x": np.zeros(()), "y": 1.0}], ids=repr)
def test_zero_ties_of_clip_in_one_element_calls_are_numpys(tier, names):
    """NumPy's clip loop lets ``x`` win a tie with single-valued bounds, and every operand of a 0-d
    call is single-valued (not those of a one-element 1-d call): the checked kernel, which reads its
    arrays element by element, does not serve 0-d calls."""
    previous = fusenum.set_tiering(tier)
    try:
        got = fusenum.evaluate("clip(x, -0.0, y)", local_dict=names)
    finally:
        fusenum.set_tiering(previous)
    expected = np.clip(names["x"], -0.0, names["y"])
    assert np.asarray(got).shape == np.shape(expected) and np.signbit(got) == np.signbit(expected)


@pytest.mark.parametrize("size, counted", [(1000, False), (2_000_000, True)])
def test_a_big_interpreted_call_is_one_background_jobs_let_finish(monkeypatch, size, counted):
    # (on every core: LLVM's loading and compiles in the background wait for it, background.yield_to_calls)
    seen = []
    real = interpreter.run
    monkeypatch.setattr(interpreter, "run", lambda *args: (seen.append(background.calls_in_progress()), real(*args))[1])
    previous = fusenum.set_tiering("always")
    try:
        a = np.linspace(0.0, 1.0, size)
        np.testing.assert_array_equal(fusenum.evaluate("a * 3 - 1", {"a": a}), a * 3 - 1)
    finally:
        fusenum.set_tiering(previous)
    assert seen == [1 if counted else 0] and background.calls_in_progress() == 0


def _complex_warnings(call) -> int:
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return sum(issubclass(w.category, np.exceptions.ComplexWarning) for w in caught)


@pytest.mark.parametrize("out_dtype", ["float64", "float16", "int32", "uint8", "bool", "complex64"])
@pytest.mark.parametrize("text", ["z * 2", "1j + 2", "sum(z)"])
def test_a_complex_result_cast_into_a_real_out_warns_at_each_call_as_numpy(text, out_dtype):
    # NumPy's ufuncs warn ComplexWarning at each call whose complex result goes into a real (not
    # bool) out; fusenum gave none for arrays and, for a folded constant, one only when it typed it.
    z = np.array([1 + 2j, -3 + 0.5j, 0.25j]) if text != "sum(z)" else np.array([1 + 2j, 3 - 1j])
    shape = () if text != "z * 2" else z.shape
    numpy_result = {"z * 2": lambda o: np.multiply(z, 2, out=o, casting="unsafe"),
                    "1j + 2": lambda o: np.add(np.array(1j), 2, out=o, casting="unsafe"),
                    "sum(z)": lambda o: np.add(np.sum(z), 0, out=o, casting="unsafe")}[text]
    expected = np.empty(shape, out_dtype)
    expected_warnings = _complex_warnings(lambda: numpy_result(expected))
    assert expected_warnings == (np.dtype(out_dtype).kind in "iuf")
    for _ in range(2):
        out = np.empty(shape, out_dtype)
        got = _complex_warnings(lambda: fusenum.evaluate(text, local_dict={"z": z}, out=out, casting="unsafe"))
        assert got == expected_warnings, (got, expected_warnings)
        np.testing.assert_array_equal(out, expected)
    assert _complex_warnings(lambda: fusenum.explain(text, local_dict={"z": z}, out=out, casting="unsafe")) == 0


@pytest.mark.parametrize("two_d", [False, True])
def test_streaming_stores_write_only_into_memory_the_call_did_not_map(monkeypatch, two_d):
    """A new result is written with ordinary stores once it is big enough to be a fresh mapping
    (its pages' zeros are in the cache); ``out=`` and smaller results stream, unless the body's
    arithmetic costs as much as a vector math function (compute-bound); ``explain`` says what runs; the bits never
    differ. (1-d: the checked fast path; 2-d with a broadcast row: the general path.)"""
    from fusenum.runtime import plan
    monkeypatch.setattr(plan, "STREAM_BYTES", 8 * 1000)
    monkeypatch.setattr(plan, "FRESH_MAPPING_BYTES", 8 * 4000)
    ran = []  # whether each kernel the calls ran streams
    kernel_for = plan.Plan.kernel

    def spy(self, *args, **kwargs):
        kernel = kernel_for(self, *args, **kwargs)
        if kernel is not None:
            ran.append(kernel.spec.streaming)
        return kernel
    monkeypatch.setattr(plan.Plan, "kernel", spy)
    previous = fusenum.set_tiering("never")  # (every call runs a kernel, none is interpreted)
    fusenum.clear_cache()
    try:
        big, small = ((50, 100), (20, 100)) if two_d else ((5000,), (2000,))
        for text in ("x * 3.0 - y", "exp(x) - y", "x+y+x*2+y*3+x*4+y*5+x*6+y*7+x*8+y*9"):
            streams = not text.startswith("exp")
            for shape, out, streaming in [(big, None, False), (big, np.empty(big), streams),
                                          (small, None, streams)]:
                x = rng.random(shape)
                y = rng.random(shape[-1:] if two_d else shape)
                fusenum.clear_cache()
                ran.clear()
                got = fusenum.evaluate(text, out=out)
                assert ran and ran[-1] is streaming, (text, shape, out is None)
                shown = fusenum.explain(text, out=out)
                assert f"streaming stores {'yes' if streaming else 'no'}" in shown
                if streams:  # (the same operations as NumPy's, in the same order)
                    np.testing.assert_array_equal(got, eval(text))
                else:  # (fusenum's exp is within a few ULP of NumPy's, and the difference may cancel)
                    np.testing.assert_allclose(got, np.exp(x) - y, rtol=0, atol=4 * np.spacing(np.e))
    finally:
        fusenum.set_tiering(previous)
        fusenum.clear_cache()
