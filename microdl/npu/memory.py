"""Memory of the NPU cost model: the bytes a layer moves and the bus cycles they take,
and the SRAM arena a graph's activations need (microdl/npu/MODEL.md, "Memory cycles"
and "Totals")."""
from __future__ import annotations

import functools

from microdl.npu.layers import FREE_OPS
from microdl.runtime import planner
from microdl.runtime.interpreter import Interpreter


class Traffic:
    """Bytes moved by one operator: real bytes per memory, and the bus-time bytes
    (real bytes plus what short requests waste of a memory burst)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.real = {"sram": 0.0, "offchip": 0.0}
        self.cost = {"sram": 0.0, "offchip": 0.0}
        self.read_latency = 0.0
        self.write_latency = 0.0
        # Feature maps only (not weights, tables or constants): bus-time bytes per
        # memory and the latency of their reads and writes (the per-block
        # command bound, estimator._command_bound).
        self.fm_cost = {"sram": 0.0, "offchip": 0.0}
        self.fm_read_latency = 0.0
        self.fm_write_latency = 0.0
        # Weight-stream bytes the DMA copies from off-chip memory into an SRAM
        # buffer before the layer needs them (estimator._weight_wait).
        self.weight_dma_bytes = 0.0
        # OFM blocks the pipeline fill is spread over when not the layer's own
        # (layers.conv_like); None: the layer's blocks.
        self.fill_blocks = None

    def weight_dma(self, nbytes):
        """`nbytes` of weights the DMA copies off-chip -> SRAM for the layer
        (their bus time is add()ed too; the wait in estimator._weight_wait)."""
        if nbytes <= 0:
            return
        self.weight_dma_bytes += nbytes

    def add(self, where, nbytes, request_bytes=None, write=False, fm=True,
            latency=True):
        """`nbytes` read from (or, with `write`, written to) `where`, in requests of
        `request_bytes` contiguous bytes (None: long contiguous runs).  `fm`: the
        bytes are a feature map's (False for weights, tables and constants).
        `latency`: the layer waits for this memory's latency as part of its
        overhead (False for a weight copy, whose wait estimator._weight_wait
        adds in series with the compute)."""
        if nbytes <= 0:
            return
        wait = latency
        c = self.cfg
        if where == "sram":
            latency = c.sram_latency_cycles
        else:
            latency = (c.offchip_write_latency_cycles if write
                       else c.offchip_read_latency_cycles)
        if wait and write:
            self.write_latency = max(self.write_latency, latency)
        elif wait:
            self.read_latency = max(self.read_latency, latency)
        self.real[where] += nbytes
        if request_bytes is None or request_bytes <= 0:
            cost = nbytes
        else:
            burst = c.sram_burst_bytes if where == "sram" else c.offchip_burst_bytes
            cost = nbytes * burst / min(burst, request_bytes)
        self.cost[where] += cost
        if fm:
            self.fm_cost[where] += cost
            if write:
                self.fm_write_latency = max(self.fm_write_latency, latency)
            else:
                self.fm_read_latency = max(self.fm_read_latency, latency)

    def fm_transfer_cycles(self):
        """Bus cycles of the feature-map bytes, SRAM and off-chip one after the
        other (as one block's fetch and write-back of a command)."""
        c = self.cfg
        return (self.fm_cost["sram"] / c.sram_bytes_per_cycle +
                self.fm_cost["offchip"] / c.offchip_bytes_per_cycle)

    def cycles(self):
        c = self.cfg
        return max(self.cost["sram"] / c.sram_bytes_per_cycle,
                   self.cost["offchip"] / c.offchip_bytes_per_cycle)


# ------------------------------------------------------------------ arena
def arena_for(graph, content, memory="fast"):
    """(arena bytes, source): microdl's planned arena (Interpreter(memory=memory))
    when microdl runs the model (`content`: its .tflite bytes), else
    planned_arena_bytes(graph)."""
    if content is not None:
        try:
            it = Interpreter(model_content=content, memory=memory)
            it.allocate_tensors()
            return int(it.arena_bytes), "microdl"
        except Exception:  # noqa: BLE001 - any failure: plan it ourselves
            pass
    return planned_arena_bytes(graph), "planned"


def planned_arena(graph):
    """microdl.runtime.planner.ArenaPlan of the graph's activation tensors (see
    planned_arena_bytes for the lifetimes and aliases)."""
    t = graph.tensors
    aliases = [(op.inputs[0], op.outputs[0]) for op in graph.ops
               if op.name in FREE_OPS and op.inputs and op.outputs and
               op.inputs[0] >= 0 and t[op.inputs[0]].data is None and
               t[op.inputs[0]].nbytes == t[op.outputs[0]].nbytes]
    steps = [planner.Step(op.inputs, op.outputs, k) for k, op in enumerate(graph.ops)]
    return planner.plan_graph(graph, steps, aliases=aliases)


@functools.lru_cache(maxsize=4)
def _small_offsets(content: bytes) -> dict:
    """Arena offsets of microdl's memory="small" plan of a model (the search takes
    a fraction of a second; a what-if sweep asks for the same model many times)."""
    it = Interpreter(model_content=content, memory="small")
    it.allocate_tensors()
    return it.arena_offsets()


def placement(graph, sram_bytes: int, memory: str = "fast", content=None) -> dict:
    """Which memory each activation tensor lives in for an SRAM of `sram_bytes`.

    memory="fast": the arena microdl's planner lays out for one stage per op
    (planned_arena) is mapped onto the SRAM from address 0.  memory="small": the
    arena of microdl's own memory="small" plan (Interpreter(memory="small"): in-place
    layers, fused chains) for the model's .tflite bytes `content` (written from
    `graph` when None); the intermediates of fused chains have no entry (they only
    exist as windows of rows in the chain's scratch: the estimate counts them in
    SRAM).  A tensor whose byte range [offset, offset + nbytes) ends within
    `sram_bytes` lives in SRAM, the others spill to off-chip memory.  Offsets do not
    depend on the SRAM size, so a bigger SRAM never spills more.

    Returns:
        {tensor index: (offset in bytes, nbytes, "sram" or "offchip")} for every
        activation tensor the plan places (aliases report their root's offset).
    Raises:
        ValueError: sram_bytes < 0, or memory not "fast" / "small".
        microdl errors (UnsupportedOpError, ModelError): memory="small" on a model
            microdl cannot run."""
    if sram_bytes < 0:
        raise ValueError(f"sram_bytes must be >= 0, got {sram_bytes}")
    if memory not in ("fast", "small"):
        raise ValueError(f"memory must be 'fast' or 'small', got {memory!r}")
    if memory == "small":
        if content is None:
            from microdl.tflite.writer import write_model
            content = write_model(graph)
        offsets = _small_offsets(bytes(content))
    else:
        plan = planned_arena(graph)
        offsets = {ti: plan.tensor_offset(ti) for ti in range(len(graph.tensors))}
    out = {}
    for ti, tt in enumerate(graph.tensors):
        off = offsets.get(ti)
        if off is None or tt.data is not None:
            continue
        nbytes = int(tt.nbytes)
        out[ti] = (int(off), nbytes,
                   "sram" if off + nbytes <= sram_bytes else "offchip")
    return out


def planned_arena_bytes(graph) -> int:
    """Arena bytes for the graph's activation tensors: each live from the op that
    writes it (or the start, for graph inputs) to its last reader (or the end, for
    graph outputs); RESHAPE-like ops alias their input; placed by microdl's planner
    (microdl.runtime.planner.plan_graph, one stage per op, no kernel scratch) at
    16-byte alignment."""
    return planned_arena(graph).total_bytes
