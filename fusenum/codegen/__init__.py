"""IR -> LLVM IR -> machine code: target selection, lowering rules, kernels, JIT."""
