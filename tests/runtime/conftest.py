"""Fixtures of the runtime's tests."""
import pytest

import fusenum
from fusenum.runtime import background, disk_cache, tiering


@pytest.fixture
def cache_dir(tmp_path):
    """A fresh, private cache directory (created by fusenum) and empty memory, restored afterwards."""
    directory = tmp_path / "cache"
    # Background compiles an earlier test started (a tier test's) would write into this directory.
    assert tiering.wait_for_compiles(120) and background.wait(120)
    previous = fusenum.set_disk_cache(True, directory, disk_cache.DEFAULT_MAX_BYTES)
    fusenum.clear_cache()
    yield directory
    fusenum.clear_cache()
    fusenum.set_disk_cache(*previous)
