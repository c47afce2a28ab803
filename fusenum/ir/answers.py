"""NumPy's answers as a process keeps them: asked once, recordable, and adoptable from a record.

The questions of :mod:`.numpy_behaviour` and the reduction table's (:func:`.reductions.dtypes`) run
NumPy on a few values the first time a process needs their answer: together ~1.5 ms of a new
process's first calls that use ``**`` or a reduction (most of it making a few thousand probe values
and NumPy's first calls of those loops), more than numexpr takes for such a call whole. An answer
depends only on the installed NumPy, the C library (whose ``pow`` some of NumPy's loops call) and
the question, so it can be asked once elsewhere: :func:`question` marks a function whose answers are
kept (as ``functools.cache`` would keep them), :func:`recorded` gives them as text (JSON), and
:func:`adopt` takes such text back, decoding an answer when it is first asked for, so that a later
call with those arguments asks nothing (of hundreds recorded, a process asks a few). The
runtime records them when the package is built, beside the shipped kernels, and adopts them where
the same NumPy release runs (:mod:`fusenum.runtime.shipped_answers` says when); :data:`before_asking`
is how it gets the chance to before a process asks its first question.

Only answers built of None, bools, ints, strs, finite or infinite floats, tuples, frozensets, NumPy
dtypes whose ``str`` names them, Python's number types and NumPy's array and scalar types are
recorded (every question's are); anything else stays in the process.
"""
from __future__ import annotations

import functools
import json
import os
import threading
from typing import Any, Callable, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

#: Every answer known: ``(question name, arguments) -> answer``.
_answers: dict[tuple, Any] = {}
#: Answers adopted, as recorded: lines of ``question name, arguments' text, answer's text``
#: separated by tabs, each line after a line break. An answer is found and decoded when first asked
#: for (a process asks a few of the hundreds recorded): a dict of them all took longer to make, and
#: its keys, hundreds of tuples, brought the interpreter's garbage collection on sooner.
_adopted = {"lines": "", "count": 0, "taken": 0}  # count: lines adopted; taken: of them, decoded
#: The questions (as :func:`question` made them), by name (``package.module.function``).
_questions: dict[str, Callable] = {}
#: Called once, before the first answer this process does not know (from any thread): the runtime
#: adopts recorded answers there. Set at import by :mod:`fusenum.runtime.shipped_answers`.
before_asking: Callable[[], None] | None = None
_hook_lock = threading.RLock()
_hook_done = _hook_running = False
_MISSING = object()


def question(function: F) -> F:
    """Keep ``function``'s answers by arguments (positional, hashable), recordable and adoptable
    under its module-qualified name (ValueError if another question has that name)."""
    name = f"{function.__module__}.{function.__qualname__}"
    if name in _questions:
        raise ValueError(f"two questions are named {name}: their answers would be mixed up")

    @functools.wraps(function)
    def asked(*args):
        key = (name, args)
        found = _answers.get(key, _MISSING)
        if found is _MISSING:
            _run_hook()
            found = _answers.get(key, _MISSING)
            if found is _MISSING and _adopted["count"]:
                found = _take_adopted(name, args)
            if found is _MISSING:
                found = _answers.setdefault(key, function(*args))
        return found

    _questions[name] = asked
    return asked  # type: ignore[return-value]


def _run_hook() -> None:
    global _hook_done, _hook_running
    if _hook_done:
        return
    with _hook_lock:  # (another thread waits here for the adoption under way, then asks nothing)
        hook = before_asking
        # (_hook_running: a question the hook asks itself, or a signal handler's meanwhile)
        if _hook_done or _hook_running or hook is None:
            return
        _hook_running = True
        try:
            hook()
        except Exception:  # noqa: S110 -- only a shortcut: the question is asked instead
            pass
        finally:
            _hook_running, _hook_done = False, True


def _new_lock() -> None:
    global _hook_lock, _hook_running
    # (a child forked while another thread held it, or ran the hook, starts with a free one)
    _hook_lock, _hook_running = threading.RLock(), False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock)


def questions() -> dict[str, Callable]:
    """Every question marked so far, by the name its answers are recorded under."""
    return dict(_questions)


def known() -> int:
    """How many answers this process knows: asked or decoded, and adopted lines not asked for yet."""
    return len(_answers) + _adopted["count"] - _adopted["taken"]


def prepare() -> None:
    """Call :data:`before_asking` now, if no question has yet (once per process)."""
    _run_hook()


def forget(adopt_again: bool = True) -> None:
    """Forget every answer; call :data:`before_asking` again before the next question unless
    ``adopt_again`` is False (then every question is asked of NumPy)."""
    global _hook_done
    with _hook_lock:
        _answers.clear()
        _adopted.update(lines="", count=0, taken=0)
        _hook_done = not adopt_again


def recorded() -> list[tuple[str, str, str]]:
    """Every answer asked (or adopted and asked for) that can be recorded: ``(question name,
    arguments' text, answer's text)``, the texts compact JSON (no tab, no line break); :func:`adopt`
    takes them as lines of the three separated by tabs."""
    found = []
    for (name, args), value in sorted(_answers.items(), key=repr):
        try:
            found.append((name, text(args), text(value)))
        except _NotRecordable:
            continue
    return found


def adopt(lines: str) -> int:
    """Take the recorded answers ``lines`` (one per line: question name, arguments' text and
    answer's text, as :func:`recorded` gives them, separated by tabs) as known where no answer is;
    returns how many lines there are. An answer that is not found in the form asked for, or does
    not decode, is asked of NumPy instead."""
    if type(lines) is not str:
        raise ValueError(f"recorded answers are lines of text, not {type(lines).__name__}")
    count = sum(1 for line in lines.split("\n") if line)
    if lines and not lines.endswith("\n"):
        lines += "\n"  # (each answer ends at a line break)
    with _hook_lock:
        _adopted.update(lines=_adopted["lines"] + "\n" + lines, count=_adopted["count"] + count)
    return count


def text(value: Any) -> str:
    """``value`` (arguments or an answer) as recorded: compact JSON, keys sorted; ValueError if it
    cannot be recorded (see the module's docstring)."""
    return json.dumps(_encode(value), sort_keys=True, separators=(",", ":"))


def _take_adopted(name: str, args: tuple) -> Any:
    """The adopted answer to ``name(*args)``, decoded and made known; _MISSING if there is none, or
    it does not decode."""
    lines = _adopted["lines"]
    try:
        needle = f"\n{name}\t{text(args)}\t"
        start = lines.index(needle) + len(needle)
        value = _decode(json.loads(lines[start:lines.index("\n", start)]))
    except (ValueError, TypeError, RecursionError):  # (RecursionError: a deeply nested text)
        return _MISSING
    with _hook_lock:
        if (name, args) not in _answers:
            _adopted["taken"] += 1
        return _answers.setdefault((name, args), value)


class _NotRecordable(ValueError):
    pass


#: Python's number types, as recorded.
_PYTHON_TYPES = {"int": int, "float": float, "bool": bool, "complex": complex}


def _encode(value: Any) -> Any:
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        if value != value:  # (a NaN's sign and payload would not survive)
            raise _NotRecordable
        return {"float": value.hex()}
    if type(value) is tuple:
        return {"tuple": [_encode(item) for item in value]}
    if type(value) is frozenset:
        return {"frozenset": sorted((_encode(item) for item in value), key=repr)}
    if isinstance(value, np.dtype):
        if value.fields is not None or value.subdtype is not None or np.dtype(value.str) != value:
            raise _NotRecordable(f"{value!r} cannot be recorded")
        return {"dtype": value.str}
    if isinstance(value, type):
        if _PYTHON_TYPES.get(value.__name__) is value:
            return {"type": value.__name__}
        if value is np.ndarray or (issubclass(value, np.generic) and getattr(np, value.__name__, None) is value):
            return {"type": f"numpy.{value.__name__}"}
    raise _NotRecordable(f"{value!r} cannot be recorded")


def _decode(value: Any) -> Any:
    if value is None or type(value) in (bool, int, str):
        return value
    if not (isinstance(value, dict) and len(value) == 1):
        raise ValueError(f"not a recorded value: {value!r}")
    (kind, body), = value.items()
    if kind == "float" and type(body) is str:
        return float.fromhex(body)
    if kind in ("tuple", "frozenset") and type(body) is list:
        items = [_decode(item) for item in body]
        return tuple(items) if kind == "tuple" else frozenset(items)
    if kind == "dtype" and type(body) is str:
        try:
            return np.dtype(body)
        except TypeError as exc:
            raise ValueError(f"not a dtype: {body!r}") from exc
    if kind == "type" and type(body) is str:
        found = _PYTHON_TYPES.get(body)
        if found is None and body.startswith("numpy."):
            found = getattr(np, body[len("numpy."):], None)
            if not (found is np.ndarray or isinstance(found, type) and issubclass(found, np.generic)):
                found = None
        if found is not None:
            return found
    raise ValueError(f"not a recorded value: {value!r}")


__all__ = ["adopt", "before_asking", "forget", "known", "prepare", "question", "questions", "recorded", "text"]
