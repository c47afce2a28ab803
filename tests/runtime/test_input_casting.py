"""The input-cast check on its own: recorded conversions refused under ``'no'``/``'equiv'`` as NumPy
refuses them, byte-swapped inputs under ``'no'``, nothing checked under the other rules."""
import warnings

import numpy as np
import pytest

import fusenum
from fusenum.runtime.input_casting import check_input_casts

F8, I4 = np.dtype("f8"), np.dtype("i4")


def test_other_rules_and_unrecorded_plans_check_nothing():
    swapped = np.ones(2, ">f8")
    for casting in ("safe", "same_kind", "unsafe"):
        check_input_casts((("add", 0, I4, F8),), [swapped], ["a"], casting)
    check_input_casts(None, [swapped], ["a"], "no")


@pytest.mark.parametrize("casting", ["no", "equiv"])
def test_an_array_conversion_is_refused_with_numpys_message(casting):
    with pytest.raises(TypeError) as numpy_error:
        np.add(np.ones(1, I4), np.ones(1, F8), casting=casting)
    with pytest.raises(fusenum.CastingError) as error:
        check_input_casts((("add", 0, I4, F8),), [], [], casting)
    assert str(error.value) == str(numpy_error.value)


def test_a_byte_swapped_input_is_refused_under_no_only():
    swapped = np.ones(2, ">f8")
    with pytest.raises(fusenum.CastingError, match=r"^Cannot cast input 'b' from dtype\('>f8'\)"):
        check_input_casts((), [1.0, swapped], ["a", "b"], "no")
    check_input_casts((), [1.0, swapped], ["a", "b"], "equiv")


@pytest.mark.parametrize("casting", ["no", "equiv"])
@pytest.mark.parametrize("pytype", [bool, int, float, complex])
@pytest.mark.parametrize("name", ["add", "greater", "clip"])
def test_a_python_scalar_is_judged_as_the_installed_numpy_judges_it(casting, pytype, name):
    ufunc = getattr(np._core.umath, name)
    for loop in map(np.dtype, ["u1", "i4", "i8", "f4", "f8", "c16"]):
        operands = [np.ones(1, loop) for _ in range(ufunc.nin)]
        operands[1] = pytype(1)
        try:
            with np.errstate(all="ignore"):
                ufunc(*operands, casting=casting)
        except TypeError:
            with pytest.raises(fusenum.CastingError, match=f"^cannot cast Python {pytype.__name__} to {loop}"):
                check_input_casts(((name, 1, pytype, loop),), [], [], casting)
        else:
            check_input_casts(((name, 1, pytype, loop),), [], [], casting)


def test_asking_numpy_leaves_the_process_warning_state_alone(monkeypatch):
    """``warnings.catch_warnings`` changes the whole process's warning state (before Python 3.14):
    another thread's warnings would be lost, or a filter left behind, while NumPy is asked."""
    from fusenum.runtime import input_casting

    def refuse(*args, **kwargs):
        raise AssertionError("the check changed the process's warning state")
    monkeypatch.setattr(warnings, "catch_warnings", refuse)
    input_casting._numpy_takes_python_scalar.cache_clear()
    input_casting._numpy_refusal.cache_clear()
    filters = list(warnings.filters)
    with pytest.raises(fusenum.CastingError):
        check_input_casts((("sqrt", None, (int,), None),), [], [], "no")
    check_input_casts((("add", 1, float, F8),), [], [], "equiv")
    assert warnings.filters == filters
