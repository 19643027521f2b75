"""microdl.evaluation: every tool feeds an int8 model the same inputs and agrees on
what kind of model it is.

Expected values come from numpy expressions written here (float32 division, round
half away from zero, saturate), never from microdl.evaluation itself."""
from __future__ import annotations

import os

import numpy as np
import pytest

from microdl import bench, pipeline
from microdl.evaluation import dequantize, layer_report, load_float_graph, task
from microdl.runtime.interpreter import Interpreter
from microdl.tflite import read_model
from tests.conftest import shared_model

FIRMWARE = pipeline.DEFAULT_DIR
# What each firmware model is: digits classifiers (softmax over 10 classes), a sine
# regressor (one value).
FIRMWARE_TASKS = {"digits_cnn": "classifier", "digits_mlp": "classifier",
                  "sine": "regression"}


def _path(name, kind):
    return os.path.join(FIRMWARE, name, f"{name}_{kind}")


def _spec_quantize(x, scale, zero_point, lo=-128, hi=127):
    """TFLite's AffineQuantize, written out: the float32 quotient x / scale rounded
    to nearest with ties away from zero, plus the zero point, saturated."""
    v = (np.asarray(x, np.float32) / np.float32(scale)).astype(np.float64)
    r = np.where(v >= 0, np.floor(v + 0.5), np.ceil(v - 0.5))
    return np.clip(r + zero_point, lo, hi).astype(np.int8)


def _tie_inputs(scale, n_samples, width, seed=0):
    """(n_samples, width) float32 inputs, mostly exact ties: x / scale (float32
    division) == k + 0.5 exactly, for k from -12 to 266 (in and beyond the int8 range
    of a zero point of -128), then a few random values.  Returns (x, ties)."""
    s = np.float32(scale)
    ks = np.arange(-12, 267)
    cand = (ks + np.float32(0.5)).astype(np.float32) * s
    ties = cand[(cand / s) == (ks + np.float32(0.5)).astype(np.float32)]
    rng = np.random.default_rng(seed)
    x = rng.choice(ties, size=(n_samples, width))
    x[:, -4:] = rng.uniform(-0.5, 1.5, size=(n_samples, 4))
    return x.astype(np.float32), ties


@pytest.fixture
def recorded_inputs(monkeypatch):
    """Every array given to Interpreter.set_tensor, as (interpreter id, index, copy)."""
    calls = []
    real = Interpreter.set_tensor

    def record(self, index, value):
        calls.append((id(self), int(index), np.array(value, copy=True)))
        return real(self, index, value)

    monkeypatch.setattr(Interpreter, "set_tensor", record)
    return calls


def test_report_and_bench_feed_identical_int8_inputs_at_ties(recorded_inputs):
    name = "digits_mlp"
    int8_path = _path(name, "int8.tflite")
    int8 = open(int8_path, "rb").read()
    probe = Interpreter(model_content=int8)
    inp = probe.get_input_details()[0]
    scale, zp = inp["quantization"]
    n = 12
    x, ties = _tie_inputs(scale, n, int(inp["shape"][1]))
    want = np.stack([_spec_quantize(xi[None], scale, zp) for xi in x])
    # Many inputs are ties where rounding half to even and half away from zero differ
    # (np.round would feed other values) inside the int8 range, not only saturated.
    v = (x / np.float32(scale)).astype(np.float64)
    assert np.mean(np.isin(x, ties)) > 0.9
    differ = np.clip(np.round(v) + zp, -128, 127) != want.reshape(x.shape)
    assert np.mean(differ) > 0.4

    y = np.arange(n) % 10
    recorded_inputs.clear()
    bench.bench_model(int8_path, data=(x, y), repeats=1)
    fed_bench = [v for _, i, v in recorded_inputs if i == inp["index"]]
    recorded_inputs.clear()
    layer_report(load_float_graph(_path(name, "float.tflite")), int8, [x], progress=False)
    fed_report = [v for _, i, v in recorded_inputs if i == inp["index"]]

    assert len(fed_report) == n and len(fed_bench) >= n
    for k in range(n):
        assert fed_bench[k].dtype == fed_report[k].dtype == np.int8
        np.testing.assert_array_equal(fed_bench[k], want[k], err_msg=f"bench sample {k}")
        np.testing.assert_array_equal(fed_report[k], want[k], err_msg=f"report sample {k}")


def test_pipeline_feeds_the_same_inputs(recorded_inputs):
    name = "digits_cnn"
    int8 = open(_path(name, "int8.tflite"), "rb").read()
    inp = Interpreter(model_content=int8).get_input_details()[0]
    scale, zp = inp["quantization"]
    n = 6
    x, _ = _tie_inputs(scale, n, 64, seed=1)
    x = x.reshape(n, 8, 8, 1)
    data = {"test": (x, np.arange(n) % 10)}
    recorded_inputs.clear()
    pipeline.evaluate(name, load_float_graph(_path(name, "float.npz")), int8, data)
    fed = [v for _, i, v in recorded_inputs if i == inp["index"]]
    assert len(fed) >= n
    for k in range(n):
        np.testing.assert_array_equal(fed[k], _spec_quantize(x[k:k + 1], scale, zp))


def test_dequantize_is_scale_times_offset():
    it = Interpreter(model_path=_path("sine", "int8.tflite"))
    out = it.get_output_details()[0]
    scale, zp = out["quantization"]
    q = np.arange(-128, 128, dtype=np.int8).reshape(-1, 1)
    want = (np.float32(scale) * (q.astype(np.float64) - zp)).astype(np.float32)
    np.testing.assert_array_equal(dequantize(q, out), want)


def _softmax_classifier(graph):
    """Independent statement of the rule: last dimension > 1, made by SOFTMAX."""
    out = graph.outputs[0]
    producer = [op.name for op in graph.ops if out in op.outputs]
    return graph.tensors[out].shape[-1] > 1 and producer == ["SOFTMAX"]


@pytest.mark.parametrize("name", sorted(FIRMWARE_TASKS))
def test_task_detection_agrees_for_the_firmware_models(name):
    want = FIRMWARE_TASKS[name]
    int8_path = _path(name, "int8.tflite")
    float_tflite = load_float_graph(_path(name, "float.tflite"))
    float_npz = load_float_graph(_path(name, "float.npz"))
    int8_graph = read_model(open(int8_path, "rb").read())
    for g in (float_tflite, float_npz, int8_graph):
        assert _softmax_classifier(g) == (want == "classifier")
        assert task(g) == want

    data = pipeline.model_data(name)["test"]
    x, y = data[0][:16], data[1][:16]
    # bench (on the int8 model), the pipeline (float graph from .npz) and the
    # per-layer report (float graph) decide alike.
    assert bench.bench_model(int8_path, data=(x, y), repeats=1)["task"] == want
    row = pipeline.evaluate(name, float_npz, open(int8_path, "rb").read(),
                            {"test": (x, y)})
    assert row["metric"] == ("accuracy" if want == "classifier" else "mse")
    rep = layer_report(float_tflite, open(int8_path, "rb").read(), [x], labels=y,
                       progress=False)
    assert ("top1_agreement" in rep["model"]) == (want == "classifier")
    assert ("int8_accuracy" in rep["model"]) == (want == "classifier")


@pytest.mark.parametrize("folder, file, want", [
    ("mlperf_tiny", "kws_ref_model.tflite", "classifier"),
    ("mlperf_tiny", "vww_96_int8.tflite", "classifier"),
    ("mlperf_tiny", "pretrainedResnet_quant.tflite", "classifier"),
    ("mlperf_tiny", "ad01_int8.tflite", "regression"),       # autoencoder, 640 values
    ("tflm", "hello_world_int8.tflite", "regression"),
    ("tflm", "keyword_scrambled_8bit.tflite", "classifier"),  # SOFTMAX then QUANTIZE
])
def test_task_detection_on_third_party_models(folder, file, want):
    graph = read_model(open(shared_model(folder, file), "rb").read())
    assert task(graph) == want
