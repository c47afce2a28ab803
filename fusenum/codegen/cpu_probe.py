"""The CPU as this process sees it, read without LLVM: CPUID leaves and the XCR0 register.

LLVM describes the host by running CPUID (and XGETBV, for what the operating system enables)
inside the process. ``/proc/cpuinfo`` is the kernel's view instead, which differs under an
emulator or a binary instrumenter (valgrind, qemu-user, Intel SDE hide or add features): a
record of LLVM's description keyed by it could be adopted by a process in which LLVM would say
something else. :func:`fingerprint` asks the CPU the same questions LLVM does, through a few
bytes of machine code of its own (:func:`fusenum.codegen.loader.map_code`).
"""
from __future__ import annotations

import ctypes
from functools import lru_cache

from . import loader

# cpuid(leaf = edi, subleaf = esi) -> eax, ebx, ecx, edx stored at rdx:
#   mov eax, edi; mov ecx, esi; mov r8, rdx; push rbx; cpuid;
#   mov [r8], eax; mov [r8+4], ebx; mov [r8+8], ecx; mov [r8+12], edx; pop rbx; ret
_CPUID = bytes.fromhex("89f8" "89f1" "4989d0" "53" "0fa2" "418900" "41895804" "41894808" "4189500c" "5b" "c3")
# xgetbv(register = edi) -> edx:eax as one 64-bit value:
#   mov ecx, edi; xgetbv; shl rdx, 32; or rax, rdx; ret
_XGETBV = bytes.fromhex("89f9" "0f01d0" "48c1e220" "4809d0" "c3")
_OSXSAVE = 1 << 27  # CPUID.1:ECX: XGETBV may be used

#: Leaves (and subleaves) that name the CPU and its features, as LLVM reads them. Leaf 1's EBX
#: holds the APIC id of the core the thread happens to run on, so it is left out.
_LEAVES = ((0, 0), (1, 0), (7, 0), (7, 1), (0xD, 0), (0xD, 1), (0x14, 0), (0x19, 0), (0x24, 0),
           (0x80000000, 0), (0x80000001, 0), (0x80000002, 0), (0x80000003, 0), (0x80000004, 0),
           (0x80000008, 0))


@lru_cache(maxsize=None)
def fingerprint() -> str | None:
    """A text of the CPUID leaves and XCR0 LLVM's host description depends on, or None where this
    cannot be read (not x86-64 Linux)."""
    cpuid_code, xgetbv_code = loader.map_code(_CPUID), loader.map_code(_XGETBV)
    if cpuid_code is None or xgetbv_code is None:
        return None
    cpuid = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p)(cpuid_code.base)
    registers = (ctypes.c_uint32 * 4)()

    asked: dict[tuple[int, int], tuple[int, ...]] = {}

    def ask(leaf: int, subleaf: int) -> tuple[int, ...]:
        # each asked once: under a hypervisor every cpuid traps to it (~25 µs on a KVM machine)
        if (leaf, subleaf) not in asked:
            cpuid(leaf, subleaf, ctypes.addressof(registers))
            asked[leaf, subleaf] = tuple(registers)
        return asked[leaf, subleaf]

    basic_limit, extended_limit = ask(0, 0)[0], ask(0x80000000, 0)[0]
    lines = []
    for leaf, subleaf in _LEAVES:
        if leaf > (extended_limit if leaf >= 0x80000000 else basic_limit):
            continue
        values = list(ask(leaf, subleaf))
        if leaf == 1:
            values[1] = 0
        lines.append(f"cpuid {leaf:x}.{subleaf:x} " + " ".join(f"{v:08x}" for v in values))
    if ask(1, 0)[2] & _OSXSAVE:
        xgetbv = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint32)(xgetbv_code.base)
        lines.append(f"xcr0 {xgetbv(0):x}")
    return "\n".join(lines)
