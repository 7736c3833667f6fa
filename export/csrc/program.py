"""What lowering produces: one C step per op, with its constant tables, and aliases for ops that move no data."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Table:
    """A constant array in flash, checked by ``verify()``."""

    name: str
    ctype: str  # int8_t, int32_t, uint32_t or float
    values: np.ndarray
    comment: str


@dataclass
class Arg:
    """One pointer parameter of a step function: a tensor seen with an element type."""

    name: str      # C parameter name: in, in1, out, ...
    tensor: int    # tensor index in the graph
    dtype: str     # element type the step reads or writes ("uint8" for a folded uint8 input)
    output: bool = False
    table: str | None = None   # a constant input: the name of its table


@dataclass
class Step:
    """One op as a static C function: ``comment``, ``body`` lines, the kernels it calls, its tables."""

    func: str
    comment: str
    body: list[str]
    kernels: list[str]             # kernel functions the body calls (defined in kernels/*.c)
    args: list[Arg]
    tables: list[Table] = field(default_factory=list)
    work_bytes: int = 0            # a work buffer in scratch for this step only (e.g. the im2col patch)
    work_ctype: str = "int8_t"
    op_kind: str = ""
    macs: int = 0
    in_place: int | None = None    # the output may take the storage of this input (position in inputs)
    in_place_costs: bool = False   # running in place costs the kernel extra work (a copy)
    in_place_tail: bool = False    # in place with a larger output: the input sits at the output's end
    op_index: int = -1             # position of the op in the graph
    noinline: bool = False         # the function is declared EP_NOINLINE (its step lists that macro as a kernel)

    @property
    def inputs(self) -> list[Arg]:
        return [a for a in self.args if not a.output]

    @property
    def outputs(self) -> list[Arg]:
        return [a for a in self.args if a.output]


@dataclass(frozen=True)
class Alias:
    """An op that moves no data: its output is ``source`` seen with ``dtype`` (RESHAPE, or the
    uint8 -> int8 QUANTIZE folded into its consumers, whose values are ``offset_adjust`` off)."""

    source: int
    dtype: str | None = None
    offset_adjust: int = 0
