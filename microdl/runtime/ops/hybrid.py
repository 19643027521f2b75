"""Hybrid ("dynamic-range") FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D: float32
activations in and out, int8 symmetric constant weights, float32 bias.  This is what
``tf.lite.Optimize.DEFAULT`` writes without a representative dataset (and
``microdl-convert --weights-only``).  Kernels: cext/include/mdl_hybrid.h.

What the kernels compute is LiteRT's BUILTIN_REF arithmetic (tflite/kernels/
fully_connected.cc EvalHybridDense, conv.cc EvalHybrid / EvalHybridPerChannel,
depthwise_conv.cc EvalHybridPerChannel and the tensor_utils helpers they call), checked
element by element against the ai_edge_litert wheel in tests/test_hybrid.py:

- FULLY_CONNECTED quantizes each batch row: symmetric (scale max|x| / 127, zero point
  0) or, with the option ``asymmetric_quantize_inputs``, asymmetric (min(0, x) ..
  max(0, x) onto -128..127, nudged zero point); output = bias + (float)acc *
  (input_scale * filter_scale), filter_scale per output channel when the weights
  have more than one scale; then the fused activation (NONE, RELU, RELU_N1_TO_1,
  RELU6, TANH, SIGN_BIT) on floats.
- CONV_2D quantizes each batch image: per-channel weights whose scales differ (and
  every grouped convolution) take the asymmetric path, output = ((float)acc *
  filter_scale[o]) * input_scale + bias; per-tensor weights (or per-channel scales
  that are all equal, as LiteRT decides) the symmetric one, output = (float)acc *
  (input_scale * filter_scale) + bias.  Padding taps are skipped (real 0.0).
- DEPTHWISE_CONV_2D quantizes each batch image asymmetrically, output = (float)acc *
  (filter_scale[o] * input_scale) + bias.  A per-tensor filter scale is used for every
  channel (LiteRT's reference kernel indexes the scale array per channel, which is
  only defined for per-channel weights or a single output channel).

The convolutions clamp to the fused activation's float range (NONE, RELU,
RELU_N1_TO_1, RELU6; LiteRT's CalculateActivationRange); other activations are
Unsupported.  Weights must be int8 with zero points 0 (uint8 or asymmetric weights
are Unsupported).
"""
from __future__ import annotations

import numpy as np

from microdl.core.errors import ModelError
from microdl.runtime.ops import Node, Unsupported, register
from microdl.runtime.ops.common import (FLOAT32, INT8, require_constant, require_dtype,
                                        require_io_count, tensor_at)
from microdl.runtime.ops.conv import _require_rank, _version_check, conv_window

# tflite ActivationFunctionType codes the kernels take (mdl_hybrid.h MDL_HYBRID_ACT_*).
_ACT_NONE, _ACT_RELU, _ACT_RELU_N1_TO_1, _ACT_RELU6, _ACT_TANH, _ACT_SIGN_BIT = range(6)
_FLT_MAX = float(np.finfo(np.float32).max)
# Float clamp of a convolution's fused activation (CalculateActivationRange).
_CLAMP = {_ACT_NONE: (-_FLT_MAX, _FLT_MAX), _ACT_RELU: (0.0, _FLT_MAX),
          _ACT_RELU_N1_TO_1: (-1.0, 1.0), _ACT_RELU6: (0.0, 6.0)}
# int32 sums of int8 x (int8 - zero point) products stay exact below this many terms.
_MAX_TERMS = (1 << 31) // (128 * 255)
_MAX_FC_VERSION = 12


def _weight_scales(op, w, n_channels, axis):
    """float32 scales of the int8 weights w: one, or n_channels along `axis`."""
    require_dtype(w, INT8)
    require_constant(op, w, "filter")
    q = w.quant
    if q is None or q.scales.size == 0:
        raise ModelError(f"op {op.index} ({op.name}): int8 weights tensor {w.index} "
                         f"({w.name!r}) has no quantization scale")
    if np.any(q.zero_points != 0):
        raise Unsupported(f"weights tensor {w.index} ({w.name!r}) has non-zero zero "
                          f"points; hybrid kernels need symmetric weights")
    scales = np.asarray(q.scales, np.float32)
    if scales.size > 1 and (scales.size != n_channels or q.quantized_dimension != axis):
        raise ModelError(f"op {op.index} ({op.name}): weights tensor {w.index} has "
                         f"{scales.size} scales along dimension {q.quantized_dimension}, "
                         f"expected {n_channels} along {axis}")
    if not np.all(np.isfinite(scales) & (scales > 0)):
        raise ModelError(f"op {op.index} ({op.name}): weights tensor {w.index} scales "
                         f"must be finite and > 0")
    return scales


def _float_bias(op, bias, n):
    if bias is None:
        return None
    require_dtype(bias, FLOAT32)
    require_constant(op, bias, "bias")
    if bias.size != n:
        raise ModelError(f"op {op.index} ({op.name}): bias has {bias.size} elements, "
                         f"expected {n}")
    return bias.index


def _clamp(op):
    act = int(op.options.get("fused_activation_function", 0) or 0)
    if act not in _CLAMP:
        raise Unsupported(f"fused activation {act} on a hybrid {op.name}")
    return np.array(_CLAMP[act], np.float32)


def _f32_io(*tensors):
    for t in tensors:
        require_dtype(t, FLOAT32)


@register("FULLY_CONNECTED", form="hybrid")
def prepare_fully_connected_hybrid(op, graph, ctx):
    """input [..., accum_depth] float32, filter OI [output_depth, accum_depth] int8
    constant (per-tensor, or per-channel along dimension 0), optional bias
    [output_depth] float32; output [batches, output_depth] (or [..., output_depth]
    with keep_num_dims) float32.  Scratch: one quantized row (accum_depth bytes)."""
    if not 1 <= op.version <= _MAX_FC_VERSION:
        raise Unsupported(f"version {op.version}")
    require_io_count(op, 2, 1, max_in=3)
    x, w = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    bias = tensor_at(graph, op, 2, optional=True)
    y = tensor_at(graph, op, 0, "output")
    _f32_io(x, y)
    if op.options.get("weights_format", 0) != 0:
        raise Unsupported("shuffled weights format")
    if len(w.shape) != 2:
        raise ModelError(f"op {op.index}: filter must be 2-D [out, in], got {w.shape}")
    output_depth, accum_depth = (int(d) for d in w.shape)
    if accum_depth == 0 or output_depth == 0 or x.size % accum_depth:
        raise ModelError(f"op {op.index}: input of {x.size} elements is not a multiple "
                         f"of the filter's {accum_depth} columns")
    if accum_depth > _MAX_TERMS:
        raise Unsupported(f"{accum_depth} input features overflow the int32 sums")
    batches = x.size // accum_depth
    if y.size != batches * output_depth:
        raise ModelError(f"op {op.index}: output tensor {y.index} has {y.size} "
                         f"elements, expected {batches} x {output_depth}")
    scales = _weight_scales(op, w, output_depth, 0)
    act = int(op.options.get("fused_activation_function", 0) or 0)
    if not 0 <= act <= _ACT_SIGN_BIT:
        raise Unsupported(f"fused activation {act}")
    asym = int(bool(op.options.get("asymmetric_quantize_inputs", False)))
    row_sums = None
    if asym:
        row_sums = w.data.astype(np.int64).sum(axis=1).astype(np.int32)
    params = dict(batches=batches, accum_depth=accum_depth, output_depth=output_depth,
                  per_channel=int(scales.size > 1), asymmetric=asym, activation=act)
    return [Node("fully_connected_hybrid", params,
                 [x.index, w.index, _float_bias(op, bias, output_depth), scales,
                  row_sums], y.index, scratch_bytes=accum_depth)]


def _conv_geometry(op, x, y, f_h, f_w, out_c):
    batches, in_h, in_w, in_c = (int(d) for d in x.shape)
    sh, sw, dh, dw, out_h, out_w, pad_h, pad_w = conv_window(op, x, y, f_h, f_w, out_c)
    if in_h * in_w * in_c >= (1 << 31) - 16:
        raise Unsupported("input image of 2^31 elements or more")
    return dict(batches=batches, input_h=in_h, input_w=in_w, input_c=in_c,
                output_h=out_h, output_w=out_w, filter_h=f_h, filter_w=f_w,
                stride_h=sh, stride_w=sw, dilation_h=dh, dilation_w=dw,
                pad_h=pad_h, pad_w=pad_w)


@register("CONV_2D", form="hybrid")
def prepare_conv_2d_hybrid(op, graph, ctx):
    """input NHWC float32, filter OHWI [output_c, filter_h, filter_w, filter_c] int8
    constant (per-channel along dimension 0 or per-tensor), optional bias [output_c]
    float32; output NHWC float32.  Grouped when input_c = groups * filter_c (needs
    per-channel scales, as in LiteRT).  Scratch: one quantized image (int8) and one
    int16 patch."""
    _version_check(op)
    require_io_count(op, 2, 1, max_in=3)
    x, w = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    bias = tensor_at(graph, op, 2, optional=True)
    y = tensor_at(graph, op, 0, "output")
    _f32_io(x, y)
    for t, what in ((x, "input"), (w, "filter"), (y, "output")):
        _require_rank(t, 4, what)
    out_c, f_h, f_w, f_c = (int(d) for d in w.shape)
    in_c = int(x.shape[3])
    if f_c < 1 or in_c < 1 or in_c % f_c:
        raise ModelError(f"input has {in_c} channels, not a multiple of the "
                         f"filter's {f_c}")
    groups = in_c // f_c
    if out_c % groups:
        raise ModelError(f"{out_c} filters do not split into {groups} groups")
    if f_h * f_w * f_c > _MAX_TERMS:
        raise Unsupported(f"patches of {f_h * f_w * f_c} entries overflow int32 sums")
    params = _conv_geometry(op, x, y, f_h, f_w, out_c)
    scales = _weight_scales(op, w, out_c, 0)
    per_channel = scales.size > 1 and bool(np.any(scales != scales[0]))
    if groups != 1:
        if scales.size == 1:
            raise Unsupported("grouped hybrid CONV_2D needs per-channel weight scales")
        per_channel = True
    params.update(output_c=out_c, filter_c=f_c, per_channel=int(per_channel))
    image = params["input_h"] * params["input_w"] * in_c
    scratch = -(-image // 2) * 2 + 2 * f_h * f_w * f_c
    return [Node("conv_hybrid", params,
                 [x.index, w.index, _float_bias(op, bias, out_c), scales, _clamp(op)],
                 y.index, scratch_bytes=scratch)]


@register("DEPTHWISE_CONV_2D", form="hybrid")
def prepare_depthwise_conv_2d_hybrid(op, graph, ctx):
    """input NHWC float32, filter 1HWO [1, filter_h, filter_w, input_c *
    depth_multiplier] int8 constant (per-channel along dimension 3, or one scale),
    optional bias [output_c] float32; output NHWC float32.  The depth multiplier comes
    from the shapes.  Scratch: one quantized image (int8) and output_c int32 sums."""
    _version_check(op)
    require_io_count(op, 2, 1, max_in=3)
    x, w = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    bias = tensor_at(graph, op, 2, optional=True)
    y = tensor_at(graph, op, 0, "output")
    _f32_io(x, y)
    for t, what in ((x, "input"), (w, "filter"), (y, "output")):
        _require_rank(t, 4, what)
    one, f_h, f_w, out_c = (int(d) for d in w.shape)
    in_c = int(x.shape[3])
    if one != 1:
        raise ModelError(f"filter must be [1, H, W, C], got {tuple(w.shape)}")
    if in_c < 1 or out_c % in_c:
        raise ModelError(f"filter has {out_c} channels, not a multiple of the "
                         f"input's {in_c}")
    if f_h * f_w > _MAX_TERMS:
        raise Unsupported(f"{f_h * f_w} filter taps overflow int32 sums")
    params = _conv_geometry(op, x, y, f_h, f_w, out_c)
    params["depth_multiplier"] = out_c // in_c
    scales = _weight_scales(op, w, out_c, 3)
    if scales.size == 1:
        scales = np.full(out_c, scales[0], np.float32)
    image = params["input_h"] * params["input_w"] * in_c
    scratch = -(-image // 4) * 4 + 4 * out_c
    return [Node("depthwise_conv_hybrid", params,
                 [x.index, w.index, _float_bias(op, bias, out_c), scales, _clamp(op)],
                 y.index, scratch_bytes=scratch)]
