"""microdl-convert: int8 models that LiteRT and microdl run bit-identically, the float
MLPerf Tiny models, calibration methods, float interfaces, bad data and bad CLI use."""
import json
import os

import numpy as np
import pytest

from microdl.cli.convert import CalibrationDataError, load_calibration_data, main
from microdl.quant.convert import QuantizationError, quantize_graph
from microdl.tflite.reader import read_model
from microdl.tflite.writer import write_model
from tests.conftest import shared_model
from tests.oplib import graph_model, run_litert, run_microdl, spec

METHODS = ["minmax", "percentile", "mse", "entropy"]


def float_graph(folder, name):
    with open(shared_model(folder, name), "rb") as f:
        return read_model(f.read())


def calibration(graph, n, seed=0):
    shape = graph.tensors[graph.inputs[0]].shape
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n,) + tuple(shape[1:])).astype(np.float32)]


def assert_bit_identical(model, n_inputs=3, seed=1):
    from microdl import Interpreter

    it = Interpreter(model_content=model)
    rng = np.random.default_rng(seed)
    for _ in range(n_inputs):
        xs = []
        for d in it.get_input_details():
            if np.dtype(d["dtype"]) == np.float32:
                xs.append(rng.standard_normal(d["shape"]).astype(np.float32))
            else:
                info = np.iinfo(d["dtype"])
                xs.append(rng.integers(info.min, info.max + 1, d["shape"]).astype(d["dtype"]))
        want = run_litert(model, xs)
        got = run_microdl(model, xs)
        for w, g in zip(want, got):
            assert w.dtype == g.dtype
            np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("method", METHODS)
def test_hello_world_each_method_runs_identically_in_litert(method):
    g = float_graph("tflm", "hello_world_float.tflite")
    x = np.random.default_rng(0).uniform(0, 2 * np.pi, (300, 1)).astype(np.float32)
    result = quantize_graph(g, [x], method=method, progress=False)
    model = write_model(result.graph)
    assert_bit_identical(model, n_inputs=5)
    # The int8 model approximates the float one on the sine input.
    q = result.graph.tensors[result.graph.inputs[0]].quant
    from microdl import Interpreter
    from microdl.floatexec.executor import FloatExecutor

    it = Interpreter(model_content=model)
    it.allocate_tensors()
    out = it.get_output_details()[0]
    ref = FloatExecutor(g).run([x[:50]])[0].ravel()
    got = []
    for v in x[:50, 0]:
        qv = np.clip(np.round(v / q.scale) + q.zero_point, -128, 127).astype(np.int8)
        it.set_tensor(it.get_input_details()[0]["index"], qv.reshape(1, 1))
        it.invoke()
        s, z = out["quantization"]
        got.append((float(it.get_tensor(out["index"])[0, 0]) - z) * s)
    assert np.max(np.abs(np.array(got) - ref)) < 0.1


@pytest.mark.parametrize("name", ["ad01_fp32.tflite", "kws_ref_model_float32.tflite",
                                  "pretrainedResnet.tflite", "vww_96_float.tflite"])
def test_float_mlperf_models_convert_and_run_in_both_runtimes(name):
    g = float_graph("mlperf_tiny", name)
    result = quantize_graph(g, calibration(g, 8), progress=False)
    model = write_model(result.graph)
    ops = {op.name for op in read_model(model).ops}
    assert "QUANTIZE" not in ops and "DEQUANTIZE" not in ops
    assert_bit_identical(model, n_inputs=2)


@pytest.mark.parametrize("io", [("float32", "float32"), ("int8", "float32"), ("uint8", "uint8"),
                                ("float32", "int8")])
def test_float_interfaces(io):
    g = float_graph("mlperf_tiny", "pretrainedResnet.tflite")
    result = quantize_graph(g, calibration(g, 8), input_type=io[0], output_type=io[1],
                            progress=False)
    model = write_model(result.graph)
    q = read_model(model)
    assert q.tensors[q.inputs[0]].dtype == np.dtype(io[0])
    assert q.tensors[q.outputs[0]].dtype == np.dtype(io[1])
    # Interface tensors keep the original names.
    assert q.tensors[q.inputs[0]].name == g.tensors[g.inputs[0]].name
    assert q.tensors[q.outputs[0]].name == g.tensors[g.outputs[0]].name
    assert_bit_identical(model, n_inputs=2)


def test_weights_follow_the_int8_spec():
    g = float_graph("mlperf_tiny", "pretrainedResnet.tflite")
    q = quantize_graph(g, calibration(g, 4), progress=False).graph
    for op in q.ops:
        if op.name == "CONV_2D":
            w, b = q.tensors[op.inputs[1]], q.tensors[op.inputs[2]]
            x = q.tensors[op.inputs[0]]
            assert w.dtype == np.int8 and w.quant.scales.size == w.shape[0]
            assert np.all(w.quant.zero_points == 0) and w.data.min() >= -127
            assert b.dtype == np.int32
            np.testing.assert_allclose(b.quant.scales, x.quant.scale * w.quant.scales,
                                       rtol=1e-6)
        if op.name == "SOFTMAX":
            y = q.tensors[op.outputs[0]]
            assert (y.quant.scale, y.quant.zero_point) == (1 / 256, -128)
        if op.name in ("AVERAGE_POOL_2D", "RESHAPE"):
            x, y = q.tensors[op.inputs[0]], q.tensors[op.outputs[0]]
            assert (x.quant.scale, x.quant.zero_point) == (y.quant.scale, y.quant.zero_point)
    per_tensor = quantize_graph(g, calibration(g, 4), per_channel=False, progress=False).graph
    for op in per_tensor.ops:
        if op.name == "CONV_2D":
            assert per_tensor.tensors[op.inputs[1]].quant.scales.size == 1


def test_unquantizable_op_is_named():
    tensors = [spec((1, 4), np.float32), spec((1, 4), np.float32)]
    model = graph_model(tensors, [("SIN", [0], [1], {})], [0], [1])
    with pytest.raises(QuantizationError, match="SIN"):
        quantize_graph(read_model(model), [np.zeros((2, 4), np.float32)], progress=False)


# ----------------------------------------------------------------- the CLI


@pytest.fixture
def hello(tmp_path):
    x = np.random.default_rng(0).uniform(0, 2 * np.pi, (64, 1)).astype(np.float32)
    data = tmp_path / "cal.npy"
    np.save(data, x)
    return shared_model("tflm", "hello_world_float.tflite"), str(data), tmp_path


def test_cli_writes_model_and_report(hello, capsys):
    model, data, tmp = hello
    out, rep = tmp / "m.tflite", tmp / "r.json"
    rc = main([model, "-o", str(out), "--calibration-data", data, "--method", "mse",
               "--report", str(rep), "--no-progress", "--num-samples", "32"])
    assert rc == 0
    assert_bit_identical(out.read_bytes())
    report = json.loads(rep.read_text())
    assert report["model"]["calibration_samples"] == 32
    assert {r["op"] for r in report["tensors"]} >= {"input", "FULLY_CONNECTED"}
    for r in report["tensors"]:
        assert set(r) >= {"scale", "zero_point", "sqnr_db", "cosine", "rmse_over_scale",
                          "max_abs_error"}
    printed = capsys.readouterr().out
    assert "SQNR" in printed and "wrote" in printed


def test_cli_float_interface_and_npz(hello):
    model, data, tmp = hello
    npz = tmp / "cal.npz"
    np.savez(npz, **{"serving_default_dense_input:0": np.load(data)})
    out = tmp / "f.tflite"
    assert main([model, "-o", str(out), "--calibration-data", str(npz), "--input-type",
                 "float32", "--output-type", "float32", "--no-progress"]) == 0
    assert_bit_identical(out.read_bytes())


@pytest.mark.parametrize("bad,message", [
    (np.full((4, 1), np.nan, np.float32), "NaN"),
    (np.zeros((0, 1), np.float32), "no samples"),
    (np.zeros((4, 2), np.float32), "expected \\(N, 1\\)"),
    (np.zeros((4,), np.float32), "expected \\(N, 1\\)"),
    (np.array([["a"], ["b"]]), "numeric"),
])
def test_bad_calibration_data(hello, bad, message, capsys):
    model, _, tmp = hello
    path = tmp / "bad.npy"
    np.save(path, bad)
    g = float_graph("tflm", "hello_world_float.tflite")
    with pytest.raises(CalibrationDataError, match=message):
        load_calibration_data(str(path), g)
    assert main([model, "-o", str(tmp / "x.tflite"), "--calibration-data", str(path),
                 "--no-progress"]) == 2
    assert "error" in capsys.readouterr().err
    assert not os.path.exists(tmp / "x.tflite")


def test_npz_missing_input_is_named(hello):
    _, _, tmp = hello
    g = float_graph("mlperf_tiny", "pretrainedResnet.tflite")
    path = tmp / "two.npz"
    np.savez(path, a=np.zeros((2, 32, 32, 3), np.float32), b=np.zeros((2, 1), np.float32))
    with pytest.raises(CalibrationDataError, match="no array for input"):
        load_calibration_data(str(path), g)


@pytest.mark.parametrize("args,message", [
    (["--method", "magic"], "invalid choice"),
    (["--input-type", "int4"], "invalid choice"),
    (["--percentile", "150"], "percentile"),
    ([], "required"),
])
def test_bad_cli_arguments(hello, args, message, capsys):
    model, data, tmp = hello
    base = [model, "--calibration-data", data]
    if args != []:
        base += ["-o", str(tmp / "y.tflite")]
    with pytest.raises(SystemExit) as e:
        main(base + args)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_not_a_model(hello, capsys):
    _, data, tmp = hello
    junk = tmp / "junk.bin"
    junk.write_bytes(b"hello world, not a model")
    assert main([str(junk), "-o", str(tmp / "z.tflite"), "--calibration-data", data,
                 "--no-progress"]) == 2
    assert "neither a .tflite" in capsys.readouterr().err


def test_cli_accepts_a_microdl_trained_model(tmp_path):
    from microdl import pipeline

    npz = os.path.join(pipeline.DEFAULT_DIR, "digits_cnn", "digits_cnn_float.npz")
    x = pipeline.model_data("digits_cnn")["train"][0][:64]
    data = tmp_path / "digits.npy"
    np.save(data, x)
    out = tmp_path / "digits.tflite"
    assert main([npz, "-o", str(out), "--calibration-data", str(data), "--method",
                 "entropy", "--no-progress"]) == 0
    q = read_model(out.read_bytes())
    assert q.ops[-1].name == "SOFTMAX"
    assert_bit_identical(out.read_bytes())
