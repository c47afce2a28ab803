"""The object-code loader (codegen/loader.py): what it links runs as the JIT-linked code does, calls
into libm and libmvec resolve, its pages are protected and freed, and anything it does not handle
goes to the JIT instead of being loaded wrongly."""
import ctypes
import gc
import math
import os
import sys
import weakref

import numpy as np
import pytest

import fusenum
from fusenum.codegen import exec_memory, jit, libraries, loader, target
from fusenum.runtime import background, kernels, tiering

pytestmark = pytest.mark.skipif(not loader._supported(), reason="the loader is for x86-64 Linux")

# Constants (a read-only pool), a call into libm, a global table, and two entry points.
_MODULE = """
@table = private unnamed_addr constant [4 x double] [double 1.5, double -2.25, double 3.0, double 0.125]
declare double @pow(double, double)
define double @f(double %x, i64 %i) {
  %p = getelementptr [4 x double], ptr @table, i64 0, i64 %i
  %t = load double, ptr %p
  %y = call double @pow(double %x, double 1.7)
  %z = fmul double %y, %t
  %w = fadd double %z, 0.3
  ret double %w
}
define i64 @seven() {
  ret i64 7
}
"""
_F = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double, ctypes.c_int64)


def _object(module: str = _MODULE) -> bytes:
    return jit.compile_object(module, target.current())


def test_loaded_code_computes_what_the_jit_linked_code_does():
    code = _object()
    image = loader.load(code, ["f", "seven"])
    assert image is not None
    linked = jit.link_with_jit(code, ["f", "seven"])
    for x in (0.5, 2.0, 7.25):
        for i in range(4):
            assert _F(image["f"])(x, i) == _F(linked["f"])(x, i) == (x ** 1.7) * [1.5, -2.25, 3.0, 0.125][i] + 0.3
    assert ctypes.CFUNCTYPE(ctypes.c_int64)(image["seven"])() == 7


def _mapping(address: int) -> str | None:
    """The permissions of the mapping holding ``address`` in this process, or None."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            span, permissions = line.split()[:2]
            start, end = (int(part, 16) for part in span.split("-"))
            if start <= address < end:
                return permissions
    return None


def test_code_pages_are_read_execute_data_pages_read_only_and_both_are_freed(monkeypatch):
    monkeypatch.setitem(exec_memory._state, "usable", False)  # pages of its own, as without arenas
    _no_background_loads()
    image = loader.load(_object(), ["f"])
    code_page = image["f"]
    data_page = image.base + image.size - 1  # the offset table, after the constants
    assert image.block is None
    assert _mapping(code_page).startswith("r-x") and _mapping(data_page).startswith("r--")
    alive = weakref.ref(image)
    del image
    gc.collect()
    # dropped, its pages are given back at the next release (no Python code runs where it dies)
    assert alive() is None and _mapping(code_page).startswith("r-x")
    loader.release_dropped()
    assert _mapping(code_page) is None and _mapping(data_page) is None


def test_in_an_arena_the_image_is_never_writable_and_its_pages_go_back_when_it_is_freed():
    _no_background_loads()
    image = loader.load(_object(), ["f", "seven"])
    if image.block is None:
        pytest.skip("this system refuses executable shared memory (memfd)")
    assert ctypes.CFUNCTYPE(ctypes.c_int64)(image["seven"])() == 7
    for offset in range(0, image.size, 4096):
        assert _mapping(image.base + offset) == "r-xs"
    arena = image.block.arena
    held = os.fstat(arena.fd).st_blocks
    del image
    gc.collect()
    loader.release_dropped()
    assert arena.fd < 0 or os.fstat(arena.fd).st_blocks < held


def test_a_dropped_image_runs_no_python_code_and_the_next_image_gives_its_pages_back():
    """An image's death only queues its release (a Python finalizer would lose a Ctrl-C handled
    in it); making the next image, or :func:`loader.release_dropped`, gives the pages back."""
    _no_background_loads()
    assert not hasattr(loader.Image, "__del__")
    first = loader.load(_object(), ["f"])
    page, live = first["f"], len(loader._releases)
    del first
    gc.collect()
    assert loader._dropped and _mapping(page) is not None and len(loader._releases) == live
    second = loader.load(_object(), ["f"])
    assert not loader._dropped and len(loader._releases) == live  # the first's given back, its own kept
    del second
    gc.collect()
    loader.release_dropped()
    assert len(loader._releases) == live - 1


def _no_background_loads() -> None:
    """Wait for work earlier tests queued: a kernel the background compiler or optimizer loads
    meanwhile would add mappings, possibly in pages a test has just freed."""
    tiering.wait_for_compiles()
    assert background.wait(120)


def _mapping_count() -> int:
    with open("/proc/self/maps") as maps:
        return sum(1 for _ in maps)


def test_code_calling_a_symbol_no_loaded_library_has_goes_to_the_jit_which_names_it():
    code = _object("declare i64 @fusenum_no_such_symbol()\ndefine i64 @f() {\n"
                   "  %r = call i64 @fusenum_no_such_symbol()\n  ret i64 %r\n}\n")
    _no_background_loads()
    gc.collect()  # (pages of earlier tests' garbage freed now, not during the count)
    before = _mapping_count()
    assert loader.load(code, ["f"]) is None
    assert _mapping_count() == before  # its pages were given back
    with pytest.raises(RuntimeError, match="fusenum_no_such_symbol"):
        jit.link(code, ["f"])


def test_a_prelinked_image_computes_what_its_object_does_in_pages_protected_alike():
    code = _object()
    prelinked = loader.prelink(code)
    assert prelinked.startswith(loader.PRELINKED) and jit.storable(code) == prelinked
    image, from_object = loader.load(prelinked, ["f", "seven"]), loader.load(code, ["f", "seven"])
    for x in (0.5, 2.0, 7.25):
        for i in range(4):
            assert _F(image["f"])(x, i) == _F(from_object["f"])(x, i)
    assert ctypes.CFUNCTYPE(ctypes.c_int64)(image["seven"])() == 7
    assert image.size == from_object.size
    for offset in range(0, image.size, 4096):
        assert _mapping(image.base + offset) == _mapping(from_object.base + offset)
    assert loader.prelink(b"not an object") is None and loader.load(b"not an object", ["f"]) is None


@pytest.mark.parametrize("damage", ["cut short", "no symbols", "place outside", "unknown symbol", "float place",
                                    "float times", "unencodable name", "huge end", "not marshal"])
def test_a_damaged_or_foreign_prelinked_image_is_refused_and_jit_link_says_why(damage):
    import marshal
    prelinked = loader.prelink(_object())
    parts = marshal.loads(prelinked[len(loader.PRELINKED):])
    text, data, end, size, data_start, write_start, fixups, defined = parts
    if damage == "cut short":
        code = prelinked[:-9]
    elif damage == "not marshal":
        code = loader.PRELINKED + b"\xff" * 40
    else:
        if damage == "no symbols":
            defined = {}
        elif damage == "place outside":
            fixups = ((end - 4, 1, ""),) + fixups
        elif damage == "unknown symbol":
            fixups = ((0, 0, "fusenum_no_such_symbol"),) + fixups
        elif damage == "float place":
            fixups = ((8.0, 1, ""),) + fixups
        elif damage == "float times":
            fixups = ((8, 1.0, ""),) + fixups
        elif damage == "unencodable name":
            fixups = ((8, 0, "sin\udc80"),) + fixups
        else:
            end = size = 1 << 40
        parts = (text, data, end, size, data_start, write_start, fixups, defined)
        code = loader.PRELINKED + marshal.dumps(parts)
    before = _mapping_count()
    assert all(loader.load(code, ["f"]) is None for _ in range(20))
    assert _mapping_count() < before + 20  # no refusal keeps its pages (other threads may map some)
    assert jit.link(code, ["f"], jit=False) is None
    reason = "fusenum_no_such_symbol" if damage == "unknown symbol" else "damaged"
    with pytest.raises(RuntimeError, match=reason):
        jit.link(code, ["f"])


def test_code_calling_a_missing_symbol_is_stored_as_its_object_for_the_jit():
    code = _object("declare i64 @fusenum_no_such_symbol()\ndefine i64 @f() {\n"
                   "  %r = call i64 @fusenum_no_such_symbol()\n  ret i64 %r\n}\n")
    assert loader.prelink(code).startswith(loader.PRELINKED)
    assert jit.storable(code) == code


def _sections(code: bytes) -> list[tuple]:
    header = loader._ELF_HEADER.unpack_from(code)
    return [loader._SECTION.unpack_from(code, header[6] + i * loader._SECTION.size) for i in range(header[12])]


def _patch_section(code: bytearray, index: int, field: int, value: int) -> None:
    """Set field ``field`` of section header ``index`` (an index into loader._SECTION's fields)."""
    header = loader._ELF_HEADER.unpack_from(code)
    fields = list(_sections(bytes(code))[index])
    fields[field] = value
    loader._SECTION.pack_into(code, header[6] + index * loader._SECTION.size, *fields)


def _rela_index(code: bytes) -> int:
    return next(i for i, s in enumerate(_sections(code)) if s[1] == loader._SHT_RELA and s[5])


_STATE = """
@counter = global i64 5
@zeros = global [1000 x i64] zeroinitializer
define i64 @bump() {
  %c = load i64, ptr @counter
  %c1 = add i64 %c, 1
  store i64 %c1, ptr @counter
  %p = getelementptr [1000 x i64], ptr @zeros, i64 0, i64 999
  %z = load i64, ptr %p
  %z1 = add i64 %z, 1
  store i64 %z1, ptr %p
  %r = mul i64 %c1, 1000
  %s = add i64 %r, %z1
  ret i64 %s
}
define ptr @state() {
  ret ptr @zeros
}
"""


def test_writable_data_and_zeroed_data_load_into_their_own_writable_pages():
    code = _object(_STATE)
    kinds = {s[1] for s in _sections(code) if s[2] & loader._SHF_WRITE}
    assert kinds == {loader._SHT_PROGBITS, loader._SHT_NOBITS}  # what this test is about
    image = loader.load(code, ["bump", "state"])
    assert image is not None
    bump = ctypes.CFUNCTYPE(ctypes.c_int64)(image["bump"])
    assert [bump(), bump(), bump()] == [6001, 7002, 8003]
    state = ctypes.CFUNCTYPE(ctypes.c_void_p)(image["state"])()
    assert _mapping(state).startswith("rw-") and _mapping(image["bump"]).startswith("r-x")
    assert ctypes.c_int64.from_address(state + 8 * 999).value == 3
    other = loader.load(code, ["bump"])  # another image has its own state
    assert ctypes.CFUNCTYPE(ctypes.c_int64)(other["bump"])() == 6001 and bump() == 9004


# A constructor table (.ctors, writable data): the loader runs no constructors, so it refuses it.
_CONSTRUCTORS = """
@counter = global i64 0
define void @init() {
  store i64 7, ptr @counter
  ret void
}
define i64 @f() {
  %c = load i64, ptr @counter
  ret i64 %c
}
@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @init, ptr null }]
"""


@pytest.mark.parametrize("damage", ["not elf", "another machine", "32-bit", "truncated", "writable code",
                                    "constructors",
                                    "REL relocations", "compact relocations", "unknown relocation",
                                    "alignment beyond a page", "relocations for another symbol table"])
def test_objects_it_does_not_handle_go_to_the_jit(damage):
    code = bytearray(_object(_CONSTRUCTORS if damage == "constructors" else _MODULE))
    if damage == "not elf":
        code[:4] = b"\x7fBAD"
    elif damage == "another machine":
        code[18:20] = (183).to_bytes(2, "little")  # AArch64
    elif damage == "32-bit":
        code[4] = 1
    elif damage == "truncated":
        code = code[:200]
    elif damage == "writable code":
        text = next(i for i, s in enumerate(_sections(bytes(code))) if s[2] & loader._SHF_EXECINSTR and s[5])
        _patch_section(code, text, 2, _sections(bytes(code))[text][2] | loader._SHF_WRITE)
    elif damage == "REL relocations":
        _patch_section(code, _rela_index(code), 1, loader._SHT_REL)
    elif damage == "compact relocations":
        _patch_section(code, _rela_index(code), 1, 0x40000014)
    elif damage == "unknown relocation":
        section = _sections(bytes(code))[_rela_index(code)]
        code[section[4] + 8] = 23  # the first relocation's kind: R_X86_64_TPOFF32 (thread-local)
    elif damage == "alignment beyond a page":
        text = next(i for i, s in enumerate(_sections(bytes(code))) if s[2] & loader._SHF_EXECINSTR and s[5])
        _patch_section(code, text, 8, 2 * loader._PAGE)
    elif damage == "relocations for another symbol table":
        _patch_section(code, _rela_index(code), 6, 0)
    assert loader.load(bytes(code), ["f"]) is None


_LIBRARY_DATA = """
@environ = external global ptr
declare double @pow(double, double)
declare double @cos(double)
define ptr @where_environ_points() {
  %e = load ptr, ptr @environ
  ret ptr %e
}
define double @g(double %x) {
  %y = call double @pow(double %x, double 2.5)
  %z = call double @cos(double %y)
  %w = call double @pow(double %z, double 3.0)
  ret double %w
}
"""


def test_small_code_model_objects_link_without_the_jit_calls_and_data_through_the_table():
    """Kernels are compiled for the small code model: 32-bit offsets within the image, library
    functions called through jumps of the image's own, library data read through the table."""
    code = _object(_LIBRARY_DATA)
    kinds = {kind for _, _, _, kind, _ in loader._parse(code)[6]}
    assert loader._R_PLT32 in kinds and kinds & loader._THROUGH_GOT and not kinds & loader._WIDE_RELOCATIONS
    image = loader.load(code, ["g", "where_environ_points"])
    assert image is not None
    linked = jit.link_with_jit(code, ["g", "where_environ_points"])
    g = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)
    for x in (0.5, 1.25, 3.0):
        assert g(image["g"])(x) == g(linked["g"])(x) == math.pow(math.cos(math.pow(x, 2.5)), 3.0)  # libm's
    environ = ctypes.c_void_p.in_dll(ctypes.CDLL(None), "environ").value
    assert ctypes.CFUNCTYPE(ctypes.c_void_p)(image["where_environ_points"])() == environ
    prelinked = loader.prelink(code)
    again = loader.load(prelinked, ["g"])
    assert g(again["g"])(1.25) == g(image["g"])(1.25)


def test_kernels_calling_libmvec_load_and_give_the_jit_linked_kernels_bits():
    """Every kernel of a process goes through the loader; the same object code linked by the JIT
    gives the same bits (here a transcendental kernel, which calls libmvec where it is used)."""
    if not libraries.libmvec_loaded():
        pytest.skip("no libmvec here")
    x = np.linspace(-20, 20, 1001)
    fusenum.clear_cache()
    ours = fusenum.evaluate("sin(x) * exp(x / 9) + arctan(x) ** 2", {"x": x})
    made = next(reversed(kernels._kernels.values()))
    assert isinstance(made.compiled.tracker, loader.Image)
    original = loader.load
    loader.load = lambda *arguments: None  # the JIT links everything
    try:
        fusenum.clear_cache()
        theirs = fusenum.evaluate("sin(x) * exp(x / 9) + arctan(x) ** 2", {"x": x})
        made = next(reversed(kernels._kernels.values()))
        assert not isinstance(made.compiled.tracker, loader.Image)
    finally:
        loader.load = original
        fusenum.clear_cache()
    assert ours.tobytes() == theirs.tobytes()


def test_a_process_computing_from_the_disk_cache_imports_no_code_generator(tmp_path):
    import subprocess
    code = ("import sys, numpy as np, fusenum; x = np.linspace(0, 3, 500);"
            "print(float(fusenum.evaluate('sqrt(x) * 2 + exp(x)').sum()));"
            "print(sorted(m for m in sys.modules if m.startswith(('llvmlite.binding', 'fusenum.codegen.modules',"
            " 'fusenum.codegen.elementwise'))), fusenum.codegen.target.llvm_ready())")
    env = {"FUSENUM_CACHE_DIR": str(tmp_path), "FUSENUM_TIERING": "never"}
    import os
    runs = [subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True,
                           text=True, timeout=300) for _ in range(2)]
    assert all(run.returncode == 0 for run in runs), [run.stderr for run in runs]
    entries = [path.read_bytes() for path in tmp_path.glob("*.kernel")]
    assert entries and all(loader.PRELINKED in entry for entry in entries)  # loaded without parsing
    cold, warm = (run.stdout.split("\n") for run in runs)
    assert cold[0] == warm[0]
    assert warm[1] == "[] False" and cold[1] != "[] False"


def test_the_cpu_fingerprint_is_the_same_in_every_process_and_names_the_cpus_vendor():
    import subprocess
    code = "from fusenum.codegen import cpu_probe; print(cpu_probe.fingerprint())"
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
            for _ in range(3)}
    assert len(runs) == 1
    (fingerprint,) = runs
    leaf0 = fingerprint.split("\n")[0].split()
    vendor = b"".join(int(word, 16).to_bytes(4, "little") for word in (leaf0[3], leaf0[5], leaf0[4])).decode()
    with open("/proc/cpuinfo") as cpuinfo:
        reported = next(line.split(":")[1].strip() for line in cpuinfo if line.startswith("vendor_id"))
    assert vendor == reported
