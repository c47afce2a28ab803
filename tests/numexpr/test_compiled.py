"""NumExpr objects' attributes and disassemble's rows, beside real numexpr's."""
import numpy as np
import pytest

import fusenum.numexpr as ne

# (expressions whose temporaries numexpr's register allocator does not reuse, so every register matches)
CASES = [
    ("x * 2", [("x", np.float64)]),
    ("where(x > 1, x, 3)", [("x", np.int64)]),
    ("sum(x)", [("x", np.float64)]),
    ("sum(x, axis=0)", [("x", np.float64)]),
    ("a < b", [("a", bytes), ("b", bytes)]),
    ("a + b", [("a", np.int32), ("b", np.int32)]),
]


@pytest.mark.parametrize("text, signature", CASES)
def test_signatures_are_numexprs(text, signature):
    real = pytest.importorskip("numexpr")
    ours, theirs = ne.NumExpr(text, signature), real.NumExpr(text, signature)
    for name in ("signature", "constsig", "tempsig", "fullsig", "input_names"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ne.disassemble(ours) == real.disassemble(theirs)


def test_temporaries_are_not_reused_so_tempsig_has_one_per_operation():
    compiled = ne.NumExpr("x * 2.5 + y", [("x", np.float64), ("y", np.int32)])
    assert ne.disassemble(compiled) == [[b"mul_ddd", b"t4", b"r1[x]", b"c3[2.5]"],
                                        [b"cast_di", b"t5", b"r2[y]", None],
                                        [b"add_ddd", b"r0", b"t4", b"t5"]]
    assert (compiled.signature, compiled.constsig, compiled.tempsig, compiled.fullsig) == \
        (b"di", b"d", b"dd", b"ddiddd")


def test_the_signature_is_read_only():
    compiled = ne.NumExpr("x * 2")
    with pytest.raises(AttributeError):
        compiled.signature = b"l"
    assert compiled.signature == b"d"
