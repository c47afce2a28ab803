"""Random NumPy programs run twice -- on lazy arrays and eagerly on ndarrays -- and compared step by step.

A program is a tree of :class:`Step` s: operators, op-table ufuncs, ufuncs the
table lacks (NumPy fallbacks), ``np.where``, ``np.clip``, ``astype``,
in-place operators and shared subexpressions, over ndarrays, Python scalars
and NumPy scalars on either side. Each array name is bound to the same ndarray
in both runs, wrapped with ``fusenum.lazy`` in the lazy run if the draw says so.
:func:`run_both` evaluates both runs in lock step and checks at every step what
must hold before anything is computed: the same error as NumPy (type and
message), a LazyArray exactly when the step can be captured, NumPy's dtype and
shape. The final values are compared by the test.
"""
from __future__ import annotations

import operator
import re
import warnings
from dataclasses import dataclass

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

import fusenum
from fusenum.ir.ops import BY_UFUNC
from fusenum.ir.typing import SUPPORTED

from .strategies import (DTYPES, FUNCTION_ORACLES, LITERALS, PY_OPERATORS, UNARY_OPERATORS, Inexact,
                         array_operands, contiguous_abs, refuse_crashing_comparison, shapes)

# NumPy's complex abs of a non-contiguous array can differ in the last bit (see contiguous_abs)
UNARY = {**UNARY_OPERATORS, "abs": contiguous_abs}
IN_PLACE = {"+": operator.iadd, "-": operator.isub, "*": operator.imul, "/": operator.itruediv,
            "//": operator.ifloordiv, "%": operator.imod, "**": operator.ipow, "<<": operator.ilshift,
            ">>": operator.irshift, "&": operator.iand, "|": operator.ior, "^": operator.ixor}
# Ufuncs of the op table, called as functions; and NumPy's other elementwise ufuncs, which the
# table lacks (NumPy computes them; if the table gains one it is captured, and the expectations
# below follow the table). Rows the table marks ULP-bounded (``Op.ulp``) are not compared bit for
# bit: tests/codegen/test_mathlib.py covers them, and a lazy test checks they are captured.
TABLE_UFUNCS = sorted((u for u, op in BY_UFUNC.items() if op.exact), key=lambda u: u.__name__)
OTHER_UFUNCS = sorted({u for u in vars(np).values() if isinstance(u, np.ufunc) and u not in BY_UFUNC
                       and u.nout == 1 and u.nin in (1, 2) and u.signature is None}, key=lambda u: u.__name__)
NUMPY_SCALARS = [np.float32(1.5), np.int8(-3), np.uint8(200), np.float64(-0.0), np.bool_(True),
                 np.int64(7), np.uint64(2**63), np.int16(-300), np.float32(np.nan)]
_EXACT_POWERS = (2, -1, 0.5)


@dataclass(frozen=True)
class Step:
    """One step of a program: ``kind`` with its parameter ``what`` and its operand steps."""

    kind: str
    what: object = None
    children: tuple = ()
    force_early: bool = False  # force this step's lazy result before its parent uses it

    def __repr__(self) -> str:
        args = ", ".join(map(repr, self.children))
        if self.kind == "name":
            return str(self.what)
        if self.kind == "scalar":
            return repr(self.what)
        what = getattr(self.what, "__name__", self.what)
        return f"{self.kind}[{what}]({args}){'!' if self.force_early else ''}"


def _is_scalar(step: Step) -> bool:
    return step.kind == "scalar"


@st.composite
def programs(draw, names: list[str], max_leaves: int = 8) -> Step:
    leaves = st.one_of(
        st.sampled_from(names).map(lambda n: Step("name", n)),
        st.one_of(LITERALS, st.sampled_from(NUMPY_SCALARS)).map(lambda v: Step("scalar", v)))

    def extend(children):
        def with_array(*steps):
            # Python computes operations between two literals itself; keep fusenum in every step.
            if all(map(_is_scalar, steps)):
                steps = (Step("name", names[0]),) + steps[1:]
            return steps

        def step(kind, what, *steps, early=False):
            return Step(kind, what, with_array(*steps), early)

        early = st.sampled_from([False, False, False, True])
        binary = st.builds(lambda s, l, r, e: step("binary", s, l, r, early=e),
                           st.sampled_from(sorted(PY_OPERATORS)), children, children, early)
        unary = st.builds(lambda s, c, e: step("unary", s, c, early=e), st.sampled_from(sorted(UNARY)),
                          children, early)
        ufunc = st.builds(lambda u, cs, e: step("ufunc", u, *cs[:u.nin], early=e),
                          st.sampled_from(TABLE_UFUNCS + OTHER_UFUNCS), st.tuples(children, children), early)
        where = st.builds(lambda c, x, y: step("where", None, c, x, y), children, children, children)
        clip = st.builds(lambda x, lo, hi: Step("clip", (lo, hi), with_array(x)), children,
                         LITERALS, LITERALS)
        astype = st.builds(lambda x, d: Step("astype", d, with_array(x)), children, st.sampled_from(DTYPES))
        in_place = st.builds(lambda s, l, r: step("in_place", s, l, r), st.sampled_from(sorted(IN_PLACE)),
                             children, children)
        shared = st.builds(lambda s, c: step("shared", s, c), st.sampled_from(sorted(PY_OPERATORS)), children)
        return st.one_of(binary, binary, unary, ufunc, ufunc, where, clip, astype, in_place, shared)

    steps = st.recursive(leaves, extend, max_leaves=max_leaves)
    return draw(steps.filter(lambda s: s.kind not in ("name", "scalar")))


@st.composite
def lazy_cases(draw, max_names: int = 3):
    """(program, arrays, names bound lazily): at least one name is lazy."""
    shape = draw(shapes())
    count = draw(st.integers(1, max_names))
    names = list("abcd"[:count])
    arrays = {name: draw(array_operands(shape)) for name in names}
    lazy_names = draw(st.sets(st.sampled_from(names), min_size=1))
    return draw(programs(names)), arrays, lazy_names


class NumpyRefused(Exception):
    """NumPy raised at some step and the lazy run raised the same: the program ends there."""


def run_case(case) -> tuple:
    """(NumPy's result, the lazy run's result) for a draw of :func:`lazy_cases`.

    Rejects the draw if it computes a float power (not compared bit for bit);
    raises :class:`NumpyRefused` if NumPy refused it (and the lazy run did too).
    """
    program, arrays, lazy_names = case
    lazy_env = {name: fusenum.lazy(a) if name in lazy_names else a for name, a in arrays.items()}
    try:
        return run_both(program, arrays, lazy_env)
    except Inexact:
        assume(False)


# fmax and fmin with the choice fusenum makes between equal arguments (+0.0 and -0.0), which NumPy
# leaves to C's fmax: its answer for a 0-d bool and -0.0 is +0.0, for a float array element either.
_TIE_PICKS = {np.fmax: FUNCTION_ORACLES["fmax"], np.fmin: FUNCTION_ORACLES["fmin"]}


def _apply(step: Step, args: list):
    """What the step does to its operand values (the same code for both runs)."""
    kind, what = step.kind, step.what
    if kind in ("binary", "ufunc"):
        refuse_crashing_comparison(what, args)
    if kind == "binary":
        return PY_OPERATORS[what](*args)
    if kind == "unary":
        return UNARY[what](*args)
    if kind == "ufunc":
        if what in _TIE_PICKS and not any(isinstance(a, fusenum.LazyArray) for a in args):
            return _TIE_PICKS[what](*args)  # NumPy's run: its choice between equal zeros is C's fmax's
        if what is np.absolute and isinstance(args[0], np.ndarray):
            return contiguous_abs(args[0])  # NumPy's run, as the ``abs`` operator's (see UNARY)
        return what(*args)
    if kind == "where":
        return np.where(*args)
    if kind == "clip":
        return np.clip(args[0], *what)
    if kind == "astype":
        value = args[0] if hasattr(args[0], "astype") else np.asarray(args[0])
        if value.dtype.kind in "fc" and what.kind in "iu":
            raise Inexact()  # NumPy's own out-of-range float->int answer depends on array length
        return value.astype(what)
    if kind == "in_place":
        target, other = args
        if isinstance(target, np.ndarray):
            target = target.copy()  # never write into a shared input
        return IN_PLACE[what](target, other)
    if kind == "shared":
        return PY_OPERATORS[what](args[0], args[0])
    raise AssertionError(kind)


def _numpy_scalar_math(step: Step, eager_args: list, lazy_args: list) -> bool:
    """Whether NumPy computes ``step`` for the lazy run too: a Python operator whose NumPy
    scalar result can differ from the ufunc loop's (complex ``*``, inexact ``**``), on operands
    that are all NumPy or Python scalars. Not when a NumPy scalar comes first in the lazy run:
    its operator then hands the LazyArray to the ufunc, as it would an array."""
    if step.kind not in ("binary", "in_place", "shared") or step.what not in ("*", "**"):
        return False
    if not all(isinstance(a, (np.generic, bool, int, float, complex)) for a in eager_args):
        return False
    if isinstance(lazy_args[0], np.generic) or not any(type(a) is fusenum.LazyArray for a in lazy_args):
        return False
    kinds = "c" if step.what == "*" else "fc"
    return any(np.asarray(a).dtype.kind in kinds for a in eager_args)


def _check_power_is_exact(step: Step, args: list, result) -> None:
    """fusenum's float ``**`` is the C library's pow(), within 1 ULP of NumPy's: not compared.

    Complex ``**`` is never compared: NumPy's operator takes ``sqrt``/``square``/
    ``reciprocal`` shortcuts for some Python exponents that lazy arrays, which
    type ``**`` as ``np.power``, do not (the answers differ in the last bit;
    tests/test_complex.py covers complex power within a few ULP).
    """
    power = (step.kind in ("binary", "in_place", "shared") and step.what == "**") or \
        (step.kind == "ufunc" and step.what is np.power)
    kind = np.asarray(result).dtype.kind
    if power and kind == "c" and np.asarray(args[0]).size:
        raise Inexact()
    if not power or kind != "f":
        return
    exponent = np.asarray(args[0] if step.kind == "shared" else args[1])
    if not (exponent.size == 1 and exponent.ravel()[0] in _EXACT_POWERS) and np.asarray(args[0]).size:
        raise Inexact()


def capturable(step: Step, args: list, expected, eager_args: list) -> bool | None:
    """Whether the lazy run must give a LazyArray here (None: either is right)."""
    if step.kind == "clip":
        return None
    if type(expected) in (bool, int, float, complex):
        return False  # Python's own arithmetic answered (``2j * np.float64(0.5)``: complex takes a float)
    if _numpy_scalar_math(step, eager_args, args):
        return True  # computed by NumPy, as a LazyArray standing for its scalar
    if step.kind == "unary" and step.what == "abs" and isinstance(eager_args[0], np.complexfloating) \
            and type(args[0]) is fusenum.LazyArray:
        return True  # abs() of a NumPy complex scalar: NumPy's scalar math (hypot), as a LazyArray
    if step.kind == "ufunc" and not _table_lowers(step.what, args):
        return False
    lazy_operand = any(type(a) is fusenum.LazyArray for a in args)
    if step.kind == "in_place" and isinstance(args[0], np.ndarray):
        return False  # ndarray += lazy writes into the ndarray
    return lazy_operand and np.asarray(expected).dtype.newbyteorder("=") in SUPPORTED


def _table_lowers(ufunc: np.ufunc, args: list) -> bool:
    """Whether the op table has ``ufunc`` with a lowering for the loop NumPy picks for ``args``."""
    op = BY_UFUNC.get(ufunc)
    if op is None:
        return False
    described = tuple(np.dtype(bool) if type(a) is bool else type(a) if type(a) in (int, float, complex) else a.dtype
                      for a in args)
    return op.rule_for(ufunc.resolve_dtypes(described + (None,))[0].kind) is not None


def run_both(step: Step, eager_env: dict, lazy_env: dict):
    """(NumPy's value, the lazy run's value) of ``step``, checking each step on the way."""
    if step.kind == "name":
        return eager_env[step.what], lazy_env[step.what]
    if step.kind == "scalar":
        return step.what, step.what
    pairs = [run_both(child, eager_env, lazy_env) for child in step.children]
    eager_args = [p[0] for p in pairs]
    lazy_args = [p[1] for p in pairs]
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings(record=True) as eager_warnings:
            warnings.simplefilter("always")
            expected = _apply(step, eager_args)
    except Inexact:
        raise
    except Exception as refused:
        _expect_same_error(step, lazy_args, refused, any(isinstance(a, np.generic) for a in eager_args))
        raise NumpyRefused() from refused
    if not _numpy_scalar_math(step, eager_args, lazy_args):
        _check_power_is_exact(step, eager_args, expected)
    numpy_warned = any(issubclass(w.category, np.exceptions.ComplexWarning) for w in eager_warnings)
    with warnings.catch_warnings():
        # A ComplexWarning where NumPy gives none would be the lazy run's own doing.
        warnings.simplefilter("ignore" if numpy_warned else "error", np.exceptions.ComplexWarning)
        got = _apply(step, lazy_args)
    must_be_lazy = capturable(step, lazy_args, expected, eager_args)
    if must_be_lazy is not None:
        assert (type(got) is fusenum.LazyArray) == must_be_lazy, (step, type(got))
    if type(got) is fusenum.LazyArray:
        expected_array = np.asarray(expected)
        assert got.shape == expected_array.shape, (step, got.shape, expected_array.shape)
        assert got.dtype.newbyteorder("=") == expected_array.dtype.newbyteorder("="), (step, got.dtype)
        if step.force_early:
            got.compute()
    return expected, got


def _expect_same_error(step: Step, lazy_args: list, refused: Exception, numpy_scalar: bool) -> None:
    """The lazy run raises what NumPy raised: when capturing, or at the latest when forced.

    A 0-d lazy result is an array where NumPy's eager code has a NumPy scalar, whose
    operators word some errors their own way (``unsupported operand type(s)``): for
    those only the type is compared.
    """
    try:
        got = _apply(step, lazy_args)
        np.asarray(got)
    except Inexact:
        raise
    except Exception as raised:
        assert type(raised) is type(refused), (step, raised, refused)
        if not numpy_scalar:
            assert _native(str(raised)) == _native(str(refused)), (step, str(raised), str(refused))
        return
    raise AssertionError(f"NumPy raised {refused!r} at {step}, the lazy run did not")


def _native(message: str) -> str:
    """``message`` with every ``dtype('...')`` in it native-endian: lazy results are (NumPy's in-place
    operators keep a byte-swapped array's byte order, so its later errors name it); and NumPy's two
    equal 64-bit integer dtypes named alike (a result may be either, README "Exactly NumPy's answer")."""
    message = re.sub(r"dtype\('([^']*)'\)", lambda m: repr(np.dtype(m.group(1)).newbyteorder("=")), message)
    return message.replace("ULongLongDType", "UInt64DType").replace("LongLongDType", "Int64DType")
