"""PAD and STRIDED_SLICE int16 against TFLite Micro's golden outputs
(../shared/models/tflm_int16_ops/{pad,strided_slice}: NAME.tflite, the input and the
expected output as comma-separated row-major integers).  Exact equality on every
case.  Data movement does no rounding, so both rounding modes must agree."""
import glob
import os

import numpy as np
import pytest

from microdl import Interpreter
from microdl.tflite.reader import read_model
from tests.conftest import SHARED_MODELS, shared_model

CASES = [(family, os.path.basename(p)[:-len(".tflite")])
         for family in ("pad", "strided_slice")
         for p in sorted(glob.glob(os.path.join(SHARED_MODELS, "tflm_int16_ops", family,
                                                "*.tflite")))]


def _csv(path, dtype):
    with open(path) as f:
        return np.array([int(v) for v in f.read().replace("\n", ",").split(",")
                         if v.strip()], dtype)


def test_all_golden_cases_found():
    if not CASES:
        shared_model("tflm_int16_ops", "pad")
    assert len([c for c in CASES if c[0] == "pad"]) == 19
    assert len([c for c in CASES if c[0] == "strided_slice"]) == 34


@pytest.mark.parametrize("family,name", CASES)
@pytest.mark.parametrize("rounding", ["double", "single"])
def test_int16_golden(family, name, rounding):
    folder = shared_model("tflm_int16_ops", family)
    model = os.path.join(folder, name + ".tflite")
    with open(model, "rb") as f:
        content = f.read()
    g = read_model(content)
    assert [op.name for op in g.ops] == [family.upper()]
    it = Interpreter(model_content=content, rounding=rounding)
    it.allocate_tensors()
    d_in, = it.get_input_details()
    d_out, = it.get_output_details()
    assert d_in["dtype"] == np.int16 and d_out["dtype"] == np.int16
    x = _csv(os.path.join(folder, f"{name}_input0_int16.csv"), np.int16)
    want = _csv(os.path.join(folder, f"{name}_golden_int16.csv"), np.int16)
    assert x.size == np.prod(d_in["shape"]) and want.size == np.prod(d_out["shape"])
    it.set_tensor(d_in["index"], x.reshape(d_in["shape"]))
    it.invoke()
    got = it.get_tensor(d_out["index"]).ravel()
    np.testing.assert_array_equal(got, want)
