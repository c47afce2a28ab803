"""The reduction table: sum, prod, min, max, mean, any, all and the NaN-ignoring nansum, nanprod,
nanmin, nanmax, nanmean -- what they mean and how NumPy types them.

A reduction is a node ``reduce(x)`` whose ``attr`` is a :class:`ReduceAttr`
(which reduction, the axes as written, keepdims). Axes are kept as written
(``-1``, ``(0, 2)``, ``None``) and resolved at run time against the argument's
number of dimensions, so one plan serves arrays of any shape, exactly as the
NumPy call would. The node's dtype is the *accumulator* dtype; a cast above it
gives the result dtype where the two differ (``mean`` of float16).

Typing asks NumPy: the result dtype of ``np.sum(x, dtype=...)`` is what NumPy
returns for a one-element array of ``x``'s dtype; the argument is cast to the
accumulator dtype first (int32 is summed in int64, ``mean`` of ints in
float64), as NumPy's reduction loops do. NumPy's float16 loops take float16 values
and add them in float32: a wider argument is rounded to float16 first
(``sum(x, dtype='float16')`` of a float64 ``x`` over 65504 is ``inf``), then
accumulated in float32. ``mean(x, dtype='float16')`` is NumPy's float16 sum
divided by the count in float64 and rounded to float16, as NumPy's ``mean``
divides it; without ``dtype=``, a float16 ``mean`` sums in float32 and rounds the
quotient to float16 as NumPy does (:func:`divide_by_count`).

``combine`` is the op-table operation that merges two partial results (the
table's rows already mean ``or``/``and`` for bool accumulators, as NumPy's
ufuncs do); its ufunc names the reduction in NumPy's messages. ``identity`` starts an
accumulator (for ``min``/``max``, which have none in NumPy, the dtype's
extreme value, used only when at least one element is reduced).

The NaN-ignoring rows say how they differ from a plain one, as NumPy's
``nan*`` functions do:

* ``nan_as``: NaNs (of a float or complex argument) are replaced by this value,
  then ``plain`` reduces (``nansum`` is ``sum`` of ``where(isnan(x), 0, x)``,
  as NumPy computes it); a NaN-free dtype is reduced by ``plain`` as it is.
  ``counted`` (``nanmean``) divides that sum by the row ``count`` of the
  values that are not NaN, as NumPy's ``nanmean`` divides (in float64 or
  complex128, rounded to the sum's dtype).
* ``starts_from_nan``: ``nanmin``/``nanmax`` combine with ``fmin``/``fmax``
  (which ignore a NaN unless both are) from a NaN start, so an all-NaN slice
  stays NaN, as NumPy's ``fmax.reduce`` leaves it.
* ``warning``: NumPy's RuntimeWarning when the result says a slice had
  nothing to reduce ("All-NaN slice encountered"; "Mean of empty slice" when
  a count is zero).
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from .answers import question
from .records import record


@record
class ResultWarning:
    """NumPy's RuntimeWarning ``message``, given when ``test`` holds for any result."""

    message: str
    test: Callable[[np.ndarray], np.ndarray]

    def check(self, result: np.ndarray) -> bool:
        return bool(self.test(result).any())


ALL_NAN = ResultWarning("All-NaN slice encountered", np.isnan)
EMPTY_MEAN = ResultWarning("Mean of empty slice", lambda count: count == 0)


@record
class Reduction:
    """One row: ``combine`` is the op-table operation merging two partial results;
    ``identity`` is the result of reducing nothing (None: NumPy raises ValueError);
    ``takes_initial``: NumPy's function has ``initial=``. The NaN-ignoring fields
    are explained in the module docstring; ``public=False`` rows serve other rows only."""

    name: str
    numpy: Callable
    combine: str
    identity: object
    takes_dtype: bool
    names: tuple[str, ...] = ()
    takes_initial: bool = False
    nan_as: object = None
    plain: str | None = None
    counted: bool = False
    starts_from_nan: bool = False
    warning: ResultWarning | None = None
    public: bool = True


#: Every row by name, the private ones (``public=False``) included.
ROWS: dict[str, Reduction] = {r.name: r for r in (
    Reduction("sum", np.sum, "add", 0, True, takes_initial=True),
    Reduction("prod", np.prod, "multiply", 1, True, takes_initial=True),
    Reduction("min", np.min, "minimum", None, False, ("amin",), takes_initial=True),
    Reduction("max", np.max, "maximum", None, False, ("amax",), takes_initial=True),
    Reduction("mean", np.mean, "add", 0, True),
    Reduction("any", np.any, "bitwise_or", False, False),
    Reduction("all", np.all, "bitwise_and", True, False),
    Reduction("nansum", np.nansum, "add", 0, True, takes_initial=True, nan_as=0, plain="sum"),
    Reduction("nanprod", np.nanprod, "multiply", 1, True, takes_initial=True, nan_as=1, plain="prod"),
    Reduction("nanmin", np.nanmin, "fmin", None, False, takes_initial=True, starts_from_nan=True,
              warning=ALL_NAN),
    Reduction("nanmax", np.nanmax, "fmax", None, False, takes_initial=True, starts_from_nan=True,
              warning=ALL_NAN),
    Reduction("nanmean", np.nanmean, "add", 0, True, nan_as=0, plain="mean", counted=True),
    # The number of values nanmean divides by (its argument: ~isnan(x)), an intp as NumPy counts.
    Reduction("count", np.count_nonzero, "add", 0, False, warning=EMPTY_MEAN, public=False),
)}

#: The reductions users call, by name.
REDUCTIONS: dict[str, Reduction] = {name: r for name, r in ROWS.items() if r.public}
#: Every spelling (function name in expressions, NumPy function name) of every reduction users call.
BY_NAME: dict[str, Reduction] = {name: r for r in REDUCTIONS.values() for name in (r.name, *r.names)}
#: NumPy's functions that are reductions fusenum captures (np.sum, np.amax, np.nanmean, ...).
BY_FUNCTION: dict[Callable, Reduction] = {
    **{r.numpy: r for r in REDUCTIONS.values()},
    **{getattr(np, name): r for r in REDUCTIONS.values() for name in r.names if hasattr(np, name)},
}


@record
class ReduceAttr:
    """What a ``reduce`` node does: ``axis`` as written (None, an int, or a tuple of ints).
    ``partial``: the result is a partial one (a step of a dask tree reduction), so the row's
    warning, which is about the final result, is not given, and a partial of no elements (a
    zero-size chunk) is the start value, which combining with the others' leaves out, where a
    final ``min``/``max`` of nothing raises NumPy's ValueError."""

    reduction: str
    axis: object
    keepdims: bool
    partial: bool = False
    #: A ``mean`` of a float16 argument without ``dtype=``: its float32 total becomes a float16
    #: result (see :func:`divide_by_count`).
    to_half: bool = False
    #: The row whose rule for an int axis of a 0-d array (:func:`normalize_axes`) applies, where this
    #: node is part of another reduction: the total and count of a ``mean`` with ``dtype='float16'``
    #: (``np.mean`` refuses ``axis=0`` of a 0-d array, ``np.sum`` takes it). None: ``reduction``'s.
    axis_rule: str | None = None


@question
def dtypes(reduction: str, dtype: np.dtype, requested: np.dtype | None = None) -> tuple[np.dtype, np.dtype]:
    """``(loop dtype, result dtype)`` of reducing ``dtype`` (``requested`` is ``dtype=``): the
    loop dtype is NumPy's, whose values are added (float16's are added in float32, which
    :meth:`fusenum.ir.typing.Builder.reduce` arranges).

    Raises NumPy's own error if NumPy refuses the combination. The result is
    asked for with ``keepdims=True``: NumPy then returns an array, whose dtype is
    the answer even where a 0-d result would be a Python object (``dtype=object``
    reduces to a Python int or float, which ``np.asarray`` would retype as int64
    or float64).
    """
    row = ROWS[reduction]
    stand_in = np.zeros(1, dtype)
    kwargs = {"dtype": requested} if requested is not None else {}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # (typing warns nothing: NumPy's ComplexWarning comes at each call, see discards_imaginary)
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        result = row.numpy(stand_in, keepdims=True, **kwargs).dtype
    if reduction in ("any", "all"):
        return np.dtype(bool), result
    if reduction == "mean":
        if requested is not None:
            accumulator = np.dtype(requested)
        elif dtype.kind in "biu":
            accumulator = np.dtype(np.float64)
        elif dtype == np.float16:  # (NumPy's mean sums a float16 argument in float32)
            accumulator = np.dtype(np.float32)
        else:
            accumulator = dtype
    else:
        accumulator = result
    return accumulator, result


#: NumPy's warning for a complex argument reduced in a real ``dtype=`` (:func:`discards_imaginary`).
DISCARDED_IMAGINARY = "Casting complex values to real discards the imaginary part"


def discards_imaginary(dtype: np.dtype, requested) -> bool:
    """Whether NumPy warns :data:`DISCARDED_IMAGINARY` (a ``ComplexWarning``) each time it reduces a
    ``dtype`` argument with ``dtype=requested``: a complex one into a real dtype (not into bool)."""
    return dtype.kind == "c" and requested is not None and np.dtype(requested).kind not in "cb"


def divide_by_count(total: np.ndarray, count: int, to_half: bool = False) -> None:
    """``mean``'s last step, as NumPy's ``mean`` takes it: ``total`` (the sums) divided in place
    by an intp ``count``, so float32 and complex64 sums divide in float64 and complex128 (a Python
    int would divide in float32, rounding a big count first) and are rounded back.

    ``to_half`` (:attr:`ReduceAttr.to_half`): NumPy rounds the mean of a float16 argument to
    float16 from float64 when it is a NumPy scalar, and through float32 (``total``'s dtype) when
    it is an array; the two differ for some means of 8,192 elements and more (about one in 20,000
    of those, never for fewer: a quotient's float32 rounding can land on a float16 tie only
    then). A 0-d ``total`` (a NumPy scalar's
    place) then keeps the float16 value, which a float32 holds exactly, so the cast to float16
    after it changes nothing. Also for ``count`` 0 (the caller warns): NaNs."""
    with np.errstate(all="ignore"):
        if to_half and total.ndim == 0:
            total[()] = np.float16(np.float64(total[()]) / count)
        else:
            np.true_divide(total, np.intp(count), out=total, casting="unsafe")


def same_kernel(reduction: str) -> str:
    """The first row whose reduction kernel is ``reduction``'s: a kernel only combines (the row's
    ``combine``) from a start value (:func:`start_value`), so ``mean``, ``nansum``, ``nanmean`` and
    ``count`` share ``sum``'s (their divisions and NaN replacements happen outside it). Both tiers
    ask for that one, so one kernel serves them all (a plain ``mean(a)``'s fused kernel is the one
    tier 0 reduces ``sum(a * b)``'s values with)."""
    row = ROWS[reduction]
    key = (row.combine, row.identity, row.starts_from_nan)
    return next(other.name for other in ROWS.values() if (other.combine, other.identity, other.starts_from_nan) == key)


def start_value(reduction: str, accumulator: np.dtype):
    """What an accumulator of ``reduction`` starts from (see the module docstring)."""
    row = ROWS[reduction]
    if row.identity is not None:
        return row.identity
    smallest = row.combine in ("minimum", "fmin")
    if accumulator.kind == "b":
        return smallest
    if row.starts_from_nan and accumulator.kind in "fc":
        return complex(np.nan, np.nan) if accumulator.kind == "c" else np.nan
    if accumulator.kind == "f":
        return np.inf if smallest else -np.inf
    if accumulator.kind == "c":  # ordered lexicographically, as NumPy compares complex numbers
        return complex(np.inf, np.inf) if smallest else complex(-np.inf, -np.inf)
    info = np.iinfo(accumulator)
    return info.max if smallest else info.min


def check_arguments(row: Reduction, axis, keepdims, dtype) -> None:
    """TypeError (NumPy's wording where it has one) for arguments no NumPy call would accept."""
    axes = axis if isinstance(axis, tuple) else (axis,)
    if axis is not None and not all(isinstance(ax, (int, np.integer)) and not isinstance(ax, bool)
                                    for ax in axes):
        bad = next(ax for ax in axes if not isinstance(ax, (int, np.integer)) or isinstance(ax, bool))
        raise TypeError(f"'{type(bad).__name__}' object cannot be interpreted as an integer")
    if not isinstance(keepdims, (bool, np.bool_)):
        raise TypeError(f"keepdims must be True or False, not {keepdims!r}")
    if dtype is not None and not row.takes_dtype:
        raise TypeError(f"{row.name}() got an unexpected keyword argument 'dtype'")


def normalize_axes(axis, ndim: int, reduction: str | None = None,
                   dtype: np.dtype | None = None) -> tuple[int, ...]:
    """``axis`` (None, int or tuple) as sorted non-negative axes of an ``ndim``-dimensional array.

    Raises NumPy's ``AxisError`` for an axis out of range and ``ValueError`` for
    a repeated one, with NumPy's messages. For a 0-d array, ``reduction`` (a row
    name) decides whether an int axis ``0`` or ``-1`` means no axis at all, as
    NumPy's ufunc reductions take it (``np.sum(s, 0)``), or is out of range
    (``np.mean(s, 0)``): the installed NumPy is asked, about an array of ``dtype`` if given (NumPy's
    ``nanmean`` of integers is its ``mean``), else of float64.
    """
    if axis is None:
        return tuple(range(ndim))
    if ndim == 0 and reduction is not None and not isinstance(axis, tuple) and axis in (0, -1) \
            and _zero_d_takes_axis(reduction, int(axis), np.dtype(np.float64) if dtype is None else dtype):
        return ()
    axes = axis if isinstance(axis, tuple) else (axis,)
    normalized = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise np.exceptions.AxisError(f"axis {ax} is out of bounds for array of dimension {ndim}")
        normalized.append(int(ax) % ndim if ndim else 0)
    if len(set(normalized)) != len(normalized):
        raise ValueError("duplicate value in 'axis'")
    return tuple(sorted(normalized))


def result_shape(shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> tuple[int, ...]:
    """The shape of reducing an array of ``shape`` over ``axes``."""
    if keepdims:
        return tuple(1 if ax in axes else n for ax, n in enumerate(shape))
    return tuple(n for ax, n in enumerate(shape) if ax not in axes)


@question
def _zero_d_takes_axis(reduction: str, axis: int, dtype: np.dtype) -> bool:
    """Whether NumPy's ``reduction`` of a 0-d array of ``dtype`` accepts the int ``axis`` (as no axis)."""
    try:
        ROWS[reduction].numpy(np.zeros((), dtype), axis=axis)
    except np.exceptions.AxisError:
        return False
    return True
