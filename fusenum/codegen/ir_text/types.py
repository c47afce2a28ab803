"""LLVM types and constants of them, spelled as ``llvmlite.ir`` spells them (see the package)."""
from __future__ import annotations

import struct


# ---- types ---------------------------------------------------------------------------------------
class Type:
    """An LLVM type; ``str()`` is its spelling in IR."""

    __slots__ = ("_s",)
    null = "zeroinitializer"
    is_pointer = False

    def __str__(self) -> str:
        return self._s

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._s}>"

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other._s == self._s

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self._s)

    def as_pointer(self) -> PointerType:
        return _TypedPointerType(self)

    def __call__(self, value) -> Constant:
        return Constant(self, value)

    def wrap_constant_value(self, value):
        return value

    def format_constant(self, value) -> str:
        return str(value)


class VoidType(Type):
    __slots__ = ()

    def __new__(cls):
        return _VOID


class LabelType(Type):
    __slots__ = ()


class MetaDataType(Type):
    __slots__ = ()


class IntType(Type):
    __slots__ = ("width",)
    _made: dict = {}

    def __new__(cls, width: int):
        made = cls._made.get(width)
        if made is None:
            made = object.__new__(cls)
            made.width = width
            made._s = f"i{width}"
            cls._made[width] = made
        return made

    def __init__(self, width: int):
        pass

    def wrap_constant_value(self, value):
        return 0 if value is None else value

    def format_constant(self, value) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)


def _hex_double(value: float) -> str:
    # LLVM's hexadecimal spelling of a double's bits, padded to 16 characters as llvmlite pads it.
    return format(struct.unpack("Q", struct.pack("d", float(value)))[0], "#16x")


class _FloatingType(Type):
    __slots__ = ()
    null = "0.0"

    def __new__(cls):
        return _FLOATING[cls]


class HalfType(_FloatingType):
    __slots__ = ()

    def format_constant(self, value) -> str:
        try:
            return _hex_double(struct.unpack("e", struct.pack("e", value))[0])
        except struct.error:
            return _hex_double(struct.unpack("f", struct.pack("f", value))[0])


class FloatType(_FloatingType):
    __slots__ = ()

    def format_constant(self, value) -> str:
        return _hex_double(struct.unpack("f", struct.pack("f", value))[0])


class DoubleType(_FloatingType):
    __slots__ = ()

    def format_constant(self, value) -> str:
        return _hex_double(value)


class PointerType(Type):
    """``ptr``; any two pointer types are equal (LLVM's pointers are opaque)."""

    __slots__ = ()
    null = "null"
    is_pointer = True
    is_opaque = True

    def __new__(cls, pointee: Type | None = None):
        if pointee is not None:
            return _TypedPointerType(pointee)
        return _PTR

    def __eq__(self, other) -> bool:
        return isinstance(other, PointerType)

    def __hash__(self) -> int:
        return hash(PointerType)


class _TypedPointerType(PointerType):
    """The address of a global or a stack slot: spelled ``T*``, as llvmlite spells it."""

    __slots__ = ("pointee",)
    is_opaque = False

    def __new__(cls, pointee: Type):
        made = object.__new__(cls)
        made.pointee = pointee
        made._s = f"{pointee}*"
        return made

    def __eq__(self, other) -> bool:
        if isinstance(other, _TypedPointerType):
            return other.pointee == self.pointee
        return isinstance(other, PointerType)

    def __hash__(self) -> int:  # equal to an untyped pointer: the same hash
        return hash(PointerType)

    def gep(self, index) -> Type:
        return self.pointee


def _aggregate_constants(element_types, values):
    return [v if isinstance(v, Value) else Constant(t, v) for t, v in zip(element_types, values)]


def _typed_list(values) -> str:
    return ", ".join([f"{v.type._s} {v._ref}" for v in values])


class _RepeatedType(Type):
    """``count`` elements of one type: a vector ``<n x T>`` or an array ``[n x T]``."""

    __slots__ = ("count", "element")
    _brackets = "<>"

    def __init__(self, element: Type, count: int):
        self.element = element
        self.count = count
        self._s = f"{self._brackets[0]}{count} x {element._s}{self._brackets[1]}"

    def __len__(self) -> int:
        return self.count

    def _spread(self, values):
        if len(values) != self.count:
            raise ValueError(f"wrong constant size for {self._s}: got {len(values)} elements")
        return _aggregate_constants([self.element] * self.count, values)

    def format_constant(self, value) -> str:
        return f"{self._brackets[0]}{_typed_list(value)}{self._brackets[1]}"


class VectorType(_RepeatedType):
    __slots__ = ()

    def wrap_constant_value(self, values):
        if not isinstance(values, (list, tuple)):  # one value: in every lane
            one = values if isinstance(values, Constant) else Constant(self.element, values)
            return (one,) * self.count
        return self._spread(values)


class ArrayType(_RepeatedType):
    __slots__ = ()
    _brackets = "[]"

    def gep(self, index) -> Type:
        return self.element

    def wrap_constant_value(self, values):
        return self._spread(values) if isinstance(values, (list, tuple)) else values


class LiteralStructType(Type):
    __slots__ = ("elements", "packed")

    def __init__(self, elements, packed: bool = False):
        self.elements = tuple(elements)
        self.packed = packed
        text = "{" + ", ".join([t._s for t in self.elements]) + "}"
        self._s = f"<{text}>" if packed else text

    def __len__(self) -> int:
        return len(self.elements)

    def gep(self, index) -> Type:
        return self.elements[index.constant]

    def wrap_constant_value(self, values):
        if not isinstance(values, (list, tuple)):
            return values
        return _aggregate_constants(self.elements, values)

    def format_constant(self, value) -> str:
        text = "{" + _typed_list(value) + "}"
        return f"<{text}>" if self.packed else text


class FunctionType(Type):
    __slots__ = ("return_type", "args", "var_arg")

    def __init__(self, return_type: Type, args, var_arg: bool = False):
        self.return_type = return_type
        self.args = tuple(args)
        self.var_arg = var_arg
        listed = ", ".join([t._s for t in self.args])
        if var_arg:
            listed = f"{listed}, ..." if listed else "..."
        self._s = f"{return_type._s} ({listed})"


_VOID = object.__new__(VoidType)
_VOID._s = "void"
_LABEL = object.__new__(LabelType)
_LABEL._s = "label"
_METADATA = object.__new__(MetaDataType)
_METADATA._s = "metadata"
_PTR = object.__new__(PointerType)
_PTR._s = "ptr"
_FLOATING = {}
for _cls, _name in ((HalfType, "half"), (FloatType, "float"), (DoubleType, "double")):
    _FLOATING[_cls] = object.__new__(_cls)
    _FLOATING[_cls]._s = _name


# ---- values --------------------------------------------------------------------------------------
class _UndefinedType:
    __slots__ = ()

    def __repr__(self) -> str:
        return "Undefined"


#: The value of ``Constant(type, Undefined)``: LLVM's ``undef``.
Undefined = _UndefinedType()

_PRINTABLE = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#$%&'()*+,-./:;<=>?@[]^_`{|}~")
_BYTE_TEXT = [chr(c) if c in _PRINTABLE else f"\\{c:02x}" for c in range(256)]


class Value:
    """Anything an instruction can take as an operand: ``type`` and ``get_reference()``."""

    __slots__ = ()

    def get_reference(self) -> str:
        return self._ref

    def __str__(self) -> str:
        return f"{self.type._s} {self._ref}"


class Constant(Value):
    __slots__ = ("type", "constant", "_ref")

    def __init__(self, typ: Type, constant):
        constant = typ.wrap_constant_value(constant)
        self.type = typ
        self.constant = constant
        if constant is None:
            self._ref = typ.null
        elif constant is Undefined:
            self._ref = "undef"
        elif isinstance(constant, bytearray):
            self._ref = 'c"' + "".join([_BYTE_TEXT[c] for c in constant]) + '"'
        else:
            self._ref = typ.format_constant(constant)

    def __eq__(self, other) -> bool:
        return isinstance(other, Constant) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return f"<Constant type='{self.type}' value={self.constant!r}>"
