"""Every error from evaluate(), lazy() and forcing is fusenum's (or NumPy's own), with a short message."""
import re

import numpy as np
import pytest

import fusenum
from fusenum import ExpressionError
from fusenum.errors import WINDOW, excerpt

a = np.arange(6.0).reshape(2, 3)


def raises(kind: type, message: str, text, names: dict | None = None, **kwargs) -> Exception:
    """The exception evaluate(text) raises, checked to be ``kind`` with exactly ``message``."""
    with pytest.raises(kind) as info:
        fusenum.evaluate(text, {"a": a} if names is None else names, **kwargs)
    assert str(info.value) == message
    return info.value


# ---- the text -----------------------------------------------------------------------------------

def test_lone_surrogate_is_an_expression_error():
    error = raises(ExpressionError, "the text contains the lone surrogate '\\ud800', which is not valid "
                   "Unicode at column 4 in 'a + \\ud800'", "a + \ud800")
    assert error.column == 4


@pytest.mark.parametrize("text, column, piece", [
    ("ééé + foo(a)", 6, "foo"),                  # two-byte characters before the column
    ("a + 日本(a)", 4, "日本"),                    # a three-byte name
    ("(a +\n  éé(a))", 7, "éé("),                # a later line
    ("(a +\r\n éé+ +)", 12, ")"),                # syntax error on a later line, CRLF
    ("  foo(a)", 2, "foo"),                      # leading blanks are not dropped from the count
    ("\n\n  a+b", 6, "b"),                        # unknown name after blank lines
])
def test_columns_count_characters_of_the_text_as_given(text, column, piece):
    with pytest.raises(ExpressionError) as info:
        fusenum.evaluate(text, {"a": a, "éé": a, "日本": a})
    assert info.value.column == column
    assert text[column:].startswith(piece)
    assert f"at column {column} in {text!r}" in str(info.value)


def test_double_star_argument_is_named():
    raises(ExpressionError, "'**' argument is not allowed in sum() (allowed: axis, keepdims, dtype) "
           "at column 7 in \"sum(a, **{'axis': 0})\"", "sum(a, **{'axis': 0})")
    raises(ExpressionError, "'**' argument is not allowed in sin() at column 7 in \"sin(a, **{'x': 0})\"",
           "sin(a, **{'x': 0})")


@pytest.mark.parametrize("spelled", ["'i4,(2'", "'f8,,'", "',i'"])
def test_dtype_numpy_cannot_parse_is_an_expression_error(spelled):
    text = f"sum(a, dtype={spelled})"
    raises(ExpressionError, f"the dtype of sum() must be a dtype name such as 'float64' at column 13 "
           f"in {text!r}", text)


def test_long_text_shows_a_window_around_the_column():
    text = "b" * 500_000 + " + foo(a) + " + "c" * 500_000
    column = text.index("foo")
    with pytest.raises(ExpressionError) as info:
        fusenum.evaluate(text, {})
    window = text[column - WINDOW:column + WINDOW]
    assert str(info.value) == f"unknown function 'foo' at column {column} in ...{window!r}..."
    assert info.value.text is text and info.value.column == column


def test_long_text_without_column_shows_its_start():
    text = "-" * 100_000 + "a"
    with pytest.raises(ExpressionError) as info:
        fusenum.evaluate(text)
    assert str(info.value) == f"expression nests too deeply in {text[:2 * WINDOW]!r}..."


@pytest.mark.parametrize("column, shown", [
    (0, "'01234'..."), (5, "'0123456789'..."), (12, "...'789abcdefg'..."),
    (24, "...'jklmnopqrs'..."), (36, "...'vwxyz'"), (None, "'0123456789'...")])
def test_excerpt_window(monkeypatch, column, shown):
    monkeypatch.setattr(fusenum.errors, "WINDOW", 5)
    assert excerpt("0123456789abcdefghijklmnopqrstuvwxyz", column) == shown


def test_note_from_typing_shows_a_window():
    text = "a" + "+a" * 100 + "+(10**19000)**2"
    with pytest.raises(OverflowError) as info:
        fusenum.evaluate(text)
    column = text.index("(10")
    assert str(info.value) == "integer constant <63117-bit int>**2 would have about 126232 bits (more than 65536)"
    assert info.value.__notes__ == [f"in power() at column {column} of ...{text[column - WINDOW:]!r}"]
