"""FULLY_CONNECTED (int8 x int8 -> int8, per-tensor or per-channel weights)."""
from __future__ import annotations

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.fixedpoint import quantize_multiplier_array
from microdl.runtime import cparams
from microdl.runtime.ops import Node, Unsupported, register
from microdl.runtime.ops.common import (INT8, INT16, INT32, activation_range, channel_scales,
                                        per_tensor_quant, require_constant,
                                        require_dtype, require_io_count, tensor_at)
from microdl.runtime.ops.conv import (_quant_params, use_portable_kernels,
                                      use_reference_kernels)

C = cparams.C
FC_REQUANT_FLOAT64 = C["FC_REQUANT_FLOAT64"]
GEMV_BLOCK = C["FC_GEMV_BLOCK"]  # output channels per packed block (8)
GEMV_KC = C["FC_GEMV_KC"]  # inputs per packed group (16)


def pack_gemv_weights(w):
    """OI int8 weights [output_depth, accum_depth] -> the packed layout of the s8-gemv
    microkernels (cext/include/mdl_ukernels.h): blocks of GEMV_BLOCK output channels,
    each [G][GEMV_BLOCK][GEMV_KC] with G = ceil(accum_depth / GEMV_KC), zero past the
    layer.  Returns a flat int8 array of ceil(output_depth / GEMV_BLOCK) * G *
    GEMV_BLOCK * GEMV_KC bytes; block b starts at byte b * G * GEMV_BLOCK * GEMV_KC (a
    band of whole blocks is a slice)."""
    n, k = w.shape
    nb, groups = -(-n // GEMV_BLOCK), -(-k // GEMV_KC)
    padded = np.zeros((nb * GEMV_BLOCK, groups * GEMV_KC), np.int8)
    padded[:n, :k] = w
    # [nb, 8, G, 16] -> [nb, G, 8, 16]
    packed = padded.reshape(nb, GEMV_BLOCK, groups, GEMV_KC).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(packed).reshape(-1)


def fc_geometry(op, x, w, y):
    """(output_depth, accum_depth, batches) of a FULLY_CONNECTED: filter 2-D [out, in],
    the input flattened to rows of `in` values, the output batches x out.

    Raises:
        ModelError: a filter that is not 2-D, an input that is not whole rows, or an
            output of the wrong size."""
    if len(w.shape) != 2:
        raise ModelError(f"op {op.index}: filter must be 2-D [out, in], got "
                         f"{tuple(w.shape)}")
    output_depth, accum_depth = w.shape
    if accum_depth == 0 or x.size % accum_depth:
        raise ModelError(f"op {op.index}: input of {x.size} elements is not a multiple "
                         f"of the filter's {accum_depth} columns")
    batches = x.size // accum_depth
    if y.size != batches * output_depth:
        raise ModelError(f"op {op.index}: output tensor {y.index} has {y.size} "
                         f"elements, expected {batches} x {output_depth}")
    return output_depth, accum_depth, batches


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
    if np.dtype(x.dtype) == INT16:
        return _prepare_16x8(op, x, w, bias, y, ctx)
    for t in (x, w, y):
        require_dtype(t, INT8)
    if op.options.get("weights_format", 0) != 0:
        raise Unsupported("shuffled weights format")
    require_constant(op, w, "filter")
    output_depth, accum_depth, batches = fc_geometry(op, x, w, y)
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
    if not use_reference_kernels(ctx) and accum_depth <= C["FC_FAST_MAX_DEPTH"]:
        return [_fast_node(x, w, y, batches, accum_depth, output_depth, out_zp, act_min,
                           act_max, rounding, eff_bias, mult, shift, scale)]
    params = dict(batches=batches, accum_depth=accum_depth, output_depth=output_depth,
                  input_offset=-in_zp, filter_offset=0, output_offset=out_zp,
                  input_offset_folded=1, per_channel=per_channel, act_min=act_min, act_max=act_max,
                  rounding=rounding)
    return [Node("fully_connected_s8", params,
                 [x.index, w.index, eff_bias, mult, shift,
                  None if scale is None else np.ascontiguousarray(scale, np.float64)],
                 y.index)]


def _prepare_16x8(op, x, w, bias, y, ctx):
    """16x8 FULLY_CONNECTED: input [..., accum_depth] int16 (zero point 0), filter OI
    int8 constant symmetric (per-tensor or per-channel), optional bias int64 (int32
    only with quantized_bias_type INT32), output int16 (zero point 0).  TFLite's
    reference_integer_ops::FullyConnected for int16: int64 sum of input * filter plus
    bias, requantized by real = input_scale * filter_scale / output_scale (double):
    LiteRT's reference kernel rounds acc * real in double (measured on the pip
    wheel, as its int8 form), TFLite Micro uses MultiplyByQuantizedMultiplier
    (``rounding="double"``).  Kernel fully_connected_s16."""
    if op.options.get("weights_format", 0) != 0:
        raise Unsupported("shuffled weights format")
    require_dtype(x, INT16)
    output_depth, accum_depth, batches = fc_geometry(op, x, w, y)
    mult, shift, act_min, act_max, acc64 = _quant_params(op, x, w, bias, y, output_depth,
                                                         0, True)
    if bias is not None and not acc64 and not op.options.get("quantized_bias_type"):
        raise Unsupported("16x8 FULLY_CONNECTED with an int32 bias needs "
                          "quantized_bias_type INT32 (LiteRT reads the bias as int64 "
                          "otherwise)")
    per_channel = int(w.quant.scales.size > 1)
    n = output_depth if per_channel else 1
    if ctx.fc_float64:  # LiteRT: requantize in double (measured, as the int8 form)
        in_scale, out_scale = per_tensor_quant(x)[0], per_tensor_quant(y)[0]
        real = (np.float64(in_scale) * channel_scales(w, output_depth, axis=0)
                .astype(np.float64) / np.float64(out_scale))
        rounding, scale, mult, shift = FC_REQUANT_FLOAT64, real[:n], None, None
    else:
        rounding, scale, mult, shift = ctx.rounding, None, mult[:n], shift[:n]
    params = dict(batches=batches, accum_depth=accum_depth, output_depth=output_depth,
                  per_channel=per_channel, act_min=act_min, act_max=act_max, acc64=acc64,
                  rounding=rounding)
    return [Node("fully_connected_s16", params,
                 [x.index, w.index, None if bias is None else bias.index, mult, shift,
                  None if scale is None else np.ascontiguousarray(scale, np.float64)],
                 y.index)]


def _fast_node(x, w, y, batches, accum_depth, output_depth, out_zp, act_min, act_max,
               rounding, eff_bias, mult, shift, scale):
    """The fully_connected_s8_fast node: weights packed for s8-gemv (the best SIMD
    microkernels the CPU runs, AVX512-VNNI or AVX2, chosen by the kernel; their
    portable twins with MICRODL_PORTABLE_KERNELS=1), per-tensor requantization
    parameters repeated to one per output channel (the kernel reads output_depth
    entries; a band of channels over threads then slices them like the weights)."""
    def per_channel(a, dtype):
        a = np.asarray(a, dtype)
        return np.ascontiguousarray(np.broadcast_to(a, (output_depth,)) if a.size == 1
                                    else a)
    gemv = C["FC_GEMV_8C16_C"] if use_portable_kernels() else C["FC_GEMV_8C16"]
    params = dict(batches=batches, accum_depth=accum_depth, output_depth=output_depth,
                  output_stride=output_depth, output_offset=out_zp, act_min=act_min,
                  act_max=act_max, rounding=rounding, gemv=gemv)
    # The VNNI GEMV's bias: its inputs are offset by +128 (uint8), so it carries
    # -128 * the row sums (int32, wrapping as the kernel's sums).
    ubias = eff_bias.astype(np.int64) - 128 * w.data.astype(np.int64).sum(axis=1)
    ubias = ((ubias + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32)
    inputs = [x.index, pack_gemv_weights(w.data), eff_bias,
              None if mult is None else per_channel(mult, np.int32),
              None if shift is None else per_channel(shift, np.int32),
              None if scale is None else per_channel(scale, np.float64), ubias]
    return Node("fully_connected_s8_fast", params, inputs, y.index)
