"""numexpr's ``numexpr.version`` module: the version fusenum.numexpr follows, with a ``+fusenum`` local part.

``version`` and ``__version__`` are ``'2.14.2+fusenum'`` (PEP 440, which pandas'
version check accepts); ``platform_machine`` is the machine this runs on (numexpr's
is the one it was built on). numexpr's ``numpy_build_version`` has no meaning here
(nothing is built against NumPy): asking for it is an ``AttributeError`` that says so.
"""
from __future__ import annotations

import platform

from .settings import NUMEXPR_VERSION

version = __version__ = f"{NUMEXPR_VERSION}+fusenum"
platform_machine = platform.machine()


def __getattr__(name: str):
    if name == "numpy_build_version":
        raise AttributeError("fusenum.numexpr.version does not provide numexpr's 'numpy_build_version': "
                             "fusenum.numexpr is not built against NumPy")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
