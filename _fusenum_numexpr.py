"""``FUSENUM_NUMEXPR=1`` in every Python process of an environment where fusenum is installed.

``pip install`` puts ``fusenum-numexpr.pth`` beside the package. Python runs its one line at
start-up: where ``FUSENUM_NUMEXPR`` is set (to anything but ``0``, ``off``, ``no``, ``false`` or
nothing, the words ``fusenum/__init__.py`` reads too; an invalid value as well, which fusenum's import
then reports), it calls :func:`arm`, which puts a finder for ``numexpr`` first on ``sys.meta_path``.
The process's first ``import numexpr`` (pandas' import makes one) then imports :mod:`fusenum.numexpr`
and installs it (:func:`fusenum.numexpr.install`, which disarms the finder however it is called), and
gets it. So the variable alone reaches processes that never import fusenum: ``FUSENUM_NUMEXPR=1
python script.py``, pytest-xdist's workers, ``multiprocessing``'s spawn and forkserver children,
dask's workers, notebook kernels.

A process that never imports numexpr imports nothing here but this module (no NumPy, no fusenum),
and without the variable nothing at all. This module is outside the ``fusenum`` package because
importing anything inside it runs ``fusenum/__init__.py``, which imports NumPy.
"""
import sys

ModuleSpec = type(sys.__spec__)  # (``importlib.machinery``'s: importing that takes 0.4 ms of start-up)


def arm() -> None:
    """Have the process's next ``import numexpr`` give fusenum.numexpr."""
    if _NumexprFinder not in sys.meta_path:
        sys.meta_path.insert(0, _NumexprFinder)


def disarm() -> None:
    """Leave ``import numexpr`` to Python's own finders again."""
    while _NumexprFinder in sys.meta_path:
        sys.meta_path.remove(_NumexprFinder)


class _NumexprFinder:
    """Finds ``numexpr`` once; loading it installs fusenum.numexpr in its place."""

    @classmethod
    def find_spec(cls, name: str, path: object = None, target: object = None) -> "ModuleSpec | None":
        # (armed until install() runs: importlib.util.find_spec("numexpr") alone loads nothing)
        return ModuleSpec(name, cls) if name == "numexpr" else None

    @staticmethod
    def create_module(spec: "ModuleSpec") -> None:
        return None

    @staticmethod
    def exec_module(module: object) -> None:
        # The import system hands out whatever sys.modules holds for the name once this returns.
        del sys.modules["numexpr"]
        from fusenum.numexpr import install  # (fusenum's import installs it already, with the variable on)

        install()
