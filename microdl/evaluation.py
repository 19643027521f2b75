"""microdl.evaluation: how microdl measures a model, each rule once.

Used by microdl.bench, microdl.pipeline and the CLIs (ARCHITECTURE.md, layer 6):

* Inputs and outputs: ``quantize`` float data into an input tensor as the TFLite spec
  and LiteRT's AffineQuantize do (q = clamp(round(x / scale) + zero_point), float32
  division, round half away from zero: microdl.floatexec.ops.quantize), ``dequantize``
  output values (real = scale * (q - zero_point), microdl.floatexec.ops.dequantize).
* Runs: ``run_int8`` (an allocated Interpreter over N samples, dequantized first
  output; a float32 model runs the same way, its float inputs and outputs passed
  through unchanged), ``run_float`` (the float Graph in microdl.floatexec.FloatExecutor).
* ``task``: "classifier" or "regression", one rule for every tool; ``precision``:
  "int8", "float32" or "hybrid", the arithmetic microdl runs a model in.
* Metrics: ``top1``, ``mse``, ``sqnr_db``.
* Float models: ``load_float_graph`` (.tflite or microdl-trained .npz),
  ``trained_graph``.
* The per-layer error report of an int8 model against its float graph:
  ``layer_report`` / ``format_report`` (microdl-convert prints it).
"""
from __future__ import annotations

import math
import os

import numpy as np
from tqdm.auto import tqdm

from microdl.core.errors import ModelError
from microdl.core.tables import text_table
from microdl.floatexec import ops as float_ops
from microdl.floatexec.executor import FloatExecutor
from microdl.runtime.interpreter import Interpreter
from microdl.runtime.ops import op_form
from microdl.tflite.reader import read_model
from microdl.train import SoftmaxCrossEntropy
from microdl.train import load as load_trained

CLASSIFIER, REGRESSION = "classifier", "regression"
INT8, FLOAT32, HYBRID = "int8", "float32", "hybrid"
FLOAT_BATCH = 64  # samples per FloatExecutor run in run_float (one progress step)
QUANTIZED_INPUT_DTYPES = (np.int8, np.uint8, np.int16)
# Ops that keep the order of their input's values (and so a SOFTMAX's argmax).
_ORDER_PRESERVING = ("RESHAPE", "SQUEEZE", "QUANTIZE", "DEQUANTIZE")


class EvaluationError(ValueError):
    """Data that cannot be fed to a model (unsupported input dtype, no scale); the
    message says what."""


# ----------------------------------------------------------- inputs and outputs
def quantize(x, detail):
    """Float values -> the values of the input tensor described by `detail` (an
    Interpreter input detail): int8 / uint8 / int16 per the TFLite spec, clamp(round(x
    / scale) + zero_point) with LiteRT's float32 division and round half away from
    zero (microdl.floatexec.ops.quantize); float32 inputs unchanged.

    Raises:
        EvaluationError: another dtype, or an integer input without a per-tensor scale.
    """
    dt = np.dtype(detail["dtype"])
    if dt == np.float32:
        return np.asarray(x, np.float32)
    if dt not in [np.dtype(t) for t in QUANTIZED_INPUT_DTYPES]:
        raise EvaluationError(f"input tensor {detail['name']!r} has dtype {dt}; float "
                              f"data can be fed to int8, uint8, int16 or float32 inputs")
    scale, zero_point = detail["quantization"]
    if scale == 0:
        raise EvaluationError(f"input tensor {detail['name']!r} ({dt}) has no "
                              f"per-tensor scale to quantize float data with")
    return float_ops.quantize(x, scale, zero_point, dt)


def dequantize(q, detail):
    """Tensor values -> float32 real values, scale * (q - zero_point) per tensor or per
    channel (microdl.floatexec.ops.dequantize); float values and unquantized integer
    tensors are returned as float32."""
    q = np.asarray(q)
    if q.dtype.kind == "f":
        return q.astype(np.float32)
    qp = detail.get("quantization_parameters")
    if qp is not None:
        scales, zero_points, axis = (qp["scales"], qp["zero_points"],
                                     qp["quantized_dimension"])
    else:
        scale, zp = detail["quantization"]
        scales, zero_points, axis = ([] if scale == 0 else [scale]), [zp], 0
    if len(scales) == 0:
        return q.astype(np.float32)
    return float_ops.dequantize(q, scales, zero_points, axis)


def set_inputs(interpreter, xs, details=None):
    """Quantize each float array of `xs` (one per model input, batch dimension
    included) into that input of an allocated Interpreter."""
    for d, x in zip(details or interpreter.get_input_details(), xs):
        interpreter.set_tensor(d["index"], quantize(x, d))


def progress_bar(iterable, total, desc, enabled=True, unit="sample", leave=False):
    """`iterable` wrapped in a tqdm bar when `enabled` (unchanged otherwise)."""
    if not enabled:
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave)


# ------------------------------------------------------------------------ runs
def run_int8(interpreter, x, progress=False, desc="int8"):
    """Run an allocated single-input Interpreter on every sample of x (float, N x
    input shape without batch), one invoke per sample, each from reset state
    (reset_all_variables() first: a recurrent model's samples are independent
    sequences, as in the float reference).  Returns the dequantized first output,
    float32 (N, *output shape without batch)."""
    inp = interpreter.get_input_details()[:1]
    out = interpreter.get_output_details()[0]
    ys = []
    for xi in progress_bar(x, len(x), desc, progress):
        interpreter.reset_all_variables()
        set_inputs(interpreter, [xi[None]], inp)
        interpreter.invoke()
        ys.append(dequantize(interpreter.get_tensor(out["index"]), out))
    return np.concatenate(ys)


def run_float(graph, x, progress=False, desc="float", batch=FLOAT_BATCH):
    """Run a float Graph (FloatExecutor) on x in batches of `batch` samples; returns
    the first output, float32 (N, *output shape without batch)."""
    ex = FloatExecutor(graph)
    starts = range(0, len(x), batch)
    outs = []
    for s in progress_bar(starts, len(starts), desc, progress):
        outs.append(np.asarray(ex.run([x[s:s + batch]])[0], np.float32))
    return np.concatenate(outs)


# ------------------------------------------------------------------------ task
def task(graph):
    """"classifier" or "regression", the one rule of every microdl tool: a model is a
    classifier when its first output has a last dimension > 1 and comes from SOFTMAX,
    directly or through ops that keep the values' order (RESHAPE, SQUEEZE, QUANTIZE,
    DEQUANTIZE); anything else (regressors, autoencoders, logits) is regression.
    Works on float and int8 graphs (microdl.core.graph.Graph)."""
    t = graph.outputs[0]
    shape = graph.tensors[t].shape
    if len(shape) == 0 or shape[-1] < 2:
        return REGRESSION
    producer = {o: op for op in graph.ops for o in op.outputs}
    seen = set()
    while t in producer and t not in seen:
        seen.add(t)
        op = producer[t]
        if op.name == "SOFTMAX":
            return CLASSIFIER
        if op.name not in _ORDER_PRESERVING or not op.inputs:
            break
        t = op.inputs[0]
    return REGRESSION


def precision(graph):
    """The arithmetic microdl runs the model's ops in, from their tensors' dtypes
    (microdl.runtime.ops.op_form): "float32" when every op is float (a float model),
    "hybrid" when some op has float activations with int8 weights (a dynamic-range
    model), else "int8" (quantized models, their QUANTIZE / DEQUANTIZE included)."""
    forms = {op_form(op, graph) for op in graph.ops}
    if HYBRID in forms:
        return HYBRID
    if forms == {FLOAT32}:
        return FLOAT32
    return INT8


# --------------------------------------------------------------------- metrics
def top1(outputs, labels):
    """Fraction (0..1) of samples whose largest output is at the label's index."""
    outputs = np.asarray(outputs).reshape(len(labels), -1)
    return float(np.mean(np.argmax(outputs, axis=1) == np.asarray(labels).reshape(-1)))


def mse(outputs, targets):
    """Mean squared error between outputs and targets (same number of values)."""
    a = np.asarray(outputs, np.float64).reshape(-1)
    b = np.asarray(targets, np.float64).reshape(-1)
    return float(np.mean((a - b) ** 2))


def sqnr_from_power(signal, noise):
    """10 log10(signal / noise) in dB from sums of squares; inf when noise == 0,
    -inf when the signal is 0."""
    if noise == 0:
        return math.inf
    if signal == 0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def sqnr_db(reference, test):
    """Signal-to-quantization-noise ratio in dB: 10 log10(sum ref^2 / sum (test -
    ref)^2); inf when test == reference, -inf when the reference is all zeros."""
    ref = np.asarray(reference, np.float64).reshape(-1)
    noise = np.asarray(test, np.float64).reshape(-1) - ref
    return sqnr_from_power(float(np.sum(ref ** 2)), float(np.sum(noise ** 2)))


def json_safe(v):
    """v with numpy scalars as Python numbers and infinities as the strings "inf" /
    "-inf" (NaN as None), for strict JSON."""
    if isinstance(v, dict):
        return {k: json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


# ---------------------------------------------------------------- float models
def trained_graph(model):
    """The float Graph of a microdl.train model; classifiers trained on logits
    (SoftmaxCrossEntropy) get their SOFTMAX output, as Keras exports."""
    return model.to_graph(with_softmax=isinstance(model.loss, SoftmaxCrossEntropy))


def load_float_graph(path):
    """Float Graph from a .tflite file or a microdl-trained model file (.npz).

    Raises:
        FileNotFoundError: no such file.
        ModelError: neither format, or an unreadable file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(8)
    if head[4:8] == b"TFL3":
        with open(path, "rb") as f:
            return read_model(f.read())
    if head[:2] == b"PK":  # a .npz (zip) written by microdl.train
        try:
            model = load_trained(path)
        except (ValueError, KeyError) as e:
            raise ModelError(f"{path}: not a readable microdl-trained model ({e})") from None
        return trained_graph(model)
    raise ModelError(f"{path}: neither a .tflite file (no 'TFL3' identifier) nor a "
                     f"microdl-trained model (.npz)")


# ----------------------------------------------------------- per-layer report
class _Stats:
    """Running sums for one tensor's float-vs-int8 comparison."""

    def __init__(self):
        self.ss_f = self.ss_e = self.dot = self.ss_q = 0.0
        self.n = 0
        self.max_abs = 0.0

    def add(self, f, q):
        f = np.asarray(f, np.float64).ravel()
        q = np.asarray(q, np.float64).ravel()
        e = f - q
        self.ss_f += float(f @ f)
        self.ss_e += float(e @ e)
        self.ss_q += float(q @ q)
        self.dot += float(f @ q)
        self.n += f.size
        if f.size:
            self.max_abs = max(self.max_abs, float(np.abs(e).max()))

    def result(self, scale):
        denom = math.sqrt(self.ss_f * self.ss_q)
        cosine = 1.0 if denom == 0 and self.ss_e == 0 else (self.dot / denom if denom else 0.0)
        rmse = math.sqrt(self.ss_e / max(self.n, 1))
        return {"sqnr_db": sqnr_from_power(self.ss_f, self.ss_e), "cosine": cosine,
                "rmse_over_scale": rmse / scale, "max_abs_error": self.max_abs}


def layer_report(float_graph, int8_model: bytes, samples, labels=None, max_samples=256,
                 progress=True):
    """Compare the int8 model (microdl runtime) with the float reference tensor by
    tensor.  For every activation tensor of the float graph, the int8 model's tensor
    at the same index is dequantized and compared on the same inputs (the int8 model
    gets them through ``quantize``, as bench feeds it):

    - SQNR (dB) = 10 log10(sum f^2 / sum (f - q)^2)
    - cosine similarity = <f, q> / (|f| |q|)
    - RMSE / scale: root-mean-square error in units of the tensor's quantization step
      (0.29 = 1/sqrt(12) is the floor of ideal rounding)
    - max abs error in real units

    Recurrent ops (UNIDIRECTIONAL_SEQUENCE_LSTM) get one row for their output
    sequence; their state tensors (variables) are not compared, and every sample
    starts from reset state in both runs.

    Args:
        float_graph: the float Graph the int8 model was quantized from (same tensor
            indices for every float activation).
        int8_model: the int8 .tflite bytes.
        samples: list (one per graph input) of float32 arrays (N, *input_shape[1:]).
        labels: optional int array (N,) of class labels for accuracy.
        max_samples: compare on at most this many samples.
    Returns:
        dict with "tensors": list of per-tensor dicts (index, name, op, scale,
        zero_point, sqnr_db, cosine, rmse_over_scale, max_abs_error) in execution
        order, and "model": float vs int8 agreement (top-1 agreement and accuracies
        for classifiers, see ``task``; output SQNR always), weight bytes, arena bytes,
        MACs.
    """
    n = min(int(samples[0].shape[0]), max_samples)
    samples = [x[:n] for x in samples]
    ex = FloatExecutor(float_graph)
    it = Interpreter(model_content=int8_model, experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    plain = Interpreter(model_content=int8_model)
    plain.allocate_tensors()
    details = {d["index"]: d for d in it.get_tensor_details()}
    producers = {}
    for op in float_graph.ops:
        for t in op.outputs:
            producers[t] = op
    watched = [t.index for t in float_graph.tensors
               if t.data is None and not t.is_variable and t.index in details
               and details[t.index]["dtype"] in (np.int8, np.int16)
               and details[t.index]["quantization_parameters"]["scales"].size == 1]
    stats = {t: _Stats() for t in watched}
    out_stats = [_Stats() for _ in float_graph.outputs]
    float_first, int8_first = [], []
    in_details = it.get_input_details()
    out_details = it.get_output_details()
    for i in progress_bar(range(n), n, "comparing int8 with float", progress, leave=True):
        xs = [x[i:i + 1] for x in samples]
        ref = ex.run_all(xs)
        it.reset_all_variables()  # each sample an independent sequence (run_int8)
        set_inputs(it, xs, in_details)
        it.invoke()
        for t in watched:
            stats[t].add(ref[t], dequantize(it.get_tensor(t), details[t]))
        for k, (ft, d) in enumerate(zip(float_graph.outputs, out_details)):
            got = dequantize(it.get_tensor(d["index"]), d)
            out_stats[k].add(ref[ft], got)
            if k == 0:
                float_first.append(np.asarray(ref[ft]).reshape(-1))
                int8_first.append(got.reshape(-1))
    tensors = []
    for t in watched:
        d = details[t]
        op = producers.get(t)
        row = {"index": t, "name": float_graph.tensors[t].name,
               "op": op.name if op is not None else "input",
               "scale": float(d["quantization"][0]),
               "zero_point": int(d["quantization"][1])}
        row.update(stats[t].result(row["scale"]))
        tensors.append(row)
    order = {t: k for k, t in enumerate(
        [i for i in float_graph.inputs] + [o for op in float_graph.ops for o in op.outputs])}
    tensors.sort(key=lambda r: order.get(r["index"], len(order)))
    model = {
        "samples": n,
        "output_sqnr_db": [s.result(1.0)["sqnr_db"] for s in out_stats],
        "weight_bytes": plain.weight_bytes,
        "arena_bytes": int(plain.arena_bytes),
        "macs": int(sum(o["macs"] for o in plain.get_ops_details())),
    }
    if task(float_graph) == CLASSIFIER:
        f, q = np.array(float_first), np.array(int8_first)
        model["top1_agreement"] = top1(q, np.argmax(f, axis=1))
        if labels is not None:
            y = np.asarray(labels)[:n]
            model["float_accuracy"] = top1(f, y)
            model["int8_accuracy"] = top1(q, y)
    return {"tensors": tensors, "model": model}


def format_report(report) -> str:
    """The report as a fixed-width table (one row per tensor) and a model summary."""
    rows = [("#", "op", "tensor", "scale", "zp", "SQNR dB", "cosine", "RMSE/scale",
             "max abs err")]
    for r in report["tensors"]:
        name = r["name"] if len(r["name"]) <= 40 else "..." + r["name"][-37:]
        rows.append((str(r["index"]), r["op"], name, f"{r['scale']:.3g}",
                     str(r["zero_point"]), f"{r['sqnr_db']:.1f}", f"{r['cosine']:.5f}",
                     f"{r['rmse_over_scale']:.3f}", f"{r['max_abs_error']:.3g}"))
    m = report["model"]
    summary = [f"samples compared: {m['samples']}",
               "output SQNR dB: " + ", ".join(f"{v:.1f}" for v in m["output_sqnr_db"])]
    if "top1_agreement" in m:
        summary.append(f"top-1 agreement float vs int8: {m['top1_agreement'] * 100:.2f}%")
    if "int8_accuracy" in m:
        summary.append(f"accuracy: float {m['float_accuracy'] * 100:.2f}%, int8 "
                       f"{m['int8_accuracy'] * 100:.2f}%")
    summary.append(f"weights {m['weight_bytes']:,} B, arena {m['arena_bytes']:,} B, "
                   f"{m['macs']:,} MACs")
    return "\n".join([text_table(rows, left=(1, 2)), ""] + summary)
