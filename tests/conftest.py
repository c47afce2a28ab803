"""Shared fixtures: run SIMD-sensitive tests once per SIMD level this machine has.

``FUSENUM_EXAMPLES`` sets how many examples each hypothesis test draws (default 60);
``FUSENUM_TEST_SIMD`` restricts the SIMD-sensitive tests to one level (CI's deeper
hypothesis run uses both).
"""
import os

import pytest
from hypothesis import HealthCheck, settings

import fusenum

settings.register_profile(
    "default", deadline=None, max_examples=int(os.environ.get("FUSENUM_EXAMPLES", "60")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.load_profile("default")


_LEVELS = [os.environ["FUSENUM_TEST_SIMD"]] if os.environ.get("FUSENUM_TEST_SIMD") else fusenum.available_simd()


@pytest.fixture(params=_LEVELS)
def simd(request):
    """Compile kernels for each available SIMD level in turn (restored afterwards)."""
    previous = fusenum.set_simd(request.param)
    yield request.param
    fusenum.set_simd(previous)
