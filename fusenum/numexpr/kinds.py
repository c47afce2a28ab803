"""numexpr's type system: its seven kinds, how arrays and constants get one, and its opcode signatures.

numexpr computes in seven *kinds*, each one dtype (``bool``; ``int`` is int32,
``long`` int64, ``float`` float32, ``double`` float64, ``complex`` complex128,
``bytes`` for ``S`` arrays), ranked ``bool < int < long < float < double <
complex``. An operation's kind is the highest kind of its operands (so int64
with float32 is float32), and an operation exists only for the signatures
numexpr has an opcode for (:data:`OPCODES`, :data:`FUNCTIONS`); the operands
are upcast along the ranking to the first signature that exists, and where
none does numexpr raises ``NotImplementedError`` (``-`` of bools, ``~`` of
floats). The tables below are those facts about numexpr 2.14, written as data.
"""
from __future__ import annotations

import functools
from typing import Iterator

import numpy as np

#: The kinds, lowest first (the order of upcasting); ``bytes`` is never cast to or from.
RANK = ("bool", "int", "long", "float", "double", "complex")
#: One-letter codes of the kinds, as in numexpr's signatures (``n`` marks a raw integer argument).
CODE = {"bool": "b", "int": "i", "long": "l", "float": "f", "double": "d", "complex": "c", "bytes": "s"}
KIND = {code: kind for kind, code in CODE.items()}
DTYPE = {"bool": np.dtype(bool), "int": np.dtype(np.int32), "long": np.dtype(np.int64),
         "float": np.dtype(np.float32), "double": np.dtype(np.float64), "complex": np.dtype(np.complex128),
         "bytes": np.dtype("S1")}

_INT32 = (-(2**31), 2**31 - 1)


def _signatures(text: str) -> dict[str, frozenset[str]]:
    table = {}
    for line in text.strip().splitlines():
        name, *signatures = line.split()
        table[name] = frozenset(signatures)
    return table


#: Operations numexpr computes directly: name -> signatures (result code, then operand codes).
OPCODES = _signatures("""
    add       ccc ddd fff iii lll
    sub       ccc ddd fff iii lll
    mul       ccc ddd fff iii lll
    div       ccc ddd fff iii lll
    floordiv  ddd fff iii lll
    mod       ddd fff iii lll
    pow       ddd fff iii lll
    and       bbb iii lll
    or        bbb iii lll
    xor       bbb iii lll
    lshift    iii lll
    rshift    iii lll
    eq        bbb bcc bdd bff bii bll bss
    ne        bbb bcc bdd bff bii bll bss
    gt        bdd bff bii bll bss
    ge        bdd bff bii bll bss
    neg       cc dd ff ii ll
    invert    bb ii ll
    copy      bb cc dd ff ii ll ss
    ones_like cc dd ff ii ll
    sqrt      dd ff
    where     bbbb cbcc dbdd fbff ibii lbll
    real      dc
    imag      dc
    complex   cdd
    contains  bss
    sum       ccn ddn ffn iin lln
    prod      ccn ddn ffn iin lln
    min       ddn ffn iin lln
    max       ddn ffn iin lln
""")

#: Functions numexpr computes through its function table: name -> signatures.
FUNCTIONS = _signatures("""
    absolute  cc dd ff ii ll
    round     cc dd ff ii ll
    sign      cc dd ff ii ll
    sqrt      cc dd ff
    sin       cc dd ff
    cos       cc dd ff
    tan       cc dd ff
    arcsin    cc dd ff
    arccos    cc dd ff
    arctan    cc dd ff
    sinh      cc dd ff
    cosh      cc dd ff
    tanh      cc dd ff
    arcsinh   cc dd ff
    arccosh   cc dd ff
    arctanh   cc dd ff
    log       cc dd ff
    log1p     cc dd ff
    log10     cc dd ff
    log2      cc dd ff
    exp       cc dd ff
    expm1     cc dd ff
    conjugate cc dd ff
    ceil      dd ff
    floor     dd ff
    trunc     dd ff
    isnan     bc bd bf
    isfinite  bc bd bf
    isinf     bc bd bf
    signbit   bd bf
    arctan2   ddd fff
    fmod      ddd fff
    hypot     ddd fff
    nextafter ddd fff
    copysign  ddd fff
    maximum   ddd fff
    minimum   ddd fff
    pow       ccc
""")

#: Reductions (the last operand is the raw axis).
REDUCTIONS = frozenset({"sum", "prod", "min", "max"})


def highest(kinds) -> str:
    """The kind of an operation on operands of these kinds (numexpr's common kind)."""
    kinds = list(kinds)
    strings = sum(k == "bytes" for k in kinds)
    if 0 < strings < len(kinds):
        raise TypeError("strings can only be operated with strings")
    if strings:
        return "bytes"
    return max(kinds, key=RANK.index)


def rank(kind: str) -> int:
    return RANK.index(kind)


def of_dtype(dtype: np.dtype) -> str:
    """The kind numexpr computes an array of ``dtype`` in (uint32 needs long, uint64 wraps into long)."""
    kind = dtype.kind
    if kind == "b":
        return "bool"
    if kind in "iu":
        return "long" if dtype.itemsize > 4 or (kind == "u" and dtype.itemsize == 4) else "int"
    if kind == "f":
        return "double" if dtype.itemsize > 4 else "float"
    if kind == "c":
        return "complex"
    if kind == "S":
        return "bytes"
    if kind == "U":
        raise ValueError("NumExpr 2 does not support Unicode as a dtype.")
    raise ValueError(f"unknown type {dtype.name}")


def of_constant(value) -> str:
    """The kind numexpr gives a constant: by value for Python ints (int32 if it fits, else
    long), by type for NumPy scalars, ``double`` for Python floats."""
    if isinstance(value, (bytes, str)):
        return "bytes"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, np.int64):
        return "long"
    if isinstance(value, np.float64):
        return "double"
    if isinstance(value, np.float32):
        return "float"
    if isinstance(value, (int, np.integer)):
        return "int" if _INT32[0] <= value <= _INT32[1] else "long"
    if isinstance(value, float):
        return "double"
    for kind, converter in (("float", float), ("complex", complex)):
        try:
            converted = converter(value)
        except (TypeError, ValueError, OverflowError):  # (OverflowError: an int beyond float's range)
            continue
        if converted == value or converted != converted:
            return kind
    raise TypeError(f"unsupported constant {value!r}")


def upcasts(codes: str) -> Iterator[str]:
    """Every signature the operand codes ``codes`` can be upcast to, in numexpr's order of trying:
    the first operand slowest, each from its own kind upwards (``s`` and ``n`` stay)."""
    if not codes:
        yield ""
        return
    head, rest = codes[0], codes[1:]
    if head in "bilfdc":
        choices = "bilfdc"[ "bilfdc".index(head):]
    else:
        choices = head
    for choice in choices:
        for tail in upcasts(rest):
            yield choice + tail


@functools.lru_cache(maxsize=4096)  # (a new expression asks for each of its operations twice or more)
def signature(name: str, result: str, operands: str) -> tuple[str, bool]:
    """The operand codes numexpr runs ``name`` with for a ``result`` code and operand codes, and
    whether it is a function-table entry; ``NotImplementedError`` (numexpr's message) if none."""
    for candidate in upcasts(operands):
        if result + candidate in OPCODES.get(name, ()):
            return candidate, False
    for candidate in upcasts(operands):
        if result + candidate in FUNCTIONS.get(name, ()):
            return candidate, True
    raise NotImplementedError(f"couldn't find matching opcode for '{name}_{result}{operands}'")
