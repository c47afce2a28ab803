"""numexpr's ``numexpr.utils`` namespace: its public thread and VML calls, by their numexpr names.

Code that reaches them as ``numexpr.utils.set_num_threads(...)``,
``numexpr.utils.detect_number_of_cores()`` or ``numexpr.utils._init_num_threads()``
gets :mod:`fusenum.numexpr.settings`' functions (the same objects as the
top-level ones). numexpr's helpers here (``CacheDict``, ``ContextDict``, the
interpreter's ``_get_num_threads``/``_set_num_threads``, its logger) are not
provided: asking for one is an ``AttributeError`` that says so.
"""
from __future__ import annotations

from . import version
from .settings import (MAX_THREADS, detect_number_of_cores, detect_number_of_threads, get_num_threads,
                       get_vml_num_threads, get_vml_version, set_num_threads, set_vml_accuracy_mode,
                       set_vml_num_threads, use_vml)
from .settings import init_num_threads as _init_num_threads

__all__ = ["MAX_THREADS", "detect_number_of_cores", "detect_number_of_threads", "get_num_threads",
           "get_vml_num_threads", "get_vml_version", "set_num_threads", "set_vml_accuracy_mode",
           "set_vml_num_threads", "use_vml", "version", "_init_num_threads"]

#: numexpr's names in ``numexpr.utils`` this module does not provide.
NOT_PROVIDED = ("CacheDict", "ContextDict", "_get_num_threads", "_set_num_threads", "log")


def __getattr__(name: str):
    if name in NOT_PROVIDED:
        raise AttributeError(f"fusenum.numexpr.utils does not provide numexpr's {name!r}: it has numexpr's "
                             "public thread and VML calls, not its internals")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
