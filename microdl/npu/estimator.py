"""Per-layer latency and memory-traffic estimates of an int8 model on an NPU.

``estimate(model, config)`` walks the model's operators in execution order and, for
each, computes the cycles its compute engine needs and the cycles its memory traffic
needs; the layer takes the larger of the two plus its overhead, and layers run one
after another.  microdl's kernels compute what an Ethos-U NPU computes bit for bit;
this module says how long that would take there and whether it fits.

The model is ours: the formulas below and the constants marked "ours" were written
for microdl; the hardware figures (MAC micro-blocks, unit throughputs, bus widths,
bandwidths, latencies, memory modes) are Arm's public ones, listed with their sources
in ``microdl/npu/config.py``.

Per layer
---------
``cycles = max(compute, memory) + overhead``, with
``overhead = min(compute, memory) / blocks + read latency + write latency +
op_overhead_cycles`` (see "Overhead").

Notation: the MAC array works on a micro-block of ``uh x uw`` OFM positions x ``uc``
output channels, each lane summing ``dot`` (8) input channels per cycle, so
``macs_per_cycle = uh*uw*uc*dot``.  One *step* feeds ``D`` (ifm_block_depth, 32)
input channels of one kernel element to every lane and takes ``D/dot`` (4) cycles.
The OFM is processed in blocks of at most ``ofm_block`` (16 x 16 x 16, ours; Vela
searches a block per layer); ``n_xy(b)`` is the number of micro-blocks covering
spatial block b (partial micro-blocks at the edges count whole: that is the
utilization loss of odd shapes), ``Z = ceil(C_out/uc)``, ``K = KH*KW``.

Compute cycles, ``compute = max(mac, output)``:

* CONV_2D (also FULLY_CONNECTED, as a 1x1 convolution whose OFM width is the batch,
  and TRANSPOSE_CONV, as a convolution over the zero-inserted input): the cheaper of
  two traversals, depth-first (``S = K * ceil(C_in/D)`` steps per micro-block: input
  channels padded to 32) and part-kernel-first (``S = ceil(K/4) * ceil(C_in/8)``: 4
  kernel elements x 8 channels per step, what keeps 1- and 3-channel first layers
  tolerable).  Per spatial block,
  ``mac(b) = max(S * Z * (D/dot) * n_xy(b), K*C_in*C_out / weights_per_cycle)``:
  the array computes, or waits for the weight decoder, which decodes the layer's
  weights again for every spatial block.  Small maps (3x3, and every batch-1
  FULLY_CONNECTED) are decoder-bound: about 8 MACs per cycle whatever the array.
* DEPTHWISE_CONV_2D: the 8-wide dot product cannot sum across channels, so a lane
  does one MAC per cycle, kernel elements 4 per step:
  ``mac(b) = max(Z * ceil(K/4) * 4 * n_xy(b), K*C_out / weights_per_cycle)``, a peak
  of macs_per_cycle / 8.
* AVERAGE/MAX/L2_POOL_2D, MEAN over H and W:
  ``mac(b) = Z * n_xy(b) * K * pool_cycles_per_kernel_element``.
* 16-bit activations halve the MAC and pooling rates.
* ``output = OFM elements / output_elems_per_cycle`` for all of the above: the output
  unit (bias, scale, activation, write-out) is a second pipeline stage, the
  bottleneck of 1x1 convolutions with few input channels.
* Elementwise (ADD, SUB, MUL, activations, QUANTIZE, ...): ``OFM elements /
  elementwise_elems_per_cycle``.  Data movement (CONCATENATION, PAD, SLICE,
  TRANSPOSE, ...): ``OFM elements / output_elems_per_cycle``.  SOFTMAX and
  LOG_SOFTMAX: ``SOFTMAX_PASSES`` elementwise passes (Ethos-U has no softmax unit:
  Vela 5.2 lowers an int8 softmax to 28 elementwise/LUT/reduction operations, counted
  in its per-layer report), temporaries in SRAM.
* RESHAPE, SQUEEZE, EXPAND_DIMS re-label a tensor: 0 cycles, bound "none".
* Any other operator: one elementwise pass, marked in the layer's ``note``.

Memory cycles, ``memory = max(sram_cost / sram_bytes_per_cycle, offchip_cost /
offchip_bytes_per_cycle)``: SRAM and off-chip memory sit on separate AXI ports and
work in parallel.  Bytes per layer:

* IFM: for each OFM block, the input window it needs (``((bh-1)*stride + dilated
  KH) x (...)`` pixels: halos are fetched again by neighbouring blocks) with all its
  channels, once per OFM depth block for convolutions (each output channel needs
  every input channel), once for depthwise and pooling.  Elementwise and
  data-movement operators read each input once.  OFM: written once.
* Weights: the encoded weight stream plus ``SCALE_BYTES_PER_CHANNEL`` (10) bytes of
  bias/scale/shift per output channel.  ``weights_in="offchip"``: read once from
  off-chip memory by the DMA, written once into an SRAM staging buffer, then read by
  the NPU once per spatial OFM block.  ``weights_in="sram"``: only the per-block
  reads.
* Placement of activations: ``activations_in`` "sram", "offchip", or "sram_cache"
  (network input and output off-chip, the rest in SRAM when the arena fits in
  ``sram_bytes``, else off-chip).
* Access granularity: the array consumes channels innermost, so activations move
  one pixel's channel slice (up to ``ifm_block_depth`` channels) per request, and a
  request occupies at least one ``axi_bytes`` bus beat: a 3-channel RGB image costs
  8/3 (U55, 64-bit bus) or 16/3 (U65, 128-bit bus) of its size in bus time.  Weight
  streams and elementwise operators are long runs with no waste.  A layer's
  ``sram_bytes`` / ``offchip_bytes`` report the real bytes moved; only the cycles
  include the waste.
* Weight compression (``compress_weights``): Ethos-U stores weights losslessly
  compressed.  ``encoded_weight_bytes`` estimates a stream's size as the smaller of
  two codes computed on the weight values: a Golomb-Rice code of the zigzag-mapped
  weights with the best Rice parameter, and the same for the non-zero weights plus a
  Rice code of the zero-run lengths; plus ``STREAM_HEADER_BYTES``.  On the MLPerf Tiny
  models it comes within 1-6% of Vela's encoder per model (heavily pruned layers
  shrink to a few percent of their raw size, which matters on a 0.5 GB/s flash).

Overhead (ours): a layer is a two-stage pipeline (fetch, compute) over its ``blocks``
OFM blocks, so one block of the faster stage is not overlapped:
``min(compute, memory) / blocks``; the first read and the last write pay the
latency of their memories (``sram_latency_cycles``, ``offchip_*_latency_cycles``);
and every operator pays ``op_overhead_cycles`` (32 in the presets: decoding about 30
register-setting commands of the NPU's command stream at one per cycle).  Softmax
pays the fixed overhead once per pass.

Totals: ``total_cycles`` = sum of the layers' cycles; ``latency_s = total_cycles /
clock_hz``; ``mac_utilization = MACs / (total_cycles * macs_per_cycle)``.
``arena_bytes`` is microdl's own plan (``microdl.Interpreter(model_content=...)
.allocate_tensors()``, ``.arena_bytes``) when microdl runs the model, else
``planned_arena_bytes``: the activation lifetimes of the graph placed with microdl's
planner.  ``fits_sram``: ``arena_bytes`` (plus the encoded weights when
``weights_in == "sram"``) <= ``sram_bytes``.

Where this departs from Vela (Arm's ethos-u-vela compiler and estimator, 5.2)
--------------------------------------------------------------------------
* Scheduling: Vela searches a block configuration per layer, cascades layers so
  intermediate tensors stay on chip, and prefetches the next layer's weights during
  the current one; we use one block size, no cascading and no cross-layer
  prefetch (so flash-bound layers after compute-bound ones come out slower:
  ResNet-8 on U55 is our largest overestimate, +14%).
* Lowering: Vela turns TFLite operators into NPU operations (softmax into 28, some
  pooling into reductions) and removes reshapes; we cost one TFLite operator at a
  time.
* Microarchitecture: Vela's per-block cost includes accumulator delays and a
  minimum 32-cycle weight-load step; ours only the weight-decoder rate, so depthwise
  layers on tiny maps come out faster than Vela says.
* Memory: Vela charges short accesses by burst-length efficiency (a 3-channel pixel
  is 1/4 of a 32-byte SRAM burst, 1/16 of a 128-byte DRAM burst) and adds memory
  latency per block; we charge one bus beat per request and latency once per layer,
  so a first layer reading an RGB image from DRAM (U65) costs 2-3x less than in Vela.
* Weights: Vela encodes the real streams; we estimate their size.
* CPU fallback: Vela leaves unsupported operators to the CPU; we cost every operator
  as if the NPU ran it (float operators are marked in ``note``).

Cross-check (tests/test_npu_vela.py, ``python tests/test_npu_vela.py``): total cycles
of the four MLPerf Tiny int8 models on Ethos-U55-128 and Ethos-U65-256 are within
+-30% of Vela 5.2's ``cycles_total`` (measured: 0.84-1.14 of Vela).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from microdl.core.graph import Graph
from microdl.npu.config import NPUConfig
from microdl.core.macs import op_macs

SOFTMAX_PASSES = 28          # elementwise passes of an int8 softmax (Vela's lowering)
SCALE_BYTES_PER_CHANNEL = 10  # Ethos-U bias (40 bit) + scale (32) + shift (6), padded
STREAM_HEADER_BYTES = 16      # per encoded weight stream (alignment/header)

_CONV = {"CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"}
_DEPTHWISE = {"DEPTHWISE_CONV_2D"}
_POOL = {"AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"}
_FREE = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS"}
_SOFTMAX = {"SOFTMAX", "LOG_SOFTMAX"}
_MOVE = {"CONCATENATION", "PAD", "PADV2", "MIRROR_PAD", "SLICE", "STRIDED_SLICE",
         "SPLIT", "SPLIT_V", "TRANSPOSE", "PACK", "UNPACK", "GATHER", "TILE",
         "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "SPACE_TO_DEPTH",
         "DEPTH_TO_SPACE", "BROADCAST_TO"}
_ELEMENTWISE = {"ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE",
                "RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LEAKY_RELU", "PRELU",
                "LOGISTIC", "TANH", "HARD_SWISH", "QUANTIZE", "DEQUANTIZE", "ABS",
                "NEG", "EXP", "LOG", "RSQRT", "SQRT", "SQUARE", "CAST", "GELU"}


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
            memory latency, and op_overhead_cycles (once per pass).
        cycles: max(compute_cycles, memory_cycles) + overhead_cycles.
        bound: "compute", "memory", or "none" for free operators (RESHAPE...).
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
        total_macs: MACs of one inference.
        mac_utilization: total_macs / (total_cycles * macs_per_cycle), 0..1.
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
def estimate(model, config) -> Estimate:
    """Estimate the model's per-layer and total cycles, latency and memory traffic.

    Args:
        model: the .tflite file's bytes, or a microdl.core.graph.Graph.
        config: an NPUConfig, or a preset name such as "ethos-u55-128".
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
        from microdl.tflite import read_model
        content = bytes(model)
        graph = read_model(content)
    else:
        raise TypeError(f"model must be .tflite bytes or a microdl Graph, got "
                        f"{type(model).__name__}")
    arena, source = _arena_bytes(graph, content)
    return _estimate_graph(graph, config, arena, source)


def _estimate_graph(graph, cfg: NPUConfig, arena_bytes: int, arena_source: str):
    weights = _WeightSizer(graph, cfg)
    # Which memory each activation tensor lives in.
    intermediates_fit = arena_bytes <= cfg.sram_bytes
    io = set(graph.inputs) | set(graph.outputs)

    def place(t):
        if cfg.activations_in == "sram":
            return "sram"
        if cfg.activations_in == "offchip":
            return "offchip"
        return "offchip" if (t in io or not intermediates_fit) else "sram"

    layers = [_layer(op, graph, cfg, place, weights) for op in graph.ops]
    total = float(sum(layer.cycles for layer in layers))
    latency = total / cfg.clock_hz
    macs = int(sum(layer.macs for layer in layers))
    sram = int(sum(layer.sram_bytes for layer in layers))
    offchip = int(sum(layer.offchip_bytes for layer in layers))
    encoded = weights.total_encoded()
    required = arena_bytes + (encoded if cfg.weights_in == "sram" else 0)
    return Estimate(
        config=cfg, layers=layers, total_cycles=total, latency_s=latency,
        inferences_per_s=(1.0 / latency) if latency > 0 else math.inf,
        total_macs=macs,
        mac_utilization=macs / (total * cfg.macs_per_cycle) if total > 0 else 0.0,
        sram_bytes_read_written=sram, offchip_bytes=offchip,
        sram_bandwidth_bytes_per_s=sram / latency if latency > 0 else 0.0,
        offchip_bandwidth_bytes_per_s=offchip / latency if latency > 0 else 0.0,
        arena_bytes=int(arena_bytes), arena_source=arena_source,
        weight_bytes=weights.total_raw(), encoded_weight_bytes=encoded,
        sram_required_bytes=int(required), fits_sram=bool(required <= cfg.sram_bytes))


# ------------------------------------------------------------------ traffic
class _Traffic:
    """Bytes moved by one operator: real bytes per memory, and the bus-time bytes
    (real bytes plus what short requests waste of a bus beat)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.real = {"sram": 0.0, "offchip": 0.0}
        self.cost = {"sram": 0.0, "offchip": 0.0}
        self.read_latency = 0.0
        self.write_latency = 0.0

    def add(self, where, nbytes, request_bytes=None, write=False):
        """`nbytes` read from (or, with `write`, written to) `where`, in requests of
        `request_bytes` contiguous bytes (None: long contiguous runs)."""
        if nbytes <= 0:
            return
        c = self.cfg
        if where == "sram":
            latency = c.sram_latency_cycles
        else:
            latency = (c.offchip_write_latency_cycles if write
                       else c.offchip_read_latency_cycles)
        if write:
            self.write_latency = max(self.write_latency, latency)
        else:
            self.read_latency = max(self.read_latency, latency)
        self.real[where] += nbytes
        if request_bytes is None or request_bytes <= 0:
            self.cost[where] += nbytes
        else:
            beat = self.cfg.axi_bytes
            per_request = math.ceil(request_bytes / beat) * beat
            self.cost[where] += nbytes * per_request / request_bytes

    def cycles(self):
        c = self.cfg
        return max(self.cost["sram"] / c.sram_bytes_per_cycle,
                   self.cost["offchip"] / c.offchip_bytes_per_cycle)


def _splits(n, b):
    """Block sizes covering n in blocks of at most b."""
    n, b = max(int(n), 1), max(int(b), 1)
    full, rem = divmod(n, b)
    return [b] * full + ([rem] if rem else [])


def _ceil(a, b):
    return -(-int(a) // int(b))


# ------------------------------------------------------------------ one layer
def _layer(op, g, cfg: NPUConfig, place, weights) -> LayerEstimate:
    out_t = g.tensors[op.outputs[0]] if op.outputs else None
    out_shape = tuple(out_t.shape) if out_t is not None else ()
    macs = int(op_macs(op, g))
    traffic = _Traffic(cfg)
    passes = 1
    note = ""
    name = op.name
    if name in _FREE:
        return LayerEstimate(op.index, name, out_shape, macs, 0.0, 0.0, 0.0, 0.0,
                             "none", 0, 0, 0.0)
    try:
        if name in _CONV or name in _DEPTHWISE:
            compute, blocks = _conv_like(op, g, cfg, place, weights, traffic)
        elif name in _POOL or name == "MEAN":
            work = _pool(op, g, cfg, place, traffic)
            if work is None:
                work = _elementwise(op, g, cfg, place, traffic, cfg.elementwise_rate)
            compute, blocks = work
        elif name in _SOFTMAX:
            passes = SOFTMAX_PASSES
            compute, blocks = _softmax(op, g, cfg, place, traffic, passes)
        elif name in _MOVE:
            compute, blocks = _elementwise(op, g, cfg, place, traffic, cfg.output_rate)
        elif name in _ELEMENTWISE:
            compute, blocks = _elementwise(op, g, cfg, place, traffic,
                                           cfg.elementwise_rate)
        else:
            note = "no specific model: one elementwise pass"
            compute, blocks = _elementwise(op, g, cfg, place, traffic,
                                           cfg.elementwise_rate)
    except (IndexError, ValueError, TypeError, ZeroDivisionError) as e:
        # Malformed or unusual shapes: fall back to a plain pass over the output.
        note = f"unusual shapes ({e}); one elementwise pass"
        traffic = _Traffic(cfg)
        compute, blocks = _elementwise(op, g, cfg, place, traffic,
                                       cfg.elementwise_rate)
    if any(i >= 0 and g.tensors[i].data is None and g.tensors[i].dtype is not None and
           np.dtype(g.tensors[i].dtype).kind == "f" for i in op.inputs):
        note = (note + "; " if note else "") + \
            "float input: Ethos-U runs int8/int16 only (costed as if quantized)"
    memory = traffic.cycles()
    # Two-stage pipeline over `blocks` blocks: the slower stage sets the pace, one
    # block of the faster stage is not overlapped (the first block's fetch or the
    # last block's compute); plus the first read's and the last write's latency, and
    # the fixed per-operator overhead once per pass.
    fill = min(compute, memory) / max(blocks, 1)
    latency = traffic.read_latency + traffic.write_latency
    overhead = fill + latency + passes * cfg.op_overhead_cycles
    cycles = max(compute, memory) + overhead
    util = macs / (cycles * cfg.macs_per_cycle) if cycles > 0 else 0.0
    return LayerEstimate(
        index=op.index, op_name=name, output_shape=out_shape, macs=macs,
        compute_cycles=float(compute), memory_cycles=float(memory),
        overhead_cycles=float(overhead), cycles=float(cycles),
        bound="compute" if compute >= memory else "memory",
        sram_bytes=int(round(traffic.real["sram"])),
        offchip_bytes=int(round(traffic.real["offchip"])),
        utilization=float(min(util, 1.0)), note=note)


def _nhwc(shape):
    """(N, H, W, C) of an activation shape (rank 1..4; lower ranks are H=W=1)."""
    s = [int(v) for v in shape]
    if len(s) == 4:
        return tuple(s)
    if len(s) == 3:
        return (1, s[0], s[1], s[2])
    if len(s) == 2:
        return (s[0], 1, 1, s[1])
    if len(s) == 1:
        return (1, 1, 1, s[0])
    return (1, 1, 1, 1)


def _conv_like(op, g, cfg, place, weights, traffic):
    """CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV.

    Returns (compute cycles, OFM blocks); adds the memory traffic to `traffic`."""
    t = g.tensors
    opt = op.options
    name = op.name
    uh, uw, uc = cfg.ublock_hwc
    D, dot = cfg.ifm_block_depth, cfg.dot_product_depth
    step_cycles = D / dot                      # cycles per step (4 on Ethos-U)
    y = t[op.outputs[0]]
    if name == "TRANSPOSE_CONV":
        w, x = t[op.inputs[1]], t[op.inputs[2]]
    else:
        x, w = t[op.inputs[0]], t[op.inputs[1]]
    esize = np.dtype(x.dtype).itemsize
    depthwise = name in _DEPTHWISE

    if name == "FULLY_CONNECTED":
        # A 1x1 convolution whose OFM "width" is the batch.
        c_out, c_in = int(w.shape[0]), int(w.shape[-1])
        n, oh, ow = 1, 1, max(int(y.size) // max(c_out, 1), 1)
        ih, iw, c_in_x = 1, ow, c_in
        kh = kw = sh = sw = dh = dw = 1
    else:
        n, oh, ow, c_out = _nhwc(y.shape)
        _, ih, iw, c_in_x = _nhwc(x.shape)
        kh, kw = int(w.shape[1]), int(w.shape[2])
        c_in = c_in_x if depthwise else int(w.shape[3])   # per group
        if name == "TRANSPOSE_CONV":
            # Runs as a stride-1 convolution over the zero-inserted (upsampled) input.
            sh = sw = dh = dw = 1
            ih, iw = oh + kh - 1, ow + kw - 1
        else:
            sh, sw = int(opt.get("stride_h", 1)), int(opt.get("stride_w", 1))
            dh = int(opt.get("dilation_h_factor", 1))
            dw = int(opt.get("dilation_w_factor", 1))
    k = kh * kw
    bh, bw, bd = cfg.ofm_block
    hs, ws = _splits(oh, bh), _splits(ow, bw)
    z = _ceil(c_out, uc)
    n_weights = k * c_out if depthwise else k * c_in * c_out
    weight_cycles = n_weights / cfg.weights_per_cycle    # per spatial block

    # Steps per micro-block, for each traversal the compiler could pick.
    if depthwise:
        steps = [z * _ceil(k, int(step_cycles))]        # 4 kernel elements / step
    else:
        depth_first = k * _ceil(c_in, D)
        part_kernel = _ceil(k, int(step_cycles)) * _ceil(c_in, dot)
        steps = [z * depth_first, z * part_kernel]
    best = None
    for s in steps:
        total = 0.0
        for hb in hs:
            for wb in ws:
                n_xy = _ceil(hb, uh) * _ceil(wb, uw)
                total += max(s * step_cycles * n_xy, weight_cycles)
        best = total if best is None else min(best, total)
    # 16-bit activations go through the dot products at half the rate.
    mac_cycles = n * best * (2 if esize == 2 else 1)
    out_cycles = int(y.size) / cfg.output_rate
    compute = max(mac_cycles, out_cycles)

    # ---- memory traffic
    dkh, dkw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    window = 0                                  # IFM pixels fetched, halos included
    for hb in hs:
        rows = min((hb - 1) * sh + dkh, ih)
        for wb in ws:
            window += rows * min((wb - 1) * sw + dkw, iw)
    depth_blocks = 1 if depthwise else _ceil(c_out, bd)
    if name == "TRANSPOSE_CONV":
        ifm_bytes = int(x.nbytes) * depth_blocks    # inserted zeros are not read
    else:
        ifm_bytes = n * window * c_in_x * esize * depth_blocks
    traffic.add(place(x.index), ifm_bytes, min(c_in_x, D) * esize)
    y_esize = np.dtype(y.dtype).itemsize
    traffic.add(place(y.index), int(y.nbytes), min(c_out, D) * y_esize, write=True)
    enc = weights.encoded(op)
    blocks_xy = len(hs) * len(ws) * n
    if cfg.weights_in == "offchip":
        traffic.add("offchip", enc)
        traffic.add("sram", enc, write=True)    # DMA into the SRAM staging buffer
    traffic.add("sram", enc * blocks_xy)        # the NPU reads them per block
    return compute, blocks_xy * _ceil(c_out, bd)


def _pool(op, g, cfg, place, traffic):
    """Pooling and MEAN over H and W: compute cycles, or None if not a spatial
    reduction (the caller then treats it as elementwise)."""
    t = g.tensors
    x, y = t[op.inputs[0]], t[op.outputs[0]]
    n, ih, iw, c = _nhwc(x.shape)
    opt = op.options
    if op.name == "MEAN":
        if len(x.shape) != 4 or len(op.inputs) < 2 or t[op.inputs[1]].data is None:
            return None
        axes = {int(a) % 4 for a in np.asarray(t[op.inputs[1]].data).ravel()}
        if axes != {1, 2}:
            return None
        kh, kw, sh, sw, oh, ow = ih, iw, 1, 1, 1, 1
    else:
        kh, kw = int(opt.get("filter_height", 1)), int(opt.get("filter_width", 1))
        sh, sw = int(opt.get("stride_h", 1)), int(opt.get("stride_w", 1))
        _, oh, ow, _ = _nhwc(y.shape)
    uh, uw, uc = cfg.ublock_hwc
    bh, bw, _ = cfg.ofm_block
    hs, ws = _splits(oh, bh), _splits(ow, bw)
    z = _ceil(c, uc)
    k = kh * kw
    cycles = 0.0
    window = 0
    for hb in hs:
        rows = min((hb - 1) * sh + kh, ih)
        for wb in ws:
            cycles += (z * _ceil(hb, uh) * _ceil(wb, uw) * k *
                       cfg.pool_cycles_per_kernel_element)
            window += rows * min((wb - 1) * sw + kw, iw)
    esize = np.dtype(x.dtype).itemsize
    cycles *= 2 if esize == 2 else 1           # 16-bit data: half rate
    compute = max(n * cycles, int(y.size) / cfg.output_rate)
    traffic.add(place(x.index), n * window * c * esize,
                min(c, cfg.ifm_block_depth) * esize)
    traffic.add(place(y.index), int(y.nbytes),
                min(c, cfg.ifm_block_depth) * np.dtype(y.dtype).itemsize, write=True)
    return compute, n * len(hs) * len(ws) * _ceil(c, cfg.ofm_block[2])


def _softmax(op, g, cfg, place, traffic, passes):
    """SOFTMAX / LOG_SOFTMAX as `passes` elementwise passes: the first reads the
    input, the last writes the output, the passes in between read and write 32-bit
    temporaries in SRAM.  Returns (compute cycles, blocks)."""
    t = g.tensors
    x, y = t[op.inputs[0]], t[op.outputs[0]]
    elems = int(y.size)
    traffic.add(place(x.index), int(x.nbytes))
    traffic.add(place(y.index), int(y.nbytes), write=True)
    temp = 4 * elems * (passes - 1)
    traffic.add("sram", temp)
    traffic.add("sram", temp, write=True)
    bh, bw, bd = cfg.ofm_block
    return passes * elems / cfg.elementwise_rate, passes * _ceil(max(elems, 1),
                                                                  bh * bw * bd)


def _elementwise(op, g, cfg, place, traffic, rate):
    """One pass over the output at `rate` elements per cycle, reading every input
    and writing every output; returns (compute cycles, blocks)."""
    t = g.tensors
    for i in op.inputs:
        if i < 0:
            continue
        ti = t[i]
        if ti.data is not None:
            where = "offchip" if cfg.weights_in == "offchip" else "sram"
            traffic.add(where, int(ti.nbytes))
        else:
            traffic.add(place(i), int(ti.nbytes))
    elems = 0
    for o in op.outputs:
        traffic.add(place(o), int(t[o].nbytes), write=True)
        elems = max(elems, int(t[o].size))
    bh, bw, bd = cfg.ofm_block
    return elems / rate, _ceil(max(elems, 1), bh * bw * bd)


# ------------------------------------------------------------------ weights
class _WeightSizer:
    """Raw and encoded weight-stream bytes of the MAC operators (cached per op)."""

    def __init__(self, graph, cfg):
        self.g = graph
        self.cfg = cfg
        self._enc = {}
        self._raw = {}

    def encoded(self, op) -> int:
        if op.index not in self._enc:
            self._enc[op.index], self._raw[op.index] = self._measure(op)
        return self._enc[op.index]

    def _measure(self, op):
        t = self.g.tensors
        widx = op.inputs[1] if len(op.inputs) > 1 else -1
        if widx < 0:
            return 0, 0
        w = t[widx]
        raw = int(w.nbytes)
        if op.name == "DEPTHWISE_CONV_2D":
            c_out = int(w.shape[-1])
        else:
            c_out = int(w.shape[0])
        scales = SCALE_BYTES_PER_CHANNEL * c_out
        if w.data is None:       # weights computed at run time: stream raw bytes
            return raw + scales, raw
        if self.cfg.compress_weights and np.dtype(w.dtype).itemsize == 1:
            body = _encoded_cached(np.asarray(w.data))
        else:
            body = raw
        return int(body) + scales, raw

    def total_encoded(self) -> int:
        for op in self.g.ops:
            if op.name in _CONV or op.name in _DEPTHWISE:
                try:
                    self.encoded(op)
                except (IndexError, ValueError, TypeError):
                    pass
        return int(sum(self._enc.values()))

    def total_raw(self) -> int:
        self.total_encoded()
        return int(sum(self._raw.values()))


def _rice_bits(values: np.ndarray) -> int:
    """Bits of the best Golomb-Rice code (parameter 0..8) of non-negative ints."""
    if values.size == 0:
        return 0
    v = values.astype(np.int64)
    return int(min(int((1 + (v >> r) + r).sum()) for r in range(9)))


_ENCODED_CACHE = {}          # (dtype, shape, sha1 of the bytes) -> encoded bytes
_ENCODED_CACHE_MAX = 4096


def _encoded_cached(weights: np.ndarray) -> int:
    """encoded_weight_bytes, memoised on the weights' contents (estimating one model
    on many configurations encodes each weight tensor once)."""
    a = np.ascontiguousarray(weights)
    key = (a.dtype.str, a.shape, hashlib.sha1(a.tobytes()).hexdigest())
    if key not in _ENCODED_CACHE:
        if len(_ENCODED_CACHE) >= _ENCODED_CACHE_MAX:
            _ENCODED_CACHE.clear()
        _ENCODED_CACHE[key] = encoded_weight_bytes(a)
    return _ENCODED_CACHE[key]


def encoded_weight_bytes(weights: np.ndarray) -> int:
    """Estimated bytes of a losslessly compressed 8-bit weight stream.

    The smaller of (a) a Golomb-Rice code of the zigzag-mapped weights (0, -1, 1, -2,
    ... -> 0, 1, 2, 3, ...) and (b) a Golomb-Rice code of the non-zero weights (mapped
    the same way, minus one) plus one of the lengths of the zero runs before each of
    them; each with its best Rice parameter, plus STREAM_HEADER_BYTES.  Our estimate
    of what Ethos-U's weight encoder achieves (it uses Golomb-Rice and zero-run
    codes), never more than the raw size plus the header."""
    v = np.asarray(weights).ravel().astype(np.int64)
    if v.size == 0:
        return 0
    zig = np.where(v >= 0, 2 * v, -2 * v - 1)
    plain = _rice_bits(zig)
    nz = np.flatnonzero(v)
    edges = np.concatenate(([-1], nz, [v.size]))
    runs = np.diff(edges) - 1
    zero_runs = _rice_bits(zig[nz] - 1) + _rice_bits(runs)
    bits = min(plain, zero_runs, 8 * v.size)
    return int(math.ceil(bits / 8)) + STREAM_HEADER_BYTES


# ------------------------------------------------------------------ arena
def _arena_bytes(graph, content):
    """(arena bytes, source): microdl's planned arena when microdl runs the model,
    else a plan of the activation lifetimes done here."""
    if content is not None:
        try:
            from microdl.runtime.interpreter import Interpreter
            it = Interpreter(model_content=content)
            it.allocate_tensors()
            return int(it.arena_bytes), "microdl"
        except Exception:  # noqa: BLE001 - any failure: plan it ourselves
            pass
    return planned_arena_bytes(graph), "planned"


def planned_arena_bytes(graph) -> int:
    """Arena bytes for the graph's activation tensors: each live from the op that
    writes it (or the start, for graph inputs) to its last reader (or the end, for
    graph outputs); RESHAPE-like ops alias their input; placed with microdl's
    greedy planner at 16-byte alignment."""
    from microdl.runtime import planner
    t = graph.tensors
    root = {}
    for op in graph.ops:
        if op.name in _FREE and op.inputs and op.outputs:
            src, dst = op.inputs[0], op.outputs[0]
            if src >= 0 and t[src].data is None and t[src].nbytes == t[dst].nbytes:
                root[dst] = root.get(src, src)
    last = max(len(graph.ops) - 1, 0)
    span = {}

    def touch(i, step):
        if i < 0 or t[i].data is not None:
            return
        r = root.get(i, i)
        lo, hi = span.get(r, (step, step))
        span[r] = (min(lo, step), max(hi, step))

    for i in graph.inputs:
        touch(i, 0)
        touch(i, last)   # inputs are preserved, as microdl.Interpreter does
    for k, op in enumerate(graph.ops):
        for i in list(op.inputs) + list(op.outputs):
            touch(i, k)
    for i in graph.outputs:
        touch(i, last)
    buffers = [planner.Buffer(r, int(t[r].nbytes), lo, hi)
               for r, (lo, hi) in span.items()]
    if not buffers:
        return 0
    _, total = planner.plan(buffers, 16)
    return int(total)
