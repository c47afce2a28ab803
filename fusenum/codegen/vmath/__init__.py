"""fusenum's own vector implementations of transcendental functions, in LLVM IR.

Each kernel works at any lane count (the scalar tail computes what the vector
body does) and needs no instruction beyond the target's: fused multiply-adds are
``llvm.fma``, exact everywhere (the C library's ``fma`` without FMA hardware),
so results do not depend on the SIMD level. Accuracy is within a few ULP of the
correctly rounded result, and special values (NaN, infinities, signed zeros,
overflow and underflow) follow C99 and NumPy.

A kernel is *preferred* when it beats glibc's libmvec on this kind of machine;
otherwise it is the fallback used when libmvec is unavailable
(see :mod:`fusenum.codegen.mathlib`).
"""
from . import cbrt, exp, hyperbolic, log, pow, trig, trig64  # noqa: F401  (each registers its kernels)
from .registry import KERNELS, Kernel, kernel, register

__all__ = ["KERNELS", "Kernel", "kernel", "register"]
