"""LEAKY_RELU and QUANTIZE (int16 / int32) against TFLite Micro's golden outputs
(../shared/models/tflm_int16_ops/{leaky_relu,quantize}: NAME.tflite, the input and the
expected output as comma-separated row-major integers, file names giving the dtypes).
Exact equality on every case, with rounding="double" (TFLite Micro's arithmetic)."""
import glob
import os

import numpy as np
import pytest

from microdl import Interpreter
from microdl.tflite.reader import read_model
from tests.conftest import SHARED_MODELS, shared_model

CASES = [(family, os.path.basename(p)[:-len(".tflite")])
         for family in ("leaky_relu", "quantize")
         for p in sorted(glob.glob(os.path.join(SHARED_MODELS, "tflm_int16_ops", family,
                                                "*.tflite")))]


def _csv(folder, name, kind):
    """The one file NAME_<kind>_<dtype>.csv: (values, dtype)."""
    path, = glob.glob(os.path.join(folder, f"{name}_{kind}_int*.csv"))
    dtype = np.dtype(path[:-len(".csv")].rsplit("_", 1)[1])
    with open(path) as f:
        values = [int(v) for v in f.read().replace("\n", ",").split(",") if v.strip()]
    return np.array(values, dtype), dtype


def test_all_golden_cases_found():
    if not CASES:
        shared_model("tflm_int16_ops", "leaky_relu")
    assert len([c for c in CASES if c[0] == "leaky_relu"]) == 23
    assert len([c for c in CASES if c[0] == "quantize"]) == 2


@pytest.mark.parametrize("family,name", CASES)
def test_int16_golden(family, name):
    folder = shared_model("tflm_int16_ops", family)
    with open(os.path.join(folder, name + ".tflite"), "rb") as f:
        content = f.read()
    assert [op.name for op in read_model(content).ops] == [family.upper()]
    x, x_dtype = _csv(folder, name, "input0")
    want, want_dtype = _csv(folder, name, "golden")
    it = Interpreter(model_content=content, rounding="double")
    it.allocate_tensors()
    d_in, = it.get_input_details()
    d_out, = it.get_output_details()
    assert d_in["dtype"] == x_dtype and d_out["dtype"] == want_dtype
    assert x.size == np.prod(d_in["shape"]) and want.size == np.prod(d_out["shape"])
    it.set_tensor(d_in["index"], x.reshape(d_in["shape"]))
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(d_out["index"]).ravel(), want)
