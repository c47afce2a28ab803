"""Shared fixtures: run SIMD-sensitive tests once per SIMD level this machine has.

``FUSENUM_EXAMPLES`` sets how many examples each hypothesis test draws (default 60);
``FUSENUM_TEST_SIMD`` restricts the SIMD-sensitive tests to one level (CI's deeper
hypothesis run uses both).

Kernels compiled by the tests go to a temporary disk cache directory, removed at the end of
the session, never to the user's (``FUSENUM_CACHE_DIR`` is set before fusenum is imported, so
subprocesses inherit it too).
"""
import atexit
import os
import shutil
import tempfile

_CACHE_DIR = tempfile.mkdtemp(prefix="fusenum-test-cache-")
atexit.register(shutil.rmtree, _CACHE_DIR, ignore_errors=True)
os.environ["FUSENUM_CACHE_DIR"] = _CACHE_DIR
# Tests of the compiled path count compiles and cache entries as a call makes them, so the suite
# compiles before running ("never"); the tier tests (tests/runtime/test_tiers.py) and the
# ``tier`` fixture of the differential tests choose their policy themselves.
os.environ.setdefault("FUSENUM_TIERING", "never")
# No helper process finishes the compiles a test process leaves at its exit (tests/runtime/
# test_exit_compiles.py turns it on for its own): the suite's many short subprocesses would leave
# helpers compiling into directories the tests remove.
os.environ["FUSENUM_COMPILE_AFTER_EXIT"] = "off"
# Nor does it prebuild after a first use (tests/runtime/test_first_use.py turns it on for its own).
os.environ["FUSENUM_PREBUILD_AFTER_EXIT"] = "off"
# Nor use kernels shipped with the package (a source tree where `python -m fusenum ship` ran has
# them): the tests of compiles count what a call compiles. tests/runtime/test_shipped.py ships its own.
os.environ["FUSENUM_SHIPPED_KERNELS"] = "off"

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

import fusenum  # noqa: E402

fusenum.set_disk_cache(directory=_CACHE_DIR)  # in case a plugin imported fusenum first

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


@pytest.fixture(autouse=True)
def _no_compile_left_for_the_next_test():
    """A compile a test's call queued (under ``auto``) finishes before the next test, whose counts
    and blocked compilers it would otherwise meet."""
    yield
    from fusenum.runtime import tiering
    if tiering.compiles_pending():
        tiering.wait_for_compiles(120)


@pytest.fixture(params=["never", "always"])
def tier(request):
    """Run a differential test compiled (tier 1) and interpreted (tier 0) in turn."""
    previous = fusenum.set_tiering(request.param)
    yield request.param
    fusenum.set_tiering(previous)


@pytest.fixture
def memory_only_kernels():
    """Every kernel is compiled and every text typed (no disk cache: a test that patches typing must
    not meet a plan another test's process typed), starting from an empty memory cache; the background
    compiles a test queued (the tiers' compiler's, then the optimizer's) are finished before the
    next test (the wait never expires on a loaded machine unless the code under test is wrong)."""
    from fusenum.runtime import background, tiering
    assert tiering.wait_for_compiles(120) and background.wait(120)  # (an earlier test's, not counted here)
    previous = fusenum.set_disk_cache(enabled=False)
    fusenum.clear_cache()
    yield
    assert tiering.wait_for_compiles(120)
    assert background.wait(120)
    fusenum.clear_cache()
    fusenum.set_disk_cache(*previous)
