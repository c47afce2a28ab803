"""Loading kernel object code into executable memory without LLVM.

LLVM's JIT linker (ORC) takes ~0.25 ms to link one small kernel object and needs LLVM itself
(~100 MB, 10-15 ms to load into a new process) even when the object comes from the disk cache.
Kernel objects are simple enough to link directly: an x86-64 ELF relocatable file with code and
read-only constants, compiled for the small code model with position-independent code, so the
code reaches its constants and data by 32-bit offsets from itself (the image is far smaller than
2 GB: always in range) and the libraries only through a global offset table. :func:`load` copies
the sections into fresh pages, makes that table for the symbols the code calls (libm, libmvec,
pthreads) and an 8-byte jump through it per function called (``call`` takes a 32-bit offset,
and the libraries are anywhere), applies the relocations, and maps the code and the jumps read +
execute, the constants and the table read-only, and writable sections (the thread pool's state)
read-write. An image with no writable section (every kernel) goes into an arena of
:mod:`.exec_memory` instead, read + execute throughout and never writable, which spares the
``mprotect`` (and its TLB flush on every CPU the process runs on). (Objects of the large code
model, 64-bit sums throughout, are linked too.)

The disk cache keeps a kernel as :func:`prelink` makes it: linked once, at compile time, as
far as it can be before its address and the libraries' are known, so that a process loading it
neither parses the object nor walks its relocations again.

Anything else (another machine, a relocation kind not in :data:`_RELOCATIONS`, a section of
another kind) makes :func:`load` return None, and the caller links through ORC, which
handles everything. The machine code is the same bytes either way, so so are the results.
"""
from __future__ import annotations

import ctypes
import marshal
import platform
import struct
import sys
import weakref
from ctypes import c_int, c_long, c_size_t, c_void_p

from . import exec_memory

_ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION = struct.Struct("<IIQQQQIIQQ")
_SYMBOL = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")
_WORD = struct.Struct("<Q")
_OFFSET32 = struct.Struct("<i")

_ELF64_LITTLE_SYSV = (b"\x7fELF", 2, 1)
_ET_REL, _EM_X86_64 = 1, 62
_SHT_PROGBITS, _SHT_SYMTAB, _SHT_RELA, _SHT_NOBITS, _SHT_REL = 1, 2, 4, 8, 9
# Unwind tables: not loaded (ORC registers them for C++ exceptions; nothing unwinds through a kernel).
_SHT_X86_64_UNWIND = 0x70000001
_SHF_WRITE, _SHF_ALLOC, _SHF_EXECINSTR, _SHF_INFO_LINK, _SHF_TLS = 1, 2, 4, 0x40, 0x400
# Writable sections of constructors and destructors (the INIT_ARRAY kinds are refused by kind).
_CONSTRUCTORS = (".ctors", ".dtors")
# REL, RELR and LLVM's compact CREL: relocation sections this loader does not read.
_OTHER_RELOCATIONS = (_SHT_REL, 19, 0x40000014)
_SHN_UNDEF, _SHN_LORESERVE, _SHN_ABS = 0, 0xFF00, 0xFFF1

# x86-64 psABI relocation kinds: S symbol, A addend, P place, GOT the table's address, G the
# symbol's entry's offset in it. The large code model's are 64-bit; the small model's 32-bit ones
# are offsets within the image (calls into libraries go through a jump of the image's own).
_R_PC64, _R_GOTOFF64, _R_GOT64, _R_GOTPC64, _R_64 = 24, 25, 27, 29, 1
_R_PC32, _R_PLT32, _R_GOTPCREL, _R_GOTPCRELX, _R_REX_GOTPCRELX = 2, 4, 9, 41, 42
_THROUGH_GOT = {_R_GOTPCREL, _R_GOTPCRELX, _R_REX_GOTPCRELX}
_WIDE_RELOCATIONS = {_R_64, _R_PC64, _R_GOTOFF64, _R_GOT64, _R_GOTPC64}
_RELOCATIONS = _WIDE_RELOCATIONS | {_R_PC32, _R_PLT32} | _THROUGH_GOT
#: A jump to a library function through its table entry: ``jmp *entry(%rip)``, then padding.
_JUMP = b"\xff\x25"
_JUMP_SIZE = 8
_GOT_SYMBOL = "_GLOBAL_OFFSET_TABLE_"
_UNHANDLED_SYMBOL_TYPES = (6, 10)  # thread-local, and indirect functions

_PROT_READ, _PROT_WRITE, _PROT_EXEC = 1, 2, 4
_MAP_PRIVATE, _MAP_ANONYMOUS = 0x02, 0x20
_PAGE = 4096
_MASK = (1 << 64) - 1


def _supported() -> bool:
    return (sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64")
            and sys.maxsize > 2**32)


_SUPPORTED = _supported()
if _SUPPORTED:
    _libc = ctypes.CDLL(None, use_errno=True)
    _mmap, _mprotect, _munmap, _dlsym = _libc.mmap, _libc.mprotect, _libc.munmap, _libc.dlsym
    _mmap.argtypes, _mmap.restype = [c_void_p, c_size_t, c_int, c_int, c_int, c_long], c_void_p
    _mprotect.argtypes, _mprotect.restype = [c_void_p, c_size_t, c_int], c_int
    _munmap.argtypes, _munmap.restype = [c_void_p, c_size_t], c_int
    _dlsym.argtypes, _dlsym.restype = [c_void_p, ctypes.c_char_p], c_void_p

#: dlopen handles searched for the symbols code calls, after the process's global scope.
_libraries: list[int] = []


def add_library(handle: int) -> None:
    """Search the library opened as ``handle`` (``ctypes.CDLL(...)._handle``) for symbols too."""
    if handle not in _libraries:
        _libraries.append(handle)


def find_symbol(name: str) -> int | None:
    """The address of ``name`` in the process's global scope or a library added with
    :func:`add_library`, or None."""
    if not _SUPPORTED:
        return None
    encoded = name.encode()
    for handle in (None, *_libraries):
        address = _dlsym(handle, encoded)
        if address:
            return address
    return None


class _Unresolved(Exception):
    """A symbol the code calls that this loader cannot find (ORC may: it reports it otherwise)."""


def _address_of(name: str) -> int:
    address = find_symbol(name)
    if address is None:
        raise _Unresolved(name)
    return address


#: Weak references to the images dropped since the last :func:`release_dropped`, appended by the
#: references' callback: a C function, so no Python code runs where an image is freed. (An image's
#: ``__del__`` ran Python code there, and CPython drops an exception raised in a finalizer: a Ctrl-C
#: handled during it was lost.)
_dropped: list = []
#: What each live image's weak reference gives back: ``id(reference) -> (reference, base, size, block)``.
_releases: dict[int, tuple] = {}


class Image:
    """Linked code in pages of its own (or an :mod:`.exec_memory` ``block``): ``image[symbol]`` is an
    address, valid while it lives. Its pages are given back by the next :func:`release_dropped`
    after it is dropped (every new image's making calls it)."""

    def __init__(self, base: int, size: int, addresses: dict[str, int], block=None):
        release_dropped()
        self.base, self.size, self.addresses, self.block = base, size, addresses, block
        reference = weakref.ref(self, _dropped.append)
        _releases[id(reference)] = (reference, base, size, block)

    def __getitem__(self, symbol: str) -> int:
        return self.addresses[symbol]


def release_dropped() -> None:
    """Give back the pages of every image dropped so far (any thread may call it, several at once)."""
    while _dropped:
        try:
            reference = _dropped.pop()
        except IndexError:  # (another thread took the last)
            return
        # (a Ctrl-C between the pop and the release leaves these pages mapped: never freed twice)
        _, base, size, block = _releases.pop(id(reference))
        if block is not None:
            block.release()
        else:
            _munmap(base, size)


#: How a pre-linked image (:func:`prelink`) starts; no ELF object does.
PRELINKED = b"fusenum linked image 1\0"
#: No kernel comes near this; a larger image is not one of fusenum's.
_MAX_IMAGE = 1 << 30


def prelink(object_code: bytes) -> bytes | None:
    """``object_code`` linked once for all processes, for :func:`load` to map without parsing it;
    None if it is not an object this loader handles.

    Every relocation kind this loader applies is a sum of constants known now and at most the
    image's own address (once, added or taken away) and one library symbol's address, which
    depend on the process. The image keeps the constants applied and lists those two additions
    per place (kernels have a few, for their calls into libm and libmvec): loading it is a copy,
    those additions and the page protections, several times cheaper than parsing and relocating
    the object.
    """
    linked = _linked(object_code) if _SUPPORTED else None  # (elsewhere no process could load it)
    if linked is None:
        return None
    image, size, data_start, write_start, fixups, defined = linked
    # (zeros after the code and after the data are not kept: most of a small kernel's image)
    text, data = image[:data_start].rstrip(b"\0"), image[data_start:].rstrip(b"\0")
    return PRELINKED + marshal.dumps((text, data, len(image), size, data_start, write_start, fixups, defined))


def load(code: bytes, symbols: list[str]) -> Image | None:
    """``code`` (object code, or its :func:`prelink` image) linked into new executable pages, with
    the addresses of ``symbols``; None if it is not code this loader handles, or it calls a symbol
    the loader cannot find (link object code through ORC, which reports what is wrong)."""
    if not _SUPPORTED:
        return None
    linked = _parts(code)
    if linked is None:
        return None
    image, size, data_start, write_start, fixups, defined = linked
    if any(name not in defined for name in symbols):
        return None
    try:
        resolved = {name: _address_of(name) for _, _, name in fixups if name}
    except _Unresolved:
        return None
    if write_start == size:  # nothing writable: straight into an arena, no mprotect
        placed = _into_arena(_Fixed(image, fixups, resolved), size, symbols, defined)
        if placed is not None:
            return placed
    base = _map(size)
    if base is None:
        return None
    try:
        _fill(base, _Fixed(image, fixups, resolved), data_start, write_start)
    except OSError:
        _munmap(base, size)
        return None
    except BaseException:
        _munmap(base, size)
        raise
    return Image(base, size, {name: base + defined[name] for name in symbols})


def _into_arena(image: _Fixed, size: int, symbols: list[str], defined: dict) -> Image | None:
    """``image`` linked into a block of :mod:`.exec_memory`; None if no block could be had or
    filled (then the caller maps pages itself)."""
    block = exec_memory.reserve(size)
    if block is None:
        return None
    try:
        written = block.write(image.at(block.address))
    except BaseException:
        block.release()
        raise
    if not written:
        block.release()
        return None
    return Image(block.address, size, {name: block.address + defined[name] for name in symbols}, block)


def missing_symbols(code: bytes) -> list[str]:
    """The symbols ``code`` (object code or a pre-linked image) calls that no loaded library has
    (for error messages)."""
    linked = _parts(code)
    if linked is None:
        return []
    return sorted({name for _, _, name in linked[4] if name and find_symbol(name) is None})


def _parts(code: bytes) -> tuple | None:
    """``(image, size, data_start, write_start, fixups, defined)`` of object code or of a
    pre-linked image; None if it is neither, as this loader handles them."""
    return _prelinked(code) if code.startswith(PRELINKED) else _linked(code)


def _prelinked(code: bytes) -> tuple | None:
    """The parts of pre-linked image ``code``, checked to fit together; None if they do not.

    (An entry's checksum is verified before this, so only a file written otherwise than by
    fusenum can fail these checks; they keep it from being mapped, whatever it holds.)"""
    try:
        parts = marshal.loads(memoryview(code)[len(PRELINKED):])
        text, data, end, size, data_start, write_start, fixups, defined = parts
        numbers_fit = all(type(n) is int for n in (end, size, data_start, write_start)) \
            and type(text) is bytes and type(data) is bytes and type(fixups) is tuple and type(defined) is dict
        if not (numbers_fit and 0 < data_start <= write_start <= size <= _MAX_IMAGE and size % _PAGE == 0
                and data_start % _PAGE == 0 and write_start % _PAGE == 0 and len(text) <= data_start
                and data_start + len(data) <= end <= size):
            return None
        places_fit = all(type(fixup) is tuple and len(fixup) == 3 and type(fixup[0]) is int
                         and 0 <= fixup[0] <= end - 8 and type(fixup[1]) is int and fixup[1] in (-1, 0, 1)
                         and type(fixup[2]) is str and fixup[2].isascii() for fixup in fixups)
        symbols_fit = all(type(name) is str and type(offset) is int and 0 <= offset < size
                          for name, offset in defined.items())
    except (EOFError, ValueError, TypeError):  # not marshal's data, or not 8 parts
        return None
    if not (places_fit and symbols_fit):
        return None
    image = b"".join((text, bytes(data_start - len(text)), data, bytes(end - data_start - len(data))))
    return image, size, data_start, write_start, fixups, defined


def _map(size: int) -> int | None:
    """``size`` bytes of fresh read-write pages, or None."""
    base = _mmap(None, size, _PROT_READ | _PROT_WRITE, _MAP_PRIVATE | _MAP_ANONYMOUS, -1, 0)
    return None if base is None or base == _MASK else base


def map_code(code: bytes) -> Image | None:
    """Position-independent machine code ``code`` in read + execute pages (its address is the
    image's ``base``); None where this loader does not work."""
    if not _SUPPORTED:
        return None
    size = -(-len(code) // _PAGE) * _PAGE
    placed = _into_arena(_Fixed(code, (), {}), size, [], {})
    if placed is not None:
        return placed
    base = _map(size)
    if base is None:
        return None
    ctypes.memmove(base, code, len(code))
    if _mprotect(base, size, _PROT_READ | _PROT_EXEC) != 0:
        _munmap(base, size)
        return None
    return Image(base, size, {})


def _parse(object_code: bytes) -> tuple | None:
    """The sections, their places in the image, the ends of code and data, the symbols and the
    relocations of ``object_code``; None if it is not an object this loader handles."""
    header = _ELF_HEADER.unpack_from(object_code)
    ident = header[0]
    if (ident[:4], ident[4], ident[5]) != _ELF64_LITTLE_SYSV or header[1:3] != (_ET_REL, _EM_X86_64):
        return None
    section_offset, section_count = header[6], header[12]
    sections = [_SECTION.unpack_from(object_code, section_offset + i * _SECTION.size)
                for i in range(section_count)]
    if any(s[1] != _SHT_NOBITS and s[4] + s[5] > len(object_code) for s in sections):
        return None  # cut short
    layout = _layout(sections)
    if layout is None:
        return None
    places, code_end, data_end, writable = layout
    names_offset = sections[header[13]][4] if 0 < header[13] < section_count else None
    if writable and (names_offset is None or any(
            _name(object_code, names_offset, sections[index][0]).startswith(_CONSTRUCTORS) for index in writable)):
        return None  # constructor tables: nothing here would run them
    loaded = {*places, *writable}
    symbols_table = _symbol_table(object_code, sections, loaded)
    if symbols_table is None:
        return None
    relocations = _relocations(object_code, sections, loaded)
    if relocations is None or any(symbols_table[symbol][1] < 0 for _, _, symbol, _, _ in relocations):
        return None  # (code referring to a section that is not loaded)
    library = {symbol for _, _, symbol, kind, _ in relocations if kind in (_R_PC32, _R_PLT32)
               and symbols_table[symbol][1] == _SHN_UNDEF}
    if any(kind == _R_PC32 for _, _, symbol, kind, _ in relocations if symbol in library):
        return None  # a library's data by a 32-bit offset: out of range
    jumps = sorted(library)  # (functions called: one jump each)
    if jumps:
        places, code_end, data_end, writable = _layout(sections, _JUMP_SIZE * len(jumps))
    # (writable sections are placed by the caller, after the offset table)
    return sections, places, code_end, data_end, writable, symbols_table, relocations, jumps


def _pages(offset: int) -> int:
    return -(-offset // _PAGE) * _PAGE


def _layout(sections: list[tuple], jump_bytes: int = 0) -> tuple[dict[int, int], int, int, list[int]] | None:
    """Offsets of the code (first; then ``jump_bytes`` for the jumps to library functions, from
    :func:`_jumps_at` on) and, on a new page, of the read-only sections in the image; the end of
    the code and jumps and of the read-only data; the writable sections (not placed yet). None
    for a section this loader does not map."""
    code, constants, writable = [], [], []
    for index, section in enumerate(sections):
        kind, flags, align = section[1], section[2], section[8]
        if kind in (_SHT_REL, _SHT_X86_64_UNWIND) or not flags & _SHF_ALLOC:
            continue
        if align > _PAGE or flags & _SHF_EXECINSTR and flags & _SHF_WRITE or flags & _SHF_TLS:
            return None  # (an alignment beyond a page's is not the pages' either)
        if flags & _SHF_WRITE and kind in (_SHT_PROGBITS, _SHT_NOBITS):
            writable.append(index)
        elif kind != _SHT_PROGBITS:
            return None
        else:
            (code if flags & _SHF_EXECINSTR else constants).append(index)
    places: dict[int, int] = {}
    code_end = _place(sections, code, 0, places)
    if jump_bytes:
        code_end = _jumps_at(code_end) + jump_bytes
    return places, code_end, _place(sections, constants, _pages(code_end), places), writable


def _jumps_at(code_end: int) -> int:
    return -(-code_end // 16) * 16


def _place(sections: list[tuple], indices: list[int], offset: int, places: dict[int, int]) -> int:
    """Place sections ``indices`` one after another from ``offset`` (into ``places``); their end."""
    for index in indices:
        align = max(sections[index][8], 1)
        offset = -(-offset // align) * align
        places[index] = offset
        offset += sections[index][5]
    return offset


def _name(object_code: bytes, table_offset: int, at: int) -> str:
    start = table_offset + at
    return object_code[start:object_code.index(b"\0", start)].decode()


def _symbol_table(object_code: bytes, sections: list[tuple], loaded: set[int]) -> list[tuple[str, int, int]] | None:
    """``(name, section index, value)`` per symbol (section -1: defined in a section that is not
    loaded); None if one is of a kind this loader does not handle (a common symbol, say)."""
    tables = [s for s in sections if s[1] == _SHT_SYMTAB]
    if len(tables) != 1:
        return None
    table = tables[0]
    names_offset = sections[table[6]][4]
    entries = []
    for name_at, info, _, section, value, _ in _SYMBOL.iter_unpack(object_code[table[4]:table[4] + table[5]]):
        if info & 0xF in _UNHANDLED_SYMBOL_TYPES:
            return None
        if _SHN_UNDEF < section < _SHN_LORESERVE and section not in loaded:
            section = -1  # defined in a section that is not loaded (unwind tables, say)
        elif section >= _SHN_LORESERVE and section != _SHN_ABS:
            return None  # common symbols, say: kernels have none
        entries.append((_name(object_code, names_offset, name_at) if name_at else "", section, value))
    return entries


def _relocations(object_code: bytes, sections: list[tuple], loaded: set[int]) -> list[tuple] | None:
    """``(section, offset, symbol, kind, addend)`` of every relocation in a loaded section; None
    if one is of a kind this loader does not apply."""
    found = []
    symbol_tables = [index for index, section in enumerate(sections) if section[1] == _SHT_SYMTAB]
    for section in sections:
        if section[7] not in loaded or section[1] == _SHT_SYMTAB:
            continue
        if section[1] != _SHT_RELA:
            if section[1] in _OTHER_RELOCATIONS or section[2] & _SHF_INFO_LINK:
                return None  # relocations of a loaded section in another form: not applied here
            continue
        if [section[6]] != symbol_tables:
            return None
        for offset, info, addend in _RELA.iter_unpack(object_code[section[4]:section[4] + section[5]]):
            kind = info & 0xFFFFFFFF
            width = 8 if kind in _WIDE_RELOCATIONS else 4
            if kind not in _RELOCATIONS or offset + width > sections[section[7]][5] or \
                    sections[section[7]][1] == _SHT_NOBITS:
                return None
            found.append((section[7], offset, info >> 32, kind, addend))
    return found


class _OutOfRange(Exception):
    """A relocation this loader cannot apply (ORC links such an object)."""


def _linked(object_code: bytes) -> tuple | None:
    """:func:`_link`, or None for an object with a relocation this loader cannot apply."""
    try:
        return _link(object_code)
    except _OutOfRange:
        return None


def _link(object_code: bytes) -> tuple | None:
    """``object_code`` linked as if at address 0: ``(image, size, data_start, write_start, fixups,
    defined)``: the image's bytes (zero-filled sections left out: fresh pages are zeros), the size
    of its mapping, where its read-only pages and its writable ones start, ``(place, times the
    image's address, library symbol or "")`` to add when it is mapped, and the offsets of its
    defined symbols. None if it is not an object this loader handles."""
    try:
        parsed = _parse(object_code)
    except (struct.error, IndexError, ValueError, UnicodeDecodeError):  # not a whole object: ORC says why
        return None
    if parsed is None:
        return None
    sections, places, code_end, data_end, writable, symbol_table, relocations, jumps = parsed
    got_symbols = sorted({symbol for _, _, symbol, kind, _ in relocations if kind == _R_GOT64 or kind in _THROUGH_GOT}
                         | set(jumps))
    got_offset = (data_end + 7) & ~7
    write_start = _pages(got_offset + 8 * len(got_symbols))
    size = max(_pages(_place(sections, writable, write_start, places)), _PAGE)
    copied = [(index, offset) for index, offset in places.items() if sections[index][1] != _SHT_NOBITS]
    image = bytearray(max([write_start] + [offset + sections[index][5] for index, offset in copied]))
    for index, offset in copied:
        section = sections[index]
        image[offset:offset + section[5]] = object_code[section[4]:section[4] + section[5]]
    # Each symbol's address as (offset, times the image's address, library symbol).
    terms = []
    defined: dict[str, int] = {}
    for name, section, value in symbol_table:
        if section == _SHN_UNDEF:
            terms.append((got_offset, 1, "") if name == _GOT_SYMBOL else (0, 0, name))
        elif section < 0:
            terms.append((0, 0, ""))
        elif section == _SHN_ABS:
            terms.append((value, 0, ""))
        else:
            offset = places[section] + value
            terms.append((offset, 1, ""))
            if name:
                defined[name] = offset
    fixups = []

    def put(at: int, constant: int, times_base: int, symbol: str) -> None:
        _WORD.pack_into(image, at, constant & _MASK)
        if times_base or symbol:
            fixups.append((at, times_base, symbol))

    def offset32(at: int, value: int) -> None:  # within the image: the same wherever it is mapped
        if not -(1 << 31) <= value < 1 << 31:
            raise _OutOfRange
        _OFFSET32.pack_into(image, at, value)

    got_slots = {}
    for slot, symbol in enumerate(got_symbols):
        got_slots[symbol] = 8 * slot
        put(got_offset + 8 * slot, *terms[symbol])
    jump_places = {}
    for k, symbol in enumerate(jumps):
        at = jump_places[symbol] = code_end - _JUMP_SIZE * (len(jumps) - k)
        image[at:at + _JUMP_SIZE] = _JUMP + bytes(4) + b"\xcc" * (_JUMP_SIZE - len(_JUMP) - 4)
        offset32(at + len(_JUMP), got_offset + got_slots[symbol] - (at + len(_JUMP) + 4))
    for section, offset, symbol, kind, addend in relocations:
        at = places[section] + offset  # the place P is the image's address + at
        constant, times_base, name = terms[symbol]
        if kind in (_R_PC32, _R_PLT32):  # S + A - P (S: the jump, for a library function)
            if symbol in jump_places:
                constant, times_base = jump_places[symbol], 1
            if times_base != 1:
                raise _OutOfRange  # an absolute symbol by an offset: not in kernels
            offset32(at, constant + addend - at)
        elif kind in _THROUGH_GOT:  # G + GOT + A - P
            offset32(at, got_offset + got_slots[symbol] + addend - at)
        elif kind == _R_GOTOFF64:  # S + A - GOT
            put(at, constant + addend - got_offset, times_base - 1, name)
        elif kind == _R_GOTPC64:  # GOT + A - P
            put(at, got_offset + addend - at, 0, "")
        elif kind == _R_GOT64:  # G + A
            put(at, got_slots[symbol] + addend, 0, "")
        elif kind == _R_PC64:  # S + A - P
            put(at, constant + addend - at, times_base - 1, name)
        else:  # _R_64: S + A
            put(at, constant + addend, times_base, name)
    return bytes(image), size, _pages(code_end), write_start, tuple(fixups), defined


class _Fixed:
    """A linked image with its ``fixups``, whose library symbols are ``resolved`` (addresses)."""

    def __init__(self, image: bytes, fixups: tuple, resolved: dict[str, int]):
        self.image, self.fixups, self.resolved = image, fixups, resolved

    def at(self, base: int) -> bytes:
        """The image's bytes when it is mapped at ``base``."""
        if not self.fixups:
            return self.image
        image = bytearray(self.image)
        for at, times_base, symbol in self.fixups:
            value = _WORD.unpack_from(image, at)[0] + times_base * base
            if symbol:
                value += self.resolved[symbol]
            _WORD.pack_into(image, at, value & _MASK)
        return bytes(image)


def _fill(base: int, image: _Fixed, data_start: int, write_start: int) -> None:
    """Copy ``image`` to ``base`` and protect it (its pages from ``write_start`` on stay writable)."""
    image = image.at(base)
    ctypes.memmove(base, image, len(image))
    if data_start and _mprotect(base, data_start, _PROT_READ | _PROT_EXEC) != 0 or \
            data_start < write_start and _mprotect(base + data_start, write_start - data_start, _PROT_READ) != 0:
        raise OSError(ctypes.get_errno(), "cannot protect a kernel's pages")
