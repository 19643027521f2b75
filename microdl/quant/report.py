"""Per-layer quantization error report: int8 model (microdl runtime) vs float reference.

For every activation tensor of the float graph, the int8 model's tensor at the same
index is dequantized (real = scale * (q - zero_point)) and compared with the float
reference on the same inputs:

- SQNR (dB) = 10 log10(sum f^2 / sum (f - q)^2)  (signal-to-quantization-noise ratio)
- cosine similarity = <f, q> / (|f| |q|)
- RMSE / scale: root-mean-square error in units of the tensor's quantization step
  (0.29 = 1/sqrt(12) is the floor of ideal rounding)
- max abs error in real units
"""
from __future__ import annotations

import math

import numpy as np


class _Stats:
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
        sqnr = math.inf if self.ss_e == 0 else (
            -math.inf if self.ss_f == 0 else 10 * math.log10(self.ss_f / self.ss_e))
        denom = math.sqrt(self.ss_f * self.ss_q)
        cosine = 1.0 if denom == 0 and self.ss_e == 0 else (self.dot / denom if denom else 0.0)
        rmse = math.sqrt(self.ss_e / max(self.n, 1))
        return {"sqnr_db": sqnr, "cosine": cosine, "rmse_over_scale": rmse / scale,
                "max_abs_error": self.max_abs}


def layer_report(float_graph, int8_model: bytes, samples, labels=None, max_samples=256,
                 progress=True):
    """Compare the int8 model with the float reference tensor by tensor.

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
        for classifiers, output SQNR otherwise), weight bytes, arena bytes, MACs.
    """
    from microdl import Interpreter
    from microdl.floatexec.executor import FloatExecutor

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
               if t.data is None and t.index in details
               and details[t.index]["dtype"] in (np.int8, np.int16)
               and details[t.index]["quantization_parameters"]["scales"].size == 1]
    stats = {t: _Stats() for t in watched}
    out_stats = [_Stats() for _ in float_graph.outputs]
    float_top, int8_top = [], []
    in_details = it.get_input_details()
    out_details = it.get_output_details()
    rng = range(n)
    if progress:
        from tqdm import tqdm

        rng = tqdm(rng, desc="comparing int8 with float", unit="sample")
    for i in rng:
        xs = [x[i:i + 1] for x in samples]
        ref = ex.run_all(xs)
        for d, x in zip(in_details, xs):
            it.set_tensor(d["index"], _to_input(x, d))
        it.invoke()
        for t in watched:
            d = details[t]
            scale, zp = d["quantization"]
            q = (it.get_tensor(t).astype(np.float64) - zp) * scale
            stats[t].add(ref[t], q)
        for k, (ft, d) in enumerate(zip(float_graph.outputs, out_details)):
            got = it.get_tensor(d["index"]).astype(np.float64)
            if d["dtype"] != np.float32:
                scale, zp = d["quantization"]
                got = (got - zp) * scale
            out_stats[k].add(ref[ft], got)
            if k == 0:
                float_top.append(int(np.argmax(ref[ft])))
                int8_top.append(int(np.argmax(got)))
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
    out_shape = float_graph.tensors[float_graph.outputs[0]].shape
    classifier = len(out_shape) >= 1 and out_shape[-1] > 1 and \
        any(op.name == "SOFTMAX" for op in float_graph.ops)
    model = {
        "samples": n,
        "output_sqnr_db": [s.result(1.0)["sqnr_db"] for s in out_stats],
        "weight_bytes": int(sum(t.nbytes for t in plain._graph.tensors if t.data is not None)),
        "arena_bytes": int(plain.arena_bytes),
        "macs": int(sum(o["macs"] for o in plain.get_ops_details())),
    }
    if classifier:
        f, q = np.array(float_top), np.array(int8_top)
        model["top1_agreement"] = float(np.mean(f == q))
        if labels is not None:
            y = np.asarray(labels)[:n]
            model["float_accuracy"] = float(np.mean(f == y))
            model["int8_accuracy"] = float(np.mean(q == y))
    return {"tensors": tensors, "model": model}


def _to_input(x, detail):
    dt = np.dtype(detail["dtype"])
    if dt == np.float32:
        return x.astype(np.float32)
    scale, zp = detail["quantization"]
    info = np.iinfo(dt)
    q = np.round(x.astype(np.float64) / scale) + zp
    return np.clip(q, info.min, info.max).astype(dt)


def format_report(report) -> str:
    """The report as a fixed-width table (one row per tensor) and a model summary."""
    rows = [("#", "op", "tensor", "scale", "zp", "SQNR dB", "cosine", "RMSE/scale",
             "max abs err")]
    for r in report["tensors"]:
        name = r["name"] if len(r["name"]) <= 40 else "..." + r["name"][-37:]
        rows.append((str(r["index"]), r["op"], name, f"{r['scale']:.3g}",
                     str(r["zero_point"]), f"{r['sqnr_db']:.1f}", f"{r['cosine']:.5f}",
                     f"{r['rmse_over_scale']:.3f}", f"{r['max_abs_error']:.3g}"))
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(v.ljust(w) if c in (1, 2) else v.rjust(w)
                       for c, (v, w) in enumerate(zip(row, widths))) for row in rows]
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
    return "\n".join(lines + [""] + summary)
