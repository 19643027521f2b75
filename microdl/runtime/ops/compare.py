"""Comparisons (LESS, LESS_EQUAL, GREATER, GREATER_EQUAL, EQUAL, NOT_EQUAL), MINIMUM /
MAXIMUM on integer tensors, SELECT / SELECT_V2 and LOGICAL_AND / LOGICAL_OR /
LOGICAL_NOT: the element-wise ops the control-flow and masking parts of a graph use.
C kernels in cext/include/mdl_compare.h; broadcasting as NumPy (and TFLite's
Broadcast*Slow kernels), up to 6 dimensions.

Arithmetic, from LiteRT's kernels (comparisons.cc, maximum_minimum.cc, select.cc,
logical.cc):

- Comparisons of int8 tensors rescale both inputs first (ComparisonWithScaling):
  ``v = MultiplyByQuantizedMultiplierSmallerThanOneExp((q - zero_point) << 8, M)``
  with M = QuantizeMultiplierSmallerThanOneExp(input scale), so two int8 tensors of
  different scales compare by real value; each input scale must be < 1 (LiteRT's
  check).  int16, int32, int64, float32 and bool inputs compare raw values (floats
  with IEEE semantics).  The output is bool.
- MINIMUM / MAXIMUM on int8, int16, int32 and int64 compare raw values (LiteRT does not
  requantize: the output is assumed to share the inputs' quantization, and microdl
  requires it); float32 models use microdl.runtime.ops.float32.
- SELECT_V2 picks x where the bool condition holds, else y, all three broadcast;
  SELECT (v1) takes a condition of x's shape, or of x's first dimension only.
- The logical ops work on bool tensors.
- ARG_MAX / ARG_MIN (int8, int16, int32, float32 inputs; int32 or int64 output) give
  the first index of the extreme along one constant axis; REDUCE_MAX / REDUCE_MIN
  (int8, int16, int32) take the raw extreme over constant axes, keep_dims or not (the
  output must share an int8 / int16 input's quantization, as LiteRT's raw kernel
  assumes).
"""
from __future__ import annotations

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.fixedpoint import ROUNDING_DOUBLE, quantize_multiplier
from microdl.runtime.ops import Node, Unsupported, register
from microdl.runtime.ops.common import (FLOAT32, INT8, INT16, INT32, INT64, UINT8,
                                        check_shape, per_tensor_quant, require_dtype,
                                        tensor_at)
from microdl.runtime.ops.elementwise import broadcast_shape
from microdl.runtime.ops.pooling import mean_output_shape, mean_plan, resolve_axes

BOOL = np.dtype(np.bool_)
NDIMS = 6  # MDL_BCAST_DIMS
COMPARISONS = ("LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL")
LOGICAL = {"LOGICAL_AND": 0, "LOGICAL_OR": 1, "LOGICAL_NOT": 2}
# MDL_CMP_KIND_* of a dtype (raw comparison); int8 comparisons are S8_SCALED (0).
KIND = {INT16: 1, INT32: 2, FLOAT32: 3, BOOL: 4, UINT8: 4, INT64: 5, INT8: 6}
MAX_VERSION = {"LESS": 3, "LESS_EQUAL": 3, "GREATER": 3, "GREATER_EQUAL": 3,
               "EQUAL": 4, "NOT_EQUAL": 3, "MINIMUM": 4, "MAXIMUM": 4, "SELECT": 4,
               "SELECT_V2": 2, "LOGICAL_AND": 1, "LOGICAL_OR": 1, "LOGICAL_NOT": 1,
               "ARG_MAX": 3, "ARG_MIN": 3, "REDUCE_MAX": 3, "REDUCE_MIN": 3}
TFLITE_INT32, TFLITE_INT64 = 2, 4  # tflite TensorType codes (ARG_MAX's output_type)
# The rounding of LiteRT 2.3's elementwise kernels (measured, as for ADD): double.
KERNEL_ROUNDING = ROUNDING_DOUBLE


def _version(op):
    if op.version > MAX_VERSION[op.name]:
        raise Unsupported(f"version {op.version}")


def _io(op, n_in, n_out=1):
    if len(op.inputs) != n_in or len(op.outputs) != n_out:
        raise ModelError(f"op {op.index} ({op.name}): {len(op.inputs)} inputs and "
                         f"{len(op.outputs)} outputs, expected {n_in} and {n_out}")


def broadcast_box(op, shapes, out_shape):
    """(dims, [strides per operand]) of length NDIMS: `out_shape` left-padded with 1,
    each operand's element strides with 0 where it is broadcast."""
    r = len(out_shape)
    if r > NDIMS:
        raise Unsupported(f"{r}-D broadcast (microdl handles up to {NDIMS} dimensions)")
    dims = [1] * (NDIMS - r) + [int(d) for d in out_shape]
    all_strides = []
    for shape in shapes:
        s = [1] * (NDIMS - len(shape)) + [int(d) for d in shape]
        stride, strides = 1, [0] * NDIMS
        for d in range(NDIMS - 1, -1, -1):
            strides[d] = 0 if s[d] == 1 else stride
            stride *= s[d]
        all_strides.append(strides)
    return dims, all_strides


def _same_dtypes(op, a, b):
    if np.dtype(a.dtype) != np.dtype(b.dtype):
        raise ModelError(f"op {op.index} ({op.name}): inputs are "
                         f"{np.dtype(a.dtype).name} and {np.dtype(b.dtype).name}")


def _smaller_than_one(op, t):
    scale, zp = per_tensor_quant(t)
    if not scale < 1.0:
        raise Unsupported(f"int8 input scale {scale} must be < 1 (LiteRT's "
                          f"QuantizeMultiplierSmallerThanOneExp)")
    mult, shift = quantize_multiplier(scale)
    return -zp, mult, shift


@register(*COMPARISONS)
def prepare_compare(op, graph, ctx):
    """Two inputs of one dtype (int8 quantized per tensor, int16, int32, int64,
    float32 or bool), broadcast; bool output."""
    _version(op)
    _io(op, 2)
    a, b = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    require_dtype(a, INT8, INT16, INT32, INT64, FLOAT32, BOOL)
    _same_dtypes(op, a, b)
    require_dtype(y, BOOL)
    shape = broadcast_shape(op, a.shape, b.shape)
    check_shape(op, y, shape)
    dims, (s1, s2) = broadcast_box(op, [a.shape, b.shape], shape)
    params = dict(dims=dims, in1_strides=s1, in2_strides=s2, op=COMPARISONS.index(op.name),
                  kind=KIND[np.dtype(a.dtype)], input1_offset=0, input1_multiplier=0,
                  input1_shift=0, input2_offset=0, input2_multiplier=0, input2_shift=0,
                  left_shift=0, rounding=KERNEL_ROUNDING)
    if np.dtype(a.dtype) == INT8:
        o1, m1, sh1 = _smaller_than_one(op, a)
        o2, m2, sh2 = _smaller_than_one(op, b)
        params.update(kind=0, input1_offset=o1, input1_multiplier=m1, input1_shift=sh1,
                      input2_offset=o2, input2_multiplier=m2, input2_shift=sh2,
                      left_shift=8)
    if y.size == 0:
        return []
    return [Node("compare", params, [a.index, b.index], y.index)]


def _same_quant(op, tensors):
    qs = [None if t.quant is None else (tuple(np.asarray(t.quant.scales, np.float32)),
                                        tuple(int(z) for z in t.quant.zero_points))
          for t in tensors]
    if any(q != qs[-1] for q in qs):
        raise Unsupported(f"inputs and output quantized differently ({qs}); LiteRT "
                          f"compares raw values, so microdl requires one quantization")


@register("MINIMUM", "MAXIMUM")
def prepare_minmax(op, graph, ctx):
    """Integer MINIMUM / MAXIMUM (int8, int16, int32, int64), broadcast, raw values."""
    _version(op)
    _io(op, 2)
    a, b = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    require_dtype(a, INT8, INT16, INT32, INT64)
    _same_dtypes(op, a, b)
    _same_dtypes(op, a, y)
    if np.dtype(a.dtype) in (INT8, INT16):
        _same_quant(op, [a, b, y])
    shape = broadcast_shape(op, a.shape, b.shape)
    check_shape(op, y, shape)
    dims, (s1, s2) = broadcast_box(op, [a.shape, b.shape], shape)
    if y.size == 0:
        return []
    return [Node("minmax", dict(dims=dims, in1_strides=s1, in2_strides=s2,
                                is_max=int(op.name == "MAXIMUM"),
                                kind=KIND[np.dtype(a.dtype)]),
                 [a.index, b.index], y.index)]


def select_shape(op, cond_shape, x_shape, y_shape):
    """SELECT_V2: the broadcast of the three; SELECT: x's shape (x and y equal, the
    condition of that shape or 1-D of its first dimension)."""
    if op.name == "SELECT_V2":
        return broadcast_shape(op, broadcast_shape(op, cond_shape, x_shape), y_shape)
    if tuple(x_shape) != tuple(y_shape):
        raise ModelError(f"op {op.index} (SELECT): x {tuple(x_shape)} and y "
                         f"{tuple(y_shape)} differ")
    if tuple(cond_shape) != tuple(x_shape) and not (
            len(cond_shape) == 1 and len(x_shape) >= 1 and cond_shape[0] == x_shape[0]):
        raise ModelError(f"op {op.index} (SELECT): condition {tuple(cond_shape)} is "
                         f"neither x's shape {tuple(x_shape)} nor its first dimension")
    return tuple(x_shape)


@register("SELECT", "SELECT_V2")
def prepare_select(op, graph, ctx):
    """out = condition ? x : y elementwise (condition bool; x, y and the output of one
    dtype and quantization)."""
    _version(op)
    _io(op, 3)
    c, a, b = (tensor_at(graph, op, k) for k in range(3))
    y = tensor_at(graph, op, 0, "output")
    require_dtype(c, BOOL)
    require_dtype(a, INT8, UINT8, INT16, INT32, INT64, FLOAT32, BOOL)
    _same_dtypes(op, a, b)
    _same_dtypes(op, a, y)
    if np.dtype(a.dtype) in (INT8, UINT8, INT16):
        _same_quant(op, [a, b, y])
    shape = select_shape(op, c.shape, a.shape, b.shape)
    check_shape(op, y, shape)
    cond_shape = c.shape
    if op.name == "SELECT" and tuple(c.shape) != tuple(a.shape):
        cond_shape = (int(c.shape[0]),) + (1,) * (len(a.shape) - 1)
    dims, (sc, sx, sy) = broadcast_box(op, [cond_shape, a.shape, b.shape], shape)
    if y.size == 0:
        return []
    return [Node("select", dict(dims=dims, cond_strides=sc, x_strides=sx, y_strides=sy,
                                elem_bytes=np.dtype(y.dtype).itemsize),
                 [c.index, a.index, b.index], y.index)]


@register(*LOGICAL)
def prepare_logical(op, graph, ctx):
    """LOGICAL_AND / LOGICAL_OR (two bool inputs, broadcast) and LOGICAL_NOT."""
    _version(op)
    unary = op.name == "LOGICAL_NOT"
    _io(op, 1 if unary else 2)
    ins = [tensor_at(graph, op, k) for k in range(len(op.inputs))]
    y = tensor_at(graph, op, 0, "output")
    for t in ins + [y]:
        require_dtype(t, BOOL)
    shape = tuple(ins[0].shape) if unary else broadcast_shape(op, ins[0].shape,
                                                              ins[1].shape)
    check_shape(op, y, shape)
    dims, strides = broadcast_box(op, [t.shape for t in ins], shape)
    if y.size == 0:
        return []
    return [Node("logical", dict(dims=dims, in1_strides=strides[0],
                                 in2_strides=strides[-1], op=LOGICAL[op.name]),
                 [t.index for t in ins], y.index)]


def _axes_operand(op, graph, k, what):
    t = tensor_at(graph, op, k)
    require_dtype(t, INT32, INT64)
    if t.data is None:
        raise Unsupported(f"{what} (tensor {t.index}) must be constant (microdl has "
                          f"static shapes)")
    return [int(v) for v in np.asarray(t.data).ravel()]


def arg_output_shape(op, in_shape, axis):
    (a,) = resolve_axes(op, [axis], len(in_shape))
    return a, tuple(int(d) for k, d in enumerate(in_shape) if k != a)


@register("ARG_MAX", "ARG_MIN")
def prepare_arg_minmax(op, graph, ctx):
    """ARG_MAX / ARG_MIN(input, axis: constant one-element int32/int64), options
    output_type int32 / int64: the input's shape without the axis."""
    _version(op)
    _io(op, 2)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    require_dtype(x, INT8, INT16, INT32, FLOAT32, UINT8)
    require_dtype(y, INT32, INT64)
    axes = _axes_operand(op, graph, 1, "axis")
    if len(axes) != 1:
        raise ModelError(f"op {op.index} ({op.name}): axis must have one element, has "
                         f"{len(axes)}")
    want = op.options.get("output_type")
    if want is not None and want != {INT32: TFLITE_INT32, INT64: TFLITE_INT64}[
            np.dtype(y.dtype)]:
        raise ModelError(f"op {op.index} ({op.name}): output_type {want} but the output "
                         f"tensor is {np.dtype(y.dtype).name}")
    a, shape = arg_output_shape(op, x.shape, axes[0])
    check_shape(op, y, shape)
    n = int(x.shape[a])
    if n < 1:
        raise ModelError(f"op {op.index} ({op.name}): the axis is empty")
    if y.size == 0:
        return []
    outer = int(np.prod(x.shape[:a], dtype=np.int64))
    inner = int(np.prod(x.shape[a + 1:], dtype=np.int64))
    return [Node("arg_minmax", dict(outer=outer, axis_size=n, inner=inner,
                                    is_max=int(op.name == "ARG_MAX"),
                                    kind=KIND[np.dtype(x.dtype)],
                                    out_bytes=np.dtype(y.dtype).itemsize),
                 [x.index], y.index)]


def reduce_output_shape(op, in_shape, axes, keep_dims):
    axes = resolve_axes(op, axes, len(in_shape))
    return axes, mean_output_shape(tuple(int(d) for d in in_shape), axes, keep_dims)


@register("REDUCE_MAX", "REDUCE_MIN")
def prepare_reduce_minmax(op, graph, ctx):
    """REDUCE_MAX / REDUCE_MIN(input, axes: constant int32/int64), option keep_dims;
    int8 / int16 / int32 raw values."""
    _version(op)
    _io(op, 2)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    require_dtype(x, INT8, INT16, INT32)
    _same_dtypes(op, x, y)
    if np.dtype(x.dtype) in (INT8, INT16):
        _same_quant(op, [x, y])
    axes, shape = reduce_output_shape(op, x.shape, _axes_operand(op, graph, 1, "axes"),
                                      bool(op.options.get("keep_dims", False)))
    check_shape(op, y, shape)
    if x.size == 0:
        raise Unsupported("REDUCE_MAX / REDUCE_MIN of an empty tensor")
    plan = mean_plan(tuple(int(d) for d in x.shape), axes)
    if plan is None:
        raise Unsupported("a reduction over more than 6 alternating dimension groups")
    return [Node("reduce_minmax", dict(dims=plan[0], out_strides=plan[1],
                                       output_size=y.size,
                                       is_max=int(op.name == "REDUCE_MAX"),
                                       kind=KIND[np.dtype(x.dtype)]),
                 [x.index], y.index)]
