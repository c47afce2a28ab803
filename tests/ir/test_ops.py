"""The op table is consistent with NumPy and with the lowering rules."""
import subprocess
import sys

import numpy as np
import pytest

from fusenum.codegen.rules import RULES
from fusenum.ir import nodes, numpy_behaviour
from fusenum.ir.ops import BINARY_SYMBOLS, FUNCTIONS, OPS, UNARY_SYMBOLS, Op, numpy_answers, numpy_materializes


@pytest.mark.parametrize("op", OPS.values(), ids=lambda op: op.name)
def test_every_rule_named_in_the_table_exists(op):
    for kind, rule in op.rules.items():
        assert kind in "biufcS"
        assert rule.partition(":")[0] in RULES


@pytest.mark.parametrize("op", [op for op in OPS.values() if op.ufunc is not None], ids=lambda op: op.name)
def test_ufunc_rows_match_numpy(op):
    assert op.ufunc.nin == op.arity
    assert op.ufunc.__name__ == op.name or op.name == "true_divide"
    codes = {"b": "?", "i": np.typecodes["Integer"], "u": np.typecodes["UnsignedInteger"], "f": "efdg", "c": "FDG"}
    for kind in op.rules:  # every kind the row lowers is a kind NumPy has a loop for
        if kind == "S":  # NumPy's bytes loops are registered the new way, not listed in .types
            assert op.ufunc.resolve_dtypes((np.dtype("S3"), np.dtype("S5"), None))[:2] == (np.dtype("S3"), np.dtype("S5"))
            continue
        if not any(sig.split("->")[0][0] in codes[kind] for sig in op.ufunc.types):
            # or did: NumPy 2.0 has no integer loops for floor, ceil, trunc (it casts to float),
            # so typing never picks that rule there.
            example = np.dtype(codes[kind][0])
            loop = op.ufunc.resolve_dtypes((example,) * op.arity + (None,))[op.loop_arg]
            assert loop.kind != kind, kind


def test_every_python_operator_has_a_row():
    assert set(BINARY_SYMBOLS) == {"+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^",
                                   "<", "<=", ">", ">=", "==", "!="}
    assert set(UNARY_SYMBOLS) == {"-", "+", "~"}
    assert {"where", "abs"} <= set(FUNCTIONS)


ISSUE_FUNCTIONS = """sqrt cbrt square reciprocal exp exp2 expm1 log log2 log10 log1p sin cos tan arcsin arccos
arctan arctan2 sinh cosh tanh arcsinh arccosh arctanh power hypot abs absolute sign floor ceil trunc rint round
fmod copysign nextafter maximum minimum fmax fmin isnan isinf isfinite signbit real imag conj conjugate
angle complex logaddexp deg2rad rad2deg clip where""".split()
NUMEXPR_NAMES = """where sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh arccosh arctanh log log10
log1p log2 exp expm1 sqrt abs conj real imag complex ceil floor round trunc sign signbit isnan isinf isfinite
copysign nextafter hypot maximum minimum fmod""".split()


def test_every_function_of_the_math_issue_and_of_numexpr_is_callable():
    assert set(ISSUE_FUNCTIONS) <= set(FUNCTIONS)
    assert set(NUMEXPR_NAMES) <= set(FUNCTIONS)
    assert FUNCTIONS["round"].function is np.round and FUNCTIONS["conj"] is FUNCTIONS["conjugate"]
    assert "remainder" in OPS and "power" in OPS


def test_every_row_can_fold_constants():
    for op in OPS.values():
        assert callable(op.fold), op.name


@pytest.mark.parametrize("eps_after", [True, False], ids=["numpy>=2.4", "older numpy"])
def test_sinc_follows_either_numpy_formula(monkeypatch, eps_after, memory_only_kernels):
    """np.sinc's formula changed in NumPy 2.4; the row follows the installed one, and both are built
    right (the older one is computed here with NumPy's primitives, as its np.sinc did)."""
    import fusenum
    from fusenum.ir import ops

    from ..ulp import ulp_distance

    monkeypatch.setattr(ops, "_SINC_EPS_AFTER", eps_after)
    fusenum.clear_cache()
    try:
        for dtype in ["f2", "f4", "f8", "i1", "?", "c8"]:
            x = np.array([0, 1, 0.5, -3, 2.25, 1e-3, 7]).astype(dtype)
            with np.errstate(all="ignore"):
                if eps_after:
                    y = np.pi * x  # NumPy 2.4's np.sinc, from NumPy's primitives on older NumPy
                    y = np.where(y, y, np.finfo(y.dtype).eps if y.dtype.kind == "f" else 1e-20)
                    expected = np.sin(y) / y
                else:
                    y = np.pi * np.where(x == 0, 1.0e-20, x)
                    expected = np.sin(y) / y
                got = fusenum.evaluate("sinc(x)")
            assert got.dtype == expected.dtype, dtype
            if dtype == "c8":
                assert np.allclose(got, expected, rtol=1e-6, equal_nan=True)
            else:
                assert ulp_distance(expected, got).max() <= (1 if got.dtype == np.float16 else 4), dtype
    finally:
        fusenum.clear_cache()


def test_a_row_without_a_docs_line_is_an_error():
    message = r"^op table row 'cube' has no doc: give it doc=\.\.\., its line in the README's function table$"
    with pytest.raises(TypeError, match=message):
        Op("cube", 1, {"f": "cube"}, np.cbrt)


@pytest.mark.parametrize("op", OPS.values(), ids=lambda op: op.name)
def test_every_docs_line_is_one_short_line(op):
    assert 0 < len(op.doc) <= 70 and "\n" not in op.doc and op.doc == op.doc.strip()


def test_a_name_another_library_puts_in_numpys_namespace_is_no_spelling(monkeypatch):
    """Importing numexpr sets ``numpy.expm1x = numpy.expm1``: the spellings must not depend on that."""
    before = OPS["expm1"].spellings
    monkeypatch.setattr(np, "expm1x", np.expm1, raising=False)
    assert OPS["expm1"].spellings == before and "expm1x" not in before


def test_building_the_table_imports_none_of_numpys_lazy_submodules():
    """Reading NumPy's names for each function must not import what NumPy loads on first use
    (``numpy.f2py`` alone costs 70 ms of ``import fusenum``)."""
    code = "import sys, fusenum; print(sorted(m for m in ('numpy.f2py', 'numpy.testing', 'numpy.ctypeslib') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600)
    assert done.stdout.strip() == "[]"


def test_numpy_answers_name_float_power_clip_and_math_functions_only():
    f8, f4, i8 = np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.int64)
    f, g, i = nodes.input_slot(0, f8), nodes.input_slot(1, f4), nodes.input_slot(2, i8)
    installed = numpy_behaviour.installation()
    assert numpy_answers(nodes.make("power", (f, f), f8)) == installed
    assert numpy_answers(nodes.make("add", (f, nodes.make("clip", (f, f, f), f8)), f8)) == installed  # anywhere below
    # the math rule gives NumPy's NaN outside the domain
    assert numpy_answers(nodes.make("log", (g,), f4)) == installed
    assert numpy_answers(nodes.make("power", (i, i), i8)) == numpy_answers(nodes.make("add", (f, f), f8)) == ""


def test_numpy_materializes_the_inputs_of_computed_single_value_arguments():
    f8, i8 = np.dtype(np.float64), np.dtype(np.int64)
    x, e, k = nodes.input_slot(0, f8), nodes.input_slot(1, f8), nodes.input_slot(2, i8)

    def power(base, exponent, dtype=f8):
        return nodes.make("power", (base, exponent), dtype)
    assert numpy_materializes(power(x, e)) == frozenset()  # the input itself: its own stride
    assert numpy_materializes(power(x, nodes.cast(k, f8))) == frozenset()  # a cast of one (NumPy's buffer)
    assert numpy_materializes(power(x, nodes.make("multiply", (e, nodes.cast(k, f8)), f8))) == {1, 2}
    clip = nodes.make("clip", (x, nodes.make("negative", (e,), f8), nodes.const(np.float64(1))), f8)
    assert numpy_materializes(clip) == {1}
    assert numpy_materializes(power(k, nodes.make("add", (k, k), i8), i8)) == frozenset()  # no shortcut for ints


def test_a_slot_that_is_also_a_single_value_argument_itself_is_not_materialized():
    f8 = np.dtype(np.float64)
    x, e = nodes.input_slot(0, f8), nodes.input_slot(1, f8)
    computed = nodes.make("power", (x, nodes.make("multiply", (e, nodes.const(np.float64(1))), f8)), f8)
    both = nodes.make("add", (nodes.make("power", (x, e), f8), computed), f8)
    assert numpy_materializes(computed) == {1} and numpy_materializes(both) == frozenset()
    numexprs = nodes.Node("power", computed.args, f8, nodes.ALWAYS_POW)  # never the shortcut: no copy
    assert numpy_materializes(numexprs) == frozenset()
