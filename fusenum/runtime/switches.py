"""Settings read from the environment: switches that are on or off (``FUSENUM_CACHE``,
``FUSENUM_COMPILE_AFTER_EXIT``, ``FUSENUM_PREBUILD_AFTER_EXIT``, ...), and counts written in digits
(``FUSENUM_NUM_THREADS``, ``FUSENUM_MAX_KERNELS``, ``FUSENUM_CACHE_MAX_BYTES``)."""
from __future__ import annotations

import os

from ..errors import ConfigurationError

_VALUES = {"on": True, "1": True, "yes": True, "true": True, "off": False, "0": False, "no": False, "false": False}


def on_or_off(variable: str) -> bool:
    """Environment variable ``variable`` as on (also when unset or empty) or off; a
    :class:`~fusenum.ConfigurationError` for anything else."""
    setting = os.environ.get(variable, "").strip().lower() or "on"
    if setting not in _VALUES:
        raise ConfigurationError(f"{variable} must be on or off (or 1/0, yes/no, true/false), not {setting!r}")
    return _VALUES[setting]


def whole_number(text: str) -> int | None:
    """``text`` as an integer >= 0 if it is ASCII digits only, else None. (``int()`` also takes
    ``'1_0'``, ``'+5'``, ``' 5'`` and other scripts' digits, which no setting should mean.)"""
    return int(text) if text.isascii() and text.isdigit() else None
