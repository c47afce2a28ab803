"""LLVM values for IR dtypes at one vector width.

An :class:`Emitter` wraps an ``IRBuilder`` positioned inside a kernel loop and
knows the lane count: every IR value becomes an LLVM value of type
``<lanes x T>`` (or plain ``T`` when ``lanes == 1``). Lowering rules only talk
to the emitter, so one rule serves the vector body and the scalar tail alike.

In registers a bool is ``i1`` (a byte in memory, as in NumPy); a float16 is a
float32 holding a value that float16 can represent (NumPy also computes float16
in float32 and rounds each result); a complex number is a :class:`Pair` of
vectors, its real and imaginary parts; a bytes (``S<n>``) element is the address of its first
byte, an ``i64`` (the rules of :mod:`fusenum.codegen.rules.byte_strings` read its bytes).
"""
from __future__ import annotations

import struct
import zlib
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from . import ir_text as ir
from . import locks

from ..ir.nodes import inputs
from .lanes import register_bytes

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
PTR = ir.PointerType()

F32 = ir.FloatType()
F64 = ir.DoubleType()
# Register type of a float by its size in memory (float16 computes in float32).
_FLOAT_TYPES = {2: F32, 4: F32, 8: F64}


class Pair(NamedTuple):
    """A complex value in registers: real and imaginary parts, each a float (vector)."""

    re: ir.Value
    im: ir.Value


def component_dtype(dtype: np.dtype) -> np.dtype:
    """The real dtype of a complex dtype's parts (``dtype`` itself if it is real)."""
    return np.dtype(f"f{dtype.itemsize // 2}") if dtype.kind == "c" else dtype


def scalar_type(dtype: np.dtype) -> ir.Type:
    """The LLVM register type of one element of ``dtype`` (of each part, if complex)."""
    if dtype.kind == "b":
        return I1
    if dtype.kind == "S":
        return I64  # the element's address
    if dtype.kind in "iu":
        return ir.IntType(8 * dtype.itemsize)
    return _FLOAT_TYPES[component_dtype(dtype).itemsize]


def memory_type(dtype: np.dtype) -> ir.Type:
    """The LLVM type of one element of ``dtype`` (of each part, if complex) as stored in an array."""
    if dtype.kind == "b":
        return I8
    if dtype.kind in "fc":
        return ir.IntType(8 * component_dtype(dtype).itemsize)  # bits, before any byte swap
    return scalar_type(dtype)


def _mangle(ty: ir.Type) -> str:
    """LLVM's overloaded-intrinsic suffix for ``ty`` (``f64``, ``v8f64``, ``i32``...)."""
    if isinstance(ty, ir.VectorType):
        return f"v{ty.count}{_mangle(ty.element)}"
    if isinstance(ty, ir.IntType):
        return f"i{ty.width}"
    return {ir.HalfType: "f16", ir.FloatType: "f32", ir.DoubleType: "f64"}[type(ty)]


class Emitter:
    """Emits values of ``lanes`` lanes through ``builder`` into ``module``.

    ``target`` is the :class:`~fusenum.codegen.target.Target` the kernel is
    compiled for (vector math picks its implementation by it).
    """

    def __init__(self, builder: ir.IRBuilder, lanes: int, status: ir.Value,
                 uniform_slots: frozenset = frozenset(), target=None):
        self.b = builder
        self.lanes = lanes
        self.module = builder.module
        self.status = status
        self.uniform_slots = uniform_slots
        self.target = target

    def uniform(self, node) -> bool:
        """Whether IR ``node`` has one value for the whole call (only single-valued inputs)."""
        return all(n.attr in self.uniform_slots for n in inputs(node))

    # ---- types and constants -------------------------------------------------
    def vector(self, element: ir.Type) -> ir.Type:
        return element if self.lanes == 1 else ir.VectorType(element, self.lanes)

    def type(self, dtype: np.dtype) -> ir.Type:
        """The register type of ``dtype`` at this width."""
        return self.vector(scalar_type(dtype))

    def const(self, dtype: np.dtype, value):
        """``value`` (converted to ``dtype`` as NumPy would) in every lane; a :class:`Pair` if complex."""
        element = scalar_type(dtype)
        if dtype.kind == "S":
            return self.splat(self.bytes_address(np.asarray(value, dtype).tobytes()))
        if dtype.kind == "c":
            value = np.asarray(value).astype(dtype)[()]
            part = component_dtype(dtype)
            return Pair(self.splat_constant(element, scalar_constant(part, value.real)),
                        self.splat_constant(element, scalar_constant(part, value.imag)))
        return self.splat_constant(element, scalar_constant(dtype, value))

    def opaque(self, value):
        """A float constant (or :class:`Pair`) as a value LLVM's code generator cannot see into.

        It folds operations on constants it can see that IEEE allows only up to NaN bits: ``x * -1.0``
        and ``-0.0 - x`` into a negation (a NaN's sign flipped), ``x * 1.0`` and ``x + -0.0`` into
        ``x`` (a signaling NaN not quieted). NumPy's loops compute them, and so does every build.
        (Negations are hidden too: it folds ``-x + a`` into ``a - x``.)"""
        if isinstance(value, Pair):
            return Pair(self.opaque(value.re), self.opaque(value.im))
        element = value.type.element if isinstance(value.type, ir.VectorType) else value.type
        if not isinstance(element, (ir.FloatType, ir.DoubleType)):
            return value
        return self.intrinsic("llvm.arithmetic.fence", value)

    def bytes_address(self, data: bytes) -> ir.Value:
        """The address (an ``i64``) of a constant array of ``data`` in the module."""
        if len(data) <= 32:
            name = f"bytes.{data.hex()}"
        else:
            with locks.loading:  # (a fork waits for an import)
                import hashlib  # here: loading OpenSSL's hashes costs the code generator's import ~3 ms
            name = f"bytes.{hashlib.sha256(data).hexdigest()}"
        variable = self.module.globals.get(name)
        if variable is None:
            typ = ir.ArrayType(I8, len(data))
            variable = ir.GlobalVariable(self.module, typ, name)
            variable.global_constant = True
            variable.linkage = "private"
            variable.initializer = ir.Constant(typ, bytearray(data))
        return self.b.ptrtoint(variable, I64)

    def constant_in_memory(self, constant: ir.Constant) -> ir.Value:
        """``constant`` loaded from a constant global of the module (one per value), not built in
        registers: after a call, which clobbers every vector register, a splat is rebuilt from the
        constant pool in every iteration, where a loaded vector becomes an instruction's memory
        operand (float64 ``tan``'s NaN fix-up: ~5% of its loop)."""
        text = str(constant)
        name = f"const.{zlib.crc32(text.encode()):08x}{zlib.adler32(text.encode()):08x}"
        variable = self.module.globals.get(name)
        if variable is None:
            variable = ir.GlobalVariable(self.module, constant.type, name)
            variable.global_constant = True
            variable.linkage = "private"
            variable.initializer = constant
        elif str(variable.initializer) != text:  # (as for the vector-math tables: refused, not mixed up)
            raise AssertionError(f"two constants named {name}")
        return self.b.load(variable, typ=constant.type)

    def constant_like(self, value: ir.Value, number) -> ir.Constant:
        """Python number ``number`` as a constant of ``value``'s (vector) type."""
        ty = value.type
        element = ty.element if isinstance(ty, ir.VectorType) else ty
        if isinstance(element, ir.IntType):
            bits = element.width
            number = int(number) & ((1 << bits) - 1)
            number = number - (1 << bits) if number >> (bits - 1) else number
        return self.splat_constant(element, number)

    def splat_constant(self, element: ir.Type, value) -> ir.Constant:
        return _splat_constant(element, self.lanes, type(value), repr(value), value)

    def splat(self, scalar):
        """A run-time scalar (or :class:`Pair` of scalars) broadcast to every lane."""
        if isinstance(scalar, Pair):
            return Pair(self.splat(scalar.re), self.splat(scalar.im))
        if self.lanes == 1:
            return scalar
        vec_type = ir.VectorType(scalar.type, self.lanes)
        one = self.b.insert_element(ir.Constant(vec_type, ir.Undefined), scalar, ir.Constant(I32, 0))
        return self.b.shuffle_vector(one, ir.Constant(vec_type, ir.Undefined),
                                     ir.Constant(ir.VectorType(I32, self.lanes), [0] * self.lanes))

    def shuffle(self, first: ir.Value, second: ir.Value, picks) -> ir.Value:
        """Lanes ``picks`` of ``first`` followed by ``second`` (``shufflevector`` with a constant mask)."""
        picks = list(picks)
        return self.b.shuffle_vector(first, second, ir.Constant(ir.VectorType(I32, len(picks)), picks))

    def select(self, condition: ir.Value, yes, no):
        """Lane-wise ``condition ? yes : no`` (of values or :class:`Pair` values)."""
        if isinstance(yes, Pair):
            return Pair(self.b.select(condition, yes.re, no.re), self.b.select(condition, yes.im, no.im))
        return self.b.select(condition, yes, no)

    # ---- calls -----------------------------------------------------------------
    def function(self, name: str, return_type: ir.Type, arg_types) -> ir.Function:
        """The module's declaration of external function ``name``, created on first use."""
        existing = self.module.globals.get(name)
        if existing is not None:
            return existing
        return ir.Function(self.module, ir.FunctionType(return_type, list(arg_types)), name=name)

    def intrinsic(self, name: str, *args: ir.Value, return_type: ir.Type | None = None) -> ir.Value:
        """Call overloaded LLVM intrinsic ``name`` (mangled on the first argument's type)."""
        arg_type = args[0].type
        fn = self.function(f"{name}.{_mangle(arg_type)}", return_type or arg_type,
                           [a.type for a in args])
        return self.b.call(fn, list(args))

    def per_lane(self, name: str, *args: ir.Value) -> ir.Value:
        """Call scalar C function ``name`` on each lane (its type is the arguments' element type)."""
        first = args[0].type
        element = first.element if isinstance(first, ir.VectorType) else first
        fn = self.function(name, element, [element] * len(args))
        if self.lanes == 1:
            return self.b.call(fn, list(args))
        result = ir.Constant(first, ir.Undefined)
        for lane in range(self.lanes):
            index = ir.Constant(I32, lane)
            lane_args = [self.b.extract_element(a, index) for a in args]
            result = self.b.insert_element(result, self.b.call(fn, lane_args), index)
        return result

    # ---- lanes and errors ------------------------------------------------------
    def any(self, flags: ir.Value) -> ir.Value:
        """i1: whether any lane of boolean ``flags`` is set."""
        if self.lanes == 1:
            return flags
        return self.intrinsic("llvm.vector.reduce.or", flags, return_type=I1)

    def flag_error(self, flags: ir.Value, status_bit: int) -> None:
        """OR ``status_bit`` into the kernel's return status if any lane of ``flags`` is set."""
        hit = self.b.zext(self.any(flags), I32)
        bit = self.b.mul(hit, ir.Constant(I32, status_bit))
        self.b.store(self.b.or_(self.b.load(self.status), bit), self.status)


def scalar_constant(dtype: np.dtype, value):
    """The Python value llvmlite needs for a constant of ``dtype`` holding ``value``."""
    value = np.asarray(value).astype(dtype)[()]
    if dtype.kind == "b":
        return int(bool(value))
    if dtype.kind in "iu":
        # LLVM integer constants are bit patterns; print them signed.
        bits = 8 * dtype.itemsize
        raw = int(value) & ((1 << bits) - 1)
        return raw - (1 << bits) if raw >> (bits - 1) else raw
    # Keep the exact bits (NaN payloads, -0.0) through a double, as llvmlite prints doubles.
    # (A float16 value is exactly a float32 value: float16 computes in float32 registers.)
    return struct.unpack("<d", struct.pack("<d", float(value)))[0]


@lru_cache(maxsize=8192)
def _splat_constant(element: ir.Type, lanes: int, kind: type, text: str, value) -> ir.Constant:
    """``value`` in every lane (constants are immutable, so one object serves every kernel: vector
    math repeats hundreds of them per kernel, and spelling each afresh was a quarter of building a
    math kernel's IR). Keyed by ``repr``, which tells ``-0.0`` from ``0.0``, not by ``value``."""
    if lanes == 1:
        return ir.Constant(element, value)
    return ir.Constant(ir.VectorType(element, lanes), [value] * lanes)
