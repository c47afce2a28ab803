"""The kernel contract: :class:`KernelSpec` (what decides a kernel's machine code, besides the
target) and :class:`Access` (how one operand is laid out). The runtime asks for kernels by spec;
the calling convention itself is in :mod:`fusenum.codegen.abi`."""
from __future__ import annotations

from ..ir.nodes import Node, canonical
from ..ir.records import fields, record


@record
class Access:
    """How one operand is laid out: layout class (``c``, ``s``, ``0``, ``u``) and byte order."""

    stride: str
    swapped: bool = False


#: Every Access there is, by ``(stride, swapped)``: a general-path call takes its operands' from here.
ACCESSES: dict[tuple[str, bool], Access] = {(stride, swapped): Access(stride, swapped)
                                            for stride in "cs0u" for swapped in (False, True)}


@record
class KernelSpec:
    """Everything that determines a kernel's machine code (besides the target).

    A *checked* kernel (one dimension, ``c`` and ``u`` operands only) is the fast
    path for the common call: it verifies on its own that the arrays it is given
    are what it was compiled for -- every ``c`` operand C-contiguous with the
    output's shape, every ``u`` operand 0-d, the output writeable and not
    partially overlapping an input -- and returns ``STATUS_LAYOUT_MISMATCH``
    otherwise, so Python needs no checks of its own. ``stop < 0`` means the
    whole output.

    A *streaming* kernel writes a contiguous output with non-temporal stores,
    which bypass the cache: for an output larger than the last-level cache this
    saves reading each output line before writing it (a fifth of the memory
    traffic of ``a+b*c``). Rows start with scalar steps until the output is
    vector-aligned, as the aligned stores require.
    """

    root: Node
    accesses: tuple[Access, ...]  # one per input slot, then the output
    ndim: int
    checked: bool = False
    streaming: bool = False
    #: A reduction kernel (:mod:`fusenum.codegen.reduce`) of this reduction (``"sum"``, ``"max"``...).
    reduce: str | None = None
    #: Float sums: pairwise blocks, at least as accurate as NumPy's pairwise summation.
    pairwise: bool = False
    #: Each call's output is its own piece of a partials array (two more layout words).
    pieces: bool = False
    #: A reduction's ``(step, tail step)`` virtual lanes if not its root's own
    #: (:func:`fusenum.codegen.lanes.virtual_lanes`): a one-node kernel reducing an interpreted
    #: argument groups its elements as the fused kernel of that argument would.
    lanes: tuple[int, int] | None = None

    @property
    def needs_layout(self) -> bool:
        """Whether the kernel reads the ``layout`` argument (else callers may pass NULL)."""
        return self.ndim > 1 or self.pieces or any(a.stride == "s" for a in self.accesses)

    def canonical(self) -> str:
        """A deterministic text of everything in this spec, the same in every process (unlike
        ``hash()``): every field by name, the IR as :func:`fusenum.ir.nodes.canonical` writes it.
        Built from the record's fields, so a field added later is included without anyone
        remembering to."""
        lines = [f"{name} {getattr(self, name)!r}" for name in fields(self) if name != "root"]
        return "\n".join(lines + [canonical(self.root)])
