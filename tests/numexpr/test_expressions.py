"""fusenum.numexpr's expression objects (``E``, ``ConstantNode``) against numexpr's own."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fusenum.numexpr as ne
from fusenum.numexpr.expressions import ConstantNode, E

real = pytest.importorskip("numexpr")
from numexpr.expressions import ConstantNode as RealConstantNode  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

# Each is built twice, with ``E``/``ConstantNode`` bound to fusenum's and to numexpr's.
EXPRESSIONS = [
    "2.0 * E.a + 3.0 * E.b * E.c", "E.a", "(E.a + 2.0 * E.b) / (1 + E.a + 4 * E.b * E.b)", "E.a ** 2",
    "E.a / 3.0", "2 + E.a", "2 * E.a", "E.a < 1", "1 < E.a", "E.a <= E.b", "3 - E.a", "2 ** E.a", "E.a ** 0.5",
    "E.a ** -1", "1 / E.a", "-E.a", "+E.a", "E.a.real", "E.a.imag", "E.a % 2", "E.a // 2", "E.a == E.b",
    "E.a != 1", "E.a + True", "ConstantNode(2) + 3 + E.a", "-ConstantNode(3) + E.a",
    "E.a + ConstantNode(np.float32(1))", "E.a + ConstantNode(np.int64(2**40))", "E.sin + 1",
    "ConstantNode(np.float32(1))", "ConstantNode(3)", "ConstantNode(2) / ConstantNode(4)",
    "E.a * (1 + 2j)", "E.b > np.float64(0.5)", "ConstantNode(1.5, None) + E.a", "ConstantNode(value=2) * E.a",
]


def _outcome(module, constant_node, text):
    """What the expression gives (kind, signature, dtype, values) or its exception type."""
    try:
        compiled = module.NumExpr(eval(text, {"E": module.E, "ConstantNode": constant_node, "np": np}))
        values = [np.array([1.5, -2.0, 0.25, np.nan])] * len(compiled.input_names)
        result = compiled(*values)
    except Exception as error:  # (compared by type)
        return type(error).__name__
    return compiled.signature, compiled.input_names, result.dtype, result.tolist()


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_an_expression_object_compiles_to_numexprs_program(text):
    real.evaluate("1")  # (numexpr's operators optimize as the thread's last compiled text did: 'aggressive')
    expected = _outcome(real, RealConstantNode, text)
    got = _outcome(ne, ConstantNode, text)
    np.testing.assert_equal(got, expected)
    expression = eval(text, {"E": E, "ConstantNode": ConstantNode, "np": np})
    assert expression.astKind == eval(text, {"E": real.E, "ConstantNode": RealConstantNode, "np": np}).astKind


@pytest.mark.parametrize("text", ["E.a & E.b", "~E.a", "E.a << 1", "E.a + 'x'", "E.a + b'x'", "E.a + None",
                                  "E.a + [1]", "1 & E.a", "1 // E.a", "E.a and E.b", "not E.a",
                                  "E.a if E.b else 1"])
def test_an_expression_numexpr_refuses_is_refused_with_its_exception(text):
    outcomes = []
    for module, constant_node in ((real, RealConstantNode), (ne, ConstantNode)):
        try:
            module.NumExpr(eval(text, {"E": module.E, "ConstantNode": constant_node}))
        except Exception as error:
            outcomes.append(type(error))
        else:
            outcomes.append(None)
    assert outcomes[0] is not None and outcomes[1] is outcomes[0]


def test_a_constant_node_keeps_its_kind_and_value():
    for value, kind in ((np.float32(1), "float"), (np.float32("nan"), "float"), (1.5, "double"), (3, "int"),
                        (2**40, "long"), (np.int64(3), "long"), (True, "bool"), (1j, "complex"), (b"x", "bytes")):
        assert ConstantNode(value).astKind == RealConstantNode(value).astKind == kind
        assert ConstantNode(value).value is value
    assert ConstantNode(np.float32(3)).value.dtype == np.float32
    result = ne.NumExpr(ConstantNode(np.float32(1))).run()
    assert result.dtype == np.float32 and result == 1
    assert str(ConstantNode(float("nan")).value) == "nan"


def test_one_nan_constant_used_twice_is_one_constant_two_are_two():
    nan = ConstantNode(float("nan"))
    assert len(ne.NumExpr((E.a + nan) * (E.b + nan)).constants) == 1
    two = (E.a + ConstantNode(float("nan"))) * (E.b + ConstantNode(float("nan")))
    real_two = (real.E.a + RealConstantNode(float("nan"))) * (real.E.b + RealConstantNode(float("nan")))
    assert len(ne.NumExpr(two).constants) == len(real.NumExpr(real_two).constants) == 2


def test_the_disassembly_of_a_nan_constant_names_it():
    rows = ne.disassemble(ne.NumExpr(E.a + ConstantNode(float("nan"))))
    assert rows == [[b"add_ddd", b"r0", b"r1[a]", b"c2[nan]"]]


def test_constants_of_one_value_but_other_kinds_or_bits_are_other_programs():
    a = np.arange(3.0, dtype=np.float32)
    assert ne.NumExpr(E.a + 1.5, [("a", float)])(a).dtype == np.float64
    assert ne.NumExpr(E.a + ConstantNode(np.float32(1.5)), [("a", float)])(a).dtype == np.float32
    negative_nan = -np.float64("nan")
    got = ne.NumExpr(E.a * 0 + ConstantNode(negative_nan))(np.arange(2.0))
    assert np.signbit(got).all()
    assert not np.signbit(ne.NumExpr(E.a * 0 + ConstantNode(float("nan")))(np.arange(2.0))).any()


def test_an_expression_object_does_not_share_a_program_with_a_text_it_reads_like():
    # ``E.real`` is a variable named ``real``; the text ``E.real`` is the real part of an array ``E``.
    z = np.array([1 + 2j, 3 + 4j])
    assert ne.evaluate("E.real + 1", {"E": z}, sanitize=False).tolist() == [2.0, 4.0]
    assert ne.NumExpr(E.real + 1)(np.array([10.0, 20.0])).tolist() == [11.0, 21.0]
    assert ne.evaluate("E.real + 1", {"E": z}, sanitize=False).tolist() == [2.0, 4.0]


def test_a_variable_takes_its_signatures_kind():
    # numexpr's E variables are doubles whatever the signature (another kind is its RuntimeError)
    a = np.array([1, 2, 3], dtype=np.int32)
    result = ne.NumExpr(E.a + 1, [("a", np.int32)])(a)
    assert result.dtype == np.int32 and result.tolist() == [2, 3, 4]
    m = np.array([True, False])
    assert ne.NumExpr(E.m & E.n, [("m", bool), ("n", bool)])(m, m).tolist() == [True, False]


def test_expression_objects_follow_numexprs_optimization_argument():
    a = np.array([1.0, 2.0, 5.0])
    aggressive = ne.disassemble(ne.NumExpr(E.a / 3.0))
    none = ne.disassemble(ne.NumExpr(E.a / 3.0, optimization="none"))
    assert aggressive[0][0] == b"mul_ddd" and none[0][0] == b"div_ddd"
    assert ne.NumExpr(E.a / 3.0, optimization="none")(a).tolist() == (a / 3.0).tolist()


def test_the_names_of_e_are_identifiers():
    assert E.a.value == "a" and E.a.astKind == "double" and E.a.astType == "variable"
    for name in ("_hidden", "__class__x", "a b", "1a", "None", "lambda"):
        with pytest.raises(AttributeError):
            getattr(E, name)


def test_a_node_is_not_a_truth_value_nor_hashable():
    with pytest.raises(TypeError, match="standard boolean operators"):
        bool(E.a)
    with pytest.raises(TypeError):
        hash(E.a + 1)


def test_the_repr_writes_the_expression_out():
    assert repr(2.0 * E.a + 3 * E.b) == "((E.a * 2.0) + (E.b * 3))"
    assert repr(-E.a < ConstantNode(np.float32(1))) == "((-E.a) < np.float32(1.0))"


def test_evaluate_and_validate_take_only_text_as_numexprs():
    for function in (ne.evaluate, real.evaluate):
        with pytest.raises(ValueError, match="must specify expression as a string"):
            function(E.a if function is ne.evaluate else real.E.a, {"a": np.ones(2)})
    assert isinstance(ne.validate(E.a, {"a": np.ones(2)}), ValueError)


def test_numexprs_internal_node_helpers_are_named_as_not_provided():
    from fusenum.numexpr import expressions

    for name in expressions.NOT_PROVIDED:
        assert hasattr(real.expressions, name), name
        with pytest.raises(AttributeError, match=f"does not provide numexpr's '{name}'"):
            getattr(expressions, name)
    with pytest.raises(AttributeError, match="does not provide numexpr's 'children'"):
        (E.a + 1).children
    assert ne.E is E


def test_the_submodules_are_numexprs_once_installed():
    script = ("import sys, fusenum.numexpr as ours\n"
              "ours.install()\n"
              "from numexpr.expressions import ConstantNode, E\n"
              "import numexpr.utils, numexpr.version\n"
              "assert ConstantNode is ours.expressions.ConstantNode and E is ours.E\n"
              "assert numexpr.utils is ours.utils and numexpr.version is ours.version\n"
              "ours.uninstall()\n"
              "import numexpr.utils\n"
              "assert numexpr.utils is not ours.utils and sys.modules['numexpr'] is not ours\n"
              "print('ok')")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                            timeout=120)
    assert result.stdout.strip() == "ok", result.stderr
