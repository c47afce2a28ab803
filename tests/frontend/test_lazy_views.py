"""``real``/``imag`` of a lazy array are NumPy's views (writes reach the array, as in NumPy), and
the attributes NumPy lets one assign (``real``, ``imag``, ``flat``, ``shape``, ``dtype``) are assignable."""
import numpy as np
import pytest

from fusenum import LazyArray, UnsupportedDTypeError, lazy

COMPLEX = np.array([1 + 1j, 2 + 2j, 3 - 1j])
FLOAT = np.array([1.0, 2.0, 3.0])

WRITES = {
    ".real[0] = 99": lambda x: x.real.__setitem__(0, 99),
    ".imag[1:] = 7": lambda x: x.imag.__setitem__(slice(1, None), 7),
    "np.real()[...] = 5": lambda x: np.real(x).__setitem__(Ellipsis, 5),
    "np.imag()[0] = -1": lambda x: np.imag(x).__setitem__(0, -1),
    ".real.fill(4)": lambda x: x.real.fill(4),
    "np.copyto(.real, 8)": lambda x: np.copyto(x.real, 8),
    "np.add(.., out=.imag)": lambda x: np.add(FLOAT, 1, out=x.imag),
    ".real = 6": lambda x: setattr(x, "real", 6),
    ".imag = [1, 2, 3]": lambda x: setattr(x, "imag", [1, 2, 3]),
    ".imag += 1": lambda x: setattr(x, "imag", x.imag + 1),
    ".flat = [7, 8]": lambda x: setattr(x, "flat", [7, 8]),
}


def _outcome(write, array):
    try:
        write(array)
    except Exception as exc:  # noqa: BLE001 -- NumPy's error is the expected answer
        return type(exc), str(exc)
    return None


@pytest.mark.parametrize("values", [COMPLEX, FLOAT], ids=["complex", "float"])
@pytest.mark.parametrize("how", list(WRITES))
def test_writes_through_real_and_imag_reach_the_wrapped_array(how, values):
    """Also NumPy's errors: ``imag`` of a real array is read-only, and ``x.imag = v`` refused."""
    expected, got = values.copy(), values.copy()
    expected_error = _outcome(WRITES[how], expected)
    error = _outcome(WRITES[how], lazy(got))
    assert error == expected_error
    assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("how", [".real[0] = 99", ".imag[1:] = 7", "np.real()[...] = 5", ".real.fill(4)"])
def test_writes_through_real_and_imag_of_an_expression_reach_its_value(how):
    """``r.real`` of an expression computes nothing when asked for; forced, it is the view of r's value."""
    expected = COMPLEX * 2
    r = lazy(COMPLEX) * 2
    part = r.real if "real" in how else r.imag
    assert type(part) is LazyArray and not r.is_forced
    WRITES[how](expected)
    WRITES[how](r)
    assert np.asarray(r).tobytes() == expected.tobytes()


def test_real_and_imag_in_expressions_are_values():
    r = lazy(COMPLEX) * 2
    assert np.asarray(r.real * 3 + r.imag).tobytes() == ((COMPLEX * 2).real * 3 + (COMPLEX * 2).imag).tobytes()
    assert np.asarray(lazy(COMPLEX).imag - 1).tobytes() == (COMPLEX.imag - 1).tobytes()


def test_real_keeps_the_byte_order_as_numpy_does():
    big = np.array([1.5, 2.0], ">f8")
    assert np.real(lazy(big)).dtype == np.real(big).dtype == lazy(big).real.dtype


def test_real_of_a_scalar_result_is_a_scalar():
    """``np.float64.real`` is a NumPy scalar, whose ``**`` is NumPy's scalar power."""
    x = np.array([1.1, 2.3, 0.7])
    s = lazy(x).sum()
    s.compute()
    assert np.asarray(s.real ** 2.5).tobytes() == np.asarray(x.sum().real ** 2.5).tobytes()
    with pytest.raises(AttributeError, match="^attribute 'real' of 'numpy.generic' objects is not writable$"):
        s.real = 1


SHAPES = [(2, 3), (3, -1), (6,), (4, 2), (1, 6, 1)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("computed", [True, False])
def test_assigning_the_shape_reshapes_as_numpy_does(shape, computed):
    """``lazy(a)`` is a view of ``a``: the view's shape changes, ``a``'s does not (as a view's base)."""
    a = np.arange(6.0)
    x, expected = (lazy(a), a.view()) if computed else (lazy(a) * 2, a * 2)
    expected_error = _outcome(lambda v: setattr(v, "shape", shape), expected)
    assert _outcome(lambda v: setattr(v, "shape", shape), x) == expected_error
    assert x.shape == expected.shape and a.shape == (6,)
    assert np.asarray(x.sum(axis=-1)).tobytes() == expected.sum(axis=-1).tobytes()


def test_assigning_a_shape_that_needs_a_copy_is_numpys_error():
    x = lazy(np.arange(6.0).reshape(2, 3)[:, ::2])
    with pytest.raises(AttributeError, match="^Incompatible shape for in-place modification"):
        x.shape = (4,)


def test_assigning_the_dtype_reinterprets_as_numpy_does():
    a = np.arange(4.0)
    x = lazy(a)
    x.dtype = np.int64
    assert x.dtype == np.int64 and a.dtype == np.float64
    assert np.asarray(x + 0).tobytes() == a.view(np.int64).tobytes()
    with pytest.raises(UnsupportedDTypeError):
        x.dtype = "M8[D]"
    assert x.dtype == np.int64


@pytest.mark.parametrize("name, value", [("shape", (2, 3)), ("dtype", np.int64), ("strides", (24, 8))])
def test_numpys_warnings_for_assigning_an_attribute_point_at_the_assigning_line(name, value):
    """NumPy 2.5 deprecates assigning ``shape`` and ``dtype`` (2.4 ``strides``), warning at the line
    that assigns. A LazyArray's warning points at its user's line too (not fusenum's, which the
    default filters would hide); where NumPy gives none, neither does fusenum."""
    import warnings
    with warnings.catch_warnings(record=True) as numpys:
        warnings.simplefilter("always")
        setattr(np.arange(6.0).reshape(2, 3), name, value)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        setattr(lazy(np.arange(6.0).reshape(2, 3)), name, value)
    assert [(w.category, str(w.message)) for w in ours] == [(w.category, str(w.message)) for w in numpys]
    assert [w.filename for w in ours] == [__file__] * len(numpys)


def test_attributes_numpy_does_not_let_assign_are_refused():
    for name in ("ndim", "size", "T"):
        with pytest.raises(AttributeError):
            setattr(lazy(FLOAT), name, 1)


@pytest.mark.parametrize("part", ["real", "imag"])
def test_parts_of_an_in_place_result_on_a_byte_swapped_array_keep_the_byte_order(part):
    """NumPy's ``+=`` keeps the target's byte order, and its ``.real`` view keeps it too; the lazy
    one, not computed when asked for, is a view of the value once it is."""
    expected = COMPLEX.astype(">c16")
    expected += 1
    r = lazy(COMPLEX.astype(">c16"))
    r += 1
    view = getattr(r, part)
    assert type(view) is LazyArray and view.dtype == getattr(expected, part).dtype
    np.asarray(view)[0] = 9
    getattr(expected, part)[0] = 9
    assert np.asarray(r).tolist() == expected.tolist()


VIEWS_OF_THE_BASE = {
    "x[1:]": lambda x: x[1:],
    "x[:, 1]": lambda x: x[:, 1],
    "x.T": lambda x: x.T,
    "x[None]": lambda x: x[None],
    "x[1:].T[::-1]": lambda x: x[1:].T[::-1],
}
CHANGES_OF_THE_BASE = {
    "x.shape = (12,)": lambda x: setattr(x, "shape", (12,)),
    "x.dtype = int64": lambda x: setattr(x, "dtype", np.int64),
    "x.strides = (8, 24)": lambda x: setattr(x, "strides", (8, 24)),
    "x.resize(2, 6)": lambda x: x.resize(2, 6),
    "x.setflags(write=False)": lambda x: x.setflags(write=False),
    "x.flags.writeable = False": lambda x: setattr(x.flags, "writeable", False),
}


@pytest.mark.filterwarnings("ignore:Setting the strides:DeprecationWarning")
@pytest.mark.parametrize("change", CHANGES_OF_THE_BASE, ids=str)
@pytest.mark.parametrize("take", VIEWS_OF_THE_BASE, ids=str)
def test_a_view_taken_before_the_base_changes_layout_or_flags_is_numpys(take, change):
    """In NumPy ``v = x[1:]`` is a view of ``x``'s memory as ``x`` was: assigning ``x``'s shape, dtype or
    strides, resizing it or making it read-only changes neither ``v``'s layout nor its flags, and writes
    through ``v`` still reach that memory. So for a view captured of an unforced ``x``; before, it was
    taken of ``x``'s new layout when used (a wrong shape, dtype and values)."""
    _check_a_view_taken_before_a_change(np.arange(12.0).reshape(3, 4), VIEWS_OF_THE_BASE[take],
                                        CHANGES_OF_THE_BASE[change])


@pytest.mark.parametrize("change", ["x.shape = (12,)", "x.dtype = int64", "x.setflags(write=False)"], ids=str)
@pytest.mark.parametrize("part", ["real", "imag"])
def test_a_part_taken_before_the_base_changes_layout_or_flags_is_numpys(part, change):
    _check_a_view_taken_before_a_change((np.arange(12.0) + 1j).reshape(3, 4), lambda x: getattr(x, part),
                                        CHANGES_OF_THE_BASE[change])


def _check_a_view_taken_before_a_change(a, take, change):
    expected_base, base = a * 2, lazy(a) * 2
    expected, view = take(expected_base), take(base)
    change(expected_base)
    change(base)
    assert (view.shape, view.dtype) == (expected.shape, expected.dtype)
    assert np.asarray(view + 0).tobytes() == (expected + 0).tobytes()
    assert np.asarray(view).flags.writeable == expected.flags.writeable
    expected[(0,) * expected.ndim] = -1
    np.asarray(view)[(0,) * view.ndim] = -1
    assert np.asarray(base).tobytes() == expected_base.tobytes()


def test_views_taken_before_the_base_changes_stay_unforced_until_it_is_computed():
    """Assigning the base's shape computes the base (a view of its value), and with it the views taken
    before; views taken of an unforced base that is never reshaped stay lazy and fuse."""
    x = lazy(np.arange(12.0).reshape(3, 4)) * 2
    before, other = x[1:], (lazy(np.arange(4.0)) + 1)[1:]
    x.shape = (12,)
    assert before.is_forced and not other.is_forced
    assert x[2:].shape == (10,) and np.asarray(x[2:]).tobytes() == (np.arange(12.0) * 2)[2:].tobytes()
