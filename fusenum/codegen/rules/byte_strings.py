"""Lowering rules of the operations on bytes (``S<n>``) elements: comparisons and ``contains``.

In registers a bytes element is the address of its first byte (see
:mod:`fusenum.codegen.emitter`); its width ``n`` is the dtype's, known when the
kernel is compiled. NumPy compares elements as if padded with NUL bytes to one
length, byte by byte as unsigned numbers (so trailing NULs never matter). Up to
:data:`NUMBER_BYTES` bytes wide, each element is read as one big-endian number
with NULs after its bytes, and the numbers are compared; ``contains`` of elements
up to 8 bytes wide compares masked windows of the elements read as numbers, without a branch.
Wider elements call a small function of the kernel's module per lane (internal and
always inlined, so LLVM specialises it to the widths) that reads the bytes: a
comparison gives -1, 0 or 1 as C's ``memcmp`` would for the padded elements,
then the comparison of that with 0; ``contains`` searches
for the needle, both operands read up to their first NUL byte (numexpr's
meaning, see :mod:`fusenum.ir.byte_strings`), trying each start in turn:
``O(len(haystack) * len(needle))`` per element at worst.
"""
from __future__ import annotations

import sys
from typing import Callable

from .. import ir_text as ir

from ..emitter import I1, I8, I32, I64, PTR, Emitter
from .registry import rule

_COMPARE = "fusenum.bytes_compare"
_CONTAINS = "fusenum.bytes_contains"


#: Widest elements (in bytes) that a comparison reads as one number each.
NUMBER_BYTES = 16


@rule("bytes_cmp", exact=True)
def _bytes_compare(em: Emitter, node, args, arg):
    widths = [operand.dtype.itemsize for operand in node.args]
    if max(widths) <= NUMBER_BYTES and sys.byteorder == "little":
        key = ir.IntType(64 if max(widths) <= 8 else 128)
        x, y = (em.intrinsic("llvm.bswap", _numbers(em, addresses, width, key))
                for addresses, width in zip(args, widths))
        return em.b.icmp_unsigned(arg, x, y)
    order = _per_lane(em, _function(em, _COMPARE, I32, _define_compare), node, args, I32)
    return em.b.icmp_signed(arg, order, em.splat_constant(I32, 0))


def _numbers(em: Emitter, addresses, width: int, key: ir.IntType) -> ir.Value:
    """Each lane's element as a little-endian number of ``key``'s width (its first byte lowest,
    zero bytes above its width). Byte-swapped, that is a big-endian number with NULs after the
    bytes: such numbers compare (unsigned) as NumPy compares the elements. Big-endian hosts
    take the byte loops."""
    b = em.b

    def number(address):
        value = b.load(b.inttoptr(address, PTR), typ=ir.IntType(8 * width), align=1)
        return value if 8 * width == key.width else b.zext(value, key)

    if em.lanes == 1:
        raw = number(addresses)
    else:
        raw = ir.Constant(em.vector(key), ir.Undefined)
        for lane in range(em.lanes):
            index = ir.Constant(I32, lane)
            raw = b.insert_element(raw, number(b.extract_element(addresses, index)), index)
    return raw


@rule("bytes_contains", exact=True)
def _bytes_contains(em: Emitter, node, args, arg):
    widths = [operand.dtype.itemsize for operand in node.args]
    if max(widths) <= 8 and sys.byteorder == "little":
        return _contains_in_numbers(em, args, widths)
    return _per_lane(em, _function(em, _CONTAINS, I1, _define_contains), node, args, I1)


def _contains_in_numbers(em: Emitter, args, widths) -> ir.Value:
    """``contains`` of elements up to 8 bytes wide, without a branch: each operand as a
    little-endian number, its C length from its first zero byte; the needle's bytes (masked to
    its length) compared with the haystack's at every start where they fit before its NUL."""
    b = em.b
    haystack, needle = (_numbers(em, addresses, width, I64) for addresses, width in zip(args, widths))
    lh, ln = _c_length(em, haystack), _c_length(em, needle)
    bits = b.shl(ln, em.splat_constant(I64, 3))
    short = b.sub(b.shl(em.splat_constant(I64, 1), b.and_(bits, em.splat_constant(I64, 63))),
                  em.splat_constant(I64, 1))
    mask = b.select(b.icmp_unsigned("==", ln, em.splat_constant(I64, 8)), em.splat_constant(I64, -1), short)
    target = b.and_(needle, mask)
    found = em.splat_constant(I1, 0)
    for start in range(widths[0]):
        window = b.and_(b.lshr(haystack, em.splat_constant(I64, 8 * start)), mask)
        fits = b.icmp_unsigned("<=", b.add(ln, em.splat_constant(I64, start)), lh)
        found = b.or_(found, b.and_(fits, b.icmp_unsigned("==", window, target)))
    return found


def _c_length(em: Emitter, number: ir.Value) -> ir.Value:
    """The bytes of a little-endian ``number`` (i64) before its first zero byte (8 if none): the
    lowest flag of the classic zero-byte test ``(v - 0x01..01) & ~v & 0x80..80`` is exact."""
    b = em.b
    ones = em.splat_constant(I64, 0x0101010101010101)
    highs = em.splat_constant(I64, 0x8080808080808080 - (1 << 64))
    flags = b.and_(b.and_(b.sub(number, ones), b.not_(number)), highs)
    return b.lshr(em.intrinsic("llvm.cttz", flags, ir.Constant(I1, 0)), em.splat_constant(I64, 3))


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


def _define_contains(module: ir.Module, function: ir.Function) -> None:
    """Whether the C string of ``needle`` occurs in the C string of ``haystack``.

    One pass over the starts: a NUL at a start ends the haystack, and a match holds no NUL
    (the needle's bytes before its first NUL are not NULs), so the haystack's length is never
    needed."""
    haystack, nh, needle, nn = function.args
    zero, one = ir.Constant(I64, 0), ir.Constant(I64, 1)
    b = ir.IRBuilder(function.append_basic_block("entry"))
    ln = _scan(b, function, zero, nn, lambda j: b.icmp_unsigned("==", _byte(b, needle, j), ir.Constant(I8, 0)),
               "length")
    search = function.append_basic_block("search")
    absent = function.append_basic_block("absent")
    b.cbranch(b.icmp_unsigned(">", ln, nh), absent, search)
    b.position_at_end(search)
    last = b.sub(nh, ln)  # the last start the needle fits at

    def ends_or_matches(start):
        mismatch = _scan(b, function, zero, ln, lambda j: b.icmp_unsigned(
            "!=", _byte(b, haystack, b.add(start, j)), _byte(b, needle, j)), "match")
        ended = b.icmp_unsigned("==", _byte(b, haystack, start), ir.Constant(I8, 0))
        return b.or_(b.icmp_unsigned("==", mismatch, ln), ended)

    stop = _scan(b, function, zero, b.add(last, one), ends_or_matches, "start")
    within = b.icmp_unsigned("<=", stop, last)
    # Stopped within the haystack: by a match unless by its end (a NUL, where a needle of bytes cannot match).
    at = _byte(b, haystack, b.select(within, stop, zero))
    matched = b.or_(b.icmp_unsigned("==", ln, zero), b.icmp_unsigned("!=", at, ir.Constant(I8, 0)))
    b.ret(b.and_(within, matched))
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
