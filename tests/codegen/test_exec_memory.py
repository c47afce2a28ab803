"""Arenas of executable memory: code written without a writable mapping, pages given back, fork-safe."""
import ctypes
import errno
import os
import sys

import pytest

from fusenum.codegen import exec_memory, jit, loader, target

pytestmark = pytest.mark.skipif(not (sys.platform.startswith("linux") and os.uname().machine == "x86_64"),
                                reason="machine code for x86-64 Linux")

_INT = ctypes.CFUNCTYPE(ctypes.c_int)


@pytest.fixture(autouse=True)
def own_arenas(monkeypatch):
    """Arenas of the test's own (the process's stay as they are), unmapped afterwards once empty
    (a kernel a background compile linked meanwhile may live in one: then its release unmaps it)."""
    monkeypatch.setattr(exec_memory, "_arenas", set())
    monkeypatch.setattr(exec_memory, "_current", None)
    monkeypatch.setitem(exec_memory._state, "usable", exec_memory._state["usable"])
    yield
    exec_memory._current = None
    for arena in list(exec_memory._arenas):
        arena.free_if_done()


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


def _in_child(body) -> int:
    """Fork; the child runs ``body()`` (after the parent's ``os.write`` to the pipe the parent gets)
    and exits with its result; returns ``(pid, write end)``."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 99
        try:
            os.close(write_end)
            os.read(read_end, 1)
            status = body()
        finally:
            os._exit(status)
    os.close(read_end)
    return pid, write_end


def _exit_status(pid: int, write_end: int) -> int:
    os.write(write_end, b"x")
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status), status
    return os.WEXITSTATUS(status)


def test_written_code_runs_and_blocks_never_overlap():
    blocks = [_block_returning(k) for k in range(5)]
    assert [_run(b) for b in blocks] == list(range(5))
    spans = sorted((b.address, b.address + b.size) for b in blocks)
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))
    for block in blocks:
        block.release()


def test_blocks_are_whole_pages_and_writes_stay_inside():
    with pytest.raises(ValueError, match="whole number of pages"):
        exec_memory.reserve(100)
    block = _block_returning(1)
    with pytest.raises(ValueError, match="do not fit"):
        block.write(bytes(4097))
    block.release()


def test_freed_pages_go_back_and_a_full_arena_is_unmapped_once_its_blocks_are_freed(monkeypatch):
    monkeypatch.setattr(exec_memory, "ARENA_BYTES", 2 * 4096)
    first, second = _block_returning(1), _block_returning(2)
    arena = first.arena
    assert second.arena is arena and os.fstat(arena.fd).st_blocks > 0
    third = _block_returning(3)  # a new arena: the first is full
    assert third.arena is not arena and _run(third) == 3
    first.release()
    assert arena.base and _run(second) == 2  # still mapped: a block lives
    second.release()
    assert not arena.base and arena.fd < 0 and arena not in exec_memory._arenas
    held = os.fstat(third.arena.fd).st_blocks
    current = third.arena
    third.release()
    assert os.fstat(current.fd).st_blocks < held  # the current arena stays, its page went back


def test_a_child_keeps_running_inherited_code_that_the_parent_frees():
    # Without the fork rule, the parent's release punches the page out of the file both share.
    block = _block_returning(7)
    pid, go = _in_child(lambda: _run(block))
    block.release()
    assert _exit_status(pid, go) == 7


def test_after_a_fork_the_parent_keeps_its_arena_and_the_child_writes_its_own():
    before = _block_returning(0)

    def child() -> int:
        if any(arena.fd >= 0 for arena in exec_memory._arenas):
            return 1  # inherited descriptors are closed in the child
        block = exec_memory.reserve(4096)
        if block is None or block.arena is before.arena or not block.write(_returning(9)):
            return 2
        return 0 if _run(block) == 9 and _run(before) == 0 else 3

    pid, go = _in_child(child)
    mine = _block_returning(7)  # written before the child writes its own
    assert mine.arena is before.arena  # no arena per fork
    assert _exit_status(pid, go) == 0
    assert _run(mine) == 7 and _run(before) == 0
    mine.release()
    before.release()


def test_where_memfd_is_refused_kernels_load_into_pages_of_their_own_from_then_on(monkeypatch):
    def refused():
        raise OSError(errno.EPERM, "memfd_create")

    monkeypatch.setattr(exec_memory, "_memfd", refused)
    monkeypatch.setitem(exec_memory._state, "usable", None)
    code = jit.compile_object("define i64 @seven() {\n  ret i64 7\n}\n", target.current())
    image = loader.load(code, ["seven"])
    assert image.block is None and exec_memory._state["usable"] is False
    assert ctypes.CFUNCTYPE(ctypes.c_int64)(image["seven"])() == 7
    with open("/proc/self/maps") as maps:
        assert any(line.split()[1] == "r-xp" and int(line.split("-")[0], 16) == image.base for line in maps)


def test_a_shortage_of_descriptors_fails_one_reserve_only(monkeypatch):
    real = exec_memory._memfd
    monkeypatch.setattr(exec_memory, "_memfd", lambda: (_ for _ in ()).throw(OSError(errno.EMFILE, "memfd")))
    assert exec_memory.reserve(4096) is None and exec_memory._state["usable"] is not False
    monkeypatch.setattr(exec_memory, "_memfd", real)
    _block_returning(5).release()


def test_prepare_makes_the_arena_the_first_block_goes_into_once(monkeypatch):
    exec_memory.prepare()
    arena = exec_memory._current
    if arena is None:
        pytest.skip("this system refuses executable shared memory (memfd)")
    exec_memory.prepare()
    assert exec_memory._current is arena and len(exec_memory._arenas) == 1
    block = _block_returning(9)
    assert block.arena is arena and block.address == arena.base
    assert _INT(block.address)() == 9
    block.release()


def test_prepare_makes_nothing_where_arenas_are_refused(monkeypatch):
    monkeypatch.setitem(exec_memory._state, "usable", False)
    exec_memory.prepare()
    assert exec_memory._current is None and not exec_memory._arenas
