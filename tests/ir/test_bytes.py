"""Typing of bytes (S) operands: comparisons and contains() give bool; everything else is refused
with an error naming the operation and the dtypes, of the type NumPy raises."""
import re

import numpy as np
import pytest

import fusenum
from fusenum.errors import ExpressionError, UnsupportedDTypeError, UnsupportedOperationError
from fusenum.ir import byte_strings, nodes
from fusenum.ir.ops import FUNCTIONS, OPS
from fusenum.ir.typing import Builder

S3, S5 = np.dtype("S3"), np.dtype("S5")
ONLY = re.escape(byte_strings.WHAT_IS_COMPUTED)

a = np.array([b"abc", b"de"])
b = np.array([b"ab", b"abcde"], S5)
i = np.arange(2)
u = np.array(["x", "y"])


@pytest.mark.parametrize("op", ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "contains"])
def test_comparisons_and_contains_of_bytes_are_bool_nodes_of_the_operands_as_they_are(op):
    builder = Builder()
    x, y = builder.array("a", S3), builder.array("b", S5)
    node = builder.apply(op, x, y)
    assert node.op == op and node.dtype == np.dtype(bool) and node.args == (x, y)


def test_a_bytes_literal_is_a_constant_of_numpys_dtype_for_it():
    builder = Builder()
    node = builder.apply("equal", builder.array("a", S3), b"ab\0", python=True)
    constant = node.args[1]
    assert constant.op == "const" and constant.dtype == np.dtype("S3") and constant.value == b"ab"


def test_contains_row_is_numexprs_function_with_no_numpy_one():
    row = FUNCTIONS["contains"]
    assert row is OPS["contains"] and row.numpy is None and row.exact and row.rule_for("S") == "bytes_contains"
    assert all(OPS[name].rule_for("S", ).startswith("bytes_cmp:") for name in
               ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"])


@pytest.mark.parametrize("haystack, needle, expected", [
    (b"abc", b"bc", True), (b"abc", b"", True), (b"", b"", True), (b"", b"a", False),
    (b"a\0bc", b"bc", False),  # the haystack ends at its first NUL
    (b"abc", b"c\0x", True),  # so does the needle
    (b"\0abc", b"\0", True), (b"ab", b"abc", False),
])
def test_contains_of_constants_is_numexprs(haystack, needle, expected):
    assert byte_strings.contains_fold(haystack, needle) is np.bool_(expected)
    assert fusenum.evaluate(f"contains({haystack!r}, {needle!r})")[()] == expected
    wide = np.array([haystack])
    assert fusenum.evaluate(f"contains(wide, {needle!r})").tolist() == [expected]


def test_literal_only_comparisons_mean_what_python_means_and_functions_what_numpy_means():
    assert fusenum.evaluate(r"b'a' == b'a\x00'")[()] == (b"a" == b"a\0")  # Python: False
    assert fusenum.evaluate(r"equal(b'a', b'a\x00')")[()] == np.equal(b"a", b"a\0")  # NumPy: True
    assert fusenum.evaluate("b'a' + b'bc' == a").tolist() == [True, False]


@pytest.mark.parametrize("text, error, message", [
    # NumPy has no loop: a TypeError, as NumPy's UFuncTypeError is
    ("a + 1", UnsupportedDTypeError, rf"^add\(\) of \|S3, Python int: {ONLY}(\n|$)"),
    ("-a", UnsupportedDTypeError, rf"^negative\(\) of \|S3: {ONLY}(\n|$)"),
    ("a * 2", UnsupportedDTypeError, rf"^multiply\(\) of \|S3, Python int: {ONLY}(\n|$)"),
    ("sin(a)", UnsupportedDTypeError, rf"^sin\(\) of \|S3: {ONLY}(\n|$)"),
    ("angle(a)", UnsupportedDTypeError, rf"^angle\(\) of \|S3: {ONLY}(\n|$)"),
    ("sinc(a)", UnsupportedDTypeError, rf"^sinc\(\) of \|S3: {ONLY}(\n|$)"),
    ("a & b", UnsupportedDTypeError, rf"^bitwise_and\(\) of \|S3, \|S5: {ONLY}(\n|$)"),
    ("complex(a, a)", UnsupportedDTypeError, rf"^complex\(\) of \|S3, \|S3: {ONLY}(\n|$)"),
    ("a < i", UnsupportedDTypeError, r"^less\(\) of \|S3, int64: bytes \(S\) operands compare only with bytes(\n|$)"),
    ("a == 1", UnsupportedDTypeError, r"^equal\(\) of \|S3, Python int: bytes \(S\) operands compare only with bytes(\n|$)"),
    ("contains(a, 1)", UnsupportedDTypeError, r"^contains\(\) takes two bytes \(S\) operands, not \|S3, Python int(\n|$)"),
    ("contains(i, i)", UnsupportedDTypeError, r"^contains\(\) takes two bytes \(S\) operands, not int64, int64(\n|$)"),
    ("contains(b'a', 1)", UnsupportedDTypeError, r"^contains\(\) takes two bytes \(S\) operands, not \|S1, int64(\n|$)"),
    ("sum(a)", UnsupportedDTypeError, rf"^sum\(\) of \|S3: {ONLY}(\n|$)"),
    # NumPy computes it (bytes concatenation, copies): fusenum does not
    ("a + b", UnsupportedOperationError, rf"^fusenum does not implement add\(\) of \|S3, \|S5: {ONLY}(\n|$)"),
    ("where(i > 0, a, b)", UnsupportedOperationError,
     rf"^fusenum does not implement where\(\) of bool, \|S3, \|S5: {ONLY}(\n|$)"),
    ("real(a)", UnsupportedOperationError, rf"^fusenum does not implement real\(\) of \|S3: {ONLY}(\n|$)"),
    # a bytes result
    ("a", UnsupportedDTypeError, r"^the result has dtype \|S3, which fusenum does not support \(supported: .*; "
                                 r"bytes \(S\) in comparisons and contains\)$"),
    ("b'abc'", UnsupportedDTypeError, r"^the result b'abc' has dtype \|S3, which fusenum does not support"),
    # unicode stays unsupported
    ("a == u", UnsupportedDTypeError, r"^operand 'u' has dtype <U1, which fusenum does not support"),
    ("a == 'abc'", ExpressionError, r"^literal 'abc' is a str: fusenum computes on bytes, not unicode strings "
                                    r"\(write b'abc'\) at column 5 in \"a == 'abc'\"$"),
])
def test_other_operations_on_bytes_raise_errors_naming_the_operation_and_dtypes(text, error, message):
    with pytest.raises(error, match=message):
        fusenum.evaluate(text)


@pytest.mark.parametrize("call", [lambda: a + 1, lambda: -a, lambda: np.sin(a), lambda: a < i,
                                  lambda: np.bitwise_and(a, b), lambda: np.equal(a, 1)])
def test_numpy_raises_a_type_error_there_too(call):
    with pytest.raises(TypeError):
        call()


def test_refusing_bytes_names_the_reason_when_numpy_computes_the_operation():
    with pytest.raises(UnsupportedOperationError, match=r"^fusenum does not implement add\(\) of \|S3, \|S5"):
        byte_strings.refuse(OPS["add"], (S3, S5))
    with pytest.raises(UnsupportedDTypeError, match=r"^subtract\(\) of \|S3, \|S5"):
        byte_strings.refuse(OPS["subtract"], (S3, S5))


def test_lazy_arrays_of_bytes_stay_unsupported():
    with pytest.raises(UnsupportedDTypeError, match=r"^the array given to fusenum.lazy\(\) has dtype \|S3"):
        fusenum.lazy(a)


def test_a_bytes_constant_keeps_its_trailing_nuls_in_the_ir():
    constant = nodes.const(np.bytes_(b"ab\0"))
    assert constant.dtype == np.dtype("S3") and constant.attr == b"ab\0"
