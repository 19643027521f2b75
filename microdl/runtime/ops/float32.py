"""Float32 ops (form "float32": float activations, float weights; see op_form).

Prepare functions for the compute ops of float models, registered with
``@register(..., form="float32")`` so they take precedence over the int8 preparers for
float ops only.  Data-movement ops (RESHAPE, SQUEEZE, CONCATENATION, PAD, TRANSPOSE,
STRIDED_SLICE, ...) are dtype-generic in microdl/runtime/ops/data.py and are not
registered again here.  Kernels: cext/include/mdl_float.h.

Semantics and arithmetic are those of LiteRT's float reference kernels
(tensorflow/lite/kernels/internal/reference/: conv.h, depthwiseconv_float.h,
fully_connected.h, pooling.h, softmax.h, add.h, ...): float32 sums in the reference's
order, the bias added after the sum, the fused activation as a clamp to TFLite
CalculateActivationRange (kernel_util.h) bounds.  Shape checks reuse the int8
preparers' helpers (microdl/core/shapes.py, ops/common.py, ops/conv.py, ops/pooling.py,
ops/elementwise.py) so both paths reject the same models.

Float parameters reach C as small float32 array inputs of the node (the clamp
``float32[2] = {min, max}``, SOFTMAX's beta, LEAKY_RELU's alpha), made here.

GEMM weights (CONV_2D, FULLY_CONNECTED) are repacked once at prepare time as
[ceil(N / 16)][K][16] float32 blocks of 16 output channels (persistent_bytes), the
layout the 4x16 GEMM tile reads (mdl_f32_gemm_4x16).
"""
from __future__ import annotations

import math

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.shapes import PADDING_SAME, window
from microdl.runtime.ops import Node, Unsupported, register
from microdl.runtime.ops.common import (ACT_NONE, ACT_RELU, ACT_RELU6, ACT_RELU_N1_TO_1,
                                        FLOAT32, INT32, check_shape, require_constant,
                                        require_dtype, require_io_count, tensor_at)
from microdl.runtime.ops.conv import (_check_extent, _require_rank, _stride_dilation,
                                      _version_check, conv_window)
from microdl.runtime.ops.elementwise import broadcast_plan, broadcast_shape
from microdl.runtime.ops.fully_connected import fc_geometry
from microdl.runtime.ops.pooling import (mean_output_shape, mean_plan, pool_window,
                                         resolve_axes)

F32 = np.float32
FLT_MAX = float(np.finfo(np.float32).max)
NR = 16  # MDL_F32_NR: output-channel lanes of the packed GEMM weights
DEPTHWISE_MAX_TAPS = 1024  # MDL_DEPTHWISE_F32_MAX_TAPS
# im2col block of conv_f32: as many patches as fit this many floats (32 KiB), a
# multiple of 12 (whole 6-row and 4-row GEMM tiles), at least 12, at most 72.
IM2COL_FLOATS = 8192
BLOCK_STEP = 12
MAX_BLOCK_PIXELS = 72

# mdl_float.h op codes
BINARY_OPS = {"ADD": 0, "SUB": 1, "MUL": 2, "DIV": 3, "MAXIMUM": 4, "MINIMUM": 5,
              "SQUARED_DIFFERENCE": 6}
UNARY_OPS = {"RELU": 0, "RELU6": 1, "RELU_N1_TO_1": 2, "LOGISTIC": 3, "TANH": 4,
             "HARD_SWISH": 5, "LEAKY_RELU": 6, "ABS": 7, "NEG": 8, "EXP": 9,
             "SQRT": 10, "RSQRT": 11, "SQUARE": 12}
# Ops whose LiteRT kernel applies a fused activation (options
# fused_activation_function); the others compute their formula unclamped.
_FUSED = ("ADD", "SUB", "MUL", "DIV")
# Highest versions LiteRT 2.x registers for these ops (float semantics do not change
# across versions; later versions add integer types).
_MAX_VERSION = {"FULLY_CONNECTED": 12, "AVERAGE_POOL_2D": 3, "MAX_POOL_2D": 3,
                "ADD": 5, "SUB": 5, "MUL": 7, "DIV": 2, "MAXIMUM": 4, "MINIMUM": 4,
                "SQUARED_DIFFERENCE": 2, "SOFTMAX": 3, "MEAN": 3, "LOGISTIC": 3,
                "TANH": 3, "HARD_SWISH": 1, "LEAKY_RELU": 2, "RELU": 3, "RELU6": 3,
                "RELU_N1_TO_1": 1, "ABS": 5, "NEG": 2, "EXP": 2, "SQRT": 2, "RSQRT": 3,
                "SQUARE": 1}


def _check_version(op):
    if not 1 <= op.version <= _MAX_VERSION[op.name]:
        raise Unsupported(f"version {op.version}")


def activation_clamp(act):
    """float32[2] {min, max} of a fused activation (TFLite CalculateActivationRange
    for float: NONE is the whole float range, so infinities clamp to +-FLT_MAX as in
    LiteRT).  Unsupported for TANH / SIGN_BIT, which no float kernel fuses."""
    act = int(act or 0)
    bounds = {ACT_NONE: (-FLT_MAX, FLT_MAX), ACT_RELU: (0.0, FLT_MAX),
              ACT_RELU6: (0.0, 6.0), ACT_RELU_N1_TO_1: (-1.0, 1.0)}
    if act not in bounds:
        raise Unsupported(f"fused activation {act} is not supported on float ops")
    return np.array(bounds[act], np.float32)


def _fused_clamp(op):
    return activation_clamp(op.options.get("fused_activation_function", 0))


def _float_io(*tensors):
    for t in tensors:
        require_dtype(t, FLOAT32)


def _float_bias(op, bias, n):
    """The optional bias [n] as a float32 array (or None); must be a float32 constant."""
    if bias is None:
        return None
    require_dtype(bias, FLOAT32)
    require_constant(op, bias, "bias")
    if bias.size != n:
        raise ModelError(f"bias has {bias.size} elements, expected {n}")
    return np.asarray(bias.data, np.float32).reshape(n)


def pack_gemm_weights(rows):
    """rows [N, K] float32 (one row of K weights per output channel) -> float32
    [ceil(N / 16)][K][16]: element (n, k) at [n // 16][k][n % 16], zero beyond N (the
    layout of mdl_f32_gemm_4x16)."""
    n, k = rows.shape
    blocks = -(-n // NR)
    w = np.zeros((blocks * NR, k), np.float32)
    w[:n] = rows
    return np.ascontiguousarray(w.reshape(blocks, NR, k).transpose(0, 2, 1))


def pad_bias(bias, n):
    """bias [n] float32 or None -> float32[ceil(n / 16) * 16], zero beyond n (all zero
    without a bias: the reference then adds 0.0f)."""
    out = np.zeros(-(-n // NR) * NR, np.float32)
    if bias is not None:
        out[:n] = bias
    return out


# ----------------------------------------------------------------- convolutions
@register("CONV_2D", form="float32")
def prepare_conv_2d_f32(op, graph, ctx):
    """input NHWC float32, filter OHWI [output_c, filter_h, filter_w, input_c] float32
    constant, optional bias [output_c] float32; output NHWC float32.  Padding, strides
    and dilations as the int8 CONV_2D (TFLite ComputePaddingHeightWidth).  Grouped
    convolutions (filter_c < input_c) are Unsupported."""
    _version_check(op)
    require_io_count(op, 2, 1, max_in=3)
    x, w = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    bias = tensor_at(graph, op, 2, optional=True)
    y = tensor_at(graph, op, 0, "output")
    _float_io(x, w, y)
    require_constant(op, w, "filter")
    for t, what in ((x, "input"), (w, "filter"), (y, "output")):
        _require_rank(t, 4, what)
    batches, in_h, in_w, in_c = x.shape
    out_c, f_h, f_w, f_c = w.shape
    if f_c < 1 or in_c < 1 or in_c % f_c:
        raise ModelError(f"input has {in_c} channels, not a multiple of the "
                         f"filter's {f_c}")
    if f_c != in_c:
        raise Unsupported(f"grouped float convolution ({in_c // f_c} groups)")
    sh, sw, dh, dw, out_h, out_w, pad_h, pad_w = conv_window(op, x, y, f_h, f_w, out_c)
    k = f_h * f_w * in_c
    if y.size == 0 or x.size == 0:
        raise Unsupported("empty tensors")
    _check_extent(k * NR, batches * in_h * in_w * in_c, y.size)
    clamp = _fused_clamp(op)
    b = _float_bias(op, bias, out_c)
    direct = int(f_h == 1 and f_w == 1 and sh == 1 and sw == 1 and pad_h == 0 and
                 pad_w == 0 and out_h == in_h and out_w == in_w)
    fit = max(BLOCK_STEP, IM2COL_FLOATS // k // BLOCK_STEP * BLOCK_STEP)
    block = min(MAX_BLOCK_PIXELS, fit, out_h * out_w)
    params = dict(batches=batches, input_h=in_h, input_w=in_w, input_c=in_c,
                  filter_h=f_h, filter_w=f_w, filter_c=f_c, output_h=out_h,
                  output_w=out_w, output_c=out_c, stride_h=sh, stride_w=sw,
                  dilation_h=dh, dilation_w=dw, pad_h=pad_h, pad_w=pad_w,
                  direct=direct, block_pixels=block)
    scratch = 0 if direct else 4 * block * k
    weights = pack_gemm_weights(np.asarray(w.data, np.float32).reshape(out_c, k))
    return [Node("conv_f32", params, [x.index, weights, pad_bias(b, out_c), clamp],
                 y.index, scratch_bytes=scratch)]


@register("DEPTHWISE_CONV_2D", form="float32")
def prepare_depthwise_conv_2d_f32(op, graph, ctx):
    """input NHWC float32, filter 1HWO [1, filter_h, filter_w, input_c * multiplier]
    float32 constant, optional bias [output_c] float32; output NHWC float32.  The depth
    multiplier comes from the shapes (TFLite ComputeDepthMultiplier)."""
    _version_check(op)
    require_io_count(op, 2, 1, max_in=3)
    x, w = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    bias = tensor_at(graph, op, 2, optional=True)
    y = tensor_at(graph, op, 0, "output")
    _float_io(x, w, y)
    require_constant(op, w, "filter")
    for t, what in ((x, "input"), (w, "filter"), (y, "output")):
        _require_rank(t, 4, what)
    batches, in_h, in_w, in_c = x.shape
    one, f_h, f_w, out_c = w.shape
    if one != 1:
        raise ModelError(f"filter must be [1, H, W, C], got {tuple(w.shape)}")
    if in_c < 1 or out_c % in_c:
        raise ModelError(f"filter has {out_c} channels, not a multiple of the "
                         f"input's {in_c}")
    sh, sw, dh, dw, out_h, out_w, pad_h, pad_w = conv_window(op, x, y, f_h, f_w, out_c)
    _check_extent(in_h * in_w * out_c)
    if f_h * f_w > DEPTHWISE_MAX_TAPS:
        raise Unsupported(f"a {f_h}x{f_w} depthwise filter (at most "
                          f"{DEPTHWISE_MAX_TAPS} taps)")
    if y.size == 0 or x.size == 0:
        raise Unsupported("empty tensors")
    clamp = _fused_clamp(op)
    b = _float_bias(op, bias, out_c)
    params = dict(batches=batches, input_h=in_h, input_w=in_w, input_c=in_c,
                  filter_h=f_h, filter_w=f_w, depth_multiplier=out_c // in_c,
                  output_h=out_h, output_w=out_w, stride_h=sh, stride_w=sw,
                  dilation_h=dh, dilation_w=dw, pad_h=pad_h, pad_w=pad_w)
    return [Node("depthwise_conv_f32", params, [x.index, w.index, b, clamp], y.index)]


@register("FULLY_CONNECTED", form="float32")
def prepare_fully_connected_f32(op, graph, ctx):
    """input [..., accum_depth] float32, filter OI [output_depth, accum_depth] float32
    constant, optional bias [output_depth] float32; output [batches, output_depth]
    (or [..., output_depth] with keep_num_dims) float32."""
    _check_version(op)
    require_io_count(op, 2, 1, max_in=3)
    x, w = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    bias = tensor_at(graph, op, 2, optional=True)
    y = tensor_at(graph, op, 0, "output")
    _float_io(x, w, y)
    if op.options.get("weights_format", 0) != 0:
        raise Unsupported("shuffled weights format")
    require_constant(op, w, "filter")
    output_depth, accum_depth, batches = fc_geometry(op, x, w, y)
    if y.size == 0:
        raise Unsupported("empty tensors")
    _check_extent(accum_depth * NR, x.size, y.size)
    clamp = _fused_clamp(op)
    b = _float_bias(op, bias, output_depth)
    params = dict(batches=batches, accum_depth=accum_depth, output_depth=output_depth)
    weights = pack_gemm_weights(np.asarray(w.data, np.float32))
    return [Node("fully_connected_f32", params,
                 [x.index, weights, pad_bias(b, output_depth), clamp], y.index)]


@register("TRANSPOSE_CONV", form="float32")
def prepare_transpose_conv_f32(op, graph, ctx):
    """Inputs (output_shape int32[4], filter OHWI [output_c, filter_h, filter_w,
    input_c] float32 constant, input NHWC float32, optional bias [output_c] float32);
    output NHWC float32 with the static shape of the output tensor, which the
    constant output_shape must equal (a computed output_shape is an int32 activation:
    op_form then routes the op to the integer preparer, which rejects float data).
    Padding: TFLite ComputePaddingHeightWidth on the output size
    (transpose_conv.cc), as the int8 TRANSPOSE_CONV."""
    _version_check(op)
    require_io_count(op, 3, 1, max_in=4)
    shape_t, w, x = (tensor_at(graph, op, k) for k in range(3))
    bias = tensor_at(graph, op, 3, optional=True)
    y = tensor_at(graph, op, 0, "output")
    _float_io(x, w, y)
    require_constant(op, w, "filter")
    require_dtype(shape_t, INT32)
    if tuple(shape_t.shape) != (4,):
        raise ModelError(f"output_shape (tensor {shape_t.index}) must have 4 elements, "
                         f"got shape {tuple(shape_t.shape)}")
    for t, what in ((x, "input"), (w, "filter"), (y, "output")):
        _require_rank(t, 4, what)
    batches, in_h, in_w, in_c = x.shape
    out_c, f_h, f_w, f_c = w.shape
    if f_c != in_c:
        raise ModelError(f"filter has {f_c} input channels, the input {in_c}")
    if y.shape[0] != batches or y.shape[3] != out_c:
        raise ModelError(f"output tensor {y.index} has shape {tuple(y.shape)}, expected "
                         f"batch {batches} and {out_c} channels")
    require_constant(op, shape_t, "output_shape")
    if tuple(int(v) for v in shape_t.data) != tuple(y.shape):
        raise ModelError(f"output_shape {[int(v) for v in shape_t.data]} differs from "
                         f"the output tensor's shape {tuple(y.shape)}")
    sh, sw, _, _ = _stride_dilation(op, dilation=False)
    out_h, out_w = y.shape[1], y.shape[2]
    if y.size == 0 or x.size == 0:
        raise Unsupported("empty tensors")
    _check_extent(in_h * sh + f_h + out_h, in_w * sw + f_w + out_w, y.size, x.size,
                  w.size)
    padding = op.options.get("padding", PADDING_SAME)
    _, pad_h, _ = window(padding, out_h, f_h, sh)  # on the forward convolution
    _, pad_w, _ = window(padding, out_w, f_w, sw)
    clamp = _fused_clamp(op)
    b = _float_bias(op, bias, out_c)
    hwio = np.ascontiguousarray(np.asarray(w.data, np.float32).transpose(1, 2, 3, 0))
    params = dict(batches=batches, input_h=in_h, input_w=in_w, input_c=in_c,
                  filter_h=f_h, filter_w=f_w, output_h=out_h, output_w=out_w,
                  output_c=out_c, stride_h=sh, stride_w=sw, pad_h=pad_h, pad_w=pad_w)
    return [Node("transpose_conv_f32", params, [x.index, hwio, b, clamp, None],
                 y.index)]


# ----------------------------------------------------------------- pooling
@register("AVERAGE_POOL_2D", "MAX_POOL_2D", form="float32")
def prepare_pool_f32(op, graph, ctx):
    """input [N, H, W, C] float32 -> output [N, out_h, out_w, C] float32.  Options:
    padding, stride_h/w, filter_height/width, fused activation."""
    _check_version(op)
    require_io_count(op, 1, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _float_io(x, y)
    params = pool_window(op, x, y)
    _check_extent(params["filter_height"] + params["input_height"]
                  + params["output_height"] * params["stride_height"],
                  params["filter_width"] + params["input_width"]
                  + params["output_width"] * params["stride_width"], x.size, y.size)
    kernel = "avg_pool_f32" if op.name == "AVERAGE_POOL_2D" else "max_pool_f32"
    return [Node(kernel, params, [x.index, _fused_clamp(op)], y.index)]


# ----------------------------------------------------------------- elementwise
@register(*BINARY_OPS, form="float32")
def prepare_binary_f32(op, graph, ctx):
    """input1, input2 float32 (NumPy-broadcastable, at most 6 merged dimensions) ->
    output of the broadcast shape, float32: ADD, SUB, MUL, DIV with their fused
    activation; MAXIMUM, MINIMUM, SQUARED_DIFFERENCE unclamped."""
    _check_version(op)
    require_io_count(op, 2, 1)
    x1, x2 = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    _float_io(x1, x2, y)
    out_shape = broadcast_shape(op, x1.shape, x2.shape)
    check_shape(op, y, out_shape)
    if x1.size == 0 or x2.size == 0 or y.size == 0:
        raise Unsupported("empty tensors")
    _check_extent(x1.size, x2.size, y.size)
    plan = broadcast_plan(x1.shape, x2.shape, out_shape)
    if plan is None:
        raise Unsupported(f"broadcasting {tuple(x1.shape)} with {tuple(x2.shape)} needs "
                          f"more than 6 dimensions")
    dims, st1, st2 = plan
    clamp = _fused_clamp(op) if op.name in _FUSED else None
    params = dict(dims=dims, in1_strides=st1, in2_strides=st2, op=BINARY_OPS[op.name])
    return [Node("binary_f32", params, [x1.index, x2.index, clamp], y.index)]


@register(*UNARY_OPS, form="float32")
def prepare_unary_f32(op, graph, ctx):
    """float32 [any shape] -> float32 [same shape], LiteRT's reference formula of the
    op (mdl_float.h); LEAKY_RELU's alpha from its options."""
    _check_version(op)
    require_io_count(op, 1, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _float_io(x, y)
    check_shape(op, y, x.shape)
    if x.size == 0:
        return []
    _check_extent(x.size)
    fparams = None
    if op.name == "LEAKY_RELU":
        alpha = float(op.options.get("alpha", 0.0))
        if not math.isfinite(alpha):
            raise ModelError(f"LEAKY_RELU alpha {alpha} is not finite")
        fparams = np.array([alpha], np.float32)
    return [Node("unary_f32", dict(size=x.size, op=UNARY_OPS[op.name]),
                 [x.index, fparams], y.index)]


@register("SOFTMAX", form="float32")
def prepare_softmax_f32(op, graph, ctx):
    """float32 [..., depth] -> float32 [..., depth]: exp(beta * (x - max)) / sum over
    the last axis (reference_ops::Softmax)."""
    _check_version(op)
    require_io_count(op, 1, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _float_io(x, y)
    check_shape(op, y, x.shape)
    if len(x.shape) < 1:
        raise Unsupported("SOFTMAX of a scalar (LiteRT requires rank >= 1)")
    beta = float(F32(op.options.get("beta", 0.0)))
    if not math.isfinite(beta):
        raise ModelError(f"SOFTMAX beta {beta} is not finite")
    if x.size == 0:
        return []
    _check_extent(x.size)
    depth = int(x.shape[-1])
    return [Node("softmax_f32", dict(outer_size=x.size // depth, depth=depth),
                 [x.index, np.array([beta], np.float32)], y.index)]


@register("MEAN", form="float32")
def prepare_mean_f32(op, graph, ctx):
    """input float32 of rank 1..6, axis: constant int32 [num_axes] -> float32 of the
    reduced shape (keep_dims: reduced dimensions kept as 1): float32 sums in input
    order divided by the element count."""
    _check_version(op)
    require_io_count(op, 2, 1)
    x, axis_t = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    _float_io(x, y)
    require_dtype(axis_t, INT32)
    require_constant(op, axis_t, "axis")
    rank = len(x.shape)
    if rank == 0:
        raise Unsupported("rank-0 input")
    axes = resolve_axes(op, axis_t.data, rank)
    check_shape(op, y, mean_output_shape(x.shape, axes,
                                         bool(op.options.get("keep_dims"))))
    if x.size == 0:
        raise Unsupported("empty tensors")
    _check_extent(x.size)
    plan = mean_plan(x.shape, axes)
    if plan is None:
        raise Unsupported(f"input rank {rank} with these axes needs more than 6 "
                          f"dimensions")
    count = x.size // y.size
    return [Node("mean_f32", dict(dims=plan[0], out_strides=plan[1], output_size=y.size,
                                  count=count), [x.index], y.index)]

