"""Post-training static quantization: float Graph + calibration data -> int8 Graph.

Follows the TFLite int8 quantization specification
(https://www.tensorflow.org/lite/performance/quantization_spec):

- weights int8 symmetric (zero point 0), per output channel for CONV_2D (OHWI, axis 0),
  DEPTHWISE_CONV_2D (1HWO, axis 3) and TRANSPOSE_CONV (OHWI, axis 0), per tensor for
  FULLY_CONNECTED (as TensorFlow's converter does); values in [-127, 127];
- bias int32 with scale = input_scale * weight_scale[c] and zero point 0;
- activations int8 asymmetric per tensor, ranges from calibration observers;
- fixed output parameters: SOFTMAX and LOGISTIC scale 1/256 zero point -128, TANH
  scale 1/128 zero point 0;
- ops that do not requantize (pooling, reshape, squeeze, transpose, slice, pad,
  concatenation, pack) share one (scale, zero point) between their inputs and output:
  tensors tied this way form a group whose range is the union of its members'.

- UNIDIRECTIONAL_SEQUENCE_LSTM (float, no peephole / projection / layer norm) becomes
  TFLite's integer "8x8_16" LSTM, with the choices of TFLite's quantizer
  (tensorflow/lite/tools/optimize/operator_property.cc, LSTM without layer norm,
  projection or peephole): input and output int8 asymmetric from calibration; the
  output state (input 18) shares the output's parameters (restrict_scale {18, 0});
  the 8 gate weights int8 symmetric per tensor; gate bias k int32 with scale
  input_scale * input-to-gate-k weight scale; the cell state (input 19) int16
  symmetric with a power-of-two scale 2^ceil(log2 max|c|) / 2^15 (max|c| calibrated
  over every step of every calibration sequence; clamped to the 2^-15 .. 2^-9 the
  kernel handles); 5 intermediate tensors, the 4 gate ones float32 and empty (without
  layer norm the gates are Q3.12 and their parameters are ignored), the hidden state
  one int8 with the output's parameters (without projection the kernel writes the
  hidden state straight into the output state).

A Keras 3 LSTM layer, which TensorFlow exports as a WHILE loop, is first folded into
one float UNIDIRECTIONAL_SEQUENCE_LSTM (microdl.quant.rewrite_lstm.fuse_keras_lstm;
only that exact loop: any other WHILE op is refused, with what did not match).

16x8 mode (``activations="int16"``, TFLite's int16-activation / int8-weight spec, as
TensorFlow's EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 writes it):
activations int16 symmetric, scale = float32(max(|lo|, |hi|) / 32767) of the
calibrated range, zero point 0; weights as above; CONV_2D / FULLY_CONNECTED /
TRANSPOSE_CONV bias int64 with scale input_scale * weight_scale; constant operands of
ADD / SUB / MUL int16 symmetric; ADD / SUB written with ``pot_scale_int16 = false``
(LiteRT's general int16 path); op versions of tensorflow/lite/tools/versioning
(``INT16_VERSION``).  Ops without an int16 kernel in microdl stay int8 (quantize_mixed).

Tensor indices and names of the float graph are kept, so every float tensor has its
int8 counterpart at the same index (per-layer error reports rely on it); float32 or
uint8 model interfaces add QUANTIZE / DEQUANTIZE ops and tensors at the end.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.fixedpoint import round_half_away
from microdl.core.graph import Graph, Op, Quantization, Tensor
from microdl.floatexec import ops as F
from microdl.quant.observers import choose_qparams, make_observer
from microdl.quant.rewrite_lstm import fuse_keras_lstm, why_not_keras_lstm

FLOAT32 = np.dtype(np.float32)

# Ops whose int8 output shares the input's quantization (no requantization inside).
SHARED_PARAMS = {"AVERAGE_POOL_2D", "MAX_POOL_2D", "RESHAPE", "SQUEEZE", "EXPAND_DIMS",
                 "TRANSPOSE", "STRIDED_SLICE", "PAD", "PADV2", "CONCATENATION", "PACK"}
# Which inputs of a SHARED_PARAMS op carry data (the rest are int32 shapes/axes).
_DATA_INPUTS = {"CONCATENATION": None, "PACK": None, "PADV2": (0, 2)}
# Fixed output (scale, zero point) of the int8 spec.
FIXED_OUTPUT = {"SOFTMAX": (1.0 / 256.0, -128), "LOGISTIC": (1.0 / 256.0, -128),
                "TANH": (1.0 / 128.0, 0)}
# Weighted ops: name -> (weights input, bias input, per-channel axis of the weights).
WEIGHTED = {"CONV_2D": (1, 2, 0), "DEPTHWISE_CONV_2D": (1, 2, 3),
            "FULLY_CONNECTED": (1, 2, 0), "TRANSPOSE_CONV": (1, 3, 0)}
# Op version written for the int8 form (what TensorFlow's converter emits).
INT8_VERSION = {
    "CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 4, "TRANSPOSE_CONV": 3,
    "AVERAGE_POOL_2D": 2, "MAX_POOL_2D": 2, "SOFTMAX": 2, "LOGISTIC": 2, "TANH": 2,
    "ADD": 2, "SUB": 2, "MUL": 2, "MEAN": 2, "CONCATENATION": 2, "PAD": 2, "PADV2": 2,
    "TRANSPOSE": 2, "STRIDED_SLICE": 2, "PACK": 2, "RELU": 2, "RELU6": 2,
    "LEAKY_RELU": 2, "HARD_SWISH": 1, "RESHAPE": 1, "SQUEEZE": 1, "EXPAND_DIMS": 1,
    "SHAPE": 1, "QUANTIZE": 1, "DEQUANTIZE": 2,
}
IO_TYPES = {"int8": np.dtype(np.int8), "uint8": np.dtype(np.uint8),
            "int16": np.dtype(np.int16), "float32": FLOAT32}
IO_TYPES_8 = ("int8", "uint8", "float32")
IO_TYPES_16 = ("int16", "float32")
ACTIVATION_TYPES = ("int8", "int16")

# 16x8 (TFLite's int16 activations / int8 weights spec): fixed outputs (LiteRT's
# softmax.cc / activations.cc check scale 1/32768, zero point 0 for int16 output).
FIXED_OUTPUT_16 = {"SOFTMAX": (1.0 / 32768.0, 0), "LOGISTIC": (1.0 / 32768.0, 0),
                   "TANH": (1.0 / 32768.0, 0)}
# Ops the converter writes in 16x8 form: those with an int16 kernel in both LiteRT's
# reference kernels and microdl.  Others (SOFTMAX, LOGISTIC, TANH, DEPTHWISE_CONV_2D,
# HARD_SWISH, UNIDIRECTIONAL_SEQUENCE_LSTM: no int16 kernel in microdl yet) stay int8
# in an int16 model, with conversions around them (quantize_mixed).
INT16_OPS = {"CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV",
             "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD", "SUB", "MUL", "MEAN",
             "CONCATENATION", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE",
             "STRIDED_SLICE", "PAD", "PADV2", "PACK", "RELU", "RELU6", "LEAKY_RELU"}
# Op versions of the 16x8 forms (tensorflow/lite/tools/versioning/op_version.cc;
# CONV_2D 3 as in TFLite Micro's 16x8 test models, FULLY_CONNECTED 7 int16 kernel).
INT16_VERSION = {
    "CONV_2D": 3, "DEPTHWISE_CONV_2D": 5, "FULLY_CONNECTED": 7, "TRANSPOSE_CONV": 3,
    "AVERAGE_POOL_2D": 3, "MAX_POOL_2D": 3, "SOFTMAX": 3, "LOGISTIC": 3, "TANH": 3,
    "ADD": 3, "SUB": 5, "MUL": 4, "MEAN": 3, "CONCATENATION": 3, "PAD": 3, "PADV2": 3,
    "TRANSPOSE": 5, "PACK": 3, "RELU": 3, "RELU6": 3, "LEAKY_RELU": 2, "QUANTIZE": 2,
    "DEQUANTIZE": 3,
}


class QuantizationError(ModelError):
    """The float model cannot be quantized as asked (names the op or tensor)."""


@dataclass
class ConvertResult:
    """What quantize_graph produced.

    graph: the quantized Graph; ranges: {tensor index: (lo, hi)} calibrated float range;
    qparams: {tensor index: (scale, zero_point)} of every int8 / int16 activation;
    samples: number of calibration samples seen; int16_ops: indices of the (float
    graph's) ops that run with int16 activations."""

    graph: Graph
    ranges: dict = field(default_factory=dict)
    qparams: dict = field(default_factory=dict)
    samples: int = 0
    int16_ops: list = field(default_factory=list)


def _data_inputs(op):
    sel = _DATA_INPUTS.get(op.name, (0,))
    if sel is None:
        return [t for t in op.inputs if t >= 0]
    return [op.inputs[k] for k in sel if k < len(op.inputs) and op.inputs[k] >= 0]


class _Groups:
    """Union-find over tensor indices that must share quantization parameters."""

    def __init__(self):
        self.parent = {}

    def find(self, t):
        self.parent.setdefault(t, t)
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def calibrate(graph: Graph, samples, method="minmax", percentile=99.99,
              batch_size=32, progress=True):
    """Run the float reference over calibration data and observe every float
    activation tensor.

    Args:
        graph: float Graph.
        samples: list (one per graph input) of float32 arrays of shape (N, *input
            shape without its batch dim of 1) — N calibration samples each.
        method: "minmax", "percentile", "mse" or "entropy" (microdl.quant.observers).
    Returns:
        {tensor index: (lo, hi)} clipping ranges in real units.
    """
    from microdl.floatexec.executor import FloatExecutor

    ex = FloatExecutor(graph)
    float_tensors = [t.index for t in graph.tensors
                     if t.data is None and t.dtype == FLOAT32]
    observers = {t: make_observer(method, percentile=percentile) for t in float_tensors}
    lstms = [op for op in graph.ops if op.name == LSTM]
    for op in lstms:  # the cell state is observed by max |c| (its scale is a power of 2)
        observers[op.inputs[19]] = make_observer("minmax")
    n = samples[0].shape[0]
    starts = range(0, n, batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc=f"calibrating ({method})", unit="batch",
                      total=(n + batch_size - 1) // batch_size)
    for s in starts:
        batch = [x[s:s + batch_size] for x in samples]
        values = ex.run_all(batch)
        for op in lstms:
            values[op.inputs[19]] = lstm_cell_states(graph, op, values[op.inputs[0]])
        for t, obs in observers.items():
            if t in values:
                obs.update(values[t])
    return {t: obs.range() for t, obs in observers.items() if obs.count > 0}


def lstm_cell_states(graph: Graph, op, x):
    """Cell states of every step, float32 [time, batch, n_cell], of the float
    UNIDIRECTIONAL_SEQUENCE_LSTM `op` on input sequences x (its input 0 layout, any
    batch; zero initial state)."""
    def get(k):
        return None if op.inputs[k] < 0 else graph.tensors[op.inputs[k]].data

    return F.unidirectional_sequence_lstm(
        x, [get(k) for k in range(1, 5)], [get(k) for k in range(5, 9)],
        [get(k) for k in range(12, 16)],
        time_major=bool(op.options.get("time_major", False)),
        cell_clip=float(op.options.get("cell_clip", 0.0) or 0.0), return_cells=True)[3]


def quantize_graph(graph: Graph, samples, method="minmax", percentile=99.99,
                   per_channel=True, input_type=None, output_type=None,
                   batch_size=32, progress=True, activations="int8",
                   ranges=None) -> ConvertResult:
    """Quantize a float Graph to the TFLite int8 spec, or to its 16x8 form.

    Args:
        graph: float32 Graph (from microdl.tflite.read_model or a microdl-trained
            model's to_graph()).
        samples: calibration data, a list with one float32 array per graph input of
            shape (N, *input_shape[1:]).
        method: calibration observer ("minmax", "percentile", "mse", "entropy").
        per_channel: per-output-channel weight scales for convolutions (False: one
            scale per tensor, for accelerators that need it).
        input_type / output_type: model interface: "int8" (default), "uint8" or
            "float32" with int8 activations; "int16" (default) or "float32" with
            int16 activations.
        activations: "int8" (the int8 spec) or "int16": TFLite's 16x8 spec (module
            docstring) for every op in ``INT16_OPS``; the other ops stay int8, with
            conversions around them (``quantize_mixed``; ``int16_ops`` of the result
            lists the 16x8 ones).
        ranges: {tensor index: (lo, hi)} from an earlier ``calibrate`` of this
            graph, to skip calibration (samples are then only counted).
    Returns:
        ConvertResult with the quantized Graph (of the graph after fuse_keras_lstm,
        which renumbers tensors when it folds a Keras 3 LSTM loop; call it first to
        keep the float / quantized tensor correspondence).
    Raises:
        QuantizationError: an op microdl cannot quantize (named; a WHILE op other
            than a Keras 3 LSTM loop, with why), or tensors tied to two different
            fixed quantizations.
        ValueError: bad arguments.
    """
    if activations not in ACTIVATION_TYPES:
        raise ValueError(f"activations must be one of {sorted(ACTIVATION_TYPES)}, got "
                         f"{activations!r}")
    default = "int16" if activations == "int16" else "int8"
    input_type = default if input_type is None else input_type
    output_type = default if output_type is None else output_type
    allowed = IO_TYPES_16 if activations == "int16" else IO_TYPES_8
    for name, v in (("input_type", input_type), ("output_type", output_type)):
        if v not in allowed:
            raise ValueError(f"{name} must be one of {sorted(allowed)} with {activations} "
                             f"activations, got {v!r}")
    graph = dequantize_hybrid_weights(fuse_keras_lstm(graph))
    _check_quantizable(graph)
    if activations == "int16":
        chosen = [op.index for op in graph.ops if op.name in INT16_OPS]
        return quantize_mixed(graph, samples, chosen, method, percentile, per_channel,
                              input_type, output_type, batch_size, progress, ranges)
    if ranges is None:
        ranges = calibrate(graph, samples, method, percentile, batch_size, progress)
    g, qparams = _quantize_core(graph, ranges, per_channel, activations)
    _wrap_interface(g, input_type, output_type)
    return ConvertResult(graph=g, ranges=ranges, qparams=qparams,
                         samples=int(samples[0].shape[0]))


def quantize_mixed(graph: Graph, samples, int16_ops, method="minmax", percentile=99.99,
                   per_channel=True, input_type="int8", output_type="int8",
                   batch_size=32, progress=True, ranges=None) -> ConvertResult:
    """Mixed int8 / 16x8 quantization: the ops whose indices are in `int16_ops` run
    with int16 activations (TFLite's 16x8 spec, as ``activations="int16"``), every
    other op as in the int8 spec.  Each activation tensor keeps the dtype of the op
    that writes it; where a reader runs at the other width, a converted copy is
    added before the reader (new tensors and ops at the end of the lists, so float
    tensor indices are kept):

    - int16 -> int8: QUANTIZE (integer requantization, LiteRT quantize.cc);
    - int8 -> int16: DEQUANTIZE to float32 then QUANTIZE to int16 (LiteRT's
      QUANTIZE refuses int8 -> int16; TFLite Micro would take it directly).

    The int8 and int16 parameters of a tensor come from the same calibration range
    (int8: asymmetric over 256 levels; int16: symmetric, max|range| / 32767).
    input_type / output_type: "int8", "uint8", "int16" or "float32"; an int16
    interface tensor is the int16 form of the graph input / output (a conversion is
    added when its first reader / writer runs int8), "int8" / "uint8" the int8 form.

    Args / Raises: as ``quantize_graph``; QuantizationError also for an op index out
    of range or an op in `int16_ops` without a 16x8 form (``INT16_OPS``).
    Returns:
        ConvertResult; ``int16_ops`` lists the op indices (of the float graph) that
        run int16, ``qparams`` holds each tensor's parameters in its stored dtype.
    """
    for name, v in (("input_type", input_type), ("output_type", output_type)):
        if v not in IO_TYPES:
            raise ValueError(f"{name} must be one of {sorted(IO_TYPES)}, got {v!r}")
    graph = dequantize_hybrid_weights(fuse_keras_lstm(graph))
    _check_quantizable(graph)
    chosen = set()
    for k in int16_ops:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not \
                0 <= int(k) < len(graph.ops):
            raise QuantizationError(f"int16_ops: {k!r} is not an op index of the graph "
                                    f"(0..{len(graph.ops) - 1})")
        chosen.add(int(k))
    _check_16x8(graph, sorted(chosen))
    if ranges is None:
        ranges = calibrate(graph, samples, method, percentile, batch_size, progress)
    g8, q8 = _quantize_core(graph, ranges, per_channel, "int8")
    g16, q16 = _quantize_core(graph, ranges, per_channel, "int16", chosen)
    g = _compose(g8, g16, chosen, input_type, output_type)
    _wrap_interface(g, input_type, output_type)
    qparams = {}
    for t in q8:
        qparams[t] = q16[t] if g.tensors[t].dtype == np.dtype(np.int16) else q8[t]
    return ConvertResult(graph=g, ranges=ranges, qparams=qparams,
                         samples=int(samples[0].shape[0]), int16_ops=sorted(chosen))


def _compose(g8, g16, chosen, input_type, output_type):
    """One graph from the int8 and the int16 quantizations of the same float graph
    (same tensor indices and op order): ops in `chosen` from g16, the rest from g8,
    converted copies where a tensor is read at the other width (quantize_mixed)."""
    g = copy.deepcopy(g8)
    n_float = len(g16.tensors)

    def is_act(t):
        x = g8.tensors[t]
        return (t < n_float and x.data is None and not x.is_variable
                and x.dtype in (np.dtype(np.int8), np.dtype(np.int16)))

    width = {}
    for op in g.ops:
        for t in op.outputs:
            if is_act(t):
                width[t] = 16 if op.index in chosen else 8
    readers = {}
    for op in g.ops:
        for t in op.inputs:
            if t >= 0 and is_act(t):
                readers.setdefault(t, set()).add(16 if op.index in chosen else 8)
    for t in g.inputs:
        if input_type == "int16":
            width[t] = 16
        elif input_type in ("int8", "uint8"):
            width[t] = 8
        else:
            width[t] = 16 if readers.get(t) == {16} else 8
    for t, w in width.items():
        if w == 16:
            g.tensors[t] = copy.deepcopy(g16.tensors[t])

    const_users8 = {t for op in g8.ops if op.index not in chosen for t in op.inputs
                    if t >= 0 and g8.tensors[t].data is not None}
    ops = []
    converted = {}

    def convert(t, want):
        if t in converted:
            return converted[t]
        src = g16 if want == 16 else g8
        new = copy.deepcopy(src.tensors[t])
        new.index, new.name = len(g.tensors), f"{src.tensors[t].name}/{new.dtype.name}"
        g.tensors.append(new)
        if want == 8:
            ops.append(Op(index=-1, name="QUANTIZE", version=1, inputs=[t],
                          outputs=[new.index]))
        else:
            f = Tensor(index=len(g.tensors), name=f"{src.tensors[t].name}/float32",
                       dtype=FLOAT32, shape=new.shape, shape_signature=new.shape_signature)
            g.tensors.append(f)
            ops.append(Op(index=-1, name="DEQUANTIZE", version=INT8_VERSION["DEQUANTIZE"],
                          inputs=[t], outputs=[f.index]))
            ops.append(Op(index=-1, name="QUANTIZE", version=INT16_VERSION["QUANTIZE"],
                          inputs=[f.index], outputs=[new.index]))
        converted[t] = new.index
        return new.index

    for op in g.ops:
        want = 16 if op.index in chosen else 8
        if want == 16:
            op = copy.deepcopy(g16.ops[op.index])
            for j, t in enumerate(op.inputs):
                if t < 0 or g16.tensors[t].data is None:
                    continue
                c = copy.deepcopy(g16.tensors[t])
                if t in const_users8:
                    c.index = len(g.tensors)
                    g.tensors.append(c)
                    op.inputs[j] = c.index
                else:
                    g.tensors[t] = c
        for j, t in enumerate(op.inputs):
            if t >= 0 and is_act(t) and width[t] != want:
                op.inputs[j] = convert(t, want)
        ops.append(op)
    outputs = []
    for t in g.outputs:
        want = {"int16": 16, "int8": 8, "uint8": 8}.get(output_type, width.get(t, 8))
        outputs.append(convert(t, want) if is_act(t) and width.get(t, 8) != want else t)
    if outputs != g.outputs:  # the converted copy takes the output's place and name
        for old, new in zip(g.outputs, outputs):
            if old != new:
                g.tensors[new].name, g.tensors[old].name = (g.tensors[old].name,
                                                            g.tensors[new].name)
    g.outputs = outputs
    g.ops = ops
    for i, op in enumerate(g.ops):
        op.index = i
    return g


def _quantize_core(graph, ranges, per_channel, activations, int16_ops=None):
    """The quantized copy of `graph` (no interface ops) and its activation qparams.
    int16 activations: ops not in `int16_ops` (op indices; None = all) that have no
    16x8 form keep their float weights (the mixed mode discards them)."""
    act = np.dtype(np.int16) if activations == "int16" else np.dtype(np.int8)
    fixed_output = FIXED_OUTPUT_16 if act == np.dtype(np.int16) else FIXED_OUTPUT
    g = copy.deepcopy(graph)

    groups = _Groups()
    for op in g.ops:
        if op.name in SHARED_PARAMS:
            members = _data_inputs(op) + list(op.outputs)
            members = [t for t in members if g.tensors[t].dtype == FLOAT32]
            for t in members[1:]:
                groups.union(members[0], t)
        elif op.name == LSTM:
            groups.union(op.outputs[0], op.inputs[18])
    cell_states = {op.inputs[19] for op in g.ops if op.name == LSTM}

    # Group ranges: union of members' ranges; fixed parameters win.
    group_range, group_fixed = {}, {}
    for t, (lo, hi) in ranges.items():
        r = groups.find(t)
        glo, ghi = group_range.get(r, (lo, hi))
        group_range[r] = (min(glo, lo), max(ghi, hi))
    for op in g.ops:
        if op.name in fixed_output:
            r = groups.find(op.outputs[0])
            fixed = fixed_output[op.name]
            if group_fixed.get(r, fixed) != fixed:
                raise QuantizationError(f"op {op.index} ({op.name}): output tied to two "
                                        f"different fixed quantizations")
            group_fixed[r] = fixed

    qparams = {}
    for t in g.tensors:
        if t.data is not None or t.dtype != FLOAT32 or t.index in cell_states:
            continue
        r = groups.find(t.index)
        if r in group_fixed:
            qparams[t.index] = group_fixed[r]
        elif r in group_range:
            qparams[t.index] = choose_qparams(*group_range[r], dtype=act)
        else:
            raise QuantizationError(f"tensor {t.index} ({t.name!r}) was never computed "
                                    f"during calibration; is it used by the graph?")
    for t, (scale, zp) in qparams.items():
        tensor = g.tensors[t]
        tensor.dtype = act
        tensor.quant = Quantization(np.array([scale], np.float32),
                                    np.array([zp], np.int64), 0)

    is16 = act == np.dtype(np.int16)
    versions = dict(INT8_VERSION, **INT16_VERSION) if is16 else INT8_VERSION
    for op in g.ops:
        if is16 and op.name not in INT16_OPS:
            if int16_ops is None or op.index in int16_ops:
                raise QuantizationError(f"op {op.index} ({op.name}) has no 16x8 form")
            continue
        if op.name == LSTM:
            _quantize_lstm(g, op, ranges)
        elif op.name in WEIGHTED:
            _quantize_weights(g, op, per_channel, np.int64 if is16 else np.int32)
        elif op.name in ("ADD", "SUB", "MUL", "CONCATENATION", "PACK", "PADV2"):
            _quantize_constant_inputs(g, op, groups, qparams, act)
        if is16 and op.name == "FULLY_CONNECTED" and "_options_type" not in op.options:
            # LiteRT's 16x8 FULLY_CONNECTED fails to prepare without an options table
            # (quantized_bias_type check); write the schema defaults
            op.options = dict(dict(fused_activation_function=0, weights_format=0,
                                   keep_num_dims=False, asymmetric_quantize_inputs=False,
                                   quantized_bias_type=0), **op.options)
        if is16 and op.name in ("ADD", "SUB"):
            # LiteRT's general int16 path; pot_scale_int16 (default true) is the
            # power-of-two-scale path of TFLite's LSTM
            op.options["pot_scale_int16"] = False
        op.version = versions.get(op.name, op.version)
    return g, qparams


def select_int16_ops(graph: Graph, report, k):
    """The op indices of the `k` ops with the lowest output SQNR in an int8 per-layer
    report (``microdl.evaluation.layer_report`` of the int8 model quantized from
    `graph`: rows with "index" (tensor) and "sqnr_db"), among ops with a 16x8 form
    (``INT16_OPS``); ties keep execution order.  Fewer than k if fewer qualify.

    Raises:
        ValueError: k not an int >= 0."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"k must be an int >= 0, got {k!r}")
    producer = {t: op for op in graph.ops for t in op.outputs}
    seen, rows = set(), []
    for pos, row in enumerate(report["tensors"]):
        op = producer.get(row["index"])
        if op is None or op.name not in INT16_OPS or op.index in seen:
            continue
        seen.add(op.index)
        rows.append((float(row["sqnr_db"]), pos, op.index))
    return sorted(i for _, _, i in sorted(rows)[:int(k)])


def _check_16x8(graph, op_indices):
    """Ops (by index) that must have a 16x8 form."""
    for k in op_indices:
        op = graph.ops[k]
        if op.name == LSTM:
            raise QuantizationError(
                f"op {op.index} ({op.name}): the 16x8 integer LSTM is not supported by "
                f"the converter (use int8 activations, or --mixed-int16 for the other "
                f"layers)")
        if op.name not in INT16_OPS:
            raise QuantizationError(f"op {op.index} ({op.name}) has no 16x8 (int16 "
                                    f"activation) form in microdl's converter; supported: "
                                    f"{', '.join(sorted(INT16_OPS))}")


def dequantize_hybrid_weights(graph: Graph) -> Graph:
    """A copy of `graph` whose int8 weights (TFLite "hybrid" / dynamic-range models,
    such as kws_ref_model_float32.tflite) are dequantized to float32,
    real = scale[c] * (q - zero_point[c]), so the model is a plain float model; the
    graph itself is returned when it has none."""
    targets = []
    for op in graph.ops:
        if op.name in WEIGHTED:
            wi = WEIGHTED[op.name][0]
            if wi < len(op.inputs) and op.inputs[wi] >= 0:
                t = graph.tensors[op.inputs[wi]]
                if t.data is not None and t.dtype == np.dtype(np.int8) and t.quant:
                    targets.append(t.index)
    if not targets:
        return graph
    g = copy.deepcopy(graph)
    for i in targets:
        t = g.tensors[i]
        q = t.quant
        shape = [1] * t.data.ndim
        if q.scales.size > 1:
            shape[q.quantized_dimension] = q.scales.size
        real = (t.data.astype(np.float32) - q.zero_points.reshape(shape).astype(np.float32)) \
            * q.scales.reshape(shape).astype(np.float32)
        real.flags.writeable = False
        t.data, t.dtype, t.quant = real, FLOAT32, None
    return g


# Dynamic-range ("weights-only") conversion: ops with hybrid kernels, and the op
# version TensorFlow's converter writes for each hybrid form (op_version.cc).
HYBRID_OPS = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")
# TensorFlow leaves smaller weight tensors float (minimum_elements_for_weights).
TF_MIN_ELEMENTS = 1024


@dataclass
class WeightsOnlyResult:
    """What quantize_weights_only produced.

    graph: the dynamic-range Graph; layers: one dict per quantized weight tensor (op
    index and name, tensor index and name, shape, number of scales, weight_sqnr_db:
    SQNR of the dequantized int8 weights against the float ones); skipped: one dict
    per weighted op left float (op index, name, reason)."""

    graph: Graph
    layers: list = field(default_factory=list)
    skipped: list = field(default_factory=list)


def quantize_weights_only(graph: Graph, per_channel=True, min_elements=TF_MIN_ELEMENTS,
                          asymmetric_inputs=True) -> WeightsOnlyResult:
    """Dynamic-range quantization, as ``tf.lite.Optimize.DEFAULT`` without a
    representative dataset: the weights of FULLY_CONNECTED, CONV_2D and
    DEPTHWISE_CONV_2D become int8, symmetric, narrow range ([-127, 127], zero point 0,
    scale = max|w| / 127, 1.0 for an all-zero channel, values std::round(w / scale)),
    per output channel (CONV_2D / FULLY_CONNECTED axis 0, DEPTHWISE_CONV_2D axis 3)
    unless per_channel is False; bias and activations stay float32, so the model takes
    and returns float32 and LiteRT (or microdl) runs these ops on their hybrid kernels.
    FULLY_CONNECTED gets ``asymmetric_quantize_inputs`` (TensorFlow sets it).  Weight
    tensors of fewer than min_elements values stay float (TensorFlow's default 1024).
    Op versions are the ones TensorFlow writes for each hybrid form.  Tensor indices
    and names are kept.  No calibration data is needed.

    Raises:
        QuantizationError: the graph is not a float model (names the tensor) or a
            weight tensor of a hybrid op is not constant.
    """
    graph = dequantize_hybrid_weights(graph)
    for t in graph.tensors:
        if t.dtype not in (FLOAT32, np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.bool_)):
            raise QuantizationError(f"cannot quantize: tensor {t.index} ({t.name!r}) is "
                                    f"{'unknown' if t.dtype is None else t.dtype.name}, "
                                    f"expected a float model")
    g = copy.deepcopy(graph)
    result = WeightsOnlyResult(graph=g)
    for op in g.ops:
        if op.name not in HYBRID_OPS:
            continue
        wi, bi, axis = WEIGHTED[op.name]
        w_t = g.tensors[op.inputs[wi]]
        if w_t.data is None:
            raise QuantizationError(f"op {op.index} ({op.name}): weights must be constant")
        if w_t.data.size < min_elements:
            result.skipped.append(dict(op=op.index, name=op.name, reason=(
                f"{w_t.data.size} weights < {min_elements}")))
            continue
        w = np.asarray(w_t.data, np.float32)
        n = w.shape[axis]
        if per_channel:
            amax = np.abs(np.moveaxis(w, axis, 0).reshape(n, -1)).max(axis=1)
        else:
            amax = np.array([np.abs(w).max()])
        scales = np.where(amax > 0, amax.astype(np.float64) / 127.0, 1.0).astype(np.float32)
        shape = [1] * w.ndim
        if per_channel:
            shape[axis] = n
        q = np.clip(round_half_away(w.astype(np.float64) /
                                    scales.reshape(shape).astype(np.float64)), -127, 127)
        q = q.astype(np.int8)
        deq = q.astype(np.float64) * scales.reshape(shape)
        err = float(np.sum((w - deq) ** 2))
        sqnr = float("inf") if err == 0 else 10 * np.log10(float(np.sum(w.astype(np.float64) ** 2)) / err)
        _set_const(w_t, q, scales, axis if per_channel else 0)
        has_bias = bi < len(op.inputs) and op.inputs[bi] >= 0
        pc = per_channel and n > 1
        if op.name == "FULLY_CONNECTED":
            op.options["asymmetric_quantize_inputs"] = bool(asymmetric_inputs)
            if pc:
                op.version = 12
            elif not has_bias and len(op.inputs) == 2:
                op.version = 6
            elif op.options.get("keep_num_dims"):
                op.version = 5
            else:
                op.version = 9 if asymmetric_inputs else 3
        elif op.name == "CONV_2D":
            grouped = g.tensors[op.inputs[0]].shape[-1] != w.shape[3]
            op.version = 6 if grouped else 5 if pc else 2
        else:
            op.version = 6 if pc else 4
        result.layers.append(dict(op=op.index, name=op.name, tensor=w_t.index,
                                  tensor_name=w_t.name, shape=tuple(w.shape),
                                  scales=int(scales.size), weight_sqnr_db=sqnr))
    return result


LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"
# Cell-state scales the integer kernel handles: 2^-15 .. 2^-9 (|c| < 1 .. 64).
CELL_LOG2_RANGE = (-15, -9)


def _check_lstm(graph, op):
    """The float LSTM forms the converter quantizes (see the module docstring)."""
    def present(k):
        return k < len(op.inputs) and op.inputs[k] >= 0

    where = f"op {op.index} ({op.name})"
    if len(op.inputs) not in (20, 24):
        raise QuantizationError(f"{where}: {len(op.inputs)} inputs, expected 20 or 24")
    extra = [k for k in (9, 10, 11, 16, 17, 20, 21, 22, 23) if present(k)]
    if extra:
        raise QuantizationError(f"{where}: peephole / projection / layer norm inputs "
                                f"{extra} are not supported by the converter")
    if not all(present(k) for k in (1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 15)):
        raise QuantizationError(f"{where}: CIFG (no input gate) is not supported by the "
                                f"converter")
    for k in list(range(1, 9)) + list(range(12, 16)):
        if graph.tensors[op.inputs[k]].data is None:
            raise QuantizationError(f"{where}: input {k} (weights / bias) must be constant")
    for k in (18, 19):
        t = graph.tensors[op.inputs[k]]
        if not t.is_variable or t.data is not None:
            raise QuantizationError(f"{where}: input {k} must be a variable tensor "
                                    f"without an initial value")
    if int(op.options.get("fused_activation_function", 4)) != 4:
        raise QuantizationError(f"{where}: the integer LSTM computes TANH only")
    if op.intermediates:
        raise QuantizationError(f"{where}: already has intermediate tensors")


def _quantize_lstm(g, op, ranges):
    """Weights, biases, cell state and intermediates of one LSTM (module docstring)."""
    x = g.tensors[op.inputs[0]]
    y = g.tensors[op.outputs[0]]
    in_scale = float(x.quant.scales[0])
    w_scales = {}
    for k in range(1, 9):
        t = g.tensors[op.inputs[k]]
        w = np.asarray(t.data, np.float64)
        amax = float(np.abs(w).max())
        scale = float(np.float32(amax / 127.0)) if amax > 0 else 1.0
        q = np.clip(round_half_away(w / scale), -127, 127).astype(np.int8)
        _set_const(t, q, np.array([scale], np.float32), 0)
        w_scales[k] = float(t.quant.scales[0])
    for gate in range(4):
        t = g.tensors[op.inputs[12 + gate]]
        b_scale = np.float32(np.float32(in_scale) * np.float32(w_scales[1 + gate]))
        qb = np.clip(round_half_away(np.asarray(t.data, np.float64) / float(b_scale)),
                     -(2**31 - 1), 2**31 - 1)
        _set_const(t, qb.astype(np.int32), np.array([b_scale], np.float32), 0)
    cell = g.tensors[op.inputs[19]]
    lo, hi = ranges.get(cell.index, (0.0, 0.0))
    amax = max(abs(lo), abs(hi))
    log2 = math.ceil(math.log2(amax)) - 15 if amax > 0 else CELL_LOG2_RANGE[0]
    log2 = min(max(log2, CELL_LOG2_RANGE[0]), CELL_LOG2_RANGE[1])
    cell.dtype = np.dtype(np.int16)
    cell.quant = Quantization(np.array([2.0 ** log2], np.float32), np.zeros(1, np.int64), 0)
    mids = []
    for name in ("input_to_input", "input_to_forget", "input_to_cell", "input_to_output"):
        mids.append(_new_tensor(g, f"{y.name}/{name}_intermediate", FLOAT32, None))
    mids.append(_new_tensor(g, f"{y.name}/effective_hidden_scale_intermediate",
                            np.dtype(np.int8),
                            Quantization(y.quant.scales.copy(), y.quant.zero_points.copy(),
                                         0)))
    op.intermediates = mids


def _new_tensor(g, name, dtype, quant):
    t = Tensor(index=len(g.tensors), name=name, dtype=dtype, shape=(0,),
               shape_signature=(0,), quant=quant)
    g.tensors.append(t)
    return t.index


def _check_quantizable(graph):
    from microdl.runtime.ops import PREPARERS, load_all

    load_all()
    bad = []
    for op in graph.ops:
        if op.name == "WHILE":
            bad.append(f"op {op.index} (WHILE): only the WHILE loop of a Keras 3 LSTM "
                       f"layer is supported, and this one differs ("
                       f"{why_not_keras_lstm(graph, op)})")
            continue
        if op.name not in PREPARERS or op.name in ("QUANTIZE", "DEQUANTIZE"):
            bad.append(f"op {op.index} ({op.name})")
        if op.name == LSTM:
            _check_lstm(graph, op)
        for t in op.inputs + op.outputs:
            if t < 0:
                continue
            dt = graph.tensors[t].dtype
            if dt not in (FLOAT32, np.dtype(np.int32), np.dtype(np.int64)):
                bad.append(f"op {op.index} ({op.name}): tensor {t} is "
                           f"{'unknown' if dt is None else dt.name}, expected a float "
                           f"model")
                break
    if bad:
        raise QuantizationError("cannot quantize: " + "; ".join(bad))


def _quantize_weights(g, op, per_channel, bias_dtype=np.int32):
    wi, bi, axis = WEIGHTED[op.name]
    w_t = g.tensors[op.inputs[wi]]
    if w_t.data is None:
        raise QuantizationError(f"op {op.index} ({op.name}): weights must be constant")
    w = np.asarray(w_t.data, np.float32)
    in_t = g.tensors[op.inputs[2 if op.name == "TRANSPOSE_CONV" else 0]]
    in_scale = float(in_t.quant.scales[0])
    channelwise = per_channel and op.name != "FULLY_CONNECTED"
    n = w.shape[axis]
    if channelwise:
        moved = np.moveaxis(w, axis, 0).reshape(n, -1)
        amax = np.abs(moved).max(axis=1)
    else:
        amax = np.full(n, np.abs(w).max())
    scales = (np.maximum(amax, 1e-30) / 127.0).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = n
    q = np.clip(np.round(w / scales.reshape(shape)), -127, 127).astype(np.int8)
    _set_const(w_t, q, scales if channelwise else scales[:1], axis if channelwise else 0)
    if bi < len(op.inputs) and op.inputs[bi] >= 0:
        b_t = g.tensors[op.inputs[bi]]
        if b_t.data is None:
            raise QuantizationError(f"op {op.index} ({op.name}): bias must be constant")
        b_scales = (np.float32(in_scale) * scales).astype(np.float32)
        b = np.asarray(b_t.data, np.float64)
        lim = float(np.iinfo(bias_dtype).max)
        qb = np.clip(np.round(b / b_scales.astype(np.float64)), -lim, lim)
        _set_const(b_t, qb.astype(bias_dtype), b_scales if channelwise else b_scales[:1], 0)


def _quantize_constant_inputs(g, op, groups, qparams, act=np.dtype(np.int8)):
    """Constant float operands of elementwise ops get their own per-tensor int8
    (int16: symmetric, zero point 0) parameters from their values."""
    for t in op.inputs:
        if t < 0:
            continue
        tensor = g.tensors[t]
        if tensor.data is None or tensor.dtype != FLOAT32:
            continue
        v = np.asarray(tensor.data, np.float32)
        scale, zp = choose_qparams(min(float(v.min()), 0.0), max(float(v.max()), 0.0),
                                   dtype=act)
        info = np.iinfo(act)
        q = np.clip(np.round(v / scale) + zp, info.min, info.max).astype(act)
        _set_const(tensor, q, np.array([scale], np.float32), 0, zp)


def _set_const(t, q, scales, axis, zero_point=0):
    q = np.ascontiguousarray(q)
    q.flags.writeable = False
    t.data = q
    t.dtype = q.dtype
    t.quant = Quantization(np.asarray(scales, np.float32),
                           np.full(len(scales), zero_point, np.int64), axis)


def _wrap_interface(g, input_type, output_type):
    """Add QUANTIZE at float/uint8 inputs and DEQUANTIZE/QUANTIZE at outputs."""
    new_inputs = []
    for t in g.inputs:
        inner = g.tensors[t]
        if (inner.dtype not in (np.dtype(np.int8), np.dtype(np.int16))
                or IO_TYPES[input_type] == inner.dtype):
            new_inputs.append(t)
            continue
        outer = _interface_tensor(g, inner, input_type)
        # The op reading the outer tensor writes the inner one: rewire consumers by
        # swapping roles — the new tensor becomes the graph input.
        version = 2 if inner.dtype == np.dtype(np.int16) else INT8_VERSION["QUANTIZE"]
        g.ops.insert(0, Op(index=-1, name="QUANTIZE", version=version,
                           inputs=[outer.index], outputs=[inner.index]))
        new_inputs.append(outer.index)
    new_outputs = []
    for t in g.outputs:
        inner = g.tensors[t]
        if (inner.dtype not in (np.dtype(np.int8), np.dtype(np.int16))
                or IO_TYPES[output_type] == inner.dtype):
            new_outputs.append(t)
            continue
        outer = _interface_tensor(g, inner, output_type)
        name = "DEQUANTIZE" if output_type == "float32" else "QUANTIZE"
        versions = INT16_VERSION if inner.dtype == np.dtype(np.int16) else INT8_VERSION
        g.ops.append(Op(index=-1, name=name, version=versions[name],
                        inputs=[inner.index], outputs=[outer.index]))
        new_outputs.append(outer.index)
    g.inputs, g.outputs = new_inputs, new_outputs
    for i, op in enumerate(g.ops):
        op.index = i


def _interface_tensor(g, inner, kind):
    """A new graph-interface tensor beside int8 tensor `inner`, which keeps its
    index; the interface tensor takes the original name, the inner one gets a
    suffix."""
    dtype = IO_TYPES[kind]
    quant = None
    if kind == "uint8":
        quant = Quantization(inner.quant.scales.copy(), inner.quant.zero_points + 128, 0)
    outer = Tensor(index=len(g.tensors), name=inner.name, dtype=dtype, shape=inner.shape,
                   shape_signature=inner.shape_signature, quant=quant)
    inner.name = inner.name + "_" + inner.dtype.name
    g.tensors.append(outer)
    return outer
