"""The README's function table, generated from the op table (fusenum/ir/ops.py): one line per row.

    python tools/op_table.py

The README holds this output between the lines ``<!-- op-table: begin -->`` and
``<!-- op-table: end -->``; tests/test_readme.py checks that it is exactly what this prints,
so adding a row to the op table means pasting this output again.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fusenum.ir.ops import OPS, Op  # noqa: E402

BEGIN = "<!-- op-table: begin -->"
END = "<!-- op-table: end -->"
_ARGUMENTS = {1: "x", 2: "x, y", 3: "x, y, z"}


def _call(op: Op) -> str:
    """How an expression writes the row: its names (the first with arguments) and its operator."""
    spellings = op.spellings
    text = f"`{spellings[0]}({_ARGUMENTS[op.arity]})`" if spellings else ""
    if len(spellings) > 1:
        text += " (" + ", ".join(f"`{name}`" for name in spellings[1:]) + ")"
    if op.symbol:
        operator = f"`{op.symbol}x`" if op.arity == 1 else f"`x {op.symbol} y`"
        text = f"{text}, {operator}" if text else operator
    return text


def _numpy(op: Op) -> str:
    function = op.numpy
    return "" if function is None else f"`np.{function.__name__}`"


def _accuracy(op: Op) -> str:
    return "exact" if op.exact else f"within {op.ulp} ULP"


def table() -> str:
    """The markdown table: one line per op-table row, in the table's order."""
    lines = ["| function | NumPy | accuracy | what it computes |", "| --- | --- | --- | --- |"]
    for op in OPS.values():
        cells = (_call(op), _numpy(op), _accuracy(op), op.doc)
        # GitHub's tables split cells at every "|", code spans included, unless escaped
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
