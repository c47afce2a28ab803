"""Reduction typing asks NumPy for the result dtype as an array, so ``dtype=object`` is seen for what it is."""
import re
import warnings
from functools import partial

import numpy as np
import pytest

import fusenum
from fusenum import lazy
from fusenum.ir import reductions

TAKES_DTYPE = [name for name, row in reductions.REDUCTIONS.items() if row.takes_dtype]
ARGUMENT_DTYPES = ["bool", "int8", "int64", "uint32", "float16", "float32", "float64", "complex128"]
REQUESTED = [None, "int8", "uint64", "float16", "float64", "complex64", "object"]


@pytest.mark.parametrize("requested", REQUESTED)
@pytest.mark.parametrize("dtype", ARGUMENT_DTYPES)
@pytest.mark.parametrize("name", TAKES_DTYPE)
def test_result_dtype_is_numpys(name, dtype, requested):
    kwargs = {} if requested is None else {"dtype": requested}
    x = np.ones(3, dtype)
    try:
        with np.errstate(all="ignore"):
            expected = reductions.REDUCTIONS[name].numpy(x, axis=0, keepdims=True, **kwargs).dtype
    except TypeError:
        pytest.skip("NumPy refuses it")
    _, result = reductions.dtypes(name, np.dtype(dtype), None if requested is None else np.dtype(requested))
    assert result == expected


@pytest.mark.parametrize("name", TAKES_DTYPE)
def test_object_reductions_are_refused_by_evaluate_and_computed_by_numpy_for_lazy(name):
    b = np.arange(1, 30)
    with pytest.raises(fusenum.UnsupportedDTypeError,
                       match=rf"^{name}\(\) of int64 has dtype object, which fusenum does not support"):
        fusenum.evaluate(f"{name}(b, dtype='O')")
    expected = getattr(np, name)(b, dtype=object)
    got = getattr(np, name)(lazy(b), dtype=object)
    assert type(got) is type(expected) and got == expected
    floats = b.astype(float)
    # The nan* reductions have no ndarray method: their NumPy function, which np.nanmean refuses.
    if hasattr(np.ndarray, name):
        numpy_call, lazy_call = getattr(floats, name), getattr(lazy(floats), name)
    else:
        numpy_call, lazy_call = partial(getattr(np, name), floats), partial(getattr(np, name), lazy(floats))
    try:
        expected = numpy_call(dtype=object)
    except TypeError as refused:
        with pytest.raises(TypeError, match=f"^{re.escape(str(refused))}$"):
            lazy_call(dtype=object)
        return
    got = lazy_call(dtype=object)
    assert type(got) is type(expected) and got == expected


@pytest.mark.parametrize("requested, warns", [("float64", True), ("int8", True), ("bool", False),
                                              ("complex64", False), (None, False)])
def test_typing_warns_nothing_and_records_the_warning_numpy_gives_at_each_call(requested, warns):
    from fusenum.ir.typing import Builder

    builder = Builder()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (typing that warned would raise here)
        builder.reduce("sum", builder.array(0, np.dtype("complex128")), dtype=requested)
        reductions.dtypes("mean", np.dtype("complex64"), None if requested is None else np.dtype(requested))
    expected = [(reductions.DISCARDED_IMAGINARY, np.exceptions.ComplexWarning)] if warns else []
    assert builder.call_warnings == expected
