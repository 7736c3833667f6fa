"""Check a graph and lower every op to a C step through its module in ``ops/``."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConversionError
from .errors import UnsupportedOpError
from .ir import CTYPE, Graph, Op, Tensor
from .ops import REGISTRY, SHAPE_OPS, SUPPORTED_OPS
from .program import Alias, Arg, Step, Table

IO_DTYPES = ("int8", "uint8", "float32")


@dataclass(frozen=True)
class View:
    """How ops see a tensor: the tensor whose storage holds it, the element type, and an offset to
    add to its values (the folded uint8 -> int8 QUANTIZE reads uint8 values, 128 above the int8 ones)."""

    base: int
    dtype: str
    offset_adjust: int = 0


@dataclass
class Program:
    """The lowered graph: steps in execution order, and each tensor's view."""

    graph: Graph
    steps: list[Step]
    views: dict[int, View]
    tables: list[Table] = field(default_factory=list)

    @property
    def input(self) -> Tensor:
        return self.graph.t(self.graph.input)

    @property
    def output(self) -> Tensor:
        return self.graph.t(self.graph.output)


class Lowering:
    """What an op module's lowering sees: the graph, each tensor's view, and a Step builder."""

    def __init__(self, graph: Graph, not_in_place: frozenset[int] = frozenset()) -> None:
        self.graph = graph
        self.views: dict[int, View] = {i: View(i, graph.t(i).dtype) for i in graph.inputs}
        self.not_in_place = not_in_place  # positions of ops that must keep their own output buffer

    def t(self, index: int) -> Tensor:
        return self.graph.t(index)

    def view(self, index: int) -> View:
        if index not in self.views:
            raise UnsupportedOpError("graph", f"tensor {self.t(index).name!r} is read before it is written")
        return self.views[index]

    @staticmethod
    def tag(op: Op) -> str:
        """Prefix of the op's function and tables: op<position>."""
        return f"op{op.index}"

    def can_overwrite(self, op: Op, k: int = 0, larger: bool = False) -> bool:
        """The op's output may be written over the storage of its k-th input: that storage is in
        scratch (not the caller's input or output), no later op reads it through any view, and the
        output is no larger (``larger``: or larger, the input then at the output's end). The kernel
        must still be exact when output and input alias."""
        src, out = op.inputs[k], op.outputs[0]
        if op.index in self.not_in_place or self.t(src).is_const:
            return False
        view = self.view(src)
        if view.base in self.graph.inputs or out in self.graph.outputs or view.offset_adjust:
            return False
        if self.t(out).nbytes > self.t(view.base).nbytes and not larger:
            return False
        return all(self.t(t).last <= op.index for t, v in self.views.items() if v.base == view.base)

    def step(self, op: Op, comment: str, body: list[str], kernels: list[str], *, inputs: list[int] | None = None,
             tables: list[Table] | None = None, work_bytes: int = 0, in_place: int | None = None,
             in_place_costs: bool = False, in_place_tail: bool = False) -> Step:
        """A step reading ``inputs`` (default: the op's first input) as ``in`` (or ``in0``, ``in1``, ...)
        and writing the op's output as ``out``; ``in_place``: the output may take that input's storage
        (``in_place_costs``: at the price of extra work in the kernel; ``in_place_tail``: a larger
        output, the input at its end)."""
        inputs = [op.inputs[0]] if inputs is None else inputs
        names = ["in"] if len(inputs) == 1 else [f"in{k}" for k in range(len(inputs))]
        tables = list(tables or [])
        args = []
        for name, i in zip(names, inputs):
            t = self.t(i)
            if t.is_const:  # a constant operand is a table in flash
                table = Table(f"{self.tag(op)}_{name}", CTYPE[t.dtype], t.data.reshape(-1), f"constant {t.name}")
                if table.ctype not in ("int8_t", "float"):
                    raise UnsupportedOpError(op.kind, f"constant operand {t.name!r} of type {t.dtype}")
                tables.append(table)
                args.append(Arg(name, i, t.dtype, table=table.name))
            else:
                args.append(Arg(name, i, self.view(i).dtype))
        args.append(Arg("out", op.outputs[0], self.t(op.outputs[0]).dtype, output=True))
        return Step(f"{self.tag(op)}_{op.kind.lower()}", comment, body, list(kernels), args, tables,
                    work_bytes, op_kind=op.kind, in_place=in_place, in_place_costs=in_place_costs,
                    in_place_tail=in_place_tail,
                    op_index=op.index)


def check_graph(graph: Graph) -> None:
    """Refuse, before any lowering, what the generator cannot emit: unknown ops first (closed set)."""
    for op in graph.ops:
        if op.kind not in SUPPORTED_OPS and op.kind not in SHAPE_OPS:
            raise UnsupportedOpError(op.kind)
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ConversionError(f"{graph.source}: expected one input and one output, got {len(graph.inputs)} "
                              f"and {len(graph.outputs)}")
    for role, index in (("input", graph.input), ("output", graph.output)):
        t = graph.t(index)
        if t.dtype not in IO_DTYPES:
            raise UnsupportedOpError(role, f"tensor type {t.dtype}; expected int8, uint8 or float32")
        if t.is_const:
            raise UnsupportedOpError(role, f"tensor {t.name!r} is a constant")


def is_quantized(graph: Graph, op: Op) -> bool:
    """An op runs its int8 lowering when its first input or its output is an 8-bit integer tensor."""
    return any(graph.t(i).dtype in ("int8", "uint8") for i in (op.inputs[0], op.outputs[0]))


def lower(graph: Graph, not_in_place: frozenset[int] = frozenset()) -> Program:
    """Check every op with its module, then lower them in order; the ops at ``not_in_place`` keep
    their own output buffer."""
    for op in graph.ops:
        if op.kind in SHAPE_OPS:
            raise UnsupportedOpError(op.kind, "only supported where it computes a RESHAPE's shape")
        REGISTRY[op.kind].check(graph, op, is_quantized(graph, op))
    ctx = Lowering(graph, not_in_place)
    steps: list[Step] = []
    for op in graph.ops:
        opdef = REGISTRY[op.kind]
        quantized = is_quantized(graph, op)
        fn = opdef.lower_int8 if quantized else opdef.lower_fp32
        if fn is None:
            raise UnsupportedOpError(op.kind, "in a float32 model" if not quantized else "with int8 tensors")
        result = fn(ctx, op)
        if isinstance(result, Alias):
            src = ctx.view(result.source)
            ctx.views[op.outputs[0]] = View(src.base, result.dtype or src.dtype,
                                            src.offset_adjust + result.offset_adjust)
            continue
        result.macs = opdef.macs(graph, op)
        steps.append(result)
        for i in op.outputs:
            ctx.views[i] = View(i, graph.t(i).dtype)
    out_view = ctx.view(graph.output)
    if out_view.offset_adjust or out_view.dtype != graph.t(graph.output).dtype:
        raise UnsupportedOpError("output", "the output is a folded view of another tensor")
    if out_view.base == graph.input:
        raise UnsupportedOpError("RESHAPE", "of the model's input straight to its output")
    return Program(graph, steps, ctx.views, [t for s in steps for t in s.tables])
