"""fusenum.numexpr means what numexpr 2.14 means: its typing, its opcodes' results and its errors.

Expected dtypes and values are numexpr's, written out (the differential test against the
installed numexpr is tests/numexpr/test_differential.py); fusenum.evaluate keeps NumPy's.
"""
import re

import numpy as np
import pytest

import fusenum
import fusenum.numexpr as ne

RNG = np.random.default_rng(7)


def _values(dtype: str, n: int = 9) -> np.ndarray:
    if dtype == "?":
        return RNG.random(n) > 0.5
    x = RNG.normal(0, 6, n)
    if np.dtype(dtype).kind == "u":
        x = np.abs(x)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * RNG.normal(0, 6, n)
    return x.astype(dtype)


@pytest.mark.parametrize("dtype, kind", [
    ("?", "?"), ("i1", "i4"), ("i2", "i4"), ("i4", "i4"), ("i8", "i8"), ("u1", "i4"), ("u2", "i4"),
    ("u4", "i8"), ("u8", "i8"), ("f2", "f4"), ("f4", "f4"), ("f8", "f8"), ("c8", "c16"), ("c16", "c16"),
])
def test_arrays_compute_in_numexprs_kinds(dtype, kind):
    a = _values(dtype)
    result = ne.evaluate("a", local_dict={"a": a})
    assert result.dtype == np.dtype(kind)
    np.testing.assert_array_equal(result, a.astype(kind))


def test_uint64_wraps_into_int64():
    u = np.array([1, 2**63 + 5], np.uint64)
    result = ne.evaluate("u + 1", local_dict={"u": u})
    assert result.dtype == np.int64
    assert result.tolist() == [2, -(2**63) + 6]


@pytest.mark.parametrize("expression, dtypes, expected", [
    ("a * b", ("i8", "f4"), "f4"),          # kind order: long < float
    ("a / b", ("i8", "f4"), "f4"),
    ("a / b", ("i1", "i1"), "f8"),          # '/' of integers is double
    ("a / b", ("?", "?"), "f8"),
    ("a // b", ("i1", "i2"), "i4"),
    ("a + b", ("u4", "i1"), "i8"),
    ("a + b", ("f2", "i1"), "f4"),
    ("a + b", ("c8", "f4"), "c16"),
    ("a + 1", ("i1",), "i4"),               # a Python int constant that fits is int32
    ("a + 3000000000", ("i1",), "i8"),      # ... else int64
    ("a * 2.5", ("i1",), "f8"),             # a Python float constant is double
    ("a * 2.5", ("f4",), "f8"),
    ("a / 2", ("f4",), "f4"),
    ("a + 1j", ("f4",), "c16"),
    ("a + b", ("?", "?"), "?"),             # '+' of bools is '|'
    ("a * b", ("?", "?"), "?"),
    ("sqrt(a)", ("i1",), "f8"),             # functions of integers compute in double
    ("sqrt(a)", ("?",), "f4"),              # ... of bools in their lowest kind, float
    ("abs(a)", ("i4",), "f8"),
    ("abs(a)", ("c8",), "c16"),             # abs of complex stays complex
    ("sign(a)", ("i1",), "i4"),             # copy, ones_like, round, sign keep integers
    ("round(a)", ("i8",), "i8"),
    ("round(a)", ("f4",), "f8"),            # round's lowest kind is double
    ("maximum(a, b)", ("f4", "f4"), "f8"),  # ... as hypot's, copysign's, nextafter's
    ("floor(a)", ("f4",), "f4"),
    ("conj(a)", ("i1",), "f8"),
    ("conj(a)", ("f4",), "c16"),
    ("isnan(a)", ("i1",), "?"),
    ("a.real", ("f4",), "f8"),
    ("a.imag", ("c8",), "f8"),
    ("where(c, a, b)", ("i1", "f4"), "f4"),
    ("a ** 2", ("i1",), "i4"),
    ("a ** 2.0", ("f4",), "f4"),            # aggressive optimization: a*a in a's kind
    ("a ** 2.2", ("f4",), "f8"),
    ("a ** 0.5", ("i2",), "f8"),
    ("sum(a)", ("i1",), "i4"),
    ("prod(a)", ("u4",), "i8"),
    ("min(a)", ("f2",), "f4"),
])
def test_result_dtypes_are_numexprs(expression, dtypes, expected):
    names = dict(zip("ab", (_values(d) for d in dtypes)))
    names["c"] = _values("?")
    assert ne.evaluate(expression, local_dict=names).dtype == np.dtype(expected)


def test_one_text_types_again_for_each_set_of_dtypes():
    """A text's float64 tree is reused for float64 arrays only: other dtypes, before or after,
    are typed as numexpr types them."""
    text = "a / b + where(a > 1, a, b) * 2"
    expected = {"f8": "f8", "i1": "f8", "i8": "f8", "f4": "f4"}
    for code in ("f8", "i1", "f8", "f4", "c16", "i8", "f8"):
        a = np.arange(1, 5).astype(code)
        if code == "c16":  # numexpr has no complex comparison
            with pytest.raises(NotImplementedError, match="gt_bci"):
                ne.evaluate(text, local_dict={"a": a, "b": a + 1})
            continue
        result = ne.evaluate(text, local_dict={"a": a, "b": a + 1})
        assert result.dtype == np.dtype(expected[code]), code
        if code == "f8":
            np.testing.assert_array_equal(result, a / (a + 1) + np.where(a > 1, a, a + 1) * 2)


def test_fusenum_evaluate_keeps_numpys_typing():
    a, b = np.arange(4, dtype=np.int64), np.arange(4, dtype=np.float32)
    assert fusenum.evaluate("a / b").dtype == np.float64
    assert ne.evaluate("a / b").dtype == np.float32
    assert fusenum.evaluate("a").dtype == np.int64 and ne.evaluate("a + a").dtype == np.int64


def test_int64_over_float32_is_float32_division():
    a = np.array([1, 2, 3, 2**40], np.int64)
    b = np.array([3, 7, 0.5, 3], np.float32)
    result = ne.evaluate("a / b")
    np.testing.assert_array_equal(result, a.astype(np.float32) / b)


def test_small_integers_compute_in_int32_and_wrap_there():
    a = np.array([100, -100, 127], np.int8)
    np.testing.assert_array_equal(ne.evaluate("a * a * a"), a.astype(np.int32) ** 3)


@pytest.mark.parametrize("expression, message", [
    ("~f", "couldn't find matching opcode for 'invert_dd'"),
    ("-b", "couldn't find matching opcode for 'neg_bb'"),
    ("b - b", "couldn't find matching opcode for 'sub_bbb'"),
    ("f << 1", "couldn't find matching opcode for 'lshift_ddi'"),
    ("f & 1", "couldn't find matching opcode for 'and_ddi'"),
    ("z < z", "couldn't find matching opcode for 'gt_bcc'"),
    ("ones_like(b)", "couldn't find matching opcode for 'ones_like_bb'"),
    ("sum(b)", "couldn't find matching opcode for 'sum_bbn'"),
    ("max(z)", "couldn't find matching opcode for 'max_ccn'"),
    ("where(i, i, f)", "couldn't find matching opcode for 'where_dlld'"),
    ("contains(i, i)", "couldn't find matching opcode for 'contains_bll'"),
    ("i == 'x'", "couldn't find matching opcode for 'eq_bls'"),
])
def test_missing_opcodes_raise_not_implemented_error(expression, message):
    names = {"f": np.ones(3), "b": np.ones(3, bool), "z": np.ones(3, complex), "i": np.ones(3, np.int64)}
    with pytest.raises(NotImplementedError) as info:
        ne.evaluate(expression, local_dict=names)
    assert str(info.value) == message


def test_unary_plus_of_bools_is_the_bools():
    b = np.array([True, False, True])
    result = ne.evaluate("+b")
    assert result.dtype == bool and result.tolist() == [True, False, True]


def test_invert_of_a_python_bool_bound_to_a_name_is_logical_not():
    t, f = True, False
    assert ne.evaluate("~t").tolist() is False and ne.evaluate("~f").tolist() is True
    assert ne.evaluate("~True").tolist() == -2  # a literal is Python's: ~True is -2, an int32 constant


def test_literals_are_computed_by_python():
    assert ne.evaluate("2 * 3 + 1").dtype == np.int32
    assert ne.evaluate("-True").tolist() == -1
    assert ne.evaluate("2 ** 40").dtype == np.int64
    with pytest.raises(ZeroDivisionError):
        ne.evaluate("1 / 0")


def test_chained_comparisons_use_pythons_and():
    a = np.array([1, 5])
    assert ne.evaluate("1 < 2 < a").tolist() == [False, True]
    with pytest.raises(TypeError, match="You can't use Python's standard boolean operators"):
        ne.evaluate("0 < a < 3")


@pytest.mark.parametrize("expression", ["a and a", "a or a", "not a", "a if a else a"])
def test_python_boolean_operators_raise_numexprs_type_error(expression):
    a = np.ones(2)
    with pytest.raises(TypeError, match=r"'&' instead of 'and', '\|' instead of 'or'"):
        ne.evaluate(expression)


@pytest.mark.parametrize("symbol", ["&", "|", "^", "//"])
def test_operators_without_a_reflected_form_raise_type_error(symbol):
    a = np.ones(2)
    message = f"unsupported operand type(s) for {symbol}: 'int' and 'VariableNode'"
    with pytest.raises(TypeError, match=re.escape(message)):
        ne.evaluate(f"1 {symbol} a")


def test_integer_powers_follow_numexprs_opcode():
    a = np.array([2, 3, -2, 1, -1, 0, 7], np.int32)
    e = np.array([31, 40, -1, -5, -3, -2, 2], np.int32)
    # 1/a in C integer division for negative exponents; the minimum where the result does not fit
    assert ne.evaluate("a ** e").tolist() == [-2**31, -2**31, 0, 1, -1, 0, 49]
    with pytest.raises(ValueError, match="Integers to negative integer powers are not allowed."):
        ne.evaluate("a ** -1")


@pytest.mark.parametrize("dtype, kind", [(np.int32, np.int32), (np.int64, np.int64), (np.bool_, np.int32),
                                         (np.int8, np.int32)])
def test_minus_one_power_of_integers_under_moderate_is_cs_division(dtype, kind):
    # optimization='moderate' makes x ** -1.0 numexpr's integer div of 1 by x, truncated toward zero;
    # by 0 it is 0 (numexpr's process dies of SIGFPE)
    values = np.array([1, 2, -1, 3, -3, 7, 0], dtype) if dtype is not np.bool_ else np.array([True, True, False])
    expected = [1 if v == 1 else -1 if v == -1 else 0 for v in values.astype(int)]
    result = ne.evaluate("values ** -1.0", optimization="moderate")
    assert result.dtype == kind and result.tolist() == expected


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_powers_next_to_the_limits_are_exact_where_they_fit(dtype):
    # numexpr converts pow() in long double back: exact wherever the power fits, the minimum where it
    # does not. A float64 estimate alone rounds 2**63 - 100 up to 2**63 and would call it an overflow.
    bits = 8 * np.dtype(dtype).itemsize - 1
    bases, exponents = [], []
    for exponent in range(1, bits + 1):
        middle = round(2 ** (bits / exponent))
        for base in range(max(middle - 3, 1), min(middle + 4, 2**bits)):
            bases += [base, -base]
            exponents += [exponent, exponent]
    bases += [2**bits - 1, 2**bits - 100, -(2**bits) + 100, -(2**bits)]
    exponents += [1, 1, 1, 1]
    a, e = np.array(bases, dtype), np.array(exponents, dtype)
    expected = [b ** x if -(2**bits) <= b ** x < 2**bits else -(2**bits) for b, x in zip(bases, exponents)]
    assert ne.evaluate("a ** e").tolist() == expected


def test_integer_remainder_is_numexprs_including_its_wrap_near_the_limits():
    """numexpr computes ``((a % b) + b) % b`` in C's ``%``: Python's answer, except where the
    addition wraps (a divisor near the type's limits)."""
    a, b = np.array([-7, 7, -7, 7, 1, -71182478310772736]), np.array([2, -2, -2, 2, 2**63 - 1, -(2**63) + 1])
    expected = [1, -1, -1, 1, -1, 9152189558544003073]
    np.testing.assert_array_equal(ne.evaluate("a % b"), expected)
    small = ne.evaluate("a % b", local_dict={"a": a[:4].astype(np.int32), "b": b[:4].astype(np.int32)})
    assert small.dtype == np.int32 and small.tolist() == expected[:4]


def test_constant_powers_become_multiplications():
    x = np.array([1.1, -2.3, 0.7], np.float64)
    np.testing.assert_array_equal(ne.evaluate("x ** 3"), x * (x * x))
    np.testing.assert_array_equal(ne.evaluate("x ** -2"), 1 / (x * x))
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(ne.evaluate("x ** 2.5"), (x * x) * np.sqrt(x))
    np.testing.assert_array_equal(ne.evaluate("x ** 3", optimization="none"), np.power(x, 3.0))


@pytest.mark.parametrize("tier", ["never", "always"])
@pytest.mark.parametrize("exponent", [np.broadcast_to(0.5, (6,)), np.array([0.5]), np.full(6, 0.5)],
                         ids=["broadcast view", "one element", "array"])
def test_float_powers_of_array_exponents_call_pow_for_every_element(tier, exponent):
    """numexpr's ``pow`` opcode is C's ``pow`` whatever the exponent's layout; NumPy's power loop
    (and fusenum.evaluate) takes ``sqrt`` for a single-valued exponent of 0.5: -0.0 and nan there."""
    x = np.array([-0.0, -np.inf, 4.0, 0.0, np.inf, 9.0])
    previous = fusenum.set_tiering(tier)
    try:
        got = ne.evaluate("x ** e", local_dict={"x": x, "e": exponent})
    finally:
        fusenum.set_tiering(previous)
    assert got.tobytes() == np.array([0.0, np.inf, 2.0, 0.0, np.inf, 3.0]).tobytes()


def test_division_by_a_constant_of_the_same_kind_multiplies_by_its_reciprocal():
    x = np.linspace(-5, 5, 101)
    np.testing.assert_array_equal(ne.evaluate("x / 3.0"), x * (1 / 3.0))
    np.testing.assert_array_equal(ne.evaluate("x / 3.0", optimization="none"), x / 3.0)
    with pytest.raises(ZeroDivisionError):
        ne.evaluate("x / 0.0")


def test_complex_division_uses_the_textbook_formula():
    a = np.array([1 + 2j, 3 - 1j, 1e300 + 1e300j])
    b = np.array([0j, 2 + 0.5j, 1e300 + 1e300j])
    with np.errstate(all="ignore"):
        norm = b.real * b.real + b.imag * b.imag
        real = (a.real * b.real + a.imag * b.imag) / norm
        expected = real + 1j * ((a.imag * b.real - a.real * b.imag) / norm)
    np.testing.assert_array_equal(ne.evaluate("a / b"), expected)


def test_complex_multiplication_and_abs_use_the_textbook_formulas():
    a = np.array([1.1 + 2.3j, -3.7 + 0.1j, 1e-3 + 7.7j])
    b = np.array([0.3 - 1.9j, 2.2 + 0.5j, -5.5 + 1e-4j])
    expected = (a.real * b.real - a.imag * b.imag) + 1j * (a.real * b.imag + a.imag * b.real)
    np.testing.assert_array_equal(ne.evaluate("a * b"), expected)
    np.testing.assert_array_equal(ne.evaluate("abs(a)"), np.sqrt(a.real * a.real + a.imag * a.imag) + 0j)


def test_complex_sign_divides_by_the_textbook_modulus():
    """numexpr's ``sign`` of a complex number divides each part by ``sqrt(re*re + im*im)`` (0 where
    that is 0), so it is 0 where the squares overflow or underflow and NaN at infinities; fusenum
    gave NumPy's (``z / hypot``) before."""
    parts = [0.0, -0.0, 1.0, -4.0, 1e200, 3e-170, 1e-320, np.inf, -np.inf, np.nan]
    z = np.array([complex(re, im) for re in parts for im in parts])
    with np.errstate(all="ignore"):
        modulus = np.sqrt(z.real * z.real + z.imag * z.imag)
        zero = modulus == 0
        expected = np.empty_like(z)  # (parts set one by one: adding 1j * im would change -0.0 and NaN)
        expected.real, expected.imag = np.where(zero, 0.0, z.real / modulus), np.where(zero, 0.0, z.imag / modulus)
    got = ne.evaluate("sign(z)")
    assert got.tobytes() == expected.tobytes()
    assert got[parts.index(1e200) * len(parts) + parts.index(1e200)] == 0
    assert np.isnan(got[parts.index(np.inf) * len(parts)].real)


def test_complex_power_by_an_integral_constant_squares_from_one():
    a = np.array([1.1 + 2.3j, -0.7 + 0.2j])

    def times(x, y):
        return (x.real * y.real - x.imag * y.imag) + 1j * (x.real * y.imag + x.imag * y.real)

    square = times(a, a)
    expected = times(times(np.ones(2, complex), a), times(square, square))  # bits 1 and 4 of 5
    np.testing.assert_array_equal(ne.evaluate("a ** (5+0j)", optimization="moderate"), expected)
    reciprocal = ne.evaluate("a ** (-5+0j)", optimization="moderate")
    norm = expected.real * expected.real + expected.imag * expected.imag
    np.testing.assert_array_equal(reciprocal, (expected.real / norm) + 1j * ((-expected.imag) / norm))
    with pytest.raises(TypeError, match="int\\(\\) argument must be"):
        ne.evaluate("a ** (5+0j)")  # numexpr's aggressive optimization takes int() of the exponent


def _textbook_power(base: complex, exponent: int) -> complex:
    """numexpr's complex power for a whole real exponent under 100 in size: the bits of
    ``|exponent|`` multiplied in from 1 by the textbook product, then the textbook ``1 / r``."""
    def times(x, y):
        x, y = (np.float64(x.real), np.float64(x.imag)), (np.float64(y.real), np.float64(y.imag))
        return complex(x[0] * y[0] - x[1] * y[1], x[0] * y[1] + x[1] * y[0])
    result, square, count, bit = 1 + 0j, base, abs(exponent), 1
    while True:
        if count & bit:
            result = times(result, square)
        bit <<= 1
        if count < bit:
            break
        square = times(square, square)
    if exponent < 0:
        re, im = np.float64(result.real), np.float64(result.imag)
        one, zero, norm = np.float64(1), np.float64(0), re * re + im * im
        result = complex((one * re + zero * im) / norm, (zero * re - one * im) / norm)
    return result


@pytest.mark.parametrize("kind", ["int64", "float64", "complex128"])
def test_complex_power_by_an_array_exponent_chooses_per_element_as_numexpr(kind):
    """numexpr's ``nc_pow`` decides element by element: a whole real exponent under 100 in size is
    squared from 1 (signed zeros, overflow and last bits are its own), any other is NumPy's power."""
    rng = np.random.default_rng(5)
    specials = [1e200 + 1e200j, -1 + 0j, -1j, np.inf + 0j, complex(np.nan, 1), 1e-200 + 0j, -0.0 - 0.0j]
    a = np.concatenate([rng.standard_normal(300) + 1j * rng.standard_normal(300), specials * 3])
    whole = rng.integers(-99, 100, a.size)
    b = whole.astype(kind)
    if kind != "int64":
        b[::7] += 0.5
        b[::11], b[::13], b[::17] = np.inf, -150, 100
    if kind == "complex128":
        b[::5] += 1j
    got = ne.evaluate("a ** b")
    with np.errstate(all="ignore"):
        _check_powers(a, b, got)


def _check_powers(a, b, got):
    for x, y, value in zip(a, b, got):
        if y == 0:
            expected = 1 + 0j
        elif x == 0:
            expected = 0j
        elif complex(y).imag == 0 and abs(complex(y).real) < 100 and complex(y).real == int(complex(y).real):
            expected = _textbook_power(complex(x), int(complex(y).real))
        else:
            expected = np.power(x, np.complex128(y))
        for part in ("real", "imag"):  # (NaN's sign is no one's promise: numexpr's is the C compiler's)
            got_part = getattr(np.complex128(value), part)
            expected_part = getattr(np.complex128(expected), part)
            assert (np.isnan(got_part) and np.isnan(expected_part)
                    or got_part.tobytes() == expected_part.tobytes()), (x, y, part)


def test_complex_power_of_zero():
    a = np.array([0j, 0j, 1 + 1j])
    b = np.array([0j, 1 + 2j, 0j])
    assert ne.evaluate("a ** b").tolist() == [1, 0, 1]


def test_float_floor_division_and_remainder_are_cs_formulas():
    a = np.array([2.5, -7.5, 1.0, 5.0])
    b = np.array([-np.inf, 2.0, 0.0, 0.3])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(ne.evaluate("a // b"), np.floor(a / b))  # 2.5 // -inf is -0.0, not -1.0
        np.testing.assert_array_equal(ne.evaluate("a % b"), a - np.floor(a / b) * b)


def test_the_first_missing_opcode_is_found_from_the_root_down():
    a, b = np.ones(2), np.ones(2, np.int8)
    with pytest.raises(NotImplementedError, match="'lshift_ddd'"):
        ne.evaluate("(a & b) << a")  # numexpr types '<<' before '&'


def test_equality_with_a_function_on_the_right_puts_the_function_first():
    a, b = np.ones(2), np.ones(2, np.uint8)
    # Python asks numexpr's FuncNode (a subclass of OpNode) first, so complex(...) is the left operand
    with pytest.raises(NotImplementedError, match="couldn't find matching opcode for 'or_fif'"):
        ne.evaluate("((h ^ h) | b) == complex((b | h), 0)", local_dict={"h": a.astype(np.float16), "b": b})


def test_array_constants_that_reach_the_program_raise_numexprs_type_error():
    a = np.ones(2)
    with pytest.raises(TypeError, match="unhashable type: 'numpy.ndarray'"):
        ne.evaluate("copy(1) + a")
    assert ne.evaluate("~copy(0) + a").tolist() == [0.0, 0.0]  # ~ of a 0-d array is a NumPy scalar


@pytest.mark.parametrize("text", ["copy(10**30)", "copy(10**400)", "isinf(copy(10**400))"])
def test_a_copy_of_an_integer_beyond_int64_is_a_type_error_naming_it(text):
    # (numexpr: KeyError: None; 10**400, beyond a float too, raised a bare OverflowError here)
    with pytest.raises(TypeError, match=r"^unsupported constant array\(10000000000"):
        ne.evaluate(text)


def test_functions_of_numexpr():
    a = np.array([1.5, -2.5, 2.5, np.nan])
    i = np.array([3, -4], np.int16)
    np.testing.assert_array_equal(ne.evaluate("round(a)"), np.rint(a))
    assert ne.evaluate("round(i)").tolist() == [3, -4]
    assert ne.evaluate("copy(i)").tolist() == [3, -4] and ne.evaluate("ones_like(i)").tolist() == [1, 1]
    z = np.array([3 + 4j])
    assert ne.evaluate("abs(z)").tolist() == [5 + 0j]
    # a constant condition picks a branch
    assert ne.evaluate("where(1, i, h)", local_dict={"i": i, "h": a[:2]}).dtype == np.int32
    assert ne.evaluate("complex(a, a)").dtype == np.complex128


def test_sum_and_prod_over_an_axis_in_numexprs_kinds():
    m = np.arange(1, 7, dtype=np.int8).reshape(2, 3)
    assert ne.evaluate("sum(m, axis=1)").tolist() == [6, 15]
    assert ne.evaluate("prod(m, 0)").tolist() == [4, 10, 18]
    big = np.full(3, 2**20, np.int32)
    assert ne.evaluate("prod(big)").tolist() == 0  # accumulated in int32, as numexpr does
    with pytest.raises(ValueError, match="negative axis are not supported"):
        ne.evaluate("sum(m, axis=-1)")
    with pytest.raises(ValueError, match="cannot encode axis"):
        ne.evaluate("sum(m, axis=300)")
    for text in ("sum(m, 1.5)", "prod(m, axis=0.0)"):  # numexpr encodes the axis as a byte
        with pytest.raises(TypeError, match="'float' object cannot be interpreted as an integer"):
            ne.evaluate(text)
    assert ne.evaluate("sum(m, True)").tolist() == [6, 15]


def test_reductions_take_numexprs_keyword_names():
    # numexpr's reductions are ``sum(a, axis=None)``: both may be given by keyword.
    m = np.arange(1, 7, dtype=np.int32).reshape(2, 3)
    assert ne.evaluate("sum(a=m)").tolist() == 21
    assert ne.evaluate("prod(a=m, axis=1)").tolist() == [6, 120]
    assert ne.evaluate("max(axis=0, a=m)").tolist() == [4, 5, 6]
    with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
        ne.evaluate("sum(x=m)")
    with pytest.raises(TypeError, match="multiple values for argument 'a'"):
        ne.evaluate("sum(m, a=m)")


@pytest.mark.parametrize("text, value", [
    ("sum(a, 2)", np.ones((2, 3))), ("sum(a, 0)", np.array(5.0)), ("max(a + 1, 0)", 5.0),
    ("sum(a, 1)", np.ones(0)), ("prod(a, 7)", np.ones((3, 0))),
])
def test_an_axis_beyond_the_operands_dimensions_is_numexprs_error(text, value):
    # Checked before numexpr's shortcut for empty operands, and for 0-d ones (which NumPy lets reduce
    # along axis 0).
    with pytest.raises(ValueError, match="^reduction axis is out of bounds$"):
        ne.evaluate(text, local_dict={"a": value})
    assert ne.evaluate("sum(a, 0)", local_dict={"a": np.ones(0)}).shape == (0,)


def test_min_and_max_skip_nan_unless_all_are_nan():
    m = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])
    np.testing.assert_array_equal(ne.evaluate("max(m, axis=1)"), [3.0, np.nan])
    np.testing.assert_array_equal(ne.evaluate("min(m, axis=1)"), [1.0, np.nan])


def test_reductions_must_be_last():
    a = np.ones(3)
    with pytest.raises(RuntimeError, match="invalid program: reduction operations must occur last"):
        ne.evaluate("sum(a) + 1")


def test_real_and_imag_attributes():
    z = np.array([1 + 2j, -3 + 0.5j], np.complex64)
    np.testing.assert_array_equal(ne.evaluate("z.real * 2"), z.real.astype(np.float64) * 2)
    np.testing.assert_array_equal(ne.evaluate("z.imag"), z.imag.astype(np.float64))
    assert ne.evaluate("(1.5 + 2j).imag").tolist() == 2.0


BYTES = np.array([b"abc", b"ab", b"", b"xabcx", b"a\x00b"], "S5")
OTHER = np.array([b"ab", b"ab", b"", b"abc", b"b"], "S3")


@pytest.mark.parametrize("expression, expected", [
    ("s == t", [False, True, True, False, False]),
    ("s != t", [True, False, False, True, True]),
    ("s < t", [False, False, False, False, True]),
    ("s >= t", [True, True, True, True, False]),
    ("s == 'ab'", [False, True, False, False, False]),
    ("'ab' < s", [True, False, False, True, False]),
    ("contains(s, t)", [True, True, True, True, False]),     # an element ends at its first NUL
    ("contains(s, 'ab') & ~(s == t)", [True, False, False, True, False]),
])
def test_bytes_are_compared_and_searched(expression, expected):
    assert ne.evaluate(expression, local_dict={"s": BYTES, "t": OTHER}).tolist() == expected


def test_an_empty_bytes_constant_equals_what_starts_with_a_nul_as_in_numexpr():
    import numexpr as real

    s = np.array([b"\x00a", b"", b"ab", b"\x00", b"a\x00"], "S2")
    for text in ("s == b''", "s != b''", "s == ''", "b'' == s", "'' != s", "(s == b'') | (s == b'ab')",
                 "s == e", "s == b'\\x00'"):
        expected = real.evaluate(text, local_dict={"s": s, "e": np.array(b"")})
        assert ne.evaluate(text, local_dict={"s": s, "e": np.array(b"")}).tolist() == expected.tolist(), text
    assert ne.evaluate("s == b''", local_dict={"s": s}).tolist() == [True, True, False, True, False]


def test_a_bytes_result_is_numexprs_copy():
    import numexpr as real

    s = np.array([b"ab", b"c", b"xyz"])
    two = np.asfortranarray(np.array([[b"a", b"bb"], [b"c", b"d"]]))
    calls = [("s", {"s": s}, {}), ("copy(copy(s))", {"s": s[::2]}, {}), ("s", {"s": two}, {}),
             ("s", {"s": two}, {"order": "C"}), ("s", {"s": b"abc"}, {}),
             ("s", {"s": np.array([], "S3")}, {}), ("'abc'", {}, {}), ("b'abc'", {}, {}),
             ("s", {"s": s}, {"out": (3, "S2"), "casting": "safe"})]
    outs = [(3, "S5"), (3, "S1"), (3, "f8"), (2, "S3"), ((2, 3), "S3")]
    calls += [("s", {"s": s}, {"out": out, "casting": casting}) for out in outs
              for casting in ("no", "safe", "same_kind")]
    calls += [("'abc'", {}, {"out": out}) for out in [(1, "S3"), (1, "S1"), ((), "S5"), (1, "f8"), (2, "S3")]]
    for text, names, keywords in calls:
        results = []
        for module in (real, ne):
            given = dict(keywords)
            if "out" in given:
                given["out"] = np.zeros(*given["out"])
            try:
                result = module.evaluate(text, local_dict=names, **given)
            except (ValueError, TypeError) as error:
                results.append((type(error), str(error)))
            else:
                results.append((result.dtype, result.shape, result.strides, result.tobytes(),
                                result is given.get("out")))
        assert results[0] == results[1], (text, keywords, results)
    assert ne.validate("'abc'") is None and ne.validate("s", local_dict={"s": s}) is None
    copied = ne.NumExpr("s", [("s", bytes)])
    assert copied.run(s).tolist() == s.tolist()
    assert ne.disassemble(copied) == [[b"copy_ss", b"r0", b"r1[s]", None]]


def test_a_copy_of_bytes_inside_an_expression_is_the_bytes():
    # (numexpr 2.14 gives all False here: its copy's temporary loses the strings)
    s = np.array([b"ab", b"c", b"xyz"])
    assert ne.evaluate("copy(s) == b'ab'").tolist() == [True, False, False]
    assert ne.evaluate("contains(copy(copy(s)), b'y')").tolist() == [False, False, True]


def test_bytes_arithmetic_is_refused():
    with pytest.raises(NotImplementedError, match="couldn't find matching opcode for 'add_sss'"):
        ne.evaluate("s + s", local_dict={"s": BYTES})
    with pytest.raises(NotImplementedError, match="couldn't find matching opcode for 'eq_bsi'"):
        ne.evaluate("s == 1", local_dict={"s": BYTES})


def test_unsupported_dtypes_raise_numexprs_value_error():
    with pytest.raises(ValueError, match="NumExpr 2 does not support Unicode as a dtype."):
        ne.evaluate("u", local_dict={"u": np.array(["x"])})
    with pytest.raises(ValueError, match="unknown type object"):
        ne.evaluate("o", local_dict={"o": np.array([1], object)})


def test_unknown_function_and_unsupported_results():
    a = np.ones(2)
    with pytest.raises(TypeError, match="unknown function 'foo'"):
        ne.evaluate("foo(a)")
    with pytest.raises(TypeError, match="unsupported expression type: <class 'NoneType'>"):
        ne.evaluate("None")


def test_an_empty_operand_gives_an_empty_result_shaped_like_it():
    x, e = np.ones((1, 1, 1)), np.ones((1, 0))
    assert ne.evaluate("x <= e").shape == (1, 0) and ne.evaluate("x <= e").dtype == bool
    assert ne.evaluate("sum(e * 2)").shape == (1, 0)
    names = {"x": np.ones(3), "y": np.ones((0, 2), np.int8)}
    assert ne.evaluate("x + y", local_dict=names).dtype == np.float64


def test_a_zero_d_exponent_is_taken_by_value():
    x = np.array([-1.5, 2.25, 3.0, -0.0])
    # pandas passes the 2 of 'df ** 2' as a 0-d operand: squared, as NumPy's power loop squares
    np.testing.assert_array_equal(ne.evaluate("x ** e", local_dict={"x": x, "e": 2}), x * x)
    by_array = ne.evaluate("x ** e", local_dict={"x": x, "e": np.ones(4) * 2})
    np.testing.assert_array_equal(by_array, np.power(x, 2.0))
    i = np.arange(5)
    assert ne.evaluate("i ** e", local_dict={"i": i, "e": -1}).tolist() == [0, 1, 0, 0, 0]
    assert ne.evaluate("i ** e", local_dict={"i": i, "e": 3}).tolist() == [0, 1, 8, 27, 64]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("text, options, exponent", [
    ("x ** e", {}, np.array(0.5)),            # a 0-d exponent: numexpr's pow opcode
    ("x ** e", {}, 0.5),
    ("x ** 0.5", {"optimization": "none"}, None),
])
def test_pow_by_a_half_is_cs_pow_not_sqrt(dtype, text, options, exponent):
    # C's pow(x, 0.5) is +inf at -inf and +0 at -0, where sqrt gives NaN and -0
    x = np.array([-np.inf, -0.0, 4.0, -4.0, np.inf, 0.0], dtype)
    result = ne.evaluate(text, local_dict={"x": x, "e": exponent}, **options)
    expected = np.array([np.inf, 0.0, 2.0, np.nan, np.inf, 0.0])
    np.testing.assert_array_equal(result, expected)
    assert not np.signbit(result[1])


def test_text_nested_beyond_the_recursion_limit_raises_recursion_error():
    a = np.ones(2)
    with pytest.raises(RecursionError, match="expression nests too deeply"):
        ne.evaluate("a" + "+a" * 5000)


def test_shifts_outside_the_width_give_zero_or_minus_one_as_numexpr_2_14_2_does():
    a = np.array([-5, 1, 3], np.int32)
    # numexpr 2.14.1 and older masked the count (x86's shift): 1 << 33 was 2 there
    assert ne.evaluate("a << 33").tolist() == [0, 0, 0]
    assert ne.evaluate("a >> 40").tolist() == [-1, 0, 0]
    assert ne.evaluate("a << -1").tolist() == [0, 0, 0]
    assert ne.evaluate("a >> 31").tolist() == [-1, 0, 0]


@pytest.mark.parametrize("text", ["sin + 1", "where * 2", "sum + 1", "abs + 1", "contains + 1", "sin"])
def test_names_of_functions_are_numexprs_functions_not_arrays(text):
    # numexpr binds its function names over the names it looks up: ``sin`` is the function, even
    # with an array called ``sin`` around (a pandas column called ``where``), and unbound it is no KeyError.
    arrays = {name: np.arange(3.0) for name in ("sin", "where", "sum", "abs", "contains")}
    for local_dict in (arrays, {}):
        with pytest.raises(TypeError, match="function"):
            ne.evaluate(text, local_dict=local_dict, global_dict={})


@pytest.mark.parametrize("text, expected", [
    ("sin(sin)", TypeError("unsupported object type: <class 'function'>")),
    ("-sin", TypeError("bad operand type for unary -: 'function'")),
    ("sin.real", AttributeError("'function' object has no attribute 'real'")),
    ("sum(sin)", AttributeError("'function' object has no attribute 'astKind'")),
    ("sin == sin", True), ("sin == cos", False), ("sin and a", [0.0, 1.0, 2.0]),
])
def test_a_function_used_as_a_value_is_a_python_function(text, expected):
    a = sin = np.arange(3.0)  # noqa: F841 (read by name)
    if isinstance(expected, Exception):
        with pytest.raises(type(expected), match=re.escape(str(expected))):
            ne.evaluate(text)
    else:
        assert ne.evaluate(text).tolist() == expected


def test_function_names_are_numexprs():
    from fusenum.numexpr import tree
    numexpr = pytest.importorskip("numexpr")
    if getattr(numexpr, "__fusenum__", False) or "fusenum" in numexpr.__version__:
        pytest.skip("numexpr is fusenum.numexpr here")
    from numexpr import expressions
    assert tree.NAMES == set(expressions.functions)


@pytest.mark.parametrize("text", [" a + 1", "\ta + 1", "   ", " 1"])
def test_leading_blanks_are_an_indentation_error(text):
    a = np.arange(3.0)  # noqa: F841 (read by name)
    with pytest.raises(IndentationError, match="unexpected indent"):
        ne.evaluate(text)


@pytest.mark.parametrize("text", ["a + 1 ", "a + 1\n", "\na + 1", "a + 1\t", "(a +\n 1)", "a + 1  # note",
                                  "\x0ca + 1"])
def test_trailing_blanks_and_line_breaks_are_pythons(text):
    a = np.arange(3.0)  # noqa: F841 (read by name)
    assert ne.evaluate(text).tolist() == [1.0, 2.0, 3.0]


def test_a_line_break_outside_brackets_is_a_syntax_error():
    a = np.arange(3.0)  # noqa: F841 (read by name)
    with pytest.raises(SyntaxError, match="invalid syntax"):
        ne.evaluate("a +\n 1")


@pytest.mark.parametrize("text, error, message", [
    ("max(a, 0) + 2**63", OverflowError, "Python int too large to convert to C long"),
    ("sum(a) + 2**64", OverflowError, "too large to convert"),
    ("max(a, 0) + copy(1)", TypeError, "unhashable type: 'numpy.ndarray'"),
    ("~max(a, 0) + 1.5", RuntimeError, "reduction operations must occur last"),
])
def test_constants_are_converted_before_reductions_are_checked(text, error, message):
    a = np.arange(3, dtype=np.int32)  # noqa: F841 (read by name)
    with pytest.raises(error, match=re.escape(message)):
        ne.evaluate(text)


@pytest.mark.parametrize("text, sanitize, message", [
    ("(yield)", True, "'yield' outside function"),
    ("a + (await a)", True, "'await' outside function"),
    ("[x async for x in a]", False, "asynchronous comprehension outside of an asynchronous function"),
])
def test_what_pythons_compiler_refuses_is_its_syntax_error(text, sanitize, message):
    """numexpr compiles the text before it reads it: the compiler's own SyntaxError comes first."""
    with pytest.raises(SyntaxError, match=re.escape(message)):
        ne.evaluate(text, local_dict={"a": np.ones(2)}, sanitize=sanitize)
