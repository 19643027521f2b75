"""CAST, ADD_N and CUMSUM (C kernels of cext/include/mdl_accumulate.h).

- CAST converts element types as C++'s static_cast (tensorflow/lite/kernels/cast.cc):
  int8, uint8, int16, int32, int64, float32 and bool, any pair LiteRT's kernel
  takes.  Quantization parameters are ignored (raw values are converted).  A float
  outside the target integer range (undefined in C++) saturates in microdl.
- ADD_N (add_n.cc, reference_ops::AddN): int32 / float32, the inputs summed left to
  right starting from 0, all of one shape.
- CUMSUM (cumsum.cc, reference_ops::CumSum): int32 / int64 / float32 along a constant
  axis, options exclusive and reverse.
"""
from __future__ import annotations

import numpy as np

from microdl.core.errors import ModelError
from microdl.runtime.ops import Constant, Node, Unsupported, register
from microdl.runtime.ops.common import (FLOAT32, INT8, INT16, INT32, INT64, UINT8,
                                        check_shape, require_dtype, tensor_at)
from microdl.runtime.ops.data import BOOL, _const_ints

MAX_VERSION = {"CAST": 6, "ADD_N": 1, "CUMSUM": 1}
MAX_NODE_INPUTS = 8  # MDL_MAX_NODE_INPUTS
ACC_TYPES = {INT8: 0, UINT8: 1, INT16: 2, INT32: 3, INT64: 4, FLOAT32: 5, BOOL: 6}


def _err(op, msg):
    return ModelError(f"op {op.index} ({op.name}): {msg}")


def _version(op):
    if op.version > MAX_VERSION[op.name]:
        raise Unsupported(f"version {op.version}")


def _prod(dims):
    return int(np.prod([int(d) for d in dims], dtype=np.int64))


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
    of one shape (no broadcasting, as LiteRT)."""
    _version(op)
    if len(op.inputs) < 2 or len(op.outputs) != 1:
        raise _err(op, "ADD_N takes at least two inputs (as LiteRT) and one output")
    xs = [tensor_at(graph, op, k) for k in range(len(op.inputs))]
    y = tensor_at(graph, op, 0, "output")
    require_dtype(y, INT32, FLOAT32)
    for x in xs:
        if np.dtype(x.dtype) != np.dtype(y.dtype):
            raise _err(op, f"input {x.index} is {np.dtype(x.dtype).name}, output "
                           f"{np.dtype(y.dtype).name}")
        if tuple(x.shape) != tuple(xs[0].shape):
            raise _err(op, f"input shapes differ: {tuple(xs[0].shape)} and "
                           f"{tuple(x.shape)}")
    check_shape(op, y, xs[0].shape)
    if y.size == 0:
        return []
    kind = ACC_TYPES[np.dtype(y.dtype)]
    refs = [x.index if x.data is None else np.ascontiguousarray(x.data) for x in xs]
    steps = []
    for start in range(0, len(refs), MAX_NODE_INPUTS):
        part = refs[start:start + MAX_NODE_INPUTS]
        steps.append(Node("add_n", dict(kind=kind, num_inputs=len(part), count=y.size,
                                        accumulate=int(start > 0)), part, y.index))
    return steps


def cumsum_axis(op, rank, axis):
    if not -rank <= axis < rank:
        raise _err(op, f"axis {axis} out of range for rank {rank}")
    return axis % rank


@register("CUMSUM")
def prepare_cumsum(op, graph, ctx):
    """CUMSUM(input int32 / int64 / float32, axis: constant int32 scalar), options
    exclusive, reverse."""
    _version(op)
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        raise _err(op, "CUMSUM takes (input, axis) and one output")
    x, axis_t = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    require_dtype(x, INT32, INT64, FLOAT32)
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
                  reverse=int(bool(op.options.get("reverse", False))))
    x_ref = x.index if x.data is None else np.ascontiguousarray(x.data)
    return [Node("cumsum", params, [x_ref], y.index)]
