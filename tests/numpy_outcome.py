"""Compare what fusenum does with what the installed NumPy does: the same values (dtype and
bits) or the same error. Tests use it where NumPy versions differ, instead of expecting one
version's behaviour."""
import warnings

import numpy as np


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
