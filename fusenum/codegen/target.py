"""The SIMD target: which vector width kernels use and which CPU LLVM compiles for.

The default is the widest the host supports (``avx512`` > ``avx2`` > ``sse2`` on
x86-64; ``scalar`` elsewhere). The environment variable ``FUSENUM_SIMD``
(``scalar``, ``sse2``, ``avx2``, ``avx512``) overrides it at import, and
:func:`set_simd` at run time; asking for a width the CPU lacks is a
:class:`~fusenum.errors.TargetError`. The target is part of every kernel's cache
key, so switching never runs a kernel built for another width.

``scalar`` means no explicit vectors: kernels process one element per loop
iteration. On x86-64 it also turns LLVM's own auto-vectorizers off and compiles
for the baseline CPU, so it really exercises the scalar code path; on other
architectures it compiles for the host and lets LLVM vectorize.

Importing this module does not load LLVM: on Linux the default level comes from
the CPU flags in ``/proc/cpuinfo``; :func:`native` loads LLVM (the little that
describing the host and compiling need) at the first compile, or at the first
disk-cache load on a machine whose description no earlier process recorded
(:func:`host_signature`, :mod:`fusenum.runtime.host_record`); :func:`llvm` loads
``llvmlite.binding``, only where :mod:`.orc` cannot
serve (an llvmlite version it was not checked against).
"""
from __future__ import annotations

import os
import platform
from functools import lru_cache

from ..errors import ArgumentTypeError, TargetError
from ..ir.records import record
from . import locks, settings
from .orc import llvmlite_version

#: Vector register width in bits for each SIMD level, narrowest first.
WIDTHS = {"scalar": 0, "sse2": 128, "avx2": 256, "avx512": 512}

# Host features each level needs (LLVM feature names).
_REQUIRES = {
    "scalar": (),
    "sse2": ("sse2",),
    "avx2": ("avx2", "fma"),
    "avx512": ("avx512f", "avx512dq", "avx512bw", "avx512vl"),
}
_WIDE_FEATURE_PREFIXES = ("avx512", "avx10", "evex512", "amx")


@record
class Target:
    """A SIMD level and the LLVM CPU description that produces it."""

    name: str
    vector_bits: int
    cpu: str
    features: str
    auto_vectorize: bool

    def lanes(self, itemsize: int) -> int:
        """Vector lanes for elements of ``itemsize`` bytes (1 for ``scalar``)."""
        return max(1, self.vector_bits // (8 * itemsize))


#: Held while llvmlite or the code generator is imported on first use (possibly by a background
#: thread); a fork waits for it, so a child never inherits a half-imported module (:mod:`.locks`).
loading = locks.loading


@lru_cache(maxsize=None)
def llvm():
    """``llvmlite.binding``, loaded and with LLVM's native target initialized on first use."""
    with loading:
        from . import orc
        orc.preload()  # without the GIL (llvmlite's own CDLL then finds it loaded)
        import llvmlite.binding as binding
        binding.initialize_native_target()
        binding.initialize_native_asmprinter()
    return binding


@lru_cache(maxsize=None)
def native():
    """LLVM for describing the host, compiling and linking, loaded on first use: through
    :mod:`.orc` (~8 ms) where it can, else through ``llvmlite.binding`` (~30 ms, as :func:`llvm`)."""
    with loading:
        from . import orc
        library = orc.load()
        return library if library is not None else orc.Binding(llvm())


def llvm_ready() -> bool:
    """Whether :func:`native` has loaded LLVM in this process (never waits for it, nor loads it)."""
    return native.cache_info().currsize > 0


#: The host's description once fixed (at most one item): a description an earlier process recorded
#: (:func:`adopt_host`), or LLVM's answer, whichever came first.
_described: list[tuple] = []
_host_lock = locks.lock()


@lru_cache(maxsize=None)
def host_description() -> tuple[str, dict[str, bool], str, tuple[int, ...]]:
    """LLVM's host CPU name and features, the process triple and LLVM's version: adopted from an
    earlier process's record (:func:`adopt_host`) if there is one, else asked of LLVM (loading it).
    Fixed for the life of the process once asked."""
    with _host_lock:
        if _described:
            return _described[0]
    # LLVM is asked with no lock held: loading it runs Python code, where a signal handler may call
    # fusenum, and so this function, on this thread. The first answer (or adopted record) stays.
    answer = llvm_host_description()
    with _host_lock:
        if not _described:
            _described.append(answer)
        return _described[0]


def llvm_host_description() -> tuple[str, dict[str, bool], str, tuple[int, ...]]:
    """What LLVM says of the host (loading LLVM)."""
    library = native()
    return library.host_cpu_name(), library.host_cpu_features(), library.process_triple(), tuple(library.version())


def host_described() -> bool:
    """Whether the host is described (LLVM asked, or a record adopted): making a kernel's disk-cache
    key then loads nothing."""
    return bool(_described)


def adopt_host(description: tuple[str, dict[str, bool], str, tuple[int, ...]]) -> bool:
    """Use ``description``, recorded by an earlier process whose :func:`host_signature` was this
    one's, instead of loading LLVM to ask it; False if the host was described already."""
    with _host_lock:
        if _described:
            return False
        _described.append(description)
        return True


@lru_cache(maxsize=None)
def host_signature() -> str | None:
    """A text that changes whenever LLVM could describe the host differently, read without loading
    LLVM: the CPU as this process sees it (CPUID and XCR0, :mod:`.cpu_probe`: under an emulator or
    valgrind, what they show), and llvmlite's version and library file; None where it cannot be
    read (then LLVM is asked)."""
    if not is_x86_64():
        return None
    with loading:  # (imports on first use; and a thread asking while another reads waits for its answer)
        return _read_host_signature()


@lru_cache(maxsize=None)
def _read_host_signature() -> str | None:
    try:
        from . import cpu_probe, orc
        cpu = cpu_probe.fingerprint()
        version, path = orc.llvmlite_version(), orc._path()
        library = os.stat(path)
    except (ImportError, AttributeError, OSError):
        return None
    if cpu is None:
        return None
    return "\n".join([cpu, f"machine {platform.machine()}", f"llvmlite {version}",
                      f"library {path} {library.st_size} {library.st_mtime_ns}"])


def _host() -> tuple[str, dict[str, bool]]:
    cpu, features, _, _ = host_description()
    return cpu, features


@lru_cache(maxsize=None)
def _cpuinfo_flags() -> frozenset[str] | None:
    """The CPU flags Linux reports (the same names as LLVM's features), or None elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return None


def cpu_flags() -> frozenset[str] | None:
    """The CPU flags Linux reports (None elsewhere): what NumPy's own dispatch to SIMD loops goes by,
    read without LLVM or CPUID (``/proc/cpuinfo``, read once)."""
    return _cpuinfo_flags()


def is_x86_64() -> bool:
    """Whether this is an x86-64 machine (the SIMD levels beyond ``scalar`` are x86-64's)."""
    return platform.machine().lower() in ("x86_64", "amd64")


def available() -> list[str]:
    """The SIMD levels this machine can run, narrowest first (as LLVM sees the host)."""
    if not is_x86_64():
        return ["scalar"]
    _, features = _host()
    return [name for name, needs in _REQUIRES.items() if all(features.get(f) for f in needs)]


def _widest_without_llvm() -> str:
    """The widest level by ``/proc/cpuinfo`` (import stays free of LLVM), else by LLVM."""
    flags = _cpuinfo_flags()
    if not is_x86_64() or flags is None:
        return available()[-1]
    return [name for name, needs in _REQUIRES.items() if all(f in flags for f in needs)][-1]


def _check_name(name: str) -> None:
    if name not in WIDTHS:
        raise TargetError(f"unknown SIMD level {name!r}: choose one of {', '.join(WIDTHS)}")


@lru_cache(maxsize=None)
def make_target(name: str) -> Target:
    """The :class:`Target` for SIMD level ``name`` on this host."""
    _check_name(name)
    if name not in available():
        raise TargetError(
            f"SIMD level {name!r} is not supported by this CPU "
            f"(available: {', '.join(available())})")
    cpu, features = _host()
    if not is_x86_64():
        return Target(name, 0, cpu, _feature_string(features), auto_vectorize=True)
    if name in ("scalar", "sse2"):
        return Target(name, WIDTHS[name], "x86-64", "", auto_vectorize=name != "scalar")
    if name == "avx2":
        # Keep the host's tuning, but without any 512-bit instructions.
        features = {f: on and not f.startswith(_WIDE_FEATURE_PREFIXES) for f, on in features.items()}
    return Target(name, WIDTHS[name], cpu, _feature_string(features), auto_vectorize=True)


@lru_cache(maxsize=None)  # (once per level: every kernel loaded from the shipped archive asks)
def generic_target(name: str) -> Target:
    """The :class:`Target` of SIMD level ``name`` for any x86-64 CPU that has the level's features
    (a machine whose :func:`widest_here` it is runs them): what kernels shipped with the package are
    compiled for, on whatever machine builds it."""
    _check_name(name)
    features = ",".join(f"+{feature}" for feature in _REQUIRES[name] if feature != "sse2")
    return Target(name, WIDTHS[name], "x86-64", features, auto_vectorize=name != "scalar")


def widest_here() -> str:
    """This machine's widest SIMD level, as :func:`available` says (by ``/proc/cpuinfo`` until LLVM
    has described the host: no LLVM is loaded for it)."""
    return available()[-1] if host_described() else _widest_without_llvm()


@lru_cache(maxsize=None)
def identity(target: Target) -> str:
    """A deterministic text of what decides machine code for ``target`` on this machine: the
    SIMD level and LLVM CPU description, the process triple, the host CPU (which the ``scalar``
    and ``sse2`` targets do not name), LLVM's and llvmlite's versions, the C library's
    version (libmvec, whose functions kernels call, comes with it) and the interpreter's object
    layout, which kernels build in (:data:`.abi.PYTHON_LAYOUT`)."""
    from .abi import PYTHON_LAYOUT
    host_cpu, host_features, triple, llvm_version = host_description()
    # (not under ``loading``: a disk load would wait for a background compile's imports)
    llvmlite = llvmlite_version()
    libc = os.confstr("CS_GNU_LIBC_VERSION") if "CS_GNU_LIBC_VERSION" in os.confstr_names else ""
    return "\n".join([
        f"target {target!r}", f"triple {triple}",
        f"host {host_cpu} {_feature_string(host_features)}",
        f"llvm {'.'.join(map(str, llvm_version))}", f"llvmlite {llvmlite}",
        f"libc {libc}", f"platform {platform.system()} {platform.machine()}", f"python {PYTHON_LAYOUT}",
    ])


def _feature_string(features: dict[str, bool]) -> str:
    return ",".join(("+" if on else "-") + name for name, on in sorted(features.items()))


def _initial() -> str:
    requested = os.environ.get("FUSENUM_SIMD", "").strip().lower()
    if requested:
        if requested not in WIDTHS:  # a misspelled setting fails at import, clearly
            raise TargetError(f"FUSENUM_SIMD={requested!r}: not a SIMD level (choose one of {', '.join(WIDTHS)})")
        flags = _cpuinfo_flags() if is_x86_64() else None
        if flags is not None and not all(f in flags for f in _REQUIRES[requested]):
            # (before any call: interpreted calls would otherwise work until the first compile)
            raise TargetError(f"FUSENUM_SIMD={requested!r}: this CPU does not support it "
                              f"(/proc/cpuinfo lacks {', '.join(f for f in _REQUIRES[requested] if f not in flags)})")
        return requested  # (elsewhere, whether the CPU supports it is checked at the first compile)
    return _widest_without_llvm()


settings.update(simd=_initial())


def get_simd() -> str:
    """The SIMD level new kernels are compiled for."""
    return settings.simd


def set_simd(name: str) -> str:
    """Compile new kernels for SIMD level ``name``; returns the previous level. Kernels of every
    level stay cached (the level is part of each kernel's key)."""
    if not isinstance(name, str):  # (np.str_ too)
        raise ArgumentTypeError(f"the SIMD level must be a str ({', '.join(WIDTHS)}), not {type(name).__name__}")
    name = name.strip().lower()  # (as FUSENUM_SIMD is read)
    make_target(name)
    previous = settings.simd
    settings.update(simd=name)
    return previous


def current() -> Target:
    """The :class:`Target` of the current SIMD level."""
    return make_target(settings.simd)
