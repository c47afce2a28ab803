"""Fuzzing evaluate(), lazy() and forcing with hostile text and values: every exception is fusenum's
or one of the few errors NumPy (or Python's own arithmetic) raises for the same code.

The allowed foreign errors, and why each is NumPy's or Python's answer rather than fusenum's:

* exceptions defined by NumPy (``numpy.exceptions.AxisError``, NumPy's ufunc loop and casting
  errors): NumPy raises them for the same operation;
* ``TypeError`` with NumPy's message for a ufunc without a loop for the operands' dtypes
  (``~a`` on floats), or NumPy's refusal of ``-`` and ``**`` on booleans (``-a``), or of an
  integer ``dtype=`` for ``nanmean``/``nanvar``/``nanstd`` of floats (``np.nanmean``'s own check);
* ``ValueError`` with NumPy's own message for operands that do not broadcast, a reduction of an empty
  array without identity, a duplicate axis, or a ragged list given as a value;
* ``OverflowError`` for a Python int no operand dtype can hold (NumPy's conversion of the int);
* ``ZeroDivisionError`` and ``TypeError: unsupported operand type(s)`` for arithmetic on Python
  numbers alone (``1 // 0``, ``1j << 1j``), as Python computes it;
* ``TypeError: loop of ufunc does not support argument 0 of type int which has no callable log2
  method``: NumPy's error for a function of a Python int no dtype holds (``log2(2**64)``), and
  ``AttributeError: 'float' object has no attribute 'dtype'``, ``np.sinc``'s for such an int.

Messages are short whatever the text's length.
"""
import re
import warnings

import numpy as np
import numpy.ma
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fusenum

FOREIGN = [
    (TypeError, r"^ufunc '\w+' not supported for the input types, and the inputs could not be safely"),
    # (NumPy's message for subtract has no "The")
    (TypeError, r"^(The )?numpy boolean (negative|subtract), the `-` operator, is not supported"),
    (TypeError, r"^If a is inexact, then dtype must be inexact$"),
    (AttributeError, r"^'float' object has no attribute 'dtype'$"),  # np.sinc(2**64)
    (ValueError, r"operands could not be broadcast together"),
    (ValueError, r"zero-size array to reduction operation"),
    (ValueError, r"duplicate value in 'axis'"),
    (ValueError, r"^Integers to negative integer powers are not allowed\.$"),  # NumPy's own, raised by the kernel
    (ValueError, r"setting an array element with a sequence"),
    (OverflowError, r"Python integer .* out of bounds|Python int too large|int too big to convert"),
    (ZeroDivisionError, r""),
    (TypeError, r"^unsupported operand type\(s\) for "),
    (TypeError, r"^loop of ufunc does not support argument \d+ of type \w+ which has no callable \w+ method"),
]

#: Longest message accepted: the windowed text (2 * 40 characters, escaped) plus the explanation.
MAX_MESSAGE = 1200

TOKENS = ["a", "b", "c", "x", "s", "+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "~",
          "<", "==", ">=", "(", ")", ",", "sum(", "prod(", "mean(", "min(", "max(", "any(", "where(",
          "sin(", "abs(", "sqrt(", "arctan2(", "axis=", "keepdims=", "dtype=", "0", "1", "-1", "2.5",
          "1j", "True", "None", "10**19000", "2**64", "1e400", "'f8'", "'f8,i4'", "'i4,(2'", "'O'",
          "**{}", "é", "\ud800", "\x00", "\n", " ", "[", "]", ".", "lambda", "not", "and", "if",
          "__import__", "10**10**10", "1<<100000"]

FUNCTIONS = sorted(fusenum.ir.ops.FUNCTIONS) + sorted(fusenum.ir.reductions.BY_NAME)
LEAVES = ["a", "b", "c", "x", "s", "0", "1", "-1", "2.5", "1j", "True", "2**64", "1e400", "255", "-129"]
well_formed = st.recursive(
    st.sampled_from(LEAVES),
    lambda inner: st.one_of(
        st.builds("({}{}{})".format, inner, st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "<<", "&",
                                                              "<", "=="]), inner),
        st.builds("{}({})".format, st.sampled_from(FUNCTIONS), inner),
        st.builds("{}({}, {})".format, st.sampled_from(FUNCTIONS), inner, inner),
        st.builds("{}({}, {})".format, st.sampled_from(FUNCTIONS), inner, st.sampled_from(
            ["axis=0", "axis=(0, 1)", "axis=-3", "keepdims=True", "dtype='int8'", "dtype='O'", "2"])),
        st.builds("where({}, {}, {})".format, inner, inner, inner)),
    max_leaves=8)

texts = st.one_of(
    well_formed,
    st.lists(st.sampled_from(TOKENS), max_size=12).map("".join),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec=None), max_size=20),
    st.builds(lambda k, op: "(" * k + "a" + f"){op}a" * k, st.integers(0, 400), st.sampled_from(["+", "*"])),
    st.builds(lambda k: "-" * k + "a", st.integers(0, 3000)),
    st.builds(lambda n, t: "b" * n + t, st.integers(0, 100_000), st.sampled_from([" + foo(a)", " +", "+a)"])),
)

strings = np.array(["x", "yz"], dtype=np.dtypes.StringDType())
VALUES = [np.arange(6.0).reshape(2, 3), np.arange(3, dtype=np.int8), np.array(3.0), np.array([], float),
          np.array([True, False]), np.arange(4).astype(">i4"), 1, 2.5, 1j, True, 2**70, -2**64,
          [1, 2, 3], [[1, 2], [3]], {"a": 1}, object(), None, "text", b"x", strings,
          np.array(["2020-01-01"], "M8[D]"), np.array([1], "m8[s]"), np.array([1], object),
          np.ma.masked_array([1.0, 2.0], mask=[0, 1]), np.zeros(2, "f8,i4"), np.zeros(1, "V8"),
          np.float16(1.5), np.complex64(1j), np.uint64(2**63), np.matrix([[1.0, 2.0]])]
values = st.sampled_from(VALUES)
OPTIONS = st.fixed_dictionaries({}, optional={
    "casting": st.sampled_from(["no", "unsafe", "bogus", 1]), "order": st.sampled_from(["C", "F", "x", None]),
    "out": st.sampled_from([np.empty((2, 3)), np.empty(3, np.int8), [1.0], np.empty(())])})


def check(error: BaseException, numpys: BaseException | None = None) -> None:
    """``error`` is fusenum's, NumPy's error ``numpys`` for the same code, or an allowed foreign error;
    and its message is short."""
    message = str(error)
    assert len(message) <= MAX_MESSAGE, f"{type(error).__name__} message of {len(message)} characters"
    if isinstance(error, fusenum.FusenumError) or type(error).__module__.startswith("numpy"):
        return
    if numpys is not None and type(error) is type(numpys) and message == str(numpys):
        return
    for kind, pattern in FOREIGN:
        if isinstance(error, kind) and re.search(pattern, message):
            return
    raise AssertionError(f"foreign error {type(error).__module__}.{type(error).__name__}: "
                         f"{message[:300]}") from error


def error_of(run) -> Exception | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run()
    except Exception as error:  # noqa: BLE001  (the point is to look at every error)
        return error
    return None


def attempt(run, numpy_run=None) -> None:
    error = error_of(run)
    if error is not None:
        check(error, None if numpy_run is None else error_of(numpy_run))


@given(text=texts, names=st.dictionaries(st.sampled_from(["a", "b", "c", "x", "s"]), values), options=OPTIONS)
def test_evaluate_raises_only_fusenum_or_numpy_errors(text, names, options):
    attempt(lambda: fusenum.evaluate(text, names, {}, **options))


UNARY = [np.sin, np.negative, np.abs, np.sqrt, np.invert, np.logical_not, np.sum, np.mean, np.max]
BINARY = [np.add, np.multiply, np.true_divide, np.floor_divide, np.power, np.less, np.bitwise_and,
          np.maximum, np.arctan2, np.left_shift]


@given(first=values, second=values, unary=st.sampled_from(UNARY), binary=st.sampled_from(BINARY),
       options=OPTIONS)
def test_lazy_raises_only_fusenum_or_numpy_errors(first, second, unary, binary, options):
    def run():
        x = fusenum.lazy(first)
        result = unary(binary(x, second))
        if isinstance(result, fusenum.LazyArray):
            fusenum.evaluate(result, **options)
            result.compute()

    def numpy_run():
        unary(binary(np.asarray(first) if isinstance(first, np.ndarray) else first, second))
    attempt(run, numpy_run)


@pytest.mark.parametrize("error", [ValueError("x" * 10_000), TypeError("not fusenum's")])
def test_check_rejects_long_messages_and_foreign_errors(error):
    with pytest.raises(AssertionError):
        check(error)
