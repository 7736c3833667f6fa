"""Where every tensor lives at run time: the caller's input or output buffer, or an offset in scratch.

Scratch is planned from lifetimes over the step sequence: two buffers may share bytes only when no
step needs both. Several placement strategies are tried and the smallest valid plan wins:
- two-sided: each op's output goes to the side (bottom or top) opposite its input, first fit on
  that side. On a chain this is the classic ping-pong, optimal there: the largest pair of
  consecutive activations;
- greedy by size, largest first (TFLite Micro's GreedyMemoryPlanner), and greedy in order of
  first use.
Per-step work buffers (the im2col patch) are buffers too, live during their step only. A step that
runs in place (its kernel is exact when output and input alias) gives its output the storage of
that input, which dies there: one buffer spans both lifetimes. A larger output (a 1x1 conv to more
channels) starts before its input so that the two end together; such a buffer holds each of its
tensors at a shift, and claims at each step only the bytes of the tensors live then (segments).
Every offset is a multiple of 4, and the result is checked before it is used.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from .lower import Program

logger = logging.getLogger(__name__)

INPUT, OUTPUT = "input", "output"


def align4(n: int) -> int:
    return (n + 3) // 4 * 4


@dataclass(frozen=True)
class Buffer:
    """A block of scratch: its key (a tensor index, or ("work", step)), size, and live steps [first, last]."""

    key: object
    size: int
    first: int
    last: int
    after: object = None   # the buffer its producer reads (the two-sided strategy's hint)
    segments: tuple = ()   # (first, last, lo, hi): the bytes [lo, hi) it claims in those steps; () for all

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last

    @property
    def parts(self) -> tuple:
        return self.segments or ((self.first, self.last, 0, self.size),)

    def collides(self, at: int, other: "Buffer", other_at: int) -> bool:
        """Some byte of this buffer at offset ``at`` is also ``other``'s (at ``other_at``) in a step both claim it."""
        return any(f1 <= l2 and f2 <= l1 and at + lo1 < other_at + hi2 and other_at + lo2 < at + hi1
                   for f1, l1, lo1, hi1 in self.parts if hi1 > lo1 for f2, l2, lo2, hi2 in other.parts if hi2 > lo2)


@dataclass
class Plan:
    """Storage of every tensor base: INPUT, OUTPUT, or a scratch offset; work buffer offset per step."""

    storage: dict            # tensor base index -> INPUT | OUTPUT | int offset
    work: dict               # step position -> int offset
    scratch_bytes: int
    lower_bound: int         # the most bytes live at once: no plan can be smaller
    aligned: bool            # scratch holds 4-byte types (float, int32, word-read work buffers): the caller's
                             # buffer must be aligned


def buffers_of(program: Program) -> tuple[dict, list[Buffer], dict]:
    """Fixed storage (caller's buffers), the scratch buffers with their lifetimes, and where the
    tensors that share a buffer sit in it (base -> (the buffer's key, shift in bytes))."""
    graph = program.graph
    fixed = {graph.input: INPUT, program.views[graph.output].base: OUTPUT}
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    hint: dict[int, object] = {}
    sizes: dict[int, int] = {}
    for k, step in enumerate(program.steps):
        for arg in step.inputs:
            if arg.table:
                continue
            base = program.views[arg.tensor].base
            last[base] = max(last.get(base, k), k)
        for arg in step.outputs:
            base = program.views[arg.tensor].base
            first.setdefault(base, k)
            last.setdefault(base, k)
            sizes[base] = graph.t(base).nbytes
            if step.inputs and not step.inputs[0].table:
                hint[base] = program.views[step.inputs[0].tensor].base
    placed = _in_place(program, fixed, last, sizes)
    segments: dict[int, list] = {}
    for b, (root, shift) in placed.items():
        segments.setdefault(root, []).append((first[b], last[b], shift, shift + sizes[b]))
    shared = {b: root for b, (root, _) in placed.items() if b != root}
    for dst, src in shared.items():  # one buffer for all: the first tensor's start, the last one's end
        first[src], last[src] = min(first[src], first[dst]), max(last[src], last[dst])
    for root, parts in segments.items():
        sizes[root] = max(hi for _, _, _, hi in parts)
    hint = {b: shared.get(h, h) for b, h in hint.items()}
    tails = {root for root, parts in segments.items() if any(lo for _, _, lo, _ in parts)}
    buffers = [Buffer(b, align4(sizes[b]), first[b], last[b], hint.get(b),
                      tuple(sorted(segments[b])) if b in tails else ()) for b in first
               if b not in fixed and b not in shared]
    buffers += [Buffer(("work", k), align4(s.work_bytes), k, k) for k, s in enumerate(program.steps) if s.work_bytes]
    return fixed, buffers, placed


def _in_place(program: Program, fixed: dict, last: dict, sizes: dict) -> dict:
    """Base -> (the buffer it shares, its shift there) for the steps marked in place whose input
    dies there (the lowering checked it; anything else keeps its own buffer): the output at the
    input's shift or, for ``in_place_tail``, ending where the input ends (the buffer's other
    tensors move up when that starts before the buffer)."""
    placed: dict[int, tuple[int, int]] = {}
    for k, step in enumerate(program.steps):
        if step.in_place is None:
            continue
        src = program.views[step.inputs[step.in_place].tensor].base
        dst = program.views[step.outputs[0].tensor].base
        if src in fixed or dst in fixed or src == dst or last.get(src) != k:
            continue
        root, shift = placed.get(src, (src, 0))
        if step.in_place_tail:
            shift += sizes[src] - sizes[dst]
        if shift % 4:
            continue
        placed.setdefault(src, (src, 0))
        lift = max(0, -shift)
        placed = {b: (r, s + lift if r == root else s) for b, (r, s) in placed.items()}
        placed[dst] = (root, shift + lift)
    return placed


def _first_fit(buf: Buffer, placed: list[tuple[Buffer, int]]) -> int:
    """Lowest offset where ``buf`` overlaps no placed buffer that is live at the same time."""
    live = [p for p in placed if p[0].overlaps_in_time(buf)]
    if buf.segments or any(other.segments for other, _ in live):  # 0 or where some claimed bytes end
        ends = {align4(at + hi) - lo for other, at in live for _, _, _, hi in other.parts for _, _, lo, _ in buf.parts}
        return next(c for c in sorted({0} | {e for e in ends if e >= 0})
                    if not any(buf.collides(c, other, at) for other, at in live))
    offset = 0
    for other, at in sorted((p for p in placed if p[0].overlaps_in_time(buf)), key=lambda p: p[1]):
        if at >= offset + buf.size:
            break
        offset = max(offset, at + other.size)
    return offset


def greedy(buffers: list[Buffer], order) -> dict:
    placed: list[tuple[Buffer, int]] = []
    for buf in sorted(buffers, key=order):
        placed.append((buf, _first_fit(buf, placed)))
    return {b.key: at for b, at in placed}


def two_sided(buffers: list[Buffer]) -> dict:
    """Activations alternate between the bottom and the top of scratch (each buffer whole); work
    buffers fit in after."""
    sides: dict[object, str] = {}
    placed = {"bottom": [], "top": []}
    acts = [replace(b, segments=()) for b in buffers if not _is_work(b)]
    for buf in sorted(acts, key=lambda b: (b.first, str(b.key))):
        side = "top" if sides.get(buf.after) == "bottom" else "bottom"
        sides[buf.key] = side
        placed[side].append((buf, _first_fit(buf, placed[side])))
    total = max([at + b.size for side in placed.values() for b, at in side] + [0])
    for b, at in placed["bottom"]:
        for t, dist in placed["top"]:
            if b.overlaps_in_time(t):
                total = max(total, at + b.size + dist + t.size)
    offsets = {b.key: at for b, at in placed["bottom"]}
    offsets.update({t.key: total - dist - t.size for t, dist in placed["top"]})
    return _fit_work(buffers, offsets)


def _fit_work(buffers: list[Buffer], offsets: dict) -> dict:
    placed = [(b, offsets[b.key]) for b in buffers if b.key in offsets]
    for buf in sorted((b for b in buffers if b.key not in offsets), key=lambda b: (-b.size, b.first)):
        at = _first_fit(buf, placed)
        placed.append((buf, at))
        offsets[buf.key] = at
    return offsets


def _is_work(buf: Buffer) -> bool:
    return isinstance(buf.key, tuple)


def _claimed(buf: Buffer, step: int) -> int:
    """Bytes ``buf`` claims at ``step``: the union of its live segments (an in-place output and its
    input share theirs)."""
    total, end = 0, None
    for lo, hi in sorted((lo, hi) for f, last, lo, hi in buf.parts if f <= step <= last):
        start = lo if end is None else max(lo, end)
        total += max(0, hi - start)
        end = hi if end is None else max(end, hi)
    return total


def check_plan(buffers: list[Buffer], offsets: dict) -> int:
    """Raise if two buffers live at the same time share a byte or an offset is misaligned; return the size."""
    for i, a in enumerate(buffers):
        if offsets[a.key] % 4:
            raise AssertionError(f"scratch plan: {a.key} at misaligned offset {offsets[a.key]}")
        for b in buffers[i + 1:]:
            if a.overlaps_in_time(b) and a.size and b.size and a.collides(offsets[a.key], b, offsets[b.key]):
                raise AssertionError(f"scratch plan: {a.key} and {b.key} overlap while both are live")
    return max([offsets[b.key] + b.size for b in buffers] + [0])


def plan(program: Program) -> Plan:
    """Place every scratch buffer; the smallest of the strategies wins (ties: the first listed)."""
    fixed, buffers, placed = buffers_of(program)
    candidates = [
        two_sided(buffers),
        greedy(buffers, lambda b: (-b.size, b.first, str(b.key))),
        _fit_work(buffers, greedy([b for b in buffers if not _is_work(b)], lambda b: (-b.size, b.first, str(b.key)))),
        greedy(buffers, lambda b: (b.first, -b.size, str(b.key))),
    ]
    sized = [(check_plan(buffers, c), n, c) for n, c in enumerate(candidates)]
    total, _, offsets = min(sized, key=lambda s: (s[0], s[1]))
    steps = max([b.last for b in buffers] + [-1]) + 1
    bound = max([sum(_claimed(b, k) for b in buffers) for k in range(steps)] + [0])
    logger.debug("scratch plan: %d bytes (strategies %s), live peak %d", total, [s[0] for s in sized], bound)
    storage = dict(fixed)
    storage.update({b.key: offsets[b.key] for b in buffers if not _is_work(b)})
    storage.update({b: offsets[root] + shift for b, (root, shift) in placed.items()})
    work = {b.key[1]: offsets[b.key] for b in buffers if _is_work(b)}
    aligned = (any(program.graph.t(b.key).dtype in ("float32", "int32") for b in buffers if not _is_work(b))
               or any(s.work_bytes and s.work_ctype != "int8_t" for s in program.steps))
    return Plan(storage, work, total, bound, aligned)


def lower_and_plan(graph) -> tuple[Program, Plan]:
    """Lower ``graph`` and plan its scratch. Ops run in place where they can; then each gets its
    own output buffer back where that does not make scratch larger (merging a small output into a
    large input can hold the large block longer), and where running in place costs extra work
    (the depthwise kernel's pending rows) it is lowered again without."""
    from .lower import lower

    program = lower(graph)
    layout = plan(program)
    dropped: set[int] = set()
    for index in [s.op_index for s in program.steps if s.in_place is not None]:
        step = next(s for s in program.steps if s.op_index == index)
        if step.in_place_costs:
            trial = lower(graph, frozenset(dropped | {step.op_index}))
            trial_layout = plan(trial)
            if trial_layout.scratch_bytes <= layout.scratch_bytes:
                dropped.add(step.op_index)
                program, layout = trial, trial_layout
            continue
        step.in_place, saved = None, step.in_place  # the kernel is exact either way: only the plan changes
        trial_layout = plan(program)
        if trial_layout.scratch_bytes < layout.scratch_bytes:
            layout = trial_layout
        else:
            step.in_place = saved
    return program, plan(program)
