"""What changes an array object itself -- ``setflags``, ``flags.writeable``, ``resize`` -- acts on a
lazy array's kept value as on an ndarray view, never on a throwaway view of it."""
import numpy as np
import pytest

from fusenum import InvalidArgumentError, LazyArray, lazy



def _computed(a):
    r = lazy(a) * 1
    r.compute()
    return r


MAKE = {"lazy(a)": lazy, "computed expression": _computed, "expression": lambda a: lazy(a) * 1}
READ_ONLY = {"setflags(write=False)": lambda x: x.setflags(write=False),
             "flags.writeable = False": lambda x: setattr(x.flags, "writeable", False)}
WRITES = {"x[0] = 99": lambda x: x.__setitem__(0, 99), "x.fill(7)": lambda x: x.fill(7),
          "np.copyto(x, 7)": lambda x: np.copyto(x, 7),
          "np.add(.., out=x)": lambda x: np.add(np.ones(4), 1, out=x),
          "x.real = 5": lambda x: setattr(x, "real", 5)}


def _error(function):
    try:
        function()
    except Exception as exc:  # noqa: BLE001 -- NumPy's error is the expected answer
        return type(exc), str(exc)
    return None


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("how", list(READ_ONLY))
@pytest.mark.parametrize("make", list(MAKE))
def test_a_lazy_array_made_read_only_refuses_writes_as_numpy_does(make, how, write):
    a, b = np.arange(4.0), np.arange(4.0)
    view = a.view()
    READ_ONLY[how](view)
    x = MAKE[make](b)
    READ_ONLY[how](x)
    assert not x.flags.writeable and not np.asarray(x).flags.writeable
    assert _error(lambda: WRITES[write](x)) == _error(lambda: WRITES[write](view))
    assert b.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert b.flags.writeable  # (a view's base stays writeable)
    x.setflags(write=True)
    WRITES[write](x)
    assert np.asarray(x).tolist() != [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("make", list(MAKE))
def test_resize_to_the_same_size_reshapes_the_lazy_array(make):
    a = np.arange(6.0)
    x = MAKE[make](a)
    assert x.resize((2, 3)) is None
    assert type(x) is LazyArray and x.shape == (2, 3) and np.asarray(x).shape == (2, 3)
    x.resize(3, 2)
    x[0, 0] = 9
    assert np.asarray(x).tolist() == [[9, 1], [2, 3], [4, 5]]
    assert (a[0] == 9) == (make == "lazy(a)")  # lazy(a) is a view of a
    for bad in ((-1,), ("a",)):  # NumPy's errors
        view = np.arange(6.0).view()
        assert _error(lambda: x.resize(*bad)) == _error(lambda: view.resize(*bad))


@pytest.mark.parametrize("make", list(MAKE))
def test_resize_to_another_size_is_refused_with_the_workarounds(make):
    x = MAKE[make](np.arange(6.0))
    message = r"^LazyArray.resize\(\) cannot change the size \(6 elements to 8\).*np.resize\(x, shape\)"
    with pytest.raises(InvalidArgumentError, match=message) as raised:
        x.resize((2, 4))
    assert isinstance(raised.value, ValueError)
    assert x.shape == (6,)

