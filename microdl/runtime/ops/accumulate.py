"""CAST, ADD_N and CUMSUM (C kernels of cext/include/mdl_accumulate.h).

- CAST converts element types as C++'s static_cast (tensorflow/lite/kernels/cast.cc):
  int8, uint8, int16, int32, int64, float32 and bool, any pair LiteRT's kernel
  takes.  Quantization parameters are ignored (raw values are converted).  A float
  outside the target integer range (undefined in C++) saturates in microdl.
- ADD_N (add_n.cc, reference_ops::AddN): int32 / float32, the inputs summed left to
  right starting from 0, all of one shape.
- CUMSUM (cumsum.cc, reference_ops::CumSum): int32 / int64 / float32 along a constant
  axis, options exclusive and reverse.
- int8 ADD_N and CUMSUM exist in TFLite Micro only (micro/kernels/add_n.cc,
  cumsum.cc): every input rescaled by 1/2 after a left shift of 20, the sum (which
  starts from the rescaled negated zero point, as the reference's does) requantized
  to the output; see cext/include/mdl_accumulate.h.  microdl computes them so under
  either rounding target (LiteRT has no int8 kernel to differ from).
"""
from __future__ import annotations

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.fixedpoint import quantize_multiplier
from microdl.runtime.ops import Constant, Node, Unsupported, register
from microdl.runtime.ops.common import (FLOAT32, INT8, INT16, INT32, INT64, UINT8,
                                        check_shape, require_dtype, tensor_at)
from microdl.runtime.ops.data import BOOL, _const_ints

MAX_VERSION = {"CAST": 6, "ADD_N": 1, "CUMSUM": 1}
MAX_NODE_INPUTS = 8  # MDL_MAX_NODE_INPUTS
LEFT_SHIFT = 20      # kAddNIntegerShift / kCumSumIntegerShift of TFLite Micro
NO_QUANT = dict(input_offset=0, input_multiplier=0, input_shift=0, left_shift=0,
                output_offset=0, output_multiplier=0, output_shift=0, act_min=0,
                act_max=0)
ACC_TYPES = {INT8: 0, UINT8: 1, INT16: 2, INT32: 3, INT64: 4, FLOAT32: 5, BOOL: 6}


def _err(op, msg):
    return ModelError(f"op {op.index} ({op.name}): {msg}")


def _version(op):
    if op.version > MAX_VERSION[op.name]:
        raise Unsupported(f"version {op.version}")


def _prod(dims):
    return int(np.prod([int(d) for d in dims], dtype=np.int64))


def _scale_zp(op, t):
    if t.quant is None or len(t.quant.scales) != 1:
        raise Unsupported(f"int8 {op.name} needs per-tensor quantization (tensor "
                          f"{t.index})")
    return float(t.quant.scales[0]), int(t.quant.zero_points[0])


def int8_sum_terms(op, x, y):
    """The MDL_ACC_QUANT_FIELDS of an int8 ADD_N / CUMSUM (TFLite Micro's Prepare:
    input multiplier of s/(2s), output multiplier of 2s / (2^20 s_out), no
    activation)."""
    s_in, zp_in = _scale_zp(op, x)
    s_out, zp_out = _scale_zp(op, y)
    twice = 2.0 * s_in
    in_m, in_s = quantize_multiplier(s_in / twice)
    out_m, out_s = quantize_multiplier(twice / ((1 << LEFT_SHIFT) * s_out))
    if out_s > 0:
        raise Unsupported(f"output scale {s_out} too small for the input scale {s_in}")
    return dict(input_offset=-zp_in, input_multiplier=in_m, input_shift=in_s,
                left_shift=LEFT_SHIFT, output_offset=zp_out, output_multiplier=out_m,
                output_shift=out_s, act_min=-128, act_max=127)


def cast_values(x, dtype):
    """numpy twin of the cast kernel, for constant folding (in-range values)."""
    x = np.asarray(x)
    dtype = np.dtype(dtype)
    if dtype == BOOL:
        return x != 0
    if x.dtype == FLOAT32 and dtype != FLOAT32:
        info = np.iinfo(dtype)
        v = np.trunc(np.nan_to_num(x.astype(np.float64), nan=0.0))
        return np.clip(v, info.min, info.max).astype(dtype)
    return x.astype(dtype)


@register("CAST")
def prepare_cast(op, graph, ctx):
    """CAST(input) -> output of another (or the same) element type, same shape."""
    _version(op)
    if len(op.inputs) != 1 or len(op.outputs) != 1:
        raise _err(op, "CAST takes one input and one output")
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    require_dtype(x, *ACC_TYPES)
    require_dtype(y, *ACC_TYPES)
    check_shape(op, y, x.shape)
    if x.data is not None:
        return [Constant(y.index, cast_values(x.data, y.dtype).reshape(y.shape))]
    if y.size == 0:
        return []
    params = dict(in_type=ACC_TYPES[np.dtype(x.dtype)],
                  out_type=ACC_TYPES[np.dtype(y.dtype)], count=y.size)
    return [Node("cast", params, [x.index], y.index)]


@register("ADD_N")
def prepare_add_n(op, graph, ctx):
    """ADD_N(in_0, .., in_{n-1}): elementwise sum of n >= 2 int32 or float32 tensors
    of one shape (no broadcasting, as LiteRT), or of 2..8 int8 tensors of one scale
    and zero point (TFLite Micro's int8 kernel)."""
    _version(op)
    if len(op.inputs) < 2 or len(op.outputs) != 1:
        raise _err(op, "ADD_N takes at least two inputs (as LiteRT) and one output")
    xs = [tensor_at(graph, op, k) for k in range(len(op.inputs))]
    y = tensor_at(graph, op, 0, "output")
    require_dtype(y, INT32, FLOAT32, INT8)
    for x in xs:
        if np.dtype(x.dtype) != np.dtype(y.dtype):
            raise _err(op, f"input {x.index} is {np.dtype(x.dtype).name}, output "
                           f"{np.dtype(y.dtype).name}")
        if tuple(x.shape) != tuple(xs[0].shape):
            raise _err(op, f"input shapes differ: {tuple(xs[0].shape)} and "
                           f"{tuple(x.shape)}")
    check_shape(op, y, xs[0].shape)
    quant = NO_QUANT
    if np.dtype(y.dtype) == INT8:
        first = _scale_zp(op, xs[0])
        if any(_scale_zp(op, x) != first for x in xs):
            raise _err(op, "int8 inputs must share one scale and zero point")
        if len(xs) > MAX_NODE_INPUTS:
            raise Unsupported(f"int8 ADD_N of {len(xs)} inputs (microdl: up to "
                              f"{MAX_NODE_INPUTS})")
        quant = int8_sum_terms(op, xs[0], y)
    if y.size == 0:
        return []
    kind = ACC_TYPES[np.dtype(y.dtype)]
    refs = [x.index if x.data is None else np.ascontiguousarray(x.data) for x in xs]
    steps = []
    for start in range(0, len(refs), MAX_NODE_INPUTS):
        part = refs[start:start + MAX_NODE_INPUTS]
        steps.append(Node("add_n", dict(kind=kind, num_inputs=len(part), count=y.size,
                                        accumulate=int(start > 0), **quant),
                          part, y.index))
    return steps


def cumsum_axis(op, rank, axis):
    if not -rank <= axis < rank:
        raise _err(op, f"axis {axis} out of range for rank {rank}")
    return axis % rank


@register("CUMSUM")
def prepare_cumsum(op, graph, ctx):
    """CUMSUM(input int32 / int64 / float32 / int8 (TFLite Micro's), axis: constant
    int32 scalar), options exclusive, reverse."""
    _version(op)
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        raise _err(op, "CUMSUM takes (input, axis) and one output")
    x, axis_t = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    require_dtype(x, INT32, INT64, FLOAT32, INT8)
    if np.dtype(x.dtype) != np.dtype(y.dtype):
        raise _err(op, f"input is {np.dtype(x.dtype).name}, output "
                       f"{np.dtype(y.dtype).name}")
    vals = _const_ints(op, axis_t, "axis", (INT32,))
    if len(vals) != 1:
        raise _err(op, f"axis must have one element, has {len(vals)}")
    if len(x.shape) == 0:
        raise _err(op, "CUMSUM of a scalar")
    axis = cumsum_axis(op, len(x.shape), vals[0])
    check_shape(op, y, x.shape)
    if y.size == 0:
        return []
    params = dict(kind=ACC_TYPES[np.dtype(x.dtype)], outer=_prod(x.shape[:axis]),
                  axis_len=int(x.shape[axis]), inner=_prod(x.shape[axis + 1:]),
                  exclusive=int(bool(op.options.get("exclusive", False))),
                  reverse=int(bool(op.options.get("reverse", False))),
                  **(int8_sum_terms(op, x, y) if np.dtype(x.dtype) == INT8 else NO_QUANT))
    x_ref = x.index if x.data is None else np.ascontiguousarray(x.data)
    return [Node("cumsum", params, [x_ref], y.index)]
