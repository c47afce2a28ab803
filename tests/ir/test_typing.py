"""Typing follows NumPy 2: promotion, NEP 50 weak scalars, OverflowError, folding."""
import operator

import numpy as np
import pytest

import fusenum
from fusenum.ir import nodes, numpy_behaviour
from fusenum.ir.typing import Builder, NeedsValue, int_fits, weak_var
from ..numpy_outcome import assert_same_outcome

i8 = np.dtype(np.int8)


def build(op, *operands):
    """``op`` as a Python operator would apply it."""
    return Builder().apply(op, *operands, python=True)


def test_weak_python_int_keeps_the_array_dtype():
    x = np.arange(5, dtype=np.int8)
    assert fusenum.evaluate("x + 3").dtype == np.int8
    assert fusenum.evaluate("x * 2.5").dtype == np.float64
    f = np.ones(3, np.float32)
    assert fusenum.evaluate("f + 1.5").dtype == np.float32


def test_python_int_variables_are_weak_like_in_numpy():
    x = np.arange(5, dtype=np.int8)
    k = 3
    assert fusenum.evaluate("x + k").dtype == (x + k).dtype == np.int8


@pytest.mark.parametrize("function", ["logical_and", "logical_or", "logical_xor"])
@pytest.mark.parametrize("dtype", [np.bool_, np.float32, np.uint64, np.int8])
@pytest.mark.parametrize("value", [2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**127, 300, -1])
def test_a_python_int_in_a_logical_function_fits_a_c_long_as_in_numpy(function, dtype, value):
    """The loops are bool, and NumPy takes the int as a bool through a C long: beyond int64 it
    raises OverflowError (where converting it to bool would not), as a constant and bound to a name."""
    x = np.array([1, 0, 3], dtype)
    numpy_function = getattr(np, function)
    assert_same_outcome(lambda: numpy_function(x, value), lambda: fusenum.evaluate(f"{function}(x, {value})", {"x": x}),
                        message=False)
    assert_same_outcome(lambda: numpy_function(x, value), lambda: fusenum.evaluate(f"{function}(x, k)", {"x": x, "k": value}),
                        message=False)


def test_out_of_range_python_int_raises_numpys_overflow_error():
    x = np.arange(5, dtype=np.int8)
    with pytest.raises(OverflowError, match="Python integer 300 out of bounds for int8"):
        fusenum.evaluate("x + 300")
    k = 300
    with pytest.raises(OverflowError, match="Python integer 300 out of bounds for int8"):
        fusenum.evaluate("x + k")


def test_comparison_with_out_of_range_int_has_numpys_answer():
    x = np.arange(-3, 3, dtype=np.int8)
    np.testing.assert_array_equal(fusenum.evaluate("x < 300"), x < 300)
    np.testing.assert_array_equal(fusenum.evaluate("-129 >= x"), -129 >= x)
    u = np.arange(4, dtype=np.uint64)
    np.testing.assert_array_equal(fusenum.evaluate("u == -1"), u == -1)
    k = 1000
    np.testing.assert_array_equal(fusenum.evaluate("x != k"), x != k)


@pytest.mark.parametrize("value", [300, -129, 255, 2**70])
def test_where_converts_out_of_range_ints_like_the_installed_numpy(value):
    """NumPy up to 2.4 wraps such an int into int8; 2.5 raises OverflowError."""
    x = np.arange(3, dtype=np.int8)
    assert_same_outcome(lambda: np.where(x > 0, x, value), lambda: fusenum.evaluate(f"where(x > 0, x, {value})", local_dict={"x": x}))
    assert_same_outcome(lambda: np.where(x > 0, value, x), lambda: fusenum.evaluate("where(x > 0, v, x)", local_dict={"v": value, "x": x}))


@pytest.mark.parametrize("value", [2**63, -2**63 - 1, 2**127, -1, 300])
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int64", "float32"])
def test_comparison_with_an_int_no_dtype_holds_is_answered_for_integer_arrays_only(dtype, value):
    """NumPy answers an integer array's comparison with any Python int; a bool array's loop is
    int64 too, but there the int is converted (OverflowError), both front ends."""
    x = np.array([0, 1], dtype)
    for symbol, compare in [("<", operator.lt), ("==", operator.eq), ("!=", operator.ne)]:
        assert_same_outcome(lambda: compare(x, value), lambda: fusenum.evaluate(f"x {symbol} ({value})", local_dict={"x": x}))
        assert_same_outcome(lambda: compare(x, value), lambda: np.asarray(compare(fusenum.lazy(x), value)))


def test_mixed_sign_64_bit_comparison_is_exact():
    u = np.array([0, 2**63, 2**64 - 1], np.uint64)
    s = np.array([-1, -(2**63), 2**63 - 1], np.int64)
    for op in ["<", "<=", ">", ">=", "==", "!="]:
        expected = eval(f"u {op} s")
        np.testing.assert_array_equal(fusenum.evaluate(f"u {op} s"), expected, err_msg=op)


def test_literal_arithmetic_is_pythons():
    assert build("power", 2, -1) == 0.5
    assert build("floor_divide", -7, 2) == -4
    with pytest.raises(ZeroDivisionError):
        build("true_divide", 1, 0)
    assert build("add", True, True) == 2


def test_numpy_function_of_literals_is_a_strong_constant():
    folded = build("sqrt", 4.0)
    assert folded.op == "const" and folded.dtype == np.float64
    f = np.ones(3, np.float32)
    assert fusenum.evaluate("f * sqrt(4.0)").dtype == np.float64  # np.float64 scalar is strong


def test_huge_literal_powers_fail_fast():
    with pytest.raises(OverflowError, match="would have about"):
        build("power", 9, 9**9)
    with pytest.raises(OverflowError, match="would have about"):
        build("left_shift", 1, 10**10)


def test_operations_numpy_rejects_are_rejected_with_numpys_error():
    flags = np.array([True, False])
    with pytest.raises(TypeError, match="boolean negative"):
        fusenum.evaluate("-flags")
    with pytest.raises(TypeError, match="boolean subtract"):
        fusenum.evaluate("flags - flags")
    f = np.ones(2)
    with pytest.raises(TypeError, match="ufunc 'invert' not supported"):
        fusenum.evaluate("~f")
    with pytest.raises(TypeError, match="left_shift"):
        fusenum.evaluate("f << 1")


def test_unsupported_dtypes_are_named():
    when = np.array(["2020-01-01"], "datetime64[D]")
    with pytest.raises(fusenum.UnsupportedDTypeError, match=r"operand 'when' has dtype datetime64\[D\], which fusenum does not support"):
        fusenum.evaluate("when + 1")
    objects = np.array([1, "x"], dtype=object)
    with pytest.raises(TypeError, match="operand 'objects' has dtype object"):
        fusenum.evaluate("objects * 2")


def test_weak_variable_with_only_constants_needs_its_value():
    builder = Builder()
    with pytest.raises(NeedsValue) as info:
        builder.apply("multiply", weak_var("k", 3), 2)
    assert info.value.sources == {"k"}


def test_weak_variable_combined_with_constants_is_computed_like_python():
    x = np.arange(4, dtype=np.int8)
    for k in (3, 4, 50):
        assert fusenum.evaluate("x + k * 2").dtype == np.int8
        np.testing.assert_array_equal(fusenum.evaluate("x + k * 2"), x + k * 2)
    k = 100
    with pytest.raises(OverflowError, match="Python integer 200 out of bounds for int8"):
        x + k * 2
    with pytest.raises(OverflowError, match="Python integer 200 out of bounds for int8"):
        fusenum.evaluate("x + k * 2")


def test_int_fits_classifies_by_range():
    assert np.dtype(np.int8) in int_fits(127) and np.dtype(np.int8) not in int_fits(128)
    assert int_fits(-1) == {np.dtype(c) for c in "bhilq"}
    assert int_fits(2**64) == frozenset()


def test_power_by_constant_two_is_square_where_numpys_loop_takes_that_shortcut():
    """np.power's float64 loop: square, sqrt, reciprocal for 2, 0.5, -1 from NumPy 2.3; only
    square in 2.1 and 2.2; none in 2.0 (NumPy is asked: numpy_behaviour.power_loop_rewrites)."""
    builder = Builder()
    x = builder.array("x", np.dtype(np.float64))
    shortcuts = numpy_behaviour.power_loop_rewrites(np.dtype(np.float64))
    for exponent, rewrite in [(2, "square"), (0.5, "sqrt"), (-1, "reciprocal"), (3, None)]:
        assert builder.apply("power", x, exponent).op == (rewrite if exponent in shortcuts else "power")
    ints = builder.array("i", np.dtype(np.int32))
    assert builder.apply("power", ints, 2).op == "power"


def test_finish_numbers_slots_in_order_of_first_use():
    builder = Builder()
    b = builder.array("b", np.dtype(np.float64))
    a = builder.array("a", np.dtype(np.float64))
    root, sources = builder.finish(builder.apply("add", a, b))
    assert [n.attr for n in nodes.inputs(root)] == [0, 1]
    assert [s.key for s in sources] == ["a", "b"]


def test_literal_result_too_big_for_any_dtype_is_named_briefly():
    with pytest.raises(fusenum.UnsupportedDTypeError, match=r"the result \(an integer of 16003 bits\) has dtype object"):
        fusenum.evaluate("(1 << 127) ** 126")


@pytest.mark.parametrize("text", ["clip(u, -1, 300)", "clip(u, -1, 2)", "clip(u, 1, 300)", "clip(u, low, 2)",
                                  "clip(i, -1000, k)"])
def test_clip_with_int_bounds_beyond_the_dtype_is_the_installed_numpys(text):
    """NumPy from 2.1 ignores such a bound; 2.0 raises OverflowError."""
    names = {"u": np.arange(4, dtype=np.uint8), "i": np.arange(-2, 2, dtype=np.int8), "low": -5, "k": 1}
    assert_same_outcome(lambda: eval(f"np.{text}", {"np": np}, names),
                        lambda: fusenum.evaluate(text, local_dict=names))
