"""Frozen records: small immutable classes whose fields are their annotations.

What ``@dataclass(frozen=True)`` gives (an ``__init__`` with the class attributes as defaults,
``__post_init__``, equality and hashing by the fields in order, a ``repr``, immutability), with
shared methods instead of generated code: ``dataclasses`` compiles six functions per frozen class,
and the fourteen classes built at ``import fusenum`` spent a third of its import time there.

A field that is computed rather than passed is not annotated: ``__post_init__`` sets it with
``object.__setattr__`` (as :class:`fusenum.ir.ops.Op` does with ``rules``).
"""
from __future__ import annotations

from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T", bound=type)

_FIELDS = "__record_fields__"
_HASH = "_record_hash"  # where a record keeps its hash once computed (not a field)


def record(cls: T) -> T:
    """Make ``cls`` a frozen record of its annotated fields (see the module docstring)."""
    names = tuple(name for name, annotation in cls.__dict__.get("__annotations__", {}).items()
                  if not str(annotation).startswith("ClassVar"))
    defaults = tuple(cls.__dict__[name] for name in names if name in cls.__dict__)
    required = len(names) - len(defaults)
    if any(name in cls.__dict__ for name in names[:required]):
        raise TypeError(f"{cls.__name__}: a field without a default follows one with a default")
    values = attrgetter(*names) if len(names) > 1 else lambda item: tuple(getattr(item, n) for n in names)
    post_init = hasattr(cls, "__post_init__")

    def __init__(self, *args, **kwargs):
        if kwargs or len(args) != len(names):
            if not kwargs and required <= len(args) < len(names):  # the rest from the defaults
                args += defaults[len(args) - required:]
            else:
                args = _bind(cls.__qualname__, names, defaults, args, kwargs)
        vars(self).update(zip(names, args))
        if post_init:
            self.__post_init__()

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return values(self) == values(other)

    def __hash__(self):
        # Kept once computed: kernel specs key several dicts per call, and their hash walks every
        # field (never pickled: see _state).
        known = self.__dict__.get(_HASH)
        if known is None:
            known = self.__dict__[_HASH] = hash(values(self))
        return known

    for method, function in (("__init__", __init__), ("__eq__", __eq__), ("__hash__", __hash__),
                             ("__repr__", _repr), ("__getstate__", _state)):
        if method not in cls.__dict__:  # as dataclasses: a method the class writes itself stays
            setattr(cls, method, function)
    cls.__setattr__ = cls.__delattr__ = _immutable
    setattr(cls, _FIELDS, names)
    return cls


def _bind(owner: str, names: tuple, defaults: tuple, args: tuple, kwargs: dict) -> list:
    """The field values of ``owner(*args, **kwargs)``, or Python's TypeError for such a call."""
    if len(args) > len(names):
        raise TypeError(f"{owner}() takes {len(names)} arguments but {len(args)} were given")
    bound = dict(zip(names, args))
    for name, value in kwargs.items():
        if name not in names:
            raise TypeError(f"{owner}() got an unexpected keyword argument {name!r}")
        if name in bound:
            raise TypeError(f"{owner}() got multiple values for argument {name!r}")
        bound[name] = value
    required = len(names) - len(defaults)
    missing = [name for name in names[:required] if name not in bound]
    if missing:
        raise TypeError(f"{owner}() missing required argument{'s' * (len(missing) > 1)}: "
                        + ", ".join(map(repr, missing)))
    return [bound.get(name, defaults[index - required] if index >= required else None)
            for index, name in enumerate(names)]


def _repr(self) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in fields(self))
    return f"{type(self).__qualname__}({shown})"


def _state(self) -> dict:
    """What pickling keeps: the fields, not the hash :meth:`__hash__` kept (a string's hash differs
    from process to process)."""
    state = vars(self)
    if _HASH in state:
        state = dict(state)
        del state[_HASH]
    return state


def _immutable(self, name: str, *value) -> None:
    raise AttributeError(f"cannot assign to field {name!r}: {type(self).__name__} is immutable")


def fields(item: Any) -> tuple[str, ...]:
    """The field names of a record (class or instance), in order."""
    return getattr(item, _FIELDS)


def is_record(item: Any) -> bool:
    """Whether ``item`` is a record or an instance of one."""
    return hasattr(item, _FIELDS)


def replace(item: T, **changes: Any) -> T:
    """A copy of the record ``item`` with ``changes`` to its fields."""
    unknown = set(changes) - set(fields(item))
    if unknown:
        raise TypeError(f"{type(item).__name__} has no field {sorted(unknown)[0]!r}")
    return type(item)(**{name: changes.get(name, getattr(item, name)) for name in fields(item)})
