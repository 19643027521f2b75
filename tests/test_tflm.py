"""microdl with rounding="tflm" against TFLite Micro itself (the tflite-micro pip
package): every int8 model both run, bit for bit, including person_detect on the real
images (which LiteRT refuses to load)."""
import numpy as np
import pytest

import microdl
from microdl.utils import load_bmp_as_int8
from tests.conftest import shared_model

runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime",
                              reason="tflite-micro is not installed (pip install tflite-micro)")

MODELS = [("mlperf_tiny", "kws_ref_model.tflite"), ("mlperf_tiny", "vww_96_int8.tflite"),
          ("mlperf_tiny", "pretrainedResnet_quant.tflite"), ("mlperf_tiny", "ad01_int8.tflite"),
          ("tflm", "person_detect.tflite"), ("tflm", "micro_speech_quantized.tflite"),
          ("tflm", "hello_world_int8.tflite")]


@pytest.mark.parametrize("folder,name", MODELS, ids=[m[1] for m in MODELS])
def test_bit_exact_with_tflite_micro(folder, name):
    path = shared_model(folder, name)
    tflm = runtime.Interpreter.from_file(path, arena_size=400_000)
    ours = microdl.Interpreter(model_path=path, rounding="tflm")
    ours.allocate_tensors()
    d = ours.get_input_details()[0]
    out = ours.get_output_details()[0]
    rng = np.random.default_rng(len(name))
    xs = [rng.integers(-128, 128, d["shape"]).astype(np.int8) for _ in range(3)]
    xs.append(np.full(d["shape"], -128, np.int8))
    if name == "person_detect.tflite":
        xs += [load_bmp_as_int8(shared_model("tflm", f), tuple(d["shape"]))
               for f in ("person.bmp", "no_person.bmp")]
    for x in xs:
        tflm.set_input(x, 0)
        tflm.invoke()
        ours.set_tensor(d["index"], x)
        ours.invoke()
        np.testing.assert_array_equal(ours.get_tensor(out["index"]), tflm.get_output(0))
