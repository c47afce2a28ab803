"""The disk cache's size: counted in the blocks the file system allocates, learnt by a scan that a
process makes each time it has written a random share of the limit."""
import hashlib
import os
import random

import pytest

import fusenum
from fusenum.runtime import disk_cache, disk_usage


def _store(number: int, payload: bytes = b"x" * 1500) -> None:
    """An entry of a typed plan (a payload of ``payload``), as a process would write it."""
    disk_cache.store(hashlib.sha256(str(number).encode()).digest(), payload, disk_cache.PLAN_SUFFIX)


def _on_disk(directory) -> int:
    return sum(disk_usage.allocated(path.stat()) for path in directory.iterdir()
               if path.name.endswith(disk_cache.EVICTED_SUFFIXES))


@pytest.fixture
def scans(monkeypatch) -> list:
    """One item per scan of the directory (each call of ``disk_usage.entries``)."""
    made: list = []
    real_entries = disk_usage.entries
    monkeypatch.setattr(disk_usage, "entries", lambda *arguments: made.append(1) or real_entries(*arguments))
    return made


def test_sizes_are_the_blocks_allocated_not_the_lengths(cache_dir):
    _store(1)
    (path,) = [path for path in cache_dir.iterdir() if path.name.endswith(disk_cache.PLAN_SUFFIX)]
    status = path.stat()
    assert disk_usage.allocated(status) == status.st_blocks * 512
    if status.st_blocks:  # (a file system that keeps small files inline allocates them no block)
        assert disk_usage.allocated(status) >= status.st_size
    assert fusenum.cache_info().disk_bytes == disk_usage.allocated(status)


def test_a_process_that_writes_less_than_its_share_does_not_scan(cache_dir, monkeypatch, scans):
    monkeypatch.setattr(disk_cache, "_random", random.Random(3))
    fusenum.set_disk_cache(max_bytes=disk_cache.DEFAULT_MAX_BYTES)  # (a new process's state)
    for number in range(20):
        _store(number)
    assert disk_cache.state.scan_after > disk_cache.state.unscanned and not scans
    disk_cache.state.scan_after = disk_cache.state.unscanned  # its share reached: the next write scans
    _store(20)
    assert scans == [1] and disk_cache.state.estimate == _on_disk(cache_dir)
    _store(21)  # counted on from the scan
    assert scans == [1] and disk_cache.state.estimate == _on_disk(cache_dir)


def test_many_small_processes_keep_the_directory_near_its_limit(cache_dir, monkeypatch, scans):
    """Each "process" writes one entry and draws its own share: about a quarter of them scan, and
    the directory outgrows the limit only by the entries of the processes since the last scan."""
    monkeypatch.setattr(disk_cache, "_random", random.Random(11))
    _store(0)
    entry = _on_disk(cache_dir)
    if not entry:
        pytest.skip("this file system keeps small files in no block of their own")
    limit = int(4 * entry / disk_cache.SCAN_FRACTION)  # an entry is 1/4 of a share's range
    largest, scanned = 0, 0
    for number in range(1, 400):
        fusenum.set_disk_cache(max_bytes=limit)  # (a new process)
        _store(number)
        scanned += bool(scans)
        scans.clear()
        largest = max(largest, _on_disk(cache_dir))
    assert 60 < scanned < 140  # a binomial of 399 draws with p = 1/4: 100 +- 9
    # 60 processes in a row skip their scan with probability (3/4)**60 = 3e-8 (the seed is fixed)
    assert limit < largest <= limit + 60 * entry
    assert _on_disk(cache_dir) >= limit * disk_cache.LOW_WATER - entry  # eviction keeps the recent ones


def test_a_process_writing_beside_another_keeps_scanning(cache_dir, monkeypatch):
    """Another process's writes (made here behind this one's back) are learnt at this one's next
    scan: it rescans after each random share of its own writes, so two writers keep the directory
    near the limit. (Scanning once, each counted only its own writes on: two filled it to 1.75x.)"""
    monkeypatch.setattr(disk_cache, "_random", random.Random(5))
    _store(0)
    entry = _on_disk(cache_dir)
    if not entry:
        pytest.skip("this file system keeps small files in no block of their own")
    limit = 256 * entry
    fusenum.set_disk_cache(max_bytes=limit)
    largest = 0
    for number in range(1, 1200):
        _store(number)
        other = cache_dir / (hashlib.sha256(b"other %d" % number).hexdigest() + disk_cache.PLAN_SUFFIX)
        other.write_bytes(b"y" * 1500)  # (the other process's entry, unseen by this one's count)
        largest = max(largest, _on_disk(cache_dir))
    # between two scans this process writes at most 1/32 of the limit, the other as much again
    assert largest <= limit * (1 + 2 * disk_cache.SCAN_FRACTION) + 2 * entry


def test_eviction_removes_the_oldest_by_blocks(tmp_path):
    directory = tmp_path / "d"
    directory.mkdir()
    names = [hashlib.sha256(bytes([k])).hexdigest() + ".kernel" for k in range(4)]
    for age, name in enumerate(names):
        (directory / name).write_bytes(b"k" * 100)
        os.utime(directory / name, (1000 + age, 1000 + age))
    (directory / "notes.kernel").write_bytes(b"the user's")  # not a name fusenum gives
    block = disk_usage.allocated((directory / names[0]).stat())
    if block == 0:
        pytest.skip("this file system keeps small files in no block of their own")
    left = disk_usage.evict(str(directory), disk_cache.EVICTED_SUFFIXES, 2 * block)
    assert left == 2 * block
    assert sorted(p.name for p in directory.iterdir()) == sorted([*names[2:], "notes.kernel"])


def test_the_draw_leaves_the_random_modules_sequence_alone(cache_dir):
    fusenum.set_disk_cache(max_bytes=disk_cache.DEFAULT_MAX_BYTES)  # (a new process's state: it draws)
    random.seed(1)
    expected = [random.random() for _ in range(3)]
    random.seed(1)
    _store(1)
    assert disk_cache.state.scan_after is not None
    assert [random.random() for _ in range(3)] == expected


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_forked_workers_each_draw_their_own_share(cache_dir):
    """A prefork server's parent that wrote once: each worker counts and draws afresh, so the workers
    together keep the bound (sharing the parent's draw, none of them ever scanned)."""
    _store(0)  # the parent's write: its draw is made
    assert disk_cache.state.scan_after is not None
    children = []
    for _ in range(2):
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # (the child reports its state, then leaves without running the parent's tests)
            os.close(reader)
            state = disk_cache.state
            os.write(writer, repr((state.estimate, state.unscanned, state.scan_after)).encode())
            os._exit(0)
        os.close(writer)
        with os.fdopen(reader) as report:
            children.append(report.read())
        os.waitpid(pid, 0)
    assert children == ["(None, 0, None)"] * 2


def test_a_discarded_entry_takes_its_blocks_off_the_count(cache_dir):
    digest = hashlib.sha256(b"a quick build").digest()
    disk_cache.state.estimate = 0  # (known: an empty directory)
    disk_cache.store(digest, b"q" * 1500, disk_cache.QUICK_SUFFIX)
    assert disk_cache.state.estimate == _on_disk(cache_dir)
    disk_cache.discard(digest, disk_cache.QUICK_SUFFIX)
    assert disk_cache.state.estimate == _on_disk(cache_dir) == 0
