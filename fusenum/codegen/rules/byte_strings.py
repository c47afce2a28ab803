"""Lowering rules of the operations on bytes (``S<n>``) elements: comparisons and ``contains``.

In registers a bytes element is the address of its first byte (see
:mod:`fusenum.codegen.emitter`); its width ``n`` is the dtype's, known when the
kernel is compiled. Each lane calls a small function of the kernel's module
(internal, so LLVM may inline it) that reads the bytes: a comparison gives
-1, 0 or 1 as C's ``memcmp`` would for the two elements padded with NUL bytes
to one length (NumPy's meaning: trailing NULs never matter, bytes compare as
unsigned numbers), then the comparison of that with 0; ``contains`` searches
for the needle, both operands read up to their first NUL byte (numexpr's
meaning, see :mod:`fusenum.ir.byte_strings`). The search is the plain one,
``O(len(haystack) * len(needle))`` per element.
"""
from __future__ import annotations

from typing import Callable

from llvmlite import ir

from ..emitter import I1, I8, I32, I64, PTR, Emitter
from .registry import rule

_COMPARE = "fusenum.bytes_compare"
_CONTAINS = "fusenum.bytes_contains"
_LENGTH = "fusenum.bytes_length"


@rule("bytes_cmp", exact=True)
def _bytes_compare(em: Emitter, node, args, arg):
    order = _per_lane(em, _function(em, _COMPARE, I32, _define_compare), node, args, I32)
    return em.b.icmp_signed(arg, order, em.splat_constant(I32, 0))


@rule("bytes_contains", exact=True)
def _bytes_contains(em: Emitter, node, args, arg):
    return _per_lane(em, _function(em, _CONTAINS, I1, _define_contains), node, args, I1)


def _per_lane(em: Emitter, function: ir.Function, node, args, result: ir.Type) -> ir.Value:
    """``function(x, width of x, y, width of y)`` for each lane's pair of elements."""
    b = em.b
    widths = [ir.Constant(I64, operand.dtype.itemsize) for operand in node.args]

    def call(x, y):
        return b.call(function, [b.inttoptr(x, PTR), widths[0], b.inttoptr(y, PTR), widths[1]])

    if em.lanes == 1:
        return call(*args)
    value = ir.Constant(em.vector(result), ir.Undefined)
    for lane in range(em.lanes):
        index = ir.Constant(I32, lane)
        value = b.insert_element(value, call(*(b.extract_element(a, index) for a in args)), index)
    return value


def _function(em: Emitter, name: str, result: ir.Type, define: Callable) -> ir.Function:
    """The module's internal function ``name(ptr, i64, ptr, i64) -> result``, defined on first use."""
    existing = em.module.globals.get(name)
    if existing is not None:
        return existing
    function = ir.Function(em.module, ir.FunctionType(result, [PTR, I64, PTR, I64]), name=name)
    function.linkage = "internal"
    function.attributes.add("nounwind")
    function.attributes.add("alwaysinline")
    define(em.module, function)
    return function


def _byte(b: ir.IRBuilder, pointer, index) -> ir.Value:
    return b.load(b.gep(pointer, [index], source_etype=I8), typ=I8)


def _define_compare(module: ir.Module, function: ir.Function) -> None:
    """-1, 0 or 1: ``x`` (``nx`` bytes) against ``y`` (``ny`` bytes), the shorter padded with NULs."""
    x, nx, y, ny = function.args
    b = ir.IRBuilder(function.append_basic_block("entry"))
    common = b.select(b.icmp_unsigned("<", nx, ny), nx, ny)
    # Over the common length: the first differing byte decides.
    i = _scan(b, function, ir.Constant(I64, 0), common,
              lambda i: b.icmp_unsigned("!=", _byte(b, x, i), _byte(b, y, i)), "common")
    differ = function.append_basic_block("differ")
    tail = function.append_basic_block("tail")
    b.cbranch(b.icmp_unsigned("<", i, common), differ, tail)
    b.position_at_end(differ)
    below = b.icmp_unsigned("<", _byte(b, x, i), _byte(b, y, i))
    b.ret(b.select(below, ir.Constant(I32, -1), ir.Constant(I32, 1)))
    # Beyond it only the longer has bytes: any nonzero one makes it the greater.
    b.position_at_end(tail)
    x_longer = b.icmp_unsigned(">", nx, ny)
    longer = b.select(x_longer, x, y)
    length = b.select(x_longer, nx, ny)
    j = _scan(b, function, common, length, lambda j: b.icmp_unsigned("!=", _byte(b, longer, j), ir.Constant(I8, 0)),
              "tail")
    greater = b.select(x_longer, ir.Constant(I32, 1), ir.Constant(I32, -1))
    b.ret(b.select(b.icmp_unsigned("<", j, length), greater, ir.Constant(I32, 0)))


def _define_length(module: ir.Module, function: ir.Function) -> None:
    """The bytes of ``p`` (at most ``n``) before its first NUL."""
    p, n = function.args
    b = ir.IRBuilder(function.append_basic_block("entry"))
    b.ret(_scan(b, function, ir.Constant(I64, 0), n,
                lambda i: b.icmp_unsigned("==", _byte(b, p, i), ir.Constant(I8, 0)), "length"))


def _define_contains(module: ir.Module, function: ir.Function) -> None:
    """Whether the C string of ``needle`` occurs in the C string of ``haystack``."""
    haystack, nh, needle, nn = function.args
    length_type = ir.FunctionType(I64, [PTR, I64])
    length = module.globals.get(_LENGTH)
    if length is None:
        length = ir.Function(module, length_type, name=_LENGTH)
        length.linkage = "internal"
        length.attributes.add("nounwind")
        _define_length(module, length)
    b = ir.IRBuilder(function.append_basic_block("entry"))
    lh = b.call(length, [haystack, nh])
    ln = b.call(length, [needle, nn])
    search = function.append_basic_block("search")
    absent = function.append_basic_block("absent")
    b.cbranch(b.icmp_unsigned(">", ln, lh), absent, search)
    b.position_at_end(search)
    last = b.sub(lh, ln)  # the last start the needle fits at

    def matches_at(start):
        mismatch = _scan(b, function, ir.Constant(I64, 0), ln, lambda j: b.icmp_unsigned(
            "!=", _byte(b, haystack, b.add(start, j)), _byte(b, needle, j)), "match")
        return b.icmp_unsigned("==", mismatch, ln)

    found_at = _scan(b, function, ir.Constant(I64, 0), b.add(last, ir.Constant(I64, 1)), matches_at, "start")
    b.ret(b.icmp_unsigned("<=", found_at, last))
    b.position_at_end(absent)
    b.ret(ir.Constant(I1, 0))


def _scan(b: ir.IRBuilder, function: ir.Function, begin, end, stop: Callable, name: str) -> ir.Value:
    """The first ``i`` in ``[begin, end)`` for which ``stop(i)`` holds, else ``end`` (unsigned)."""
    before = b.block
    header = function.append_basic_block(name)
    body = function.append_basic_block(f"{name}.body")
    step = function.append_basic_block(f"{name}.next")
    done = function.append_basic_block(f"{name}.done")
    b.branch(header)
    b.position_at_end(header)
    i = b.phi(I64)
    i.add_incoming(begin, before)
    b.cbranch(b.icmp_unsigned("<", i, end), body, done)
    b.position_at_end(body)
    b.cbranch(stop(i), done, step)
    b.position_at_end(step)
    i.add_incoming(b.add(i, ir.Constant(I64, 1)), step)
    b.branch(header)
    b.position_at_end(done)
    return i
