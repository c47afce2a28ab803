"""LLVM IR text, built fast: the part of ``llvmlite.ir``'s API that fusenum's code generator uses.

Why not ``llvmlite.ir`` itself: it spends ~17 µs per instruction (a name scope per value, cached
strings, five-deep constructors, formatting at print time), so a 300-instruction kernel took
4-6 ms to build and print, a third of a cold compile, and importing it took ~6 ms more.

This package keeps ``llvmlite.ir``'s class names, signatures and attributes for what the code
generator calls (types, constants, modules, functions, globals, blocks, an ``IRBuilder``) and
prints the same text, byte for byte (``tests/codegen/test_ir_text.py`` checks that on kernels
of every kind): the same value names (``%".7"``; a block's name made unique with ``.1``,
``.2``...), the same hexadecimal floats, the same typed-pointer spelling of a global's or a stack
slot's address (``T*``: llvmlite's default; with ``LLVMLITE_ENABLE_IR_LAYER_TYPED_POINTERS=0``
llvmlite writes ``ptr``, and LLVM reads both the same). Each instruction is formatted once, when it is made; a phi (whose incoming
values come later) when the module is printed.

What it leaves out: debug information, named metadata, landing pads, switches, inline assembly,
identified struct types, and the checks ``llvmlite.ir`` makes that LLVM's verifier also makes.
One addition: :meth:`IRBuilder.store_atomic` accepts an untyped ``ptr`` (llvmlite's insists on a
typed pointer).
"""
from __future__ import annotations

from .builder import IRBuilder
from .types import (
                    ArrayType,
                    Constant,
                    DoubleType,
                    FloatType,
                    FunctionType,
                    HalfType,
                    IntType,
                    LabelType,
                    LiteralStructType,
                    MetaDataType,
                    PointerType,
                    Type,
                    Undefined,
                    Value,
                    VectorType,
                    VoidType,
)
from .values import (
                    AllocaInstr,
                    Argument,
                    Block,
                    CallInstr,
                    ConditionalBranch,
                    Function,
                    GlobalVariable,
                    Instruction,
                    MDValue,
                    Module,
                    PhiInstr,
)

__all__ = ["AllocaInstr", "Argument", "ArrayType", "Block", "CallInstr", "ConditionalBranch", "Constant",
           "DoubleType", "FloatType", "Function", "FunctionType", "GlobalVariable", "HalfType", "IRBuilder",
           "Instruction", "IntType", "LabelType", "LiteralStructType", "MDValue", "MetaDataType", "Module",
           "PhiInstr", "PointerType", "Type", "Undefined", "Value", "VectorType", "VoidType"]
