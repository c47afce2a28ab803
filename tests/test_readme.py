"""The README's function table is the op table's: exactly what tools/op_table.py prints."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("op_table", ROOT / "tools" / "op_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_function_table_is_generated_from_the_op_table():
    tool = _tool()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count(tool.BEGIN) == 1 and text.count(tool.END) == 1, \
        f"README.md needs one {tool.BEGIN} ... {tool.END} section: paste `python tools/op_table.py` there"
    section = text.split(tool.BEGIN, 1)[1].split(tool.END, 1)[0]
    assert section.strip("\n") == tool.table(), "README's function table is stale: paste `python tools/op_table.py`"


def test_the_table_has_a_line_per_row_and_reads_the_rows():
    from fusenum.ir.ops import OPS

    tool = _tool()
    lines = tool.table().splitlines()[2:]
    assert len(lines) == len(OPS)
    for line, op in zip(lines, OPS.values()):
        assert ("exact" if op.exact else f"within {op.ulp} ULP") in line
        assert op.doc.replace("|", "\\|") in line
