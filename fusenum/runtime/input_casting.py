"""``casting='no'`` and ``'equiv'`` applied to the inputs of an expression's operations.

NumPy's ``casting=`` judges the conversion of each ufunc's inputs to its loop
dtypes, not just the result's conversion into ``out``. The typing step records
those conversions (:attr:`fusenum.ir.typing.Builder.casts`); this module refuses
the ones NumPy refuses, with NumPy's message, before anything runs.
"""
from __future__ import annotations

import functools

import numpy as np

from ..errors import CastingError


def check_input_casts(casts: tuple | None, values: list, names, casting: str) -> None:
    """NumPy's error where ``casting`` (``'no'``, ``'equiv'``) forbids converting an input of one of the
    expression's operations to its loop dtype (``casts``: :attr:`fusenum.ir.typing.Builder.casts`;
    None for a front end whose ``casting=`` covers the result only).

    Whether a Python scalar may be converted is asked of NumPy, whose answer differs by release
    (2.0 takes ``uint8_array + 1`` under ``'equiv'``, 2.4 refuses it and takes it under ``'no'``).
    Under ``'no'`` every byte-swapped input array is refused, as numexpr's iterator refuses it: its
    values are converted to native order to be read, whichever operation reads them."""
    if casts is None or casting not in ("no", "equiv"):
        return
    for name, position, given, loop in casts:
        if position is None:  # a call on constants, folded: ``given`` the descriptors of its operands
            refusal = _numpy_refusal(name, given, casting)
            if refusal is not None:
                raise CastingError(refusal)
        elif isinstance(given, type):
            if not _numpy_takes_python_scalar(name, position, given, loop, casting):
                raise CastingError(f"cannot cast Python {given.__name__} to {loop} under the casting rule "
                                   f"{casting!r}")
        else:
            raise CastingError(f"Cannot cast ufunc {name!r} input {position} from {given!r} to {loop!r} "
                               f"with casting rule {casting!r}")
    if casting == "no":
        for name, value in zip(names, values):
            if type(value) is np.ndarray and not value.dtype.isnative:
                raise CastingError(f"Cannot cast input {name!r} from {value.dtype!r} to "
                                   f"{value.dtype.newbyteorder('=')!r} with casting rule 'no'")


def _ufunc(name: str) -> np.ufunc | None:
    ufunc = getattr(np._core.umath, name, None)  # (NumPy 2.0's ``np.clip`` is a function around its ufunc)
    return ufunc if isinstance(ufunc, np.ufunc) else None


def _stand_in(descriptor):
    """A value of ``descriptor`` (a Python scalar type, or the dtype of a NumPy scalar or array)."""
    return descriptor(1) if isinstance(descriptor, type) else np.ones((), descriptor)


# (``np.errstate`` only: ``warnings.catch_warnings`` changes the whole process's warning state
# before Python 3.14, and would take other threads' warnings meanwhile; these calls do not warn)
@functools.lru_cache(maxsize=256)
def _numpy_refusal(name: str, descriptors: tuple, casting: str) -> str | None:
    """NumPy's casting error for its ufunc ``name`` called on values of ``descriptors`` under
    ``casting``, or None where it takes them."""
    ufunc = _ufunc(name)
    if ufunc is None:
        return None
    try:
        with np.errstate(all="ignore"):
            ufunc(*map(_stand_in, descriptors), casting=casting)
    except TypeError as error:
        return str(error)
    except Exception:
        return None  # (refused for another reason than casting: not this check's to say)
    return None


@functools.lru_cache(maxsize=256)
def _numpy_takes_python_scalar(name: str, position: int, pytype: type, loop: np.dtype, casting: str) -> bool:
    """Whether NumPy's ufunc ``name`` takes a Python ``pytype`` as input ``position`` of a loop of
    ``loop`` under ``casting``: asked with the other inputs of ``loop``. Where NumPy has no such
    all-``loop`` call to ask (a loop of mixed dtypes), the rule of NumPy 2.4: any Python scalar under
    ``'no'``, under ``'equiv'`` only one whose default dtype is the loop's."""
    ufunc = _ufunc(name)
    if ufunc is None or _numpy_refusal(name, (loop,) * ufunc.nin, casting) is not None:
        return casting == "no" or np.dtype(pytype) == loop
    descriptors = [loop] * ufunc.nin
    descriptors[position] = pytype
    return _numpy_refusal(name, tuple(descriptors), casting) is None
