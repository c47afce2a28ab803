"""Hash-consed IR nodes: structural equality is identity, so CSE is free."""
import gc
import subprocess
import sys
import weakref

import numpy as np
import pytest

from fusenum.ir import nodes
from fusenum.ir.nodes import Node

f8 = np.dtype(np.float64)


def test_equal_structure_is_the_same_object():
    a, b = nodes.input_slot(0, f8), nodes.input_slot(1, f8)
    first = nodes.make("add", (a, nodes.make("multiply", (a, b), f8)), f8)
    second = nodes.make("add", (a, nodes.make("multiply", (a, b), f8)), f8)
    assert first is second
    assert {first: 1}[second] == 1


def test_constants_distinguish_signed_zero_and_match_nan():
    assert nodes.const(np.float64(0.0)) is not nodes.const(np.float64(-0.0))
    assert nodes.const(np.float64(np.nan)) is nodes.const(np.float64(np.nan))
    assert nodes.const(np.float32(1)) is not nodes.const(np.float64(1))
    assert nodes.const(np.int8(-3)).value == np.int8(-3)


def test_nodes_are_immutable():
    node = nodes.input_slot(0, f8)
    with pytest.raises(AttributeError, match="immutable"):
        node.dtype = np.dtype(np.int8)


def test_unreferenced_nodes_are_freed():
    # Watch these nodes rather than the table's size: a background compile left by an earlier
    # test may free its own nodes at any moment.
    slot = nodes.input_slot(99, f8)
    negated = nodes.make("negative", (slot,), f8)
    watched = [weakref.ref(slot), weakref.ref(negated)]
    assert all(ref() in [entry() for entry in Node._interned.values()] for ref in watched)
    del slot, negated
    gc.collect()
    assert [ref() for ref in watched] == [None, None]


def test_a_freed_node_leaves_no_entry_and_a_new_one_takes_its_key():
    slot = nodes.input_slot(98, f8)
    key = ("input", (), slot.dtype, 98)
    assert Node._interned[key]() is slot
    del slot
    gc.collect()
    assert key not in Node._interned
    again = nodes.input_slot(98, f8)
    assert Node._interned[key]() is again and nodes.input_slot(98, f8) is again


def test_nodes_freed_as_the_interpreter_exits_say_nothing():
    # (a cycle holding nodes is freed late in the exit, when modules' names may be gone)
    code = ("import numpy as np\nfrom fusenum.ir import nodes\nf8 = np.dtype('f8')\n"
            "kept = [nodes.make('negative', (nodes.input_slot(k, f8),), f8) for k in range(50)]\n"
            "kept.append(kept)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == ""


def test_input_dtypes_are_native_endian():
    assert nodes.input_slot(0, np.dtype(">f8")).dtype == np.dtype("<f8").newbyteorder("=")


def test_cast_of_constant_folds_and_cast_to_same_dtype_is_identity():
    x = nodes.input_slot(0, f8)
    assert nodes.cast(x, f8) is x
    folded = nodes.cast(nodes.const(np.float64(300.7)), np.dtype(np.int16))
    assert folded.op == "const" and folded.value == np.int16(300)


def test_walk_visits_shared_nodes_once_operands_first():
    a = nodes.input_slot(0, f8)
    square = nodes.make("multiply", (a, a), f8)
    root = nodes.make("add", (square, square), f8)
    assert list(nodes.walk(root)) == [a, square, root]


def test_replace_rebuilds_only_what_changes():
    a, b = nodes.input_slot(0, f8), nodes.input_slot(1, f8)
    root = nodes.make("add", (a, nodes.make("negative", (b,), f8)), f8)
    swapped = nodes.replace(root, {a: b, b: a})
    assert swapped is nodes.make("add", (b, nodes.make("negative", (a,), f8)), f8)


@pytest.mark.skipif(np.dtype(np.dtype("q").str).char == "q", reason="longlong is NumPy's usual int64 here")
def test_equal_integer_dtypes_spelled_twice_give_one_node_of_numpys_usual_name():
    """int64 is both 'l' and 'q' on Linux, equal dtypes: which spelling a node takes must not depend
    on what an earlier call used (it decides the type of the result's scalars)."""
    import fusenum
    usual, alias = np.arange(1, 10), np.arange(1, 10).astype(np.longlong)
    assert usual.dtype == alias.dtype and usual.dtype.char != alias.dtype.char
    assert type(fusenum.evaluate("sum(a)", {"a": alias})[()]) is np.int64
    assert fusenum.lazy(alias).sum().dtype.char == usual.dtype.char
    # after the alias was used, an int64 array's results are still np.int64 (NumPy's answer)
    assert type(fusenum.evaluate("sum(a)", {"a": usual})[()]) is type(usual.sum())
    assert type(np.asarray(round(fusenum.lazy(usual).sum(), -1))[()]) is type(round(usual.sum(), -1))
    assert fusenum.evaluate("a + 1", {"a": usual}).dtype.char == (usual + 1).dtype.char
