"""Frozen records: small immutable classes whose fields are their annotations.

What ``@dataclass(frozen=True)`` gives (an ``__init__`` with the class attributes as defaults,
``__post_init__``, equality and hashing by the fields in order, a ``repr``, immutability), with
one ``exec`` per class (``__init__``, ``__eq__``, ``__hash__``). ``dataclasses`` runs six per frozen
class: the fourteen classes built at ``import fusenum`` spent a third of its import time there.

A field that is computed rather than passed is not annotated: ``__post_init__`` sets it with
``object.__setattr__`` (as :class:`fusenum.ir.ops.Op` does with ``rules``).
"""
from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T", bound=type)

_FIELDS = "__record_fields__"


def record(cls: T) -> T:
    """Make ``cls`` a frozen record of its annotated fields (see the module docstring)."""
    names = tuple(name for name, annotation in cls.__dict__.get("__annotations__", {}).items()
                  if not str(annotation).startswith("ClassVar"))
    if not all(name.isidentifier() for name in names):  # the text below is made of them
        raise TypeError(f"{cls.__name__}: a field name is not an identifier: {names}")
    defaults = {name: cls.__dict__[name] for name in names if name in cls.__dict__}
    for before, name in zip(names, names[1:]):
        if before in defaults and name not in defaults:
            raise TypeError(f"{cls.__name__}: field {name!r} without a default follows one with a default")
    parameters = ", ".join(f"{name}=_default_{name}" if name in defaults else name for name in names)
    sets = "".join(f"    _set(self, {name!r}, {name})\n" for name in names)
    post_init = "    self.__post_init__()\n" if hasattr(cls, "__post_init__") else ""
    values = "".join(f"self.{name}, " for name in names)
    namespace: dict[str, Any] = {"_set": object.__setattr__, **{f"_default_{n}": v for n, v in defaults.items()}}
    # __init__, __eq__ and __hash__ are on hot paths (specs are built and looked up per call) and are
    # compiled; __repr__ is shared.
    exec(f"def __init__(self, {parameters}):\n{sets}{post_init}    pass\n"  # noqa: S102
         f"def __eq__(self, other):\n    if other.__class__ is not self.__class__:\n        return NotImplemented\n"
         f"    return ({values}) == ({values.replace('self.', 'other.')})\n"
         f"def __hash__(self):\n    return hash(({values}))\n", namespace)
    methods = {"__init__": namespace["__init__"], "__eq__": namespace["__eq__"], "__hash__": namespace["__hash__"],
               "__repr__": _repr}
    for method, function in methods.items():
        if method not in cls.__dict__:  # as dataclasses: a method the class writes itself stays
            if method != "__repr__":
                function.__qualname__ = f"{cls.__qualname__}.{method}"
            setattr(cls, method, function)
    cls.__setattr__ = cls.__delattr__ = _immutable
    setattr(cls, _FIELDS, names)
    return cls


def _repr(self) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in fields(self))
    return f"{type(self).__qualname__}({shown})"


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
