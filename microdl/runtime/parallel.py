"""Row slices of large convolutions and channel bands of large fully connected
layers, for num_threads > 1.

A CONV_2D or DEPTHWISE_CONV_2D node with one image (batches == 1) is cut into as many
nodes as there are threads, each computing a band of consecutive output rows with the
same kernel: its input pointer starts at the first input row the band reads, its
`input_h` / `pad_h` are those of that sub-image, and its output pointer starts at the
band's first output row.  Every output element is computed by exactly the same
arithmetic as in the whole node (same taps, same accumulation order, same
requantization), so results are identical for any thread count.  The bands of one
node form a group that the engine's worker pool runs concurrently
(cext/src/engine.c: the bands are claimed one at a time by whichever threads are
running, the calling thread included, so any band may run on any thread); each band
that needs kernel scratch gets its own.

A fully_connected_s8_fast node (any batch count) is cut into bands of output channels
instead (split_channels): each band owns whole packed blocks of 8 channels, its
weights, effective biases and requantization arrays are slices of the node's, its output
pointer starts at its first channel and its rows keep the layer's output stride.  Each
output channel is the same dot product and requantization as in the whole node.
"""
from __future__ import annotations

from dataclasses import replace

from microdl.runtime import cparams
from microdl.runtime.ops import Node

# Kernels whose parameters have the NHWC geometry fields used below and whose node
# input 0 is the NHWC input.  Per-channel parameters are shared by every band.
SPLITTABLE = frozenset({"conv_s8", "conv_s8_fast", "depthwise_conv_s8",
                        "depthwise_conv_s8_fast", "conv_f32", "depthwise_conv_f32"})

# Smallest node (MACs) cut into bands.  Splitting every convolution measured best on
# the MLPerf Tiny models with 2 threads (VWW 1.45x, KWS 1.58x, IC 1.73x over one
# thread; thresholds of 50k-400k MACs gave 1.0-1.3x): when consecutive layers are all
# split, band k of a layer mostly reads what band k of the previous layer wrote on the
# same core, while a layer left whole pulls half its input from the other core's
# cache.  Only trivial convolutions stay whole.
MIN_SPLIT_MACS = 10_000


def _macs(p):
    if "depth_multiplier" in p:
        per_pixel = p["input_c"] * p["depth_multiplier"] * p["filter_h"] * p["filter_w"]
    else:
        per_pixel = p["output_c"] * p["filter_h"] * p["filter_w"] * p["filter_c"]
    return p["batches"] * p["output_h"] * p["output_w"] * per_pixel


def split_rows(node: Node, parts: int, itemsize: int = 1) -> list:
    """Cut a convolution node into up to `parts` bands of output rows.

    Args:
        node: a Node whose kernel is in SPLITTABLE (or FC_SPLITTABLE).
        parts: wanted number of bands (the thread count).
        itemsize: bytes per activation element (1 for int8).

    Returns:
        A list of Nodes (the node itself, unchanged, when it is not worth splitting:
        several images, too few rows or MACs, or a band would start past the input).
        A fully_connected_s8_fast node goes to split_channels.
    """
    if node.kernel in FC_SPLITTABLE:
        return split_channels(node, parts, itemsize)
    p = node.params
    if (node.kernel not in SPLITTABLE or parts < 2 or p["batches"] != 1 or
            p["output_h"] < 2 or _macs(p) < MIN_SPLIT_MACS):
        return [node]
    out_h = p["output_h"]
    parts = min(parts, out_h)
    channels_out = p.get("output_c", p["input_c"] * p.get("depth_multiplier", 1))
    in_row = p["input_w"] * p["input_c"] * itemsize
    out_row = p["output_w"] * channels_out * itemsize
    bands = []
    for k in range(parts):
        y0, y1 = out_h * k // parts, out_h * (k + 1) // parts
        # First input row the band reads (before clipping to the input).
        r0 = y0 * p["stride_h"] - p["pad_h"]
        skip = max(r0, 0)
        if skip >= p["input_h"]:
            return [node]
        params = dict(p, output_h=y1 - y0, input_h=p["input_h"] - skip,
                      pad_h=max(-r0, 0))
        bands.append(replace(node, params=params,
                             input_byte_offset=node.input_byte_offset + skip * in_row,
                             output_byte_offset=node.output_byte_offset + y0 * out_row))
    return bands


# Smallest fully_connected_s8_fast node (MACs) cut into channel bands.  Measured on
# this 2-core machine shared with other jobs (interleaved timing, 1 -> 2 threads, so
# the figures move from run to run): AD (largest layer 82k MACs) split at 10k or 60k
# MACs 4.3-6.0 -> 4.4-5.5 us, no clear gain, so AD stays whole; one-layer models with
# the AVX512-VNNI GEMV: 512 x 512 (262k MACs) 3.0 -> 3.0 us, 1024 x 1024 (1M, 1 MiB of
# weights) 12.3-13.2 -> 12.3-12.9 us (18.9 -> 9.8 us with the AVX2 GEMV on a quiet
# machine), 4 rows of 512 x 512 (1M) 11.2-11.6 -> 9.2-9.8 us.
FC_MIN_SPLIT_MACS = 500_000
FC_SPLITTABLE = frozenset({"fully_connected_s8_fast"})


def split_channels(node: Node, parts: int, itemsize: int = 1) -> list:
    """Cut a fully_connected_s8_fast node into up to `parts` bands of output channels,
    each of whole GEMV blocks (cparams.C["FC_GEMV_BLOCK"] channels).

    Args:
        node: a Node whose kernel is in FC_SPLITTABLE.
        parts: wanted number of bands (the thread count).
        itemsize: bytes per output element (1 for int8).

    Returns:
        A list of Nodes (the node itself when not worth splitting: fewer than
        FC_MIN_SPLIT_MACS MACs or one block of channels)."""
    p = node.params
    if node.kernel not in FC_SPLITTABLE or parts < 2:
        return [node]
    n, depth = p["output_depth"], p["accum_depth"]
    block = cparams.C["FC_GEMV_BLOCK"]
    blocks = -(-n // block)
    if p["batches"] * depth * n < FC_MIN_SPLIT_MACS or blocks < 2:
        return [node]
    parts = min(parts, blocks)
    block_bytes = -(-depth // cparams.C["FC_GEMV_KC"]) * cparams.C["FC_GEMV_KC"] * block
    x, packed, bias, mult, shift, scale, ubias = node.inputs
    bands = []
    for k in range(parts):
        b0, b1 = blocks * k // parts, blocks * (k + 1) // parts
        o0, o1 = b0 * block, min(b1 * block, n)

        def cut(a):
            return None if a is None else a[o0:o1]
        params = dict(p, output_depth=o1 - o0)
        inputs = [x, packed[b0 * block_bytes:b1 * block_bytes], cut(bias), cut(mult),
                  cut(shift), cut(scale), cut(ubias)]
        bands.append(replace(node, params=params, inputs=inputs,
                             output_byte_offset=node.output_byte_offset + o0 * itemsize))
    return bands

