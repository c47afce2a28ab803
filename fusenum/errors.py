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

    The message names the offending piece of text and its column (0-based, in
    characters of the text as given), e.g. ``unknown function 'foo' at column 4
    in 'a + foo(b)'``. A long text is shown as a window of :data:`WINDOW`
    characters each side of the column, so a megabyte of text does not make a
    megabyte of message; the whole text is kept on ``.text`` and the column on
    ``.column``.
    """

    def __init__(self, message: str, text: str | None = None, column: int | None = None):
        self.text = text
        self.column = column
        if column is not None:
            message = f"{message} at column {column}"
        if text is not None:
            message = f"{message} in {excerpt(text, column)}"
        super().__init__(message)


#: Characters of the expression shown each side of an error's column.
WINDOW = 40


def excerpt(text: str, column: int | None = None) -> str:
    """``repr(text)``, or for a long text the window of :data:`WINDOW` characters each side of
    ``column`` (the start when None), with ``...`` outside the quotes where text is left out."""
    center = 0 if column is None else min(max(column, 0), len(text))
    start = max(center - WINDOW, 0)
    end = min(start + 2 * WINDOW, len(text)) if column is None else min(center + WINDOW, len(text))
    before = "..." if start > 0 else ""
    after = "..." if end < len(text) else ""
    return f"{before}{text[start:end]!r}{after}"


class UnsupportedDTypeError(FusenumError, TypeError):
    """An operand has a dtype fusenum does not compile (object, datetime, ...)."""


class InvalidArgumentError(FusenumError, ValueError):
    """An argument has a value fusenum does not accept (``casting='bogus'``, ``order='X'``, a
    read-only or wrongly shaped ``out=``...)."""


class ArgumentTypeError(FusenumError, TypeError):
    """An argument has the wrong type (an expression that is not a str, a ``local_dict`` that is
    not a mapping, an ``out=`` that is not an ndarray...)."""


class ConstantOverflowError(FusenumError, OverflowError):
    """An integer constant in the expression (``10**10**10``, ``1 << 10**6``) is too large to compute."""


class UnsupportedOperationError(FusenumError, NotImplementedError):
    """fusenum does not compile this function for these dtypes (NumPy has it): e.g. a function of
    complex numbers not implemented yet."""


class CastingError(FusenumError, TypeError):
    """The result cannot be written into ``out=``, or an operation's input be converted to its loop's
    dtype, under the ``casting=`` rule."""


class CompileError(FusenumError, RuntimeError):
    """LLVM rejected the generated code. This is a fusenum bug: please report it."""


class ReentrantCompileError(FusenumError, RuntimeError):
    """A call needed a kernel compiled while its own thread was importing fusenum's code generator
    further up its stack (a signal handler's call during a process's first compile): nothing can be
    compiled on that thread before the import ends. Unless the handler catches it, it ends that
    import, and so the call the handler interrupted, too; a later call imports again."""


class TargetError(FusenumError, RuntimeError):
    """The requested SIMD target (``FUSENUM_SIMD``) is unknown or not supported by this CPU."""


class ConfigurationError(FusenumError, ValueError):
    """A setting (an environment variable or a ``set_*`` call) has an invalid value."""


class DiskCacheWarning(RuntimeWarning):
    """The kernel cache directory cannot be used safely (owned by another user, writable by others,
    not creatable or not writable): compiled kernels are kept in memory only."""
