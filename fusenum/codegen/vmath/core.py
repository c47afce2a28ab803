"""Building blocks for writing vector math kernels compactly: :class:`Vec` arithmetic on
one float type at the emitter's width, constants, polynomials, bit manipulation,
table lookups and rarely taken slow paths."""
from __future__ import annotations

import struct
import zlib
from typing import Callable, Sequence

from .. import ir_text as ir

from ..control import RARE, when
from ..emitter import F32, F64, I32, I64, Emitter

_LAYOUT = {  # float type -> (int type, mantissa bits, exponent bias)
    "float": (I32, 23, 127),
    "double": (I64, 52, 1023),
}


class Vec:
    """Arithmetic on lanes of one float type (``float`` or ``double``) through an emitter.

    Every operation is a single IEEE operation (no fast-math); ``fma`` is the fused
    ``llvm.fma``, exact on every target.
    """

    def __init__(self, em: Emitter, like: ir.Value):
        self.em, self.b = em, em.b
        # How to compute the negation of each condition made here as one compare (see :meth:`not_`).
        self._negations: dict[ir.Value, Callable[[], ir.Value]] = {}
        ty = like.type
        self.ftype = ty.element if isinstance(ty, ir.VectorType) else ty
        self.itype, self.mantissa, self.bias = _LAYOUT[str(self.ftype)]
        self.bits = self.itype.width

    @property
    def is_double(self) -> bool:
        return self.ftype == F64

    # ---- constants ---------------------------------------------------------------------
    def c(self, value: float) -> ir.Value:
        if not self.is_double:
            value = struct.unpack("<f", struct.pack("<f", value))[0]  # round to float32 first
        return self.em.splat_constant(self.ftype, value)

    def ci(self, value: int) -> ir.Value:
        value &= (1 << self.bits) - 1
        if value >> (self.bits - 1):
            value -= 1 << self.bits
        return self.em.splat_constant(self.itype, value)

    # ---- float arithmetic ----------------------------------------------------------------
    def add(self, a, b):
        return self.b.fadd(a, b)

    def sub(self, a, b):
        return self.b.fsub(a, b)

    def mul(self, a, b):
        return self.b.fmul(a, b)

    def div(self, a, b):
        return self.b.fdiv(a, b)

    def neg(self, a):
        return self.b.fneg(a)

    def fma(self, a, b, c):
        """``a * b + c`` rounded once."""
        return self.em.intrinsic("llvm.fma", a, b, c)

    def abs(self, a):
        return self.em.intrinsic("llvm.fabs", a)

    def sqrt(self, a):
        return self.em.intrinsic("llvm.sqrt", a)

    def reciprocal(self, a):
        """``1/a``, a correctly rounded division at every width. (AVX-512's ``rcp14`` estimate
        refined by Newton steps is cheaper, but its last bits differ from the division's, so
        kernels of other widths would give other bits.)"""
        return self.div(self.c(1.0), a)

    def rint(self, a):
        """Nearest integer, halves to even."""
        return self.em.intrinsic("llvm.rint", a)

    def round_to_integer(self, a, factor: float | None = None):
        """``(k, bits)``: ``a`` (times ``factor``, fused) rounded to the nearest integer (halves
        to even) as a float, and an integer whose low bits are ``k``'s. The product must be
        below 2**(mantissa - 1) in magnitude.

        Adding 1.5 * 2**mantissa makes the hardware round, and leaves the integer in the
        low mantissa bits: cheaper than rounding and converting.
        """
        shifter = self.c(1.5 * 2.0 ** self.mantissa)
        shifted = self.add(a, shifter) if factor is None else self.fma(a, self.c(factor), shifter)
        return self.sub(shifted, shifter), self.as_int(shifted)

    def copysign(self, magnitude, sign):
        return self.em.intrinsic("llvm.copysign", magnitude, sign)

    def times_sign(self, value, sign):
        """``value`` with its sign flipped where ``sign`` is negative (``value * sign(sign)``)."""
        sign_bit = self.b.and_(self.as_int(sign), self.ci(1 << (self.bits - 1)))
        return self.as_float(self.b.xor(self.as_int(value), sign_bit))

    def min_number(self, a, b):
        """The smaller of ``a`` and ``b``, the other one if either is NaN (one instruction)."""
        return self.em.intrinsic("llvm.minnum", a, b)

    def poly(self, x, coefficients: Sequence[float]):
        """``c0 + c1*x + c2*x**2 + ...`` by Horner's rule with fused multiply-adds."""
        result = self.c(coefficients[-1])
        for coefficient in reversed(coefficients[:-1]):
            result = self.fma(result, x, self.c(coefficient))
        return result

    def estrin(self, x, coefficients: Sequence[float], x2=None):
        """The polynomial of :meth:`poly` by Estrin's scheme: pairs ``c[i] + c[i+1]*x``, then
        pairs of those with ``x**2``, then with ``x**4``, ...: a chain of about ``log2(degree)``
        dependent operations instead of ``degree``, for a multiply or two more (``x2``: ``x*x``,
        if made already)."""
        terms = [self.c(c) for c in coefficients]
        power = x
        while len(terms) > 1:
            terms = [self.fma(terms[i + 1], power, terms[i]) if i + 1 < len(terms) else terms[i]
                     for i in range(0, len(terms), 2)]
            if len(terms) > 1:
                power = x2 if power is x and x2 is not None else self.mul(power, power)
        return terms[0]

    # ---- comparisons and selection -------------------------------------------------------------
    def _ordered(self, op: str, a, b):
        condition = self.b.fcmp_ordered(op, a, b)
        self._negations[condition] = lambda: self.b.fcmp_unordered(_NEGATED[op], a, b)
        return condition

    def lt(self, a, b):
        return self._ordered("<", a, b)

    def le(self, a, b):
        return self._ordered("<=", a, b)

    def gt(self, a, b):
        return self._ordered(">", a, b)

    def ge(self, a, b):
        return self._ordered(">=", a, b)

    def eq(self, a, b):
        return self._ordered("==", a, b)

    def ne(self, a, b):
        """``a != b`` and neither is NaN."""
        return self._ordered("!=", a, b)

    def not_(self, condition):
        """The lanes where ``condition`` is false. A condition made by this object's comparisons,
        ``both`` and ``either`` is negated in the comparisons themselves (``a < b`` becomes
        ``a >= b or unordered``; ``both``/``either`` by De Morgan), with no xor: code generation
        with no module passes does not fold a negated mask into its compares, and mask
        operations cost AVX-512 kernels measurably (~10% in float32 arctan2). Any other condition
        is negated by an xor."""
        negation = self._negations.get(condition)
        return negation() if negation is not None else self.b.not_(condition)

    def isnan(self, a):
        return self.b.fcmp_unordered("uno", a, a)

    def positive_normal(self, a):
        """``a`` is positive, normal and finite: one compare of its bits (code generation
        with no module passes keeps two float compares as two; in float32 log they cost ~10%).

        The range check ``bits - smallest <u infinity - smallest`` is made a signed compare of
        ``bits - smallest + sign bit`` (adding the sign bit flips it, which orders unsigned
        numbers as signed ones): AVX2 and SSE have only signed integer compares, so an unsigned
        one costs a ``pxor`` (64-bit) or ``pmaxud``/``pcmpeqd`` (32-bit) more, in the loop."""
        smallest = 1 << self.mantissa
        infinity = ((1 << (self.bits - 1 - self.mantissa)) - 1) << self.mantissa
        sign = 1 << (self.bits - 1)
        flipped = self.iadd(self.as_int(a), self.ci(sign - smallest))
        bound = infinity - smallest - sign
        condition = self.b.icmp_signed("<", flipped, self.ci(bound))
        # Negated as ``>`` one less (a ``>=`` compare would be a ``>`` and an inversion).
        self._negations[condition] = lambda: self.b.icmp_signed(">", flipped, self.ci(bound - 1))
        return condition

    def select(self, condition, a, b):
        return self.b.select(condition, a, b)

    def either(self, a, b):
        return self._combined(self.b.or_, self.both, a, b)

    def both(self, a, b):
        return self._combined(self.b.and_, self.either, a, b)

    def _combined(self, combine, dual, a, b):
        condition = combine(a, b)
        if a in self._negations and b in self._negations:  # De Morgan
            self._negations[condition] = lambda: dual(self.not_(a), self.not_(b))
        return condition

    # ---- bits and integers -------------------------------------------------------------------
    def as_int(self, a):
        return self.b.bitcast(a, self.em.vector(self.itype))

    def as_float(self, i):
        return self.b.bitcast(i, self.em.vector(self.ftype))

    def to_int(self, a):
        """Integer of float ``a``, which must be an integer in range (e.g. from :meth:`rint`)."""
        return self.b.fptosi(a, self.em.vector(self.itype))

    def to_float(self, i):
        return self.b.sitofp(i, self.em.vector(self.ftype))

    def iadd(self, a, b):
        return self.b.add(a, b)

    def isub(self, a, b):
        return self.b.sub(a, b)

    def shl(self, a, n: int):
        return self.b.shl(a, self.ci(n))

    def ashr(self, a, n: int):
        return self.b.ashr(a, self.ci(n))

    def lshr(self, a, n: int):
        return self.b.lshr(a, self.ci(n))

    def iand(self, a, mask: int):
        return self.b.and_(a, self.ci(mask))

    def imin(self, a, b):
        return self.em.intrinsic("llvm.smin", a, b)

    def imax(self, a, b):
        return self.em.intrinsic("llvm.smax", a, b)

    def pow2(self, k):
        """``2.0**k`` for integer lanes ``k`` in the normal exponent range."""
        return self.as_float(self.shl(self.iadd(k, self.ci(self.bias)), self.mantissa))

    def pow2_bits(self, k_bits, negate: bool = False, offset: int = 0):
        """``2.0**(k + offset)`` (or ``2.0**(offset - k)``) from the ``k_bits`` of
        :meth:`round_to_integer`: the shifter's low bits are zero, so shifting ``k_bits`` up
        gives ``k``'s exponent bits."""
        exponent = self.shl(k_bits, self.mantissa)
        base = self.ci((self.bias + offset) << self.mantissa)
        return self.as_float(self.isub(base, exponent) if negate else self.iadd(exponent, base))

    def scale(self, a, k):
        """``a * 2**k`` for integer ``k``, correctly rounded even when the result is subnormal,
        infinite or zero (two exact steps, then one rounding multiply); ``k`` within +-2*bias."""
        half = self.ashr(k, 1)
        return self.mul(self.mul(a, self.pow2(half)), self.pow2(self.isub(k, half)))

    # ---- tables -----------------------------------------------------------------------------
    def lookup(self, table: Sequence[float], index, wrap: bool = False):
        """``table[index]`` lane by lane (integer ``index`` lanes in range; with ``wrap``, any
        integers, taken modulo the table's length, a power of two).

        AVX-512 kernels of full width use in-register permutes: one ``vpermpd``/``vpermps`` for a
        table of up to one register (repeated to fill it, so a wrapped index needs no mask), one
        or two ``vpermi2pd``/``vpermi2ps`` for up to two registers (32 floats or 16 doubles).
        Kernels of four doubles on AVX2 look up to eight up with ``vpermd``
        (:meth:`_lookup_in_words`). Other widths gather from a constant array.
        """
        em, b = self.em, self.b
        count = len(table)
        if wrap and count & (count - 1):
            raise ValueError(f"a wrapped lookup needs a table whose length is a power of two, not {count}")
        per_register = 512 // self.bits
        level = em.target.name if em.target is not None else None
        if level == "avx512" and em.lanes == per_register and count <= per_register:
            vector = ir.VectorType(self.ftype, per_register)
            filled = self._register_constant([table[i % count] for i in range(per_register)], per_register)
            fn = em.function(f"llvm.x86.avx512.permvar.{'df' if self.is_double else 'sf'}.512", vector,
                             [vector, index.type])
            return b.call(fn, [filled, index])
        if level == "avx512" and em.lanes == per_register and count <= 2 * per_register:
            if wrap and count < 2 * per_register:
                index = self.iand(index, count - 1)
            padded = list(table) + [0.0] * (2 * per_register - count)
            low, high = (self._register_constant(half, per_register)
                         for half in (padded[:per_register], padded[per_register:]))
            name = f"llvm.x86.avx512.vpermi2var.{'pd' if self.is_double else 'ps'}.512"
            fn = em.function(name, low.type, [low.type, index.type, high.type])
            return b.call(fn, [low, index, high])
        if level in ("avx2", "avx512") and self.is_double and em.lanes == 4 and count <= 8:
            return self._lookup_in_words([table[i % count] for i in range(8)], index)
        array = self._table_global(table)
        if em.lanes == 1:
            if wrap:
                index = self.iand(index, count - 1)
            element = b.gep(array, [ir.Constant(I64, 0), index], source_etype=array.value_type)
            return b.load(element, typ=self.ftype)
        # A vector of addresses, base + index * size, for llvm.masked.gather. The index is scaled
        # before it is wrapped (masked with the table's length times the size): a shift that made
        # the index (``bits >> 48`` in pow) then folds into it, as instcombine folds it.
        size = self.bits // 8
        shift = size.bit_length() - 1
        offsets = self.shl(index, shift)
        if wrap:
            offsets = self.iand(offsets, (count - 1) << shift)
        if self.bits == 32:  # scaled before it is widened: one shift of 8 lanes, not two of 4
            offsets = b.sext(offsets, em.vector(I64))
        base = em.splat(b.ptrtoint(array, I64))
        pointers = b.inttoptr(b.add(base, offsets), ir.VectorType(ir.PointerType(), em.lanes))
        vector = ir.VectorType(self.ftype, em.lanes)
        mask = ir.Constant(ir.VectorType(ir.IntType(1), em.lanes), [1] * em.lanes)
        name = f"llvm.masked.gather.v{em.lanes}{'f64' if self.is_double else 'f32'}.v{em.lanes}p0"
        fn = em.function(name, vector, [pointers.type, I32, mask.type, vector])
        return b.call(fn, [pointers, ir.Constant(I32, size), mask, ir.Constant(vector, ir.Undefined)])

    def _register_constant(self, values: Sequence[float], lanes: int) -> ir.Value:
        """A vector constant of ``values`` (as their bits, exactly)."""
        bits = ir.Constant(ir.VectorType(self.itype, lanes), [_bits(self.ftype, x) for x in values])
        return self.b.bitcast(bits, ir.VectorType(self.ftype, lanes))

    def _lookup_in_words(self, table: Sequence[float], index):
        """``table[index mod 8]`` for four double lanes with AVX2's ``vpermd``, which permutes
        eight 32-bit words by their index's low three bits: the index is copied into both words of
        its lane, one permute picks the entries' low words and one their high words, and a blend
        of the two puts the doubles together. A table whose entries repeat their high word in
        their low one needs the one permute. (With gathers instead, float64 exp's two lookups made it
        about 60% slower on AVX2.)"""
        b = self.b
        words = ir.VectorType(I32, 8)
        as_words = b.bitcast(index, words)
        index = b.shuffle_vector(as_words, as_words, ir.Constant(words, [0, 0, 2, 2, 4, 4, 6, 6]))
        permute = self.em.function("llvm.x86.avx2.permd", words, [words, words])
        bits = [_bits(self.ftype, x) & 0xFFFFFFFFFFFFFFFF for x in table]
        low, high = ([_signed32(x & 0xFFFFFFFF) for x in bits], [_signed32(x >> 32) for x in bits])
        highs = b.call(permute, [ir.Constant(words, high), index])
        if low == high:
            return b.bitcast(highs, ir.VectorType(self.ftype, 4))
        lows = b.call(permute, [ir.Constant(words, low), index])
        joined = b.shuffle_vector(lows, highs, ir.Constant(words, [0, 9, 2, 11, 4, 13, 6, 15]))
        return b.bitcast(joined, ir.VectorType(self.ftype, 4))

    def _table_global(self, table: Sequence[float]) -> ir.GlobalVariable:
        module = self.em.module
        # Named by checksums of the values: the same in every process, where a digest from hashlib would
        # load OpenSSL's hashes, ~5 ms of a new process's first kernel with a table.
        data = repr((str(self.ftype), list(table))).encode()
        name = f"vmath.table.{zlib.crc32(data):08x}{zlib.adler32(data):08x}"
        if _TABLE_DATA.setdefault(name, data) != data:
            raise AssertionError(f"two vector-math tables have the same name {name}")
        existing = module.globals.get(name)
        if existing is not None:
            return existing
        array_type = ir.ArrayType(self.itype, len(table))
        variable = ir.GlobalVariable(module, array_type, name=name)
        variable.global_constant = True
        variable.linkage = "private"
        variable.initializer = ir.Constant(array_type, [_bits(self.ftype, x) for x in table])
        return variable

    # ---- lanes -----------------------------------------------------------------------------
    def any(self, condition) -> ir.Value:
        return self.em.any(condition)

    def when_any(self, condition, value, slow: Callable[[], ir.Value]):
        """``value`` with the lanes of ``condition`` replaced by ``slow()``, which is only
        computed when some lane needs it (special inputs are rare: keep them off the fast path)."""
        return when(self.b, self.any(condition), lambda: self.b.select(condition, slow(), value), value, RARE)


#: The unordered comparison that is true exactly where an ordered one is false.
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
#: Each table constant's name and what it holds, to refuse two tables with one name.
_TABLE_DATA: dict[str, bytes] = {}


def _signed32(word: int) -> int:
    """A 32-bit word as a signed integer (how an ``i32`` constant is written)."""
    return word - (1 << 32) if word >> 31 else word


def _bits(ftype: ir.Type, value: float) -> int:
    """The IEEE bits of ``value`` as a signed integer (how the tables are stored)."""
    if ftype == F64:
        raw = struct.unpack("<q", struct.pack("<d", value))[0]
    else:
        raw = struct.unpack("<i", struct.pack("<f", value))[0]
    return raw


__all__ = ["Vec", "F32", "F64", "I32", "I64"]
