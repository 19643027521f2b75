"""Whole models: microdl against LiteRT's reference kernels, bit for bit.

Every int8 model of ../shared/models/mlperf_tiny and ../shared/models/tflm that both
runtimes can run (not yet LSTM / SVDF), each with several random inputs spanning the
full int8 range; plus person_detect on the real images (LiteRT refuses that file)."""
import zlib

import numpy as np
import pytest

import microdl
from tests.conftest import shared_model

MODELS = [
    ("mlperf_tiny", "kws_ref_model.tflite"),
    ("mlperf_tiny", "vww_96_int8.tflite"),
    ("mlperf_tiny", "pretrainedResnet_quant.tflite"),
    ("mlperf_tiny", "ad01_int8.tflite"),
    ("tflm", "hello_world_int8.tflite"),
    ("tflm", "micro_speech_quantized.tflite"),
]


def litert_reference(path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_path=path, num_threads=1,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    return it


def random_input(rng, detail):
    info = np.iinfo(detail["dtype"])
    return rng.integers(info.min, info.max + 1, size=detail["shape"],
                        dtype=np.int64).astype(detail["dtype"])


@pytest.mark.parametrize("folder,name", MODELS, ids=[m[1] for m in MODELS])
def test_model_bit_exact_with_litert_reference(folder, name):
    path = shared_model(folder, name)
    ours = microdl.Interpreter(model_path=path)
    ours.allocate_tensors()
    ref = litert_reference(path)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    assert [d["index"] for d in ours.get_input_details()] == \
        [d["index"] for d in ref.get_input_details()]
    for trial in range(4):
        for d in ours.get_input_details():
            x = random_input(rng, d)
            if trial == 0:
                x[...] = np.iinfo(d["dtype"]).min  # extreme inputs too
            elif trial == 1:
                x[...] = np.iinfo(d["dtype"]).max
            ours.set_tensor(d["index"], x)
            ref.set_tensor(d["index"], x)
        ours.invoke()
        ref.invoke()
        for d in ref.get_output_details():
            want = ref.get_tensor(d["index"])
            got = ours.get_tensor(d["index"])
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want, err_msg=f"{name} trial {trial}")


@pytest.mark.parametrize("folder,name", MODELS, ids=[m[1] for m in MODELS])
def test_details_match_litert(folder, name):
    path = shared_model(folder, name)
    ours = microdl.Interpreter(model_path=path)
    ours.allocate_tensors()
    ref = litert_reference(path)
    for a, b in zip(ours.get_input_details() + ours.get_output_details(),
                    ref.get_input_details() + ref.get_output_details()):
        assert a["name"] == b["name"] and a["index"] == b["index"]
        assert a["dtype"] == b["dtype"]
        np.testing.assert_array_equal(a["shape"], b["shape"])
        np.testing.assert_array_equal(a["shape_signature"], b["shape_signature"])
        assert a["quantization"][1] == b["quantization"][1]
        assert np.float32(a["quantization"][0]) == np.float32(b["quantization"][0])
        for k in ("scales", "zero_points"):
            np.testing.assert_array_equal(a["quantization_parameters"][k],
                                          b["quantization_parameters"][k])


def load_bmp_as_int8(path):
    """The TFLite Micro person_detection test's input: the BMP's 8-bit pixels
    (top row first, as Pillow's tobytes() gives them) copied byte for byte into the
    int8 input tensor."""
    from PIL import Image

    with Image.open(path) as img:
        raw = img.tobytes()
    return np.frombuffer(raw, np.uint8).view(np.int8).reshape(1, 96, 96, 1)


def test_person_detect_on_real_images():
    path = shared_model("tflm", "person_detect.tflite")
    it = microdl.Interpreter(model_path=path, rounding="double")
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    out = it.get_output_details()[0]
    scores = {}
    for image in ("person", "no_person"):
        it.set_tensor(inp["index"], load_bmp_as_int8(shared_model("tflm", f"{image}.bmp")))
        it.invoke()
        scores[image] = it.get_tensor(out["index"])[0]
    person_index, no_person_index = 1, 0  # TFLM's kPersonIndex, kNotAPersonIndex
    # The TFLite Micro example's own check: the person score wins on person.bmp and
    # loses on no_person.bmp.
    assert scores["person"][person_index] > scores["person"][no_person_index]
    assert scores["no_person"][person_index] < scores["no_person"][no_person_index]
    assert scores["person"][person_index] > scores["no_person"][person_index]


def test_float_io_wrapped_by_quantize_dequantize():
    """float32 in -> QUANTIZE -> CONV_2D -> FULLY_CONNECTED -> DEQUANTIZE -> float32 out,
    the shape of a converter's model with float interfaces: same floats as LiteRT."""
    from tests.oplib import graph_model, random_int, run_litert, run_microdl, spec

    rng = np.random.default_rng(5)
    w_conv = random_int(rng, (4, 3, 3, 2))
    w_fc = random_int(rng, (3, 4 * 4 * 4))
    tensors = [
        spec((1, 4, 4, 2), np.float32),                                   # 0 float input
        spec((1, 4, 4, 2), scale=0.02, zero_point=3),                     # 1 quantized
        spec((4, 3, 3, 2), data=w_conv, scales=[0.01, 0.02, 0.005, 0.03]),
        spec((4,), np.int32, data=rng.integers(-500, 500, 4),
             scales=[0.0002, 0.0004, 0.0001, 0.0006]),
        spec((1, 4, 4, 4), scale=0.05, zero_point=-10),                   # 4 conv out
        spec((3, 64), data=w_fc, scale=0.01),
        spec((3,), np.int32, data=rng.integers(-500, 500, 3), scale=0.0005),
        spec((1, 3), scale=0.1, zero_point=7),                            # 7 fc out
        spec((1, 3), np.float32),                                         # 8 float output
    ]
    ops = [
        ("QUANTIZE", [0], [1], {}),
        ("CONV_2D", [1, 2, 3], [4], {"padding": 0, "stride_w": 1, "stride_h": 1,
                                     "fused_activation_function": 1,
                                     "dilation_w_factor": 1, "dilation_h_factor": 1}, 3),
        ("FULLY_CONNECTED", [4, 5, 6], [7], {"fused_activation_function": 0}, 4),
        ("DEQUANTIZE", [7], [8], {}, 2),
    ]
    model = graph_model(tensors, ops, inputs=[0], outputs=[8])
    for trial in range(5):
        x = (rng.standard_normal((1, 4, 4, 2)) * (trial + 1)).astype(np.float32)
        want = run_litert(model, [x])[0]
        got = run_microdl(model, [x])[0]
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)
