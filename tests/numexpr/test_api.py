"""fusenum.numexpr's API is numexpr 2.14's: keywords, repeated calls, NumExpr objects, threads, VML."""
import os
import re
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from packaging.version import Version

import fusenum
import fusenum.numexpr as ne
from fusenum.numexpr import settings
from fusenum.numexpr.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
GLOBAL_ARRAY = np.arange(3.0)


def _python(code: str, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    for name in ("NUMEXPR_NUM_THREADS", "OMP_NUM_THREADS", "NUMEXPR_MAX_THREADS", "FUSENUM_NUM_THREADS"):
        if name not in env:
            environment.pop(name, None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment,
                          timeout=120)


def test_public_names_are_numexprs():
    for name in ("evaluate", "re_evaluate", "validate", "NumExpr", "disassemble", "set_num_threads",
                 "get_num_threads", "detect_number_of_cores", "detect_number_of_threads", "ncores",
                 "nthreads",
                 "MAX_THREADS", "use_vml", "get_vml_version", "set_vml_accuracy_mode", "set_vml_num_threads",
                 "print_versions", "__version__"):
        assert hasattr(ne, name), name


def test_version_is_pep440_with_a_fusenum_local_part():
    version = Version(ne.__version__)
    assert version.local == "fusenum" and version.base_version == "2.14.2"


def test_names_come_from_the_callers_frame_or_the_dicts():
    a = np.arange(3.0)
    assert ne.evaluate("a * 2").tolist() == [0, 2, 4]
    assert ne.evaluate("a + GLOBAL_ARRAY").tolist() == [0, 2, 4]
    assert ne.evaluate("a", local_dict={"a": np.ones(2)}).tolist() == [1, 1]
    assert ne.evaluate("a", local_dict={}, global_dict={"a": np.zeros(1)}).tolist() == [0]
    with pytest.raises(KeyError, match="'missing'"):
        ne.evaluate("missing + 1")


def test_frame_depth_counts_as_numexpr_counts():
    def helper():
        return ne.evaluate("b + 1", _frame_depth=4)

    b = np.arange(2)
    assert helper().tolist() == [1, 2]


def test_out_order_and_casting():
    a = np.arange(6.0).reshape(2, 3)
    out = np.empty((2, 3))
    assert ne.evaluate("a + 1", out=out) is out and out[1, 2] == 6
    assert ne.evaluate("a", order="F").flags.f_contiguous
    small = np.empty((2, 3), np.float32)
    with pytest.raises(TypeError):
        ne.evaluate("a", out=small, casting="safe")
    ne.evaluate("a", out=small, casting="same_kind")
    assert small[1, 2] == 5


@pytest.mark.parametrize("text, names, shape, expected", [
    ("a * 2", {"a": np.arange(3.0)}, (2, 3), [[0.0, 2.0, 4.0]] * 2),
    ("a * 2", {"a": 4.0}, (4,), [8.0] * 4),
    ("a + b", {"a": np.array(1.0), "b": np.array(2.0)}, (1,), [3.0]),
    ("a + b", {"a": np.arange(3.0), "b": np.ones((2, 1))}, (2, 2, 3), [[[1.0, 2.0, 3.0]] * 2] * 2),
    ("a > 1", {"a": np.arange(3.0)}, (2, 3), [[0.0, 0.0, 1.0]] * 2),
])
def test_an_elementwise_result_broadcasts_to_a_larger_out(text, names, shape, expected):
    # numexpr's iterator broadcasts its operands to out's shape, as NumPy's ufuncs do.
    out = np.zeros(shape)
    assert ne.evaluate(text, local_dict=names, out=out) is out
    assert out.tolist() == expected


@pytest.mark.parametrize("text, names, shape", [
    ("a * 2", {"a": np.arange(6.0).reshape(2, 3)}, (3,)), ("a * 2", {"a": np.arange(3.0)}, (3, 1)),
    ("sum(a)", {"a": np.arange(3.0)}, (2,)), ("sum(a, 0)", {"a": np.ones((3, 2))}, (4, 2)),
])
def test_an_out_the_result_does_not_broadcast_to_is_refused(text, names, shape):
    with pytest.raises(ValueError):
        ne.evaluate(text, local_dict=names, out=np.zeros(shape))


@pytest.mark.parametrize("text, names, shape, expected", [
    ("sum(a, axis=0)", {"a": np.arange(1.0, 4.0).reshape(3, 1)}, (4,), [6.0] * 4),
    ("sum(a, axis=1)", {"a": np.ones((2, 1, 1))}, (2, 3), [[1.0] * 3] * 2),
    ("prod(a * b, axis=1)", {"a": np.full((1, 1, 2), 2.0), "b": np.ones((3, 1))}, (2, 2), [[8.0] * 2] * 2),
    ("max(a, axis=2)", {"a": np.arange(4.0).reshape(1, 1, 4)}, (2, 3), [[3.0] * 3] * 2),
])
def test_an_axis_reductions_operands_broadcast_to_its_out(text, names, shape, expected):
    # numexpr maps ``out`` onto every axis but the reduced one, so the operands broadcast to it there.
    out = np.zeros(shape)
    assert ne.evaluate(text, local_dict=names, out=out) is out
    assert out.tolist() == expected


@pytest.mark.parametrize("option, value, message", [
    ("optimization", "fast", "'optimization' must be one of ('none', 'moderate', 'aggressive')"),
    ("truediv", 1.5, "'truediv' must be one of (False, True, 'auto')"),
    ("bogus", 1, "Unknown keyword argument 'bogus'"),
])
def test_bad_options_raise_value_error(option, value, message):
    a = np.ones(2)
    with pytest.raises(ValueError) as info:
        ne.evaluate("a", **{option: value})
    assert str(info.value) == message


def test_truediv_is_accepted_and_division_is_true_division():
    a = np.array([3], np.int32)
    for truediv in (True, False, "auto"):
        assert ne.evaluate("a / 2", truediv=truediv).tolist() == [1.5]


def test_expression_must_be_a_string():
    with pytest.raises(ValueError, match="must specify expression as a string"):
        ne.evaluate(b"a")


@pytest.mark.parametrize("text", ["a; b", "a[0]", "a:b", "a.__class__", "__import__('os')", "a.T", "a . b",
                                  "(a).conjugate()"])
def test_sanitize_rejects_what_numexpr_rejects(text):
    a = b = np.ones(2)
    with pytest.raises(ValueError) as info:
        ne.evaluate(text)
    assert str(info.value) == f"Expression {text} has forbidden control characters."


@pytest.mark.parametrize("text", ["a.real", "a.imag + 1", "1.5 * a", "2.e3 + a", "1.5j * a", "1.j + a",
                                  "a * .5", "1e5 * a", "1.5e-3 + a", "where(a > 0, a, 0)"])
def test_sanitize_accepts_numbers_and_real_imag(text):
    a = np.ones(2)
    assert ne.evaluate(text).shape == (2,)


def test_sanitize_can_be_turned_off_and_nothing_is_evaluated_anyway():
    a = np.ones(2)
    with pytest.raises(AttributeError, match="no attribute 'T'"):
        ne.evaluate("a.T", sanitize=False)
    with pytest.raises(TypeError, match="Subscript"):
        ne.evaluate("a[0]", sanitize=False)
    result = _python("import numpy as np, fusenum.numexpr as ne\n"
                     "a = np.ones(2)\n"
                     "try:\n    ne.evaluate('a.T')\nexcept AttributeError as e:\n    print('AttributeError')",
                     NUMEXPR_SANITIZE="0")
    assert result.stdout.strip() == "AttributeError", result.stderr


@pytest.mark.parametrize("text, error", [
    ("a.sum()", AttributeError), ("sin(a).conjugate()", AttributeError), ("a.real.sum()", AttributeError),
    ("a.real()", TypeError), ("a.imag.real()", TypeError),
])
def test_a_method_call_is_numexprs_error_for_its_attribute(text, error):
    # numexpr's eval looks the attribute up first (its nodes have no ``sum``), then calls what it found.
    with pytest.raises(error):
        ne.evaluate(text, local_dict={"a": np.ones(2)}, sanitize=False)


TEXTS_NUMEXPRS_EVAL_MEETS_IN_ORDER = [
    "1 if True else a.realx", "True or a.realx", "False and a[0]", "a if False else a.T", "a.T[0]",
    "a in b + a.sum()", "a if a else b + a.realx", "{a: a.T}", "a[a.T:]", "sum(a, axis=a.x)", "(a + 1)()",
    "sin(*a)", "a @ b", "a < b is a", "...", "b if 0 else ...",
]


@pytest.mark.parametrize("text", TEXTS_NUMEXPRS_EVAL_MEETS_IN_ORDER)
def test_constructs_numexpr_refuses_are_refused_where_its_eval_meets_them(text):
    """numexpr evaluates the text with Python's ``eval``: the first refused construct in Python's
    order raises (``a.T[0]``: the attribute, an ``AttributeError``), and one in a branch not taken
    raises nothing (``1 if True else a.realx`` is 1)."""
    real = pytest.importorskip("numexpr")
    names = {"a": np.arange(3.0), "b": np.ones(3)}

    def outcome(module):
        try:
            result = module.evaluate(text, local_dict=names, sanitize=False)
        except Exception as exc:  # noqa: BLE001 -- numexpr's error type is the expected answer
            return type(exc)
        return result.dtype, result.tolist()
    assert outcome(ne) == outcome(real)


def test_a_bad_numexpr_sanitize_fails_the_calls_that_take_the_default_not_the_import():
    script = ("import numpy as np, {module} as ne\n"
              "a = np.ones(2)\n"
              "print(ne.evaluate('a + 1', sanitize=False).tolist())\n"
              "try:\n    ne.evaluate('a + 1')\nexcept ValueError as e:\n    print('ValueError')")
    for module in ("numexpr", "fusenum.numexpr"):
        result = _python(script.format(module=module), NUMEXPR_SANITIZE="abc")
        assert result.stdout.split() == ["[2.0,", "2.0]", "ValueError"], (module, result.stderr)


def test_validate_then_re_evaluate():
    a = np.arange(3)
    assert ne.validate("a * 2 + 1") is None
    assert ne.re_evaluate().tolist() == [1, 3, 5]
    a = np.arange(2)
    assert ne.re_evaluate().tolist() == [1, 3]
    assert ne.re_evaluate(local_dict={"a": np.array([10])}).tolist() == [21]
    error = ne.validate("a +")
    assert isinstance(error, SyntaxError)
    assert isinstance(ne.validate("zz"), KeyError)


def test_re_evaluate_without_a_previous_call_raises_runtime_error():
    errors = []

    def fresh_thread():  # the last call is kept per thread, as in numexpr
        try:
            ne.re_evaluate()
        except RuntimeError as error:
            errors.append(str(error))

    thread = threading.Thread(target=fresh_thread)
    thread.start()
    thread.join()
    assert errors and errors[0].startswith("A previous evaluate() execution was not found")


def test_disable_cache_does_not_remember_the_call():
    a = np.arange(3)
    ne.evaluate("a + 1")
    ne.evaluate("a * 100", disable_cache=True)
    assert ne.re_evaluate().tolist() == [1, 2, 3]


def test_an_expression_that_does_not_type_leaves_the_last_one_for_re_evaluate():
    # numexpr remembers a call once it compiles: one it has no opcode for (or an invalid program)
    # leaves the previous one; one that fails while running (an axis out of range) replaces it.
    import numexpr as real

    a, b = np.arange(3.0), np.array([True, False])
    for module in (real, ne):
        module.evaluate("a + 1")
        for failing, error in [("~a", NotImplementedError), ("sum(a) + 1", RuntimeError),
                               ("sum(b, 5)", NotImplementedError)]:
            with pytest.raises(error):
                module.evaluate(failing)
            assert module.re_evaluate().tolist() == [1.0, 2.0, 3.0], (module, failing)
        with pytest.raises(ValueError, match="reduction axis is out of bounds"):
            module.evaluate("sum(a, 5)")
        with pytest.raises(ValueError, match="reduction axis is out of bounds"):
            module.re_evaluate()


def test_order_none_and_options_of_another_type_are_numexprs():
    import numexpr as real

    a = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    for module in (real, ne):
        assert module.evaluate("a + 1", order=None).strides == a.strides
        assert module.evaluate("a + 1", order="c").strides == (24, 8)
        assert module.evaluate("a + 1", order="k").strides == a.strides
        for option in ({"casting": None}, {"order": 5}, {"casting": 5}, {"order": bytearray(b"F")}):
            with pytest.raises(TypeError, match="must be (a )?str( or bytes)?, not"):
                module.evaluate("a + 1", **option)


@pytest.mark.parametrize("call", [
    lambda m: m.evaluate("s", local_dict={"s": np.array([b"x"])}, casting="bogus"),  # a copy of bytes
    lambda m: m.evaluate("e + 1", local_dict={"e": np.zeros(0)}, order="Z"),  # an empty operand
    lambda m: m.evaluate("e + 1", local_dict={"e": np.zeros(0)}, casting=None),
    lambda m: m.evaluate("sum(e)", local_dict={"e": np.zeros(0)}, casting="bogus"),
    lambda m: m.evaluate("1", out=np.empty(1), casting="bogus"),  # a constant into out
    lambda m: m.evaluate("s", local_dict={"s": np.array([b"x"])}, out=np.empty(1), order="Z"),
    lambda m: (m.validate("s", local_dict={"s": np.array([b"x"])}, casting="bogus"),
               m.re_evaluate(local_dict={"s": np.array([b"x"])})),
])
def test_order_and_casting_are_checked_first_on_every_path(call):
    real = pytest.importorskip("numexpr")
    errors = []
    for module in (real, ne):
        with pytest.raises((ValueError, TypeError)) as caught:
            call(module)
        errors.append((caught.type, str(caught.value)))
    assert errors[1] == errors[0]  # (NumPy's error, as numexpr's iterator raises it)


def test_re_evaluate_checks_the_axis_before_casting_new_values():
    ne.validate("sum(a, 5)", local_dict={"a": np.arange(3.0)})
    with pytest.raises(ValueError, match="reduction axis is out of bounds"):
        ne.re_evaluate(local_dict={"a": np.array([1j])})  # (complex into a double input: a cast error after)


@pytest.mark.parametrize("out, value", [
    (np.zeros(1, bool), np.array([[1]], "i4")),  # an out the new value does not broadcast to
    (np.zeros((2, 2), bool), np.array([1, 2, 3], "i4")),
    (None, np.array([1j, 2j])),  # operands that do not broadcast
])
def test_re_evaluate_checks_shapes_before_casting_new_values(out, value):
    # numexpr's iterator raises the shape's ValueError first; the int32 or complex value does not
    # cast to the bool or double input ('safe') either
    names = {"a": True} if out is not None else {"a": 1.0, "b": np.arange(3.0)}
    text = "a > 0" if out is not None else "a + b"
    real = pytest.importorskip("numexpr")
    errors = []
    for module in (real, ne):
        assert module.validate(text, local_dict=names, out=out) is None
        with pytest.raises((ValueError, TypeError)) as caught:
            module.re_evaluate(local_dict={**names, "a": value})
        errors.append(caught.type)
    assert errors == [ValueError, ValueError]


@pytest.mark.parametrize("text, dtype, error", [
    ("sum(b, 1.0)", np.bool_, NotImplementedError),  # no sum of bools: the typing's error first
    ("min(b, 1.0)", np.complex128, NotImplementedError),
    ("prod(b, 1.0)", np.bytes_, NotImplementedError),
    ("sum(b, 1.0)", np.float64, TypeError),  # then the axis, which numexpr writes as a byte
    ("sum(b, 5.0)", np.float64, TypeError),  # (before the run's axis check)
    ("sum(b, 1.0) + 1", np.float64, TypeError),
    ("sum(b, -1.0)", np.float64, ValueError),  # a negative axis is refused as the tree is built
    ("sum(b, 300.0)", np.float64, ValueError),
])
@pytest.mark.parametrize("disable_cache", [False, True])
def test_a_float_axis_is_numexprs_error_in_numexprs_order(text, dtype, error, disable_cache):
    b = np.ones((2, 2), dtype)
    with pytest.raises(error):
        ne.evaluate(text, local_dict={"b": b}, disable_cache=disable_cache)
    real = pytest.importorskip("numexpr")
    with pytest.raises(error):  # (numexpr 2.14.1, beside NumPy 2.0, has no disable_cache keyword)
        real.evaluate(text, local_dict={"b": b})


@pytest.mark.parametrize("text, names", [
    ("a", {"a": np.arange(3)}), ("a + 1", {"a": np.arange(3)}), ("sum(a)", {"a": np.arange(3)}),
    ("where(a > 1, a, 0)", {"a": np.arange(3)}), ("u + 1", {"u": np.arange(3, dtype=np.uint32)}),
    ("a << 1", {"a": np.arange(3)}), ("ones_like(a)", {"a": np.arange(3)}),
])
def test_int64_results_are_long_long_as_numexprs(text, names):
    result = ne.evaluate(text, local_dict=names)
    assert result.dtype == np.int64 and result.dtype.char == np.dtype(np.longlong).char
    assert type(result[()] if result.ndim == 0 else result[0]) is np.longlong
    out = np.empty(np.broadcast_shapes(*(v.shape for v in names.values())), np.int64)
    if "sum" not in text:
        assert ne.evaluate(text, local_dict=names, out=out) is out  # an out is returned as it is
    real = pytest.importorskip("numexpr")
    assert real.evaluate(text, local_dict=names).dtype.char == result.dtype.char


class _Text(str):
    """A str subclass: NumPy's iterator, to which numexpr hands ``order`` and ``casting``, reads its
    characters."""


def _outcome(call, message: bool = True) -> tuple:
    """What ``call()`` gives: the result's strides and values, or the error's kind (and message)."""
    try:
        result = call()
    except (TypeError, ValueError) as error:
        return TypeError if isinstance(error, TypeError) else ValueError, str(error) if message else ""
    return result.strides, result.tolist()


@pytest.mark.parametrize("order", [b"F", b"c", np.bytes_(b"k"), np.str_("F"), _Text("a"), b"FF"], ids=repr)
def test_order_as_bytes_or_a_str_subclass_is_numexprs(order):
    import numexpr as real

    operands = (np.arange(6.0).reshape(2, 3), np.ones((2, 3), order="F"))
    outcomes = {}
    for module in (real, ne):
        # (fusenum's message for an order refused is its own)
        call = module.evaluate
        outcomes[module] = [_outcome(lambda: call("a + 1", {"a": x}, order=order), False) for x in operands]
    assert outcomes[ne] == outcomes[real]


@pytest.mark.parametrize("casting", [b"unsafe", b"same_kind", b"safe", np.bytes_(b"no"), np.str_("safe"),
                                     _Text("unsafe"), b"UNSAFE"], ids=repr)
def test_casting_as_bytes_or_a_str_subclass_is_numexprs(casting):
    import numexpr as real

    outcomes = {}
    for module in (real, ne):
        compiled = module.NumExpr("a + 1", [("a", np.int64)])
        into = np.zeros(3, np.int32)
        outcomes[module] = [
            _outcome(lambda: compiled(np.arange(3, dtype=np.uint64), casting=casting, ex_uses_vml=False)),
            _outcome(lambda: module.evaluate("b + 1", {"b": np.arange(3, dtype=np.uint64)}, casting=casting)),
            # (fusenum's messages for an output cast refused, or a rule refused, are its own)
            _outcome(lambda: module.evaluate("b * 1.5", {"b": np.arange(3.0)}, out=into, casting=casting),
                     message=False)]
    assert outcomes[ne] == outcomes[real]


def test_numexpr_objects_with_a_signature():
    compiled = ne.NumExpr("2*a + b/3.0", [("a", np.int32), ("b", float)])
    assert compiled.signature == b"if" and compiled.input_names == ("a", "b")
    a, b = np.arange(3, dtype=np.int32), np.ones(3, np.float32)
    expected = (2 * a).astype(np.float64) + b.astype(np.float64) / 3.0
    np.testing.assert_array_equal(compiled(a, b), expected)
    np.testing.assert_array_equal(compiled.run(a.astype(np.int8), b), expected)
    message = ("Iterator operand 1 dtype could not be cast from dtype('int64') to dtype('int32') "
               "according to the rule 'safe'")
    with pytest.raises(TypeError, match=re.escape(message)):
        compiled(np.arange(3), b)
    with pytest.raises(ValueError, match="number of inputs doesn't match program"):
        compiled(a)
    with pytest.raises(ValueError, match="ex_uses_vml parameter is required"):
        compiled(a, b, out=np.empty(3))
    out = np.empty(3)
    assert compiled(a, b, out=out, ex_uses_vml=False) is out


def test_numexpr_objects_raise_numexprs_first_error():
    real = pytest.importorskip("numexpr")
    a, b = np.arange(10.0).reshape(2, 5), np.arange(10, dtype=np.int32)
    # shapes before casts; the type of a name used, names, then other types; the typing before names
    calls = [lambda module: module.NumExpr("a*2+b", [("a", np.int32), ("b", np.int32)]).run(a, b),
             lambda module: module.NumExpr("a", [("a", np.complex128), ("b", float)]),
             lambda module: module.NumExpr("a", [("a", float), ("b", np.complex128)]),
             lambda module: module.NumExpr("~a", [("a", float), ("c", float)]),
             # a type numexpr has no kind for before building the tree (a negative axis), which is built
             # with the signature's kinds: a complex ``c / -0.0`` divides, a double one folds into
             # ``c * (1 / -0.0)``, Python's ZeroDivisionError
             lambda module: module.NumExpr("sum(b, axis=-1)", [("b", np.float32)]),
             lambda module: module.NumExpr("isnan(c) < (c / -0.0)", [("c", complex)]),
             lambda module: module.NumExpr("a / -0.0", [("a", np.float64)])]
    for call in calls:
        errors = []
        for module in (real, ne):
            with pytest.raises(Exception) as caught:
                call(module)
            errors.append(caught.type)
        assert errors[0] is errors[1]


def test_numexpr_objects_build_the_tree_with_the_signatures_kinds():
    real = pytest.importorskip("numexpr")
    c = np.array([1 + 1j, -2j])
    results = [module.NumExpr("c / -0.0", [("c", complex)]).run(c) for module in (real, ne)]
    np.testing.assert_array_equal(results[1], results[0])  # (NaN parts: complex division by a zero)
    assert results[1].dtype == np.complex128


def test_a_thread_count_that_is_not_an_integer_is_ignored_at_import():
    code = "import fusenum.numexpr as ne\nprint(ne.nthreads, flush=True)\nne._init_num_threads()"
    default = _python(code).stdout.split()
    result = _python(code, NUMEXPR_NUM_THREADS="2.5")
    assert result.stdout.split() == default and "ValueError: invalid literal for int()" in result.stderr


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # (np.matrix's)
def test_numexpr_objects_take_ndarray_subclasses_as_numexpr_does(tmp_path):
    """Computed as plain arrays (a masked array's data); an elementwise result is of the input
    subclass of the highest ``__array_priority__`` above ndarray's, a reduction's a plain array."""
    import numexpr as real

    class Plain(np.ndarray):
        pass
    mapped = np.memmap(tmp_path / "x.dat", dtype=np.float64, mode="w+", shape=(3,))
    mapped[:] = [1.0, 2.0, 3.0]
    inputs = [np.matrix([[1.5, 2.5]]), np.matrix([[1], [2]], dtype=np.int32), mapped,
              np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0]), np.arange(3.0).view(Plain),
              np.ma.masked_array(np.arange(6.0).reshape(2, 3), mask=[[0, 1, 0], [1, 0, 0]])]
    for text in ("a * 2", "a > 1", "where(a > 1, a, 0)", "sum(a)", "sum(a, axis=0)", "prod(a, axis=1)"):
        for value in inputs:
            results = []
            for module in (real, ne):
                try:
                    results.append(module.NumExpr(text, [("a", np.float64)])(value))
                except (RuntimeError, ValueError) as error:  # (a matrix cannot hold a 1-d result; axis 1 of 1-d)
                    results.append(type(error).__name__)
            assert type(results[1]) is type(results[0]), (text, type(value))
            np.testing.assert_array_equal(np.asarray(results[1]), np.asarray(results[0]))
    pair = [module.NumExpr("a * b", [("a", np.float64), ("b", np.float64)]) for module in (real, ne)]
    for a, b in [(inputs[0], inputs[3][:2].reshape(1, 2)), (np.ones((1, 2)), inputs[0])]:
        assert type(pair[1](a, b)) is type(pair[0](a, b))
    for module in (real, ne):  # a matrix cannot hold the three dimensions of the result
        with pytest.raises(RuntimeError, match="array subtype which changed the dimensions"):
            pair[module is ne](inputs[0], np.ones((2, 1, 2)))


def test_numexpr_object_defaults_and_errors():
    compiled = ne.NumExpr("sin(x) + x")
    assert compiled.signature == b"d" and compiled.input_names == ("x",)
    with pytest.raises(ValueError, match="input names"):
        ne.NumExpr("a + b", [("a", float)])
    for kind_type in (np.uint8, np.int16, int, np.float32, np.bool_, np.complex128):  # numexpr's KeyError
        with pytest.raises(KeyError, match="unknown type"):
            ne.NumExpr("a", [("a", kind_type)])


def test_numexpr_object_casts_its_inputs_under_the_calls_casting_rule():
    compiled = ne.NumExpr("a + 1", [("a", np.int32)])
    assert compiled(np.array([0.5, 1.5]), casting="unsafe", ex_uses_vml=False).tolist() == [1, 2]
    with pytest.raises(TypeError, match="from dtype\\('float64'\\) to dtype\\('int32'\\) according to the rule 'safe'"):
        compiled(np.array([0.5, 1.5]))
    with pytest.raises(TypeError, match="according to the rule 'safe'"):  # uint64 into int64 is not safe
        ne.NumExpr("a + 1", [("a", np.int64)])(np.arange(3, dtype=np.uint64))
    assert ne.NumExpr("a + 1", [("a", np.int64)])(np.arange(3, dtype=np.uint64), casting="same_kind",
                                                   ex_uses_vml=False).tolist() == [1, 2, 3]


@pytest.mark.parametrize("kind_type, value, expected", [
    (float, [1.5, 2.5], np.array([1.5, 2.5], np.float32)),
    (np.int32, [1.5, 2.7], np.array([1, 2], np.int32)),       # converted as NumPy converts, not cast 'safe'
    (np.int32, 3.7, np.array(3, np.int32)),
    (np.int32, np.float64(1.5), np.array(1, np.int32)),      # a NumPy scalar is not an ndarray
    (bool, [2, 0], np.array([True, False])),
    (np.float64, None, np.array(np.nan)),
])
def test_numexpr_object_converts_what_is_not_an_array_to_its_signature(kind_type, value, expected):
    """numexpr converts an input that is not an ndarray (a list, a scalar, a pandas Series) straight to
    the signature's dtype; only ndarrays are cast under the call's rule."""
    got = ne.NumExpr("a", [("a", kind_type)])(value)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_numexpr_object_converts_bytes_that_are_not_an_array_whole():
    compare = ne.NumExpr("a == b", [("a", bytes), ("b", bytes)])
    assert compare([b"abc", b"abd"], np.array([b"abc", b"abc"])).tolist() == [True, False]
    search = ne.NumExpr("contains(a, b)", [("a", bytes), ("b", bytes)])
    assert search(np.array([b"hello", b"xyz"]), b"elx").tolist() == [False, False]


def test_numexpr_object_converts_a_pandas_series_to_its_signature():
    pd = pytest.importorskip("pandas")
    got = ne.NumExpr("a * 2", [("a", np.int32)])(pd.Series([1.5, 2.5]))
    assert got.dtype == np.int32 and got.tolist() == [2, 4]
    with pytest.raises(OverflowError):  # NumPy's error, as numexpr gives it
        ne.NumExpr("a", [("a", np.int32)])([2 ** 40])


def test_re_evaluate_runs_the_program_typed_before_casting_new_values_to_it():
    y = np.arange(3, dtype=np.int32)
    ne.validate("y * 2")  # casting='safe'
    y = np.arange(3.0)
    with pytest.raises(TypeError, match="according to the rule 'safe'"):
        ne.re_evaluate()
    y = np.arange(3.0)
    ne.validate("y * 2")
    y = np.arange(3, dtype=np.int32)
    assert ne.re_evaluate().dtype == np.float64
    y = np.arange(3, dtype=np.int32)
    ne.evaluate("y * 2")  # casting='same_kind'
    y = np.arange(3, dtype=np.int64)
    assert ne.re_evaluate().dtype == np.int32


@pytest.mark.parametrize("value", [np.array(["a", "b"]), np.array([1, 2], object),
                                   np.array(["2020-01-01"], "M8[D]")])
def test_re_evaluate_refuses_a_new_value_of_no_kind_with_the_casts_type_error(value):
    # numexpr's re_evaluate casts new values to the compiled kinds: a str, object or datetime array is
    # that cast's TypeError (evaluate, which types the text for them, raises ValueError).
    ne.evaluate("a * 2", local_dict={"a": np.ones(2)})
    with pytest.raises(TypeError):
        ne.re_evaluate(local_dict={"a": value})


def test_an_empty_value_skips_the_casts_of_compiled_programs():
    # numexpr's shortcut for empty operands comes before its casts: the program's empty result.
    ne.evaluate("a * 2", local_dict={"a": np.ones(2, np.int32)}, casting="no")
    for value in (np.zeros(0), np.zeros(0, "U2"), np.zeros(0, np.int8)):
        result = ne.re_evaluate(local_dict={"a": value})
        assert result.dtype == np.int32 and result.shape == (0,)
    compiled = ne.NumExpr("a + b", [("a", bool), ("b", np.int32)])
    assert compiled(np.zeros(0, np.int8), np.ones(3)).dtype == np.int32


def test_long_double_operands_compute_as_doubles():
    for wide, narrow in ((np.longdouble, np.float64), (np.clongdouble, np.complex128)):
        a = np.arange(3, dtype=wide)
        result = ne.evaluate("a * 2")
        assert result.dtype == narrow and result.tolist() == [0, 2, 4]


def test_python_and_or_return_their_last_operand_untested():
    a = np.arange(3.0)
    assert ne.evaluate("1 and a").tolist() == ne.evaluate("0 or 0 or a").tolist() == [0.0, 1.0, 2.0]
    assert ne.evaluate("0 and a")[()] == 0 and ne.evaluate("1 or a")[()] == 1
    with pytest.raises(TypeError, match="boolean operators"):
        ne.evaluate("a and 1")


@pytest.mark.parametrize("text, message", [("abs(a, 1)", "'absolute_ddi'"), ("sin(a, a)", "'sin_ddd'"),
                                           ("arctan2(a)", "'arctan2_dd'"), ("complex(a)", "'complex_cd'")])
def test_a_function_given_the_wrong_number_of_arguments_has_no_opcode(text, message):
    with pytest.raises(NotImplementedError, match=f"couldn't find matching opcode for {message}"):
        ne.evaluate(text, local_dict={"a": np.ones(2)})


def test_a_function_of_constants_is_called_however_many_they_are():
    # numexpr folds a function of constants (none at all included) by calling it: Python's complex()
    # is 0j, complex(1) is 1+0j; NumPy's ufuncs raise their own TypeError for a wrong count.
    a = np.ones(2)
    assert ne.evaluate("complex()")[()] == 0j and ne.evaluate("complex(1)")[()] == 1 + 0j
    assert ne.evaluate("a + complex()").tolist() == [1 + 0j, 1 + 0j]
    for text in ("arctan2(1)", "complex(1, 2, 3)", "sin()"):
        with pytest.raises(TypeError):
            ne.evaluate(text)


def test_disassemble_lists_the_program_in_numexprs_shape():
    rows = ne.disassemble(ne.NumExpr("2*a + b/3.0", [("a", np.int32), ("b", float)]))
    # (constants numbered in numexpr's order: by kind name, double before int, then by value)
    assert rows == [[b"mul_iii", b"t5", b"r1[a]", b"c4[2]"],
                    [b"cast_df", b"t6", b"r2[b]", None],
                    [b"div_ddd", b"t7", b"t6", b"c3[3.0]"],
                    [b"cast_di", b"t8", b"t5", None],
                    [b"add_ddd", b"r0", b"t8", b"t7"]]
    assert ne.disassemble(ne.NumExpr("sum(x, axis=1)")) == [[b"sum_ddn", b"r0", b"r1[x]", 1]]


@pytest.mark.parametrize("text, signature", [
    ("a*2 + b*3 + 1.5 + a*2.5 - 3", [("a", np.int64), ("b", float)]),
    ("where(a > 1, 3, -1) + 2*a + 1j", [("a", np.int64)]),
    ("b*2 + a + 1.5", []),
    ("where(b, a, 1) + (a > 0.5) * 2j", [("a", np.float64), ("b", bool)]),
    ("where(a > 1, True, b)", [("a", np.int64), ("b", bool)]),
])
def test_numexpr_object_constants_come_in_numexprs_order(text, signature):
    real = pytest.importorskip("numexpr")
    ours, theirs = ne.NumExpr(text, signature).constants, real.NumExpr(text, signature).constants
    assert [(type(x), x) for x in ours] == [(type(x), x) for x in theirs]


def test_a_name_repeated_in_a_signature_takes_the_last_argument():
    compiled = ne.NumExpr("a*2", [("a", np.float64), ("a", np.float64)])
    np.testing.assert_array_equal(compiled(np.array([1.0]), np.array([5.0])), [10.0])


def test_a_bytes_signature_converts_numbers_as_numpy_writes_them():
    compiled = ne.NumExpr("a < b", [("a", bytes), ("b", bytes)])
    # b'1.0' < b'3.0' and b'20.0' < b'3.0', as strings; b'True' < b'T' is not
    np.testing.assert_array_equal(compiled(np.array([1.0, 20.0]), np.array([3.0, 3.0])), [True, True])
    np.testing.assert_array_equal(compiled(np.array([True]), np.array([b"T"])), [False])
    message = "could not be cast from dtype('<U1') to dtype('S1') according to the rule 'safe'"
    with pytest.raises(TypeError, match=re.escape(message)):
        compiled(np.array(["1"]), np.array([b"3"]))


def test_numexpr_object_shows_fusenums_ir():
    compiled = ne.NumExpr("a * 2", [("a", np.int32)])
    assert repr(compiled.ir) == "multiply(in0:int32, np.int32(2)):int32"


def test_threads_are_fusenums():
    previous = ne.set_num_threads(1)
    try:
        assert ne.get_num_threads() == 1 == fusenum.get_num_threads()
        assert ne.set_num_threads(2) == 1
        assert ne.set_num_threads(True) == 2 and ne.get_num_threads() == 1  # a bool is an int to numexpr
    finally:
        ne.set_num_threads(previous)


@pytest.mark.parametrize("count, message", [
    (0, "nthreads must be a positive integer"),
    (ne.MAX_THREADS + 1, 'nthreads cannot be larger than environment variable "NUMEXPR_MAX_THREADS"'),
])
def test_out_of_range_thread_counts_warn_and_return_minus_one(count, message):
    before = ne.get_num_threads()
    with pytest.warns(RuntimeWarning, match=message):
        assert ne.set_num_threads(count) == -1
    assert ne.get_num_threads() == before


def test_thread_count_must_be_an_integer():
    with pytest.raises(TypeError, match="'float' object cannot be interpreted as an integer"):
        ne.set_num_threads(2.5)


def test_detected_cores():
    assert ne.ncores == ne.detect_number_of_cores() == os.sysconf("SC_NPROCESSORS_ONLN")
    assert 1 <= ne.detect_number_of_threads() <= ne.MAX_THREADS


@pytest.mark.parametrize("env, expected", [
    ({"NUMEXPR_NUM_THREADS": "1"}, 1),
    ({"OMP_NUM_THREADS": "1"}, 1),
    ({"NUMEXPR_NUM_THREADS": "1", "OMP_NUM_THREADS": "2"}, 1),
    ({"FUSENUM_NUM_THREADS": "2", "NUMEXPR_NUM_THREADS": "1"}, None),  # fusenum's own variable wins
    ({}, None),                                                         # fusenum's default stays
])
def test_numexprs_thread_variables(monkeypatch, env, expected):
    for name in ("NUMEXPR_NUM_THREADS", "OMP_NUM_THREADS", "FUSENUM_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = fusenum.get_num_threads()
    try:
        expected = before if expected is None else expected
        assert settings.initial_threads() == expected == fusenum.get_num_threads()
    finally:
        fusenum.set_num_threads(before)


@pytest.mark.parametrize("value, expected", [("4", 4), ("", None), ("x", None), ("0", None), (" 3 ", 3)])
def test_numexpr_max_threads(monkeypatch, value, expected):
    monkeypatch.setenv("NUMEXPR_MAX_THREADS", value)
    assert settings._given_max_threads() == expected


def test_the_thread_variables_apply_at_import():
    result = _python("import fusenum, fusenum.numexpr as ne\n"
                     "print(ne.nthreads, fusenum.get_num_threads(), ne.MAX_THREADS)",
                     NUMEXPR_MAX_THREADS="1", NUMEXPR_NUM_THREADS="2")
    assert result.stdout.strip() == "1 1 1", result.stderr


@pytest.mark.parametrize("name, value", [("OMP_NUM_THREADS", "3,2"), ("OMP_NUM_THREADS", "abc"),
                                         ("NUMEXPR_NUM_THREADS", "x"), ("NUMEXPR_NUM_THREADS", "1.5")])
def test_a_thread_variable_that_is_not_an_integer_never_breaks_import_fusenum(name, value):
    result = _python("import fusenum, fusenum.numexpr as ne\nprint(ne.nthreads)", FUSENUM_NUMEXPR="1",
                     **{name: value})
    assert result.returncode == 0, result.stderr
    assert f"{name}={value!r} is not" in result.stderr  # a warning names it
    if value == "3,2":  # fusenum reads OpenMP's first entry (numexpr's int() would fail), and says so
        assert result.stdout.split() == ["3"]
        assert "takes its first entry, 3" in result.stderr and "ignores" not in result.stderr


def test_numexpr_thread_counts_beyond_fusenums_cap_are_capped_not_refused():
    result = _python("import fusenum, fusenum.numexpr as ne\nprint(ne.nthreads, ne.set_num_threads(2000), "
                     "ne.get_num_threads())", FUSENUM_NUMEXPR="1", NUMEXPR_MAX_THREADS="2048",
                     NUMEXPR_NUM_THREADS="2000")
    assert result.stdout.split() == ["1024", "1024", "1024"], result.stderr


def test_numexpr_max_threads_alone_bounds_the_default_count():
    code = "import {module} as ne\nprint(ne.nthreads, ne.get_num_threads(), ne.MAX_THREADS)"
    for module in ("numexpr", "fusenum.numexpr"):
        result = _python(code.format(module=module), NUMEXPR_MAX_THREADS="1")
        assert result.stdout.split() == ["1", "1", "1"], (module, result.stdout, result.stderr)


def test_vml_calls_are_accepted_no_ops():
    assert ne.use_vml is False and ne.get_vml_version() is None
    assert ne.set_vml_accuracy_mode("high") is None and ne.set_vml_num_threads(4) is None
    assert ne.set_vml_accuracy_mode("ultra") is None
    real = pytest.importorskip("numexpr")
    if not real.use_vml:  # (numexpr's wheels: then it checks no mode either)
        assert real.set_vml_accuracy_mode("ultra") is None


def test_print_versions(capsys):
    ne.print_versions()
    text = capsys.readouterr().out
    assert "Numexpr version:   2.14.2+fusenum" in text and f"NumPy version:     {np.__version__}" in text
    assert f"Maximum number of threads: {ne.MAX_THREADS}" in text


def test_python_m_usage(capsys):
    assert main([]) == 2 and "usage: python -m fusenum.numexpr" in capsys.readouterr().err
    assert main(["-m"]) == 2
    assert main(["--help"]) == 0 and "usage:" in capsys.readouterr().out


def test_python_m_names_what_it_cannot_run_in_one_line_as_python_does(tmp_path, capsys):
    """Not runpy's traceback; python's own messages and exit statuses."""
    missing = tmp_path / "missing.py"
    assert main([str(missing)]) == 2
    assert capsys.readouterr().err == (f"python -m fusenum.numexpr: can't open file {str(missing)!r}: "
                                       "No such file or directory\n")
    assert main(["-m", "no_such_module_anywhere"]) == 1
    assert capsys.readouterr().err == "python -m fusenum.numexpr: No module named 'no_such_module_anywhere'\n"
    assert main(["-m", "no_such_package.module"]) == 1
    assert main([str(tmp_path)]) == 1
    assert "can't find '__main__' module in" in capsys.readouterr().err


def test_python_m_replaces_numexpr_before_a_packages_own_import_of_it(tmp_path):
    package = tmp_path / "uses_numexpr"
    package.mkdir()
    (package / "__init__.py").write_text("import numexpr as ne\n")
    (package / "run.py").write_text("from uses_numexpr import ne\nprint(ne.__version__)\n")
    result = subprocess.run([sys.executable, "-m", "fusenum.numexpr", "-m", "uses_numexpr.run"], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])},
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "2.14.2+fusenum", result.stderr


def test_fusenum_numexpr_environment_variable_installs_at_import():
    result = _python("import fusenum, numexpr\nprint(numexpr.__version__)", FUSENUM_NUMEXPR="1")
    assert result.stdout.strip() == "2.14.2+fusenum", result.stderr


def test_install_and_uninstall_replace_the_numexpr_module():
    before = sys.modules.get("numexpr")
    ne.install()
    try:
        import numexpr
        assert numexpr is ne and ne.installed()
    finally:
        ne.uninstall()
    assert sys.modules.get("numexpr") is before and not ne.installed()


def test_no_numpy_warnings_escape():
    a = np.array([0.0, -1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ne.evaluate("log(a) / a")


_CAST_REFUSED = re.escape("could not be cast from")


@pytest.mark.parametrize("dtype, refused", [
    ("int8", "no equiv"), ("uint8", "no equiv"), ("int16", "no equiv"), ("uint16", "no equiv"),
    ("int32", ""), ("uint32", "no equiv"), ("int64", ""), ("uint64", "no equiv safe"),
    ("float16", "no equiv"),
    ("float32", ""), ("float64", ""), ("complex64", "no equiv"), ("complex128", ""), ("bool", ""),
    ("longdouble", "no equiv safe"), ("clongdouble", "no equiv safe"), (">f8", "no"), (">i4", "no"),
])
def test_inputs_cast_to_their_kind_under_the_casting_rule(dtype, refused):
    # numexpr's iterator casts each input to its kind's dtype under ``casting``, as it does the output.
    a = np.arange(3).astype(dtype)
    for casting in ("no", "equiv", "safe", "same_kind", "unsafe"):
        if casting in refused.split():
            with pytest.raises(TypeError, match=f"Iterator operand 1 dtype {_CAST_REFUSED} .* according to "
                                                f"the rule '{casting}'"):
                ne.evaluate("a * 2", casting=casting)
        else:
            assert ne.evaluate("a * 2", casting=casting).tolist() == (a * 2).tolist()


@pytest.mark.parametrize("casting", ["no", "equiv"])
def test_a_reductions_inputs_are_checked_before_its_out(casting):
    # numexpr iterates a reduction into ``out`` without the output: the input (operand 0 then) is
    # refused first, even where ``out`` would be refused too.
    a = np.arange(3).astype("int8")
    with pytest.raises(TypeError, match=re.escape(f"Iterator operand 0 dtype could not be cast from "
                                                  f"dtype('int8') to dtype('int32') according to the "
                                                  f"rule '{casting}'")):
        ne.evaluate("sum(a)", out=np.zeros((), "int8"), casting=casting)
    with pytest.raises(TypeError, match="Iterator operand 1 dtype"):
        ne.evaluate("sum(a)", casting=casting)


def test_a_python_int_beyond_int64_is_not_a_safe_input():
    # pandas' ``series + 2**63`` calls evaluate(..., casting='safe'); on the TypeError it uses NumPy.
    a = np.arange(3.0)
    for b in (2**63, np.uint64(5)):
        with pytest.raises(TypeError, match=re.escape("Iterator operand 2 dtype could not be cast from "
                                                      "dtype('uint64') to dtype('int64') according to the "
                                                      "rule 'safe'")):
            ne.evaluate("a + b", casting="safe")
    assert ne.evaluate("a + b", local_dict={"a": a, "b": 2**63})[0] == -(2.0**63)  # same_kind: it wraps
    assert ne.validate("a + b", local_dict={"a": a, "b": 2**63}, casting="safe") is None  # refused when run
    with pytest.raises(TypeError, match=_CAST_REFUSED):
        ne.re_evaluate(local_dict={"a": a, "b": 2**63})


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@pytest.mark.parametrize("text, names, out", [
    ("a * b", {"a": np.ones(5), "b": np.ones(3)}, None),
    ("b * a + 1", {"a": np.ones(5), "b": np.ones(3)}, None),  # (operands in numexpr's order: sorted names)
    ("A * B * z", {"A": np.ones((4, 5)), "B": np.ones((4, 3)), "z": np.float64(2)}, None),
    ("where(a > 0, b, 1.0)", {"a": np.ones(5), "b": np.ones(3)}, None),
    ("a * b", {"a": np.ones(5, np.int8), "b": np.ones(3)}, None),  # (before the int8 input's cast)
    ("a * b", {"a": np.ones(5), "b": np.ones(3)}, np.empty(5)),  # (``out`` listed first)
    ("a * b", {"a": np.ones(5), "b": np.ones(5)}, np.empty((2, 3))),
    ("a * 2", {"a": np.ones(5)}, np.empty(3, np.int8)),  # (before the output's cast)
    ("a * b", {"a": np.ones((2, 5)), "b": np.ones((1, 5))}, np.empty(5)),  # non-broadcastable output
    ("a * b", {"a": np.ones(5), "b": np.ones((3, 1))}, np.empty((2, 5))),
    ("a + a", {"a": np.ones((4, 5))}, np.empty(5, np.longdouble)),  # (through NumPy's cast)
    ("a * b", {"a": np.ones(5), "b": np.ones(3)}, np.empty((2, 3), np.longdouble)),
    ("sum(a * b)", {"a": np.ones(5), "b": np.ones(3)}, None),  # (a full reduction's 0-d result first)
    ("sum(a * b)", {"a": np.ones(5), "b": np.ones(3)}, np.empty(1)),
    ("a * b", {"a": np.ones(5), "b": np.ones(3)}, _read_only(np.empty(5))),  # read-only comes first
    ("sum(a * b)", {"a": np.ones(5), "b": np.ones(3)}, _read_only(np.empty(()))),
    ("sum(a * b, axis=0)", {"a": np.ones(5, np.uint64), "b": np.ones(5)}, _read_only(np.empty(()))),
])
def test_operands_that_do_not_broadcast_are_numexprs_value_error(text, names, out):
    # numexpr's iterator raises them in NumPy's words, the ones pandas users get where NumPy computes:
    # each operand's shape, ``out`` first, in NumPy's spelling ("(2,3) ", not "(2, 3)").
    import numexpr as real

    messages = []
    for module in (real, ne):
        with pytest.raises(ValueError) as raised:
            module.evaluate(text, local_dict=names, out=None if out is None else out, casting="safe")
        messages.append(str(raised.value))
    assert messages[1] == messages[0]


def test_operands_that_do_not_broadcast_in_an_axis_reduction_are_a_value_error():
    # (numexpr's words there name the shapes its nested iterator remaps; these are NumPy's plain ones)
    a, b = np.ones((4, 5)), np.ones((4, 3))
    message = "operands could not be broadcast together with shapes (4,5) (4,3) "
    with pytest.raises(ValueError, match=re.escape(message)):
        ne.evaluate("sum(a * b, axis=1)")
    with pytest.raises(ValueError, match=re.escape(message)):
        ne.evaluate("sum(a * b, axis=1)", out=np.empty(4))


def test_input_casts_are_checked_after_the_empty_and_earlier_iterator_errors():
    big = np.arange(3, dtype=np.uint64)
    assert ne.evaluate("a + 1", local_dict={"a": big[:0]}, casting="safe").shape == (0,)
    with pytest.raises(ValueError, match="broadcast"):
        ne.evaluate("a + b", local_dict={"a": big, "b": np.ones(4)}, casting="safe")
    with pytest.raises(TypeError, match="float64.*int32"):  # the output's cast comes first
        ne.evaluate("a + 1.5", local_dict={"a": big}, out=np.empty(3, np.int32), casting="safe")
    with pytest.raises(ValueError, match="reduction axis is out of bounds"):
        ne.evaluate("sum(a, axis=1)", local_dict={"a": big}, casting="safe")



@pytest.mark.parametrize("out_dtype, casting", [("int32", "equiv"), ("longdouble", "no")])
def test_an_out_the_result_does_not_broadcast_to_is_refused_before_the_inputs_casts(out_dtype, casting):
    # numexpr's iterator checks the shapes, ``out``'s included, before any cast: a ValueError, not the
    # int8 input's TypeError (a long double ``out``, written through NumPy's cast, too).
    a = np.zeros(3, np.int8)
    with pytest.raises(ValueError, match="shape"):
        ne.evaluate("a + 1", out=np.zeros(2, out_dtype), casting=casting)
    with pytest.raises(TypeError):
        ne.evaluate("a + 1", out=np.zeros(3, out_dtype), casting=casting)


@pytest.mark.parametrize("text, value, out_dtype", [
    ("a + 1", 1.0, "float64"), ("a", np.ones(3), "float64"), ("a * 2", np.ones(3), "longdouble"),
    ("sum(a, axis=0)", np.ones((2, 1)), "int8"),
])
def test_an_empty_out_with_no_empty_operand_is_numexprs_value_error(text, value, out_dtype):
    # numexpr's iterator takes no zero-sized operand (an empty input has its own shortcut), even
    # where NumPy would broadcast into an empty ``out``; before any cast is checked.
    out = np.zeros((0, 3) if out_dtype != "int8" else (0,), out_dtype)
    with pytest.raises(ValueError, match="zero-sized"):
        ne.evaluate(text, local_dict={"a": value}, out=out)


def test_a_long_double_out_is_left_alone_for_an_empty_operand():
    # numexpr's shortcut for an empty operand returns a new empty array, as for any other ``out``.
    out = np.zeros(0, np.longdouble)
    result = ne.evaluate("a + 1", local_dict={"a": np.zeros(0)}, out=out)
    assert result is not out and result.dtype == np.float64 and result.shape == (0,)


def test_an_axis_reductions_out_is_checked_before_its_inputs_casts():
    # numexpr's iterator takes an axis reduction's ``out`` as operand 0: read-only, then its shape,
    # then its cast back to the reduction's dtype come first; the inputs count from 1.
    b = np.zeros((2, 3), np.int8)
    read_only = np.zeros(3, np.int32)
    read_only.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        ne.evaluate("sum(b, axis=1)", out=read_only, casting="no")
    with pytest.raises(ValueError, match="shape"):
        ne.evaluate("sum(b, axis=1)", out=np.zeros(3, np.int32), casting="no")
    with pytest.raises(TypeError, match=re.escape("operand 0 dtype could not be cast from dtype('float64')")):
        ne.evaluate("sum(b, axis=1)", out=np.zeros(2), casting="equiv")
    with pytest.raises(TypeError, match=re.escape("operand 1 dtype could not be cast from dtype('int8')")):
        ne.evaluate("sum(b, axis=1)", out=np.zeros(2, np.int32), casting="equiv")

def test_sixty_four_inputs_are_too_many():
    names = {f"c{i}": np.ones(3) for i in range(64)}
    text = " + ".join(names)
    assert ne.validate(text, local_dict=names) is None  # numexpr compiles it, then refuses to run it
    with pytest.raises(ValueError, match="^too many inputs$"):
        ne.evaluate(text, local_dict=names)
    with pytest.raises(ValueError, match="^too many inputs$"):
        ne.evaluate(text, local_dict={name: np.ones(0) for name in names})
    with pytest.raises(ValueError, match="^too many inputs$"):
        ne.NumExpr(text)(*names.values())
    del names["c63"]
    assert ne.evaluate(" + ".join(names), local_dict=names).tolist() == [63.0] * 3


@pytest.mark.parametrize("dtype, out_dtype, shape, returned", [
    ("int8", "int8", (), "int32"),          # numexpr sums int8 as int32: a new array comes back
    ("float64", "float32", (1,), "float64"),
    ("int16", "int64", (1, 1), "int32"),
    ("float32", "float32", (1,), None),     # the reduction's own dtype: ``out`` itself comes back
])
def test_a_full_reduction_into_out_returns_numexprs_array(dtype, out_dtype, shape, returned):
    # numexpr (2.14) takes any one-element ``out`` for a full reduction and writes the sum there;
    # when ``out`` has another dtype it returns a new array of the reduction's dtype, shaped as ``out``.
    a = np.arange(1, 7).astype(dtype)
    out = np.zeros(shape, out_dtype)
    result = ne.evaluate("sum(a)", out=out, casting="unsafe")
    assert out.ravel().tolist() == [21]
    if returned is None:
        assert result is out
    else:
        assert result is not out and result.dtype == returned and result.shape == shape
        assert result.ravel().tolist() == [21]


def test_a_full_reduction_needs_a_one_element_out():
    with pytest.raises(ValueError):
        ne.evaluate("sum(a)", local_dict={"a": np.arange(3.0)}, out=np.zeros(2))


@pytest.mark.parametrize("casting", ["safe", "same_kind", "no"])
def test_a_reduction_reads_out_so_out_must_cast_back(casting):
    # numexpr's iterator reads ``out`` into the reduction as well as writing it: an int64 ``out`` of an
    # int32 sum is refused under 'safe' (int64 -> int32), as a float64 one is under 'same_kind'.
    a = np.arange(3, dtype="int32")
    for out_dtype, refused in (("int64", ("safe", "no")), ("float64", ("safe", "same_kind", "no"))):
        out = np.zeros((), out_dtype)
        if casting in refused:
            with pytest.raises(TypeError, match=re.escape(
                    f"Iterator operand 0 dtype could not be cast from dtype('{out_dtype}') to dtype('int32') "
                    f"according to the rule '{casting}'")):
                ne.evaluate("sum(a)", out=out, casting=casting)
        else:
            assert ne.evaluate("sum(a)", out=out, casting=casting).tolist() == 3 and out[()] == 3


def test_a_reductions_out_errors_are_numexprs_before_its_casts():
    a = np.arange(4, dtype=np.int8)
    with pytest.raises(ValueError, match="out argument must have size 1 for a full reduction"):
        ne.evaluate("sum(a)", out=np.zeros(2, np.int64))
    read_only = np.zeros(1, np.int64)
    read_only.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        ne.evaluate("sum(a)", out=read_only)
    empty = np.zeros(0)  # (numexpr's shortcut for an empty operand comes after the check)
    for out in (np.full(3, 7.0), np.zeros(0)):
        with pytest.raises(ValueError, match="out argument must have size 1 for a full reduction"):
            ne.evaluate("sum(empty, axis=0)", out=out)
    assert ne.evaluate("sum(empty)", out=np.zeros(1)).shape == (0,)  # numexpr's empty result, out untouched


def test_a_wrong_out_shape_is_numexprs_value_error_before_a_cast_error():
    m = np.arange(6.0).reshape(2, 3)
    with pytest.raises(ValueError, match="shape"):  # complex128 would not cast back to float64 either
        ne.evaluate("sum(m, axis=1)", out=np.zeros(3, np.complex128), casting="same_kind")
    a = np.arange(20.0).reshape(4, 5)
    with pytest.raises(ValueError, match="non-broadcastable output operand"):  # long double: NumPy's cast
        ne.evaluate("a + a", out=np.zeros(5, np.longdouble), casting="no")


def test_the_one_axis_of_a_1d_operand_reduces_as_a_full_reduction_into_out():
    # numexpr treats a reduction to a 0-d result as a full one: any one-element ``out`` takes it.
    a = np.arange(1, 5, dtype=np.int8)
    out = np.zeros(1, np.int32)
    assert ne.evaluate("sum(a, axis=0)", out=out) is out and out.tolist() == [10]
    out = np.zeros((), np.int64)
    result = ne.evaluate("sum(a, axis=0)", out=out, casting="same_kind")
    assert result is not out and result.dtype == np.int32 and result[()] == 10 and out[()] == 10


def test_a_constant_expression_into_out_follows_numexprs_rules():
    """No input: any one-element ``out`` takes the value; its dtype must cast 'safe' to the result's
    whatever ``casting`` says; ``out`` is returned only where it has the result's dtype."""
    out = np.zeros((1, 1))
    assert ne.evaluate("2.5", out=out) is out and out.tolist() == [[2.5]]
    out = np.zeros(1, np.int32)
    result = ne.evaluate("2.5", out=out, casting="no")
    assert result is not out and result.dtype == np.float64 and result.tolist() == [2.5] and out.tolist() == [2]
    for bad in (np.zeros(3), np.zeros(0)):
        with pytest.raises(ValueError, match="output for a constant expression must have size 1"):
            ne.evaluate("2.5", out=bad)
    with pytest.raises(TypeError, match=re.escape("from dtype('float64') to dtype('int32') according to the rule 'safe'")):
        ne.evaluate("2 + 3", out=np.zeros(1))  # (2 + 3 is numexpr's int)
    read_only = np.zeros(1)
    read_only.setflags(write=False)
    with pytest.raises(ValueError, match="not writeable"):
        ne.evaluate("2.5", out=read_only)
    with pytest.raises(TypeError, match="according to the rule 'safe'"):  # long double does not cast to float64
        ne.evaluate("2.5", out=np.zeros(1, np.longdouble))


@pytest.mark.parametrize("text", ["10**10**10", "1 << 10**10", "a + 7**7**7**7"])
def test_a_huge_integer_constant_is_an_overflow_error_at_once(text):
    # Two Python ints were folded as Python folds them: for minutes, with memory growing (numexpr
    # itself hangs there; fusenum.evaluate refused at once).
    with pytest.raises(OverflowError, match="bits"):
        ne.evaluate(text, local_dict={"a": np.arange(3.0)})


def test_f_strings_are_the_str_numexpr_makes_of_them():
    a, s = np.arange(3.0), np.array([b"x", b"y"])
    assert ne.evaluate("s == f'x'").tolist() == [True, False]
    with pytest.raises(TypeError, match="strings can only be operated with strings"):
        ne.evaluate("a + f'x'")
    with pytest.raises(ValueError, match="f-string with fields"):  # numexpr: ValueError, a str has no itemsize
        ne.evaluate("f'{a}'")


def test_an_out_of_an_ndarray_subclass_is_written_and_returned_as_numexprs(tmp_path):
    import numexpr as real

    a = np.arange(4.0)
    for module in (real, ne):
        mapped = np.memmap(tmp_path / f"{module.__name__}.bin", dtype=np.float64, mode="w+", shape=(4,))
        assert module.evaluate("a + 1", {"a": a}, out=mapped) is mapped
        np.testing.assert_array_equal(np.asarray(mapped), a + 1)
        one = np.memmap(tmp_path / f"{module.__name__}.sum", dtype=np.float64, mode="w+", shape=(1,))
        assert module.evaluate("sum(a)", {"a": a}, out=one) is one and one[0] == 6.0
        masked = np.ma.masked_array(np.zeros(4), mask=[0, 1, 0, 0])
        assert module.evaluate("a * 2", {"a": a}, out=masked) is masked
        np.testing.assert_array_equal(masked.data, a * 2)
        np.testing.assert_array_equal(masked.mask, [False, True, False, False])


def test_a_complex_power_with_a_non_finite_exponent_is_an_array_not_a_crash():
    c = np.array([0.5 + 0j, 2 + 0j, 0j, 1 + 1j])
    for z in (np.inf, -np.inf, np.nan, np.array(np.inf)):
        for optimization in ("none", "moderate", "aggressive"):
            got = ne.evaluate("c ** z", optimization=optimization)
            assert got.dtype == np.complex128 and got.shape == c.shape
            assert got[2] == 0  # numexpr's zero base, before any power
    assert ne.evaluate("c ** 1e400", optimization="moderate").shape == c.shape


def test_numexprs_internals_are_named_as_not_provided():
    import numexpr as real

    for name in ne.NOT_PROVIDED:
        assert hasattr(real, name), f"numexpr has no {name!r}: drop it from NOT_PROVIDED"
        with pytest.raises(AttributeError, match=f"does not provide numexpr's '{name}'"):
            getattr(ne, name)
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        ne.nonsense


@pytest.mark.parametrize("dtype, casting", [(np.longdouble, "safe"), (np.clongdouble, "safe"), ("M8[s]", "unsafe"),
                                            ("M8[s]", "safe"), ("m8[s]", "unsafe"), ([("x", "f8")], "unsafe"),
                                            (np.longdouble, "no")])
def test_an_out_the_kernels_do_not_write_takes_numpys_cast_as_numexprs_iterator(dtype, casting):
    import numexpr as real

    a = np.arange(3.0)
    outcomes = []
    for module in (real, ne):
        out = np.zeros((2, 3), dtype)  # (the result broadcasts into it)
        try:
            outcomes.append((module.evaluate("a + 1", {"a": a}, out=out, casting=casting) is out, out.tolist()))
        except TypeError:
            outcomes.append("TypeError")
    assert outcomes[0] == outcomes[1]


def test_numexpr_sanitize_is_read_at_each_call_as_numexpr_reads_it(monkeypatch):
    import numexpr as real

    for module in (real, ne):
        monkeypatch.setenv("NUMEXPR_SANITIZE", "0")
        with pytest.raises(SyntaxError):  # (the sanitizer is off: Python's parser meets the text)
            module.evaluate("import os;", sanitize=None)
        monkeypatch.setenv("NUMEXPR_SANITIZE", "1")
        with pytest.raises(ValueError, match="forbidden control characters"):
            module.evaluate("import os;")
        monkeypatch.setenv("NUMEXPR_SANITIZE", "abc")
        with pytest.raises(ValueError, match="invalid literal"):
            module.evaluate("a + 1", {"a": np.ones(2)})
        monkeypatch.delenv("NUMEXPR_SANITIZE")
        with pytest.raises(ValueError, match="forbidden control characters"):
            module.evaluate("import os;")


def test_disassemble_gives_a_three_operand_row_numexprs_noop_row():
    import numexpr as real

    for module in (real, ne):
        rows = module.disassemble(module.NumExpr("where(m, a, -1)", [("m", bool), ("a", float)]))
        assert rows == [[b"where_fbff", b"r0", b"r1[m]", b"r2[a]", b"c3[-1.0]"], [b"noop", None, None, None]]
    rows = ne.disassemble(ne.NumExpr("a / b", [("a", float), ("b", float)]))
    assert rows == [[b"div_fff", b"r0", b"r1[a]", b"r2[b]"]]


def test_every_public_numexpr_name_is_here_or_named_as_not_provided():
    import numexpr as real

    # (``tests`` and ``cpuinfo`` are numexpr's test package and its helper, there once its tests ran)
    missing = {name for name in dir(real) if not hasattr(ne, name)} - {"tests", "cpuinfo"}
    assert missing == set(ne.NOT_PROVIDED), missing
    assert ne.is_cpu_amd_intel is False
    assert ne.E is ne.expressions.E
    with pytest.raises(NotImplementedError, match="test_numexpr_suite.py"):
        ne.test()


def _last_in_two_tasks(module) -> list:
    import asyncio

    async def task(text):
        module.evaluate(text, local_dict={"x": np.ones(2)})
        await asyncio.sleep(0)  # (the other task evaluates its text meanwhile)
        return module.re_evaluate(local_dict={"x": np.ones(2)}).tolist()

    async def both():
        return await asyncio.gather(task("x + 1"), task("x * 50"))

    return asyncio.run(both())


def test_re_evaluate_runs_the_last_expression_of_its_own_asyncio_task():
    # numexpr keeps the last expression in a context variable: each task (each context) has its own
    assert _last_in_two_tasks(ne) == [[2.0, 2.0], [50.0, 50.0]]
    real = pytest.importorskip("numexpr")
    assert _last_in_two_tasks(real) == [[2.0, 2.0], [50.0, 50.0]]


def test_an_expression_evaluated_in_a_copied_context_is_not_the_callers_last():
    import contextvars
    x = np.ones(2)
    ne.evaluate("x + 1")
    contextvars.copy_context().run(ne.evaluate, "x * 50", {"x": x})
    assert ne.re_evaluate().tolist() == [2.0, 2.0]


def test_clear_cache_keeps_the_last_expression_for_re_evaluate():
    a = np.arange(3.0)
    ne.evaluate("a * 2")
    fusenum.clear_cache()
    assert ne.re_evaluate().tolist() == [0.0, 2.0, 4.0]


@pytest.mark.parametrize("out", [[0.0] * 3, 5.0, "abc", np.float64(0)])
def test_an_out_that_is_not_an_array_is_numexprs_value_error(out):
    x = np.ones(3)
    with pytest.raises(ValueError, match="^out keyword parameter is not an array$"):
        ne.evaluate("x * 2", out=out, disable_cache=True)
    with pytest.raises(ValueError, match="^out keyword parameter is not an array$"):
        ne.NumExpr("x * 2")(x, out=out, ex_uses_vml=False)


@pytest.mark.parametrize("count, message", [(2**31, "greater than maximum"), (2**64, "greater than maximum"),
                                            (-2**31 - 1, "less than minimum")])
def test_a_thread_count_beyond_a_c_int_is_numexprs_overflow_error(count, message):
    before = ne.get_num_threads()
    with pytest.raises(OverflowError, match=f"^signed integer is {message}$"):
        ne.set_num_threads(count)
    assert ne.get_num_threads() == before


def test_the_text_is_checked_before_the_options():
    # (numexpr's order: the text, NUMEXPR_SANITIZE, then optimization/truediv and unknown keywords)
    assert str(ne.validate(5, foo=1)) == "must specify expression as a string"
    with pytest.raises(ValueError, match="must specify expression as a string"):
        ne.evaluate(5, foo=1)
    assert str(ne.validate("1", foo=1)) == "Unknown keyword argument 'foo'"


def test_python_m_puts_the_scripts_folder_first_on_the_path(tmp_path):
    # as ``python script.py`` does: a module beside the script imports from any working directory
    project = tmp_path / "project"
    project.mkdir()
    (project / "helper.py").write_text("VALUE = 42\n")
    (project / "script.py").write_text("import sys, numexpr, helper\n"
                                       "print(helper.VALUE, numexpr.__version__, sys.path[0])\n")
    result = subprocess.run([sys.executable, "-m", "fusenum.numexpr", str(project / "script.py")], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split() == ["42", "2.14.2+fusenum", str(project)], result.stderr
