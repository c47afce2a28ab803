"""``install()``: ``import numexpr`` gives :mod:`fusenum.numexpr`, for pandas and everyone else.

:func:`install` puts this module in ``sys.modules`` under ``numexpr`` (a
``numexpr`` imported before keeps working for whoever holds it), with its submodules
``numexpr.expressions``, ``numexpr.utils`` and ``numexpr.version``, and patches
pandas where it has already kept numexpr: ``pandas.core.computation.check.ne``
(with ``NUMEXPR_INSTALLED`` and ``NUMEXPR_BLOCKED_VERSION``) and
``pandas.core.computation.expressions.ne`` (with ``NUMEXPR_INSTALLED`` and
``USE_NUMEXPR``, then ``set_use_numexpr`` so its large-frame arithmetic takes
the numexpr path). pandas' ``eval``/``query`` engine imports ``numexpr`` at
each call, so it follows ``sys.modules``. :func:`uninstall` puts back what was
there. While installed, ``import numexpr.X`` of any other submodule is ``ModuleNotFoundError``, as
for a submodule numexpr lacks: the real numexpr's (``necompiler``, imported with pandas before) are
taken out of ``sys.modules`` (and put back by :func:`uninstall`), and this package's own (``kinds``)
would be second copies. With no code change: ``FUSENUM_NUMEXPR=1`` installs it at the process's first ``import
numexpr`` (``_fusenum_numexpr``, outside this package), or at ``import fusenum``; and
``python -m fusenum.numexpr script.py [args]`` runs a script (or ``-m module``) installed.
"""
from __future__ import annotations

import sys
from types import ModuleType

_PANDAS_CHECK = "pandas.core.computation.check"
_PANDAS_EXPRESSIONS = "pandas.core.computation.expressions"
_MISSING = object()
#: numexpr's submodules this package provides: ``import numexpr.utils`` (or ``from numexpr.expressions
#: import ConstantNode``) gets ours once installed.
SUBMODULES = ("expressions", "utils", "version")

#: What install() replaced: (module name, attribute or None for sys.modules) -> previous value.
_saved: dict[tuple[str, str | None], object] = {}


def _ours() -> ModuleType:
    return sys.modules[__name__.rsplit(".", 1)[0]]


def installed() -> bool:
    """Whether ``import numexpr`` currently gives fusenum.numexpr."""
    return sys.modules.get("numexpr") is _ours()


def _replace(module_name: str, attribute: str | None, value) -> None:
    if attribute is None:  # (a value of _MISSING: taken out)
        _saved.setdefault((module_name, None), sys.modules.get(module_name, _MISSING))
        if value is _MISSING:
            sys.modules.pop(module_name, None)
        else:
            sys.modules[module_name] = value
        return
    module = sys.modules[module_name]
    _saved.setdefault((module_name, attribute), getattr(module, attribute, _MISSING))
    setattr(module, attribute, value)


class _OtherSubmodules:
    """A finder on ``sys.meta_path`` while installed: ``numexpr.X`` that is not in ``sys.modules`` (not
    one of :data:`SUBMODULES`) is not found, rather than found as a file of this package."""

    @staticmethod
    def find_spec(fullname: str, path=None, target=None) -> None:
        if fullname.startswith("numexpr.") and installed():
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)


def install() -> None:
    """Make ``import numexpr`` (and pandas, imported before or after) use fusenum.numexpr."""
    ours = _ours()
    startup = sys.modules.get("_fusenum_numexpr")
    if startup is not None:  # (its finder's job is done: after uninstall(), numexpr is numexpr again)
        startup.disarm()
    _replace("numexpr", None, ours)
    for name in [name for name in sys.modules if name.startswith("numexpr.")]:
        _replace(name, None, _MISSING)
    for name in SUBMODULES:
        _replace(f"numexpr.{name}", None, getattr(ours, name))
    if _OtherSubmodules not in sys.meta_path:
        sys.meta_path.insert(0, _OtherSubmodules)  # type: ignore[arg-type]
    if _imported(_PANDAS_CHECK):
        _replace(_PANDAS_CHECK, "ne", ours)
        _replace(_PANDAS_CHECK, "NUMEXPR_INSTALLED", True)
        _replace(_PANDAS_CHECK, "NUMEXPR_BLOCKED_VERSION", None)
    if _imported(_PANDAS_EXPRESSIONS):
        expressions = sys.modules[_PANDAS_EXPRESSIONS]
        _replace(_PANDAS_EXPRESSIONS, "ne", ours)
        _replace(_PANDAS_EXPRESSIONS, "NUMEXPR_INSTALLED", True)
        _replace(_PANDAS_EXPRESSIONS, "USE_NUMEXPR", getattr(expressions, "USE_NUMEXPR", True))
        _use_numexpr(expressions)


def _imported(name: str) -> bool:
    """Whether module ``name`` has been imported, and not just begun: pandas' own import of numexpr
    may be what installs this module (``_fusenum_numexpr``), and binds what that import gives."""
    module = sys.modules.get(name)
    # (``_initializing``: what the import system sets on a module's spec while it runs, 3.4 on)
    return module is not None and not getattr(getattr(module, "__spec__", None), "_initializing", False)


def _use_numexpr(expressions: ModuleType) -> None:
    """Have pandas' arithmetic follow its ``compute.use_numexpr`` option with the numexpr now bound."""
    from pandas import get_option

    expressions.set_use_numexpr(get_option("compute.use_numexpr"))


def uninstall() -> None:
    """Undo :func:`install`: ``numexpr`` and pandas' bindings are what they were before."""
    if _OtherSubmodules in sys.meta_path:
        sys.meta_path.remove(_OtherSubmodules)  # type: ignore[arg-type]
    for (module_name, attribute), previous in reversed(list(_saved.items())):
        if attribute is None:
            if previous is _MISSING:
                sys.modules.pop(module_name, None)
            else:
                sys.modules[module_name] = previous
            continue
        module = sys.modules.get(module_name)
        if module is None:
            continue
        if previous is _MISSING:
            if hasattr(module, attribute):
                delattr(module, attribute)
        else:
            setattr(module, attribute, previous)
    _saved.clear()
    _repoint_pandas_imported_while_installed()
    expressions = sys.modules.get(_PANDAS_EXPRESSIONS)
    if expressions is not None:
        _use_numexpr(expressions)


def _repoint_pandas_imported_while_installed() -> None:
    """pandas imported after :func:`install` holds fusenum.numexpr with nothing saved to restore:
    give it the real numexpr if there is one, else tell it numexpr is not installed."""
    ours = _ours()
    holders = [sys.modules[name] for name in (_PANDAS_CHECK, _PANDAS_EXPRESSIONS)
               if name in sys.modules and getattr(sys.modules[name], "ne", None) is ours]
    if not holders:
        return
    try:
        import numexpr as real
    except ImportError:
        real = None
    for module in holders:
        module.ne = real
        module.NUMEXPR_INSTALLED = real is not None
        if hasattr(module, "USE_NUMEXPR"):
            module.USE_NUMEXPR = real is not None
