"""FULLY_CONNECTED (int8 x int8 -> int8, per-tensor or per-channel weights)."""
from __future__ import annotations

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.fixedpoint import quantize_multiplier_array
from microdl.runtime.ops import Node, Unsupported, register
from microdl.runtime.ops.common import (INT8, INT32, activation_range, channel_scales,
                                        per_tensor_quant, require_constant,
                                        require_dtype, require_io_count, tensor_at)


FC_REQUANT_FLOAT64 = 2  # cext/include/mdl_fully_connected.h MDL_FC_REQUANT_FLOAT64


@register("FULLY_CONNECTED")
def prepare_fully_connected(op, graph, ctx):
    """input [..., accum_depth] int8, filter OI [output_depth, accum_depth] int8
    (constant, symmetric), optional bias [output_depth] int32 with scale
    input_scale * filter_scale; output [batches, output_depth] (or [..., output_depth]
    with keep_num_dims) int8.  Multiplier = input_scale * filter_scale[o] /
    output_scale (double), as TFLite's PopulateConvolutionQuantizationParams."""
    if op.version > 12:
        raise Unsupported(f"version {op.version}")
    require_io_count(op, 2, 1, max_in=3)
    x, w = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    bias = tensor_at(graph, op, 2, optional=True)
    y = tensor_at(graph, op, 0, "output")
    for t in (x, w, y):
        require_dtype(t, INT8)
    if op.options.get("weights_format", 0) != 0:
        raise Unsupported("shuffled weights format")
    require_constant(op, w, "filter")
    if len(w.shape) != 2:
        raise ModelError(f"op {op.index}: filter must be 2-D [out, in], got {w.shape}")
    output_depth, accum_depth = w.shape
    if accum_depth == 0 or x.size % accum_depth:
        raise ModelError(f"op {op.index}: input of {x.size} elements is not a multiple "
                         f"of the filter's {accum_depth} columns")
    batches = x.size // accum_depth
    if y.size != batches * output_depth:
        raise ModelError(f"op {op.index}: output tensor {y.index} has {y.size} "
                         f"elements, expected {batches} x {output_depth}")
    in_scale, in_zp = per_tensor_quant(x)
    out_scale, out_zp = per_tensor_quant(y)
    w_scales = channel_scales(w, output_depth, axis=0)
    if bias is not None:
        require_dtype(bias, INT32)
        require_constant(op, bias, "bias")
        if bias.size != output_depth:
            raise ModelError(f"op {op.index}: bias has {bias.size} elements, expected "
                             f"{output_depth}")
    real = np.float64(in_scale) * w_scales.astype(np.float64) / np.float64(out_scale)
    try:
        mult, shift = quantize_multiplier_array(real)
    except ValueError as e:
        raise ModelError(f"op {op.index} ({op.name}): {e}") from None
    act_min, act_max = activation_range(op.options.get("fused_activation_function", 0), y)
    per_channel = int(w.quant.scales.size > 1)
    if not per_channel:
        mult, shift = mult[:1], shift[:1]
    # Fold the input zero point into the bias (symmetric weights): the C inner loop is
    # then a plain int8 dot product.  Same integers as TFLite's (x + offset) * w sum.
    row_sums = w.data.astype(np.int64).sum(axis=1)
    eff_bias = (-in_zp) * row_sums
    if bias is not None:
        eff_bias = eff_bias + bias.data.astype(np.int64)
    eff_bias = ((eff_bias + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32)
    if ctx.fc_float64:  # LiteRT >= 1.3: requantize in double, no Q31 multiplier
        rounding, scale = FC_REQUANT_FLOAT64, real[:real.size if per_channel else 1]
        mult = shift = None
    else:
        rounding, scale = ctx.rounding, None
    params = dict(batches=batches, accum_depth=accum_depth, output_depth=output_depth,
                  input_offset=-in_zp, filter_offset=0, output_offset=out_zp,
                  input_offset_folded=1, per_channel=per_channel, act_min=act_min, act_max=act_max,
                  rounding=rounding)
    return [Node("fully_connected_s8", params,
                 [x.index, w.index, eff_bias, mult, shift,
                  None if scale is None else np.ascontiguousarray(scale, np.float64)],
                 y.index)]
