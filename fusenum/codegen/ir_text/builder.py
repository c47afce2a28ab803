"""``IRBuilder``: appends instructions at a position in a block, formatting each as it is made."""
from __future__ import annotations

from contextlib import contextmanager

from .types import (
    _VOID,
    Constant,
    IntType,
    LiteralStructType,
    PointerType,
    Type,
    Value,
    VectorType,
)
from .values import (
    AllocaInstr,
    Block,
    CallInstr,
    ConditionalBranch,
    Function,
    Instruction,
    Module,
    PhiInstr,
    _Spaced,
    _Unannotated,
)

# ---- the builder ---------------------------------------------------------------------------------
_COMPARISONS = {">": "gt", "<": "lt", "==": "eq", "!=": "ne", ">=": "ge", "<=": "le"}
_I1 = IntType(1)
_I32 = IntType(32)


def _binary(opname: str):
    def build(self, lhs: Value, rhs: Value, name: str = "", flags=()) -> Instruction:
        ty = lhs.type
        if ty is not rhs.type and ty != rhs.type:
            raise ValueError(f"Operands must be the same type, got ({ty}, {rhs.type})")
        op = " ".join([opname, *flags]) if flags else opname
        return self._add(Instruction(self._block, ty, name, f"{op} {ty._s} {lhs._ref}, {rhs._ref}"))
    build.__name__ = opname
    return build


def _cast(opname: str):
    def build(self, value: Value, typ: Type, name: str = "") -> Value:
        if value.type == typ:
            return value
        return self._add(_Spaced(self._block, typ, name, f"{opname} {value.type._s} {value._ref} to {typ._s}"))
    build.__name__ = opname
    return build


def _label_suffix(label: str, suffix: str) -> str:
    return f"{label[:25]}..{suffix}" if len(label) > 50 else label + suffix


class IRBuilder:
    """Appends instructions at a position in a block (``llvmlite.ir.IRBuilder``'s interface)."""

    def __init__(self, block: Block | None = None):
        self._block = block
        self._anchor = len(block.instructions) if block is not None else 0

    @property
    def block(self) -> Block:
        return self._block

    basic_block = block

    @property
    def function(self) -> Function:
        return self._block.parent

    @property
    def module(self) -> Module:
        return self._block.parent.parent

    def position_at_start(self, block: Block) -> None:
        self._block = block
        self._anchor = 0

    def position_at_end(self, block: Block) -> None:
        self._block = block
        self._anchor = len(block.instructions)

    def position_before(self, instruction: Instruction) -> None:
        self._block = instruction.parent
        self._anchor = self._block.instructions.index(instruction)

    def append_basic_block(self, name: str = "") -> Block:
        return self._block.parent.append_basic_block(name)

    def _add(self, instruction):
        self._block.instructions.insert(self._anchor, instruction)
        self._anchor += 1
        return instruction

    def _terminate(self, instruction):
        if self._block.terminator is not None:
            raise AssertionError(f"block {self._block.name} is already terminated")
        self._add(instruction)
        self._block.terminator = instruction
        return instruction

    @contextmanager
    def goto_block(self, block: Block):
        old = self._block
        if block.terminator is not None:
            self.position_before(block.terminator)
        else:
            self.position_at_end(block)
        try:
            yield
        finally:
            self.position_at_end(old)

    @contextmanager
    def if_then(self, predicate: Value, likely: bool | None = None):
        here = self._block
        then = self.append_basic_block(_label_suffix(here.name, ".if"))
        join = self.append_basic_block(_label_suffix(here.name, ".endif"))
        branch = self.cbranch(predicate, then, join)
        if likely is not None:
            branch.set_weights([99, 1] if likely else [1, 99])
        self.position_at_end(then)
        yield join
        if self._block.terminator is None:
            self.branch(join)
        self.position_at_end(join)

    # arithmetic and logic
    shl, lshr, ashr = _binary("shl"), _binary("lshr"), _binary("ashr")
    add, fadd, sub, fsub = _binary("add"), _binary("fadd"), _binary("sub"), _binary("fsub")
    mul, fmul, udiv, sdiv, fdiv = _binary("mul"), _binary("fmul"), _binary("udiv"), _binary("sdiv"), _binary("fdiv")
    urem, srem, frem = _binary("urem"), _binary("srem"), _binary("frem")
    or_, and_, xor = _binary("or"), _binary("and"), _binary("xor")

    def not_(self, value: Value, name: str = "") -> Instruction:
        ty = value.type
        ones = Constant(ty, (-1,) * ty.count) if isinstance(ty, VectorType) else Constant(ty, -1)
        return self.xor(value, ones, name=name)

    def neg(self, value: Value, name: str = "") -> Instruction:
        return self.sub(Constant(value.type, 0), value, name=name)

    def fneg(self, value: Value, name: str = "", flags=()) -> Instruction:
        op = " ".join(["fneg", *flags]) if flags else "fneg"
        return self._add(Instruction(self._block, value.type, name, f"{op} {value.type._s} {value._ref}"))

    # comparisons and selection
    def _compare(self, opname: str, op: str, lhs: Value, rhs: Value, name: str, flags=()) -> Instruction:
        ty = lhs.type
        result = VectorType(_I1, ty.count) if isinstance(ty, VectorType) else _I1
        flagged = "".join([" " + f for f in flags])
        return self._add(_Spaced(self._block, result, name,
                                 f"{opname}{flagged} {op} {ty._s} {lhs._ref}, {rhs._ref}"))

    def icmp_signed(self, op: str, lhs: Value, rhs: Value, name: str = "") -> Instruction:
        code = _COMPARISONS[op]
        return self._compare("icmp", code if op in ("==", "!=") else "s" + code, lhs, rhs, name)

    def icmp_unsigned(self, op: str, lhs: Value, rhs: Value, name: str = "") -> Instruction:
        code = _COMPARISONS[op]
        return self._compare("icmp", code if op in ("==", "!=") else "u" + code, lhs, rhs, name)

    def fcmp_ordered(self, op: str, lhs: Value, rhs: Value, name: str = "", flags=()) -> Instruction:
        return self._compare("fcmp", "o" + _COMPARISONS[op] if op in _COMPARISONS else op, lhs, rhs, name, flags)

    def fcmp_unordered(self, op: str, lhs: Value, rhs: Value, name: str = "", flags=()) -> Instruction:
        return self._compare("fcmp", "u" + _COMPARISONS[op] if op in _COMPARISONS else op, lhs, rhs, name, flags)

    def select(self, condition: Value, lhs: Value, rhs: Value, name: str = "", flags=()) -> Instruction:
        return self._add(_Spaced(self._block, lhs.type, name,
                                 f"select {' '.join(flags)} {condition.type._s} {condition._ref}, "
                                 f"{lhs.type._s} {lhs._ref}, {rhs.type._s} {rhs._ref}"))

    # conversions
    trunc, zext, sext = _cast("trunc"), _cast("zext"), _cast("sext")
    fptrunc, fpext, bitcast = _cast("fptrunc"), _cast("fpext"), _cast("bitcast")
    fptoui, uitofp, fptosi, sitofp = _cast("fptoui"), _cast("uitofp"), _cast("fptosi"), _cast("sitofp")
    ptrtoint, inttoptr = _cast("ptrtoint"), _cast("inttoptr")

    # memory
    def alloca(self, typ: Type, size=None, name: str = "") -> Instruction:
        text = f"alloca {typ._s}"
        if size is not None:
            size = size if isinstance(size, Value) else Constant(_I32, size)
            text += f", {size.type._s} {size._ref}"
        slot = AllocaInstr(self._block, typ.as_pointer(), name, text)
        slot.allocated_type = typ
        return self._add(slot)

    @staticmethod
    def _loaded_type(ptr: Value, typ: Type | None) -> Type:
        if typ is not None:
            return typ
        if not isinstance(ptr.type, PointerType):
            raise TypeError(f"cannot load from value of type {ptr.type}: not a pointer")
        if ptr.type.is_opaque:
            raise ValueError("Load lacks type.")
        return ptr.type.pointee

    def load(self, ptr: Value, name: str = "", align: int | None = None, typ: Type | None = None) -> Instruction:
        typ = self._loaded_type(ptr, typ)
        aligned = "" if align is None else f", align {align}"
        return self._add(Instruction(self._block, typ, name, f"load {typ._s}, {ptr.type._s} {ptr._ref}{aligned}"))

    def store(self, value: Value, ptr: Value, align: int | None = None) -> Instruction:
        if not ptr.type.is_opaque and ptr.type.pointee != value.type:
            raise TypeError(f"cannot store {value.type} to {ptr.type}: mismatching types")
        aligned = "" if align is None else f", align {align}"
        return self._add(Instruction(self._block, _VOID, "",
                                     f"store {value.type._s} {value._ref}, {ptr.type._s} {ptr._ref}{aligned}"))

    def load_atomic(self, ptr: Value, ordering: str, align: int, name: str = "", typ: Type | None = None):
        typ = self._loaded_type(ptr, typ)
        return self._add(Instruction(self._block, typ, name,
                                     f"load atomic {typ._s}, {ptr.type._s} {ptr._ref} {ordering}, align {align}"))

    def store_atomic(self, value: Value, ptr: Value, ordering: str, align: int) -> Instruction:
        if not ptr.type.is_opaque and ptr.type.pointee != value.type:
            raise TypeError(f"cannot store {value.type} to {ptr.type}: mismatching types")
        return self._add(Instruction(self._block, _VOID, "", f"store atomic {value.type._s} {value._ref}, "
                                                             f"{ptr.type._s} {ptr._ref} {ordering}, align {align}"))

    def gep(self, ptr: Value, indices, inbounds: bool = False, name: str = "", source_etype: Type | None = None):
        if source_etype is not None:
            typ = ptr.type
        elif not ptr.type.is_opaque:
            source_etype = ptr.type.pointee
            typ, last = ptr.type, None
            for index in indices:
                last, typ = typ, typ.gep(index)
            typ = last if not isinstance(typ, PointerType) and isinstance(last, PointerType) else typ.as_pointer()
        else:
            raise ValueError("GEP lacks type.")
        op = "getelementptr inbounds" if inbounds else "getelementptr"
        listed = ", ".join([f"{i.type._s} {i._ref}" for i in indices])
        return self._add(_Spaced(self._block, typ, name, f"{op} {source_etype._s}, {ptr.type._s} {ptr._ref}, {listed}"))

    def atomic_rmw(self, op: str, ptr: Value, value: Value, ordering: str, name: str = "") -> Instruction:
        return self._add(_Spaced(self._block, value.type, name, f"atomicrmw {op} {ptr.type._s} {ptr._ref}, "
                                                                f"{value.type._s} {value._ref} {ordering}"))

    def cmpxchg(self, ptr: Value, cmp: Value, value: Value, ordering: str, failordering: str | None = None,
                name: str = "") -> Instruction:
        failordering = ordering if failordering is None else failordering
        result = LiteralStructType([value.type, _I1])
        return self._add(_Spaced(self._block, result, name,
                                 f"cmpxchg {ptr.type._s} {ptr._ref}, {cmp.type._s} {cmp._ref}, "
                                 f"{cmp.type._s} {value._ref} {ordering} {failordering}"))

    # vectors and aggregates
    def extract_element(self, vector: Value, index: Value, name: str = "") -> Instruction:
        if not isinstance(vector.type, VectorType):
            raise TypeError("vector needs to be of VectorType.")
        return self._add(_Unannotated(self._block, vector.type.element, name,
                                      f"extractelement {vector.type._s} {vector._ref}, {index.type._s} {index._ref}"))

    def insert_element(self, vector: Value, value: Value, index: Value, name: str = "") -> Instruction:
        if not isinstance(vector.type, VectorType):
            raise TypeError("vector needs to be of VectorType.")
        if value.type != vector.type.element:
            raise TypeError(f"value needs to be of type {vector.type.element} not {value.type}.")
        return self._add(_Unannotated(self._block, vector.type, name,
                                      f"insertelement {vector.type._s} {vector._ref}, {value.type._s} {value._ref}, "
                                     f"{index.type._s} {index._ref}"))

    def shuffle_vector(self, first: Value, second: Value, mask: Constant, name: str = "") -> Instruction:
        typ = VectorType(first.type.element, mask.type.count)
        return self._add(_Spaced(self._block, typ, name,
                                 f"shufflevector {first.type._s} {first._ref}, {second.type._s} {second._ref}, "
                                 f"{mask.type._s} {mask._ref}"))

    def extract_value(self, aggregate: Value, index, name: str = "") -> Instruction:
        indices = index if isinstance(index, (tuple, list)) else [index]
        typ = aggregate.type
        for i in indices:
            typ = typ.elements[i]
        listed = ", ".join([str(i) for i in indices])
        return self._add(_Spaced(self._block, typ, name,
                                 f"extractvalue {aggregate.type._s} {aggregate._ref}, {listed}"))

    def phi(self, typ: Type, name: str = "", flags=()) -> PhiInstr:
        phi = PhiInstr(self._block, typ, name, None)
        phi.incomings = []
        phi.flags = list(flags)
        return self._add(phi)

    # calls and control flow
    def call(self, fn, args, name: str = "") -> CallInstr:
        fnty = fn.function_type
        args = list(args)
        for i, expected in enumerate(fnty.args):
            if args[i].type != expected:
                raise TypeError(f"Type of #{i + 1} arg mismatch: {expected} != {args[i].type}")
        callee = f"{(fnty if fnty.var_arg else fnty.return_type)._s} {fn.get_reference()}"
        convention = getattr(fn, "calling_convention", "")
        if convention:
            callee = f"{convention} {callee}"
        listed = ", ".join([f"{a.type._s} {a._ref}" for a in args])
        call = CallInstr(self._block, fnty.return_type, name, f"call {callee}({listed})")
        call.callee = fn
        call.args = args
        return self._add(call)

    def branch(self, target: Block) -> Instruction:
        return self._terminate(Instruction(self._block, _VOID, "", f"br label {target._ref}"))

    def cbranch(self, condition: Value, yes: Block, no: Block) -> ConditionalBranch:
        return self._terminate(ConditionalBranch(
            self._block, _VOID, "", f"br {condition.type._s} {condition._ref}, label {yes._ref}, label {no._ref}"))

    def ret(self, value: Value) -> Instruction:
        return self._terminate(Instruction(self._block, _VOID, "", f"ret {value.type._s} {value._ref}"))

    def ret_void(self) -> Instruction:
        return self._terminate(Instruction(self._block, _VOID, "", "ret void"))
