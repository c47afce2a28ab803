"""The emitter's constants: one object per value, type and width, never one value for another."""
import math

import pytest

from fusenum.codegen import ir_text as ir
from fusenum.codegen.emitter import F32, F64, I32, I64, Emitter


def _emitter(lanes: int) -> Emitter:
    module = ir.Module(name="emitter_test")
    function = ir.Function(module, ir.FunctionType(ir.VoidType(), []), name="f")
    return Emitter(ir.IRBuilder(function.append_basic_block("entry")), lanes, None)


@pytest.mark.parametrize("lanes", [1, 4])
def test_values_that_compare_equal_keep_their_own_constants(lanes):
    em = _emitter(lanes)
    assert len({str(em.splat_constant(F64, 0.0)), str(em.splat_constant(F64, -0.0))}) == 2
    assert str(em.splat_constant(I64, 1)) != str(em.splat_constant(I32, 1))
    assert str(em.splat_constant(F32, 1.0)) != str(em.splat_constant(F64, 1.0))


def test_one_constant_serves_every_kernel_and_width_is_part_of_it():
    narrow, wide, again = _emitter(2), _emitter(8), _emitter(8)
    assert wide.splat_constant(F64, 1.5) is again.splat_constant(F64, 1.5)
    assert narrow.splat_constant(F64, 1.5).type.count == 2
    assert wide.splat_constant(F64, 1.5).type.count == 8
    nan = wide.splat_constant(F64, math.nan)
    assert str(nan).count("0x7ff8000000000000") == 8
