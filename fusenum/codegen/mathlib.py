"""Vector math: which implementation computes each transcendental function.

For every call of a function (``exp``, ``atan2``, ...) on float32 or float64
lanes, one of three implementations is chosen when the kernel is compiled:

1. **fusenum's own vector code** (:mod:`fusenum.codegen.vmath`): range
   reduction and polynomials in LLVM IR, at the kernel's vector width. Used
   where it is faster than libmvec (and than NumPy's own SIMD loops) or more
   accurate at a small cost, and as the first fallback when libmvec cannot be
   used -- on machines with FMA instructions only (:func:`machine_has_fma`).
2. **glibc's libmvec**: ``_ZGV{b,d,e}N{lanes}v_{name}`` (``vv`` for two
   arguments, an ``f`` suffix for float32), the variant of the *machine's* widest
   SIMD level (``b`` SSE2 16 bytes, ``d`` AVX2 32 bytes, ``e`` AVX-512 64 bytes),
   whatever level the kernel itself targets: each variant computes its own last
   bits, and one variant per machine is what makes every SIMD level give the same
   bits. A kernel of a narrower level calls it through a small wrapper compiled
   for the machine's level (the narrower code cannot hold the variant's registers:
   arguments pass in pieces of its own width, the result through the stack). Used only on x86-64
   Linux when ``libmvec.so.1`` loads and has the symbol. A call at another lane
   count is padded or split to the variant's width, so the scalar tail computes
   exactly what the vector body would. libmvec's AVX-512 float32 functions are
   the SVML code NumPy runs; its SSE and AVX2 ones may be 4 ULP off, so on
   machines without AVX-512 float32 lanes are widened to float64, computed by the
   float64 variant and rounded (within about half an ULP).
3. **the C library's scalar function**, called lane by lane.

``FUSENUM_VECTOR_MATH`` (read at import) or :func:`set_mode` restricts the
choice: ``auto`` (the default, as above), ``builtin`` (never libmvec: fusenum's
own code, else the C library -- what a machine without libmvec gets) or
``libm`` (the C library only). The mode is part of every kernel's key
(:mod:`fusenum.codegen.settings`), so kernels of each mode stay cached side by side.

float16 computes in float32 (its registers are float32; the caller rounds).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from . import ir_text as ir

from ..errors import ConfigurationError
from . import loader, locks, settings, target
from .control import entry_alloca
from .libraries import libmvec_loaded
from .emitter import F32 as F32_TYPE
from .emitter import F64 as F64_TYPE
from .emitter import I32, Emitter

MODES = settings.VECTOR_MATH_MODES

#: libmvec variant letter and vector bytes for each SIMD level that has one.
LIBMVEC_VARIANTS = {"sse2": ("b", 16), "avx2": ("d", 32), "avx512": ("e", 64)}

#: Functions glibc's libmvec provides (C names of the float64 versions) and their arity.
LIBMVEC_FUNCTIONS = {
    "exp": 1, "exp2": 1, "expm1": 1, "log": 1, "log2": 1, "log10": 1, "log1p": 1,
    "sin": 1, "cos": 1, "tan": 1, "asin": 1, "acos": 1, "atan": 1, "atan2": 2,
    "sinh": 1, "cosh": 1, "tanh": 1, "asinh": 1, "acosh": 1, "atanh": 1,
    "cbrt": 1, "pow": 2, "hypot": 2,
}

F32 = np.dtype(np.float32)


def get_mode() -> str:
    """The current vector math mode (``auto``, ``builtin`` or ``libm``)."""
    return settings.vector_math


def set_mode(name: str) -> str:
    """Restrict the implementations new kernels use (see the module docstring); returns the
    previous mode. Kernels compiled under another mode are never used under this one."""
    if name not in MODES:
        raise ConfigurationError(f"vector math mode must be one of {', '.join(MODES)}, not {name!r}")
    previous = settings.vector_math
    settings.update(vector_math=name)
    return previous


# ---- libmvec ---------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _has_symbol(symbol: str) -> bool:
    return libmvec_loaded() and loader.find_symbol(symbol) is not None


def math_level() -> str:
    """The SIMD level whose libmvec variant every kernel calls: the machine's widest, so the
    bits of a function never depend on the level a kernel is compiled for. (Kernels built for other
    machines name theirs: :func:`fusenum.codegen.settings.building`.)"""
    return settings.machine_for_code() or target.available()[-1]


def libmvec_symbol(name: str, dtype: np.dtype, level: str | None = None) -> str | None:
    """libmvec's vector function for ``name`` on ``dtype`` (at SIMD ``level``, the machine's
    :func:`math_level` by default), if it can be used (for float32 below AVX-512, the float64
    function: see the module docstring)."""
    level = level or math_level()
    arity = LIBMVEC_FUNCTIONS.get(name)
    if arity is None or level not in LIBMVEC_VARIANTS:
        return None
    letter, width = LIBMVEC_VARIANTS[level]
    if dtype == F32 and level != "avx512":
        dtype = np.dtype(np.float64)
    suffix = "f" if dtype == F32 else ""
    symbol = f"_ZGV{letter}N{width // dtype.itemsize}{'v' * arity}_{name}{suffix}"
    return symbol if _has_symbol(symbol) else None


def libm_name(name: str, dtype: np.dtype) -> str:
    """The C library's scalar function for ``name`` on ``dtype``."""
    return name + ("f" if dtype.itemsize <= 4 else "")


# ---- choosing --------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _own_kernels():
    """:mod:`fusenum.codegen.vmath`, imported when a kernel first calls a function: a third of the
    code generator's import (~2-3 ms of a new process's first compile), which kernels without
    transcendental functions never need."""
    with locks.loading:  # (a fork waits for an import)
        from . import vmath
    return vmath


def implementation(name: str, dtype: np.dtype, level: str) -> str:
    """Which implementation computes ``name`` on ``dtype`` lanes in a kernel of SIMD ``level``:
    ``"own"``, ``"libmvec:<symbol>"`` or ``"libm:<function>"`` -- the same at every level."""
    dtype = F32 if dtype.itemsize <= 4 else np.dtype(dtype)
    own = _own_kernels().kernel(name, dtype)
    mode = settings.vector_math_for_code()
    if mode != "libm":
        fused = machine_has_fma()
        if own is not None and ((own.preferred_on(math_level()) and fused) or mode == "builtin"):
            return "own"
        symbol = libmvec_symbol(name, dtype) if mode == "auto" else None
        if symbol is not None:
            return f"libmvec:{symbol}"
        if own is not None and fused:
            return "own"
    return f"libm:{libm_name(name, dtype)}"


def machine_has_fma() -> bool:
    """Whether the machine the code is for has fused multiply-add instructions (its widest level is
    AVX2 or AVX-512). Own kernels are exact only through ``llvm.fma``: without the instructions each
    one is a call of the C library's ``fma``, and an own ``exp`` took 2.04 ms for 100,000 elements
    where libmvec's SSE variant took 0.17 and the C library's ``exp`` lane by lane 0.41. There,
    ``auto`` prefers those (``builtin`` still asks for own kernels). Elsewhere than x86-64 the code
    is compiled for the host, whose ``fma`` is an instruction on every 64-bit architecture LLVM and
    NumPy both target."""
    return math_level() in ("avx2", "avx512") or not target.is_x86_64()


def call(em: Emitter, name: str, dtype: np.dtype, *args: ir.Value) -> ir.Value:
    """``name(*args)`` on lanes of loop dtype ``dtype`` (float16 computes as float32)."""
    dtype = F32 if dtype.itemsize <= 4 else np.dtype(dtype)
    level = em.target.name if em.target is not None else "scalar"
    kind, _, symbol = implementation(name, dtype, level).partition(":")
    if kind == "own":
        return _own_kernels().kernel(name, dtype).emit(em, *args)
    if kind == "libmvec":
        lanes = LIBMVEC_VARIANTS[math_level()][1] // np.dtype(symbol_dtype(symbol)).itemsize
        return _libmvec_call(em, symbol, lanes, args)
    return em.per_lane(symbol, *args)


def symbol_dtype(symbol: str) -> str:
    """``f4`` or ``f8``: the lanes a libmvec symbol computes."""
    return "f4" if symbol.endswith("f") else "f8"


def _libmvec_call(em: Emitter, symbol: str, width: int, args) -> ir.Value:
    """Call a libmvec function of ``width`` lanes on ``em.lanes`` lanes (padding or splitting,
    and widening float32 lanes for a float64 function)."""
    b = em.b
    level = em.target.name if em.target is not None else "scalar"
    element = args[0].type.element if em.lanes > 1 else args[0].type
    if symbol_dtype(symbol) == "f8" and element == F32_TYPE:
        wide = [b.fpext(a, em.vector(F64_TYPE)) for a in args]
        return b.fptrunc(_libmvec_call(em, symbol, width, wide), args[0].type)
    vector = ir.VectorType(element, width)
    fn = em.function(symbol, vector, [vector] * len(args))
    call = _wrapped(em, fn, vector, len(args)) if level != math_level() else (
        lambda arguments: b.call(fn, arguments))
    if em.lanes == width:
        return call(list(args))
    if em.lanes == 1:
        widened = [em.shuffle(_as_vector(em, a), _as_vector(em, a), [0] * width) for a in args]
        return b.extract_element(call(widened), ir.Constant(I32, 0))
    chunks = []
    for first in range(0, em.lanes, width):
        # Lanes past the end repeat the last one: real inputs, so no spurious slow paths.
        picks = [min(first + j, em.lanes - 1) for j in range(width)]
        chunks.append(call([em.shuffle(a, a, picks) for a in args]))
    return _concatenate(em, chunks, width)


class _WrappedCall:
    """A callable like ``b.call(fn, args)`` for ``fn``'s wrapper: the kernel passes each argument as
    pieces of its own register width (in registers), and loads the result from a stack slot the
    wrapper (compiled for the machine's level) stores it to."""

    def __init__(self, em: Emitter, wrapper: ir.Function, vector: ir.VectorType, piece: int):
        self.em, self.wrapper, self.vector, self.piece = em, wrapper, vector, piece

    def __call__(self, args: list) -> ir.Value:
        em = self.em
        result = entry_alloca(em.b, self.vector)  # (a vector's own alignment: one cache line)
        pieces = [em.shuffle(a, a, range(first, first + self.piece))
                  for a in args for first in range(0, self.vector.count, self.piece)]
        em.b.call(self.wrapper, [result] + pieces)
        return em.b.load(result, typ=self.vector)


def _wrapped(em: Emitter, fn: ir.Function, vector: ir.VectorType, arity: int) -> _WrappedCall:
    """``fn``, a libmvec function of the machine's level, made callable from a kernel of a
    narrower one, whose registers cannot carry ``vector``: a wrapper compiled with the machine
    level's CPU and features, defined once per module, that takes each argument as pieces of the
    kernel's register width and joins them. (Arguments passed through memory instead, stored in
    pieces and loaded whole, made every call wait for the stores: a load that spans several stores
    is not forwarded from them. ``sin`` at ``FUSENUM_SIMD=avx2`` on an AVX-512 machine took 7.6x its
    time at ``avx512``.)"""
    element_bytes = 8 if vector.element == F64_TYPE else 4
    piece = max(16, em.target.vector_bits // 8) // element_bytes  # (SSE2 registers below AVX2)
    piece_type = ir.VectorType(vector.element, piece)
    name = f"fusenum.wrapped.{fn.name}"
    wrapper = em.module.globals.get(name)
    if wrapper is None:
        count = vector.count // piece
        wrapper = ir.Function(em.module, ir.FunctionType(ir.VoidType(), [ir.PointerType()]
                                                         + [piece_type] * (arity * count)), name=name)
        wrapper.linkage = "internal"
        level = math_level()
        machine = target.generic_target(level) if settings.machine_for_code() else target.make_target(level)
        wrapper.attributes.update(["noinline", "nounwind", f'"target-cpu"="{machine.cpu}"',
                                   f'"target-features"="{machine.features}"'])
        b = ir.IRBuilder(wrapper.append_basic_block("entry"))
        pieces = list(wrapper.args[1:])
        joined = [_join(b, pieces[k * count:(k + 1) * count]) for k in range(arity)]
        b.store(b.call(fn, joined), wrapper.args[0])
        b.ret_void()
    return _WrappedCall(em, wrapper, vector, piece)


def _join(b: ir.IRBuilder, pieces: list) -> ir.Value:
    """The vectors ``pieces`` laid end to end (their count a power of two)."""
    while len(pieces) > 1:
        width = 2 * pieces[0].type.count
        mask = ir.Constant(ir.VectorType(I32, width), list(range(width)))
        pieces = [b.shuffle_vector(left, right, mask) for left, right in zip(pieces[::2], pieces[1::2])]
    return pieces[0]


def _as_vector(em: Emitter, scalar: ir.Value) -> ir.Value:
    one = ir.Constant(ir.VectorType(scalar.type, 1), ir.Undefined)
    return em.b.insert_element(one, scalar, ir.Constant(I32, 0))


def _concatenate(em: Emitter, chunks: list, width: int) -> ir.Value:
    """The first ``em.lanes`` lanes of the chunks laid end to end."""
    if len(chunks) == 1:
        return em.shuffle(chunks[0], chunks[0], range(em.lanes))
    return _join(em.b, chunks)
