"""A kernel is always kept under the codegen settings it was made for, even if ``set_simd`` runs meanwhile.

Another thread may change the SIMD level between two reads of :data:`fusenum.codegen.settings.key`
in one lookup: the runtime reads it once per lookup and passes it down. The tests make that race
certain: the runtime modules see a ``settings`` whose key alternates between two levels at every
read, and every table that keeps kernels must still hold, under each key, kernels of that key's level.
"""
from __future__ import annotations

import itertools
import types

import numpy as np
import pytest

import fusenum
from fusenum.codegen import settings
from fusenum.runtime import elementwise, interpreter, kernels, plan, plan_cache, staging, tiering
from fusenum.runtime.kernels import Kernel

_LEVELS = fusenum.available_simd()
_RUNTIME_MODULES = (elementwise, interpreter, kernels, plan, staging, tiering)


class _Flipping(types.ModuleType):
    """:mod:`fusenum.codegen.settings`, except that ``key`` alternates between two levels at each read."""

    def __init__(self, levels: tuple[str, str]):
        super().__init__("flipping_settings")
        self._keys = itertools.cycle([(level, settings.vector_math) for level in levels])

    def __getattr__(self, name: str):
        return next(self._keys) if name == "key" else getattr(settings, name)


@pytest.fixture
def flipping_settings(monkeypatch, memory_only_kernels):
    """The runtime reads a settings key that changes between any two reads (as if other threads
    called ``set_simd`` all the time); the real settings are restored afterwards."""
    if len(_LEVELS) < 2:
        pytest.skip("needs two SIMD levels")
    previous = fusenum.set_simd(_LEVELS[0])
    flipping = _Flipping((_LEVELS[0], _LEVELS[-1]))
    for module in _RUNTIME_MODULES:
        monkeypatch.setattr(module, "settings", flipping)
    yield
    for module in _RUNTIME_MODULES:
        monkeypatch.setattr(module, "settings", settings)
    fusenum.set_simd(previous)


def _kept_kernels():
    """``(settings key, kernel)`` for every kernel the runtime's tables keep."""
    for (_, settings_key), kernel in kernels._kernels.items():
        yield settings_key, kernel
    plans = [p for p in [*plan_cache.PLANS.values(), *staging._final_plans.values()] if isinstance(p, plan.Plan)]
    for one in plans:
        for key, kernel in one.kernels.items():
            yield key[-1], kernel
        for table in (one.checked, one.checked_streaming):
            yield from table.items()
    for key, program in interpreter._programs.items():
        for run, *_ in program.steps:
            for cell in run.__closure__ or ():
                if isinstance(cell.cell_contents, Kernel):
                    yield key[-1], cell.cell_contents


def _assert_kept_under_their_own_level() -> None:
    kept = list(_kept_kernels())
    assert kept
    wrong = [(key, kernel.target.name) for key, kernel in kept if kernel.target.name != key[0]]
    assert not wrong, f"kernels kept under another SIMD level's key: {wrong}"


@pytest.mark.parametrize("policy", ["never", "always"])
# (max: tier 0 reduces with a one-node kernel; a float sum it may make with NumPy, keeping no kernel)
@pytest.mark.parametrize("text", ["exp(a * 2) + 1", "sin(a) * 3 - b", "max(a * 3 + b)",
                                  "cos(a) + sum(b * 2)"])
def test_a_kernel_is_kept_under_the_settings_it_was_made_for(flipping_settings, policy, text):
    a = np.linspace(-2.0, 2.0, 1001)
    names = {"a": a, "b": a[::-1] * 0.5}
    strided = {"a": np.linspace(-2.0, 2.0, 2002)[::2], "b": a}
    previous = fusenum.set_tiering(policy)
    try:
        for values in (names, strided, names):  # the common call, the general path, then again
            fusenum.evaluate(text, values)
    finally:
        fusenum.set_tiering(previous)
    _assert_kept_under_their_own_level()


def test_a_checked_kernel_is_kept_under_the_level_it_was_compiled_for(memory_only_kernels, monkeypatch):
    """``set_simd`` in another thread while a call compiles its kernel (after the lookup, before the
    plan keeps it): the next call at the new level gets the new level's kernel."""
    if len(_LEVELS) < 2:
        pytest.skip("needs two SIMD levels")
    first, other = _LEVELS[0], _LEVELS[-1]
    real = kernels.kernel

    def kernel_then_switch(*args, **kwargs):
        made = real(*args, **kwargs)
        fusenum.set_simd(other)  # "another thread" changes the level now
        return made

    previous = fusenum.set_simd(first)
    try:
        a = np.linspace(-3.0, 3.0, 5001)
        monkeypatch.setattr(kernels, "kernel", kernel_then_switch)
        fusenum.evaluate("sin(a) * cos(a)", {"a": a})  # made for ``first``
        monkeypatch.setattr(kernels, "kernel", real)
        fusenum.evaluate("sin(a) * cos(a)", {"a": a})  # at ``other``
        assert fusenum.get_simd() == other
        _assert_kept_under_their_own_level()
    finally:
        fusenum.set_simd(previous)
