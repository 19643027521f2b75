"""More data movement: SPLIT, SPLIT_V, UNPACK, SLICE, TILE, BROADCAST_TO, REVERSE_V2,
DEPTH_TO_SPACE, SPACE_TO_DEPTH, GATHER (constant indices), ZEROS_LIKE and FILL.

Like the ops of microdl.runtime.ops.data, none computes on values: each output is a
rearrangement of input elements, so every element type microdl holds works, quantized
tensors keep their raw values (LiteRT's kernels copy them too, whatever the output's
scale and zero point), and each op lowers to ``copy_strided`` boxes (one per output,
or one per gathered index) and ``fill_elements``, whose every address prepare checks
(data._copy_node).  Broadcasting (TILE, BROADCAST_TO) is a stride of 0, reversal a
negative stride, DEPTH_TO_SPACE / SPACE_TO_DEPTH one 6-D box.  An op whose inputs are
all constant folds to a ``Constant`` (numpy).

The output shapes are computed by the ``*_shapes`` functions below, which both the
prepare functions and the resize rules of microdl.runtime.shapeinfer call.

Semantics follow LiteRT's kernels: tensorflow/lite/kernels/split.cc, split_v.cc,
unpack.cc, slice.cc, tile.cc, broadcast_to.cc, reverse.cc, depth_to_space.cc,
space_to_depth.cc, gather.cc, zeros_like.cc and fill.cc.
"""
from __future__ import annotations

import numpy as np

from microdl.core.errors import ModelError
from microdl.runtime.ops import Constant, Node, Unsupported, register
from microdl.runtime.ops.common import (FLOAT32, INT8, INT16, INT32, INT64, UINT8,
                                        check_shape, require_dtype, tensor_at)
from microdl.runtime.ops.data import (DATA_DTYPES, MAX_DIMS, _const_ints, _copy_node,
                                      _row_strides, _same_dtype)

MAX_VERSION = {"SPLIT": 4, "SPLIT_V": 2, "UNPACK": 4, "SLICE": 6, "TILE": 3,
               "BROADCAST_TO": 3, "REVERSE_V2": 3, "DEPTH_TO_SPACE": 2,
               "SPACE_TO_DEPTH": 2, "GATHER": 7, "ZEROS_LIKE": 1, "FILL": 4}
# GATHER lowers to one copy per index: more than this many is refused.
MAX_GATHER_COPIES = 4096
INDEX_DTYPES = (INT32, INT64)


def _err(op, msg):
    return ModelError(f"op {op.index} ({op.name}): {msg}")


def _version(op):
    if op.version > MAX_VERSION[op.name]:
        raise Unsupported(f"version {op.version}")


def _io(op, n_in, n_out=None, max_in=None):
    max_in = n_in if max_in is None else max_in
    if not n_in <= len(op.inputs) <= max_in:
        raise _err(op, f"{len(op.inputs)} inputs, expected {n_in}" +
                   (f"..{max_in}" if max_in != n_in else ""))
    if n_out is not None and len(op.outputs) != n_out:
        raise _err(op, f"{len(op.outputs)} outputs, expected {n_out}")


def _axis(op, axis, rank):
    if not -rank <= axis < rank:
        raise _err(op, f"axis {axis} out of range for rank {rank}")
    return axis % rank


def _scalar(op, t, what):
    vals = _const_ints(op, t, what, INDEX_DTYPES)
    if len(vals) != 1:
        raise _err(op, f"{what} must have one element, has {len(vals)}")
    return vals[0]


def _prod(dims):
    return int(np.prod([int(d) for d in dims], dtype=np.int64))


def _outputs(graph, op, x):
    ys = [tensor_at(graph, op, k, "output") for k in range(len(op.outputs))]
    for y in ys:
        _same_dtype(op, x, y)
    return ys


# ------------------------------------------------------------- output shapes
def split_shapes(op, in_shape, axis, sizes):
    """Output shapes of SPLIT / SPLIT_V: `sizes` along `axis` (one -1 allowed for
    SPLIT_V: the rest), each >= 0, adding up to the axis extent."""
    axis = _axis(op, axis, len(in_shape))
    dim = int(in_shape[axis])
    sizes = [int(s) for s in sizes]
    if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
        raise _err(op, f"size_splits {sizes}: at most one -1, others >= 0")
    if -1 in sizes:
        rest = dim - sum(s for s in sizes if s >= 0)
        if rest < 0:
            raise _err(op, f"size_splits {sizes} exceed the axis extent {dim}")
        sizes[sizes.index(-1)] = rest
    if sum(sizes) != dim:
        raise _err(op, f"splits {sizes} do not add up to the axis extent {dim}")
    return axis, [tuple(in_shape[:axis]) + (s,) + tuple(in_shape[axis + 1:])
                  for s in sizes]


def equal_splits(op, in_shape, axis, num):
    """SPLIT's sizes: `num` equal parts of the axis extent."""
    axis = _axis(op, axis, len(in_shape))
    if num < 1 or int(in_shape[axis]) % num:
        raise _err(op, f"num_splits {num} does not divide the axis extent "
                       f"{int(in_shape[axis])}")
    return [int(in_shape[axis]) // num] * num


def slice_box(op, in_shape, begin, size):
    """SLICE's (begin, size) with size -1 resolved, checked inside the input."""
    rank = len(in_shape)
    if len(begin) != rank or len(size) != rank:
        raise _err(op, f"begin {begin} / size {size} need {rank} entries")
    out = []
    for d, (b, s, n) in enumerate(zip(begin, size, in_shape)):
        s = int(n) - b if s == -1 else s
        if b < 0 or s < 0 or b + s > int(n):
            raise _err(op, f"slice begin {b} size {s} outside dimension {d} of "
                           f"extent {int(n)}")
        out.append(s)
    return list(begin), out


def tile_shape(op, in_shape, multiples):
    if len(multiples) != len(in_shape) or any(m < 0 for m in multiples):
        raise _err(op, f"multiples {multiples} need {len(in_shape)} entries >= 0")
    return tuple(int(n) * m for n, m in zip(in_shape, multiples))


def broadcast_to_shape(op, in_shape, shape):
    """BROADCAST_TO: numpy's rule, the input aligned to the end of `shape`."""
    if len(shape) < len(in_shape) or any(s < 0 for s in shape):
        raise _err(op, f"cannot broadcast shape {tuple(in_shape)} to {tuple(shape)}")
    lead = len(shape) - len(in_shape)
    for n, s in zip(in_shape, shape[lead:]):
        if int(n) not in (1, s):
            raise _err(op, f"cannot broadcast shape {tuple(in_shape)} to {tuple(shape)}")
    return tuple(shape)


def depth_to_space_shape(op, in_shape, block, inverse):
    """NHWC: DEPTH_TO_SPACE [N, H, W, C] -> [N, H*b, W*b, C/b^2]; SPACE_TO_DEPTH
    (inverse) [N, H, W, C] -> [N, H/b, W/b, C*b^2]."""
    if len(in_shape) != 4:
        raise _err(op, f"input must be 4-D NHWC, got {tuple(in_shape)}")
    if block < 1:
        raise _err(op, f"block_size {block} must be >= 1")
    n, h, w, c = (int(d) for d in in_shape)
    if inverse:
        if h % block or w % block:
            raise _err(op, f"height {h} and width {w} must be multiples of block_size "
                           f"{block}")
        return (n, h // block, w // block, c * block * block)
    if c % (block * block):
        raise _err(op, f"depth {c} must be a multiple of block_size^2 = {block * block}")
    return (n, h * block, w * block, c // (block * block))


def gather_shape(op, in_shape, idx_shape, axis, batch_dims):
    if batch_dims != 0:
        raise Unsupported(f"batch_dims {batch_dims} (microdl supports 0)")
    axis = _axis(op, axis, len(in_shape))
    return axis, tuple(in_shape[:axis]) + tuple(idx_shape) + tuple(in_shape[axis + 1:])


def _fill_dims(op, t):
    dims = _const_ints(op, t, "dims", INDEX_DTYPES)
    if any(d < 0 for d in dims):
        raise _err(op, f"negative dimension in {dims}")
    return tuple(dims)


# ------------------------------------------------------------------- prepare
def _split_nodes(op, x, ys, axis, sizes):
    """One copy per output: the slab [start, start + size) of `axis`."""
    if x.data is not None:
        parts = np.split(np.asarray(x.data), np.cumsum(sizes)[:-1], axis=axis)
        return [Constant(y.index, np.ascontiguousarray(p).reshape(y.shape))
                for y, p in zip(ys, parts)]
    outer = _prod(x.shape[:axis])
    inner = _prod(x.shape[axis + 1:])
    dim = int(x.shape[axis])
    steps, start = [], 0
    for y, s in zip(ys, sizes):
        steps += _copy_node(op, x, y, [outer, s * inner], [dim * inner, 1],
                            start * inner, [s * inner, 1], 0)
        start += s
    return steps


@register("SPLIT")
def prepare_split(op, graph, ctx):
    """SPLIT(axis: constant int32 scalar, value): num_splits equal parts along axis."""
    _version(op)
    _io(op, 2)
    axis_t, x = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    require_dtype(x, *DATA_DTYPES)
    num = int(op.options.get("num_splits", len(op.outputs)))
    if num != len(op.outputs):
        raise _err(op, f"num_splits {num} but {len(op.outputs)} outputs")
    axis = _scalar(op, axis_t, "axis")
    sizes = equal_splits(op, x.shape, axis, num)
    axis, shapes = split_shapes(op, x.shape, axis, sizes)
    ys = _outputs(graph, op, x)
    for y, s in zip(ys, shapes):
        check_shape(op, y, s)
    return _split_nodes(op, x, ys, axis, sizes)


@register("SPLIT_V")
def prepare_split_v(op, graph, ctx):
    """SPLIT_V(value, size_splits: constant 1-D, axis: constant scalar)."""
    _version(op)
    _io(op, 3)
    x = tensor_at(graph, op, 0)
    require_dtype(x, *DATA_DTYPES)
    sizes = _const_ints(op, tensor_at(graph, op, 1), "size_splits", INDEX_DTYPES)
    if len(sizes) != len(op.outputs):
        raise _err(op, f"{len(sizes)} size_splits but {len(op.outputs)} outputs")
    axis, shapes = split_shapes(op, x.shape, _scalar(op, tensor_at(graph, op, 2), "axis"),
                                sizes)
    ys = _outputs(graph, op, x)
    for y, s in zip(ys, shapes):
        check_shape(op, y, s)
    return _split_nodes(op, x, ys, axis, [s[axis] for s in shapes])


def unpack_shapes(op, in_shape, axis, num):
    axis = _axis(op, axis, len(in_shape))
    if int(in_shape[axis]) != num:
        raise _err(op, f"num {num} but the axis extent is {int(in_shape[axis])}")
    return axis, [tuple(in_shape[:axis]) + tuple(in_shape[axis + 1:])] * num


@register("UNPACK")
def prepare_unpack(op, graph, ctx):
    """UNPACK: the `num` slices along `axis`, that dimension removed."""
    _version(op)
    _io(op, 1)
    x = tensor_at(graph, op, 0)
    require_dtype(x, *DATA_DTYPES)
    num = int(op.options.get("num", len(op.outputs)))
    if num != len(op.outputs):
        raise _err(op, f"num {num} but {len(op.outputs)} outputs")
    axis, shapes = unpack_shapes(op, x.shape, int(op.options.get("axis", 0)), num)
    ys = _outputs(graph, op, x)
    for y, s in zip(ys, shapes):
        check_shape(op, y, s)
    return _split_nodes(op, x, ys, axis, [1] * num)


@register("SLICE")
def prepare_slice(op, graph, ctx):
    """SLICE(input, begin, size): constant int32/int64 begin and size (-1: to the
    end of the dimension)."""
    _version(op)
    _io(op, 3, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _same_dtype(op, x, y)
    begin, size = slice_box(op, x.shape,
                            _const_ints(op, tensor_at(graph, op, 1), "begin", INDEX_DTYPES),
                            _const_ints(op, tensor_at(graph, op, 2), "size", INDEX_DTYPES))
    check_shape(op, y, size)
    if x.data is not None:
        sl = tuple(slice(b, b + s) for b, s in zip(begin, size))
        return [Constant(y.index, np.ascontiguousarray(np.asarray(x.data)[sl]))]
    strides = _row_strides(x.shape)
    return _copy_node(op, x, y, size, strides, sum(b * s for b, s in zip(begin, strides)),
                      _row_strides(size), 0)


def _broadcast_copy(op, x, y, in_shape_aligned):
    """y = x broadcast (stride 0 on the dimensions where x has 1)."""
    strides = _row_strides(in_shape_aligned)
    in_strides = [0 if n == 1 else s for n, s in zip(in_shape_aligned, strides)]
    return _copy_node(op, x, y, y.shape, in_strides, 0, _row_strides(y.shape), 0)


@register("TILE")
def prepare_tile(op, graph, ctx):
    """TILE(input, multiples: constant int32/int64): each dimension repeated.  One
    box over [m_0, n_0, m_1, n_1, ...] with input stride 0 on the m's."""
    _version(op)
    _io(op, 2, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _same_dtype(op, x, y)
    mult = _const_ints(op, tensor_at(graph, op, 1), "multiples", INDEX_DTYPES)
    check_shape(op, y, tile_shape(op, x.shape, mult))
    if x.data is not None:
        return [Constant(y.index, np.tile(np.asarray(x.data), mult))]
    if y.size == 0:
        return []
    box, ins, outs = [], [], []
    xs, ys_ = _row_strides(x.shape), _row_strides(y.shape)
    for n, m, s, t in zip(x.shape, mult, xs, ys_):
        box += [m, int(n)]
        ins += [0, s]
        outs += [int(n) * t, t]
    nontrivial = sum(1 for b in box if b != 1)
    if nontrivial > MAX_DIMS:
        return _tile_by_blocks(op, x, y, mult)
    return _copy_node(op, x, y, box, ins, 0, outs, 0)


def _tile_by_blocks(op, x, y, mult):
    """TILE with too many dimensions for one box: one copy of the whole input per
    tile position."""
    count = _prod(mult)
    if count > MAX_GATHER_COPIES:
        raise Unsupported(f"TILE of a {len(x.shape)}-D tensor into {count} tiles")
    ys_ = _row_strides(y.shape)
    steps = []
    for pos in np.ndindex(*mult):
        off = sum(p * int(n) * t for p, n, t in zip(pos, x.shape, ys_))
        steps += _copy_node(op, x, y, x.shape, _row_strides(x.shape), 0, ys_, off)
    return steps


@register("BROADCAST_TO")
def prepare_broadcast_to(op, graph, ctx):
    """BROADCAST_TO(input, shape: constant int32/int64), numpy broadcasting."""
    _version(op)
    _io(op, 2, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _same_dtype(op, x, y)
    shape = broadcast_to_shape(op, x.shape,
                               _const_ints(op, tensor_at(graph, op, 1), "shape",
                                           INDEX_DTYPES))
    check_shape(op, y, shape)
    if x.data is not None:
        return [Constant(y.index, np.ascontiguousarray(
            np.broadcast_to(np.asarray(x.data), shape)))]
    aligned = [1] * (len(shape) - len(x.shape)) + [int(n) for n in x.shape]
    return _broadcast_copy(op, x, y, aligned)


@register("REVERSE_V2")
def prepare_reverse_v2(op, graph, ctx):
    """REVERSE_V2(input, axis: constant 1-D int32/int64): the listed dimensions
    reversed (negative input strides)."""
    _version(op)
    _io(op, 2, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _same_dtype(op, x, y)
    rank = len(x.shape)
    axes = sorted({_axis(op, a, rank)
                   for a in _const_ints(op, tensor_at(graph, op, 1), "axis",
                                        INDEX_DTYPES)})
    check_shape(op, y, x.shape)
    if x.data is not None:
        return [Constant(y.index, np.ascontiguousarray(np.flip(np.asarray(x.data),
                                                                axes)))]
    strides = _row_strides(x.shape)
    offset = sum((int(x.shape[a]) - 1) * strides[a] for a in axes)
    ins = [-s if d in axes else s for d, s in enumerate(strides)]
    return _copy_node(op, x, y, x.shape, ins, offset, strides, 0)


def _space_depth_box(x_shape, block, inverse):
    """(box, input strides, output strides) of DEPTH_TO_SPACE (or SPACE_TO_DEPTH)
    over the box [N, H, b_i, W, b_j, C'] of the space side, C' the depth of one
    block position: out[n, h*b + i, w*b + j, c] = in[n, h, w, (i*b + j)*C' + c]."""
    n, h, w, c = (int(d) for d in x_shape)
    b = block
    if inverse:  # x is the space side [N, H*b, W*b, C']
        hh, ww, cc = h // b, w // b, c
    else:        # x is the depth side [N, H, W, b*b*C']
        hh, ww, cc = h, w, c // (b * b)
    space = [hh * b * ww * b * cc, b * ww * b * cc, ww * b * cc, b * cc, cc, 1]
    depth = [hh * ww * b * b * cc, ww * b * b * cc, b * cc, b * b * cc, cc, 1]
    box = [n, hh, b, ww, b, cc]
    return (box, space, depth) if inverse else (box, depth, space)


@register("DEPTH_TO_SPACE", "SPACE_TO_DEPTH")
def prepare_depth_to_space(op, graph, ctx):
    """DEPTH_TO_SPACE / SPACE_TO_DEPTH on NHWC tensors, options block_size (TFLite's
    layout: depth index (i*b + j)*C' + c for block offset (i, j))."""
    _version(op)
    _io(op, 1, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _same_dtype(op, x, y)
    inverse = op.name == "SPACE_TO_DEPTH"
    block = int(op.options.get("block_size", 0))
    check_shape(op, y, depth_to_space_shape(op, x.shape, block, inverse))
    box, ins, outs = _space_depth_box(x.shape, block, inverse)
    if x.data is not None:
        data = np.asarray(x.data).ravel()
        out = np.empty(y.size, data.dtype)
        idx = np.indices(box).reshape(len(box), -1)
        out[np.dot(outs, idx)] = data[np.dot(ins, idx)]
        return [Constant(y.index, out.reshape(y.shape))]
    return _copy_node(op, x, y, box, ins, 0, outs, 0)


@register("GATHER")
def prepare_gather(op, graph, ctx):
    """GATHER(params, indices: constant int32/int64), options axis, batch_dims (0):
    output = params taken at `indices` along `axis`.  Indices must lie in
    [0, params.shape[axis]) (LiteRT fails at invoke otherwise; microdl at prepare).
    One copy per index; indices computed by the graph are not supported."""
    _version(op)
    _io(op, 2, 1)
    x, idx_t = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    _same_dtype(op, x, y)
    require_dtype(idx_t, *INDEX_DTYPES)
    if idx_t.data is None:
        raise Unsupported("indices computed by the graph (microdl gathers constant "
                          "indices only)")
    axis, shape = gather_shape(op, x.shape, idx_t.shape, int(op.options.get("axis", 0)),
                               int(op.options.get("batch_dims", 0)))
    check_shape(op, y, shape)
    idx = [int(v) for v in np.asarray(idx_t.data).ravel()]
    dim = int(x.shape[axis])
    bad = [i for i in idx if not 0 <= i < dim]
    if bad:
        raise _err(op, f"index {bad[0]} outside [0, {dim}) of axis {axis}")
    if x.data is not None:
        return [Constant(y.index, np.ascontiguousarray(
            np.take(np.asarray(x.data), np.asarray(idx, np.int64).reshape(idx_t.shape),
                    axis=axis)))]
    if len(idx) > MAX_GATHER_COPIES:
        raise Unsupported(f"{len(idx)} indices (microdl gathers up to "
                          f"{MAX_GATHER_COPIES})")
    outer, inner = _prod(x.shape[:axis]), _prod(x.shape[axis + 1:])
    steps = []
    for k, i in enumerate(idx):
        steps += _copy_node(op, x, y, [outer, inner], [dim * inner, 1], i * inner,
                            [len(idx) * inner, 1], k * inner)
    return steps


def _fill(y, value_ref):
    return [Node("fill_elements", dict(elem_bytes=np.dtype(y.dtype).itemsize,
                                       count=y.size), [value_ref], y.index)]


@register("ZEROS_LIKE")
def prepare_zeros_like(op, graph, ctx):
    """ZEROS_LIKE: a tensor of the input's shape and type holding 0 (the raw value
    0, also for quantized tensors, as zeros_like.cc)."""
    _version(op)
    _io(op, 1, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _same_dtype(op, x, y)
    check_shape(op, y, x.shape)
    zero = np.zeros(1, y.dtype)
    if y.size == 0:
        return []
    return [Constant(y.index, np.zeros(y.shape, y.dtype))] if x.data is not None \
        else _fill(y, zero)


@register("FILL")
def prepare_fill(op, graph, ctx):
    """FILL(dims: constant int32/int64 1-D, value: one element of the output type)."""
    _version(op)
    _io(op, 2, 1)
    value = tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    require_dtype(y, INT8, UINT8, INT16, INT32, INT64, FLOAT32, np.bool_)
    if np.dtype(value.dtype) != np.dtype(y.dtype):
        raise _err(op, f"value is {np.dtype(value.dtype).name}, output "
                       f"{np.dtype(y.dtype).name}")
    if value.size != 1:
        raise _err(op, f"value must have one element, has {value.size}")
    check_shape(op, y, _fill_dims(op, tensor_at(graph, op, 0)))
    if y.size == 0:
        return []
    if value.data is not None:
        return [Constant(y.index, np.full(y.shape, np.asarray(value.data).ravel()[0],
                                          y.dtype))]
    return _fill(y, value.index)
