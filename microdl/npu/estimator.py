"""NPU cost-model entry point: estimate() and its results, Estimate and LayerEstimate.

How an estimate is made (per-layer compute, memory and overhead, where it departs
from Arm's Vela) is written up in microdl/npu/MODEL.md; the formulas are in
microdl/npu/layers.py, weight streams in compression.py, traffic and the SRAM arena
in memory.py, the hardware presets in config.py.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from microdl.core.graph import Graph, Op
from microdl.core.macs import op_macs
from microdl.npu.compression import WeightSizer
from microdl.npu.config import NPUConfig
from microdl.npu.layers import (CONV_OPS, DEPTHWISE_OPS, ELEMENTWISE_OPS, FREE_OPS,
                                LUT_OPS, MOVE_OPS, POOL_OPS, SOFTMAX_OPS,
                                SOFTMAX_PASSES, COPY_PASSES, concatenation, conv_like,
                                elementwise, pad, pooling, softmax, written_in_place,
                                brick_factor)
from microdl.npu.memory import Traffic, arena_for, placement
from microdl.npu.recurrent import (boundary_tensors, cpu_reason, lstm_dims,
                                   lstm_step_graph)
from microdl.tflite import read_model


# ------------------------------------------------------------------ results
@dataclass
class LayerEstimate:
    """One operator's estimate.

    Attributes:
        index, op_name: the operator in the graph.
        output_shape: shape of its first output (tuple).
        macs: multiply-accumulates (microdl.core.macs.op_macs).
        compute_cycles: cycles of the compute engine (MAC array / output unit /
            elementwise unit), in NPU cycles.
        memory_cycles: cycles the memory traffic needs, in NPU cycles.
        overhead_cycles: cycles not overlapped with the slower stage: pipeline fill
            (one block of the faster stage), the first read's and the last write's
            memory latency, op_overhead_cycles (once per pass), and the wait for
            the weight copy's off-chip read latency.
        cycles: max(compute_cycles, memory_cycles) + overhead_cycles.
        bound: "compute", "memory", "none" for free operators (RESHAPE...), or
            "cpu" for operators Vela leaves to the CPU (0 NPU cycles).
        sram_bytes: bytes read from + written to SRAM.
        offchip_bytes: bytes read from + written to off-chip memory.
        utilization: macs / (cycles * macs_per_cycle), 0..1.
        note: how the operator was costed when not by a specific model, else "".
    """

    index: int
    op_name: str
    output_shape: tuple
    macs: int
    compute_cycles: float
    memory_cycles: float
    overhead_cycles: float
    cycles: float
    bound: str
    sram_bytes: int
    offchip_bytes: int
    utilization: float
    note: str = ""

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["output_shape"] = list(self.output_shape)
        return d


@dataclass
class Estimate:
    """A model's estimate on one NPU configuration.

    Attributes:
        config: the NPUConfig used.
        layers: one LayerEstimate per operator, in execution order.
        total_cycles: sum of the layers' cycles (NPU cycles).
        latency_s: total_cycles / clock_hz, in seconds.
        inferences_per_s: 1 / latency_s.
        total_macs: MACs of one inference (CPU operators' included).
        mac_utilization: the NPU operators' MACs / (total_cycles * macs_per_cycle),
            0..1.
        sram_bytes_read_written: bytes moved to and from SRAM per inference.
        offchip_bytes: bytes moved to and from off-chip memory per inference.
        sram_bandwidth_bytes_per_s / offchip_bandwidth_bytes_per_s: those bytes over
            latency_s (average bandwidth used), in bytes per second.
        arena_bytes: activation arena size in bytes.
        arena_source: "microdl" (microdl's interpreter planned it) or "planned"
            (planned here from activation lifetimes; microdl cannot run the model).
        weight_bytes: raw bytes of the constant tensors of MAC operators.
        encoded_weight_bytes: estimated weight-stream bytes (with scales/biases).
        sram_required_bytes: arena_bytes, plus encoded_weight_bytes when the
            weights live in SRAM.
        fits_sram: sram_required_bytes <= config.sram_bytes.
    """

    config: NPUConfig
    layers: list
    total_cycles: float
    latency_s: float
    inferences_per_s: float
    total_macs: int
    mac_utilization: float
    sram_bytes_read_written: int
    offchip_bytes: int
    sram_bandwidth_bytes_per_s: float
    offchip_bandwidth_bytes_per_s: float
    arena_bytes: int
    arena_source: str
    weight_bytes: int
    encoded_weight_bytes: int
    sram_required_bytes: int
    fits_sram: bool

    def to_dict(self) -> dict:
        """Plain dict (strict-JSON-serialisable: non-finite numbers become None):
        the config as a dict, the layers as dicts."""
        d = {k: v for k, v in self.__dict__.items() if k not in ("config", "layers")}
        for k, v in d.items():
            if isinstance(v, float) and not math.isfinite(v):
                d[k] = None
        d["config"] = self.config.to_dict()
        d["layers"] = [layer.to_dict() for layer in self.layers]
        return d

    def summary(self) -> str:
        """A per-layer table and the totals, as text."""
        rows = [("#", "op", "output", "MACs", "compute", "memory", "overhead",
                 "cycles", "bound", "util")]
        for la in self.layers:
            rows.append((str(la.index), la.op_name, "x".join(map(str, la.output_shape)),
                         f"{la.macs:,}", f"{la.compute_cycles:,.0f}",
                         f"{la.memory_cycles:,.0f}", f"{la.overhead_cycles:,.0f}",
                         f"{la.cycles:,.0f}", la.bound, f"{la.utilization:.0%}"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(v.ljust(w) if i in (1, 2, 8) else v.rjust(w)
                           for i, (v, w) in enumerate(zip(r, widths))) for r in rows]
        c = self.config
        lines.append(
            f"{c.name}: {self.total_cycles:,.0f} cycles = {self.latency_s * 1e3:.3f} ms "
            f"at {c.clock_hz / 1e6:g} MHz ({self.inferences_per_s:,.1f} inferences/s), "
            f"MAC utilization {self.mac_utilization:.1%}")
        lines.append(
            f"SRAM {self.sram_bytes_read_written:,} B moved "
            f"({self.sram_bandwidth_bytes_per_s / 1e9:.2f} GB/s), off-chip "
            f"{self.offchip_bytes:,} B ({self.offchip_bandwidth_bytes_per_s / 1e9:.2f} "
            f"GB/s); arena {self.arena_bytes:,} B, needs {self.sram_required_bytes:,} B "
            f"of {c.sram_bytes:,} B SRAM: "
            f"{'fits' if self.fits_sram else 'DOES NOT FIT'}")
        return "\n".join(lines)


# ------------------------------------------------------------------ entry point
def estimate(model, config, memory: str = "fast") -> Estimate:
    """Estimate the model's per-layer and total cycles, latency and memory traffic.

    Args:
        model: the .tflite file's bytes, or a microdl.core.graph.Graph.
        config: an NPUConfig, or a preset name such as "ethos-u55-128".
        memory: the microdl arena plan whose size the SRAM check uses ("fast" or
            "small", as Interpreter(memory=...); see microdl.npu.memory.arena_for).
    Returns:
        Estimate.
    Raises:
        microdl.ModelError: the model bytes are not a valid TFLite model.
        NPUConfigError: unknown preset name.
        TypeError: model is neither bytes nor a Graph.
    """
    if isinstance(config, str):
        config = NPUConfig.preset(config)
    if not isinstance(config, NPUConfig):
        raise TypeError(f"config must be an NPUConfig or a preset name, got "
                        f"{type(config).__name__}")
    if isinstance(model, Graph):
        graph, content = model, None
    elif isinstance(model, (bytes, bytearray, memoryview)):
        content = bytes(model)
        graph = read_model(content)
    else:
        raise TypeError(f"model must be .tflite bytes or a microdl Graph, got "
                        f"{type(model).__name__}")
    arena, source = arena_for(graph, content, memory)
    return _estimate_graph(graph, config, arena, source)


def _estimate_graph(graph, cfg: NPUConfig, arena_bytes: int, arena_source: str,
                    where=None):
    weights = WeightSizer(graph, cfg)
    # Operators Vela leaves to the CPU cost no NPU cycles; the tensors they exchange
    # with NPU operators are inputs/outputs of separate NPU command streams: they
    # live where the network's input and output do and are stored plain NHWC.
    cpu = {op.index: r for op in graph.ops for r in [cpu_reason(op, graph)] if r}
    if cpu:
        b_in, b_out = boundary_tensors(graph, cpu)
        graph = dataclasses.replace(
            graph, inputs=list(graph.inputs) + sorted(b_in - set(graph.inputs)),
            outputs=list(graph.outputs) + sorted(b_out - set(graph.outputs)))
    # A re-label (RESHAPE...) of the network's input or output is the same bytes
    # in the same place: off-chip on Ethos-U65 and plain NHWC.
    a_in, a_out = _io_aliases(graph)
    if a_in or a_out:
        graph = dataclasses.replace(
            graph, inputs=list(graph.inputs) + sorted(a_in),
            outputs=list(graph.outputs) + sorted(a_out))
    # Which memory each activation tensor lives in.
    intermediates_fit = arena_bytes <= cfg.sram_bytes
    io = set(graph.inputs) | set(graph.outputs)

    def place(t):
        if where is not None:
            if cfg.activations_in == "sram_cache" and t in io:
                return "offchip"
            return where.get(t, (0, 0, "sram"))[2]
        if cfg.activations_in == "sram":
            return "sram"
        if cfg.activations_in == "offchip":
            return "offchip"
        return "offchip" if (t in io or not intermediates_fit) else "sram"

    fusable = {k: v for k, v in _fusable_luts(graph).items()
               if k not in cpu and v not in cpu}
    layers = []
    for op in graph.ops:
        if op.index in cpu:
            layers.append(_cpu_layer(op, graph, cpu[op.index]))
        elif op.name == "UNIDIRECTIONAL_SEQUENCE_LSTM" and _unrollable(op, graph):
            layers.append(_lstm_layer(op, graph, cfg, place))
        elif op.index in fusable:
            layers.append(_fused_lut(op, graph, cfg, layers[fusable[op.index]]))
        else:
            layers.append(_layer(op, graph, cfg, place, weights,
                                 _written_in_place(op, graph)))
    total = float(sum(layer.cycles for layer in layers))
    latency = total / cfg.clock_hz
    macs = int(sum(layer.macs for layer in layers))
    npu_macs = int(sum(la.macs for la in layers if la.bound != "cpu"))
    sram = int(sum(layer.sram_bytes for layer in layers))
    offchip = int(sum(layer.offchip_bytes for layer in layers))
    encoded = weights.total_encoded()
    required = arena_bytes + (encoded if cfg.weights_in == "sram" else 0)
    return Estimate(
        config=cfg, layers=layers, total_cycles=total, latency_s=latency,
        inferences_per_s=(1.0 / latency) if latency > 0 else math.inf,
        total_macs=macs,
        mac_utilization=npu_macs / (total * cfg.macs_per_cycle) if total > 0 else 0.0,
        sram_bytes_read_written=sram, offchip_bytes=offchip,
        sram_bandwidth_bytes_per_s=sram / latency if latency > 0 else 0.0,
        offchip_bandwidth_bytes_per_s=offchip / latency if latency > 0 else 0.0,
        arena_bytes=int(arena_bytes), arena_source=arena_source,
        weight_bytes=weights.total_raw(), encoded_weight_bytes=encoded,
        sram_required_bytes=int(required), fits_sram=bool(required <= cfg.sram_bytes))


def _io_aliases(graph):
    """(input aliases, output aliases): tensors that a chain of re-labels
    (FREE_OPS: RESHAPE, SQUEEZE, EXPAND_DIMS) makes out of a network input, or
    makes a network output out of.  They are the same bytes as that input or
    output (Vela removes the re-label and its tensors share one buffer): they live
    where it lives and keep its NHWC layout (MODEL.md, "Sixth round")."""
    ins, outs = set(graph.inputs), set(graph.outputs)
    relabels = [op for op in graph.ops if op.name in FREE_OPS and op.inputs and
                op.outputs and op.inputs[0] >= 0 and
                graph.tensors[op.inputs[0]].data is None]
    for op in relabels:                       # execution order: chains forward
        if op.inputs[0] in ins:
            ins.add(op.outputs[0])
    for op in reversed(relabels):             # and backward from the outputs
        if op.outputs[0] in outs:
            outs.add(op.inputs[0])
    return ins - set(graph.inputs), outs - set(graph.outputs)


# ------------------------------------------------------------------ SRAM placement
@dataclass
class SramPlacement:
    """Which activation tensors fit in an SRAM and what spilling the rest costs.

    Attributes:
        config: the NPUConfig (its sram_bytes is the SRAM size used).
        arena_bytes: size of the arena microdl's planner lays out
            (microdl.npu.memory.planned_arena), in bytes.
        tensors: one dict per activation tensor: index, name, nbytes, offset (in
            the arena, bytes), where ("sram" or "offchip").
        spilled_bytes: bytes of the tensors that live off-chip.
        layers: one dict per operator: index, op, cycles_in_sram (every
            activation in SRAM), cycles (with this placement), extra_cycles
            (their difference, >= 0 when off-chip memory is the slower one),
            spilled (names of its spilled inputs/outputs).
        extra_cycles: sum of the layers' extra_cycles.
        estimate: the Estimate with this placement.
    """

    config: NPUConfig
    arena_bytes: int
    tensors: list
    spilled_bytes: int
    layers: list
    extra_cycles: float
    estimate: Estimate

    def summary(self) -> str:
        """Per-layer table of the cycles spilling costs, as text."""
        lines = [f"{self.config.name}: arena {self.arena_bytes:,} B, SRAM "
                 f"{self.config.sram_bytes:,} B, spilled {self.spilled_bytes:,} B, "
                 f"+{self.extra_cycles:,.0f} cycles"]
        for la in self.layers:
            lines.append(f"  {la['index']:3d} {la['op']:22s} {la['cycles_in_sram']:>10,.0f}"
                         f" -> {la['cycles']:>10,.0f}  "
                         f"{', '.join(la['spilled']) or '-'}")
        return "\n".join(lines)


def sram_placement(model, config, memory: str = "fast") -> SramPlacement:
    """Place the model's activations in `config.sram_bytes` of SRAM and cost it.

    Tensors are laid out by microdl's own planner (microdl.runtime.planner via
    microdl.npu.memory.placement): memory="fast" one stage per op, memory="small" the
    plan Interpreter(memory="small") runs (in-place layers, fused chains whose
    intermediates stay in SRAM as windows of rows); those ending beyond the SRAM size
    spill to
    off-chip memory, and their layers read or write them at the off-chip bandwidth
    and latency.  With activations_in == "sram_cache" the network's input and output
    stay off-chip as in estimate().

    Args:
        model: .tflite bytes or a microdl Graph.
        config: NPUConfig or preset name.
        memory: "fast" or "small", the arena plan (see above).
    Returns:
        SramPlacement.
    Raises:
        as estimate(); ValueError for another memory; microdl's errors when
        memory="small" and microdl cannot run the model.
    """
    if isinstance(config, str):
        config = NPUConfig.preset(config)
    if not isinstance(config, NPUConfig):
        raise TypeError(f"config must be an NPUConfig or a preset name, got "
                        f"{type(config).__name__}")
    graph = model if isinstance(model, Graph) else read_model(bytes(model))
    where = placement(graph, int(config.sram_bytes), memory,
                      None if isinstance(model, Graph) else bytes(model))
    arena = max((off + n for off, n, _ in where.values()), default=0)
    everything = {t: (o, n, "sram") for t, (o, n, _) in where.items()}
    base = _estimate_graph(graph, config, arena, "planned", everything)
    est = _estimate_graph(graph, config, arena, "planned", where)
    io = set(graph.inputs) | set(graph.outputs)
    spilled = {t for t, v in where.items() if v[2] == "offchip" and
               not (config.activations_in == "sram_cache" and t in io)}
    layers = []
    for op, b, e in zip(graph.ops, base.layers, est.layers):
        names = [graph.tensors[t].name for t in list(op.inputs) + list(op.outputs)
                 if t in spilled]
        layers.append({"index": op.index, "op": op.name, "cycles_in_sram": b.cycles,
                       "cycles": e.cycles, "extra_cycles": e.cycles - b.cycles,
                       "spilled": names})
    tensors = [{"index": t, "name": graph.tensors[t].name, "nbytes": n, "offset": o,
                "where": "offchip" if t in spilled else "sram"}
               for t, (o, n, _) in sorted(where.items())]
    return SramPlacement(config=config, arena_bytes=int(arena), tensors=tensors,
                         spilled_bytes=int(sum(where[t][1] for t in spilled)),
                         layers=layers,
                         extra_cycles=float(sum(la["extra_cycles"] for la in layers)),
                         estimate=est)


# ------------------------------------------------------------------ fusion
# Operators whose output stage can apply a lookup-table activation on the way out.
# (AVERAGE_POOL_2D rescales in its output stage; Vela 5.2 does not fuse a LUT there.)
_LUT_HOSTS = CONV_OPS | DEPTHWISE_OPS | {"MAX_POOL_2D", "ADD", "SUB", "MUL"}


def _consumers(g):
    out = {}
    for op in g.ops:
        for i in op.inputs:
            if i >= 0:
                out.setdefault(i, []).append(op.index)
    return out


def _fusable_luts(g):
    """{LUT op index: producer op index} for lookup-table activations that run in
    the output stage of the operator before them: its output feeds only the
    activation, is not a graph output, and it has no fused activation of its own
    (the output stage applies one; Vela fuses them the same way)."""
    producer = {o: op.index for op in g.ops for o in op.outputs}
    cons = _consumers(g)
    out = {}
    for op in g.ops:
        if op.name not in LUT_OPS or not op.inputs:
            continue
        x = op.inputs[0]
        p = producer.get(x)
        if (p is not None and g.ops[p].name in _LUT_HOSTS and
                len(cons.get(x, [])) == 1 and x not in g.outputs and
                len(g.ops[p].outputs) == 1 and
                not g.ops[p].options.get("fused_activation_function", 0)):
            out[op.index] = p
    return out


def _written_in_place(op, g):
    """True for a PAD whose producer writes straight into the interior of the padded
    tensor (layers.written_in_place)."""
    if op.name not in ("PAD", "PADV2") or not op.inputs:
        return False
    return written_in_place(g, op.inputs[0], op.index)


LUT_BYTES = {1: 256, 2: 2048}    # table bytes: int8 256 x 1 B, int16 512 x 4 B
# int16 sigmoid and tanh are functions of Ethos-U's output stage itself: no table
# (Vela builds lookup tables for them only for 8-bit data).
NATIVE_INT16_ACTIVATIONS = frozenset({"LOGISTIC", "TANH"})


def _lut_load_cycles(op, g, cfg):
    """Cycles to DMA the activation's lookup table into the NPU before the operator
    runs (from off-chip memory when the weights live there): table bytes over the
    bandwidth plus the read latency; not hidden under the operator.  0 for the
    int16 sigmoid and tanh the output stage computes without a table."""
    esize = np.dtype(g.tensors[op.outputs[0]].dtype).itemsize
    if esize == 2 and op.name in NATIVE_INT16_ACTIVATIONS:
        return 0.0
    nbytes = LUT_BYTES.get(esize, 2048)
    if cfg.weights_in == "offchip":
        return nbytes / cfg.offchip_bytes_per_cycle + cfg.offchip_read_latency_cycles
    return nbytes / cfg.sram_bytes_per_cycle + cfg.sram_latency_cycles


def _fused_lut(op, g, cfg, host: LayerEstimate) -> LayerEstimate:
    """A lookup-table activation fused into `host`: the host's output stage now
    takes lut_cycles_per_elem per element; the cycles this adds to the host's
    max(compute, memory) are reported on the activation's own line."""
    y = g.tensors[op.outputs[0]]
    lut = int(y.size) * cfg.lut_cycles_per_elem
    # (The table's load is prefetched under the layers before: not counted.)
    extra = max(0.0, lut - max(host.compute_cycles, host.memory_cycles))
    return LayerEstimate(op.index, op.name, tuple(y.shape), 0, float(extra), 0.0, 0.0,
                         float(extra), "compute" if extra > 0 else "none", 0, 0, 0.0,
                         note=f"fused into layer {host.index}'s output stage")


# ------------------------------------------------------------------ CPU, LSTM
def _cpu_layer(op, g, reason) -> LayerEstimate:
    """An operator Vela leaves to the CPU: 0 NPU cycles (Vela reports it so), its
    MACs still counted."""
    out = tuple(g.tensors[op.outputs[0]].shape) if op.outputs else ()
    return LayerEstimate(op.index, op.name, out, int(op_macs(op, g)), 0.0, 0.0, 0.0,
                         0.0, "cpu", 0, 0, 0.0, note=reason)


def _unrollable(op, g) -> bool:
    """The LSTM has the tensors lstm_step_graph needs (else: one elementwise pass)."""
    try:
        lstm_step_graph(op, g)
    except (IndexError, ValueError, TypeError, AttributeError):
        return False
    return True


def _lstm_layer(op, g, cfg, place) -> LayerEstimate:
    """UNIDIRECTIONAL_SEQUENCE_LSTM unrolled as Vela does (recurrent.lstm_step_graph):
    one time step's operations costed by the ordinary formulas, times the steps.
    The step's features are a slice of the LSTM's input and its copy lands in the
    LSTM's output (`place` of those); the output and cell states are the variable
    tensors, which persist between invokes in the CPU-visible arena: off-chip
    unless every activation lives in SRAM (Vela's memory modes)."""
    step, steps = lstm_step_graph(op, g)
    x_place, y_place = place(op.inputs[0]), place(op.outputs[0])
    state_place = "sram" if cfg.activations_in == "sram" else "offchip"
    feature, sequence_out = step.inputs[0], step.outputs[-1]

    def step_place(t):
        if t == feature:
            return x_place
        if t == sequence_out:
            return y_place
        if t in step.inputs or t in step.outputs:
            return state_place
        return "offchip" if cfg.activations_in == "offchip" else "sram"

    weights = WeightSizer(step, cfg)
    fusable = _fusable_luts(step)
    parts = []
    for sop in step.ops:
        if sop.index in fusable:
            parts.append(_fused_lut(sop, step, cfg, parts[fusable[sop.index]]))
        else:
            parts.append(_layer(sop, step, cfg, step_place, weights, False))
    per_gate = {}
    for sop, la in zip(step.ops, parts):
        gate = sop.options["gate"]
        per_gate[gate] = per_gate.get(gate, 0.0) + la.cycles
    compute = steps * sum(la.compute_cycles for la in parts)
    memory = steps * sum(la.memory_cycles for la in parts)
    overhead = steps * sum(la.overhead_cycles for la in parts)
    cycles = steps * sum(la.cycles for la in parts)
    macs = int(op_macs(op, g))
    y = g.tensors[op.outputs[0]]
    _, batch, _, _, _ = lstm_dims(op, g)
    note = (f"unrolled as Vela does: {steps} steps (batch {batch} each) x "
            f"{len(step.ops)} operations (8 FULLY_CONNECTED, ADD+LUT per gate, "
            f"clamps, cell/output-state MUL/ADD/TANH, copy); cycles per step: " +
            ", ".join(f"{k} {v:,.0f}" for k, v in per_gate.items()))
    if np.dtype(g.tensors[op.inputs[0]].dtype).kind == "f":
        note += "; float input: Ethos-U runs int8/int16 only (costed as if quantized)"
    return LayerEstimate(
        index=op.index, op_name=op.name, output_shape=tuple(y.shape), macs=macs,
        compute_cycles=float(compute), memory_cycles=float(memory),
        overhead_cycles=float(overhead), cycles=float(cycles),
        bound="compute" if compute >= memory else "memory",
        sram_bytes=int(steps * sum(la.sram_bytes for la in parts)),
        offchip_bytes=int(steps * sum(la.offchip_bytes for la in parts)),
        utilization=float(min(macs / (cycles * cfg.macs_per_cycle), 1.0))
        if cycles > 0 else 0.0, note=note)


# ------------------------------------------------------------------ one layer
COMMANDS_IN_FLIGHT = 4        # block commands the NPU overlaps (Vela 5.2's model)
# Standalone LUTs and copies: the OFM block Vela 5.2 schedules them in when the map
# (channels a multiple of 8) is bigger than LOOKUP_COPY_SMALL_BLOCK_ABOVE bytes:
# 4 x 4 pixels by up to 128 channels (64 x 64 x 8, 96 x 96 x 8, 32 x 32 x 48,
# 8 x 8 x 192 on the tuning half); smaller maps get a few big blocks (24 x 24 x 8:
# 14 x 22).  It matters where the per-block latencies bind: a DRAM input on U65.
LOOKUP_COPY_BLOCK = (4, 4, 128)
LOOKUP_COPY_SMALL_BLOCK_ABOVE = 8192
# Elements per block over which a standalone lookup's pipeline fill is spread (ours,
# from the tuning half: Vela's cycles for a 4 x 4 x 96 lookup writing to DRAM are its
# compute, its write-back and the latencies one after the other -- one block -- and a
# 24 x 24 x 8 one runs in four; MODEL.md, "Fifth round").
LOOKUP_FILL_BLOCK_ELEMS = 1024


def _command_blocks(op, g, cfg):
    """OFM blocks (ofm_block, clipped to the tensor) a streaming operator's output
    is cut into, one NPU command each."""
    from microdl.npu.layers import _nhwc
    n, h, w, c = _nhwc(g.tensors[op.outputs[0]].shape)
    bh, bw, bd = cfg.ofm_block
    esize = np.dtype(g.tensors[op.outputs[0]].dtype).itemsize
    if ((op.name in LUT_OPS or op.name == "CONCATENATION") and c % 8 == 0 and
            n * h * w * c * esize > LOOKUP_COPY_SMALL_BLOCK_ABOVE):
        # Standalone table lookups and copies of maps too big for the NPU's
        # internal buffer run in LOOKUP_COPY_BLOCK blocks (Vela 5.2's schedules
        # on the tuning half; ours as a rule).
        bh, bw, bd = LOOKUP_COPY_BLOCK
    return n * -(-h // bh) * -(-w // bw) * -(-c // bd)


def _command_bound(op, g, cfg, traffic, compute, blocks, mac_op):
    """Lower bound on a layer's cycles from its block commands: each OFM
    block's command waits for its IFM block's read latency and its OFM block's
    write latency, moves its feature-map bytes (SRAM and off-chip one after the
    other) and computes; COMMANDS_IN_FLIGHT such commands overlap.  It binds where
    blocks are small and latencies long: a network input or output in DRAM
    (Ethos-U65's 500-cycle reads) cut into many blocks.  Vela 5.2 bounds each
    block's time the same way (its per-block command estimate)."""
    if not op.outputs:
        return 0.0
    n_blocks = blocks if mac_op else _command_blocks(op, g, cfg)
    latency = traffic.fm_read_latency + traffic.fm_write_latency
    return (n_blocks * latency + traffic.fm_transfer_cycles() + compute) / \
        COMMANDS_IN_FLIGHT


_CLAMPS = (1, 2, 3)    # fused RELU, RELU_N1_TO_1, RELU6
# Two-input elementwise operators: costed without pipeline fill or latency.
BINARY_ELEMENTWISE = frozenset({"ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM"})
CLAMP_SEPARATE_BELOW = 8   # output channels (ours, from Vela 5.2's per-layer rows)


def _separate_clamp(op, g, cfg) -> bool:
    """A convolution or depthwise convolution with a fused ReLU/ReLU6 and fewer
    than CLAMP_SEPARATE_BELOW output channels: Vela 5.2 runs the clamp as its own
    elementwise operation after it (its per-layer report has a Relu row of the
    layer's own cycles for 1-, 3- and 4-channel outputs on the tuning half, none
    from 8 channels up)."""
    if op.name not in ("CONV_2D", "DEPTHWISE_CONV_2D") or not op.outputs:
        return False
    if op.options.get("fused_activation_function", 0) not in _CLAMPS:
        return False
    from microdl.npu.layers import _nhwc
    return _nhwc(g.tensors[op.outputs[0]].shape)[3] < CLAMP_SEPARATE_BELOW


def _weight_wait(cfg, traffic):
    """Cycles the compute of a layer whose weights the DMA copies off-chip -> SRAM
    waits before it can start: the copy's off-chip read latency, in series with the
    compute (the copy's bytes are in the layer's memory traffic like any others).
    The DMA could start the copy under the layer before, but Vela 5.2 does not
    hide it there: on the tuning half its NPU cycles of U65 convolutions exceed
    their compute by >= ~400 cycles even after layers of 30,000 (MODEL.md, "Fourth
    round").  0 without such a copy."""
    if traffic.weight_dma_bytes <= 0:
        return 0.0
    return float(cfg.offchip_read_latency_cycles)


def _layer(op, g, cfg: NPUConfig, place, weights, in_place=False) -> LayerEstimate:
    out_t = g.tensors[op.outputs[0]] if op.outputs else None
    out_shape = tuple(out_t.shape) if out_t is not None else ()
    macs = int(op_macs(op, g))
    traffic = Traffic(cfg)
    passes = 1
    note = ""
    name = op.name
    if name in FREE_OPS:
        return LayerEstimate(op.index, name, out_shape, macs, 0.0, 0.0, 0.0, 0.0,
                             "none", 0, 0, 0.0)
    try:
        if name in CONV_OPS or name in DEPTHWISE_OPS:
            compute, blocks = conv_like(op, g, cfg, place, weights, traffic)
        elif name in POOL_OPS or name == "MEAN":
            work = pooling(op, g, cfg, place, traffic)
            if work is None:
                work = elementwise(op, g, cfg, place, traffic, cfg.elementwise_rate)
            compute, blocks = work
        elif name in ("PAD", "PADV2") and pad(op, g, cfg, place, Traffic(cfg),
                                              in_place) is not None:
            compute, blocks, passes = pad(op, g, cfg, place, traffic, in_place)
        elif name == "CONCATENATION":
            compute, blocks = concatenation(op, g, cfg, place, traffic)
        elif name in LUT_OPS:
            # Standalone: the elementwise unit reads the IFM and the output stage
            # looks up the table, two output-stage slots per element; first the
            # table is copied from the weights' memory into the NPU's SHRAM.
            compute, blocks = elementwise(op, g, cfg, place, traffic,
                                          cfg.output_rate / COPY_PASSES)
            compute += _lut_load_cycles(op, g, cfg)
            # Its fetch, lookup and write-back overlap only across blocks of
            # LOOKUP_FILL_BLOCK_ELEMS: one such block is not overlapped.
            y = g.tensors[op.outputs[0]]
            traffic.fill_blocks = -(-int(y.size) // LOOKUP_FILL_BLOCK_ELEMS)
            if int(y.nbytes) * brick_factor(g, cfg, y.index) <= \
                    LOOKUP_COPY_SMALL_BLOCK_ABOVE:
                # A map that fits the NPU's buffer runs as one block: fetch,
                # lookup and write-back one after the other (MODEL.md, "Sixth
                # round").
                traffic.fill_blocks = 1
        elif name in SOFTMAX_OPS:
            passes = SOFTMAX_PASSES
            compute, blocks = softmax(op, g, cfg, place, traffic, passes)
        elif name in MOVE_OPS:
            compute, blocks = elementwise(op, g, cfg, place, traffic, cfg.output_rate)
        elif name in ELEMENTWISE_OPS:
            compute, blocks = elementwise(op, g, cfg, place, traffic,
                                          cfg.elementwise_rate)
        else:
            note = "no specific model: one elementwise pass"
            compute, blocks = elementwise(op, g, cfg, place, traffic,
                                          cfg.elementwise_rate)
    except (IndexError, ValueError, TypeError, ZeroDivisionError) as e:
        # Malformed or unusual shapes: fall back to a plain pass over the output.
        note = f"unusual shapes ({e}); one elementwise pass"
        traffic = Traffic(cfg)
        compute, blocks = elementwise(op, g, cfg, place, traffic, cfg.elementwise_rate)
    if any(i >= 0 and g.tensors[i].data is None and g.tensors[i].dtype is not None and
           np.dtype(g.tensors[i].dtype).kind == "f" for i in op.inputs):
        note = (note + "; " if note else "") + \
            "float input: Ethos-U runs int8/int16 only (costed as if quantized)"
    extra_passes = 0
    if _separate_clamp(op, g, cfg):
        # The fused ReLU runs as its own pass over the OFM (read and write it,
        # COPY_PASSES output-stage slots per element), after the convolution.
        y = g.tensors[op.outputs[0]]
        clamp = Traffic(cfg)
        clamp_compute, _ = elementwise(
            Op(index=op.index, name="RELU", version=1, inputs=[y.index],
               outputs=[y.index], options={}), g, cfg, place, clamp,
            cfg.output_rate / COPY_PASSES)
        compute += max(clamp_compute, clamp.cycles())
        extra_passes = 1
        for k in ("sram", "offchip"):
            traffic.real[k] += clamp.real[k]
        note = (note + "; " if note else "") + \
            "fused ReLU as a separate pass (fewer than 8 output channels)"
    memory = traffic.cycles()
    bound = 0.0
    if passes == 1 and compute > 0:
        bound = _command_bound(op, g, cfg, traffic, compute, blocks,
                               name in CONV_OPS or name in DEPTHWISE_OPS or
                               name in POOL_OPS or name == "MEAN")
    # Two-stage pipeline over `blocks` blocks: the slower stage sets the pace, one
    # block of the faster stage is not overlapped (the first block's fetch or the
    # last block's compute); plus the first read's and the last write's latency, and
    # the fixed per-operator overhead once per pass.
    fill = min(compute, memory) / max(traffic.fill_blocks or blocks, 1)
    latency = traffic.read_latency + traffic.write_latency
    overhead = fill + latency + (passes + extra_passes) * cfg.op_overhead_cycles
    if name in BINARY_ELEMENTWISE:
        # Binary elementwise operators stream element by element: no pipeline
        # fill, and the memories' latencies only inside the per-block command
        # bound below (Vela 5.2's elementwise estimate; MODEL.md, "Sixth
        # round"); the fixed per-operator overhead stays.
        overhead = (passes + extra_passes) * cfg.op_overhead_cycles
    cycles = max(compute, memory) + overhead
    waited = _weight_wait(cfg, traffic)
    if waited > 0:
        # Waiting for the weights' DMA: in series with the compute.
        grown = max(compute + waited, memory) + overhead
        overhead += grown - cycles
        cycles = grown
    if bound > cycles:
        # The block commands' latencies set the pace: reported as overhead.
        overhead += bound - cycles
        cycles = bound
    util = macs / (cycles * cfg.macs_per_cycle) if cycles > 0 else 0.0
    return LayerEstimate(
        index=op.index, op_name=name, output_shape=out_shape, macs=macs,
        compute_cycles=float(compute), memory_cycles=float(memory),
        overhead_cycles=float(overhead), cycles=float(cycles),
        bound="compute" if compute >= memory else "memory",
        sram_bytes=int(round(traffic.real["sram"])),
        offchip_bytes=int(round(traffic.real["offchip"])),
        utilization=float(min(util, 1.0)), note=note)
