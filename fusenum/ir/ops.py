"""The op table: one row per elementwise operation fusenum compiles.

Every other part of the package reads this table instead of keeping its own
list: the string parser (``symbol`` and ``names``), the lazy-array front end
(``ufunc``), typing (``ufunc.resolve_dtypes`` or ``resolve``), constant
folding (``fold``), code generation (``lower``), the documentation and the
differential tests.

Adding a function is adding a row. ``lower`` maps the kind of the loop dtype
(``b`` bool, ``i`` signed, ``u`` unsigned, ``f`` float, ``c`` complex; several
kinds may share one key such as ``"iu"``) to the name of a lowering rule in
:mod:`fusenum.codegen.rules`. A rule name may carry an argument after a colon
(``"cmp:<"``, ``"math:exp"``). A kind that is missing from ``lower`` is a kind
NumPy has no loop for (NumPy's own type resolution rejects it) or one fusenum
does not implement (typing raises ``NotImplementedError`` naming it).

``expand`` rewrites an operation in terms of others for some operands before
typing (``angle`` of a real number is ``arctan2(0, x)``, as in ``np.angle``).

Constant operands are folded by ``fold``, the NumPy function (the ufunc by
default), so ``sqrt(4)`` is a NumPy scalar as in NumPy code; an operator or a
Python builtin (``2 ** 127``, ``abs(-3)``) folds with ``python_fold``, Python's
own meaning, as the same Python code would.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from .nodes import walk
from .operands import NeedsValue


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
    python_fold: Callable | None = None
    resolve: Callable | None = None
    weak_cast: str = "strict"
    cost: int = 1
    expand: Callable | None = None
    doc: str = ""
    rules: dict = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "rules", {kind: rule for kinds, rule in self.lower.items() for kind in kinds})
        if self.fold is None and self.ufunc is not None:
            object.__setattr__(self, "fold", self.ufunc)

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


def _is_complex(desc) -> bool:
    return desc is complex or (isinstance(desc, np.dtype) and desc.kind == "c")


def _part_dtypes(z):
    """``real``/``imag``/``angle`` of a complex number: the parts' float dtype."""
    z = np.dtype(np.complex128) if z is complex else z
    return (z,), np.dtype(f"f{z.itemsize // 2}")


def _complex_dtypes(re, im):
    """``complex(re, im)``: both parts promote together to the float of a complex result."""
    if _is_complex(re) or _is_complex(im):
        raise TypeError("complex(re, im) takes real arguments, not complex ones")
    out = np.result_type(_example(re), _example(im), np.complex64)
    part = np.dtype(f"f{out.itemsize // 2}")
    return (part, part), out


_PY_REAL = (bool, int, float)


def _complex_fold(re, im):
    """``complex`` of constants: a Python complex from Python numbers (weak), else a NumPy scalar."""
    if type(re) in _PY_REAL and type(im) in _PY_REAL:
        return complex(re, im)
    descriptors = [type(v) if type(v) in _PY_REAL else np.asarray(v).dtype for v in (re, im)]
    _, out = _complex_dtypes(*descriptors)
    value = np.empty((), out)
    value.real, value.imag = re, im
    return value[()]


def _tie_fold(ufunc):
    """``np.fmax``/``np.fmin`` of constants, choosing between equal zeros as the kernels do
    (NumPy leaves that choice to C's ``fmax``, whose answer depends on the code path)."""
    def fold(a, b):
        result = ufunc(a, b)
        if np.asarray(result).dtype.kind != "f" or not a == b:
            return result
        return result.dtype.type(a if result.dtype == np.float16 else b)
    return fold


def _clip_fold(x, low, high):
    return np.clip(x, low, high)


def _clip_expand(builder, x, low, high):
    """``np.clip`` converts its first argument with ``np.asarray`` (a Python number there is
    strong), and for an integer ``x`` ignores a Python int bound beyond ``x``'s dtype
    (``np.clip(uint8_array, -1, 300)`` is a copy), which then need not fit the loop dtype."""
    if getattr(x, "pytype", None) is not None:
        raise NeedsValue([x.source])
    if type(x) in (bool, int, float, complex):
        return builder.apply("clip", builder.strong(x), low, high)
    if x.dtype.kind not in "iu":
        return None
    info = np.iinfo(x.dtype)
    for bound in (low, high):
        if getattr(bound, "pytype", None) is int and x.dtype not in bound.fits:
            raise NeedsValue([bound.source])
    no_low = type(low) is int and low <= info.min
    no_high = type(high) is int and high >= info.max
    if no_low and no_high:
        return builder.apply("positive", x)
    if no_low:
        return builder.apply("minimum", x, high)
    if no_high:
        return builder.apply("maximum", x, low)
    return None


def _angle_expand(builder, z):
    """``np.angle`` of a real number is ``arctan2(0, x)`` (0 a Python int, so weakly typed)."""
    if _is_complex_operand(z):
        return None
    return builder.apply("arctan2", 0, z)


def _real_expand(builder, z):
    """``np.real`` of a real number is the number itself."""
    _weak_complex_needs_value(z)
    return None if _is_complex_operand(z) else z


def _imag_expand(builder, z):
    """``np.imag`` of a real number is a zero of its type."""
    _weak_complex_needs_value(z)
    return None if _is_complex_operand(z) else builder.zero_like(z)


def _weak_complex_needs_value(z) -> None:
    """The parts of a Python complex are Python floats (weak): typing must know the value."""
    if getattr(z, "pytype", None) is complex:
        raise NeedsValue([z.source])


def _is_complex_operand(operand) -> bool:
    dtype = getattr(operand, "dtype", None)
    if dtype is not None:
        return dtype.kind == "c"
    return getattr(operand, "pytype", type(operand)) is complex


def _row(*ops: Op) -> dict[str, Op]:
    return {op.name: op for op in ops}


# Comparisons of a Python int that does not fit the loop dtype have a known
# answer (NumPy 2 computes it instead of raising OverflowError); "compare" marks them.
_CMP = dict(weak_cast="compare")
# Cost (in additions) of a vector math function, for the runtime's decision to split a
# call over threads.
_MATH = 20

OPS: dict[str, Op] = _row(
    # name              arity  lowering by loop kind                                    NumPy ufunc        symbol   fold
    Op("add",              2, {"b": "or", "iu": "add", "f": "fadd", "c": "cadd"},       np.add,            "+",  python_fold=operator.add),
    Op("subtract",         2, {"iu": "sub", "f": "fsub", "c": "csub"},                  np.subtract,       "-",  python_fold=operator.sub),
    Op("multiply",         2, {"b": "and", "iu": "mul", "f": "fmul", "c": "cmul"},      np.multiply,       "*",  python_fold=operator.mul),
    Op("true_divide",      2, {"f": "fdiv", "c": "cdiv"},                               np.true_divide,    "/",  python_fold=operator.truediv,
       cost=4),
    Op("floor_divide",     2, {"i": "sfloordiv", "u": "ufloordiv", "f": "ffloordiv"},
                                                                                        np.floor_divide,   "//", python_fold=operator.floordiv,
       cost=8),
    Op("remainder",        2, {"i": "sremainder", "u": "uremainder", "f": "fremainder"},
                                                                                        np.remainder,      "%",  python_fold=operator.mod,
       cost=8),
    Op("power",            2, {"i": "spower", "u": "upower", "f": "fpower", "c": "cpower"},
                                                                                        np.power,          "**", python_fold=operator.pow,
       names=("power",), cost=40),
    Op("left_shift",       2, {"iu": "shl"},                                            np.left_shift,     "<<", python_fold=operator.lshift),
    Op("right_shift",      2, {"i": "ashr", "u": "lshr"},                               np.right_shift,    ">>", python_fold=operator.rshift),
    Op("bitwise_and",      2, {"biu": "and"},                                           np.bitwise_and,    "&",  python_fold=operator.and_),
    Op("bitwise_or",       2, {"biu": "or"},                                            np.bitwise_or,     "|",  python_fold=operator.or_),
    Op("bitwise_xor",      2, {"biu": "xor"},                                           np.bitwise_xor,    "^",  python_fold=operator.xor),
    Op("less",             2, {"biuf": "cmp:<", "c": "ccmp:<"},                         np.less,           "<",  python_fold=operator.lt, **_CMP),
    Op("less_equal",       2, {"biuf": "cmp:<=", "c": "ccmp:<="},                       np.less_equal,     "<=", python_fold=operator.le, **_CMP),
    Op("greater",          2, {"biuf": "cmp:>", "c": "ccmp:>"},                         np.greater,        ">",  python_fold=operator.gt, **_CMP),
    Op("greater_equal",    2, {"biuf": "cmp:>=", "c": "ccmp:>="},                       np.greater_equal,  ">=", python_fold=operator.ge, **_CMP),
    Op("equal",            2, {"biuf": "cmp:==", "c": "ccmp:=="},                       np.equal,          "==", python_fold=operator.eq, **_CMP),
    Op("not_equal",        2, {"biuf": "cmp:!=", "c": "ccmp:!="},                       np.not_equal,      "!=", python_fold=operator.ne, **_CMP),
    Op("negative",         1, {"iu": "ineg", "f": "fneg", "c": "cneg"},                 np.negative,       "-",  python_fold=operator.neg),
    Op("positive",         1, {"iufc": "identity"},                                     np.positive,       "+",  python_fold=operator.pos),
    Op("invert",           1, {"biu": "not"},                                           np.invert,         "~",  python_fold=operator.invert),
    Op("absolute",         1, {"bu": "identity", "i": "iabs", "f": "fabs", "c": "cabs"}, np.absolute,
       names=("abs", "absolute"), python_fold=abs),
    Op("where",            3, {"biufc": "select"}, names=("where",), fold=_where_fold,
       resolve=_where_dtypes, weak_cast="wrap",
       doc="where(cond, x, y): x where cond is true, else y (np.where)"),
    # Also rewrite targets of ``**`` (see ir/typing.py): a single-valued float exponent of
    # 2, -1 or 0.5 means square, reciprocal or sqrt, exactly as NumPy computes it.
    Op("square",           1, {"iuf": "square", "c": "csquare"},                        np.square,         names=("square",)),
    Op("reciprocal",       1, {"iu": "ireciprocal", "f": "reciprocal", "c": "creciprocal"},
                                                                                        np.reciprocal,     names=("reciprocal",), cost=4),
    Op("sqrt",             1, {"f": "sqrt", "c": "cmath:csqrt"},                        np.sqrt,           names=("sqrt",), cost=4),

    # ---- exact float functions --------------------------------------------------------------------
    Op("floor",            1, {"biu": "identity", "f": "round:floor"},                 np.floor,          names=("floor",)),
    Op("ceil",             1, {"biu": "identity", "f": "round:ceil"},                  np.ceil,           names=("ceil",)),
    Op("trunc",            1, {"biu": "identity", "f": "round:trunc"},                 np.trunc,          names=("trunc",)),
    Op("rint",             1, {"f": "round:roundeven", "c": "crint"},                   np.rint,           names=("rint", "round"),
       doc="rint(x), round(x): nearest integer, halves to even (np.rint)"),
    Op("sign",             1, {"i": "isign", "u": "usign", "f": "fsign", "c": "csign"}, np.sign,           names=("sign",)),
    Op("fmod",             2, {"i": "sfmod", "u": "ufmod", "f": "ffmod"},              np.fmod,           names=("fmod",), cost=8),
    Op("copysign",         2, {"f": "copysign"},                                        np.copysign,       names=("copysign",)),
    Op("nextafter",        2, {"f": "nextafter"},                                       np.nextafter,      names=("nextafter",)),
    Op("maximum",          2, {"b": "or", "i": "minmax:smax", "u": "minmax:umax", "f": "fminmax:maximum",
                               "c": "cminmax:maximum"},                                 np.maximum,        names=("maximum",)),
    Op("minimum",          2, {"b": "and", "i": "minmax:smin", "u": "minmax:umin", "f": "fminmax:minimum",
                               "c": "cminmax:minimum"},                                 np.minimum,        names=("minimum",)),
    Op("fmax",             2, {"b": "or", "i": "minmax:smax", "u": "minmax:umax", "f": "fminmax:fmax",
                               "c": "cminmax:fmax"},                                    np.fmax,           names=("fmax",),
       fold=_tie_fold(np.fmax)),
    Op("fmin",             2, {"b": "and", "i": "minmax:smin", "u": "minmax:umin", "f": "fminmax:fmin",
                               "c": "cminmax:fmin"},                                    np.fmin,           names=("fmin",),
       fold=_tie_fold(np.fmin)),
    Op("clip",             3, {"b": "clip", "iu": "clip", "f": "fclip", "c": "cclip"},                np._core.umath.clip, names=("clip",),
       fold=_clip_fold, expand=_clip_expand, doc="clip(x, low, high): x limited to [low, high] (np.clip)"),
    Op("isnan",            1, {"biu": "const:0", "f": "isnan", "c": "cisnan"},          np.isnan,          names=("isnan",)),
    Op("isinf",            1, {"biu": "const:0", "f": "isinf", "c": "cisinf"},          np.isinf,          names=("isinf",)),
    Op("isfinite",         1, {"biu": "const:1", "f": "isfinite", "c": "cisfinite"},    np.isfinite,       names=("isfinite",)),
    Op("signbit",          1, {"f": "signbit"},                                         np.signbit,        names=("signbit",)),
    Op("deg2rad",          1, {"f": "scale:deg2rad"},                                   np.deg2rad,        names=("deg2rad", "radians")),
    Op("rad2deg",          1, {"f": "scale:rad2deg"},                                   np.rad2deg,        names=("rad2deg", "degrees")),

    # ---- complex parts -----------------------------------------------------------------------------
    Op("real",             1, {"c": "real"}, names=("real",), fold=np.real, resolve=_part_dtypes,
       expand=_real_expand, doc="real(z): the real part (np.real)"),
    Op("imag",             1, {"c": "imag"}, names=("imag",), fold=np.imag, resolve=_part_dtypes,
       expand=_imag_expand, doc="imag(z): the imaginary part (np.imag)"),
    Op("conjugate",        1, {"iuf": "identity", "c": "conj"},                        np.conjugate,      names=("conj", "conjugate")),
    Op("angle",            1, {"c": "cangle"}, names=("angle",), fold=np.angle, resolve=_part_dtypes,
       expand=_angle_expand, cost=_MATH, doc="angle(z): the argument of z, arctan2(imag, real) (np.angle)"),
    Op("complex",          2, {"f": "complex"}, names=("complex",), fold=_complex_fold, resolve=_complex_dtypes,
       doc="complex(re, im): the complex number re + im*1j, built from its parts exactly"),

    # ---- transcendental functions (codegen/mathlib.py) -----------------------------------------------
    Op("exp",              1, {"f": "math:exp", "c": "cmath:cexp"},                     np.exp,            names=("exp",), cost=_MATH),
    Op("exp2",             1, {"f": "math:exp2", "c": "cexp2"},                                       np.exp2,           names=("exp2",), cost=_MATH),
    Op("expm1",            1, {"f": "math:expm1", "c": "cexpm1"},                                      np.expm1,          names=("expm1",), cost=_MATH),
    Op("log",              1, {"f": "math:log", "c": "cmath:clog"},                     np.log,            names=("log",), cost=_MATH),
    Op("log2",             1, {"f": "math:log2", "c": "clog_scaled:log2"},                                       np.log2,           names=("log2",), cost=_MATH),
    Op("log10",            1, {"f": "math:log10", "c": "clog_scaled:log10"},                                      np.log10,          names=("log10",), cost=_MATH),
    Op("log1p",            1, {"f": "math:log1p", "c": "clog1p"},                                      np.log1p,          names=("log1p",), cost=_MATH),
    Op("logaddexp",        2, {"f": "logaddexp"},                                       np.logaddexp,      names=("logaddexp",), cost=2 * _MATH),
    Op("sin",              1, {"f": "math:sin", "c": "cmath:csin"},                     np.sin,            names=("sin",), cost=_MATH),
    Op("cos",              1, {"f": "math:cos", "c": "cmath:ccos"},                     np.cos,            names=("cos",), cost=_MATH),
    Op("tan",              1, {"f": "math:tan", "c": "cmath:ctan"},                     np.tan,            names=("tan",), cost=_MATH),
    Op("arcsin",           1, {"f": "math:asin", "c": "cmath:casin"},                   np.arcsin,         names=("arcsin", "asin"), cost=_MATH),
    Op("arccos",           1, {"f": "math:acos", "c": "cmath:cacos"},                   np.arccos,         names=("arccos", "acos"), cost=_MATH),
    Op("arctan",           1, {"f": "math:atan", "c": "cmath:catan"},                   np.arctan,         names=("arctan", "atan"), cost=_MATH),
    Op("arctan2",          2, {"f": "math:atan2"},                                      np.arctan2,        names=("arctan2", "atan2"), cost=_MATH),
    Op("hypot",            2, {"f": "math:hypot"},                                      np.hypot,          names=("hypot",), cost=_MATH),
    Op("sinh",             1, {"f": "math:sinh", "c": "cmath:csinh"},                   np.sinh,           names=("sinh",), cost=_MATH),
    Op("cosh",             1, {"f": "math:cosh", "c": "cmath:ccosh"},                   np.cosh,           names=("cosh",), cost=_MATH),
    Op("tanh",             1, {"f": "math:tanh", "c": "cmath:ctanh"},                   np.tanh,           names=("tanh",), cost=_MATH),
    Op("arcsinh",          1, {"f": "math:asinh", "c": "cmath:casinh"},                 np.arcsinh,        names=("arcsinh", "asinh"), cost=_MATH),
    Op("arccosh",          1, {"f": "math:acosh", "c": "cmath:cacosh"},                 np.arccosh,        names=("arccosh", "acosh"), cost=_MATH),
    Op("arctanh",          1, {"f": "math:atanh", "c": "cmath:catanh"},                 np.arctanh,        names=("arctanh", "atanh"), cost=_MATH),
    Op("cbrt",             1, {"f": "math:cbrt"},                                       np.cbrt,           names=("cbrt",), cost=_MATH),
)

BINARY_SYMBOLS: dict[str, Op] = {op.symbol: op for op in OPS.values() if op.symbol and op.arity == 2}
UNARY_SYMBOLS: dict[str, Op] = {op.symbol: op for op in OPS.values() if op.symbol and op.arity == 1}
FUNCTIONS: dict[str, Op] = {name: op for op in OPS.values() for name in op.names}
BY_UFUNC: dict[np.ufunc, Op] = {op.ufunc: op for op in OPS.values() if op.ufunc is not None}


def expression_cost(root) -> int:
    """The summed op-table cost of every operation in the expression under ``root``."""
    return sum(OPS[n.op].cost if n.op in OPS else 1 for n in walk(root) if n.args)
