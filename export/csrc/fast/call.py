"""What a lowering returns: tables, the C call and the kernel files it needs."""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

KERNEL_DIR = "kernels/fast"
# kernel file -> the files it builds on, in include order
KERNEL_FILES = {
    "simd.c": (),
    "requant.c": ("simd.c",),
    "conv.c": ("simd.c", "requant.c"),
    "depthwise.c": ("simd.c", "requant.c"),
    "add.c": ("simd.c", "requant.c"),
    "avgpool.c": ("simd.c", "requant.c"),
}


@dataclass
class Table:
    """A constant array in flash: ``static const <ctype> <name>[] = {...}``."""

    name: str
    ctype: str  # int8_t, int32_t or uint32_t
    values: np.ndarray
    comment: str


@dataclass
class KernelCall:
    """One op lowered onto a fast kernel."""

    kernel: str                   # kernel file, e.g. "conv.c"
    body: list[str]               # C statements; `in`, `out` and `work` (scratch, 4-byte aligned) are in scope
    tables: list[Table] = field(default_factory=list)
    work_bytes: int = 0           # scratch the kernel needs besides the op's input and output
    comment: str = ""

    def files(self) -> list[str]:
        """Kernel files to paste, dependencies first."""
        return kernel_files([self.kernel])


def kernel_files(kernels: list[str]) -> list[str]:
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for dep in KERNEL_FILES[name]:
            visit(dep)
        order.append(name)

    for k in kernels:
        visit(k)
    return order


def kernel_source(name: str) -> str:
    """Text of one kernel file of export/csrc/kernels/fast/."""
    if name not in KERNEL_FILES:
        raise KeyError(f"no fast kernel file {name!r}; expected one of {', '.join(KERNEL_FILES)}")
    root = resources.files("export.csrc").joinpath(KERNEL_DIR, name)
    return Path(str(root)).read_text(encoding="ascii")
