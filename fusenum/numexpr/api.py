"""numexpr's calls: ``evaluate``, ``validate`` and ``re_evaluate`` (``NumExpr`` is in :mod:`.compiled`).

The path of a call is fusenum's: the parsed text is cached per (text,
options), each name is looked up (``local_dict``, then ``global_dict``, each
defaulting to the caller's frame ``_frame_depth`` levels up, as numexpr counts; a depth that
would name one of numexpr's own frames, below its default, names the caller's)
and converted with ``np.asarray``, and the plan -- typed with numexpr's rules by
:class:`~fusenum.numexpr.lowering.Program` -- comes from the plan cache every
fusenum front end shares, keyed on the text, the options and the dtypes.
"""
from __future__ import annotations

import sys
import weakref
from contextvars import ContextVar
from collections import OrderedDict

import numpy as np

from ..ir.operands import is_supported
from ..ir.shapes import broadcast_shapes
from ..runtime import PLANS, Plan, cached_plan, caches, execute
from ..runtime.layout import CASTING_RULES, ORDERS, as_casting, as_order, check_options
from . import kinds, syntax
from .lowering import Program

#: Options numexpr accepts as keyword arguments: name -> (allowed values, default).
CONTEXT = {"optimization": (("none", "moderate", "aggressive"), "aggressive"),
           "truediv": ((False, True, "auto"), "auto")}
#: Parsed texts kept (least recently parsed are dropped first).
MAX_ENTRIES = 4096
#: numexpr's iterator takes at most this many operands, the output included ("too many inputs" past it).
MAX_OPERANDS = 64
#: Marks this front end's plan-cache keys (a text's key in fusenum.evaluate starts with the text).
_KEY = "fusenum.numexpr"
#: The dtype of numexpr's int64 results (its ``long`` kind): C's long long, ``dtype('q')``.
_LONGLONG = np.dtype(np.longlong)
_NOTHING = np.empty(0)

_programs: "OrderedDict[tuple, Program]" = OrderedDict()
# What re_evaluate runs: the last call of evaluate or validate in this context, as numexpr keeps it
# (each thread starts with a context of its own; each asyncio task runs in a copy of its creator's).
_last: ContextVar[tuple | None] = ContextVar("fusenum.numexpr last expression", default=None)


def _optimization(kwargs: dict) -> str:
    """numexpr's options from ``kwargs``: the optimization level (``truediv`` changes nothing in
    Python 3, where ``/`` is always true division); ``ValueError`` for anything else."""
    context = {}
    for name, (allowed, default) in CONTEXT.items():
        value = kwargs.pop(name, default)
        if value not in allowed:
            raise ValueError(f"'{name}' must be one of {allowed}")
        context[name] = value
    if kwargs:
        raise ValueError(f"Unknown keyword argument '{next(iter(kwargs))}'")
    return context["optimization"]


def program(ex: str, optimization: str = "aggressive", sanitize: bool | None = None) -> Program:
    """The parsed, sanitized text (cached). ``sanitize=None`` is numexpr's default: on, unless the
    environment says ``NUMEXPR_SANITIZE=0`` at this call (a value that is not an integer is numexpr's
    ``ValueError``)."""
    ex, sanitize = _text_and_sanitize(ex, sanitize)
    key = (ex, optimization, sanitize)
    found = _programs.get(key)
    if found is None:
        found = caches.remember(_programs, key, Program(parsed(ex, sanitize), optimization), MAX_ENTRIES)
    return found


def parsed(ex: str, sanitize: bool | None) -> syntax.Parsed:
    """``ex`` parsed (not cached), once numexpr's sanitizer has let it through if ``sanitize`` (None:
    as :func:`program`)."""
    ex, sanitize = _text_and_sanitize(ex, sanitize)
    if sanitize:
        syntax.check_sanitized(ex)
    return syntax.parse(ex)


def _text_and_sanitize(ex: str, sanitize: bool | None) -> tuple[str, bool]:
    if type(ex) is not str:
        if not isinstance(ex, str):
            raise ValueError("must specify expression as a string")
        ex = str.__str__(ex)  # (a str subclass's characters, not what its own methods make of them)
    if sanitize is None:  # (read at each call, as numexpr reads it)
        try:
            sanitize = syntax.default_sanitize()
        except ValueError as error:
            raise ValueError(f"NUMEXPR_SANITIZE: {error}") from None
    return ex, bool(sanitize)


def arguments(names: tuple[str, ...], local_dict, global_dict, frame, check: bool = True) -> list[np.ndarray]:
    """The arrays bound to ``names`` (``KeyError`` naming a missing one); if ``check``, ``ValueError`` for a
    dtype numexpr has no kind for (unicode, object, datetime...)."""
    if local_dict is None:
        local_dict = frame.f_locals
    if global_dict is None:
        global_dict = frame.f_globals
    values = []
    for name in names:
        try:
            value = local_dict[name]
        except KeyError:
            value = global_dict[name]
        value = np.asarray(value)
        if check and value.dtype.kind not in "biufcS":
            kinds.of_dtype(value.dtype)  # numexpr's ValueError for the others
        values.append(value)
    return values


def _narrowed(value: np.ndarray) -> np.ndarray:
    """``value``, a long double one as a double (numexpr computes them as doubles)."""
    if value.dtype.kind in "fc" and value.dtype.itemsize > (8 if value.dtype.kind == "f" else 16):
        with np.errstate(over="ignore"):
            return value.astype(np.float64 if value.dtype.kind == "f" else np.complex128)
    return value


def _plan(prog: Program, values: list[np.ndarray]) -> Plan:
    key = (_KEY, prog.parsed.text, prog.optimization, *[value.dtype for value in values])
    plan = PLANS.get(key)
    if type(plan) is not Plan:
        if prog.copied is not None and prog.gives_bytes([value.dtype for value in values]):
            return None  # (no kernel: :func:`copy_bytes`)
        plan = cached_plan(key, prog, values)
    return plan


def evaluate(ex: str, local_dict: dict | None = None, global_dict: dict | None = None,
             out: np.ndarray | None = None, order: str = "K", casting: str = "same_kind",
             sanitize: bool | None = None, _frame_depth: int = 3, disable_cache: bool = False,
             **kwargs) -> np.ndarray:
    """Evaluate array expression ``ex`` with numexpr's meaning, in one compiled fusenum pass.

    As ``numexpr.evaluate``: names are looked up in ``local_dict`` then
    ``global_dict`` (by default the caller's locals and globals); ``out``,
    ``order`` and ``casting`` as in NumPy; ``sanitize`` (default: on unless
    ``NUMEXPR_SANITIZE=0``) rejects text numexpr's sanitizer rejects;
    ``optimization`` (``'none'``, ``'moderate'``, ``'aggressive'``) and
    ``truediv`` as numexpr takes them. The result has numexpr's dtype (its
    typing, see :mod:`fusenum.numexpr`), and is also remembered for
    :func:`re_evaluate` unless ``disable_cache``.
    """
    if kwargs:  # (numexpr checks the text and NUMEXPR_SANITIZE before the options)
        ex, sanitize = _text_and_sanitize(ex, sanitize)
    prog = program(ex, _optimization(kwargs) if kwargs else "aggressive", sanitize)
    frame = sys._getframe(max(_frame_depth - 2, 1)) if local_dict is None or global_dict is None else None
    values = arguments(prog.names, local_dict, global_dict, frame)
    # As numexpr's: the call is typed (compiled, in numexpr) before it runs, and remembered once it is,
    # so an expression numexpr cannot compile leaves the last one for re_evaluate.
    _plan(prog, [_narrowed(value) for value in values])
    if not disable_cache:
        _remember(prog, values, out, order, casting)
    return run(prog, values, out, order, casting)


def validate(ex: str, local_dict: dict | None = None, global_dict: dict | None = None,
             out: np.ndarray | None = None, order: str = "K", casting: str = "safe",
             _frame_depth: int = 2, sanitize: bool | None = None, **kwargs) -> Exception | None:
    """Check ``ex`` and its operands as :func:`evaluate` would, typing it (and so compiling its plan)
    without computing; remember it for :func:`re_evaluate`. Returns None, or the exception."""
    try:
        ex, sanitize = _text_and_sanitize(ex, sanitize)  # (before the options, as numexpr checks them)
        prog = program(ex, _optimization(kwargs), sanitize)
        frame = sys._getframe(max(_frame_depth - 1, 1)) if local_dict is None or global_dict is None else None
        values = arguments(prog.names, local_dict, global_dict, frame)
        _plan(prog, [_narrowed(value) for value in values])
        _remember(prog, values, out, order, casting)
    except Exception as error:  # numexpr's contract: the exception is returned, not raised
        return error
    return None


def _remember(prog: Program, values: list[np.ndarray], out: np.ndarray | None, order: str, casting: str) -> None:
    """Keep the call for :func:`re_evaluate`: the program, the dtypes it was typed for, ``out`` by
    weak reference (as numexpr does), ``order`` and ``casting``."""
    _last.set((prog, tuple(value.dtype for value in values), None if out is None else weakref.ref(out),
               order, casting))


def re_evaluate(local_dict: dict | None = None, global_dict: dict | None = None,
                _frame_depth: int = 2) -> np.ndarray:
    """Evaluate the last expression given to :func:`evaluate` or :func:`validate` (in this thread,
    and in this asyncio task or :mod:`contextvars` context) again, with the values its names are
    bound to now. :func:`fusenum.clear_cache` does not forget it."""
    state = _last.get()
    if state is None:
        raise RuntimeError("A previous evaluate() execution was not found, please call `validate` or "
                           "`evaluate` once before `re_evaluate`")
    prog, dtypes, out, order, casting = state
    if out is not None:
        out = out()
    frame = sys._getframe(max(_frame_depth - 1, 1)) if local_dict is None or global_dict is None else None
    # numexpr runs the program it compiled then: new values are cast to its kinds under ``casting``
    # (a dtype it has no kind for is that cast's TypeError).
    values = arguments(prog.names, local_dict, global_dict, frame, check=False)
    order, casting = _checked_call(prog, values, order, casting)  # (as numexpr's run: before the casts)
    try:
        values = converted_inputs(values, [kinds.of_dtype(dtype) for dtype in dtypes], casting, dtypes)
    except TypeError:
        _check_layout(prog, values, out)  # numexpr's iterator finds a shape error before a cast's
        raise
    return run(prog, values, out, order, casting)


def converted_inputs(values: list[np.ndarray], input_kinds: list[str], casting: str,
                     dtypes: list[np.dtype] | None = None) -> list[np.ndarray]:
    """``values`` as numexpr's iterator gives them to a compiled program's inputs of ``input_kinds``
    (see :func:`converted`); a value of the input's own ``dtypes`` (by default the kinds' dtypes) is
    taken as it is. Where one is empty, numexpr's shortcut for empty operands comes before any cast:
    each value then becomes its input's dtype whatever ``casting`` says, so the result is the
    program's empty array."""
    casting = as_casting(casting)  # (its name in a cast error is NumPy's: a str)
    if dtypes is None:
        dtypes = [kinds.DTYPE[kind] for kind in input_kinds]
    if any(value.size == 0 for value in values):
        return [value if value.dtype == dtype or (kind == "bytes" and value.dtype.kind == "S")
                else value.astype(dtype) for value, kind, dtype in zip(values, input_kinds, dtypes)]
    return [value if value.dtype == dtype else converted(value, kind, position, casting)
            for position, (value, kind, dtype) in enumerate(zip(values, input_kinds, dtypes), start=1)]


def converted(value: np.ndarray, kind: str, position: int, casting: str) -> np.ndarray:
    """``value`` as numexpr's iterator gives it to an input of ``kind`` (``position`` counts from 1):
    cast under ``casting``, which also applies to values of that kind (uint64 into a ``long`` input is
    not ``'safe'``); as it is where it already has the kind (byte order, bytes' length: fusenum converts)."""
    target = kinds.DTYPE[kind]
    if kind == "bytes":  # numbers into bytes strings as NumPy writes them (``1.0`` is ``b'1.0'``), where allowed
        if value.dtype.kind == "S":
            return value
        target = np.dtype("S")
    if not np.can_cast(value.dtype, target, casting):  # (numexpr's message names bytes ``S1``)
        raise _cast_error(value.dtype, kinds.DTYPE[kind], position, casting)
    if value.dtype.kind in "biufc" and kinds.of_dtype(value.dtype) == kind:
        return value
    with np.errstate(all="ignore"):
        return value.astype(target)


def _cast_error(dtype: np.dtype, target: np.dtype, position: int, casting: str) -> TypeError:
    return TypeError(f"Iterator operand {position} dtype could not be cast from {dtype!r} to {target!r} "
                     f"according to the rule {casting!r}")


def check_count(count: int) -> None:
    """numexpr's ``ValueError`` for more inputs than its iterator takes beside the output."""
    if count + 1 > MAX_OPERANDS:
        raise ValueError("too many inputs")


def run(prog: Program, values: list[np.ndarray], out: np.ndarray | None, order: str,
        casting: str) -> np.ndarray:
    """``prog`` on arrays bound to its names in order (see :func:`_run`). An ``out`` of an ndarray
    subclass (``np.memmap``, a masked array...) is written through a plain view of its memory and
    returned, as numexpr writes and returns it; an elementwise result goes into an ``out`` of a dtype
    fusenum's kernels do not write (long double...) through NumPy's cast under ``casting``."""
    order, casting = _checked_call(prog, values, order, casting)
    check_out(out)
    result = _run_checked(prog, values, out, order, casting)
    if result.dtype.char == "l" and result.dtype.itemsize == 8 and result is not out:
        return result.view(_LONGLONG)  # numexpr's iterator makes its int64 results as C's long long
    return result


def check_out(out: object) -> None:
    """numexpr's check of ``out`` when its run starts (after ``order``'s and ``casting``'s): None or an
    ndarray (of any subclass), else ``ValueError``."""
    if out is not None and not isinstance(out, np.ndarray):
        raise ValueError("out keyword parameter is not an array")


def _checked_call(prog: Program, values: list[np.ndarray], order, casting) -> tuple[str, str]:
    """``order`` and ``casting`` as NumPy's ufuncs take them (str or bytes, ``order`` also in lower case
    or None), after numexpr's first checks of a call, in its order: those two values
    (NumPy's errors, numexpr's: ``ValueError``, or ``TypeError`` for one that is neither str nor
    bytes), at most 63 inputs (``ValueError``), and a reduction's axis below
    the operands' largest number of dimensions (``ValueError``, even for 0-d operands, which NumPy
    lets reduce along axis 0). numexpr's run makes them before anything else, whatever path the call
    then takes (a copy of bytes, an empty operand, a constant into ``out``)."""
    if type(order) is not str or order not in ORDERS:
        order = as_order(order)
    if type(casting) is not str or casting not in CASTING_RULES:
        casting = as_casting(casting)
    if type(order) is not str or order not in ORDERS or type(casting) is not str or casting not in CASTING_RULES:
        np.add(_NOTHING, _NOTHING, order=order, casting=casting)  # raises NumPy's error, as numexpr's iterator
        check_options(order, casting)  # (fusenum's, should NumPy ever take a value fusenum does not)
    check_count(len(values))
    if prog.axis is not None and prog.axis >= max((np.ndim(value) for value in values), default=0):
        raise ValueError("reduction axis is out of bounds")
    return order, casting


def _run_checked(prog: Program, values: list[np.ndarray], out: np.ndarray | None, order: str,
                 casting: str) -> np.ndarray:
    """:func:`run` once :func:`_checked_call` has passed."""
    if prog.copied is not None and prog.gives_bytes([value.dtype for value in values]):
        return copy_bytes(prog, values, out, order, casting)
    if out is None or not isinstance(out, np.ndarray):
        return _run(prog, values, out, order, casting)
    if not prog.reduces and values and _cast_into_by_numpy(out.dtype):  # (a constant: numexpr's own rule)
        shapes = [value.shape for value in values]
        if any(0 in shape for shape in shapes):  # numexpr's shortcut: a new empty array, ``out`` untouched
            return run(prog, values, None, order, casting)
        _check_not_empty(out)
        _check_writeable(out)
        check_broadcast(shapes, out.shape)  # (before the inputs' casts)
        result = run(prog, values, None, order, casting)
        np.copyto(out, result, casting=casting)  # (numexpr's TypeError where the cast is not allowed)
        return out
    if type(out) is np.ndarray:
        return _run(prog, values, out, order, casting)
    plain = out.view(np.ndarray)
    result = _run(prog, values, plain, order, casting)
    return out if result is plain else result


def copy_bytes(prog: Program, values: list[np.ndarray], out: np.ndarray | None, order: str,
               casting: str) -> np.ndarray:
    """numexpr's copy of an array of bytes strings (``evaluate("s")``, ``copy(s)``), made by NumPy: a
    new array of the operand's dtype laid out as ``order`` says, or ``out`` (of bytes strings, longer
    or, where ``casting`` allows it, shorter: then cut) written and returned, in numexpr's order of
    checks. An empty operand, or a constant alone without ``out``, is numexpr's ``ValueError``; an
    ``out`` of another kind of dtype its ``TypeError``, under every rule (numexpr crashes converting
    bytes to text). A constant goes into ``out`` as numexpr's constants do (:func:`_constant_into`)."""
    if not values and isinstance(out, np.ndarray):
        constant = prog.copied.value
        constant = np.array(constant.encode("ascii") if isinstance(constant, str) else constant)
        _check_constant_out(out, constant.dtype)
        return _constant_result(out, constant.reshape(out.shape))
    if not values or values[0].size == 0:
        raise ValueError("data type must provide an itemsize")
    value = values[0]
    if out is None:
        return np.array(value, order=order)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be an ndarray, not {type(out).__name__}")
    _check_not_empty(out)
    _check_writeable(out)
    check_broadcast([value.shape], out.shape)
    if out.dtype.kind != "S" or not np.can_cast(value.dtype, out.dtype, casting):
        raise TypeError(f"Iterator requested dtype could not be cast from {value.dtype!r} to {out.dtype!r}, "
                        f"the operand 0 dtype, according to the rule {casting!r}")
    np.copyto(out.view(np.ndarray), value, casting="unsafe")
    return out


def _check_not_empty(out) -> None:
    """numexpr's ``ValueError`` for an empty ``out`` when no operand is empty (its iterator does not
    take zero-sized operands; an empty operand's shortcut comes before)."""
    if isinstance(out, np.ndarray) and out.size == 0:
        raise ValueError("Iteration of zero-sized operands is not enabled")


def _check_shape(out: np.ndarray, shape: tuple[int, ...], axis: int) -> None:
    """numexpr's ``ValueError`` where an axis reduction's ``out`` cannot take a result of ``shape``
    (its operands' shape, ``axis`` removed: it needs that exact shape once its operands were broadcast
    to ``out``), which its iterator raises before any cast error."""
    shape = shape[:axis] + shape[axis + 1:]
    if out.shape != shape:
        raise ValueError(f"out has shape {out.shape}, but the reduction's result has shape {shape}")


def _check_writeable(out) -> None:
    """numexpr's ``ValueError`` for a read-only ``out``, which its iterator raises before any shape
    or cast error."""
    if isinstance(out, np.ndarray) and not out.flags.writeable:
        raise ValueError("operand array with iterator write flag set is read-only")


def check_broadcast(shapes: list[tuple[int, ...]], out_shape: tuple[int, ...] | None = None,
                     reduces: bool = False) -> None:
    """numexpr's ``ValueError`` where its iterator's operands -- ``out_shape`` first (an elementwise
    call's ``out``; a full reduction's one-element ``out`` or 0-d result, which takes no part in the
    broadcast), then the inputs' ``shapes`` in the program's order -- do not broadcast together, or an
    elementwise result does not broadcast into ``out``. The words are NumPy's iterator's, which pandas
    users also get from NumPy where numexpr is not used (``operands could not be broadcast together
    with shapes (5,) (3,) ``)."""
    operands = list(shapes) if out_shape is None else [out_shape, *shapes]
    if not _broadcasts(*(shapes if reduces else operands)):
        listed = "".join(f"{_shape_text(shape)} " for shape in operands)
        raise ValueError(f"operands could not be broadcast together with shapes {listed}")
    if reduces or out_shape is None:
        return
    full = broadcast_shapes(*operands)
    if full != out_shape:
        raise ValueError(f"non-broadcastable output operand with shape {_shape_text(out_shape)} doesn't "
                         f"match the broadcast shape {_shape_text(full)}")


def _shape_text(shape: tuple[int, ...]) -> str:
    """A shape as NumPy's iterator writes it in its messages: ``()``, ``(5,)``, ``(2,3)``."""
    return f"({','.join(map(str, shape))}{',' if len(shape) == 1 else ''})"


def _broadcasts(*shapes: tuple[int, ...]) -> bool:
    try:
        broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


def _cast_into_by_numpy(dtype: np.dtype) -> bool:
    """Whether an elementwise result goes into an ``out`` of ``dtype`` through NumPy's cast: one that
    fusenum's kernels do not write but numexpr's iterator casts into (long double, complex256,
    datetime64, timedelta64, structured dtypes; not text, where numexpr crashes)."""
    return not is_supported(dtype) and (dtype.kind in "fcMm" or dtype.names is not None)


def _run(prog: Program, values: list[np.ndarray], out: np.ndarray | None, order: str,
         casting: str) -> np.ndarray:
    """``prog`` on arrays bound to its names in order.

    As numexpr, once :func:`_checked_call` has passed: if an operand is empty, the result is a new empty array
    shaped like the first empty operand (numexpr neither broadcasts nor reduces then, nor writes
    ``out``, nor checks casts); else an empty ``out``, then a read-only one, then operands (``out``
    among them) that do not broadcast are numexpr's ``ValueError``, the last in NumPy's words
    (:func:`check_broadcast`). Otherwise each input must cast to its kind's dtype under ``casting``
    (``TypeError``: uint64 is not ``'safe'`` as int64, int8 not ``'equiv'`` as int32), as the output
    must to ``out``. An elementwise result broadcasts to an ``out`` of a larger shape, as
    in numexpr's (and NumPy's) iteration, and an axis reduction's operands broadcast to its ``out``
    on every axis but the reduced one. A reduction to a 0-d result (every axis, or the one axis
    of 1-d operands) goes into any ``out`` of one element (shape ``()``, ``(1,)``, ``(1, 1)``...;
    ``ValueError`` for another size, even with an empty operand, or for a read-only ``out``, as for any
    reduction); into one of
    another dtype it is written there and returned as a new array of its own dtype and ``out``'s
    shape, as numexpr returns it (an axis reduction into such an ``out``, which numexpr refuses
    with a ValueError about a read-only operand, is written there and returns ``out``).
    """
    given, values = values, [_narrowed(value) for value in values]
    plan = _plan(prog, values)
    if not values and isinstance(out, np.ndarray):
        return _constant_into(prog, plan, out, order, casting)
    # A reduction to a 0-d result (every axis, or the one axis of 1-d operands) goes into any ``out``
    # of one element, whatever its shape.
    to_scalar = _check_layout(prog, values, out)
    full_into_out = to_scalar and type(out) is np.ndarray and out.size == 1
    if full_into_out:
        given_out, out = out, out.reshape(())
    for value in values:
        if value.size == 0:
            return np.empty(value.shape, plan.dtype)
    if out is not None and not prog.reduces and values:
        values = _broadcast_to_out(values, out.shape)
    elif isinstance(out, np.ndarray) and prog.axis is not None and not to_scalar:
        values = _broadcast_to_reduction_out(values, out.shape, prog.axis)
        _check_axis_reduction_out(out, values, prog.axis, plan.dtype, casting)
    # A full reduction into ``out`` is iterated without the output: its inputs count from 0, and ``out``
    # is checked after them.
    error = _input_cast_error(given, casting, first=0 if to_scalar and out is not None else 1)
    if error is not None:
        if _iterator_fails_first(plan, given, None if prog.reduces else out, casting):
            execute(plan, values, prog.names, out, order, casting)  # raises that error
        raise error
    if to_scalar and out is not None and not np.can_cast(out.dtype, plan.dtype, casting):
        # numexpr's iterator reads ``out`` into the reduction too: it must cast both ways
        raise _cast_error(out.dtype, plan.dtype, 0, casting)
    if full_into_out and out.dtype != plan.dtype and np.can_cast(plan.dtype, out.dtype, casting):
        # numexpr writes a full reduction into ``out`` but returns it in its own dtype
        result = execute(plan, values, prog.names, None, order, casting)
        np.copyto(out, result, casting="unsafe")
        return result.reshape(given_out.shape)
    result = execute(plan, values, prog.names, out, order, casting)
    return given_out if full_into_out else result


def _check_layout(prog: Program, values: list[np.ndarray], out) -> bool:
    """numexpr's errors of a call's shapes, which its iterator raises before any input's cast (see
    :func:`_run`: all ``ValueError``); also whether the call reduces to a 0-d result (every axis, or the
    one axis of 1-d operands), which goes into any ``out`` of one element, whatever its shape."""
    to_scalar = prog.reduces and (prog.axis is None or max((value.ndim for value in values), default=0) <= 1)
    if to_scalar and isinstance(out, np.ndarray) and out.size != 1:  # (before an empty operand's shortcut)
        raise ValueError("out argument must have size 1 for a full reduction")
    if any(value.size == 0 for value in values):
        return to_scalar
    _check_not_empty(out)
    _check_writeable(out)
    shapes = [value.shape for value in values]
    if not prog.reduces:
        check_broadcast(shapes, out.shape if isinstance(out, np.ndarray) else None)
    elif to_scalar:
        check_broadcast(shapes, out.shape if type(out) is np.ndarray else (), reduces=True)
    elif out is None:  # (numexpr's words name the shapes its nested iterator remaps; these are NumPy's)
        check_broadcast(shapes)
    return to_scalar


def _check_axis_reduction_out(out: np.ndarray, values: list[np.ndarray], axis: int, dtype: np.dtype,
                              casting: str) -> None:
    """numexpr's errors for an axis reduction's ``out``, which its iterator takes as operand 0, before
    the inputs' casts (after a read-only ``out``'s): operands that do not broadcast or a shape that
    does not take the result (``ValueError``), then a dtype that does not cast back to the reduction's
    ``dtype`` (``TypeError``: the iterator reads ``out`` into the reduction too)."""
    check_broadcast([value.shape for value in values])
    _check_shape(out, broadcast_shapes(*(value.shape for value in values)), axis)
    if not np.can_cast(out.dtype, dtype, casting):
        raise _cast_error(out.dtype, dtype, 0, casting)


def _constant_into(prog: Program, plan: Plan, out: np.ndarray, order: str, casting: str) -> np.ndarray:
    """A constant expression (no input) into ``out``, as numexpr does it: ``out`` must have one element
    (any shape) and be writable (``ValueError``), and its dtype must cast to the result's under
    ``'safe'``, whatever ``casting`` says (``TypeError``). ``out`` itself is returned if it has the result's
    dtype and is aligned; else the value is written into it (cast as NumPy casts) and returned as a new
    array of the result's dtype and ``out``'s shape."""
    _check_constant_out(out, plan.dtype)
    return _constant_result(out, execute(plan, [], prog.names, None, order, casting).reshape(out.shape))


def _check_constant_out(out: np.ndarray, dtype: np.dtype) -> None:
    if out.size != 1:
        raise ValueError("output for a constant expression must have size 1")
    if not out.flags.writeable:
        raise ValueError("output is not writeable")
    if not np.can_cast(out.dtype, dtype, "safe"):
        what = "scalar" if out.ndim == 0 else "array data"  # (NumPy's words)
        raise TypeError(f"Cannot cast {what} from {out.dtype!r} to {dtype!r} according to the rule 'safe'")


def _constant_result(out: np.ndarray, result: np.ndarray) -> np.ndarray:
    if out.dtype == result.dtype and out.flags.aligned:
        out[...] = result
        return out
    with np.errstate(all="ignore"):
        np.copyto(out, result, casting="unsafe")
    return result


def _input_cast_error(values: list[np.ndarray], casting: str, first: int = 1) -> TypeError | None:
    """numexpr's error for the first input that does not cast to its kind's dtype under ``casting``
    (the iterator numbering inputs from ``first``)."""
    if casting in ("unsafe", "same_kind"):  # every input casts to its kind under these
        return None
    for position, value in enumerate(values, start=first):
        if value.dtype.kind != "S":
            target = kinds.DTYPE[kinds.of_dtype(value.dtype)]
            if value.dtype != target and not np.can_cast(value.dtype, target, casting):
                return _cast_error(value.dtype, target, position, casting)
    return None


def _iterator_fails_first(plan: Plan, values: list[np.ndarray], out: np.ndarray | None, casting: str) -> bool:
    """Whether numexpr's iterator meets another error before the inputs' casts: operands that do not
    broadcast, a result that does not cast to ``out``, or an ``out`` the result does not broadcast to."""
    if out is not None and not np.can_cast(plan.dtype, out.dtype, casting):
        return True
    shapes = [value.shape for value in values]
    if not _broadcasts(*shapes):
        return True
    return out is not None and broadcast_shapes(out.shape, *shapes) != out.shape


def _broadcast_to_out(values: list[np.ndarray], shape: tuple[int, ...]) -> list[np.ndarray]:
    """``values`` broadcast to ``out``'s ``shape`` where their own shape broadcasts to it (else as
    they are: the call then raises its usual error)."""
    try:
        if broadcast_shapes(shape, *(value.shape for value in values)) != shape:
            return values
    except ValueError:
        return values
    return [value if value.shape == shape else np.broadcast_to(value, shape) for value in values]


def _broadcast_to_reduction_out(values: list[np.ndarray], shape: tuple[int, ...],
                                axis: int) -> list[np.ndarray]:
    """``values`` broadcast against an axis reduction's ``out`` of ``shape``, as numexpr's iterator
    maps ``out`` onto every axis but ``axis``: ``sum(a, axis=0)`` of a ``(2, 1)`` array into an ``out``
    of shape ``(3,)`` sums each of the three columns. Where ``out`` has another number of dimensions
    or does not broadcast so, ``values`` are returned as they are (the call raises its usual error)."""
    ndim = max(value.ndim for value in values)
    if len(shape) != ndim - 1:
        return values
    inserted = shape[:axis] + (1,) + shape[axis:]
    try:
        full = broadcast_shapes(inserted, *(value.shape for value in values))
    except ValueError:
        return values
    if full[:axis] + full[axis + 1:] != shape:
        return values
    return [value if value.shape == full else np.broadcast_to(value, full) for value in values]


@caches.owner
def _clear() -> None:
    caches.empty(_programs)  # (the last expression stays: it holds no kernel, its plans are PLANS')
