"""Exceptions raised by fusenum, and the warnings it gives.

Each exception subclasses the built-in exception a NumPy user would expect, so
existing ``except ValueError`` / ``except TypeError`` handlers keep working.
"""
import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message: str, category: type[Warning] = RuntimeWarning) -> None:
    """Warn as NumPy would, attributed to the user's line: the first caller outside fusenum."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level + 1)


class FusenumError(Exception):
    """Base class of every exception fusenum defines."""


class ExpressionError(FusenumError, ValueError):
    """The text is not a valid fusenum expression.

    The message names the offending piece of text and its column (0-based, like
    Python's ``ast``), e.g. ``unknown function 'foo' at column 4``.
    """

    def __init__(self, message: str, text: str | None = None, column: int | None = None):
        self.text = text
        self.column = column
        if column is not None:
            message = f"{message} at column {column}"
        if text is not None:
            message = f"{message} in {text!r}"
        super().__init__(message)


class UnsupportedDTypeError(FusenumError, TypeError):
    """An operand has a dtype fusenum does not compile (object, datetime, ...)."""


class CastingError(FusenumError, TypeError):
    """The result cannot be written into ``out=`` under the ``casting=`` rule."""


class CompileError(FusenumError, RuntimeError):
    """LLVM rejected the generated code. This is a fusenum bug: please report it."""


class TargetError(FusenumError, RuntimeError):
    """The requested SIMD target (``FUSENUM_SIMD``) is unknown or not supported by this CPU."""


class ConfigurationError(FusenumError, ValueError):
    """A setting (an environment variable or a ``set_*`` call) has an invalid value."""


class DiskCacheWarning(RuntimeWarning):
    """The kernel cache directory cannot be used safely (owned by another user, writable by others,
    not creatable or not writable): compiled kernels are kept in memory only."""
