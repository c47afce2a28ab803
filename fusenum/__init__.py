"""fusenum: NumPy expressions compiled into one fused, vectorized loop.

Public API::

    fusenum.evaluate("2*a + 3*b*c - sqrt(a)")    # names from the caller's frame
    r = fusenum.lazy(a) * 2 + np.sqrt(b)         # NumPy code on lazy arrays: nothing computed yet
    np.asarray(r)                                # ... until forced: one compiled pass
    print(fusenum.explain("2*a + sin(b)"))       # what that call would run: IR, kernels, math
    fusenum.cache_info()                         # kernel cache statistics
    fusenum.set_disk_cache(enabled, directory, max_bytes)  # compiled kernels on disk
                                                 # (env: FUSENUM_CACHE, FUSENUM_CACHE_DIR, FUSENUM_CACHE_MAX_BYTES)
    fusenum.get_simd() / fusenum.set_simd(name)  # SIMD level (env: FUSENUM_SIMD)
    fusenum.set_tiering("auto")                  # first calls interpreted while the kernel compiles in the
                                                 # background; "never", "always" (env: FUSENUM_TIERING)
    fusenum.prebuild()                           # once per machine (or `python -m fusenum prebuild`): the
                                                 # interpreter's kernels on disk, so no first call compiles
    import fusenum.numexpr as ne                 # numexpr's API and meaning on fusenum; ne.install() (or
                                                 # FUSENUM_NUMEXPR=1) makes `import numexpr` and pandas use it

The pipeline, one folder per stage (dependencies point down, CI checks it)::

    frontend/  strings and lazy arrays -> typed IR
    runtime/   plan cache, plans, layout, staging of reductions, threads, kernel cache
    codegen/   kernel spec -> LLVM IR -> machine code
    ir/        op table, nodes, typing (read by every stage)

Results are NumPy's: same dtype (NumPy 2 promotion, NEP 50 weak Python
scalars), same shape, same values.
"""
import importlib as _importlib
import os as _os
import sys as _sys

from .errors import (ArgumentTypeError, CastingError, CompileError, ConfigurationError, ConstantOverflowError,
                     DiskCacheWarning, ExpressionError, FusenumError, InvalidArgumentError,
                     ReentrantCompileError, TargetError, UnsupportedDTypeError, UnsupportedOperationError)


def _end_command(error: FusenumError) -> None:
    """Under ``python -m fusenum...`` (one of this package's commands, being located), a bad
    ``FUSENUM_*`` setting ends the command as a bad argument does: its message and status 2, not a
    traceback. Imported any other way, the package raises the error."""
    if _sys.argv[:1] != ["-m"]:  # (what Python sets while it locates the module of -m)
        return
    options = list(getattr(_sys, "orig_argv", ()))[1:]
    at = next((k for k, option in enumerate(options) if option.startswith("-m")), None)
    if at is None:
        return
    command = options[at][2:] or (options[at + 1] if at + 1 < len(options) else "")
    if command == __name__ or command.startswith(__name__ + "."):
        print(f"python -m {command}: {error}", file=_sys.stderr)
        raise SystemExit(2)


try:  # (the settings in FUSENUM_* variables are read here)
    from .codegen.target import available as available_simd
    from .codegen.target import get_simd, set_simd
    from .frontend import evaluate
    from .runtime import (CacheInfo, DiskCache, cache_info, clear_cache, clear_disk_cache, get_disk_cache,
                          get_num_threads, get_tiering, set_disk_cache, set_num_threads, set_tiering)

    # (fusenum-numexpr.pth, the start-up file, reads the same words for "off")
    _NUMEXPR_SWITCH = _os.environ.get("FUSENUM_NUMEXPR", "").strip().lower()
    if _NUMEXPR_SWITCH not in ("", "0", "off", "no", "false", "1", "on", "yes", "true"):
        raise ConfigurationError(f"FUSENUM_NUMEXPR must be on (1) or off (0), not {_NUMEXPR_SWITCH!r}")
except FusenumError as _refused:
    _end_command(_refused)
    raise

from .version import __version__

__all__ = [
    "evaluate", "explain", "lazy", "LazyArray", "get_num_threads", "set_num_threads", "cache_info", "clear_cache",
    "CacheInfo", "DiskCache", "get_disk_cache", "set_disk_cache", "clear_disk_cache", "DiskCacheWarning",
    "get_simd", "set_simd", "available_simd", "get_tiering", "set_tiering", "prebuild", "PrebuildResult",
    "FusenumError", "ExpressionError", "UnsupportedDTypeError", "CastingError", "CompileError",
    "ConfigurationError", "InvalidArgumentError", "ArgumentTypeError",
    "ConstantOverflowError", "UnsupportedOperationError", "ReentrantCompileError",
    "TargetError", "__version__",
]

#: Names imported on first use (PEP 562), with their modules: ``import fusenum`` does not load the
#: lazy front end, ``explain`` or ``prebuild`` (~5 ms together) for a program that only evaluates.
_ON_FIRST_USE = {"lazy": "frontend.lazy_arrays", "LazyArray": "frontend.lazy_arrays", "explain": "frontend.explain",
                 "prebuild": "runtime.prebuilt", "PrebuildResult": "runtime.prebuilt"}


def __getattr__(name: str):
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later uses find it at once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if _NUMEXPR_SWITCH in ("1", "on", "yes", "true"):
    # `import numexpr` gives fusenum.numexpr from here on (see fusenum.numexpr.drop_in)
    from .numexpr import install as _install_numexpr

    _install_numexpr()

# The CPU's signature and the sources' digest, read on a short-lived thread while the program goes
# on to its first call (nothing is started where the disk cache is off or holds nothing).
from .runtime import prefetch as _prefetch  # noqa: E402

_prefetch.start()
