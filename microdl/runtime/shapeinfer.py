"""Shape propagation for Interpreter.resize_tensor_input(): the output shapes of every
operator microdl prepares, from its input shapes, options and constant operands.

After a resize, Interpreter.allocate_tensors() copies the graph (copy_for_resize: the
new input shapes, every op output cleared of the value prepare may have folded into it)
and prepares it again op by op: ShapePropagation.before_op sets an op's output shapes
by the rule below, then the op's prepare function runs on them.  A rule only computes;
prepare stays the one place of validation (dtypes, quantization, the checks of
shapes against each other), so a rule is lenient wherever prepare checks.  Constant
tensors of the model never change.  Values prepare folds (SHAPE of a resized tensor,
the STRIDED_SLICE / PACK of the Keras flatten pattern) are folded again from the new
shapes before the ops that read them.

The rules are those of LiteRT's Prepare / ResizeOutputTensor functions
(tensorflow/lite/kernels/<op>.cc, shapes of windowed ops from microdl.core.shapes),
with one extension, the carried batch: a RESHAPE or TRANSPOSE_CONV whose shape operand
is a constant whose first entry is the batch of the file, reached by an input whose
batch alone was resized, takes the new batch in that entry (LiteRT refuses such a
RESHAPE at allocate_tensors() and such a TRANSPOSE_CONV at invoke(); models written
for batch 1, e.g. person_detect's RESHAPE to [1, 2], then run any batch).  The carried
shape is handed to prepare through PrepareContext.carried_shapes.

An op whose output cannot follow its inputs raises ModelError naming the op; an op
without a rule (none among those microdl prepares) keeps its outputs only while none of
its inputs changed.
"""
from __future__ import annotations

import operator
from dataclasses import replace

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.shapes import PADDING_SAME, out_size
from microdl.runtime.ops.data import (_strided_slice_dims, reshape_target,
                                      resolve_reshape)
from microdl.runtime.ops.elementwise import broadcast_shape
from microdl.runtime.ops.pooling import mean_output_shape, resolve_axes
from microdl.runtime.ops import rearrange as rr
from microdl.runtime.ops import spatial as sp
from microdl.runtime.ops.arith import batch_matmul_shape
from microdl.runtime.ops.compare import (arg_output_shape, reduce_output_shape,
                                         select_shape)

RULES: dict = {}

# Ops whose output has the shape of input 0.
SAME_SHAPE = ("SOFTMAX", "LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "RELU",
              "RELU6", "RELU_N1_TO_1", "QUANTIZE", "DEQUANTIZE",
              "ABS", "NEG", "EXP", "SQRT", "RSQRT", "SQUARE", "LOG", "GELU", "LOGICAL_NOT")
# Binary ops with NumPy broadcasting.
BROADCAST = ("ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE",
             "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL",
             "LOGICAL_AND", "LOGICAL_OR")


def rule(*names):
    """Decorator: register fn(op, graph, prop) -> list of output shapes (one tuple per
    output) for builtin op names."""
    def deco(fn):
        for name in names:
            RULES[name] = fn
        return fn
    return deco


# ------------------------------------------------------------------- helpers
def _input(op, graph, k, what="input"):
    if k >= len(op.inputs) or op.inputs[k] < 0:
        raise ModelError(f"op {op.index} ({op.name}): missing {what} {k}")
    return graph.tensors[op.inputs[k]]


def _rank(op, t, rank, what):
    if len(t.shape) != rank:
        raise ModelError(f"op {op.index} ({op.name}): {what} (tensor {t.index}) must be "
                         f"{rank}-D, got shape {tuple(t.shape)}")
    return tuple(int(d) for d in t.shape)


def _ints(op, t, what):
    """A constant operand's values as a list of ints (folded values included)."""
    if t.data is None:
        raise ModelError(f"op {op.index} ({op.name}): {what} (tensor {t.index}) is not "
                         f"a constant, so the output shape cannot follow a resize")
    return [int(v) for v in np.asarray(t.data).ravel()]


def _window(op, padding, size, filt, stride, dilation, what):
    n = out_size(padding, size, filt, stride, dilation)
    if n <= 0:
        raise ModelError(f"op {op.index} ({op.name}): a {what} window of {filt} "
                         f"(stride {stride}, dilation {dilation}) does not fit an input "
                         f"of {size}")
    return n


def copy_for_resize(graph, shapes):
    """A copy of `graph` to prepare again: new Tensor objects (constant data shared,
    read-only), `shapes` ({tensor index: shape}) applied, and every op output's
    folded value dropped (prepare recomputes it).  The ops are shared."""
    produced = {t for op in graph.ops for t in op.outputs if t >= 0}
    tensors = []
    for t in graph.tensors:
        c = replace(t, data=None) if t.index in produced else replace(t)
        if t.index in shapes:
            c.shape = tuple(int(d) for d in shapes[t.index])
        tensors.append(c)
    return replace(graph, tensors=tensors)


def with_shape(graph, index, shape):
    """A copy of `graph` sharing every Tensor but tensor `index`, which is a copy of
    shape `shape`."""
    tensors = list(graph.tensors)
    tensors[index] = replace(tensors[index], shape=tuple(int(d) for d in shape))
    return replace(graph, tensors=tensors)


def fixed_size(graph, index):
    """True for a tensor whose shape no resize may change: a constant of the model
    (not a value folded from an op) or a variable."""
    t = graph.tensors[index]
    if t.is_variable:
        return True
    return t.data is not None and all(index not in op.outputs for op in graph.ops)


class ShapePropagation:
    """The before_op hook of a re-prepare.

    base: the graph at the shapes of its file (for the carried batch and for ops
    without a rule); ctx: the PrepareContext of the re-prepare (its carried_shapes is
    filled here); max_bytes: largest tensor allowed (ModelError above it, before
    prepare computes anything on such a shape)."""

    def __init__(self, base, ctx, max_bytes):
        self.base, self.ctx, self.max_bytes = base, ctx, max_bytes
        ctx.carried_shapes.clear()

    def before_op(self, op, graph):
        """Set the shapes of op's outputs in `graph` (a copy_for_resize copy)."""
        fn = RULES.get(op.name)
        if fn is None:
            shapes = self._unchanged(op, graph)
        else:
            shapes = fn(op, graph, self)
        if len(shapes) != len(op.outputs):
            raise ModelError(f"op {op.index} ({op.name}): {len(op.outputs)} outputs, "
                             f"the op computes {len(shapes)}")
        for k, shape in zip(op.outputs, shapes):
            if k < 0:
                continue
            shape = tuple(int(d) for d in shape)
            t = graph.tensors[k]
            if any(d < 0 for d in shape):
                raise ModelError(f"op {op.index} ({op.name}): output tensor {k} would "
                                 f"have shape {shape}")
            nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(t.dtype).itemsize
            if nbytes > self.max_bytes:
                raise ModelError(f"op {op.index} ({op.name}): output tensor {k} would "
                                 f"take {nbytes} bytes (shape {shape}), more than the "
                                 f"{self.max_bytes} bytes microdl allows")
            t.shape = shape

    def _unchanged(self, op, graph):
        """Outputs of an op without a rule: their file shapes, if no input changed."""
        for i in op.inputs:
            if i < 0:
                continue
            t, t0 = graph.tensors[i], self.base.tensors[i]
            same = tuple(t.shape) == tuple(t0.shape) and (
                t.data is None or (t0.data is not None and
                                   np.array_equal(t.data, t0.data)))
            if not same:
                raise ModelError(f"op {op.index} ({op.name}): microdl has no shape rule "
                                 f"for {op.name}, so its output cannot follow the "
                                 f"resized input tensor {i}")
        return [self.base.tensors[o].shape for o in op.outputs if o >= 0]

    def carry_batch(self, x, shape):
        """`shape` with the batch of x first, when only x's batch differs from the
        file and shape[0] is the file's batch; else None."""
        x0 = self.base.tensors[x.index]
        if (len(shape) and len(x.shape) and len(x0.shape) == len(x.shape)
                and tuple(x.shape[1:]) == tuple(x0.shape[1:])
                and x.shape[0] != x0.shape[0] and shape[0] == x0.shape[0]):
            return [int(x.shape[0])] + [int(v) for v in shape[1:]]
        return None


# --------------------------------------------------------------------- rules
@rule(*SAME_SHAPE)
def _same(op, g, prop):
    return [tuple(_input(op, g, 0).shape)]


@rule(*BROADCAST)
def _broadcast(op, g, prop):
    return [broadcast_shape(op, _input(op, g, 0).shape, _input(op, g, 1).shape)]


def _strides(op, dilation=True):
    o = op.options
    sh, sw = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    dh = int(o.get("dilation_h_factor", 1)) if dilation else 1
    dw = int(o.get("dilation_w_factor", 1)) if dilation else 1
    return sh, sw, dh, dw


@rule("CONV_2D", "DEPTHWISE_CONV_2D")
def _conv(op, g, prop):
    """[N, H, W, C] with an OHWI (CONV_2D) or 1HWO (DEPTHWISE_CONV_2D) filter ->
    [N, out(H), out(W), O] (conv.cc / depthwise_conv.cc)."""
    n, h, w, _ = _rank(op, _input(op, g, 0), 4, "input")
    f = _rank(op, _input(op, g, 1), 4, "filter")
    out_c = f[3] if op.name == "DEPTHWISE_CONV_2D" else f[0]
    sh, sw, dh, dw = _strides(op)
    padding = op.options.get("padding", PADDING_SAME)
    return [(n, _window(op, padding, h, f[1], sh, dh, "height"),
             _window(op, padding, w, f[2], sw, dw, "width"), out_c)]


@rule("TRANSPOSE_CONV")
def _transpose_conv(op, g, prop):
    """The output_shape operand (transpose_conv.cc ResizeTensor), with the batch
    carried; a non-constant output_shape (read at invoke) keeps the file's output
    shape, which then only follows a resized batch."""
    shape_t, x = _input(op, g, 0), _input(op, g, 2)
    _rank(op, x, 4, "input")
    if shape_t.data is not None:
        shape = _ints(op, shape_t, "output_shape")
        if len(shape) != 4:
            raise ModelError(f"op {op.index} ({op.name}): output_shape has "
                             f"{len(shape)} elements, expected 4")
        if shape[0] != x.shape[0]:
            carried = prop.carry_batch(x, shape)
            if carried is None:
                raise ModelError(f"op {op.index} ({op.name}): output_shape {shape} "
                                 f"keeps batch {shape[0]}, the input has "
                                 f"{x.shape[0]}")
            prop.ctx.carried_shapes[op.index] = carried
            shape = carried
        return [tuple(shape)]
    y0 = prop.base.tensors[op.outputs[0]]
    x0 = prop.base.tensors[x.index]
    if tuple(x.shape[1:]) != tuple(x0.shape[1:]):
        raise ModelError(f"op {op.index} ({op.name}): output_shape (tensor "
                         f"{shape_t.index}) is only known at invoke, so the output "
                         f"cannot follow an input resized beyond its batch")
    return [(int(x.shape[0]),) + tuple(y0.shape[1:])]


@rule("FULLY_CONNECTED")
def _fully_connected(op, g, prop):
    """[..., D] x [O, D] -> [size / D, O], or [..., O] with keep_num_dims
    (fully_connected.cc)."""
    x = _input(op, g, 0)
    out_c, depth = _rank(op, _input(op, g, 1), 2, "filter")
    if op.options.get("keep_num_dims", False):
        if not len(x.shape) or x.shape[-1] != depth:
            raise ModelError(f"op {op.index} ({op.name}): input shape "
                             f"{tuple(x.shape)} does not end in the filter's {depth} "
                             f"columns")
        return [tuple(x.shape[:-1]) + (out_c,)]
    if depth == 0 or x.size % depth:
        raise ModelError(f"op {op.index} ({op.name}): input of {x.size} elements is not "
                         f"a multiple of the filter's {depth} columns")
    return [(x.size // depth, out_c)]


@rule("SVDF")
def _svdf(op, g, prop):
    """[batch, input_size] x feature weights [num_filters, input_size] ->
    [batch, num_filters / rank] (svdf.cc).  The state keeps its file shape (a variable
    tensor), so a new batch is refused by prepare."""
    x = _input(op, g, 0)
    num_filters = _rank(op, _input(op, g, 1), 2, "feature weights")[0]
    rank = int(op.options.get("rank", 0))
    if len(x.shape) != 2 or rank <= 0 or num_filters % rank:
        raise ModelError(f"op {op.index} ({op.name}): input shape {tuple(x.shape)} / "
                         f"rank {rank} do not give an SVDF output shape")
    return [(int(x.shape[0]), num_filters // rank)]


@rule("UNIDIRECTIONAL_SEQUENCE_LSTM")
def _unidirectional_sequence_lstm(op, g, prop):
    """[batch, time, input] (or [time, batch, input]) -> the same with n_output, the
    recurrent-to-output weights' columns, last (unidirectional_sequence_lstm.cc)."""
    x = _rank(op, _input(op, g, 0), 3, "input")
    w = _input(op, g, 8, "recurrent-to-output weights")
    if len(w.shape) != 2:
        raise ModelError(f"op {op.index} ({op.name}): recurrent-to-output weights "
                         f"must be 2-D")
    return [tuple(x[:2]) + (int(w.shape[1]),)]


@rule("AVERAGE_POOL_2D", "MAX_POOL_2D")
def _pool(op, g, prop):
    """[N, H, W, C] -> [N, out(H), out(W), C] (pooling.cc)."""
    n, h, w, c = _rank(op, _input(op, g, 0), 4, "input")
    o = op.options
    padding = o.get("padding", PADDING_SAME)
    return [(n, _window(op, padding, h, int(o.get("filter_height", 0)),
                        int(o.get("stride_h", 0)), 1, "height"),
             _window(op, padding, w, int(o.get("filter_width", 0)),
                     int(o.get("stride_w", 0)), 1, "width"), c)]


@rule("MEAN", "SUM")
def _mean(op, g, prop):
    """The reduced shape over the constant axes (reduce.cc ResizeOutputTensor)."""
    x = _input(op, g, 0)
    axes = resolve_axes(op, _ints(op, _input(op, g, 1), "axis"), len(x.shape))
    return [mean_output_shape(x.shape, axes, bool(op.options.get("keep_dims")))]


@rule("RESHAPE")
def _reshape(op, g, prop):
    """The requested shape with its -1 inferred (reshape.cc), or with the batch
    carried (module docstring)."""
    x = _input(op, g, 0)
    target = reshape_target(op, g)
    try:
        return [tuple(resolve_reshape(op, target, x.size))]
    except ModelError:
        carried = prop.carry_batch(x, target)
        if carried is None:
            raise ModelError(f"op {op.index} ({op.name}): shape {target} cannot take "
                             f"the {x.size} elements of input tensor {x.index} of shape "
                             f"{tuple(x.shape)}") from None
    shape = resolve_reshape(op, carried, x.size)
    prop.ctx.carried_shapes[op.index] = carried
    return [tuple(shape)]


@rule("SQUEEZE")
def _squeeze(op, g, prop):
    """squeeze_dims dropped, or every size-1 dimension (squeeze.cc)."""
    x = _input(op, g, 0)
    rank = len(x.shape)
    dims = op.options.get("squeeze_dims") or []
    if dims:
        if any(not -rank <= d < rank for d in dims):
            raise ModelError(f"op {op.index} ({op.name}): squeeze dimensions {dims} out "
                             f"of range for rank {rank}")
        drop = {d % rank for d in dims}
    else:
        drop = {d for d in range(rank) if x.shape[d] == 1}
    return [tuple(n for d, n in enumerate(x.shape) if d not in drop)]


@rule("EXPAND_DIMS")
def _expand_dims(op, g, prop):
    x = _input(op, g, 0)
    axis = _ints(op, _input(op, g, 1), "axis")
    rank = len(x.shape)
    if len(axis) != 1 or not -rank - 1 <= axis[0] <= rank:
        raise ModelError(f"op {op.index} ({op.name}): axis {axis} invalid for rank "
                         f"{rank}")
    a = axis[0] + rank + 1 if axis[0] < 0 else axis[0]
    return [tuple(x.shape[:a]) + (1,) + tuple(x.shape[a:])]


@rule("SHAPE")
def _shape(op, g, prop):
    return [(len(_input(op, g, 0).shape),)]


@rule("TRANSPOSE")
def _transpose(op, g, prop):
    x = _input(op, g, 0)
    perm = _ints(op, _input(op, g, 1), "perm")
    rank = len(x.shape)
    if len(perm) != rank or any(not -rank <= p < rank for p in perm):
        raise ModelError(f"op {op.index} ({op.name}): perm {perm} invalid for rank "
                         f"{rank}")
    return [tuple(x.shape[p % rank] for p in perm)]


@rule("STRIDED_SLICE")
def _strided_slice(op, g, prop):
    """strided_slice.cc ResizeOutputTensor, through the same resolution as prepare."""
    x = _input(op, g, 0)
    begin, end, strides = (_ints(op, _input(op, g, k), what)
                           for k, what in ((1, "begin"), (2, "end"), (3, "strides")))
    if not len(begin) == len(end) == len(strides):
        raise ModelError(f"op {op.index} ({op.name}): begin/end/strides lengths "
                         f"{len(begin)}/{len(end)}/{len(strides)} differ")
    dims = _strided_slice_dims(op, x.shape, begin, end, strides, op.options)
    return [tuple(c for _, _, c, _, shrunk in dims if not shrunk)]


@rule("CONCATENATION")
def _concatenation(op, g, prop):
    """Input 0's shape with the sizes along `axis` summed (concatenation.cc)."""
    xs = [_input(op, g, k) for k in range(len(op.inputs))]
    if not xs:
        raise ModelError(f"op {op.index} ({op.name}): no inputs")
    rank = len(xs[0].shape)
    axis = int(op.options.get("axis", 0))
    if not -rank <= axis < rank or any(len(x.shape) != rank for x in xs):
        raise ModelError(f"op {op.index} ({op.name}): axis {axis} or input ranks "
                         f"{[len(x.shape) for x in xs]} invalid")
    axis %= rank
    shape = list(xs[0].shape)
    shape[axis] = sum(int(x.shape[axis]) for x in xs)
    return [tuple(shape)]


@rule("PACK")
def _pack(op, g, prop):
    """values_count inputs stacked along a new dimension `axis` (pack.cc)."""
    x = _input(op, g, 0)
    rank = len(x.shape) + 1
    axis = int(op.options.get("axis", 0))
    if not -rank <= axis < rank:
        raise ModelError(f"op {op.index} ({op.name}): axis {axis} out of range for "
                         f"output rank {rank}")
    axis %= rank
    return [tuple(x.shape[:axis]) + (len(op.inputs),) + tuple(x.shape[axis:])]


@rule("PAD", "PADV2")
def _pad(op, g, prop):
    """Each dimension grown by its (before, after) paddings (pad.cc)."""
    x = _input(op, g, 0)
    pads = _ints(op, _input(op, g, 1), "paddings")
    rank = len(x.shape)
    if len(pads) != 2 * rank:
        raise ModelError(f"op {op.index} ({op.name}): {len(pads)} padding values for "
                         f"rank {rank}")
    return [tuple(int(n) + pads[2 * d] + pads[2 * d + 1]
                  for d, n in enumerate(x.shape))]


# The ops of microdl.runtime.ops.rearrange: their shape functions, shared with prepare.
@rule("SPLIT")
def _split(op, g, prop):
    x = _input(op, g, 1)
    axis = _ints(op, _input(op, g, 0), "axis")[0]
    num = int(op.options.get("num_splits", len(op.outputs)))
    return rr.split_shapes(op, x.shape, axis, rr.equal_splits(op, x.shape, axis, num))[1]


@rule("SPLIT_V")
def _split_v(op, g, prop):
    x = _input(op, g, 0)
    return rr.split_shapes(op, x.shape, _ints(op, _input(op, g, 2), "axis")[0],
                           _ints(op, _input(op, g, 1), "size_splits"))[1]


@rule("UNPACK")
def _unpack(op, g, prop):
    x = _input(op, g, 0)
    return rr.unpack_shapes(op, x.shape, int(op.options.get("axis", 0)),
                            int(op.options.get("num", len(op.outputs))))[1]


@rule("SLICE")
def _slice(op, g, prop):
    x = _input(op, g, 0)
    return [tuple(rr.slice_box(op, x.shape, _ints(op, _input(op, g, 1), "begin"),
                               _ints(op, _input(op, g, 2), "size"))[1])]


@rule("TILE")
def _tile(op, g, prop):
    return [rr.tile_shape(op, _input(op, g, 0).shape,
                          _ints(op, _input(op, g, 1), "multiples"))]


@rule("BROADCAST_TO")
def _broadcast_to(op, g, prop):
    return [rr.broadcast_to_shape(op, _input(op, g, 0).shape,
                                  _ints(op, _input(op, g, 1), "shape"))]


@rule("REVERSE_V2", "ZEROS_LIKE")
def _same_as_input(op, g, prop):
    return [tuple(_input(op, g, 0).shape)]


@rule("DEPTH_TO_SPACE", "SPACE_TO_DEPTH")
def _depth_to_space(op, g, prop):
    return [rr.depth_to_space_shape(op, _input(op, g, 0).shape,
                                    int(op.options.get("block_size", 0)),
                                    op.name == "SPACE_TO_DEPTH")]


@rule("GATHER")
def _gather(op, g, prop):
    return [rr.gather_shape(op, _input(op, g, 0).shape, _input(op, g, 1).shape,
                            int(op.options.get("axis", 0)),
                            int(op.options.get("batch_dims", 0)))[1]]


@rule("FILL")
def _fill(op, g, prop):
    return [tuple(_ints(op, _input(op, g, 0), "dims"))]


@rule("ARG_MAX", "ARG_MIN")
def _arg_minmax(op, g, prop):
    return [arg_output_shape(op, _input(op, g, 0).shape,
                             _ints(op, _input(op, g, 1), "axis")[0])[1]]


@rule("REDUCE_MAX", "REDUCE_MIN")
def _reduce_minmax(op, g, prop):
    return [reduce_output_shape(op, _input(op, g, 0).shape,
                                _ints(op, _input(op, g, 1), "axes"),
                                bool(op.options.get("keep_dims", False)))[1]]


@rule("SELECT", "SELECT_V2")
def _select(op, g, prop):
    return [select_shape(op, *(_input(op, g, k).shape for k in range(3)))]


# The ops of microdl.runtime.ops.spatial and .accumulate (issue 11, ops11a).
def _pair_rows(op, t, what):
    v = _ints(op, t, what)
    return [(v[2 * i], v[2 * i + 1]) for i in range(len(v) // 2)]


@rule("MIRROR_PAD")
def _mirror_pad(op, g, prop):
    return [sp.mirror_pad_shape(op, _input(op, g, 0).shape,
                                _pair_rows(op, _input(op, g, 1), "paddings"),
                                int(op.options.get("mode", 0)))]


@rule("SPACE_TO_BATCH_ND")
def _space_to_batch_nd(op, g, prop):
    return [sp.space_to_batch_shape(op, _input(op, g, 0).shape,
                                    _ints(op, _input(op, g, 1), "block_shape"),
                                    _pair_rows(op, _input(op, g, 2), "paddings"))]


@rule("BATCH_TO_SPACE_ND")
def _batch_to_space_nd(op, g, prop):
    return [sp.batch_to_space_shape(op, _input(op, g, 0).shape,
                                    _ints(op, _input(op, g, 1), "block_shape"),
                                    _pair_rows(op, _input(op, g, 2), "crops"))]


@rule("GATHER_ND")
def _gather_nd(op, g, prop):
    return [sp.gather_nd_shape(op, _input(op, g, 0).shape, _input(op, g, 1).shape)]


@rule("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR")
def _resize_image(op, g, prop):
    return [sp.resize_shape(op, _input(op, g, 0).shape,
                            _ints(op, _input(op, g, 1), "size"))]


@rule("CAST", "CUMSUM", "ADD_N")
def _same_as_first_input(op, g, prop):
    return [tuple(_input(op, g, 0).shape)]


@rule("PRELU", "ELU", "LOG_SOFTMAX", "L2_NORMALIZATION", "FLOOR")
def _same_as_input0(op, g, prop):
    return [tuple(_input(op, g, 0).shape)]


@rule("BATCH_MATMUL")
def _batch_matmul(op, g, prop):
    return [batch_matmul_shape(op, _input(op, g, 0).shape, _input(op, g, 1).shape)]

# ------------------------------------------------------------ resize requests
_INDEX_CHECK = ("tflite/core/subgraph.cc:{line} tensor_index < context_.tensors_size "
                "&& tensor_index >= 0 was not true.")


def check_resize(graph, input_index, tensor_size, strict):
    """Validate a resize_tensor_input(input_index, tensor_size, strict) request the
    way LiteRT 2.x does, with its exception types and messages, in its order.

    Returns:
        (tensor index, new shape as a tuple of ints).

    Raises:
        TypeError: input_index not an integer, strict not convertible to bool, or
            tensor_size not convertible to int32 (from numpy);
        OverflowError / ValueError: tensor_size entries outside int32 or not numbers
            (from numpy), or tensor_size not 1-D;
        RuntimeError: index out of range; with strict, a rank change or a change of a
            dimension whose shape_signature entry is not -1; a constant or variable
            tensor; a negative dimension."""
    dims = np.array(tensor_size, dtype=np.int32)
    try:
        index = operator.index(input_index)
    except TypeError:
        raise TypeError(f"ResizeInputTensor(): incompatible function arguments: "
                        f"input_index must be an int, got "
                        f"{type(input_index).__name__}") from None
    if strict is not None and not hasattr(type(strict), "__bool__"):
        raise TypeError(f"ResizeInputTensor(): incompatible function arguments: strict "
                        f"must be a bool, got {type(strict).__name__}")
    strict = bool(strict)
    if dims.ndim != 1:
        raise ValueError(f"Shape should be 1D instead of {dims.ndim}.")
    if not 0 <= index < len(graph.tensors):
        raise RuntimeError(_INDEX_CHECK.format(line=1264 if strict else 1234))
    t = graph.tensors[index]
    new = tuple(int(d) for d in dims)
    if strict:
        if len(t.shape) != len(new):
            raise RuntimeError(f"tflite/core/subgraph.cc:1268 tensor->dims->size != "
                               f"dims.size() ({len(t.shape)} != {len(new)})")
        sig = tuple(t.shape_signature) if t.shape_signature is not None else ()
        for d, (old, want) in enumerate(zip(t.shape, new)):
            if old != want and (d >= len(sig) or sig[d] != -1):
                raise RuntimeError(f"Attempting to resize dimension {d} of tensor "
                                   f"{index} with value {old} to {want}. "
                                   f"ResizeInputTensorStrict only allows mutating "
                                   f"unknown dimensions identified by -1.")
    if fixed_size(graph, index):
        raise RuntimeError("Attempting to resize a fixed-size tensor.")
    if any(d < 0 for d in new):
        raise RuntimeError("tflite/util.cc BytesRequired number of elements "
                           "overflowed.\n")
    return index, new
