"""Every error from evaluate(), lazy() and forcing is fusenum's (or NumPy's own), with a short message."""
import dataclasses
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
    with pytest.raises(fusenum.ConstantOverflowError) as info:
        fusenum.evaluate(text)
    column = text.index("(10")
    assert str(info.value) == ("integer constant <63117-bit int>**2 would have about 126232 bits "
                               "(more than 65536)")
    assert info.value.__notes__ == [f"in power() at column {column} of ...{text[column - WINDOW:]!r}"]


# ---- the arguments ------------------------------------------------------------------------------

@pytest.mark.parametrize("ex", [bytearray(b"a + 1"), ["a"], b"a + 1", 3])
def test_expression_of_another_type(ex):
    raises(fusenum.ArgumentTypeError, f"the expression must be a str or a fusenum.LazyArray, "
           f"not {type(ex).__name__}", ex)


def test_parse_of_another_type():
    with pytest.raises(fusenum.ArgumentTypeError, match="^expression must be a str, not bytes$"):
        fusenum.frontend.parser.parse(b"a")


@pytest.mark.parametrize("which", ["local_dict", "global_dict"])
def test_names_not_a_mapping(which):
    with pytest.raises(fusenum.ArgumentTypeError) as info:
        fusenum.evaluate("a + 1", **{which: [("a", a)]})
    assert str(info.value) == f"{which} must be a dict (or another mapping) of names to values, not list"


def test_names_in_any_mapping():
    from types import MappingProxyType
    np.testing.assert_array_equal(fusenum.evaluate("a + 1", MappingProxyType({"a": a})), a + 1)


def test_names_from_a_mappings_own_missing():
    """A defaultdict (or any mapping with ``__missing__``) supplies names it does not hold, as
    numexpr's indexing lets it; the global dict is consulted only when the local one has no answer."""
    from collections import defaultdict
    ones = defaultdict(lambda: a)
    np.testing.assert_array_equal(fusenum.evaluate("x + 1", local_dict=ones), a + 1)
    assert "x" in ones
    np.testing.assert_array_equal(fusenum.evaluate("y * 2", local_dict={}, global_dict=defaultdict(lambda: 3)), 6)
    with pytest.raises(ExpressionError, match="unknown name 'z'"):
        fusenum.evaluate("z + 1", local_dict=defaultdict(), global_dict={})  # no default factory


CASTING = "casting must be one of 'no', 'equiv', 'safe', 'same_kind', 'unsafe', not 'bogus'"
ORDER = "order must be one of 'K', 'A', 'C', 'F', not 'bogus'"


@pytest.mark.parametrize("text", ["a + 1", "sum(a)", "a - mean(a, axis=0)"])
@pytest.mark.parametrize("with_out", [False, True])
@pytest.mark.parametrize("option, message", [({"casting": "bogus"}, CASTING), ({"order": "bogus"}, ORDER)])
def test_bad_casting_or_order(text, with_out, option, message):
    out = np.empty(np.broadcast_shapes(np.shape(eval(text, {"sum": np.sum, "mean": np.mean, "a": a}))))
    extra = {"out": out} if with_out else {}
    raises(fusenum.InvalidArgumentError, message, text, **option, **extra)
    with pytest.raises(fusenum.InvalidArgumentError, match=re.escape(message)):
        fusenum.evaluate(fusenum.lazy(a) + 1, **option, **extra)


@pytest.mark.parametrize("text", ["a + 1", "sum(a)", "a - mean(a, axis=0)"])
@pytest.mark.parametrize("option, message", [({"casting": None}, "casting must be a str or bytes, not NoneType"),
                                             ({"order": 5}, "order must be a str or bytes, not int")])
def test_casting_or_order_of_another_type_is_a_type_error_as_numpys(text, option, message):
    with pytest.raises(TypeError):
        np.add(a, 1, **option)
    raises(fusenum.ArgumentTypeError, message, text, **option)
    for call in (lambda: fusenum.evaluate(fusenum.lazy(a) + 1, **option), lambda: fusenum.explain(text, **option)):
        with pytest.raises(fusenum.ArgumentTypeError, match=re.escape(message)):
            call()


@pytest.mark.parametrize("text", ["a + 1", "sum(a)", "a - mean(a, axis=0)"])
def test_order_none_is_k_as_numpys_ufuncs_take_it(text):
    f_ordered = np.asfortranarray(a)
    expected = fusenum.evaluate(text, {"a": f_ordered})
    got = fusenum.evaluate(text, {"a": f_ordered}, order=None)
    assert got.tobytes("A") == expected.tobytes("A") and got.strides == expected.strides
    assert str(fusenum.explain(text, {"a": f_ordered}, order=None)) == str(fusenum.explain(text, {"a": f_ordered}))
    lazy_result = np.asarray(fusenum.evaluate(fusenum.lazy(f_ordered) * 2, order=None))
    assert lazy_result.strides == (f_ordered * 2).strides


@pytest.mark.parametrize("order", ["k", "a", "c", "f"])
def test_a_lower_case_order_is_its_capital_as_numpys_ufuncs_take_it(order):
    f_ordered = np.asfortranarray(a)
    expected = np.add(f_ordered, 1, order=order)
    assert expected.strides == np.add(f_ordered, 1, order=order.upper()).strides
    got = fusenum.evaluate("a + 1", {"a": f_ordered}, order=order)
    assert got.strides == expected.strides and np.array_equal(got, expected)
    assert str(fusenum.explain("a + 1", {"a": f_ordered}, order=order)) == \
        str(fusenum.explain("a + 1", {"a": f_ordered}, order=order.upper()))
    lazy_result = np.asarray(fusenum.evaluate(fusenum.lazy(f_ordered) + 1, order=order))
    assert lazy_result.strides == expected.strides
    raises(fusenum.InvalidArgumentError, "order must be one of 'K', 'A', 'C', 'F', not 'x'", "a + 1", order="x")


class _Tagged(np.ndarray):
    """A subclass that only adds an attribute."""


def test_an_out_numpys_ufuncs_write_as_a_plain_array_is_written_and_returned(tmp_path):
    def in_a_function():
        b = np.arange(6.0).reshape(2, 3)  # (a local: names still come from the caller's frame)
        mapped = np.memmap(tmp_path / "out.bin", dtype=np.float64, mode="w+", shape=(2, 3))
        assert fusenum.evaluate("b * 2 + 1", out=mapped) is mapped
        np.testing.assert_array_equal(np.asarray(mapped), b * 2 + 1)
        assert fusenum.evaluate(fusenum.lazy(b) - 1, out=mapped) is mapped
        np.testing.assert_array_equal(np.asarray(mapped), b - 1)
        total = np.memmap(tmp_path / "sum.bin", dtype=np.float64, mode="w+", shape=())
        assert fusenum.evaluate("sum(b)", out=total) is total and total[()] == b.sum()
        assert "a + 1" not in str(fusenum.explain("b * 2 + 1", out=mapped))  # explain takes what evaluate takes
        assert str(fusenum.explain(fusenum.lazy(b) - 1, out=mapped))
    in_a_function()
    for out in (np.matrix(np.zeros((2, 3))), np.zeros((2, 3)).view(_Tagged)):
        expected = np.add(a, 1, out=np.zeros((2, 3)).view(type(out)))
        assert fusenum.evaluate("a + 1", {"a": a}, out=out) is out
        assert type(out) is type(expected) and np.array_equal(np.asarray(out), np.asarray(expected))
    masked = np.ma.masked_array(np.zeros((2, 3)))
    raises(fusenum.ArgumentTypeError, "out must be a numpy.ndarray, not MaskedArray (a subclass whose ufunc "
           "results NumPy makes its own way; np.memmap, np.matrix and subclasses without ufunc overrides "
           "are taken)", "a + 1", out=masked)


def test_out_checks_are_fusenum_errors():
    raises(fusenum.ArgumentTypeError, "out must be a numpy.ndarray, not list", "a + 1", out=[0.0] * 6)
    frozen = np.empty_like(a)
    frozen.flags.writeable = False
    raises(fusenum.InvalidArgumentError, "output array is read-only", "a + 1", out=frozen)
    raises(fusenum.InvalidArgumentError, "out has shape (3,), but the expression's result has shape (2, 3)",
           "a + 1", out=np.empty(3))


# ---- the values ---------------------------------------------------------------------------------

SUPPORTED_LIST = ("(supported: bool, int8-int64, uint8-uint64, float16-float64, complex64, complex128; "
                  "bytes (S) in comparisons and contains)")


def test_string_dtype_operand():
    strings = np.array(["x", "yz"], dtype=np.dtypes.StringDType())
    raises(fusenum.UnsupportedDTypeError, f"operand 'a' has dtype StringDType(), which fusenum does not "
           f"support {SUPPORTED_LIST}", "a + 1", {"a": strings})
    with pytest.raises(fusenum.UnsupportedDTypeError) as info:
        fusenum.lazy(strings)
    assert str(info.value) == (f"the array given to fusenum.lazy() has dtype StringDType(), which fusenum "
                               f"does not support {SUPPORTED_LIST}")


def test_string_dtype_with_a_lazy_array_is_numpys_error():
    strings = np.array(["x", "yz"], dtype=np.dtypes.StringDType())
    with pytest.raises(TypeError) as numpys:
        np.equal(np.arange(2.0), strings)
    with pytest.raises(type(numpys.value)) as ours:
        np.equal(fusenum.lazy(np.arange(2.0)), strings)
    assert str(ours.value) == str(numpys.value)


# ---- lazy arrays: weak references, pickling, copying -----------------------------------------------

def test_weak_reference_to_a_lazy_array():
    import gc
    import weakref
    r = fusenum.lazy(a) * 2
    ref = weakref.ref(r)
    assert ref() is r
    del r
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy"])
def test_pickling_and_copying_keep_the_expression_unforced(how):
    import copy
    import pickle
    r = fusenum.lazy(a) * 2 + 1
    twin = {"pickle": lambda x: pickle.loads(pickle.dumps(x)), "copy": copy.copy,
            "deepcopy": copy.deepcopy}[how](r)
    assert not r.is_forced and not twin.is_forced
    assert type(twin) is fusenum.LazyArray and twin is not r
    assert (twin.dtype, twin.shape) == (r.dtype, r.shape)
    np.testing.assert_array_equal(twin.compute(), a * 2 + 1)
    assert not np.shares_memory(twin.compute(), r.compute())


@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy"])
def test_pickling_and_copying_a_forced_lazy_array_keep_the_value(how):
    import copy
    import pickle
    r = fusenum.lazy(a) * 2 + 1
    r.compute()
    twin = {"pickle": lambda x: pickle.loads(pickle.dumps(x)), "copy": copy.copy,
            "deepcopy": copy.deepcopy}[how](r)
    assert twin.is_forced
    np.testing.assert_array_equal(twin.compute(), a * 2 + 1)
    assert not np.shares_memory(twin.compute(), r.compute())  # copy.copy too, as an ndarray's


@pytest.mark.parametrize("subclass", [np.matrix([[1.0, 2.0]]), np.ma.masked_array([1.0, 2.0], mask=[0, 1])])
def test_lazy_of_an_ndarray_subclass(subclass):
    kind = type(subclass)
    with pytest.raises(fusenum.ArgumentTypeError) as info:
        fusenum.lazy(subclass)
    assert str(info.value) == (f"fusenum.lazy() wraps plain ndarrays, not {kind.__module__}.{kind.__name__}, "
                               f"whose operations have their own meaning; pass np.asarray(x) to drop it")


def test_huge_integer_constant():
    raises(fusenum.ConstantOverflowError, "integer constant 10**10000000000 would have about 30000000000 "
           "bits "
           "(more than 65536)", "10**10**10", {})


@pytest.mark.parametrize("text, shown", [("1 << 10**100", "1<<<333-bit int> would have over 2**332 bits"),
                                         ("2**10**100", "2**<333-bit int> would have over 2**332 bits")])
def test_huge_integer_constant_counts_its_bits_briefly(text, shown):
    """A bit count too long to print (10**100) is abbreviated, as the ints themselves are."""
    raises(fusenum.ConstantOverflowError, f"integer constant {shown} (more than 65536)", text, {})


@pytest.mark.parametrize("text, shown", [("0<<-1", "0 << -1"), ("(1 >> -2) + 3", "1 >> -2"),
                                         ("True << -1", "1 << -1")])  # (a bool is a Python int)
def test_negative_shift_count_of_two_python_ints(text, shown):
    """Python refuses a negative shift count; fusenum says so as an ExpressionError (a ValueError)."""
    raises(fusenum.ExpressionError, f"negative shift count: {shown} (two Python ints shift as in Python, "
           "which refuses a negative count)", text, {})


def test_negative_shift_count_of_a_bound_python_bool():
    """A CI fuzz draw: ``x << -1`` with ``x = True`` raised Python's bare ValueError."""
    raises(fusenum.ExpressionError, "negative shift count: 1 << -1 (two Python ints shift as in Python, "
           "which refuses a negative count)", "(x<<-1)", {"x": True})


@pytest.mark.parametrize("subclass", [np.matrix([[1.0, 2.0]]), np.ma.masked_array([1.0, 2.0], mask=[0, 1])])
def test_evaluate_of_an_ndarray_subclass(subclass):
    # Computed as its plain data, a masked array lost its mask and a matrix's ``*`` was elementwise:
    # not NumPy's answers. np.memmap, whose operations are ndarray's, is computed.
    kind = type(subclass)
    with pytest.raises(fusenum.ArgumentTypeError, match=re.escape(
            f"'a' is a {kind.__module__}.{kind.__name__}, whose operations have their own meaning")):
        fusenum.evaluate("a * a + 1", local_dict={"a": subclass})


def test_evaluate_of_a_memmap(tmp_path):
    mapped = np.memmap(tmp_path / "data", dtype="f8", mode="w+", shape=(3,))
    mapped[:] = [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(fusenum.evaluate("a * a + 1", local_dict={"a": mapped}), [2.0, 5.0, 10.0])
