"""The embedded default pipeline: microdl's own firmware models, end to end.

For each model in firmware_models/ (digits CNN, digits MLP, digits LSTM, sine
regressor): load the
shipped float model (or train it again), quantize it with microdl.quant on the training
split, run the int8 model in microdl's runtime on the held-out split, and report float
vs int8 accuracy (or MSE for the regressor), arena and weight bytes and host latency.
"""
from __future__ import annotations

import os

import numpy as np

from microdl.core.tables import text_table
from microdl.evaluation import (CLASSIFIER, mse, run_float, run_int8, set_inputs, task,
                                top1, trained_graph)
from microdl.quant.convert import quantize_graph
from microdl.runtime.interpreter import Interpreter
from microdl.tflite.writer import write_model
from microdl.train import load, models
from microdl.utils import firmware_dir, median_latency

FIRMWARE_MODELS = ("digits_cnn", "digits_mlp", "digits_lstm", "sine")
DEFAULT_DIR = firmware_dir()  # the checkout's firmware_models/, else the installed copy


def model_data(name, split_seed=0):
    """The model's data splits {"train": (x, y), "test": (x, y)} (see microdl.train.models)."""
    if name == "digits_cnn":
        return models.digits_data(split_seed)
    if name == "digits_mlp":
        return models.digits_data(split_seed, flat=True)
    if name == "digits_lstm":
        return models.digits_data(split_seed, sequence=True)
    if name == "sine":
        return models.sine_data(split_seed)
    raise ValueError(f"unknown firmware model {name!r}; expected one of {FIRMWARE_MODELS}")


def train(name, seed=0):
    """Train the float model again (seeded); returns the microdl.train model."""
    fn = {"digits_cnn": models.train_digits_cnn, "digits_mlp": models.train_digits_mlp,
          "digits_lstm": models.train_digits_lstm, "sine": models.train_sine}[name]
    model, _ = fn(seed)
    return model


def evaluate(name, float_graph, int8_model, data, calibration_samples=None):
    """One row of the accuracy-vs-latency table for a float graph and its int8 model:
    top-1 accuracy for classifiers, MSE otherwise (microdl.evaluation.task)."""
    x, y = data["test"]
    classifier = task(float_graph) == CLASSIFIER
    score = top1 if classifier else mse
    it = Interpreter(model_content=int8_model)
    it.allocate_tensors()
    float_pred = run_float(float_graph, x)
    int8_pred = run_int8(it, x)
    set_inputs(it, [x[:1]])
    latency = median_latency(it.invoke, repeats=200)[0]
    return {"model": name, "metric": "accuracy" if classifier else "mse",
            "float": score(float_pred, y), "int8": score(int8_pred, y),
            "test_samples": int(len(y)), "arena_bytes": int(it.arena_bytes),
            "weight_bytes": it.weight_bytes,
            "macs": int(sum(o["macs"] for o in it.get_ops_details())),
            "latency_s": latency}


def format_table(rows):
    """Rows of evaluate() as a fixed-width table."""
    lines = [("model", "metric", "float", "int8", "delta", "arena B", "weights B", "MACs",
              "latency ms")]
    for r in rows:
        pct = r["metric"] == "accuracy"
        f = (lambda v: f"{v * 100:.2f}%") if pct else (lambda v: f"{v:.4f}")
        delta = (r["int8"] - r["float"]) * (100 if pct else 1)
        lines.append((r["model"] + (f" [{r['method']}]" if "method" in r else ""),
                      r["metric"], f(r["float"]), f(r["int8"]),
                      f"{delta:+.2f}{' pp' if pct else ''}", f"{r['arena_bytes']:,}",
                      f"{r['weight_bytes']:,}", f"{r['macs']:,}",
                      f"{r['latency_s'] * 1e3:.4f}"))
    return text_table(lines, left=(0,))


def calibration_set(name, data, n=256):
    """The first n training samples (float32)."""
    return [data["train"][0][:n].astype(np.float32)]


def run(firmware_dir=DEFAULT_DIR, names=FIRMWARE_MODELS, method="minmax", retrain=False,
        progress=True):
    """The main job: shipped float model -> int8 -> held-out evaluation, per model.
    Returns the rows of the table."""
    rows = []
    for name in names:
        path = os.path.join(firmware_dir, name, f"{name}_float.npz")
        if retrain or not os.path.exists(path):
            model = train(name)
        else:
            model = load(path)
        graph = trained_graph(model)
        data = model_data(name)
        result = quantize_graph(graph, calibration_set(name, data), method=method,
                                progress=progress)
        int8 = write_model(result.graph, description=f"microdl {name} int8")
        rows.append(evaluate(name, graph, int8, data))
    return rows
