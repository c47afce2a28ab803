"""The op table: one row per elementwise operation fusenum compiles.

Every other part of the package reads this table instead of keeping its own
list: the string parser (``symbol`` and ``names``), the lazy-array front end
(``ufunc``), typing (``ufunc.resolve_dtypes`` or ``resolve``), constant
folding (``fold``), code generation (``lower``), the documentation and the
differential tests.

Adding a function is adding a row. ``lower`` maps the kind of the loop dtype
(``b`` bool, ``i`` signed, ``u`` unsigned, ``f`` float, ``c`` complex, ``S`` bytes; several
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

The row is the whole truth about its function, and everyone reads it:

* ``ufunc`` or ``function`` is its NumPy function (``np.sinc`` and ``np.where`` are
  not ufuncs); :attr:`Op.numpy` is whichever it has. The lazy front end captures
  the ufunc through ``__array_ufunc__`` and the function through
  ``__array_function__``; strings accept every name NumPy gives it
  (:attr:`Op.spellings`: ``names``, the function's ``__name__`` and its aliases in
  the ``numpy`` namespace, so ``true_divide``, ``divide`` and ``/`` are one row).
* ``ulp`` is 0 for a function that is NumPy's bit for bit, else the bound (in ULP
  of the result) within which its float and complex results are NumPy's; the
  differential tests compare exactly or within that bound accordingly.
* ``loop_arg`` is the operand whose dtype picks the loop (and so the lowering
  rule): ``where``'s condition is bool whatever its branches are.
* ``doc`` is its line in the README's function table (``tools/op_table.py``), what it
  computes in our words (not NumPy's docstring, which NumPy rewords); every row must give one.
"""
from __future__ import annotations

import operator
from functools import cached_property, lru_cache
from typing import Callable, Mapping

import numpy as np

from ..errors import ArgumentTypeError
from . import byte_strings, nodes, numpy_behaviour
from .nodes import walk
from .operands import NeedsValue
from .records import record


#: NumPy's public names: numexpr, imported by pandas and so by xarray, adds np.expm1x, which must not
#: become a spelling (or one depending on what was imported first).
_NUMPY_PUBLIC = frozenset(np.__all__)


@lru_cache(maxsize=None)
def _numpy_public_names() -> dict[int, list[str]]:
    """NumPy's public names by the ``id`` of the object they name (one pass over NumPy's namespace,
    not one per row: that pass was a fifth of ``import fusenum``)."""
    names: dict[int, list[str]] = {}
    for name, value in vars(np).items():
        if name in _NUMPY_PUBLIC:
            names.setdefault(id(value), []).append(name)
    return names


@record
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
    weak_cast: str | Callable[[], str] = "strict"
    cost: int = 1
    expand: Callable | None = None
    doc: str = ""
    function: Callable | None = None
    ulp: int = 0
    loop_arg: int = 0
    #: NumPy kinds whose lowering asks the installed NumPy which shortcuts its loop takes
    #: (:mod:`.numpy_behaviour`): the code then depends on more than the IR (see
    #: :func:`numpy_answers`, which also counts the functions the ``math`` rule lowers).
    follows_numpy: str = ""
    #: Arguments whose single value NumPy's loop (for the kinds of :attr:`follows_numpy`) takes a
    #: shortcut for: an exponent of 2, -1 or 0.5, clip's bounds. The loop sees one value only where
    #: the array it is given has a 0 stride (see :func:`numpy_materializes`).
    single_value_args: tuple[int, ...] = ()
    # rules (by NumPy kind, from ``lower``) is set by __post_init__: not a field

    def __post_init__(self):
        object.__setattr__(self, "rules", {kind: rule for kinds, rule in self.lower.items() for kind in kinds})
        if self.fold is None and self.numpy is not None:
            object.__setattr__(self, "fold", self.numpy)
        if not self.doc:
            raise TypeError(f"op table row {self.name!r} has no doc: give it doc=..., "
                            "its line in the README's function table")

    @property
    def numpy(self) -> Callable | None:
        """The NumPy function this row computes: its ufunc, or a NumPy function that is not one."""
        return self.ufunc if self.ufunc is not None else self.function

    @property
    def exact(self) -> bool:
        """Whether every result is NumPy's bit for bit (else within :attr:`ulp` ULP)."""
        return self.ulp == 0

    @cached_property
    def spellings(self) -> tuple[str, ...]:
        """Every name a string may call this row by: ``names``, then NumPy's public names for its function."""
        found = dict.fromkeys(self.names)
        function = self.numpy
        if function is not None:
            found.update(dict.fromkeys([function.__name__]))
            # vars, not getattr: getattr would import NumPy's lazily loaded submodules, f2py among them
            found.update(dict.fromkeys(sorted(_numpy_public_names().get(id(function), ()))))
        return tuple(found)

    @property
    def weak_conversion(self) -> str:
        """How a Python scalar operand becomes the loop dtype: ``"strict"`` (``OverflowError``
        if an int does not fit), ``"wrap"`` or ``"compare"`` (see typing); ``weak_cast`` may be
        a function asking the installed NumPy."""
        return self.weak_cast() if callable(self.weak_cast) else self.weak_cast

    def rule_for(self, kind: str) -> str | None:
        """The lowering rule for a loop whose dtype has NumPy kind ``kind``, or None: NumPy has no
        such loop, fusenum does not implement it, or cannot give the installed NumPy's answer
        (see :meth:`unavailable`)."""
        return None if self.unavailable(kind) else self.rules.get(kind)

    def unavailable(self, kind: str) -> str | None:
        """Why a rule this row has for ``kind`` cannot give the installed NumPy's answer, or None.

        NumPy wheels up to 2.2 compute the complex arc functions with NumPy's own code rather
        than the C library's, which fusenum's kernels call; NumPy is asked (once) which it does.
        """
        if kind == "c" and kind in self.rules:
            return numpy_behaviour.complex_differs_from_c_library(self.name)
        return None


def _where_weak_cast() -> str:
    """NumPy up to 2.4 wraps a Python int beyond the branch dtype (``where(c, int8, 300)`` has 44);
    from 2.5 that is an ``OverflowError``, as in other operations."""
    return "wrap" if numpy_behaviour.where_wraps_out_of_range_ints() else "strict"


def _where_dtypes(cond, x, y):
    """``np.where`` typing: the condition becomes bool, the branches promote together."""
    out = np.result_type(_example(x), _example(y))
    return (np.dtype(bool), out, out), out


def _example(desc):
    """A value standing for a dtype descriptor in ``np.result_type`` (Python types are weak)."""
    return {int: 0, float: 0.0, complex: 0j}.get(desc, desc)


def _is_complex(desc) -> bool:
    return desc is complex or (isinstance(desc, np.dtype) and desc.kind == "c")


def _part_dtypes(z):
    """``real``/``imag``/``angle`` of a complex number: the parts' float dtype."""
    z = np.dtype(np.complex128) if z is complex else z
    return (z,), np.dtype(f"f{z.itemsize // 2}")


def _complex_dtypes(re, im):
    """``complex(re, im)``: both parts promote together to the float of a complex result."""
    if _is_complex(re) or _is_complex(im):
        raise ArgumentTypeError("complex(re, im) takes real arguments, not complex ones")
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
    if x.dtype.kind not in "iu" or not numpy_behaviour.clip_ignores_out_of_range_int_bounds():
        return None  # NumPy 2.0 raises OverflowError for such a bound, as typing then does
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


# np.sinc is Python code whose formula changed: NumPy 2.4 computes ``y = pi * x`` first and puts
# the float dtype's eps where y is 0 (float16 sinc(0) is 1); earlier NumPy put 1e-20 where x
# is 0 first (float16 sinc(0) is NaN, 1e-20 being 0 in float16). Follow the installed NumPy.
with np.errstate(all="ignore"):
    _SINC_EPS_AFTER = bool(np.sinc(np.zeros(1, np.float16))[0] == 1)


def _round_expand(builder, x):
    """``np.round`` (no decimals): NumPy's ``rint``, but an integer array is returned as it is."""
    if isinstance(x, nodes.Node) and x.dtype.kind in "iu":
        return x
    return builder.apply("rint", x)


def _sinc_expand(builder, x):
    """``np.sinc`` as the installed NumPy computes it, from ``multiply``, ``where``, ``sin`` and ``/``
    (``np.pi`` and ``1.0e-20`` Python floats, so weak; an integer ``x`` gives float64)."""
    if _SINC_EPS_AFTER:
        y = builder.apply("multiply", np.pi, x)
        eps = builder.strong(np.finfo(y.dtype).eps) if y.dtype.kind == "f" else 1.0e-20
        y = builder.apply("where", y, y, eps)
    else:
        y = builder.apply("multiply", np.pi, builder.apply("where", builder.apply("equal", x, 0), 1.0e-20, x))
    return builder.apply("true_divide", builder.apply("sin", y), y)


def _row(*ops: Op) -> dict[str, Op]:
    return {op.name: op for op in ops}


# Comparisons of a Python int that does not fit the loop dtype have a known
# answer (NumPy 2 computes it instead of raising OverflowError); "compare" marks them.
_CMP = dict(weak_cast="compare")
#: Cost (in additions) of a vector math function, for the runtime's decisions to split a
#: call over threads and to stream its stores.
MATH_COST = 20
_MATH = MATH_COST  # (short, for the table's rows)
# The ULP bound of the functions computed by vector math (and of pow(), which NumPy's loops call).
_ULP = 4

OPS: dict[str, Op] = _row(
    # name              arity  lowering by loop kind                                    NumPy ufunc        symbol   fold
    Op("add",              2, {"b": "or", "iu": "add", "f": "fadd", "c": "cadd"},       np.add,            "+",  python_fold=operator.add,
       doc="x + y; logical or for bools"),
    Op("subtract",         2, {"iu": "sub", "f": "fsub", "c": "csub"},                  np.subtract,       "-",  python_fold=operator.sub,
       doc="x - y"),
    Op("multiply",         2, {"b": "and", "iu": "mul", "f": "fmul", "c": "cmul"},      np.multiply,       "*",  python_fold=operator.mul,
       doc="x * y; logical and for bools"),
    Op("true_divide",      2, {"f": "fdiv", "c": "cdiv"},                               np.true_divide,    "/",  python_fold=operator.truediv,
       cost=4, doc="x / y; integers give a float64 result"),
    Op("floor_divide",     2, {"i": "sfloordiv", "u": "ufloordiv", "f": "ffloordiv"},
                                                                                        np.floor_divide,   "//", python_fold=operator.floordiv,
       cost=8, doc="floor of x / y, as Python's //; for integers x // 0 is 0"),
    Op("remainder",        2, {"i": "sremainder", "u": "uremainder", "f": "fremainder"},
                                                                                        np.remainder,      "%",  python_fold=operator.mod,
       cost=8, doc="x - floor(x / y) * y, the sign of y (Python's %); integer x % 0 is 0"),
    Op("power",            2, {"i": "spower", "u": "upower", "f": "fpower", "c": "cpower"},
                                                                                        np.power,          "**", python_fold=operator.pow,
       names=("power",), cost=40, ulp=_ULP, follows_numpy="f", single_value_args=(1,),
       doc="x ** y; integers to negative integer powers raise ValueError"),
    Op("left_shift",       2, {"iu": "shl"},                                            np.left_shift,     "<<", python_fold=operator.lshift,
       doc="the bits of x shifted left by y; 0 from the bit width on"),
    Op("right_shift",      2, {"i": "ashr", "u": "lshr"},                               np.right_shift,    ">>", python_fold=operator.rshift,
       doc="the bits of x shifted right by y, copying the sign bit of signed x"),
    Op("bitwise_and",      2, {"biu": "and"},                                           np.bitwise_and,    "&",  python_fold=operator.and_,
       doc="bitwise and; logical and for bools"),
    Op("bitwise_or",       2, {"biu": "or"},                                            np.bitwise_or,     "|",  python_fold=operator.or_,
       doc="bitwise or; logical or for bools"),
    Op("bitwise_xor",      2, {"biu": "xor"},                                           np.bitwise_xor,    "^",  python_fold=operator.xor,
       doc="bitwise exclusive or; logical xor for bools"),
    Op("less",             2, {"biuf": "cmp:<", "c": "ccmp:<", "S": "bytes_cmp:<"}, np.less,           "<",  python_fold=operator.lt, **_CMP,
       doc="x < y; complex numbers compare real parts first, then imaginary"),
    Op("less_equal",       2, {"biuf": "cmp:<=", "c": "ccmp:<=", "S": "bytes_cmp:<="}, np.less_equal,     "<=", python_fold=operator.le, **_CMP,
       doc="x <= y; complex numbers compare real parts first, then imaginary"),
    Op("greater",          2, {"biuf": "cmp:>", "c": "ccmp:>", "S": "bytes_cmp:>"}, np.greater,        ">",  python_fold=operator.gt, **_CMP,
       doc="x > y; complex numbers compare real parts first, then imaginary"),
    Op("greater_equal",    2, {"biuf": "cmp:>=", "c": "ccmp:>=", "S": "bytes_cmp:>="}, np.greater_equal,  ">=", python_fold=operator.ge, **_CMP,
       doc="x >= y; complex numbers compare real parts first, then imaginary"),
    Op("equal",            2, {"biuf": "cmp:==", "c": "ccmp:==", "S": "bytes_cmp:=="}, np.equal,          "==", python_fold=operator.eq, **_CMP,
       doc="x == y; bytes compare as if NUL-padded to one length"),
    Op("not_equal",        2, {"biuf": "cmp:!=", "c": "ccmp:!=", "S": "bytes_cmp:!="}, np.not_equal,      "!=", python_fold=operator.ne, **_CMP,
       doc="x != y; bytes compare as if NUL-padded to one length"),
    Op("negative",         1, {"iu": "ineg", "f": "fneg", "c": "cneg"},                 np.negative,       "-",  python_fold=operator.neg,
       doc="-x; integers wrap around (-(-128) is -128 in int8)"),
    Op("positive",         1, {"iufc": "identity"},                                     np.positive,       "+",  python_fold=operator.pos,
       doc="x unchanged"),
    Op("invert",           1, {"biu": "not"},                                           np.invert,         "~",  python_fold=operator.invert,
       doc="bitwise not; logical not for bools"),
    Op("absolute",         1, {"bu": "identity", "i": "iabs", "f": "fabs", "c": "cabs"}, np.absolute,
       names=("abs", "absolute"), python_fold=abs,
       doc="absolute value; the modulus for complex; integers wrap around"),
    Op("where",            3, {"biufc": "select"}, names=("where",), function=np.where,
       resolve=_where_dtypes, weak_cast=_where_weak_cast, loop_arg=1,
       doc="where(cond, x, y): x where cond is true, else y"),
    # Also rewrite targets of ``**`` (see ir/typing.py): a single-valued float exponent of
    # 2, -1 or 0.5 means square, reciprocal or sqrt, exactly as NumPy computes it.
    Op("square",           1, {"iuf": "square", "c": "csquare"},                        np.square,         names=("square",),
       doc="x * x"),
    Op("reciprocal",       1, {"iu": "ireciprocal", "f": "reciprocal", "c": "creciprocal"},
                                                                                        np.reciprocal,     names=("reciprocal",), cost=4,
       doc="1 / x; for integers, truncated toward zero"),
    Op("sqrt",             1, {"f": "sqrt", "c": "cmath:csqrt"},                        np.sqrt,           names=("sqrt",), cost=4,
       doc="square root; NaN for x < 0, the principal root for complex"),

    # ---- exact float functions --------------------------------------------------------------------
    Op("floor",            1, {"biu": "identity", "f": "round:floor"},                 np.floor,          names=("floor",),
       doc="the largest integer <= x"),
    Op("ceil",             1, {"biu": "identity", "f": "round:ceil"},                  np.ceil,           names=("ceil",),
       doc="the smallest integer >= x"),
    Op("trunc",            1, {"biu": "identity", "f": "round:trunc"},                 np.trunc,          names=("trunc",),
       doc="x rounded toward zero"),
    Op("rint",             1, {"f": "round:roundeven", "c": "crint"},                   np.rint,           names=("rint",),
       doc="the nearest integer, halves to even"),
    Op("round",            1, {}, function=np.round, expand=_round_expand, names=("round",),
       doc="rint(x) of floats, complex and bools; an integer x unchanged"),
    Op("sign",             1, {"i": "isign", "u": "usign", "f": "fsign", "c": "csign"}, np.sign,           names=("sign",),
       doc="-1, 0 or 1 by the sign of x; NaN for NaN; x / abs(x) for complex"),
    Op("fmod",             2, {"i": "sfmod", "u": "ufmod", "f": "ffmod"},              np.fmod,           names=("fmod",), cost=8,
       doc="C's fmod: the remainder of x / y with the sign of x"),
    Op("copysign",         2, {"f": "copysign"},                                        np.copysign,       names=("copysign",),
       doc="the magnitude of x with the sign of y"),
    Op("nextafter",        2, {"f": "nextafter"},                                       np.nextafter,      names=("nextafter",),
       follows_numpy="f", doc="the next representable float after x in the direction of y"),
    Op("maximum",          2, {"b": "or", "i": "minmax:smax", "u": "minmax:umax", "f": "fminmax:maximum",
                               "c": "cminmax:maximum"},                                 np.maximum,        names=("maximum",),
       doc="the larger; NaN if either is NaN"),
    Op("minimum",          2, {"b": "and", "i": "minmax:smin", "u": "minmax:umin", "f": "fminmax:minimum",
                               "c": "cminmax:minimum"},                                 np.minimum,        names=("minimum",),
       doc="the smaller; NaN if either is NaN"),
    Op("fmax",             2, {"b": "or", "i": "minmax:smax", "u": "minmax:umax", "f": "fminmax:fmax",
                               "c": "cminmax:fmax"},                                    np.fmax,           names=("fmax",),
       fold=_tie_fold(np.fmax), doc="the larger, ignoring a NaN"),
    Op("fmin",             2, {"b": "and", "i": "minmax:smin", "u": "minmax:umin", "f": "fminmax:fmin",
                               "c": "cminmax:fmin"},                                    np.fmin,           names=("fmin",),
       fold=_tie_fold(np.fmin), doc="the smaller, ignoring a NaN"),
    Op("clip",             3, {"b": "clip", "iu": "clip", "f": "fclip", "c": "cclip"},                np._core.umath.clip, names=("clip",),
       fold=_clip_fold, expand=_clip_expand, follows_numpy="f", single_value_args=(1, 2),
       doc="clip(x, low, high): x limited to [low, high]"),
    Op("isnan",            1, {"biu": "const:0", "f": "isnan", "c": "cisnan"},          np.isnan,          names=("isnan",),
       doc="whether x is NaN (complex: either part)"),
    Op("isinf",            1, {"biu": "const:0", "f": "isinf", "c": "cisinf"},          np.isinf,          names=("isinf",),
       doc="whether x is +inf or -inf (complex: either part)"),
    Op("isfinite",         1, {"biu": "const:1", "f": "isfinite", "c": "cisfinite"},    np.isfinite,       names=("isfinite",),
       doc="whether x is neither infinite nor NaN"),
    Op("signbit",          1, {"f": "signbit"},                                         np.signbit,        names=("signbit",),
       doc="whether the sign bit of x is set (true for -0.0)"),
    Op("deg2rad",          1, {"f": "scale:deg2rad"},                                   np.deg2rad,        names=("deg2rad", "radians"),
       doc="x degrees in radians: x * (pi / 180)"),
    Op("rad2deg",          1, {"f": "scale:rad2deg"},                                   np.rad2deg,        names=("rad2deg", "degrees"),
       doc="x radians in degrees: x * (180 / pi)"),

    # ---- complex parts -----------------------------------------------------------------------------
    Op("real",             1, {"c": "real"}, names=("real",), function=np.real, resolve=_part_dtypes,
       expand=_real_expand, doc="real(z): the real part; z itself if real"),
    Op("imag",             1, {"c": "imag"}, names=("imag",), function=np.imag, resolve=_part_dtypes,
       expand=_imag_expand, doc="imag(z): the imaginary part; 0 if z is real"),
    Op("conjugate",        1, {"iuf": "identity", "c": "conj"},                        np.conjugate,      names=("conj", "conjugate"),
       doc="the complex conjugate; real x unchanged"),
    Op("angle",            1, {"c": "cangle"}, names=("angle",), function=np.angle, resolve=_part_dtypes,
       expand=_angle_expand, cost=_MATH, ulp=_ULP, doc="angle(z): the argument of z, arctan2(imag, real)"),
    Op("complex",          2, {"f": "complex"}, names=("complex",), fold=_complex_fold, resolve=_complex_dtypes,
       doc="complex(re, im): re + im*1j, built from its parts exactly"),

    # ---- transcendental functions (codegen/mathlib.py) -----------------------------------------------
    Op("exp",              1, {"f": "math:exp", "c": "cmath:cexp"},                     np.exp,            names=("exp",), cost=_MATH, ulp=_ULP,
       doc="e ** x"),
    Op("exp2",             1, {"f": "math:exp2", "c": "cexp2"},                         np.exp2,           names=("exp2",), cost=_MATH, ulp=_ULP,
       doc="2 ** x"),
    Op("expm1",            1, {"f": "math:expm1", "c": "cexpm1"},                       np.expm1,          names=("expm1",), cost=_MATH, ulp=_ULP,
       doc="e ** x - 1, accurate for small x"),
    Op("log",              1, {"f": "math:log", "c": "cmath:clog"},                     np.log,            names=("log",), cost=_MATH, ulp=_ULP,
       doc="natural logarithm"),
    Op("log2",             1, {"f": "math:log2", "c": "clog_scaled:log2"},              np.log2,           names=("log2",), cost=_MATH, ulp=_ULP,
       doc="base-2 logarithm"),
    Op("log10",            1, {"f": "math:log10", "c": "clog_scaled:log10"},            np.log10,          names=("log10",), cost=_MATH, ulp=_ULP,
       doc="base-10 logarithm"),
    Op("log1p",            1, {"f": "math:log1p", "c": "clog1p"},                       np.log1p,          names=("log1p",), cost=_MATH, ulp=_ULP,
       doc="log(1 + x), accurate for small x"),
    Op("logaddexp",        2, {"f": "logaddexp"},                                       np.logaddexp,      names=("logaddexp",), cost=2 * _MATH, ulp=_ULP,
       doc="log(e ** x + e ** y) without overflow"),
    Op("sin",              1, {"f": "math:sin", "c": "cmath:csin"},                     np.sin,            names=("sin",), cost=_MATH, ulp=_ULP,
       doc="sine of x radians"),
    Op("cos",              1, {"f": "math:cos", "c": "cmath:ccos"},                     np.cos,            names=("cos",), cost=_MATH, ulp=_ULP,
       doc="cosine of x radians"),
    Op("tan",              1, {"f": "math:tan", "c": "cmath:ctan"},                     np.tan,            names=("tan",), cost=_MATH, ulp=_ULP,
       doc="tangent of x radians"),
    Op("arcsin",           1, {"f": "math:asin", "c": "cmath:casin"},                   np.arcsin,         names=("arcsin", "asin"), cost=_MATH, ulp=_ULP,
       doc="inverse sine, in [-pi/2, pi/2]"),
    Op("arccos",           1, {"f": "math:acos", "c": "cmath:cacos"},                   np.arccos,         names=("arccos", "acos"), cost=_MATH, ulp=_ULP,
       doc="inverse cosine, in [0, pi]"),
    Op("arctan",           1, {"f": "math:atan", "c": "cmath:catan"},                   np.arctan,         names=("arctan", "atan"), cost=_MATH, ulp=_ULP,
       doc="inverse tangent, in [-pi/2, pi/2]"),
    Op("arctan2",          2, {"f": "math:atan2"},                                      np.arctan2,        names=("arctan2", "atan2"), cost=_MATH, ulp=_ULP,
       doc="arctan(x / y), the quadrant chosen by the signs of both; in [-pi, pi]"),
    Op("hypot",            2, {"f": "math:hypot"},                                      np.hypot,          names=("hypot",), cost=_MATH, ulp=_ULP,
       doc="sqrt(x ** 2 + y ** 2) without overflow"),
    Op("sinh",             1, {"f": "math:sinh", "c": "cmath:csinh"},                   np.sinh,           names=("sinh",), cost=_MATH, ulp=_ULP,
       doc="hyperbolic sine"),
    Op("cosh",             1, {"f": "math:cosh", "c": "cmath:ccosh"},                   np.cosh,           names=("cosh",), cost=_MATH, ulp=_ULP,
       doc="hyperbolic cosine"),
    Op("tanh",             1, {"f": "math:tanh", "c": "cmath:ctanh"},                   np.tanh,           names=("tanh",), cost=_MATH, ulp=_ULP,
       doc="hyperbolic tangent"),
    Op("arcsinh",          1, {"f": "math:asinh", "c": "cmath:casinh"},                 np.arcsinh,        names=("arcsinh", "asinh"), cost=_MATH, ulp=_ULP,
       doc="inverse hyperbolic sine"),
    Op("arccosh",          1, {"f": "math:acosh", "c": "cmath:cacosh"},                 np.arccosh,        names=("arccosh", "acosh"), cost=_MATH, ulp=_ULP,
       doc="inverse hyperbolic cosine; NaN for x < 1"),
    Op("arctanh",          1, {"f": "math:atanh", "c": "cmath:catanh"},                 np.arctanh,        names=("arctanh", "atanh"), cost=_MATH, ulp=_ULP,
       doc="inverse hyperbolic tangent; +-inf at +-1, NaN beyond"),
    Op("cbrt",             1, {"f": "math:cbrt"},                                       np.cbrt,           names=("cbrt",), cost=_MATH, ulp=_ULP,
       doc="cube root (negative for negative x)"),

    # ---- added as rows (see tools/op_table.py for the README's table) -----------------------------------
    Op("heaviside",        2, {"f": "heaviside"},                                       np.heaviside,
       doc="0 for x < 0, y for x == 0, 1 for x > 0"),
    Op("fabs",             1, {"f": "fabs"},                                            np.fabs,
       doc="absolute value as a float (no complex)"),
    # np.float_power's float64 loop is the C library's pow(), without np.power's shortcuts.
    Op("float_power",      2, {"f": "fpower:libm", "c": "cpower"},                       np.float_power,    cost=40, ulp=_ULP,
       doc="x ** y in float64 or complex128 at least"),
    Op("logaddexp2",       2, {"f": "logaddexp2"},                                      np.logaddexp2,     cost=2 * _MATH, ulp=_ULP,
       doc="log2(2 ** x + 2 ** y) without overflow"),
    Op("sinc",             1, {}, function=np.sinc, expand=_sinc_expand, cost=_MATH, ulp=_ULP,
       doc="sin(pi x) / (pi x), 1 at 0"),
    Op("logical_and",      2, {"biufc": "logical:and"},                                 np.logical_and,
       doc="whether x and y are both nonzero"),
    Op("logical_or",       2, {"biufc": "logical:or"},                                  np.logical_or,
       doc="whether x or y is nonzero"),
    Op("logical_xor",      2, {"biufc": "logical:xor"},                                 np.logical_xor,
       doc="whether exactly one of x and y is nonzero"),
    Op("logical_not",      1, {"biufc": "logical:not"},                                 np.logical_not,
       doc="whether x is zero"),
    # numexpr's function (NumPy has no such ufunc): see fusenum/ir/byte_strings.py for its meaning.
    Op("contains",         2, {"S": "bytes_contains"}, names=("contains",), resolve=byte_strings.contains_dtypes,
       fold=byte_strings.contains_fold, cost=8,
       doc="contains(s, t): whether bytes t occur in s (both cut at a NUL)"),
)

BINARY_SYMBOLS: dict[str, Op] = {op.symbol: op for op in OPS.values() if op.symbol and op.arity == 2}
UNARY_SYMBOLS: dict[str, Op] = {op.symbol: op for op in OPS.values() if op.symbol and op.arity == 1}


def _by_spelling() -> dict[str, Op]:
    table: dict[str, Op] = {}
    for op in OPS.values():
        for name in op.spellings:
            if table.setdefault(name, op) is not op:
                raise AssertionError(f"{name!r} spells both {table[name].name} and {op.name}")
    return table


#: Every name a string may call a row by (:attr:`Op.spellings`).
FUNCTIONS: dict[str, Op] = _by_spelling()
BY_UFUNC: dict[np.ufunc, Op] = {op.ufunc: op for op in OPS.values() if op.ufunc is not None}
#: Rows whose NumPy function is not a ufunc (``np.where``, ``np.sinc``), by that function.
BY_NUMPY_FUNCTION: dict[Callable, Op] = {op.function: op for op in OPS.values() if op.function is not None}


def expression_cost(root) -> int:
    """The summed op-table cost of every operation in the expression under ``root``."""
    return sum(OPS[n.op].cost if n.op in OPS else 1 for n in walk(root) if n.args)


def work_per_element(root) -> int:
    """How much work one element is: the arrays it touches (inputs and output) plus op-table costs."""
    arrays = 1 + sum(1 for n in walk(root) if n.op == "input")
    return arrays + expression_cost(root)


def numpy_materializes(root) -> frozenset[int]:
    """The input slots whose arrays NumPy computes into a new array before a loop of
    :attr:`Op.single_value_args` sees them: the inputs of such an argument that is computed (neither
    an input nor a constant, nor a cast of one). NumPy's loop then sees one value only if that new
    array has one element (its inputs have one each), where fusenum's kernels see one whenever the
    inputs are single-valued: ``x ** (e * 1)`` of a broadcast view ``e`` (every stride 0) of 0.5 is
    ``pow``, not ``sqrt`` (they differ at -0.0 and -inf). The front end gives such views as copies,
    except a slot that is also such an argument itself (``x ** e + x ** (e * 1)``: a copy would take
    the shortcut from ``x ** e``; the README lists this case). A ``power`` that never takes the shortcut
    (:data:`.nodes.ALWAYS_POW`) needs no copy."""
    computed: set[int] = set()
    direct: set[int] = set()
    for node in walk(root):
        op = OPS.get(node.op)
        if op is None or not op.single_value_args or node.args[op.loop_arg].dtype.kind not in op.follows_numpy \
                or node.attr == nodes.ALWAYS_POW:
            continue
        for position in op.single_value_args:
            argument = node.args[position]
            while argument.op == "cast":
                argument = argument.args[0]
            if argument.op == "input":
                direct.add(argument.attr)
            elif argument.op != "const":
                computed.update(n.attr for n in walk(argument) if n.op == "input")
    return frozenset(computed - direct)


def numpy_answers(root, portable: bool = False) -> str:
    """What names the installed NumPy's answers that the code for the IR under ``root`` follows
    beyond the IR, as text ("" if none): :func:`.numpy_behaviour.installation` (``portable``: its
    :func:`~.numpy_behaviour.release`, the same wherever that release is installed) if a row's
    :attr:`Op.follows_numpy` has its loop operand's kind (float ``power`` and ``clip``: which
    shortcuts NumPy's loops take; ``nextafter``: which NaN operand it passes through), or the ``math`` rule lowers a function (``log``,
    ``arcsin``...), whose code gives the NaN NumPy's loop gives outside its domain. (The answers
    themselves take ~0.5 ms to ask; the CPU and the C library are in every kernel's key.)"""
    for node in walk(root):
        op = OPS.get(node.op)
        if op is None or not node.args:
            continue
        kind = node.args[op.loop_arg].dtype.kind
        if kind in op.follows_numpy or (op.arity == 1 and op.rules.get(kind, "").split(":")[0] == "math"):
            return numpy_behaviour.release() if portable else numpy_behaviour.installation()
    return ""
