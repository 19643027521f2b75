"""Per-layer cycle formulas of the NPU cost model (microdl/npu/MODEL.md, "Per layer").

Each formula takes the operator `op` of graph `g`, the NPUConfig `cfg`, `place`
(tensor index -> "sram" or "offchip": where that activation lives) and a
microdl.npu.memory.Traffic to which it adds the bytes the layer moves, and returns
(compute cycles, OFM blocks).
"""
from __future__ import annotations

import numpy as np

SOFTMAX_PASSES = 28          # elementwise passes of an int8 softmax (Vela's lowering)
# DEPTHWISE_CONV_2D with depth multiplier M > 1: the array's depthwise mode computes
# one output channel per input channel, so the layer runs as M depthwise passes whose
# outputs are interleaved channel by channel by transposes.  Vela 5.2 emits 6 of
# them, 3.5 OFM-sizes of elements in all, each element read and written as its own
# 32-bit word: 3.5 x 2 x 4 = 28 bytes of SRAM bus time per OFM element (they are
# SRAM-bound: U55 8 B/cycle -> 3.5 cycles/element, U65 16 B/cycle -> 1.75).
DW_INTERLEAVE_SRAM_BYTES_PER_ELEMENT = 28.0
# Feature maps with fewer channels stay NHWC (a brick would be mostly padding; ours,
# from Vela's cycles on the tuning half: 1-channel maps are not rounded, 4-channel
# ones are).  Bricked maps also move their padding: brick_factor.
BRICK_MIN_CHANNELS = 2
# Single-input data movement and lookups (PAD's interior, CONCATENATION's copied
# inputs, a standalone LUT activation): the elementwise unit reads, the output stage
# writes, two output-stage slots per element (U55-128: 1 cycle/element).
COPY_PASSES = 2
# PAD's border bands are filled from a scalar constant one element per memory request
# (each element a whole SRAM burst: 32 B / 8 B per cycle = 4 cycles per element on
# Ethos-U55, 2 on U65's 16 B/cycle SRAM), seen as 3-5 cycles per element on U55 in
# Vela 5.2 for every MAC array size.

# Operator classes: each is costed by one formula below (see MODEL.md, "Per layer").
CONV_OPS = frozenset({"CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"})
DEPTHWISE_OPS = frozenset({"DEPTHWISE_CONV_2D"})
POOL_OPS = frozenset({"AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"})
FREE_OPS = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS"})   # re-label a tensor
SOFTMAX_OPS = frozenset({"SOFTMAX", "LOG_SOFTMAX"})
MOVE_OPS = frozenset({
    "CONCATENATION", "PAD", "PADV2", "MIRROR_PAD", "SLICE", "STRIDED_SLICE", "SPLIT",
    "SPLIT_V", "TRANSPOSE", "PACK", "UNPACK", "GATHER", "TILE", "RESIZE_BILINEAR",
    "RESIZE_NEAREST_NEIGHBOR", "SPACE_TO_DEPTH", "DEPTH_TO_SPACE", "BROADCAST_TO"})
# Activations the output unit computes by table lookup (standalone or fused).
LUT_OPS = frozenset({"LOGISTIC", "TANH", "HARD_SWISH", "GELU", "EXP", "LOG",
                     "RSQRT"})
ELEMENTWISE_OPS = frozenset({
    "ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "RELU", "RELU6",
    "RELU_N1_TO_1", "RELU_0_TO_1", "LEAKY_RELU", "PRELU", "LOGISTIC", "TANH",
    "HARD_SWISH", "QUANTIZE", "DEQUANTIZE", "ABS", "NEG", "EXP", "LOG", "RSQRT", "SQRT",
    "SQUARE", "CAST", "GELU"})


def _splits(n, b):
    """Block sizes covering n in blocks of at most b."""
    n, b = max(int(n), 1), max(int(b), 1)
    full, rem = divmod(n, b)
    return [b] * full + ([rem] if rem else [])


def _ceil(a, b):
    return -(-int(a) // int(b))



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


def request_bytes(g, cfg, ti, write=False, block_width=16, mac_read=False):
    """Contiguous bytes per memory request for activation tensor `ti` (None: long
    runs).  Intermediate feature maps are stored in 16-channel bricks (NHCWB16) and
    move in long runs; the network's input and output are plain NHWC, where a block
    row of pixels is contiguous when the block holds every channel (reads; writes
    only up to 16 channels), else each pixel's slice is its own request (writes:
    at most 16 bytes).  `mac_read`: the IFM read of a convolution, depthwise
    convolution or pooling, whose IFM block is a multiple of 8 channels deep.
    Vela's memory-transfer-efficiency rules, 5.2, and what it reports for the
    network inputs of the family's tuning half."""
    tt = g.tensors[ti]
    if ti not in g.inputs and ti not in g.outputs:
        return None
    esize = np.dtype(tt.dtype).itemsize
    c = _nhwc(tt.shape)[3]
    w = min(block_width, _nhwc(tt.shape)[2])
    if write:
        return c * esize * w if c <= cfg.brick_depth else min(c, cfg.brick_depth) * esize
    depth = cfg.ifm_block_depth
    ub = cfg.dot_product_depth
    if mac_read and c % ub:
        # A convolution's or pooling's IFM block is a whole number of 8-channel
        # micro-blocks deep: with fewer channels (an RGB image) each pixel is its
        # own request of the block depth.
        return _ceil(min(c, depth), ub) * ub * esize
    return c * esize * w if c <= depth else depth * esize


def depthwise_as_conv(op, g) -> bool:
    """A DEPTHWISE_CONV_2D of a 1-channel input whose depth multiplier makes all its
    output channels is an ordinary convolution with one input channel (each output
    channel reads the same input channel); Vela 5.2 compiles it as a CONV_2D
    (MODEL.md, "Terms added for the generated family")."""
    if op.name not in DEPTHWISE_OPS or len(op.inputs) < 2:
        return False
    t = g.tensors
    mult = int(op.options.get("depth_multiplier", 1))
    c_in = int(_nhwc(t[op.inputs[0]].shape)[3])
    c_out = int(_nhwc(t[op.outputs[0]].shape)[3])
    return mult > 1 and c_in == 1 and c_out == mult


def step_cycles_per_group(cfg, channels, busy_cycles):
    """Cycles of one step summed over the micro-block's output-channel groups (uc
    channels each, the last one holding the rest): each group's step computes for
    `busy_cycles` but not before its weight set is loaded, ifm_block_depth weights
    for each of its channels at weights_per_cycle (Ethos-U: 32 x 8 / 8 = 32 cycles
    for a full group of 8; Vela 5.2 charges each step at least this, even a
    depthwise step that uses 4 kernel elements of each channel).  Counting the
    real channels of each group keeps a bigger array never slower."""
    uc = cfg.ublock_hwc[2]
    full, rest = divmod(int(channels), uc)
    load = cfg.ifm_block_depth / cfg.weights_per_cycle
    total = full * max(busy_cycles, load * uc)
    if rest:
        total += max(busy_cycles, load * rest)
    return total


OFM_BLOCK_DEPTH_STEP = 16    # block depths searched: multiples of a brick


def _search_block(op, g, cfg, place, weights):
    """The OFM block a convolution runs in: among blocks of at most as many
    accumulators as cfg.ofm_block (16 x 16 x 16 = 4,096 in the presets), heights
    and widths 16, 8, 4, 2 and depths in 16-channel steps up to the layer's
    depth, the one whose layer is cheapest, as Vela 5.2 searches a block per
    layer by its own cost estimate (MODEL.md, "Fifth round").  Cost: the larger of
    compute, memory and the per-block command bound (estimator._command_bound);
    ties keep cfg.ofm_block.  A deeper block re-reads the IFM for fewer depth
    blocks; a smaller one wastes fewer micro-blocks at the edges."""
    from microdl.npu.memory import Traffic
    base = tuple(cfg.ofm_block)
    vol = base[0] * base[1] * base[2]
    if op.name == "FULLY_CONNECTED":
        return base
    c_out = int(_nhwc(g.tensors[op.outputs[0]].shape)[3])
    best = None
    for bd in range(OFM_BLOCK_DEPTH_STEP,
                    _ceil(c_out, OFM_BLOCK_DEPTH_STEP) * OFM_BLOCK_DEPTH_STEP + 1,
                    OFM_BLOCK_DEPTH_STEP):
        for bh in (16, 8, 4, 2):
            for bw in (16, 8, 4, 2):
                if bh * bw * bd > vol:
                    continue
                tr = Traffic(cfg)
                c, nb = conv_like(op, g, cfg, place, weights, tr, (bh, bw, bd))
                cost = max(c, tr.cycles(),
                           (nb * (tr.fm_read_latency + tr.fm_write_latency) +
                            tr.fm_transfer_cycles() + c) / 4)
                key = (cost, (bh, bw, bd) != base)
                if best is None or key < best[0]:
                    best = (key, (bh, bw, bd))
    return best[1] if best else base


def conv_like(op, g, cfg, place, weights, traffic, block=None):
    """CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV.

    `weights` (microdl.npu.compression.WeightSizer) gives the weight-stream bytes;
    `block` the OFM block (h, w, depth), by default the cheapest (_search_block).
    Returns (compute cycles, OFM blocks); adds the memory traffic to `traffic`."""
    searched = block is None
    if searched:
        block = _search_block(op, g, cfg, place, weights)
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
    depthwise = name in DEPTHWISE_OPS and not depthwise_as_conv(op, g)

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
        if name in DEPTHWISE_OPS:
            c_in = c_in_x if depthwise else 1      # as a convolution: one input channel
        else:
            c_in = int(w.shape[3])                  # per group
        if name == "TRANSPOSE_CONV":
            # Runs as a stride-1 convolution over the zero-inserted (upsampled) input.
            sh = sw = dh = dw = 1
            ih, iw = oh + kh - 1, ow + kw - 1
        else:
            sh, sw = int(opt.get("stride_h", 1)), int(opt.get("stride_w", 1))
            dh = int(opt.get("dilation_h_factor", 1))
            dw = int(opt.get("dilation_w_factor", 1))
    k = kh * kw
    bh, bw, bd = block if block is not None else cfg.ofm_block
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
                # s = z x (steps per channel group); each step waits for its weight
                # set, so blocks of few micro-blocks are weight-load bound.
                total += max((s // z) * step_cycles_per_group(cfg, c_out,
                                                              step_cycles * n_xy),
                             weight_cycles)
        best = total if best is None else min(best, total)
    # 16-bit activations go through the dot products at half the rate.
    mac_cycles = n * best * (2 if esize == 2 else 1)
    out_cycles = int(y.size) / cfg.output_rate
    compute = max(mac_cycles, out_cycles)
    mult = int(opt.get("depth_multiplier", 1)) if depthwise else 1
    if depthwise and mult > 1 and c_out == c_in_x * mult:
        # Separate operations after the depthwise passes: they add, not overlap.
        moved = DW_INTERLEAVE_SRAM_BYTES_PER_ELEMENT * int(y.size)
        traffic.real["sram"] += moved
        compute += moved / cfg.sram_bytes_per_cycle

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
    bw_in = min((bw - 1) * sw + dkw, iw)
    traffic.add(place(x.index), ifm_bytes * brick_factor(g, cfg, x.index),
                request_bytes(g, cfg, x.index, False, bw_in, mac_read=True))
    traffic.add(place(y.index), int(y.nbytes) * brick_factor(g, cfg, y.index),
                request_bytes(g, cfg, y.index, True, bw), write=True)
    enc = weights.encoded(op)
    blocks_xy = len(hs) * len(ws) * n
    if cfg.weights_in == "offchip":
        if name == "FULLY_CONNECTED":
            # Every weight is used once: the NPU streams them from off-chip memory.
            traffic.add("offchip", enc, fm=False)
        else:
            # The DMA copies the stream into an SRAM buffer; the compute waits
            # for the copy's read latency (estimator._weight_wait).
            traffic.weight_dma(enc)
            traffic.add("offchip", enc, fm=False, latency=False)
        traffic.add("sram", enc, write=True, fm=False)    # DMA into the SRAM staging buffer
    traffic.add("sram", enc * blocks_xy, fm=False)        # the NPU reads them per block
    if searched:
        # The pipeline fill (estimator) stays one cfg.ofm_block's worth.
        dh_, dw_, dd_ = cfg.ofm_block
        traffic.fill_blocks = n * _ceil(oh, dh_) * _ceil(ow, dw_) * _ceil(c_out, dd_)
    return compute, blocks_xy * _ceil(c_out, bd)


def pooling(op, g, cfg, place, traffic):
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
        # A depthwise convolution with an H x W kernel of ones onto a 1 x 1 output,
        # then a rescaling multiply.
        esize = np.dtype(x.dtype).itemsize
        traffic.add(place(x.index), int(x.nbytes), request_bytes(g, cfg, x.index))
        traffic.add(place(y.index), int(y.nbytes), request_bytes(g, cfg, y.index, True),
                    write=True)
        # Depthwise steps of 4 kernel elements, each waiting for its weight set
        # (step_cycles_per_group) with a single output micro-block busy.
        steps = _ceil(ih * iw, 4)
        busy = cfg.ifm_block_depth / cfg.dot_product_depth
        compute = n * steps * step_cycles_per_group(cfg, c, busy) * \
            (2 if esize == 2 else 1)
        compute += int(y.size) / cfg.elementwise_rate
        if cfg.weights_in == "offchip":
            # The lowered depthwise convolution's kernel of ones is a weight
            # stream the DMA copies into SRAM first (its latency waited for):
            # all-equal weights encode to next to nothing, so it is the scales
            # and the stream header.
            from microdl.npu.compression import (SCALE_BYTES_PER_CHANNEL,
                                                 STREAM_HEADER_BYTES)
            ones = SCALE_BYTES_PER_CHANNEL * c + STREAM_HEADER_BYTES
            traffic.weight_dma(ones)
            traffic.add("offchip", ones, fm=False, latency=False)
        return compute, 1
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
    traffic.add(place(x.index), n * window * c * esize * brick_factor(g, cfg, x.index),
                request_bytes(g, cfg, x.index, False, min((bw - 1) * sw + kw, iw),
                              mac_read=True))
    traffic.add(place(y.index), int(y.nbytes) * brick_factor(g, cfg, y.index),
                request_bytes(g, cfg, y.index, True, bw), write=True)
    return compute, n * len(hs) * len(ws) * _ceil(c, cfg.ofm_block[2])


def softmax(op, g, cfg, place, traffic, passes):
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


def _brick_elements(g, cfg, ti):
    """Elements an NPU operation processes for tensor `ti`: intermediate 4-D feature
    maps are stored in bricks of cfg.brick_depth channels (NHCWB16), so their channel
    count is rounded up; graph inputs and outputs are plain NHWC."""
    tt = g.tensors[ti]
    if (len(tt.shape) != 4 or ti in g.inputs or ti in g.outputs or
            ((ti in linear_maps(g) or int(tt.shape[3]) < BRICK_MIN_CHANNELS) and
             not _padded(g, ti))):
        return int(tt.size)
    n, h, w, c = (int(v) for v in tt.shape)
    return n * h * w * _ceil(c, cfg.brick_depth) * cfg.brick_depth


_LINEAR_CACHE = {}
_BINARY_EW = frozenset({"ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM"})


def linear_maps(g):
    """Activation tensors stored plain NHWC rather than in 16-channel bricks.

    The network's inputs and outputs; a map read through a re-label (RESHAPE...:
    its reader sees another shape); and the output of an elementwise operator
    whose depth is not a multiple of the brick and that has an NHWC input of its
    own shape (the output overwrites that input, so it keeps its layout).  A
    lookup-table activation fused into its producer (estimator._fusable_luts)
    shares its producer's output layout: a map is judged by the tensor the fused
    chain finally writes.  Vela 5.2's layout rules (its graph optimiser and
    scheduler), as seen on the tuning half: an 8-channel ADD into a RESHAPE, or
    next to the network input, moves 8 elements per pixel, other 8-channel ADDs 16.
    Cached per graph."""
    key = id(g)
    hit = _LINEAR_CACHE.get(key)
    if hit is not None and hit[0] is g:
        return hit[1]
    t = g.tensors
    readers = {}
    for op in g.ops:
        for i in op.inputs:
            if i >= 0:
                readers.setdefault(i, []).append(op)
    linear = set(g.inputs) | set(g.outputs)
    for op in g.ops:
        if op.name in FREE_OPS and op.inputs and op.inputs[0] >= 0:
            linear.add(op.inputs[0])

    def final(ti):
        # Follow single-reader lookup tables (fused into the producer).
        seen = 0
        while seen < 8:
            r = readers.get(ti, [])
            if len(r) != 1 or r[0].name not in LUT_OPS or ti in g.outputs:
                return ti
            ti = r[0].outputs[0]
            seen += 1
        return ti

    for op in g.ops:
        if not op.outputs:
            continue
        y = op.outputs[0]
        if op.name in LUT_OPS or op.name in _BINARY_EW:
            shp = tuple(t[y].shape)
            if (len(shp) == 4 and int(shp[3]) % 16 and
                    any(i >= 0 and t[i].data is None and tuple(t[i].shape) == shp and
                        i in linear for i in op.inputs)):
                linear.add(y)
        if final(y) in linear:
            linear.add(y)
    _LINEAR_CACHE.clear()
    _LINEAR_CACHE[key] = (g, linear)
    return linear


def _padded(g, ti):
    """True for a PAD's output and for the tensor its producer writes straight
    into a PAD's interior: the padded map is stored in bricks even with one
    channel (the convolution after it reads bricks; Vela 5.2's cycles on the
    tuning half: a 32 x 32 x 1 ADD into a PAD and the PAD's border bands cost 16
    elements per pixel, other 1-channel maps 1)."""
    for op in g.ops:
        if op.name in ("PAD", "PADV2") and op.inputs:
            if ti in op.outputs:
                return True
            if op.inputs[0] == ti and written_in_place(g, ti, op.index):
                return True
    return False


def brick_factor(g, cfg, ti):
    """Bytes moved per byte of data for activation tensor `ti`: intermediate feature
    maps stored in 16-channel bricks move the padding of their last brick too."""
    tt = g.tensors[ti]
    if tt.data is not None or not tt.size:
        return 1.0
    return _brick_elements(g, cfg, ti) / int(tt.size)


def elementwise(op, g, cfg, place, traffic, rate):
    """One pass over the output at `rate` elements per cycle, reading every input
    and writing every output; returns (compute cycles, blocks)."""
    t = g.tensors
    for i in op.inputs:
        if i < 0:
            continue
        ti = t[i]
        if ti.data is not None:
            where = "offchip" if cfg.weights_in == "offchip" else "sram"
            traffic.add(where, int(ti.nbytes), fm=False)
        else:
            traffic.add(place(i), int(ti.nbytes) * brick_factor(g, cfg, i),
                        request_bytes(g, cfg, i))
    elems = 0
    binary = sum(1 for i in op.inputs if i >= 0 and t[i].data is None) > 1
    for o in op.outputs:
        traffic.add(place(o), int(t[o].nbytes) * brick_factor(g, cfg, o),
                    request_bytes(g, cfg, o, True), write=True)
        # Binary elementwise operators step through bricks: whole 16-channel bricks.
        elems = max(elems, _brick_elements(g, cfg, o) if binary else int(t[o].size))
    return elems / rate, _stream_blocks(cfg, elems)


def _stream_blocks(cfg, elems):
    """Blocks of a streaming (elementwise / data-movement) operator: one micro-block
    of positions x one 16-channel brick each, so only one such block of the faster
    stage is not overlapped."""
    uh, uw, _ = cfg.ublock_hwc
    return _ceil(max(int(elems), 1), uh * uw * cfg.brick_depth)


def written_in_place(g, ti, consumer):
    """True when tensor `ti` is written by its producer straight into the output of
    `consumer` (a CONCATENATION or PAD): the producer is an NPU operator (not a
    re-label, not a concatenation) and `ti` has no other reader and is no graph
    output."""
    if ti in g.inputs or ti in g.outputs or g.tensors[ti].data is not None:
        return False
    prod = [op for op in g.ops if ti in op.outputs]
    readers = [op for op in g.ops if ti in op.inputs]
    return (len(prod) == 1 and prod[0].name not in FREE_OPS and
            prod[0].name != "CONCATENATION" and len(prod[0].outputs) == 1 and
            len(readers) == 1 and readers[0].index == consumer)


def concatenation(op, g, cfg, place, traffic):
    """CONCATENATION: producers that can write straight into their slice of the
    output do so (costed with them); every other input is copied, COPY_PASSES output
    slots per element.  Returns (compute cycles, blocks)."""
    t = g.tensors
    copied = 0
    for i in op.inputs:
        if i < 0 or written_in_place(g, i, op.index):
            continue
        ti = t[i]
        where = ("offchip" if cfg.weights_in == "offchip" else "sram") \
            if ti.data is not None else place(i)
        traffic.add(where, int(ti.nbytes), request_bytes(g, cfg, i))
        traffic.add(place(op.outputs[0]), int(ti.nbytes),
                    request_bytes(g, cfg, op.outputs[0], True), write=True)
        copied += int(ti.size)
    return copied * COPY_PASSES / cfg.output_rate, _stream_blocks(cfg, copied)


def pad(op, g, cfg, place, traffic, interior_written_by_producer):
    """PAD / PADV2 of a 4-D feature map: the border is written by four data-movement
    operations (top, bottom, left, right bands, each filled element by element from
    a constant in the weights' memory), and the interior by a copy unless the
    producer writes its output straight into the padded tensor.  Returns (compute cycles, blocks,
    passes)."""
    t = g.tensors
    x, y = t[op.inputs[0]], t[op.outputs[0]]
    if len(x.shape) != 4 or len(y.shape) != 4:
        return None
    n, ih, iw, c = (int(v) for v in x.shape)
    _, oh, ow, _ = (int(v) for v in y.shape)
    esize = np.dtype(y.dtype).itemsize
    bands = [(oh - ih) * ow, (ow - iw) * ih]     # top+bottom, left+right pixels
    # Border pixels, their channels rounded up to whole bricks (brick_factor).
    border = n * sum(bands) * brick_factor(g, cfg, y.index)
    const = "offchip" if cfg.weights_in == "offchip" else "sram"
    traffic.add(const, border * c * esize, fm=False)
    traffic.real[place(y.index)] += border * c * esize
    # The bands and the interior copy are separate operations: their cycles add.
    if place(y.index) == "sram":
        cycles = border * c * cfg.sram_burst_bytes / cfg.sram_bytes_per_cycle
    else:
        cycles = border * c * cfg.offchip_burst_bytes / cfg.offchip_bytes_per_cycle
    passes = sum(2 for b in bands if b > 0)
    # Each band is its own operation reading the constant: each waits for the
    # constant memory's read latency (the layer's overhead counts one of them).
    lat = cfg.offchip_read_latency_cycles if const == "offchip" else \
        cfg.sram_latency_cycles
    cycles += max(passes - 1, 0) * lat
    if not interior_written_by_producer:
        traffic.add(place(x.index), int(x.nbytes))
        traffic.add(place(y.index), int(x.nbytes), write=True)
        cycles += int(x.size) * COPY_PASSES / cfg.output_rate
        passes += 1
    return cycles, _stream_blocks(cfg, int(y.size)), max(passes, 1)
