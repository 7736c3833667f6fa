"""What a fast-kernel lowering returns: the kernel functions it calls, its C body and its tables."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..program import Table


@dataclass
class KernelCall:
    """One op lowered onto a fast kernel (kernels/fast/). ``body`` uses the step's parameters:
    ``in`` (or ``in0``, ``in1``), ``out`` and, when ``work_bytes`` > 0, ``work`` of ``work_ctype``."""

    kernels: list[str]            # kernel functions the body calls
    body: list[str]
    tables: list[Table] = field(default_factory=list)
    work_bytes: int = 0           # scratch for this op alone (im2col patches), 4-byte aligned
    work_ctype: str = "int8_t"
    comment: str = ""
