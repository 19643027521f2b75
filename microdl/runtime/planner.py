"""Static arena planning: every buffer gets a fixed offset in one arena.

A buffer is live over steps [first, last] (inclusive).  Placement is greedy: buffers
are taken in some order, each put at the lowest 16-byte-aligned offset that overlaps no
placed buffer whose lifetime overlaps its own.  TFLite Micro's GreedyMemoryPlanner
(tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc) takes them largest
first; that order misses the lower bound on some chains (VWW: 64,512 B against a largest
live set of 55,296 B), so plan() also tries size x lifetime, lifetime and first-use
orders and keeps the smallest arena (stopping as soon as one meets the lower bound).

plan_graph() is the one place that turns a schedule of a graph into buffers: it
computes every arena tensor's lifetime (aliases share their root's memory, graph
inputs and variables may be kept for the whole run) and each step's kernel scratch,
and places them.  microdl.Interpreter plans its arena with it, microdl.npu the SRAM a
graph needs.

In-place steps (memory="small"): a step given as an InPlace candidate may write its
output into its input's block when the input dies at that step (no later step reads
it or anything sharing its memory, and it is no graph output, variable, or graph input
kept by preserve_inputs; preserve_all disables it).  The output then shares the
input's root at a byte distance `delta` (the block grows to hold both); the kernel
(cext/include/mdl_inplace.h) orders its writes so no input byte is overwritten before
its last read.  Unlike an alias, the two tensors' bytes differ: only one of them is
meaningful at a time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence, Tuple

from microdl.core.errors import ModelError
from microdl.core.graph import Graph

ALIGNMENT = 16


@dataclass
class Buffer:
    """A block of arena memory: `size` bytes live from step `first` to `last`."""

    key: object
    size: int
    first: int
    last: int


def align(n: int, alignment: int = ALIGNMENT) -> int:
    return (n + alignment - 1) // alignment * alignment


_ORDERS = (
    ("size", lambda b: (-b.size, b.first, b.last)),
    ("size x lifetime", lambda b: (-b.size * (b.last - b.first + 1), b.first, b.last)),
    ("lifetime", lambda b: (-(b.last - b.first), -b.size, b.first)),
    ("first use", lambda b: (b.first, -b.size, b.last)),
)


def _place(order, alignment):
    placed = []  # (offset, end, buffer)
    offsets = {}
    for b in order:
        size = align(max(b.size, 1), alignment)
        conflicts = sorted(
            (off, end) for off, end, o in placed
            if not (o.last < b.first or b.last < o.first)
        )
        offset = 0
        for off, end in conflicts:
            if off - offset >= size:
                break
            offset = max(offset, end)
        offsets[b.key] = offset
        placed.append((offset, offset + size, b))
    total = max((end for _, end, _ in placed), default=0)
    return offsets, total


def plan(buffers, alignment: int = ALIGNMENT):
    """Assign offsets.

    Args:
        buffers: list of Buffer.
    Returns:
        (offsets, arena_bytes): {key: offset in bytes}, and the arena size in bytes
        (a multiple of `alignment`), the smallest over the greedy orders tried.
    """
    return _search(buffers, alignment, lower_bound(buffers, alignment))


def _search(buffers, alignment, bound):
    best = None
    for _, key in _ORDERS:
        offsets, total = _place(sorted(buffers, key=key), alignment)
        if best is None or total < best[1]:
            best = (offsets, total)
        if total <= bound:
            break
    return best


def lower_bound(buffers, alignment: int = ALIGNMENT) -> int:
    """Largest sum of (aligned) sizes of buffers live at the same step: no static
    plan can use less."""
    steps = {s for b in buffers for s in (b.first, b.last)}
    best = 0
    for s in steps:
        live = sum(align(b.size, alignment) for b in buffers if b.first <= s <= b.last)
        best = max(best, live)
    return best


def tensor_live_bytes(buffers, alignment: int = ALIGNMENT) -> dict:
    """{stage: sum of the aligned sizes of the tensor buffers live at that stage}
    (scratch buffers, keyed ("scratch", k), left out)."""
    tensors = [b for b in buffers
               if not (isinstance(b.key, tuple) and b.key[:1] == ("scratch",))]
    stages = {s for b in buffers for s in range(b.first, b.last + 1)}
    return {s: sum(align(b.size, alignment) for b in tensors if b.first <= s <= b.last)
            for s in stages}


# ------------------------------------------------------------------ graphs
@dataclass
class Step:
    """One step of a schedule, as the planner sees it.

    reads, writes: tensor indices the step reads and writes (negative indices and
        constant tensors, whose `data` is set, are not in the arena and are ignored).
    stage: when it runs, 0, 1, ...; steps of one stage run at the same time (the
        bands of a convolution split over threads), so their buffers are all live.
    scratch_bytes: arena scratch the step needs during its stage only.
    """

    reads: Sequence[int]
    writes: Sequence[int]
    stage: int
    scratch_bytes: int = 0


@dataclass
class InPlace:
    """A candidate in-place step: step `step` reads tensor `input` (its first input)
    and may write tensor `output` into the input's block, starting `delta` bytes after
    the input's first byte (negative: before it)."""

    step: int
    input: int
    output: int
    delta: int = 0


@dataclass
class ArenaPlan:
    """Where every arena buffer of a graph lives.

    Attributes:
        offsets: {root tensor index: byte offset, ("scratch", k): byte offset of
            step k's scratch}.
        total_bytes: the arena size (a multiple of the alignment).
        lower_bound_bytes: the largest live set of these buffers (no static plan of
            them is smaller).
        roots: {aliased tensor index: the tensor whose memory it shares}.
        buffers: the Buffers placed (lifetimes in stages).
        inplace: the InPlace candidates taken, in schedule order (the output's
            offset is the input's plus delta).
    """

    offsets: dict
    total_bytes: int
    lower_bound_bytes: int
    roots: dict = field(default_factory=dict)
    buffers: list = field(default_factory=list)
    inplace: list = field(default_factory=list)

    def root(self, tensor: int) -> int:
        return self.roots.get(tensor, tensor)

    def tensor_offset(self, tensor: int) -> Optional[int]:
        """Byte offset of a tensor (through its alias root); None: not in the arena."""
        return self.offsets.get(self.root(tensor))

    def scratch_offset(self, step: int) -> Optional[int]:
        """Byte offset of step `step`'s scratch; None: it has none."""
        return self.offsets.get(("scratch", step))


def alias_roots(graph: Graph, aliases: Iterable[Tuple[int, int]]) -> dict:
    """{output: root} for (input, output) pairs whose output shares the input's
    memory, in schedule order (chains resolve to the first tensor).

    Raises:
        ModelError: the two tensors of a pair differ in byte size."""
    roots = {}
    for src, dst in aliases:
        a, b = graph.tensors[src], graph.tensors[dst]
        if a.nbytes != b.nbytes:
            raise ModelError(f"tensor {b.index} cannot alias tensor {a.index}: "
                             f"{b.nbytes} vs {a.nbytes} bytes")
        roots[dst] = roots.get(src, src)
    return roots


def plan_graph(graph: Graph, steps: Sequence[Step], *, aliases=(), variables=(),
               preserve_inputs: bool = True, preserve_all: bool = False,
               alignment: int = ALIGNMENT, inplace: Sequence[InPlace] = (),
               loops: Sequence[Tuple[int, int]] = ()) -> ArenaPlan:
    """Lifetimes and placement of a graph's arena tensors and scratch.

    A tensor is in the arena when its `data` is None.  It is live from the first to
    the last stage a step reads or writes it; graph inputs from stage 0 (to the last
    stage with `preserve_inputs`), graph outputs to the last stage, `variables`
    (tensor indices) over every stage, and with `preserve_all` every tensor above
    over every stage.  `loops`: (first, last) stages of loops (control flow, a
    back edge from `last` to `first`): a tensor live both inside a loop and outside it
    is kept over the whole loop (its memory must survive every iteration; tensors
    used only inside one iteration keep their own lifetimes).
    An aliased tensor (`aliases`: (input, output) pairs, see alias_roots) extends the
    lifetime of its root instead of having its own buffer.

    Args:
        graph: the Graph (tensor sizes, constants, inputs, outputs).
        steps: the schedule, a list of Step in execution order.
        inplace: InPlace candidates (at most one per step, `delta` a multiple of
            `alignment`); those whose input dies at their step are taken (see the
            module docstring), the others ignored: ArenaPlan.inplace lists the taken.
    Returns:
        ArenaPlan.
    Raises:
        ModelError: an alias pair differs in byte size.
    """
    t = graph.tensors
    roots = alias_roots(graph, aliases)
    last = max((s.stage for s in steps), default=0)
    span = {}

    def touch(i, stage):
        if i < 0 or t[i].data is not None:
            return
        r = roots.get(i, i)
        lo, hi = span.get(r, (stage, stage))
        span[r] = (min(lo, stage), max(hi, stage))

    for i in graph.inputs:
        touch(i, 0)
        if preserve_inputs:
            touch(i, last)
    for s in steps:
        for i in s.reads:
            touch(i, s.stage)
        for i in s.writes:
            touch(i, s.stage)
    for i in graph.outputs:
        touch(i, last)
    if preserve_all:
        for r in list(span):
            touch(r, 0)
            touch(r, last)
    for i in variables:
        touch(i, 0)
        touch(i, last)
    changed = bool(loops)
    while changed:  # nested loops: until no lifetime grows
        changed = False
        for a, b in loops:
            for r, (lo, hi) in span.items():
                if lo <= b and hi >= a and (lo < a or hi > b):
                    if lo > a or hi < b:
                        span[r] = (min(lo, a), max(hi, b))
                        changed = True
    # In-place candidates taken link buffers into units placed together: member
    # root -> (unit, offset relative to the unit's first member).
    unit = {}
    taken = []
    if not preserve_all:
        kept = set(graph.outputs) | set(variables)
        if preserve_inputs:
            kept |= set(graph.inputs)
        members = {}  # root -> the tensors that share its memory
        if inplace:
            for i in range(len(t)):
                members.setdefault(roots.get(i, i), set()).add(i)
        per_stage = {}
        for k, s in enumerate(steps):
            per_stage[s.stage] = per_stage.get(s.stage, 0) + 1
        io_vars = set(graph.inputs) | set(variables)
        for c in sorted(inplace, key=lambda c: c.step):
            if c.delta % alignment:
                raise ModelError(f"in-place step {c.step}: delta {c.delta} is not a "
                                 f"multiple of {alignment}")
            x, y = c.input, c.output
            if x < 0 or y < 0 or t[x].data is not None or t[y].data is not None:
                continue
            rx, ry = roots.get(x, x), roots.get(y, y)
            stage = steps[c.step].stage
            group_x, group_y = members.get(rx, {rx}), members.get(ry, {ry})
            others = per_stage[stage] > 1
            if (rx == ry or ry in unit or group_x & kept or group_y & io_vars or
                    rx not in span or ry not in span or
                    span[rx][1] != stage or span[ry][0] != stage or others):
                continue
            u, rel = unit.get(rx, (rx, 0))
            unit[rx] = (u, rel)
            unit[ry] = (u, rel + c.delta)
            taken.append(c)
    buffers = [Buffer(r, int(t[r].nbytes), lo, hi) for r, (lo, hi) in span.items()]
    buffers += [Buffer(("scratch", k), s.scratch_bytes, s.stage, s.stage)
                for k, s in enumerate(steps) if s.scratch_bytes > 0]
    units = {}
    for b in buffers:
        u, rel = unit.get(b.key, (b.key, 0))
        units.setdefault(u, []).append((rel, b))
    bound = lower_bound(buffers, alignment)
    offsets, total = _search_units(list(units.values()), alignment, bound)
    return ArenaPlan(offsets, int(total), int(bound), roots, buffers, taken)


def _place_units(order, alignment):
    """First fit of units (lists of (relative offset, Buffer)): each unit at the lowest
    offset where none of its members overlaps a placed buffer of overlapping
    lifetime."""
    placed = []  # (offset, end, buffer)
    offsets = {}
    for members in order:
        lo = min(rel for rel, _ in members)
        mem = [(rel - lo, align(max(b.size, 1), alignment), b) for rel, b in members]
        conflicts = [[(off, end) for off, end, o in placed
                      if not (o.last < b.first or b.last < o.first)] for _, _, b in mem]
        cands = sorted({0} | {end - rel for (rel, _, _), cs in zip(mem, conflicts)
                              for _, end in cs if end - rel >= 0})
        for base in cands:
            if all(end <= base + rel or base + rel + size <= off
                   for (rel, size, _), cs in zip(mem, conflicts) for off, end in cs):
                break
        for rel, size, b in mem:
            offsets[b.key] = base + rel
            placed.append((base + rel, base + rel + size, b))
    total = max((end for _, end, _ in placed), default=0)
    return offsets, total


def _search_units(units, alignment, bound):
    if all(len(m) == 1 for m in units):
        return _search([m[0][1] for m in units], alignment, bound)
    best = None
    for _, key in _ORDERS:
        def unit_key(members):
            lo = min(rel for rel, _ in members)
            hi = max(rel + b.size for rel, b in members)
            return key(Buffer(None, hi - lo, min(b.first for _, b in members),
                              max(b.last for _, b in members)))
        offsets, total = _place_units(sorted(units, key=unit_key), alignment)
        if best is None or total < best[1]:
            best = (offsets, total)
        if total <= bound:
            break
    return best
