"""Print the float32 values whose reciprocal, square or square root lies nearest a rounding
boundary (halfway between two float32s), as bit patterns for ``fusenum.ir.numpy_behaviour``.

A ``pow`` that is not correctly rounded differs from the correctly rounded shortcut (``1/x``,
``x*x``, ``sqrt``) first on such values, so a probe made of them tells whether NumPy's ``power``
loop computes the shortcut. Each candidate's result is computed in float64 (exact for the square,
within 2**-29 float32 ULP otherwise) over every float32 mantissa.

Usage::

    python3 tools/near_ties.py [--per-function 48]
"""
from __future__ import annotations

import argparse

import numpy as np


def hardest(per_function: int) -> list[int]:
    x = (np.arange(1 << 23, dtype=np.uint32) | np.uint32(0x3F800000)).view(np.float32)  # [1, 2)
    wide = x.astype(np.float64)
    picked = []
    for values, sources in ((1.0 / wide, x), (wide * wide, x), (np.sqrt(wide), x), (np.sqrt(2 * wide), 2 * x)):
        fraction, _ = np.frexp(values)
        scaled = fraction * 2.0**24  # in float32 ULPs
        distance = np.abs(scaled - np.floor(scaled) - 0.5)  # from halfway
        order = np.argsort(distance, kind="stable")[:per_function]
        picked += sorted(int(bits) for bits in sources[order].view(np.uint32))
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-function", type=int, default=48)
    args = parser.parse_args()
    patterns = hardest(args.per_function)
    lines, line = [], ""
    for bits in patterns:
        item = f"0x{bits:08x}, "
        if len(line) + len(item) > 96:
            lines.append(line.rstrip())
            line = ""
        line += item
    lines.append(line.rstrip())
    print("\n".join(lines))


if __name__ == "__main__":
    main()
