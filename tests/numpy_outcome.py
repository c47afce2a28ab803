"""Compare what fusenum does with what the installed NumPy does: the same values (dtype and
bits) or the same error. Tests use it where NumPy versions differ, instead of expecting one
version's behaviour."""
import re
import warnings

import numpy as np
import pytest


def outcome(function):
    """``(np.asarray(result), None)``, or ``(None, exception)`` if ``function`` raises."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return np.asarray(function()), None
        except Exception as exc:  # noqa: BLE001 -- NumPy's error is the expected answer
            return None, exc


def assert_same_outcome(numpy_function, fusenum_function, message: bool = True) -> None:
    """fusenum's result has NumPy's dtype, shape and bits, or fusenum raises NumPy's error type
    (a subclass of it) with NumPy's message (unless ``message`` is False)."""
    expected, error = outcome(numpy_function)
    got, got_error = outcome(fusenum_function)
    if error is not None:
        assert got_error is not None, f"NumPy raised {error!r}, fusenum returned {got!r}"
        assert isinstance(got_error, type(error)), f"NumPy raised {error!r}, fusenum {got_error!r}"
        if message:
            assert str(error) in str(got_error), f"NumPy said {error}, fusenum {got_error}"
        return
    assert got_error is None, f"NumPy returned {expected!r}, fusenum raised {got_error!r}"
    assert got.dtype == expected.dtype and got.shape == expected.shape, (got, expected)
    assert got.tobytes() == expected.tobytes(), (got, expected)


def assert_same_warnings_and_outcome(numpy_function, fusenum_function) -> None:
    """Both warn alike (category and message) and have the same outcome, as above."""
    def recorded(function):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = np.asarray(function()), None
            except Exception as exc:  # noqa: BLE001 -- NumPy's error is the expected answer
                result = None, exc
        return result, [(w.category, str(w.message)) for w in caught]

    (expected, error), expected_warnings = recorded(numpy_function)
    (got, got_error), got_warnings = recorded(fusenum_function)
    assert got_warnings == expected_warnings
    if error is not None:
        with pytest.raises(type(error), match=f"^{re.escape(str(error))}$"):
            raise got_error if got_error is not None else AssertionError(f"no error; returned {got!r}")
        return
    assert got_error is None, got_error
    assert got.dtype == expected.dtype and got.shape == expected.shape and got.tobytes() == expected.tobytes()
