"""FloatExecutor: run a float TFLite graph (microdl.core.graph.Graph) op by op with the
numpy float32 reference operators of microdl.floatexec.ops.

The converter uses it to calibrate (run_all exposes every intermediate tensor to its
observers) and as the float baseline of every accuracy comparison.

    from microdl.floatexec.executor import FloatExecutor
    ex = FloatExecutor.from_model(open("vww_96_float.tflite", "rb").read())
    probs, = ex.run([images])            # images: float32 [B, 96, 96, 3]
    acts = ex.run_all({"input_1": images})  # {tensor index: float32 array}

Batches: a graph input whose static shape starts with 1 also accepts a leading batch
dimension B > 1 (every input of a call the same B).  The batch is run sample by
sample (a Python loop over the ops' batch-1 graph: RESHAPE / SHAPE / STRIDED_SLICE /
MEAN over axis 0 etc. keep their meaning exactly), and the per-sample results are
joined: a tensor whose static shape starts with 1 gets shape [B, *shape[1:]], any
other tensor (a SHAPE result, a rank-0 value) is stacked to [B, *shape].  With the
inputs at their exact static shapes, results have the static shapes.

Every computed tensor is checked against the dtype and the static shape the graph
declares for it (the shape only when its shape_signature has no -1); a mismatch
raises ModelError naming the op.

Ops (see supported_ops()): CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV,
FULLY_CONNECTED, AVERAGE_POOL_2D, MAX_POOL_2D, ADD, SUB, MUL, MEAN, SOFTMAX, LOGISTIC,
TANH, UNIDIRECTIONAL_SEQUENCE_LSTM (float32, no peephole / projection / layer norm;
every run starts from zero state, variable tensors without data reading as zeros),
HARD_SWISH, LEAKY_RELU, RELU, RELU6, RELU_N1_TO_1, QUANTIZE (float32 -> int8 /
uint8 / int16), DEQUANTIZE (int8 / uint8 / int16 per tensor or per channel, float16
-> float32), and the data ops RESHAPE, SQUEEZE, EXPAND_DIMS, PAD, PADV2,
CONCATENATION, STRIDED_SLICE, SHAPE, PACK, TRANSPOSE (any dtype; quantized tensors
only where inputs and output share one quantization).  Arithmetic ops run on float32
(ADD / SUB / MUL also on int32 / int64 for shape arithmetic); quantized integer math
is the runtime's job and is reported as unsupported here.  Dynamic-range ("hybrid")
CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED with int8 weights: see `hybrid`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.core.graph import Graph
from microdl.floatexec import ops as F
from microdl.tflite.reader import read_model
from microdl.tflite.schema import dtype_name

F32 = np.dtype(np.float32)
_INTS = (np.dtype(np.int32), np.dtype(np.int64))
_QUANT_INTS = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))


class _Unsupported(Exception):
    """This op / dtype / option combination has no float reference."""


# ---------------------------------------------------------------- op table
class _OpDef:
    """How to check and run one builtin op.

    check(op, graph): raises _Unsupported / ModelError at construction time;
    run(op, get, graph): returns the output array; get(k) is the value of input k
    (None for an omitted optional input)."""

    def __init__(self, check: Callable, run: Callable, n_in: tuple, n_out: int = 1):
        self.check, self.run, self.n_in, self.n_out = check, run, n_in, n_out


_OPS: dict = {}


def _opt(op, key, default):
    v = op.options.get(key, default)
    return default if v is None else v


def _tensor(graph, op, k):
    """The op's input tensor k, or None when omitted (-1 or absent)."""
    if k >= len(op.inputs) or op.inputs[k] < 0:
        return None
    return graph.tensors[op.inputs[k]]


def _require_float(graph, op, inputs, outputs=(0,)):
    """Inputs `inputs` (when present) and outputs must be float32, not quantized."""
    for k in inputs:
        t = _tensor(graph, op, k)
        if t is not None and np.dtype(t.dtype) != F32:
            raise _Unsupported(f"input {k} (tensor {t.index}) is {dtype_name(t.dtype)}; "
                               f"the float reference runs float32 {op.name} only")
    for k in outputs:
        t = graph.tensors[op.outputs[k]]
        if np.dtype(t.dtype) != F32:
            raise _Unsupported(f"output {k} (tensor {t.index}) is "
                               f"{dtype_name(t.dtype)}; the float reference runs "
                               f"float32 {op.name} only")


def _require_activation(op, allowed=(0, 1, 2, 3, 4)):
    act = _opt(op, "fused_activation_function", 0)
    if act not in allowed:
        raise _Unsupported(f"fused activation {act} (only "
                           f"{', '.join(F.ACTIVATION_NAMES[a] for a in allowed)})")


def _require_int_input(graph, op, k, what):
    t = _tensor(graph, op, k)
    if t is None:
        raise ModelError(f"op {op.index} ({op.name}): missing {what} (input {k})")
    if np.dtype(t.dtype) not in _INTS:
        raise _Unsupported(f"{what} (tensor {t.index}) is {dtype_name(t.dtype)}, "
                           f"expected int32 / int64")


def _same_quantization(graph, op, data_inputs):
    """Pure data movement: any dtype, but quantized tensors must all share one
    quantization (a requantizing copy is an integer kernel, not a float op)."""
    ts = [_tensor(graph, op, k) for k in data_inputs]
    ts = [t for t in ts if t is not None] + [graph.tensors[o] for o in op.outputs]
    keys = set()
    for t in ts:
        if t.quant is None or np.dtype(t.dtype) == F32:
            keys.add((np.dtype(t.dtype).name, None))
        else:
            keys.add((np.dtype(t.dtype).name, tuple(t.quant.scales.tolist()),
                      tuple(t.quant.zero_points.tolist())))
    if len(keys) > 1:
        raise _Unsupported("inputs and output differ in dtype or quantization "
                           "(requantization has no float reference)")


def _register(name, n_in, check=None, n_out=1):
    def deco(run):
        _OPS[name] = _OpDef(check or (lambda op, g: None), run, n_in, n_out)
        return run
    return deco


def _stride(op):
    return int(_opt(op, "stride_h", 1)), int(_opt(op, "stride_w", 1))


def _dilation(op):
    return int(_opt(op, "dilation_h_factor", 1)), int(_opt(op, "dilation_w_factor", 1))


def _act(op):
    return int(_opt(op, "fused_activation_function", 0))


def _hybrid_weights(graph, op, k=1):
    """The op's int8 weights tensor when it is a dynamic-range ("hybrid") op: float32
    activations with constant int8 weights; None for a float op."""
    w, x = _tensor(graph, op, k), _tensor(graph, op, 0)
    if (w is None or x is None or np.dtype(x.dtype) != F32
            or np.dtype(w.dtype) != np.dtype(np.int8) or w.data is None):
        return None
    q = w.quant
    if q is None or q.scales.size == 0:
        raise ModelError(f"op {op.index} ({op.name}): int8 weights tensor {w.index} "
                         f"has no quantization parameters")
    if q.scales.size > 1 and (q.quantized_dimension >= len(w.shape)
                              or w.shape[q.quantized_dimension] != q.scales.size):
        raise ModelError(f"op {op.index} ({op.name}): {q.scales.size} scales do not "
                         f"match dimension {q.quantized_dimension} of weights "
                         f"{tuple(w.shape)}")
    return w


def _check_window_op(op, graph, weighted):
    if weighted and _hybrid_weights(graph, op) is not None:
        _require_float(graph, op, (0, 2))
    else:
        _require_float(graph, op, (0, 1, 2) if weighted else (0,))
    _require_activation(op)
    if _opt(op, "padding", 0) not in (0, 1):
        raise _Unsupported(f"padding {_opt(op, 'padding', 0)}")
    if min(_stride(op)) < 1 or min(_dilation(op)) < 1:
        raise ModelError(f"op {op.index} ({op.name}): strides and dilations must be >= 1")
    x = _tensor(graph, op, 0)
    if len(x.shape) != 4:
        raise _Unsupported(f"input rank {len(x.shape)}; NHWC (rank 4) expected")


# ------------------------------------------------------------- convolutions
def _check_conv(op, graph):
    _check_window_op(op, graph, True)
    x, w = _tensor(graph, op, 0), _tensor(graph, op, 1)
    if len(w.shape) != 4 or w.shape[3] != x.shape[3]:
        raise _Unsupported(f"filter shape {tuple(w.shape)} for a {x.shape[3]}-channel "
                           f"input (OHWI with I = input channels expected; grouped "
                           f"convolution is not supported)")


@_register("CONV_2D", (2, 3), _check_conv)
def _conv_2d(op, get, g):
    w = get(1)
    if w.dtype == np.int8:  # hybrid="litert": LiteRT's dynamic-range kernel
        return F.hybrid_conv_2d(get(0), w, g.tensors[op.inputs[1]].quant.scale, get(2),
                                _stride(op), _opt(op, "padding", 0), _act(op))
    return F.conv_2d(get(0), w, get(2), _stride(op), _dilation(op),
                     _opt(op, "padding", 0), _act(op))


def _check_depthwise(op, graph):
    _check_window_op(op, graph, True)
    x, w = _tensor(graph, op, 0), _tensor(graph, op, 1)
    if len(w.shape) != 4 or w.shape[0] != 1 or w.shape[3] % max(x.shape[3], 1):
        raise _Unsupported(f"filter shape {tuple(w.shape)} for a {x.shape[3]}-channel "
                           f"input (1HWO with O a multiple of the input channels "
                           f"expected)")


@_register("DEPTHWISE_CONV_2D", (2, 3), _check_depthwise)
def _depthwise_conv_2d(op, get, g):
    # The depth multiplier is O / C (the depth_multiplier option must agree with it
    # in valid models; TFLite's kernels also derive the loop from the shapes).
    return F.depthwise_conv_2d(get(0), get(1), get(2), _stride(op), _dilation(op),
                               _opt(op, "padding", 0), _act(op))


def _check_transpose_conv(op, graph):
    _require_float(graph, op, (1, 2, 3))
    _require_int_input(graph, op, 0, "output_shape")
    _require_activation(op)
    if _opt(op, "padding", 0) not in (0, 1):
        raise _Unsupported(f"padding {_opt(op, 'padding', 0)}")
    if min(_stride(op)) < 1:
        raise ModelError(f"op {op.index} ({op.name}): strides must be >= 1")
    w, x = _tensor(graph, op, 1), _tensor(graph, op, 2)
    if len(x.shape) != 4 or len(w.shape) != 4 or w.shape[3] != x.shape[3]:
        raise _Unsupported(f"filter {tuple(w.shape)} / input {tuple(x.shape)}: OHWI "
                           f"filters over an NHWC input expected")


@_register("TRANSPOSE_CONV", (3, 4), _check_transpose_conv)
def _transpose_conv(op, get, g):
    return F.transpose_conv(get(0), get(1), get(2), get(3), _stride(op),
                            _opt(op, "padding", 0), _act(op))


def _check_fc(op, graph):
    _require_float(graph, op, (0, 2) if _hybrid_weights(graph, op) is not None
                   else (0, 1, 2))
    _require_activation(op)
    if _opt(op, "weights_format", 0) != 0:
        raise _Unsupported(f"weights_format {_opt(op, 'weights_format', 0)} (only "
                           f"DEFAULT)")
    if len(_tensor(graph, op, 1).shape) != 2:
        raise _Unsupported("weights must be 2-D [out, in]")


@_register("FULLY_CONNECTED", (2, 3), _check_fc)
def _fully_connected(op, get, g):
    w, keep = get(1), bool(_opt(op, "keep_num_dims", False))
    if w.dtype == np.int8:  # hybrid="litert": LiteRT's dynamic-range kernel
        return F.hybrid_fully_connected(get(0), w, g.tensors[op.inputs[1]].quant.scale,
                                        get(2), keep, _act(op))
    return F.fully_connected(get(0), w, get(2), keep, _act(op))


def _check_hybrid_litert(op, graph):
    """hybrid="litert" emulates LiteRT's per-tensor symmetric dynamic-range CONV_2D
    and FULLY_CONNECTED kernels only."""
    w = _hybrid_weights(graph, op)
    if w is None:
        return
    if op.name not in ("CONV_2D", "FULLY_CONNECTED"):
        raise _Unsupported(f"hybrid (int8-weight) {op.name}: LiteRT's kernel is not "
                           f"emulated; use hybrid='dequantize'")
    if w.quant.scales.size != 1 or int(w.quant.zero_points[0]) != 0:
        raise _Unsupported("hybrid weights must be per-tensor symmetric for "
                           "hybrid='litert'; use hybrid='dequantize'")
    if op.name == "CONV_2D" and _dilation(op) != (1, 1):
        raise _Unsupported("dilated hybrid CONV_2D with hybrid='litert'")
    if op.name == "FULLY_CONNECTED" and _opt(op, "asymmetric_quantize_inputs", False):
        raise _Unsupported("asymmetric_quantize_inputs with hybrid='litert'")


# ------------------------------------------------------------------ pooling
def _pool_args(op):
    return ((int(_opt(op, "filter_height", 1)), int(_opt(op, "filter_width", 1))),
            _stride(op), _opt(op, "padding", 0), _act(op))


def _check_pool(op, graph):
    _check_window_op(op, graph, False)
    if min(_pool_args(op)[0]) < 1:
        raise ModelError(f"op {op.index} ({op.name}): filter size must be >= 1")


@_register("AVERAGE_POOL_2D", (1, 1), _check_pool)
def _average_pool_2d(op, get, g):
    return F.average_pool_2d(get(0), *_pool_args(op))


@_register("MAX_POOL_2D", (1, 1), _check_pool)
def _max_pool_2d(op, get, g):
    return F.max_pool_2d(get(0), *_pool_args(op))


# ---------------------------------------------------------------- arithmetic
def _check_binary(op, graph):
    a, b = _tensor(graph, op, 0), _tensor(graph, op, 1)
    y = graph.tensors[op.outputs[0]]
    dts = {np.dtype(a.dtype), np.dtype(b.dtype), np.dtype(y.dtype)}
    if len(dts) != 1 or dts.pop() not in (F32,) + _INTS:
        raise _Unsupported("float32 (or int32 / int64 shape arithmetic) inputs and "
                           "output of one dtype expected")
    if np.dtype(y.dtype) == F32:
        _require_activation(op)
    else:
        _require_activation(op, (0, 1, 2, 3))


for _name, _fn in (("ADD", F.add), ("SUB", F.sub), ("MUL", F.mul)):
    _register(_name, (2, 2), _check_binary)(
        lambda op, get, g, _fn=_fn: _fn(get(0), get(1), _act(op)))


def _check_float_unary(op, graph):
    _require_float(graph, op, (0,))


@_register("SOFTMAX", (1, 1), _check_float_unary)
def _softmax(op, get, g):
    return F.softmax(get(0), float(_opt(op, "beta", 1.0)))


for _name, _fn in (("LOGISTIC", F.logistic), ("TANH", F.tanh),
                   ("HARD_SWISH", F.hard_swish), ("RELU", F.relu), ("RELU6", F.relu6),
                   ("RELU_N1_TO_1", F.relu_n1_to_1)):
    _register(_name, (1, 1), _check_float_unary)(lambda op, get, g, _fn=_fn: _fn(get(0)))


@_register("LEAKY_RELU", (1, 1), _check_float_unary)
def _leaky_relu(op, get, g):
    return F.leaky_relu(get(0), float(_opt(op, "alpha", 0.0)))


def _check_mean(op, graph):
    _require_float(graph, op, (0,))
    _require_int_input(graph, op, 1, "axes")


@_register("MEAN", (2, 2), _check_mean)
def _mean(op, get, g):
    return F.mean(get(0), get(1), bool(_opt(op, "keep_dims", False)))


# -------------------------------------------------------- (de)quantization
def _check_quantize(op, graph):
    x, y = _tensor(graph, op, 0), graph.tensors[op.outputs[0]]
    if np.dtype(x.dtype) != F32:
        raise _Unsupported(f"QUANTIZE from {dtype_name(x.dtype)} (requantization is "
                           f"an integer kernel); only float32 -> int8 / uint8 / int16")
    if np.dtype(y.dtype) not in _QUANT_INTS:
        raise _Unsupported(f"QUANTIZE to {dtype_name(y.dtype)}; only int8 / uint8 / "
                           f"int16")
    if y.quant is None or y.quant.scales.size != 1:
        raise _Unsupported("output needs per-tensor quantization parameters")
    if not float(y.quant.scales[0]) > 0:
        raise ModelError(f"op {op.index} (QUANTIZE): output scale must be > 0")


@_register("QUANTIZE", (1, 1), _check_quantize)
def _quantize(op, get, g):
    y = g.tensors[op.outputs[0]]
    return F.quantize(get(0), float(y.quant.scales[0]), int(y.quant.zero_points[0]),
                      y.dtype)


def _check_dequantize(op, graph):
    x, y = _tensor(graph, op, 0), graph.tensors[op.outputs[0]]
    if np.dtype(y.dtype) != F32:
        raise _Unsupported(f"DEQUANTIZE to {dtype_name(y.dtype)}; only float32")
    if np.dtype(x.dtype) == np.dtype(np.float16):
        return
    if np.dtype(x.dtype) not in _QUANT_INTS:
        raise _Unsupported(f"DEQUANTIZE from {dtype_name(x.dtype)}; only int8 / uint8 "
                           f"/ int16 / float16")
    q = x.quant
    if q is None or q.scales.size == 0:
        raise ModelError(f"op {op.index} (DEQUANTIZE): input tensor {x.index} has no "
                         f"quantization parameters")
    if q.scales.size > 1 and (q.quantized_dimension >= len(x.shape)
                              or x.shape[q.quantized_dimension] != q.scales.size):
        raise ModelError(f"op {op.index} (DEQUANTIZE): {q.scales.size} scales do not "
                         f"match dimension {q.quantized_dimension} of {tuple(x.shape)}")


@_register("DEQUANTIZE", (1, 1), _check_dequantize)
def _dequantize(op, get, g):
    x = g.tensors[op.inputs[0]]
    if np.dtype(x.dtype) == np.dtype(np.float16):
        return get(0).astype(F32)
    q = x.quant
    return F.dequantize(get(0), q.scales, q.zero_points, q.quantized_dimension)


# ------------------------------------------------------------ data movement
def _check_data(*int_inputs, data_inputs=(0,)):
    def check(op, graph):
        for k, what in int_inputs:
            if _tensor(graph, op, k) is not None:
                _require_int_input(graph, op, k, what)
        _same_quantization(graph, op, data_inputs)
    return check


@_register("RESHAPE", (1, 2), _check_data((1, "shape")))
def _reshape(op, get, g):
    """The new shape: the shape input when present (TFLite: 1-D, empty for a scalar),
    else the new_shape option, else the output's static shape."""
    if len(op.inputs) > 1 and op.inputs[1] >= 0:
        target = [int(v) for v in np.ravel(get(1))]
    elif op.options.get("new_shape"):
        target = op.options["new_shape"]
    else:
        target = g.tensors[op.outputs[0]].shape
    return F.reshape(get(0), target)


@_register("SQUEEZE", (1, 1), _check_data())
def _squeeze(op, get, g):
    return F.squeeze(get(0), list(_opt(op, "squeeze_dims", [])))


@_register("EXPAND_DIMS", (2, 2), _check_data((1, "axis")))
def _expand_dims(op, get, g):
    return F.expand_dims(get(0), get(1))


@_register("PAD", (2, 2), _check_data((1, "paddings")))
def _pad(op, get, g):
    y = g.tensors[op.outputs[0]]
    fill = 0
    if y.quant is not None and np.dtype(y.dtype) != F32 and y.quant.zero_points.size:
        fill = int(y.quant.zero_points[0])  # the quantized zero
    return F.pad(get(0), get(1), fill)


@_register("PADV2", (3, 3), _check_data((1, "paddings")))
def _padv2(op, get, g):
    return F.pad(get(0), get(1), np.ravel(get(2))[0])


def _check_concat(op, graph):
    _same_quantization(graph, op, range(len(op.inputs)))
    y = graph.tensors[op.outputs[0]]
    _require_activation(op, (0, 1, 2, 3, 4) if np.dtype(y.dtype) == F32 else (0,))


@_register("CONCATENATION", (1, None), _check_concat)
def _concatenation(op, get, g):
    return F.concatenation([get(k) for k in range(len(op.inputs))],
                           int(_opt(op, "axis", 0)), _act(op))


def _check_strided_slice(op, graph):
    _check_data((1, "begin"), (2, "end"), (3, "strides"))(op, graph)


@_register("STRIDED_SLICE", (4, 4), _check_strided_slice)
def _strided_slice(op, get, g):
    return F.strided_slice(get(0), get(1), get(2), get(3),
                           int(_opt(op, "begin_mask", 0)), int(_opt(op, "end_mask", 0)),
                           int(_opt(op, "ellipsis_mask", 0)),
                           int(_opt(op, "new_axis_mask", 0)),
                           int(_opt(op, "shrink_axis_mask", 0)),
                           bool(_opt(op, "offset", False)))


def _check_shape(op, graph):
    y = graph.tensors[op.outputs[0]]
    if np.dtype(y.dtype) not in _INTS:
        raise _Unsupported(f"SHAPE output {dtype_name(y.dtype)}; int32 / int64 only")


@_register("SHAPE", (1, 1), _check_shape)
def _shape(op, get, g):
    return F.shape(get(0), g.tensors[op.outputs[0]].dtype)


@_register("PACK", (1, None), lambda op, g: _same_quantization(g, op, range(len(op.inputs))))
def _pack(op, get, g):
    return F.pack([get(k) for k in range(len(op.inputs))], int(_opt(op, "axis", 0)))


@_register("TRANSPOSE", (2, 2), _check_data((1, "perm")))
def _transpose(op, get, g):
    return F.transpose(get(0), get(1))


def _check_lstm(op, graph):
    if len(op.inputs) not in (20, 24):
        raise ModelError(f"op {op.index} ({op.name}): {len(op.inputs)} inputs, expected "
                         f"20 or 24")
    _require_float(graph, op, [k for k in range(len(op.inputs)) if k not in (18, 19)])
    for k, what in ((9, "peephole"), (10, "peephole"), (11, "peephole"),
                    (16, "projection"), (17, "projection"), (20, "layer norm"),
                    (21, "layer norm"), (22, "layer norm"), (23, "layer norm")):
        if _tensor(graph, op, k) is not None:
            raise _Unsupported(f"{what} (input {k}): the float reference runs the plain "
                               f"LSTM only")
    _require_activation(op, (4,))
    if _opt(op, "diagonal_recurrent_tensors", False):
        raise _Unsupported("diagonal recurrent weights")
    for k in (18, 19):
        t = _tensor(graph, op, k)
        if t is None or not t.is_variable:
            raise ModelError(f"op {op.index} ({op.name}): input {k} (state) must be a "
                             f"variable tensor")
    for k in range(1, 9):
        t = _tensor(graph, op, k)
        if t is not None and len(t.shape) != 2:
            raise _Unsupported(f"input {k}: {len(t.shape)}-D weights")
    if (_tensor(graph, op, 1) is None) != (_tensor(graph, op, 5) is None) or any(
            _tensor(graph, op, k) is None for k in (2, 3, 4, 6, 7, 8, 13, 14, 15)):
        raise ModelError(f"op {op.index} ({op.name}): missing gate weights or biases")


@_register("UNIDIRECTIONAL_SEQUENCE_LSTM", (1, 24), _check_lstm)
def _unidirectional_sequence_lstm(op, get, g):
    """Each run starts from zero output and cell state (a variable tensor without
    data reads as zeros): every run is a sequence after reset_all_variables()."""
    x = get(0)
    y, _, _ = F.unidirectional_sequence_lstm(
        x, [get(k) for k in range(1, 5)], [get(k) for k in range(5, 9)],
        [get(k) for k in range(12, 16)], get(18), get(19),
        time_major=bool(_opt(op, "time_major", False)),
        cell_clip=float(_opt(op, "cell_clip", 0.0)))
    return y


def supported_ops():
    """Names of the builtin ops the float reference can run."""
    return sorted(_OPS)


# ----------------------------------------------------------------- executor
class FloatExecutor:
    """Runs a Graph with the float32 numpy reference ops (see the module docstring).

    Args:
        graph: a microdl.core.graph.Graph (e.g. microdl.tflite.reader.read_model(bytes)).
        hybrid: how to run dynamic-range ("hybrid") ops, i.e. CONV_2D /
            DEPTHWISE_CONV_2D / FULLY_CONNECTED with float32 activations and constant
            int8 weights (e.g. mlperf_tiny kws_ref_model_float32):
            "dequantize" (default): the weights are dequantized once
                (scale * (q - zero_point), per tensor or per channel) and the op runs
                in float32: the model's real-valued meaning;
            "litert": reproduce LiteRT's kernels, which also quantize the float
                input on the fly (per sample for CONV_2D, per row for
                FULLY_CONNECTED; see ops.hybrid_conv_2d /
                hybrid_fully_connected); per-tensor symmetric CONV_2D and
                FULLY_CONNECTED only.
    Raises:
        UnsupportedOpError: some ops have no float reference; lists every one of them
            (dicts with index, op_name, version, dtypes, reason).
        ModelError: the graph is inconsistent (wrong input count, a tensor read
            before any op writes it, ...).
    """

    def __init__(self, graph: Graph, hybrid: str = "dequantize"):
        if hybrid not in ("dequantize", "litert"):
            raise ValueError(f"hybrid must be 'dequantize' or 'litert', not {hybrid!r}")
        self.graph = graph
        self.hybrid = hybrid
        self._runners = []  # (op, run(get) -> array or list)
        # (op index, input slot) -> value replacing the constant there (the
        # dequantized weights of hybrid ops with hybrid="dequantize")
        self._overrides = {}
        unsupported = []
        written = {t.index for t in graph.tensors if t.data is not None or t.is_variable}
        written |= set(graph.inputs)
        for op in graph.ops:
            try:
                self._runners.append((op, self._prepare(op, written)))
            except _Unsupported as e:
                unsupported.append(UnsupportedOpError.entry(op, graph, e))
            written |= set(op.outputs)
        if unsupported:
            raise UnsupportedOpError(unsupported)
        for t in graph.outputs:
            if t not in written:
                raise ModelError(f"graph output tensor {t} is never written")

    @classmethod
    def from_model(cls, model_content, hybrid: str = "dequantize") -> "FloatExecutor":
        """Build from .tflite bytes (microdl.tflite.reader.read_model)."""
        return cls(read_model(model_content), hybrid=hybrid)

    # ------------------------------------------------------------ prepare
    def _prepare(self, op, written):
        g = self.graph
        d = _OPS.get(op.name)
        if d is None:
            what = f"custom op {op.custom_code!r}" if op.custom_code else op.name
            raise _Unsupported(f"no float reference for {what}")
        lo, hi = d.n_in
        n = len(op.inputs)
        if n < lo or (hi is not None and n > hi):
            raise ModelError(f"op {op.index} ({op.name}): {n} inputs, expected {lo}"
                             + ("" if hi == lo else f"..{hi if hi is not None else ''}"))
        if len(op.outputs) != d.n_out:
            raise ModelError(f"op {op.index} ({op.name}): {len(op.outputs)} outputs, "
                             f"expected {d.n_out}")
        for k, t in enumerate(op.inputs):
            if t >= 0 and t not in written:
                raise ModelError(f"op {op.index} ({op.name}): input {k} (tensor {t}) is "
                                 f"read before any op writes it")
        for t in list(op.inputs) + list(op.outputs):
            if t >= 0 and g.tensors[t].dtype is None:
                raise _Unsupported(f"tensor {t} has a type microdl cannot hold")
        for k in range(lo):
            if op.inputs[k] < 0:
                raise ModelError(f"op {op.index} ({op.name}): required input {k} is "
                                 f"omitted")
        d.check(op, g)
        if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            w = _hybrid_weights(g, op)
            if w is not None and self.hybrid == "litert":
                _check_hybrid_litert(op, g)
            elif w is not None:
                q = w.quant
                self._overrides[(op.index, 1)] = F.dequantize(
                    w.data, q.scales, q.zero_points, q.quantized_dimension)
        return lambda get: d.run(op, get, g)

    # ------------------------------------------------------------ inputs
    def _check_inputs(self, inputs):
        """Validated input arrays in graph-input order and the batch size (None when
        every input has exactly its static shape)."""
        g = self.graph
        tensors = [g.tensors[t] for t in g.inputs]
        if isinstance(inputs, dict):
            names = [t.name for t in tensors]
            unknown = sorted(set(inputs) - set(names))
            missing = [n for n in names if n not in inputs]
            if unknown or missing:
                raise ValueError(f"inputs dict: unknown names {unknown}, missing "
                                 f"{missing}; the graph inputs are {names}")
            inputs = [inputs[n] for n in names]
        elif isinstance(inputs, np.ndarray):
            inputs = [inputs]
        else:
            inputs = list(inputs)
        if len(inputs) != len(tensors):
            raise ValueError(f"{len(inputs)} inputs given, the graph has "
                             f"{len(tensors)} ({[t.name for t in tensors]})")
        arrays, batches = [], set()
        for k, (x, t) in enumerate(zip(inputs, tensors)):
            what = f"input {k} ({t.name!r})"
            want = np.dtype(t.dtype)
            if not isinstance(x, np.ndarray):
                x = np.asarray(x, want)
            if x.dtype != want:
                raise ValueError(f"{what} has dtype {x.dtype}, expected {want} "
                                 f"(cast with .astype(np.{want.name}))")
            shape = tuple(t.shape)
            if x.shape == shape:
                batches.add(None)
            elif (len(shape) >= 1 and shape[0] == 1 and x.ndim == len(shape)
                  and x.shape[1:] == shape[1:] and x.shape[0] >= 1):
                batches.add(x.shape[0])
            else:
                extra = (f" or [B, {', '.join(map(str, shape[1:]))}]"
                         if len(shape) >= 1 and shape[0] == 1 else "")
                raise ValueError(f"{what} has shape {list(x.shape)}, expected "
                                 f"{list(shape)}{extra}")
            arrays.append(x)
        if len(batches) > 1:
            sizes = sorted(b if b is not None else 1 for b in batches)
            if len(set(sizes)) > 1:
                raise ValueError(f"inputs disagree on the batch size: {sizes}")
        batch = max((b for b in batches if b is not None), default=None)
        return arrays, batch

    # ------------------------------------------------------------- running
    def _run_one(self, arrays):
        """Run the graph once on inputs of their static shapes; returns
        {tensor index: array} for the graph inputs and every op output."""
        g = self.graph
        values = dict(zip(g.inputs, arrays))

        def value(t):
            if t in values:
                return values[t]
            return g.tensors[t].data

        for op, run in self._runners:
            def get(k, op=op):
                if k >= len(op.inputs) or op.inputs[k] < 0:
                    return None
                if (op.index, k) in self._overrides:
                    return self._overrides[(op.index, k)]
                return value(op.inputs[k])

            try:
                result = run(get)
            except (ValueError, IndexError) as e:
                raise ModelError(f"op {op.index} ({op.name}): {e}") from None
            results = result if isinstance(result, (list, tuple)) else [result]
            for t, r in zip(op.outputs, results):
                values[t] = self._checked(op, g.tensors[t], np.asarray(r))
        return values

    @staticmethod
    def _checked(op, t, r):
        if r.dtype != np.dtype(t.dtype):
            raise ModelError(f"op {op.index} ({op.name}): computed {r.dtype} for tensor "
                             f"{t.index} ({t.name!r}), which is {np.dtype(t.dtype)}")
        if -1 not in tuple(t.shape_signature) and r.shape != tuple(t.shape):
            raise ModelError(f"op {op.index} ({op.name}): computed shape "
                             f"{list(r.shape)} for tensor {t.index} ({t.name!r}), which "
                             f"declares {list(t.shape)}")
        return r

    def run_all(self, inputs) -> dict:
        """Run the graph and return every activation.

        Args:
            inputs: arrays in graph-input order (a list, or one array for a one-input
                graph) or a dict {input tensor name: array}.  Each must have the
                input's dtype (non-array values are converted to it) and its static
                shape, or [B, *shape[1:]] when the static batch is 1.
        Returns:
            {tensor index: array} for the graph inputs and every op output (constants
            are in graph.tensors[i].data).  With a batch B, tensors whose static shape
            starts with 1 have shape [B, *shape[1:]], others [B, *shape].
        Raises:
            ValueError: wrong number, names, dtypes or shapes of inputs.
            ModelError: an op cannot compute on these values or disagrees with the
                graph's declared shapes.
        """
        arrays, batch = self._check_inputs(inputs)
        if batch is None:
            return self._run_one(arrays)
        runs = [self._run_one([a[b:b + 1] for a in arrays]) for b in range(batch)]
        out = {}
        for t in runs[0]:
            shape = self.graph.tensors[t].shape
            parts = [r[t] for r in runs]
            if len(shape) >= 1 and shape[0] == 1 and parts[0].ndim >= 1 \
                    and parts[0].shape[0] == 1:
                out[t] = np.concatenate(parts, axis=0)
            else:
                out[t] = np.stack(parts, axis=0)
        return out

    def run(self, inputs) -> list:
        """Run the graph; returns the output arrays in graph-output order (see
        run_all for inputs and batch shapes)."""
        values = self.run_all(inputs)
        g = self.graph
        return [values[t] if t in values else g.tensors[t].data for t in g.outputs]
