"""The op table is consistent with NumPy and with the lowering rules."""
import numpy as np
import pytest

from fusenum.codegen.rules import RULES
from fusenum.ir.ops import BINARY_SYMBOLS, FUNCTIONS, OPS, UNARY_SYMBOLS


@pytest.mark.parametrize("op", OPS.values(), ids=lambda op: op.name)
def test_every_rule_named_in_the_table_exists(op):
    for kind, rule in op.rules.items():
        assert kind in "biuf"
        assert rule.partition(":")[0] in RULES


@pytest.mark.parametrize("op", [op for op in OPS.values() if op.ufunc is not None], ids=lambda op: op.name)
def test_ufunc_rows_match_numpy(op):
    assert op.ufunc.nin == op.arity
    assert op.ufunc.__name__ == op.name or op.name == "true_divide"


def test_every_python_operator_has_a_row():
    assert set(BINARY_SYMBOLS) == {"+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^",
                                   "<", "<=", ">", ">=", "==", "!="}
    assert set(UNARY_SYMBOLS) == {"-", "+", "~"}
    assert {"where", "abs"} <= set(FUNCTIONS)


def test_every_row_can_fold_constants():
    for op in OPS.values():
        assert callable(op.fold), op.name
