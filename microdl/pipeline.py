"""The embedded default pipeline: microdl's own firmware models, end to end.

For each model in firmware_models/ (digits CNN, digits MLP, sine regressor): load the
shipped float model (or train it again), quantize it with microdl.quant on the training
split, run the int8 model in microdl's runtime on the held-out split, and report float
vs int8 accuracy (or MSE for the regressor), arena and weight bytes and host latency.
"""
from __future__ import annotations

import os

import numpy as np

from microdl.utils import median_latency

FIRMWARE_MODELS = ("digits_cnn", "digits_mlp", "sine")
DEFAULT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "firmware_models")


def model_data(name, split_seed=0):
    """The model's data splits {"train": (x, y), "test": (x, y)} (see microdl.train.models)."""
    from microdl.train import models

    if name == "digits_cnn":
        return models.digits_data(split_seed)
    if name == "digits_mlp":
        return models.digits_data(split_seed, flat=True)
    if name == "sine":
        return models.sine_data(split_seed)
    raise ValueError(f"unknown firmware model {name!r}; expected one of {FIRMWARE_MODELS}")


def train(name, seed=0):
    """Train the float model again (seeded); returns the microdl.train model."""
    from microdl.train import models

    fn = {"digits_cnn": models.train_digits_cnn, "digits_mlp": models.train_digits_mlp,
          "sine": models.train_sine}[name]
    model, _ = fn(seed)
    return model


def quantize_input(x, detail):
    """Float array -> the int8 input tensor's values (round half away, saturate)."""
    scale, zp = detail["quantization"]
    q = np.sign(x / scale) * np.floor(np.abs(x / scale) + 0.5) + zp
    return np.clip(q, -128, 127).astype(np.int8)


def run_int8(model_bytes, x):
    """Run an int8 model (int8 input/output) on every sample of x in microdl's runtime.
    Returns (dequantized outputs (N, ...), Interpreter)."""
    from microdl import Interpreter

    it = Interpreter(model_content=model_bytes)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    scale, zp = out["quantization"]
    ys = []
    for xi in x:
        it.set_tensor(inp["index"], quantize_input(xi[None], inp))
        it.invoke()
        ys.append((it.get_tensor(out["index"]).astype(np.float32) - zp) * scale)
    return np.concatenate(ys), it


def score(name, pred, y):
    """Accuracy (classifiers) or mean squared error (sine)."""
    if name == "sine":
        return float(np.mean((pred.reshape(-1) - y.reshape(-1)) ** 2))
    return float(np.mean(np.argmax(pred.reshape(len(y), -1), axis=1) == y))


def evaluate(name, float_graph, int8_model, data, calibration_samples=None):
    """One row of the accuracy-vs-latency table for a float graph and its int8 model."""
    from microdl.floatexec.executor import FloatExecutor

    x, y = data["test"]
    float_pred = FloatExecutor(float_graph).run([x])[0]
    int8_pred, it = run_int8(int8_model, x)
    inp = it.get_input_details()[0]
    it.set_tensor(inp["index"], quantize_input(x[:1], inp))
    latency = median_latency(it.invoke, repeats=200)[0]
    weights = sum(t.nbytes for t in it._graph.tensors if t.data is not None)
    return {"model": name, "metric": "mse" if name == "sine" else "accuracy",
            "float": score(name, float_pred, y), "int8": score(name, int8_pred, y),
            "test_samples": int(len(y)), "arena_bytes": int(it.arena_bytes),
            "weight_bytes": int(weights),
            "macs": int(sum(o["macs"] for o in it.get_ops_details())),
            "latency_s": latency}


def format_table(rows):
    """Rows of evaluate() as a fixed-width table."""
    head = ("model", "metric", "float", "int8", "delta", "arena B", "weights B", "MACs",
            "latency ms")
    lines = [head]
    for r in rows:
        pct = r["metric"] == "accuracy"
        f = (lambda v: f"{v * 100:.2f}%") if pct else (lambda v: f"{v:.4f}")
        delta = (r["int8"] - r["float"]) * (100 if pct else 1)
        lines.append((r["model"] + (f" [{r['method']}]" if "method" in r else ""),
                      r["metric"], f(r["float"]), f(r["int8"]),
                      f"{delta:+.2f}{' pp' if pct else ''}", f"{r['arena_bytes']:,}",
                      f"{r['weight_bytes']:,}", f"{r['macs']:,}",
                      f"{r['latency_s'] * 1e3:.4f}"))
    widths = [max(len(str(l[c])) for l in lines) for c in range(len(head))]
    return "\n".join("  ".join(str(v).rjust(w) if c else str(v).ljust(w)
                               for c, (v, w) in enumerate(zip(l, widths))) for l in lines)


def calibration_set(name, data, n=256):
    """The first n training samples (float32)."""
    return [data["train"][0][:n].astype(np.float32)]


def run(firmware_dir=DEFAULT_DIR, names=FIRMWARE_MODELS, method="minmax", retrain=False,
        progress=True):
    """The main job: shipped float model -> int8 -> held-out evaluation, per model.
    Returns the rows of the table."""
    from microdl.quant.convert import quantize_graph
    from microdl.tflite.writer import write_model
    from microdl.train import load
    from microdl.train.losses import SoftmaxCrossEntropy

    rows = []
    for name in names:
        path = os.path.join(firmware_dir, name, f"{name}_float.npz")
        if retrain or not os.path.exists(path):
            model = train(name)
        else:
            model = load(path)
        graph = model.to_graph(with_softmax=isinstance(model.loss, SoftmaxCrossEntropy))
        data = model_data(name)
        result = quantize_graph(graph, calibration_set(name, data), method=method,
                                progress=progress)
        int8 = write_model(result.graph, description=f"microdl {name} int8")
        rows.append(evaluate(name, graph, int8, data))
    return rows
