"""The package layout: stages in folders, no import cycles, short modules."""
from pathlib import Path

import grimp
import pytest

import fusenum

PACKAGE = Path(fusenum.__file__).parent
#: No module is longer than this many lines.
MAX_MODULE_LINES = 600


def _cycles(graph) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_no_module_is_in_an_import_cycle():
    graph = grimp.build_graph("fusenum", cache_dir=None)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_cycles():
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.b", imported="p.c")
    assert _cycles(graph) == [{"p.a", "p.b"}]


@pytest.mark.parametrize("stage", ["numexpr", "frontend", "ir", "runtime", "codegen"])
def test_each_stage_is_a_folder_with_a_docstring(stage):
    init = PACKAGE / stage / "__init__.py"
    assert init.is_file()
    assert init.read_text().startswith('"""')


def test_modules_are_short_and_documented():
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        assert text.count("\n") <= MAX_MODULE_LINES, f"{path.relative_to(PACKAGE)} is too long"
        if text.strip():
            assert text.startswith('"""'), f"{path.relative_to(PACKAGE)} has no module docstring"


def test_the_numexpr_layer_is_above_every_stage():
    """fusenum.numexpr may use every stage; no stage imports it (only the package root, for FUSENUM_NUMEXPR)."""
    graph = grimp.build_graph("fusenum", cache_dir=None)
    for stage in ("frontend", "runtime", "codegen", "ir", "errors"):
        assert not graph.chain_exists(importer=f"fusenum.{stage}", imported="fusenum.numexpr", as_packages=True)
