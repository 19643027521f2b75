"""firmware_models/: microdl's own models, trained, converted and evaluated."""
import os

import numpy as np
import pytest

from microdl import pipeline
from microdl.evaluation import quantize
from microdl.quant.convert import quantize_graph
from microdl.tflite.writer import write_model
from microdl.train import load
from tests.oplib import run_litert, run_microdl

METHODS = ["minmax", "percentile", "mse", "entropy"]


def shipped(name, kind):
    path = os.path.join(pipeline.DEFAULT_DIR, name, f"{name}_{kind}")
    assert os.path.exists(path), f"{path} missing: run tools/train_firmware_models.py"
    return path


@pytest.fixture(scope="module")
def digits_cnn():
    model = load(shipped("digits_cnn", "float.npz"))
    return model.to_graph(with_softmax=True), pipeline.model_data("digits_cnn")


@pytest.mark.parametrize("method", METHODS)
def test_digits_int8_within_half_a_point_of_float(digits_cnn, method):
    graph, data = digits_cnn
    result = quantize_graph(graph, pipeline.calibration_set("digits_cnn", data),
                            method=method, progress=False)
    row = pipeline.evaluate("digits_cnn", graph, write_model(result.graph), data)
    assert row["float"] >= 0.97
    assert abs(row["int8"] - row["float"]) <= 0.005, row


@pytest.fixture(scope="module")
def digits_lstm():
    model = load(shipped("digits_lstm", "float.npz"))
    return model.to_graph(with_softmax=True), pipeline.model_data("digits_lstm")


@pytest.mark.parametrize("method", METHODS)
def test_digits_lstm_int8_within_half_a_point_of_float(digits_lstm, method):
    """The recurrent model: float UNIDIRECTIONAL_SEQUENCE_LSTM -> integer 8x8_16 LSTM."""
    graph, data = digits_lstm
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in [op.name for op in graph.ops]
    result = quantize_graph(graph, pipeline.calibration_set("digits_lstm", data),
                            method=method, progress=False)
    row = pipeline.evaluate("digits_lstm", graph, write_model(result.graph), data)
    assert row["float"] >= 0.97
    assert abs(row["int8"] - row["float"]) <= 0.005, row


@pytest.mark.parametrize("name", pipeline.FIRMWARE_MODELS)
def test_shipped_int8_models_run_identically_in_litert(name):
    with open(shipped(name, "int8.tflite"), "rb") as f:
        model = f.read()
    x = pipeline.model_data(name)["test"][0][:20]
    from microdl import Interpreter

    detail = Interpreter(model_content=model).get_input_details()[0]
    for xi in x:
        q = quantize(xi[None], detail)
        np.testing.assert_array_equal(run_microdl(model, [q])[0], run_litert(model, [q])[0])


def test_main_job_pipeline_rows():
    rows = pipeline.run(progress=False)
    by_name = {r["model"]: r for r in rows}
    assert by_name["digits_cnn"]["int8"] >= 0.97
    assert by_name["digits_mlp"]["int8"] >= 0.96
    assert by_name["digits_lstm"]["int8"] >= 0.97
    assert by_name["sine"]["int8"] < 0.02  # MSE, noise floor 0.01
    assert all(r["arena_bytes"] > 0 and r["latency_s"] > 0 for r in rows)
