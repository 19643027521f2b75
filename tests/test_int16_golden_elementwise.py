"""ADD and SUB int16 (16x16, zero point 0) against TFLite Micro's own golden outputs
(../shared/models/tflm_int16_ops/{add,sub}: TFLite Micro's seanet integration tests)
with rounding="double", and against LiteRT with the default rounding."""
import glob
import os

import numpy as np
import pytest

from microdl import Interpreter
from tests.oplib import MODELS, run_litert, run_microdl

CASES = sorted(glob.glob(os.path.join(MODELS, "tflm_int16_ops", "add", "*.tflite")) +
               glob.glob(os.path.join(MODELS, "tflm_int16_ops", "sub", "*.tflite")))
IDS = [os.path.basename(p)[:-len(".tflite")] for p in CASES]


def load_csv(path):
    return np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=1).ravel()


def load_case(path):
    """(model bytes, [input arrays], golden output array)."""
    stem = path[:-len(".tflite")]
    model = open(path, "rb").read()
    it = Interpreter(model_content=model)
    details = it.get_input_details()
    inputs = []
    for k, d in enumerate(details):
        v = load_csv(f"{stem}_input{k}_int16.csv")
        assert v.size == int(np.prod(d["shape"])), (stem, k)
        assert v.min() >= -32768 and v.max() <= 32767
        inputs.append(v.astype(np.int16).reshape(d["shape"]))
    golden = load_csv(f"{stem}_golden_int16.csv")
    return model, inputs, golden


def test_all_cases_present():
    assert len([i for i in IDS if i.startswith("add")]) == 17
    assert len([i for i in IDS if i.startswith("sub")]) == 5


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_tflm_golden_exact(path):
    model, inputs, golden = load_case(path)
    got, = run_microdl(model, inputs, rounding="double")
    assert got.dtype == np.int16
    assert got.size == golden.size
    np.testing.assert_array_equal(got.ravel(), golden)


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_same_as_litert(path):
    model, inputs, _ = load_case(path)
    want, = run_litert(model, inputs)
    got, = run_microdl(model, inputs)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
