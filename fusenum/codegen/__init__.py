"""IR -> LLVM IR -> machine code.

* the contract: :mod:`.spec` (:class:`~fusenum.codegen.spec.KernelSpec`, what decides a kernel's
  code) and :mod:`.abi` (the calling convention);
* module building: :mod:`.modules` picks the :mod:`.elementwise` or :mod:`.reduction` builder,
  which emit through :mod:`.emitter` and lower each node with :mod:`.rules`;
* vector math: :mod:`.mathlib` chooses own kernels (:mod:`.vmath`), libmvec or libm;
* the machine: :mod:`.target` and :mod:`.settings` (SIMD level, vector math), :mod:`.jit`
  (LLVM to machine code), :mod:`.pool` (the native thread pool).

This stage reads the IR and imports neither the runtime nor the front ends.
"""
