"""fusenum.numexpr: numexpr's API and meaning, computed by fusenum.

    import fusenum.numexpr as ne
    ne.evaluate("2*a + 3*b")            # numexpr's result dtype and errors, fusenum's kernels
    ne.install()                        # `import numexpr` (and pandas) now use this module

numexpr 2.14's public API is here: :func:`evaluate` (every keyword),
:func:`re_evaluate`, :func:`validate`, :func:`NumExpr`, :func:`disassemble`,
expression objects (:data:`E`, and :mod:`.expressions` with ``ConstantNode``, which
``NumExpr`` compiles as it compiles a text), thread control (:func:`set_num_threads`,
:func:`get_num_threads`, :func:`detect_number_of_cores`, :func:`detect_number_of_threads`,
``_init_num_threads``, :data:`ncores`, :data:`nthreads`, :data:`MAX_THREADS`; also as
``fusenum.numexpr.utils``), the VML calls (no-ops: see :mod:`.settings`),
:func:`print_versions`, ``is_cpu_amd_intel`` (False, deprecated in numexpr), the
:mod:`.version` module and ``__version__`` (numexpr's, with a ``+fusenum`` local part);
:func:`test` says where numexpr's tests are run against this module. numexpr's internal
modules (``necompiler``, ``interpreter``) and ``__BLOCK_SIZE1__`` are not: asking for one is an
``AttributeError`` that says so (:data:`NOT_PROVIDED`). numexpr defines no exception classes of its own; this
module raises the built-in exceptions numexpr raises in the same cases
(``NotImplementedError`` where numexpr has no opcode, ``KeyError`` for an
unbound name, ``ValueError`` for sanitized text, ``TypeError``, ``RuntimeError``,
``SyntaxError``), or fusenum's exceptions, which subclass them.

Where numexpr's meaning differs from NumPy's this module follows numexpr
(:mod:`.kinds`, :mod:`.tree`, :mod:`.lowering`): int8/int16 compute in int32,
uint32 and uint64 in int64, float16 in float32, complex64 in complex128; int64
with float32 is float32; a Python int constant is int32 when it fits; ``/`` of
integers is float64; ``~`` of floats and ``-`` of bools raise
``NotImplementedError``. Bytes (``S``) arrays and string constants are compared
and searched (``contains``) in the compiled kernel; a bytes result (``ne.evaluate("s")``)
is refused. ``fusenum.evaluate`` keeps NumPy's meaning. The two
share the plan cache, kernels, threads and tiers.

This package is the top layer: it may import every fusenum stage, and none
imports it.
"""
from . import expressions, utils, version
from .api import evaluate, re_evaluate, validate
from .compiled import NumExpr, disassemble
from .drop_in import install, installed, uninstall
from .expressions import E
from .settings import (MAX_THREADS, detect_number_of_cores, detect_number_of_threads, get_num_threads,
                       get_vml_num_threads, get_vml_version, initial_threads, print_versions, set_num_threads,
                       set_vml_accuracy_mode, set_vml_num_threads, use_vml)
from .settings import init_num_threads as _init_num_threads

__version__ = version.version
#: numexpr's deprecated flag, False there too.
is_cpu_amd_intel = False

#: Processors online, as numexpr counts them.
ncores = detect_number_of_cores()
#: Threads in use after numexpr's environment variables were applied at import.
nthreads = initial_threads()

__all__ = [
    "evaluate", "re_evaluate", "validate", "NumExpr", "disassemble", "set_num_threads", "get_num_threads",
    "detect_number_of_cores", "detect_number_of_threads", "ncores", "nthreads", "MAX_THREADS", "use_vml",
    "get_vml_version", "set_vml_accuracy_mode", "set_vml_num_threads", "get_vml_num_threads",
    "print_versions", "install", "uninstall", "installed", "__version__", "E", "is_cpu_amd_intel", "test",
]

#: numexpr's names this module does not provide (its internals, and what serves them).
NOT_PROVIDED = ("necompiler", "interpreter", "__BLOCK_SIZE1__")


def test(verbosity: int = 1):
    """numexpr's ``test()`` runs numexpr's test suite on numexpr; fusenum.numexpr does not ship it:
    ``NotImplementedError`` saying where numexpr's tests are run against this module."""
    raise NotImplementedError("fusenum.numexpr does not ship numexpr's test suite; fusenum's "
                              "tests/numexpr/test_numexpr_suite.py runs numexpr's own test_numexpr.py against "
                              "fusenum.numexpr (python -m fusenum.numexpr, with numexpr's tests installed)")


def __getattr__(name: str):
    if name in NOT_PROVIDED:
        raise AttributeError(f"fusenum.numexpr does not provide numexpr's {name!r}: it has numexpr's public "
                             "API (evaluate, re_evaluate, validate, NumExpr, ...), not its internals, "
                             "which the real numexpr has")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
