"""The op table: one row per elementwise operation fusenum compiles.

Every other part of the package reads this table instead of keeping its own
list: the string parser (``symbol`` and ``names``), the lazy-array front end
(``ufunc``), typing (``ufunc.resolve_dtypes`` or ``resolve``), constant
folding (``fold``), code generation (``lower``), the documentation and the
differential tests.

Adding a function is adding a row. ``lower`` maps the kind of the loop dtype
(``b`` bool, ``i`` signed, ``u`` unsigned, ``f`` float; several kinds may share
one key such as ``"iu"``) to the name of a lowering rule in
:mod:`fusenum.codegen.rules`. A rule name may carry an argument after a colon
(``"cmp:<"``). A kind that is missing from ``lower`` is a kind NumPy has no
loop for; NumPy's own type resolution rejects it before codegen sees it.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np


@dataclass(frozen=True)
class Op:
    """One elementwise operation."""

    name: str
    arity: int
    lower: Mapping[str, str]
    ufunc: np.ufunc | None = None
    symbol: str | None = None
    names: tuple[str, ...] = ()
    fold: Callable | None = None
    resolve: Callable | None = None
    weak_cast: str = "strict"
    cost: int = 1
    doc: str = ""
    rules: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        for kinds, rule in self.lower.items():
            for kind in kinds:
                self.rules[kind] = rule

    def rule_for(self, kind: str) -> str | None:
        """The lowering rule for a loop whose dtype has NumPy kind ``kind``."""
        return self.rules.get(kind)


def _where_dtypes(cond, x, y):
    """``np.where`` typing: the condition becomes bool, the branches promote together."""
    out = np.result_type(_example(x), _example(y))
    return (np.dtype(bool), out, out), out


def _example(desc):
    """A value standing for a dtype descriptor in ``np.result_type`` (Python types are weak)."""
    return {int: 0, float: 0.0, complex: 0j}.get(desc, desc)


def _where_fold(cond, x, y):
    return np.where(cond, x, y)


def _row(*ops: Op) -> dict[str, Op]:
    return {op.name: op for op in ops}


# Comparisons of a Python int that does not fit the loop dtype have a known
# answer (NumPy 2 computes it instead of raising OverflowError); "compare" marks them.
_CMP = dict(weak_cast="compare")

OPS: dict[str, Op] = _row(
    # name              arity  lowering by loop kind                          NumPy ufunc        symbol   fold
    Op("add",              2, {"b": "or", "iu": "add", "f": "fadd"},          np.add,            "+",  fold=operator.add),
    Op("subtract",         2, {"iu": "sub", "f": "fsub"},                     np.subtract,       "-",  fold=operator.sub),
    Op("multiply",         2, {"b": "and", "iu": "mul", "f": "fmul"},         np.multiply,       "*",  fold=operator.mul),
    Op("true_divide",      2, {"f": "fdiv"},                                  np.true_divide,    "/",  fold=operator.truediv,
       cost=4),
    Op("floor_divide",     2, {"i": "sfloordiv", "u": "ufloordiv", "f": "ffloordiv"},
                                                                              np.floor_divide,   "//", fold=operator.floordiv,
       cost=8),
    Op("remainder",        2, {"i": "sremainder", "u": "uremainder", "f": "fremainder"},
                                                                              np.remainder,      "%",  fold=operator.mod,
       cost=8),
    Op("power",            2, {"i": "spower", "u": "upower", "f": "fpower"},  np.power,          "**", fold=operator.pow,
       cost=40),
    Op("left_shift",       2, {"iu": "shl"},                                  np.left_shift,     "<<", fold=operator.lshift),
    Op("right_shift",      2, {"i": "ashr", "u": "lshr"},                     np.right_shift,    ">>", fold=operator.rshift),
    Op("bitwise_and",      2, {"biu": "and"},                                 np.bitwise_and,    "&",  fold=operator.and_),
    Op("bitwise_or",       2, {"biu": "or"},                                  np.bitwise_or,     "|",  fold=operator.or_),
    Op("bitwise_xor",      2, {"biu": "xor"},                                 np.bitwise_xor,    "^",  fold=operator.xor),
    Op("less",             2, {"biuf": "cmp:<"},                              np.less,           "<",  fold=operator.lt, **_CMP),
    Op("less_equal",       2, {"biuf": "cmp:<="},                             np.less_equal,     "<=", fold=operator.le, **_CMP),
    Op("greater",          2, {"biuf": "cmp:>"},                              np.greater,        ">",  fold=operator.gt, **_CMP),
    Op("greater_equal",    2, {"biuf": "cmp:>="},                             np.greater_equal,  ">=", fold=operator.ge, **_CMP),
    Op("equal",            2, {"biuf": "cmp:=="},                             np.equal,          "==", fold=operator.eq, **_CMP),
    Op("not_equal",        2, {"biuf": "cmp:!="},                             np.not_equal,      "!=", fold=operator.ne, **_CMP),
    Op("negative",         1, {"iu": "ineg", "f": "fneg"},                    np.negative,       "-",  fold=operator.neg),
    Op("positive",         1, {"iuf": "identity"},                            np.positive,       "+",  fold=operator.pos),
    Op("invert",           1, {"biu": "not"},                                 np.invert,         "~",  fold=operator.invert),
    Op("absolute",         1, {"bu": "identity", "i": "iabs", "f": "fabs"},   np.absolute,
       names=("abs", "absolute"), fold=abs),
    Op("where",            3, {"biuf": "select"}, names=("where",), fold=_where_fold,
       resolve=_where_dtypes, weak_cast="wrap",
       doc="where(cond, x, y): x where cond is true, else y (np.where)"),
    # Rewrite targets of ``**`` (see ir/typing.py): a single-valued float exponent of
    # 2, -1 or 0.5 means square, reciprocal or sqrt, exactly as NumPy computes it.
    Op("square",           1, {"iuf": "square"},                              np.square,         fold=np.square),
    Op("reciprocal",       1, {"f": "reciprocal"},                            np.reciprocal,     fold=np.reciprocal,
       cost=4),
    Op("sqrt",             1, {"f": "sqrt"},                                  np.sqrt,           names=("sqrt",), fold=np.sqrt,
       cost=4),
)

BINARY_SYMBOLS: dict[str, Op] = {op.symbol: op for op in OPS.values() if op.symbol and op.arity == 2}
UNARY_SYMBOLS: dict[str, Op] = {op.symbol: op for op in OPS.values() if op.symbol and op.arity == 1}
FUNCTIONS: dict[str, Op] = {name: op for op in OPS.values() for name in op.names}
BY_UFUNC: dict[np.ufunc, Op] = {op.ufunc: op for op in OPS.values() if op.ufunc is not None}
