"""The listing of the disk cache's directory that lets lookups which may miss skip their open."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fusenum
from fusenum.runtime import disk_cache, entry_listing, kernels, tiering


def _digest(number: int) -> bytes:
    return number.to_bytes(32, "big")


def _miss_until_listed(directory) -> None:
    for number in range(entry_listing.MISSES_BEFORE_LISTING):
        assert disk_cache.load(_digest(number), may_skip=True) is None
    assert entry_listing._listing.names is not None, "not listed after the misses"


@pytest.fixture
def opens(monkeypatch):
    """The paths ``disk_cache.load`` opens."""
    opened, open_ = [], os.open
    monkeypatch.setattr(disk_cache.os, "open", lambda path, *rest: opened.append(path) or open_(path, *rest))
    return opened


def test_a_few_misses_never_list_the_directory(cache_dir):
    for number in range(entry_listing.MISSES_BEFORE_LISTING - 1):
        assert disk_cache.load(_digest(number), may_skip=True) is None
    assert entry_listing._listing.names is None


def test_once_listed_a_lookup_that_may_miss_skips_the_open_of_a_missing_entry(cache_dir, opens):
    _miss_until_listed(cache_dir)
    opens.clear()
    assert disk_cache.load(_digest(1000), may_skip=True) is None
    assert opens == []
    assert disk_cache.load(_digest(1000)) is None  # (a lookup before a compile always opens)
    assert len(opens) == 1


def test_an_entry_this_process_stores_is_found_at_once(cache_dir, monkeypatch):
    _miss_until_listed(cache_dir)
    monkeypatch.setattr(entry_listing, "RELIST_SECONDS", 3600.0)  # (no listing again meanwhile)
    disk_cache.store(_digest(2000), b"object code")
    assert disk_cache.load(_digest(2000), may_skip=True) == b"object code"


def test_an_entry_another_process_stores_is_found_once_the_directory_is_listed_again(cache_dir, monkeypatch):
    _miss_until_listed(cache_dir)
    monkeypatch.setattr(entry_listing, "RELIST_SECONDS", 3600.0)
    code = ("import sys; from fusenum.runtime import disk_cache\n"
            "disk_cache.store((3000).to_bytes(32, 'big'), b'theirs')\n")
    subprocess.run([sys.executable, "-c", code], env={**os.environ, "FUSENUM_CACHE_DIR": str(cache_dir)},
                   check=True, timeout=120)
    assert disk_cache.load(_digest(3000), may_skip=True) is None  # (listed before: may be missed ...)
    assert disk_cache.load(_digest(3000)) == b"theirs"  # (... but never by a lookup that must find it)
    monkeypatch.setattr(entry_listing, "RELIST_SECONDS", 0.0)
    assert disk_cache.load(_digest(3000), may_skip=True) == b"theirs"  # (the directory changed: listed again)


def test_a_listing_taken_just_after_a_change_is_taken_again_though_the_time_stays(cache_dir, monkeypatch):
    # A file system's timestamps are coarse: a change right after the listing may keep the time.
    _miss_until_listed(cache_dir)
    listing = entry_listing._listing
    assert not listing.settled  # (the directory was made moments ago)
    (cache_dir / (_digest(4000).hex() + disk_cache.SUFFIX)).write_bytes(b"")
    os.utime(cache_dir, ns=(listing.modified, listing.modified))  # the same time as when listed
    monkeypatch.setattr(entry_listing, "RELIST_SECONDS", 0.0)
    assert not entry_listing.absent(str(cache_dir), _digest(4000).hex() + disk_cache.SUFFIX)


def test_a_settled_listing_is_trusted_while_the_directory_keeps_its_time(cache_dir, monkeypatch, opens):
    _miss_until_listed(cache_dir)
    past = entry_listing._listing.modified - 10 * 10 ** 9
    os.utime(cache_dir, ns=(past, past))  # (changed long before it is listed)
    entry_listing._list(str(cache_dir))
    assert entry_listing._listing.settled
    monkeypatch.setattr(entry_listing, "RELIST_SECONDS", 0.0)
    listed = []
    monkeypatch.setattr(entry_listing, "_list", lambda directory: listed.append(directory))
    opens.clear()
    assert disk_cache.load(_digest(5000), may_skip=True) is None
    assert (listed, opens) == ([], [])


def test_tier_0_skips_a_kernel_the_listing_lacks_and_a_compile_loads_it(cache_dir, monkeypatch):
    names = {"a": np.arange(8.0), "b": np.ones(8)}
    previous = tiering.set_tiering("never")
    try:
        expected = fusenum.evaluate("a * 2.5 - b", names)
        assert fusenum.cache_info().disk_misses == 1
        spec, settings_key = next(reversed(kernels._kernels))
        fusenum.clear_cache()
        monkeypatch.setattr(entry_listing, "absent", lambda directory, name: True)
        assert kernels.available(spec, settings_key) is None  # (tier 0's look for a kernel at hand)
        np.testing.assert_array_equal(fusenum.evaluate("a * 2.5 - b", names), expected)
        info = fusenum.cache_info()
        assert (info.disk_hits, info.disk_misses) == (1, 0)  # (loaded, not compiled)
    finally:
        tiering.set_tiering(previous)
