"""Named values: a module's globals and functions, their blocks and instructions, metadata."""
from __future__ import annotations

import re

from .types import (
    _BYTE_TEXT,
    _LABEL,
    _METADATA,
    _VOID,
    Constant,
    FunctionType,
    Type,
    Undefined,
    Value,
)


class _Names:
    """Unique names in one scope, made unique as llvmlite makes them: ``x``, ``x.1``, ``x.2``...;
    an unnamed value is ``.1``, ``.2``... (the empty name is taken from the start)."""

    __slots__ = ("used", "counters")

    def __init__(self):
        self.used = {""}
        self.counters: dict[str, int] = {}

    def unique(self, name: str) -> str:
        used = self.used
        if name in used:
            base, n = name, self.counters.get(name, 0)
            while True:
                n += 1
                name = f"{base}.{n}"
                if name not in used:
                    break
            self.counters[base] = n
        used.add(name)
        return name

    def claim(self, name: str) -> str:
        if name in self.used:
            raise NameError(f"duplicated name {name!r}")
        self.used.add(name)
        return name


def _quoted(prefix: str, name: str) -> str:
    if '"' in name or "\\" in name:
        name = name.replace("\\", "\\5c").replace('"', "\\22")
    return f'{prefix}"{name}"'


class Argument(Value):
    __slots__ = ("parent", "type", "name", "_ref")

    def __init__(self, function: Function, typ: Type):
        self.parent = function
        self.type = typ
        self.name = function._names.unique("")
        self._ref = _quoted("%", self.name)


class _GlobalValue(Value):
    __slots__ = ("parent", "type", "name", "_ref", "linkage", "section", "metadata")

    def _register(self, module: Module, typ: Type, name: str) -> None:
        self.parent = module
        self.type = typ
        self.name = module._names.claim(name)
        self._ref = _quoted("@", name)
        self.linkage = ""
        self.section = ""
        self.metadata = {}
        if name in module.globals:
            raise NameError(f"duplicated global {name!r}")
        module.globals[name] = self

    def set_metadata(self, name: str, node: MDValue) -> None:
        self.metadata[name] = node


class GlobalVariable(_GlobalValue):
    __slots__ = ("value_type", "initializer", "global_constant", "align", "unnamed_addr")

    def __init__(self, module: Module, typ: Type, name: str):
        self._register(module, typ.as_pointer(), name)
        self.value_type = typ
        self.initializer = None
        self.global_constant = False
        self.align = None
        self.unnamed_addr = False

    def __str__(self) -> str:
        linkage = self.linkage or ("external" if self.initializer is None else "")
        parts = [f"{self._ref} = "]
        if linkage:
            parts.append(linkage + " ")
        if self.unnamed_addr:
            parts.append("unnamed_addr ")
        parts.append(f"{'constant' if self.global_constant else 'global'} {self.value_type._s}")
        if self.initializer is not None:
            if self.initializer.type != self.value_type:
                raise TypeError(f"got initializer of type {self.initializer.type} "
                                f"for global value type {self.value_type}")
            parts.append(" " + self.initializer._ref)
        elif linkage not in ("external", "extern_weak"):
            parts.append(" " + Constant(self.value_type, Undefined)._ref)
        if self.section:
            parts.append(f', section "{self.section}"')
        if self.align is not None:
            parts.append(f", align {self.align}")
        parts.append(_metadata_suffix(self.metadata))
        return "".join(parts).rstrip()


class FunctionAttributes(set):
    """A function's attribute names, printed sorted, then ``alignstack(n)`` if ``alignstack`` is set
    (as llvmlite prints them)."""

    alignstack = 0

    def __str__(self) -> str:
        names = sorted(self)
        if self.alignstack:
            names.append(f"alignstack({self.alignstack:d})")
        return " ".join(names)


class Function(_GlobalValue):
    __slots__ = ("ftype", "_names", "blocks", "attributes", "args", "calling_convention")

    def __init__(self, module: Module, ftype: FunctionType, name: str):
        self._register(module, ftype.as_pointer(), name)
        self.ftype = ftype
        self._names = _Names()
        self.blocks: list[Block] = []
        self.attributes = FunctionAttributes()
        self.args = tuple([Argument(self, t) for t in ftype.args])
        self._names.unique("")  # llvmlite names the return value too: keep its numbering
        self.calling_convention = ""

    @property
    def module(self) -> Module:
        return self.parent

    @property
    def function_type(self) -> FunctionType:
        return self.ftype

    @property
    def entry_basic_block(self) -> Block:
        return self.blocks[0]

    @property
    def is_declaration(self) -> bool:
        return not self.blocks

    def append_basic_block(self, name: str = "") -> Block:
        block = Block(self, name)
        self.blocks.append(block)
        return block

    def __str__(self) -> str:
        ftype = self.ftype
        prefix = " ".join([x for x in ("define" if self.blocks else "declare", self.linkage,
                                       self.calling_convention, ftype.return_type._s) if x])
        args = ", ".join([f"{a.type._s} {a._ref}" for a in self.args])
        vararg = (", ..." if self.args else "...") if ftype.var_arg else ""
        attributes = str(self.attributes)
        attributes = f" {attributes}" if attributes else ""
        section = f' section "{self.section}"' if self.section else ""
        metadata = _metadata_suffix(self.metadata)[2:]
        metadata = f" {metadata}" if metadata else ""
        lines = [f"{prefix} {self._ref}({args}{vararg}){attributes}{section}{metadata}\n"]
        if self.blocks:
            lines.append("{\n")
            lines.extend([block.text() for block in self.blocks])
            lines.append("}\n")
        return "".join(lines)


_SIMPLE_LABEL = re.compile(r"[-a-zA-Z$._][-a-zA-Z$._0-9]*$")


class Block(Value):
    __slots__ = ("parent", "name", "_ref", "instructions", "terminator")
    type = _LABEL

    def __init__(self, function: Function, name: str = ""):
        self.parent = function
        self.name = function._names.unique(name)
        self._ref = _quoted("%", self.name)
        self.instructions: list[Instruction] = []
        self.terminator: Instruction | None = None

    @property
    def function(self) -> Function:
        return self.parent

    @property
    def module(self) -> Module:
        return self.parent.parent

    @property
    def is_terminated(self) -> bool:
        return self.terminator is not None

    def text(self) -> str:
        label = self.name if _SIMPLE_LABEL.match(self.name) else _quoted("", self.name)
        return "".join([f"{label}:\n", *[f"  {i.line()}\n" for i in self.instructions]])


def _metadata_suffix(metadata) -> str:
    if not metadata:
        return ""
    return "".join([f", !{key} {node._ref}" for key, node in metadata.items()])


class Instruction(Value):
    """One instruction: its text (without metadata) is made with it."""

    __slots__ = ("parent", "type", "name", "_ref", "_text", "metadata")
    #: What comes between an instruction's text and its metadata (llvmlite puts a space in some,
    #: and prints none for some: None).
    _metadata_gap = ""

    def __init__(self, block: Block, typ: Type, name: str, text: str | None):
        self.parent = block
        self.type = typ
        self.name = block.parent._names.unique(name)
        self._ref = _quoted("%", self.name)
        self._text = text
        self.metadata = None

    @property
    def function(self) -> Function:
        return self.parent.parent

    @property
    def module(self) -> Module:
        return self.parent.parent.parent

    @property
    def opname(self) -> str:
        """The instruction's name in IR (``add``, ``load atomic``...)."""
        words = self._describe().split(" ", 2)
        return " ".join(words[:2]) if words[1:2] == ["atomic"] else words[0]

    def set_metadata(self, name: str, node: MDValue) -> None:
        if self.metadata is None:
            self.metadata = {}
        self.metadata[name] = node

    def _describe(self) -> str:
        return self._text

    def line(self) -> str:
        text = self._describe()
        if self.metadata and self._metadata_gap is not None:
            text = f"{text}{self._metadata_gap}{_metadata_suffix(self.metadata)}"
        if self.type is not _VOID:
            text = f"{self._ref} = {text}"
        return text.rstrip()


class _Spaced(Instruction):
    """An instruction whose metadata llvmlite prints after a space."""

    __slots__ = ()
    _metadata_gap = " "


class _Unannotated(Instruction):
    """An instruction llvmlite prints without its metadata (``extractelement``, ``insertelement``)."""

    __slots__ = ()
    _metadata_gap = None


class CallInstr(Instruction):
    __slots__ = ("callee", "args")


class AllocaInstr(Instruction):
    __slots__ = ("allocated_type",)


class PhiInstr(_Spaced):
    __slots__ = ("incomings", "flags")

    def add_incoming(self, value: Value, block: Block) -> None:
        self.incomings.append((value, block))

    def _describe(self) -> str:
        incoming = ", ".join([f"[{v.get_reference()}, {b._ref}]" for v, b in self.incomings])
        return f"phi {' '.join(self.flags)} {self.type._s} {incoming}"


class ConditionalBranch(Instruction):
    __slots__ = ()

    def set_weights(self, weights) -> None:
        operands = ['!"branch_weights"']
        for weight in weights:
            if weight < 0:
                raise ValueError("branch weight must be a positive integer")
            operands.append(f"i32 {weight}")
        self.set_metadata("prof", self.module._metadata(operands))


class MDValue:
    """An unnamed metadata node ``!n = !{ ... }`` (its operands already spelled)."""

    __slots__ = ("name", "_ref", "operands")
    type = _METADATA

    def __init__(self, name: str, operands: tuple[str, ...]):
        self.name = name
        self._ref = f"!{name}"
        self.operands = operands

    def get_reference(self) -> str:
        return self._ref

    def __str__(self) -> str:
        return f"{self._ref} = !{{ {', '.join(self.operands)} }}"


class Module:
    """A module: globals and functions in the order they were made, then metadata."""

    def __init__(self, name: str = ""):
        self.name = name
        self.triple = "unknown-unknown-unknown"
        self.data_layout = ""
        self.globals: dict[str, _GlobalValue] = {}
        self._names = _Names()
        self.metadata: list[MDValue] = []
        self._metadata_made: dict[tuple, MDValue] = {}

    def get_global(self, name: str) -> _GlobalValue:
        return self.globals[name]

    def add_metadata(self, operands) -> MDValue:
        """An unnamed metadata node of ``operands`` (strings and constants), made once per module."""
        spelled = []
        for operand in operands:
            if isinstance(operand, str):
                spelled.append('!"' + "".join([_BYTE_TEXT[c] for c in operand.encode()]) + '"')
            elif isinstance(operand, MDValue):
                spelled.append(operand._ref)
            else:
                spelled.append(str(operand))
        return self._metadata(spelled)

    def _metadata(self, spelled: list[str]) -> MDValue:
        key = tuple(spelled)
        node = self._metadata_made.get(key)
        if node is None:
            node = MDValue(self._names.unique(str(len(self.metadata))), key)
            self.metadata.append(node)
            self._metadata_made[key] = node
        return node

    def __str__(self) -> str:
        lines = [f'; ModuleID = "{self.name}"', f'target triple = "{self.triple}"',
                 f'target datalayout = "{self.data_layout}"', ""]
        lines += [str(g) for g in self.globals.values()]
        lines += [str(node) for node in self.metadata]
        return "\n".join(lines)

    __repr__ = __str__
