"""Lowering rules: how each op-table operation becomes LLVM instructions.

The op table names a rule per dtype kind; :mod:`.registry` holds the rules and
:func:`lower` dispatches a node to its rule. Each module of this package
registers its rules when imported: :mod:`.basic` (arithmetic, comparisons,
bitwise and integer operations), :mod:`.floats` (exact float functions),
:mod:`.complex_numbers`, :mod:`.transcendental` (functions computed by vector math),
:mod:`.byte_strings` (comparisons and ``contains`` of bytes);
:mod:`.casts` converts between dtypes.

Every rule reproduces NumPy's result bit for bit, including the corners where
C would have undefined behaviour, and never lets LLVM see such an operation.
"""
from . import basic, byte_strings, complex_numbers, floats, transcendental  # noqa: F401  (each registers its rules)
from .casts import cast
from .registry import EXACT, RULES, lower, rule

__all__ = ["EXACT", "RULES", "cast", "lower", "rule"]
