"""Pooling and reduction: AVERAGE_POOL_2D, MAX_POOL_2D and MEAN.

Supported:

- AVERAGE_POOL_2D / MAX_POOL_2D: int8 and int16 NHWC input [N, H, W, C], SAME or VALID
  padding, any strides and filter sizes (global pooling included), fused activations
  NONE / RELU / RELU6 / RELU_N1_TO_1.  Input and output must share scale and zero point
  (TFLite's pooling.cc checks the same: the kernels do not requantize).  Arithmetic of
  tensorflow/lite/kernels/internal/reference/integer_ops/pooling.h: the average is over
  the in-bounds part of each window, rounded (sum +- count/2) / count with C's
  truncating division.  Padding as tensorflow/lite/kernels/padding.h.
- MEAN: int8 and int16 (zero points 0), any rank up to 6, any constant set of axes
  (negative and repeated axes allowed), keep_dims true or false.  Arithmetic of
  tensorflow/lite/kernels/internal/reference/reduce.h QuantizedMeanOrSum, which both
  LiteRT 2.3's reference MEAN (reduce.cc EvalMean -> EvalQuantizedMean) and TFLite Micro
  (reduce_common.cc) use for every int8 / int16 case: int32 sums, multiplier
  input_scale / output_scale (double, QuantizeMultiplier) folded with 1/count as
  ``(multiplier << k) / count``, k = min(floor(log2 count), 32, 31 + shift), shift
  reduced by k; then MultiplyByQuantizedMultiplier of ``sum - zp_in * count``, plus the
  output zero point, clamped to the type range.  Measured: LiteRT 2.3's pip wheel runs
  this requantization with double (gemmlowp) rounding even though its other kernels use
  TFLITE_SINGLE_ROUNDING, so MEAN always uses MDL_ROUNDING_DOUBLE, which is also
  TFLite Micro's.

Rejected as Unsupported: other dtypes, per-channel quantization, pooling that would
requantize (different input / output scale or zero point), non-constant MEAN axes,
rank-0 or empty tensors, int16 MEAN with non-zero zero points.
"""
from __future__ import annotations

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.fixedpoint import ROUNDING_DOUBLE, quantize_multiplier, wrap_int32
from microdl.core.shapes import window
from microdl.runtime.ops import Node, Unsupported, register
from microdl.runtime.ops.common import (INT8, INT16, INT32, activation_range,
                                        check_shape,
                                        per_tensor_quant, require_constant,
                                        require_dtype, require_io_count, tensor_at)

MAX_VERSION = {"AVERAGE_POOL_2D": 3, "MAX_POOL_2D": 3, "MEAN": 3}
MEAN_DIMS = 6
MAX_S8_WINDOW = 1 << 23  # int32 sums of int8 values cannot overflow below this


def _check_version(op):
    if op.version > MAX_VERSION[op.name]:
        raise Unsupported(f"version {op.version}")


def _same_dtype(op, x, y):
    require_dtype(x, INT8, INT16)
    if np.dtype(y.dtype) != np.dtype(x.dtype):
        raise ModelError(f"op {op.index} ({op.name}): input is {np.dtype(x.dtype).name}, "
                         f"output {np.dtype(y.dtype).name}")
    return np.dtype(x.dtype)


def pool_geometry(padding, in_h, in_w, filter_h, filter_w, stride_h, stride_w):
    """(out_h, out_w, pad_h, pad_w) as TFLite's ComputePaddingHeightWidth."""
    out_h, pad_h, _ = window(padding, in_h, filter_h, stride_h)
    out_w, pad_w, _ = window(padding, in_w, filter_w, stride_w)
    return out_h, out_w, pad_h, pad_w


def pool_window(op, x, y):
    """The window of AVERAGE_POOL_2D / MAX_POOL_2D (any dtype) over input x [N, H, W, C]
    from the options (padding, stride_h/w, filter_height/width): returns the kernels'
    geometry fields (batches, input_height/width, channels, output_height/width,
    filter_height/width, stride_height/width, pad_height/width).

    Raises:
        ModelError: x not 4-D, non-positive strides or filter, a window that does not
            fit or sees no input, y not [N, out_h, out_w, C].
        Unsupported: empty tensors."""
    if len(x.shape) != 4:
        raise ModelError(f"op {op.index} ({op.name}): input must be 4-D NHWC, got "
                         f"{tuple(x.shape)}")
    o = op.options
    stride_h, stride_w = int(o.get("stride_h", 0)), int(o.get("stride_w", 0))
    filter_h, filter_w = int(o.get("filter_height", 0)), int(o.get("filter_width", 0))
    if min(stride_h, stride_w, filter_h, filter_w) <= 0:
        raise ModelError(f"op {op.index} ({op.name}): strides {stride_h}x{stride_w} and "
                         f"filter {filter_h}x{filter_w} must be positive")
    n, in_h, in_w, c = x.shape
    out_h, out_w, pad_h, pad_w = pool_geometry(o.get("padding", 0), in_h, in_w, filter_h,
                                               filter_w, stride_h, stride_w)
    if out_h <= 0 or out_w <= 0:
        raise ModelError(f"op {op.index} ({op.name}): a {filter_h}x{filter_w} window "
                         f"does not fit the {in_h}x{in_w} input")
    check_shape(op, y, (n, out_h, out_w, c))
    if x.size == 0:
        raise Unsupported("empty tensors")
    for o_n, stride, pad, filt, size in ((out_h, stride_h, pad_h, filter_h, in_h),
                                         (out_w, stride_w, pad_w, filter_w, in_w)):
        # Every window must see at least one input; windows move right with k, so
        # only the first and the last can miss the input (O(1) for any resized size).
        for k in (0, o_n - 1):
            origin = k * stride - pad
            if min(origin + filt, size) <= max(origin, 0):
                raise ModelError(f"op {op.index} ({op.name}): output {k} has an empty "
                                 f"window")
    return dict(batches=n, input_height=in_h, input_width=in_w, channels=c,
                output_height=out_h, output_width=out_w, filter_height=filter_h,
                filter_width=filter_w, stride_height=stride_h, stride_width=stride_w,
                pad_height=pad_h, pad_width=pad_w)


@register("AVERAGE_POOL_2D", "MAX_POOL_2D")
def prepare_pool(op, graph, ctx):
    """input [N, H, W, C] int8/int16 -> output [N, out_h, out_w, C], same dtype, scale
    and zero point.  Options: padding, stride_h/w, filter_height/width, fused
    activation."""
    _check_version(op)
    require_io_count(op, 1, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    dtype = _same_dtype(op, x, y)
    g = pool_window(op, x, y)
    o = op.options
    filter_h, filter_w = g["filter_height"], g["filter_width"]
    in_scale, in_zp = per_tensor_quant(x)
    out_scale, out_zp = per_tensor_quant(y)
    if in_zp != out_zp or abs(in_scale - out_scale) > 1e-6:
        raise Unsupported(f"input (scale {in_scale:.6g}, zero point {in_zp}) and output "
                          f"(scale {out_scale:.6g}, zero point {out_zp}) quantization "
                          f"differ; pooling does not requantize")
    avg = op.name == "AVERAGE_POOL_2D"
    if avg and dtype == INT8 and filter_h * filter_w > MAX_S8_WINDOW:
        raise Unsupported(f"a {filter_h}x{filter_w} window is too large")
    act_min, act_max = activation_range(o.get("fused_activation_function", 0), y)
    params = dict(g, act_min=act_min, act_max=act_max)
    kernel = ("avg_pool" if avg else "max_pool") + ("_s16" if dtype == INT16 else "_s8")
    return [Node(kernel, params, [x.index], y.index)]


def resolve_axes(op, axes, rank):
    """Sorted unique non-negative axes (TFLite ResolveAxis); ModelError if out of range."""
    out = set()
    for a in np.asarray(axes).ravel().tolist():
        a = int(a)
        if not -rank <= a < rank:
            raise ModelError(f"op {op.index} ({op.name}): axis {a} out of range for "
                             f"rank {rank}")
        out.add(a % rank)
    return sorted(out)


def mean_output_shape(shape, axes, keep_dims):
    if keep_dims:
        return tuple(1 if d in axes else s for d, s in enumerate(shape))
    return tuple(s for d, s in enumerate(shape) if d not in axes)


def mean_plan(shape, axes):
    """(dims, out_strides) for the C kernel, each of length MEAN_DIMS: input dimensions
    of size 1 dropped, adjacent reduced (or kept) dimensions merged, left-padded; output
    element stride of every remaining dimension (0 if reduced).  None if more than
    MEAN_DIMS dimensions remain."""
    groups = []  # [size, reduced]
    for d, s in enumerate(shape):
        if s == 1:
            continue
        red = d in axes
        if groups and groups[-1][1] == red:
            groups[-1][0] *= s
        else:
            groups.append([s, red])
    if len(groups) > MEAN_DIMS:
        return None
    strides, stride = [0] * len(groups), 1
    for k in range(len(groups) - 1, -1, -1):
        if not groups[k][1]:
            strides[k] = stride
            stride *= groups[k][0]
    pad = MEAN_DIMS - len(groups)
    return [1] * pad + [g[0] for g in groups], [0] * pad + strides


def mean_multiplier(in_scale, out_scale, count):
    """(multiplier, shift) of TFLite's QuantizedMeanOrSum: QuantizeMultiplier of
    input_scale / output_scale (double from float32), folded with 1 / count."""
    real = float(np.float32(in_scale)) / float(np.float32(out_scale))
    m, shift = quantize_multiplier(real)
    k = min(count.bit_length() - 1, 32, 31 + shift)
    return (m << k) // count, shift - k


@register("MEAN")
def prepare_mean(op, graph, ctx):
    """input int8/int16 of rank 1..6, axis: constant int32 [num_axes] -> output of the
    reduced shape (keep_dims: reduced dimensions kept as 1), same dtype."""
    _check_version(op)
    require_io_count(op, 2, 1)
    x, axis_t = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    dtype = _same_dtype(op, x, y)
    require_dtype(axis_t, INT32)
    require_constant(op, axis_t, "axis")
    rank = len(x.shape)
    if rank == 0:
        raise Unsupported("rank-0 input")
    axes = resolve_axes(op, axis_t.data, rank)
    check_shape(op, y, mean_output_shape(x.shape, axes, bool(op.options.get("keep_dims"))))
    if x.size == 0:
        raise Unsupported("empty tensors")
    plan = mean_plan(x.shape, axes)
    if plan is None:
        raise Unsupported(f"input rank {rank} with these axes needs more than "
                          f"{MEAN_DIMS} dimensions")
    in_scale, in_zp = per_tensor_quant(x)
    out_scale, out_zp = per_tensor_quant(y)
    if dtype == INT16 and (in_zp or out_zp):
        raise Unsupported("int16 with non-zero zero points")
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    try:
        mult, shift = mean_multiplier(in_scale, out_scale, count)
    except ValueError as e:
        raise ModelError(f"op {op.index} ({op.name}): {e}") from None
    params = dict(dims=plan[0], out_strides=plan[1], output_size=y.size,
                  sum_offset=int(wrap_int32(-in_zp * count)), output_offset=out_zp,
                  multiplier=mult, shift=shift,
                  rounding=ROUNDING_DOUBLE)  # LiteRT 2.3 and TFLite Micro alike
    kernel = "mean_s16" if dtype == INT16 else "mean_s8"
    return [Node(kernel, params, [x.index], y.index, scratch_bytes=4 * y.size)]
