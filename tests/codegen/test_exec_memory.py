"""Arenas of executable memory: code written without a writable mapping, pages given back, fork-safe."""
import ctypes
import os
import sys

import numpy as np
import pytest

import fusenum
from fusenum.codegen import exec_memory

pytestmark = pytest.mark.skipif(not (sys.platform.startswith("linux") and os.uname().machine == "x86_64"),
                                reason="machine code for x86-64 Linux")

_INT = ctypes.CFUNCTYPE(ctypes.c_int)


def _returning(value: int) -> bytes:
    """``mov eax, value; ret``, padded to a page."""
    return (b"\xb8" + value.to_bytes(4, "little") + b"\xc3").ljust(4096, b"\xcc")


def _block_returning(value: int) -> exec_memory.Block:
    block = exec_memory.reserve(4096)
    if block is None:
        pytest.skip("this system refuses executable shared memory (memfd)")
    assert block.write(_returning(value))
    return block


def _run(block: exec_memory.Block) -> int:
    return _INT(block.address)()


def test_written_code_runs_and_blocks_never_overlap():
    blocks = [_block_returning(k) for k in range(5)]
    assert [_run(b) for b in blocks] == list(range(5))
    spans = sorted((b.address, b.address + b.size) for b in blocks)
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))
    for block in blocks:
        block.release()


def test_a_full_arena_is_unmapped_once_its_blocks_are_freed(monkeypatch):
    monkeypatch.setattr(exec_memory, "ARENA_BYTES", 2 * 4096)
    monkeypatch.setattr(exec_memory, "_current", None)
    first, second = _block_returning(1), _block_returning(2)
    arena = first.arena
    assert second.arena is arena
    third = _block_returning(3)  # a new arena: the first is full
    assert third.arena is not arena and _run(third) == 3
    first.release()
    assert arena.fd >= 0 and _run(second) == 2  # still mapped: a block lives
    second.release()
    assert arena.fd < 0 and arena not in exec_memory._arenas
    third.release()


def test_a_child_keeps_running_inherited_code_that_the_parent_frees():
    # Without the fork rule, the parent's release punches the page out of the file both share.
    block = _block_returning(7)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: wait for the parent's release, then run the inherited code
        os.close(write_end)
        os.read(read_end, 1)
        os._exit(_run(block))
    os.close(read_end)
    block.release()
    os.write(write_end, b"x")
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 7


def test_a_child_writing_new_code_does_not_overwrite_the_parents():
    _block_returning(0).release()  # an arena exists before the fork
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: once the parent has written its block, write one of its own
        os.close(write_end)
        os.read(read_end, 1)
        block = exec_memory.reserve(4096)
        os._exit(0 if block is not None and block.write(_returning(9)) and _run(block) == 9 else 1)
    os.close(read_end)
    mine = _block_returning(7)
    os.write(write_end, b"x")
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert _run(mine) == 7
    mine.release()


def test_kernels_load_into_pages_of_their_own_where_arenas_are_refused(monkeypatch):
    monkeypatch.setitem(exec_memory._state, "usable", False)
    previous = fusenum.set_disk_cache(enabled=False)
    fusenum.clear_cache()
    try:
        a = np.arange(1.0, 6.0)
        np.testing.assert_array_equal(fusenum.evaluate("a * 3.5 - 1"), a * 3.5 - 1)
        assert exec_memory.reserve(4096) is None
    finally:
        fusenum.clear_cache()
        fusenum.set_disk_cache(*previous)
