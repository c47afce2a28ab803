"""The string front end: what parses, and a clear ExpressionError for everything else."""
import re

import numpy as np
import pytest

import fusenum
from fusenum import ExpressionError
from fusenum.frontend.parser import parse
from fusenum.ir.ops import FUNCTIONS, OPS

from ..strategies import assert_same
from ..ulp import ulp_distance

a = np.arange(5.0)
b = np.arange(5.0) + 1


@pytest.mark.parametrize("text, message", [
    ("a.real", "attribute access is not allowed in an expression at column 0"),
    ("a[0]", "subscript is not allowed in an expression at column 0"),
    ("(lambda: a)()", "only calls of functions by name are allowed at column 0"),
    ("lambda x: x", "lambda is not allowed in an expression at column 0"),
    ("where(a > 1, a, b, out=a)", "keyword argument 'out' is not allowed in where() at column 19"),
    ("foo(a)", "unknown function 'foo' at column 0"),
    ("a + bar(b)", "unknown function 'bar' at column 4"),
    ("a and b", "'and'/'or' (use '&'/'|') is not allowed in an expression at column 0"),
    ("not a", "'not' is not allowed in an expression (use '~') at column 0"),
    ("a if b else a", "conditional expression (use where()) is not allowed in an expression at column 0"),
    ("a < b < 3", "chained comparisons are not allowed (combine them with '&') at column 0"),
    ("a is b", "comparison Is is not allowed at column 0"),
    ("a in b", "comparison In is not allowed at column 0"),
    ("a @ b", "operator MatMult is not allowed at column 0"),
    ("'text' + a", "literal 'text' is a str: fusenum computes on bytes, not unicode strings (write b'text') at column 0"),
    ("None", "literal None is not a number or bytes at column 0"),
    ("[a, b]", "list display is not allowed in an expression at column 0"),
    ("(a, b)", "tuple is not allowed in an expression at column 0"),
    ("{a: b}", "dict display is not allowed in an expression at column 0"),
    ("[x for x in a]", "comprehension is not allowed in an expression at column 0"),
    ("f'{a}'", "f-string is not allowed in an expression at column 0"),
    ("(b := a)", "assignment is not allowed in an expression at column 1"),
    ("where(a)", "where() takes 3 arguments, got 1 at column 0"),
    ("abs(a, b)", "abs() takes 1 argument, got 2 at column 0"),
    ("__import__('os')", "unknown function '__import__' at column 0"),
    ("a +", "invalid syntax at column 3"),
    ("a = 1", "invalid syntax at column 2"),
    ("(a", "invalid syntax ('(' was never closed) at column 0"),
])
def test_rejected_text_names_the_piece_and_column(text, message):
    with pytest.raises(ExpressionError) as info:
        fusenum.evaluate(text)
    assert str(info.value) == f"{message} in {text!r}"
    assert isinstance(info.value, ValueError)


def test_unknown_name_names_it_and_its_column():
    with pytest.raises(ExpressionError, match=re.escape("unknown name 'missing' at column 4 in 'a + missing'")):
        fusenum.evaluate("a + missing")


def test_deep_nesting_is_an_expression_error_not_a_crash():
    with pytest.raises(ExpressionError, match="nests too deeply"):
        fusenum.evaluate("-" * 100_000 + "a")


def test_expression_must_be_a_string():
    with pytest.raises(fusenum.ArgumentTypeError,
                       match="^the expression must be a str or a fusenum.LazyArray, not int$"):
        fusenum.evaluate(42)


def test_names_are_listed_in_order_of_first_use():
    parsed = parse("b * a + where(c > b, a, 2)")
    assert parsed.names == ("b", "a", "c")
    assert parsed.columns == (0, 4, 14)


def test_literals_of_every_python_number_kind_parse():
    assert parse("1 + 2.5 + True").names == ()
    result = fusenum.evaluate("a + 1j")
    assert result.dtype == np.complex128
    np.testing.assert_array_equal(result, a + 1j)


def test_surrounding_whitespace_is_ignored():
    np.testing.assert_array_equal(fusenum.evaluate("  a + b\n"), a + b)


def test_numpy_typing_errors_keep_numpys_type_and_say_where():
    flags = np.array([True, False])
    with pytest.raises(TypeError, match="boolean negative") as info:
        fusenum.evaluate("-flags")
    assert any("column 0" in note for note in info.value.__notes__)


def test_no_eval_or_exec_in_the_package():
    import pathlib
    import re
    source = pathlib.Path(fusenum.__file__).parent
    offenders = [str(p) for p in source.rglob("*.py")
                 if re.search(r"(^|[^._a-zA-Z])(eval|exec)\(", p.read_text())]
    assert offenders == []


def _arguments(op) -> list[np.ndarray]:
    """Operands of a dtype kind the row computes (float where it can), small enough for shifts."""
    kind = next((k for k in "fiub" if op.rule_for(k)), "f")
    values = {"f": np.linspace(-2.5, 3.0, 12), "i": np.arange(-4, 8), "u": np.arange(12),
              "b": np.arange(12) % 3 == 0}[kind]
    return [np.roll(values, shift).astype(values.dtype) % (6 if kind in "iu" else 1e9) for shift in range(op.arity)]


@pytest.mark.parametrize("op", [op for op in OPS.values() if op.numpy is not None], ids=lambda op: op.name)
def test_every_row_is_callable_by_its_numpy_names_in_strings_and_lazily(op):
    """Strings accept every name NumPy gives the row's function; the lazy front end captures the
    function itself; both compute NumPy's answer (exactly, or within the row's ULP bound)."""
    arguments = _arguments(op)
    names = "xyz"[:op.arity]
    with np.errstate(all="ignore"):
        expected = np.asarray(op.numpy(*arguments))
        lazily = op.numpy(*map(fusenum.lazy, arguments))
        assert type(lazily) is fusenum.LazyArray, op.name
        for spelling in op.spellings:
            got = fusenum.evaluate(f"{spelling}({', '.join(names)})", local_dict=dict(zip(names, arguments)))
            if op.exact or expected.dtype.kind != "f":
                assert_same(expected, got)
            else:
                assert got.dtype == expected.dtype
                assert ulp_distance(expected, got).max() <= op.ulp, spelling
            assert_same(got, np.asarray(lazily))


@pytest.mark.parametrize("dtype", ["?", "i1", "u8", "i8", "f2", "f4", "f8", "c8", "c16"])
@pytest.mark.parametrize("tier", ["never", "always"])
def test_round_is_numpys_round_of_every_dtype(dtype, tier):
    """``np.round`` is ``np.rint`` of floats and complex (bools as float16), but an integer array
    unchanged; ``rint`` of an int8 array is float16."""
    x = np.array([1.5, 2.5, -0.5, -3.0, 0.0, 7.0]).astype(dtype) if dtype[0] in "fc" else \
        np.array([1, 0, 3, 2, 0, 1]).astype(dtype)
    previous = fusenum.set_tiering(tier)
    try:
        for text, numpy_code in [("round(x)", lambda: np.round(x)), ("round(x) * 2", lambda: np.round(x) * 2),
                                 ("rint(x)", lambda: np.rint(x))]:
            assert_same(numpy_code(), fusenum.evaluate(text, local_dict={"x": x}))
    finally:
        fusenum.set_tiering(previous)


def test_spellings_come_from_numpy():
    assert {"negative", "positive", "add", "subtract", "multiply", "true_divide", "divide", "floor_divide",
            "equal", "less", "bitwise_and", "invert", "left_shift", "sinc", "heaviside"} <= set(FUNCTIONS)
    assert FUNCTIONS["divide"] is FUNCTIONS["true_divide"] is OPS["true_divide"]
    assert FUNCTIONS["bitwise_not"] is OPS["invert"] and FUNCTIONS["pow"] is OPS["power"]


@pytest.mark.parametrize("text, expected", [
    ("sum(x, axis=0, keepdims=1)", lambda x: np.sum(x, axis=0, keepdims=1)),
    ("max(x, axis=1, keepdims=-2)", lambda x: np.max(x, axis=1, keepdims=-2)),
    ("mean(x, axis=1, keepdims=0)", lambda x: np.mean(x, axis=1, keepdims=0)),
    ("sum(x, dtype=None)", lambda x: np.sum(x, dtype=None)),
    ("mean(x, axis=0, dtype=None)", lambda x: np.mean(x, axis=0, dtype=None)),
    ("sum(x, axis=--1)", lambda x: np.sum(x, axis=--1)),
    ("prod(x, axis=(-+-1, 0))", lambda x: np.prod(x, axis=(-+-1, 0))),
])
def test_reduction_arguments_numpy_takes_parse(text, expected):
    """An integer keepdims (NumPy takes its truth), dtype=None (no dtype) and an axis under several signs."""
    x = np.arange(6, dtype=np.int8).reshape(2, 3)
    assert_same(np.asarray(expected(x)), fusenum.evaluate(text, {"x": x}))


@pytest.mark.parametrize("keyword, value", [("keepdims", 2 ** 31), ("keepdims", -2 ** 31 - 1),
                                            ("keepdims", 10 ** 30), ("axis", 2 ** 63), ("axis", -2 ** 63 - 1),
                                            ("axis", (0, 10 ** 20))])
def test_a_reduction_argument_numpy_cannot_read_as_a_c_integer_is_its_overflow_error(keyword, value):
    """NumPy reads ``keepdims`` as a C int and an axis as a C long: beyond them, ``OverflowError``."""
    x = np.ones((2, 3))
    with pytest.raises(OverflowError):
        np.sum(x, **{keyword: value})
    message = rf"{keyword}.* does not fit in a (32|64)-bit C integer at column \d+ in 'sum"
    with pytest.raises(fusenum.ConstantOverflowError, match=message):
        fusenum.evaluate(f"sum(x, {keyword}={value!r})")
    # within them, what NumPy does: an axis out of bounds is its AxisError, keepdims its truth
    assert_same(np.asarray(np.sum(x, keepdims=2 ** 31 - 1)), fusenum.evaluate("sum(x, keepdims=2147483647)"))
    with pytest.raises(np.exceptions.AxisError):
        fusenum.evaluate("sum(x, axis=2147483648)")


class _Deceiving(str):
    """A str whose own methods and identity lie about its characters."""

    def strip(self, *chars):
        return "a*b"

    def __eq__(self, other):
        return True

    def __hash__(self):
        return 1


def test_a_str_subclass_is_read_by_its_characters():
    import fusenum.numexpr as ne

    a, b = np.arange(4.0), np.ones(4)
    for evaluate in (fusenum.evaluate, ne.evaluate):
        assert evaluate(_Deceiving("a+b"), {"a": a, "b": b}).tolist() == [1.0, 2.0, 3.0, 4.0]
        assert evaluate(_Deceiving("a-b"), {"a": a, "b": b}).tolist() == [-1.0, 0.0, 1.0, 2.0]
    assert "a - b" in fusenum.explain(_Deceiving("a - b"), {"a": a, "b": b})
