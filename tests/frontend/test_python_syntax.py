"""fusenum's calls of Python's parser take turns (CPython's ``ast.parse`` is not safe to run in two
threads at once: python/cpython#106905), and refuse what Python's compiler refuses after parsing."""
import ast
import threading
import time

import numpy as np
import pytest

import fusenum
import fusenum.numexpr as ne
from fusenum.frontend.python_syntax import parse_expression


def test_parses_from_many_threads_never_overlap(monkeypatch):
    real_parse = ast.parse
    inside, overlaps = [], []

    def slow_parse(*args, **kwargs):
        inside.append(threading.get_ident())
        if len(inside) > 1:
            overlaps.append(tuple(inside))
        time.sleep(0.001)  # long enough for the other threads to try
        try:
            return real_parse(*args, **kwargs)
        finally:
            inside.remove(threading.get_ident())

    monkeypatch.setattr(ast, "parse", slow_parse)
    x = np.arange(4.0)
    results, errors = {}, []

    def work(k: int) -> None:
        try:
            for i in range(12):  # new texts: every call parses
                results[k, i, "evaluate"] = fusenum.evaluate(f"x * {k} + {i} + 0.25", {"x": x})
                results[k, i, "numexpr"] = ne.evaluate(f"x * {k} - {i} - 0.5", {"x": x})
        except Exception as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and not overlaps
    for k in range(4):
        for i in range(12):
            np.testing.assert_array_equal(results[k, i, "evaluate"], x * k + i + 0.25)
            np.testing.assert_array_equal(results[k, i, "numexpr"], x * k - i - 0.5)


@pytest.mark.parametrize("text, column", [("sum(a, axis=0, axis=1)", 16), ("f(x, k=1, j=2, k=3)", 16),
                                          ("g(h(x, axis=1, axis=2))", 16)])
def test_a_repeated_keyword_argument_is_pythons_syntax_error(text, column):
    # ast.parse accepts it; Python's compiler refuses it, and so do numexpr's compile() and fusenum.
    with pytest.raises(SyntaxError, match="^keyword argument repeated") as refused:
        compile(text, "<expr>", "eval")
    with pytest.raises(SyntaxError, match="^keyword argument repeated") as ours:
        parse_expression(text, "<expr>")
    assert (ours.value.msg, ours.value.offset) == (refused.value.msg, refused.value.offset)
    assert ours.value.offset == column
    with pytest.raises(fusenum.ExpressionError, match=f"keyword argument repeated.* at column {column - 1}"):
        fusenum.evaluate(text, {"a": np.ones((2, 3)), "x": np.ones(3)})


@pytest.mark.parametrize("text, column", [("a\0", 1), ("a + \0b", 4), ("\0", 0), ("  a\0", 3)])
def test_a_null_byte_is_a_syntax_error_on_every_python(text, column):
    # Python before 3.11.4 raised a bare ValueError for it, which escaped as no fusenum error.
    with pytest.raises(fusenum.ExpressionError, match=f"null bytes.*at column {column} in"):
        fusenum.evaluate(text, local_dict={"a": np.arange(3.0), "b": np.arange(3.0)})
    with pytest.raises(SyntaxError, match="null bytes"):
        parse_expression(text.strip())
