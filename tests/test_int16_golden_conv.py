"""TFLite Micro's 16x8 integration tests for CONV_2D and TRANSPOSE_CONV
(../shared/models/tflm_int16_ops/{conv,transpose_conv}: NAME.tflite, inputs and the
expected output as comma-separated integers in row-major order).  microdl with
rounding="double" (TFLite Micro's arithmetic) must reproduce every golden value; the
same models also run in LiteRT and must agree with microdl's default rounding."""
import os

import numpy as np
import pytest

from tests.oplib import MODELS, run_litert, run_microdl

ROOT = os.path.join(MODELS, "tflm_int16_ops")
CONV = [f"conv/conv{i}" for i in range(22)]
TRANSPOSE = [f"transpose_conv/transpose_conv{i}" for i in range(5)]

pytestmark = pytest.mark.skipif(not os.path.isdir(ROOT),
                                reason="../shared/models/tflm_int16_ops not present")


def read_csv(path, dtype):
    with open(path) as f:
        text = f.read().replace("\n", ",")
    return np.array([int(v) for v in text.split(",") if v.strip()], dtype)


def load(name):
    """(model bytes, model inputs shaped like the model's inputs, golden output)."""
    base = os.path.join(ROOT, name)
    with open(base + ".tflite", "rb") as f:
        model = f.read()
    from microdl import Interpreter
    details = Interpreter(model_content=model).get_input_details()
    inputs = []
    for k, d in enumerate(details):
        path = f"{base}_input{k}_{np.dtype(d['dtype']).name}.csv"
        inputs.append(read_csv(path, d["dtype"]).reshape(d["shape"]))
    golden = read_csv(base + "_golden_int16.csv", np.int16)
    return model, inputs, golden


def test_all_golden_cases_are_present():
    for name in CONV + TRANSPOSE:
        assert os.path.exists(os.path.join(ROOT, name + ".tflite")), name


@pytest.mark.parametrize("name", CONV + TRANSPOSE)
def test_golden_int16(name):
    model, inputs, golden = load(name)
    got, = run_microdl(model, inputs, rounding="double")
    assert got.dtype == np.int16 and got.size == golden.size
    np.testing.assert_array_equal(got.ravel(), golden)
    # LiteRT runs these models too (and matches the golden values).
    want, = run_litert(model, inputs)
    got_single, = run_microdl(model, inputs, rounding="single")
    np.testing.assert_array_equal(got_single, want)
