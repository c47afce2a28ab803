"""``order=`` and ``casting=`` spelled as NumPy's ufuncs take them: str or bytes, subclasses of either.

:func:`fusenum.runtime.layout.as_order` and :func:`~fusenum.runtime.layout.as_casting` give the
front ends the plain str; the values NumPy refuses are its error type with fusenum's message.
(``fusenum.numexpr``'s, which follow numexpr's, are in tests/numexpr/test_api.py.)
"""
import re

import numpy as np
import pytest

import fusenum

a = np.arange(6.0).reshape(2, 3)
f_ordered = np.asfortranarray(a)


class _Text(str):
    """A str subclass: NumPy reads its characters."""


class _Bytes(bytes):
    """A bytes subclass."""


def _id(value) -> str:
    if type(value) is memoryview:
        return "memoryview"
    return repr(value) if type(value) in (str, bytes) else f"{type(value).__name__}:{value!r}"


def _plain(value) -> str:
    return (bytes(value).decode() if isinstance(value, bytes) else str.__str__(value))


ORDERS = [b"F", b"f", b"c", b"K", np.str_("F"), np.bytes_(b"c"), _Text("f"), _Bytes(b"C")]
CASTINGS = [b"unsafe", np.str_("unsafe"), np.bytes_(b"unsafe"), _Text("unsafe"), _Bytes(b"unsafe")]


@pytest.mark.parametrize("order", ORDERS, ids=_id)
@pytest.mark.parametrize("operand", [a, f_ordered], ids=["C", "F"])
def test_order_as_bytes_or_a_str_subclass_lays_out_the_result_as_numpys_ufuncs(order, operand):
    expected = np.add(operand, 1, order=order)
    got = fusenum.evaluate("a + 1", {"a": operand}, order=order)
    assert got.strides == expected.strides and np.array_equal(got, expected)
    staged = fusenum.evaluate("a - mean(a, axis=0)", {"a": operand}, order=order)
    assert staged.strides == np.subtract(operand, operand.mean(axis=0), order=order).strides
    lazy_result = fusenum.evaluate(fusenum.lazy(operand) + 1, order=order)
    assert np.asarray(lazy_result).strides == expected.strides
    letter = _plain(order).upper()
    assert str(fusenum.explain("a + 1", {"a": operand}, order=order)) == \
        str(fusenum.explain("a + 1", {"a": operand}, order=letter))


CASTS = [("a * 100.5", lambda x: x * 100.5), ("sum(a) * 1.5", lambda x: x.sum() * 1.5)]


@pytest.mark.parametrize("casting", CASTINGS, ids=_id)
@pytest.mark.parametrize("text, lazily", CASTS, ids=["elementwise", "sum"])
def test_casting_as_bytes_or_a_str_subclass_is_the_rule_it_spells(casting, text, lazily):
    value = lazily(a)
    expected = np.empty(value.shape, np.int32)
    np.copyto(expected, value, casting=casting)
    out = np.zeros(value.shape, np.int32)
    assert fusenum.evaluate(text, {"a": a}, out=out, casting=casting) is out and np.array_equal(out, expected)
    lazy_out = np.zeros(value.shape, np.int32)
    assert fusenum.evaluate(lazily(fusenum.lazy(a)), out=lazy_out, casting=casting) is lazy_out
    assert np.array_equal(lazy_out, expected)
    assert str(fusenum.explain(text, {"a": a}, out=out, casting=casting)) == \
        str(fusenum.explain(text, {"a": a}, out=out, casting=_plain(casting)))


@pytest.mark.parametrize("casting", [b"same_kind", np.str_("safe"), _Bytes(b"no")], ids=_id)
def test_a_strict_rule_as_bytes_refuses_naming_the_rule_as_numpy_does(casting):
    out = np.zeros((2, 3), np.int32)
    with pytest.raises(TypeError) as numpys:
        np.multiply(a, 100.5, out=out, casting=casting)
    rule = f"casting rule '{_plain(casting)}'"
    assert rule in str(numpys.value)
    message = f"Cannot cast expression output from dtype('float64') to dtype('int32') with {rule}"
    for call in (lambda: fusenum.evaluate("a * 100.5", {"a": a}, out=out, casting=casting),
                 lambda: fusenum.evaluate(fusenum.lazy(a) * 100.5, out=out, casting=casting),
                 lambda: fusenum.explain("a * 100.5", {"a": a}, out=out, casting=casting)):
        with pytest.raises(fusenum.CastingError, match=re.escape(message)):
            call()


ORDER_REFUSED = "order must be one of 'K', 'A', 'C', 'F', not {!r}"
CASTING_REFUSED = "casting must be one of 'no', 'equiv', 'safe', 'same_kind', 'unsafe', not {!r}"


@pytest.mark.parametrize("name, value", [
    ("order", b"FF"), ("order", b""), ("order", "Fortran"), ("order", _Text("FF")), ("order", b"\xc6"),
    ("casting", b"UNSAFE"), ("casting", "Unsafe"), ("casting", b"u"), ("casting", _Bytes(b"same"))], ids=_id)
@pytest.mark.parametrize("text", ["a + 1", "sum(a)"])
def test_spellings_numpy_refuses_are_a_value_error_naming_them(name, value, text):
    with pytest.raises(ValueError):
        np.add(a, 1, **{name: value})
    message = (ORDER_REFUSED if name == "order" else CASTING_REFUSED).format(value)
    for call in (lambda: fusenum.evaluate(text, {"a": a}, **{name: value}),
                 lambda: fusenum.evaluate(fusenum.lazy(a) + 1, **{name: value}),
                 lambda: fusenum.explain(text, {"a": a}, **{name: value})):
        with pytest.raises(fusenum.InvalidArgumentError) as info:
            call()
        assert str(info.value) == message


@pytest.mark.parametrize("name, value", [("order", bytearray(b"F")), ("order", memoryview(b"F")),
                                         ("casting", bytearray(b"unsafe")), ("order", 5), ("casting", None)],
                         ids=_id)
def test_other_types_are_a_type_error_as_numpys(name, value):
    with pytest.raises(TypeError):
        np.add(a, 1, **{name: value})
    message = f"{name} must be a str or bytes, not {type(value).__name__}"
    for call in (lambda: fusenum.evaluate("a + 1", {"a": a}, **{name: value}),
                 lambda: fusenum.evaluate(fusenum.lazy(a) + 1, **{name: value}),
                 lambda: fusenum.explain("a + 1", {"a": a}, **{name: value})):
        with pytest.raises(fusenum.ArgumentTypeError) as info:
            call()
        assert str(info.value) == message
