"""microdl-convert's 16x8 (int16 activations) and mixed int8 / int16 modes, and the
16x8 FULLY_CONNECTED kernel they need: models LiteRT's reference kernels and microdl
run bit-identically, the 16x8 spec's parameters (checked against a re-derivation
from the calibration ranges), and SQNR / accuracy against the float model no worse
than the int8 model's."""
import numpy as np
import pytest

from microdl import pipeline
from microdl.cli.convert import main
from microdl.evaluation import layer_report, sqnr_db
from microdl.quant.convert import (INT16_OPS, QuantizationError, quantize_graph,
                                   quantize_mixed, select_int16_ops)
from microdl.tflite.reader import read_model
from microdl.tflite.writer import write_model
from microdl.train import load
from tests.conftest import shared_model
from tests.oplib import (graph_model, op_model, reference_interpreter, run_litert,
                         run_microdl, spec)

FIRMWARE = ["digits_cnn", "digits_mlp", "sine", "digits_lstm"]


def firmware(name):
    import os
    path = os.path.join(pipeline.DEFAULT_DIR, name, f"{name}_float.npz")
    data = pipeline.model_data(name)
    return load(path).to_graph(with_softmax=True), data


def assert_bit_identical_on(model, xs_float, n=12):
    """LiteRT BUILTIN_REF and microdl give the same outputs on n real samples
    (quantized into the model's input type as microdl.evaluation does)."""
    from microdl import Interpreter
    from microdl.evaluation import quantize

    ref = reference_interpreter(model_content=model)
    ours = Interpreter(model_content=model)
    ours.allocate_tensors()
    d_ref, d_ours = ref.get_input_details()[0], ours.get_input_details()[0]
    for i in range(min(n, len(xs_float))):
        x = quantize(xs_float[i:i + 1], d_ours).reshape(d_ours["shape"])
        ref.reset_all_variables()
        ours.reset_all_variables()
        ref.set_tensor(d_ref["index"], x)
        ours.set_tensor(d_ours["index"], x)
        ref.invoke()
        ours.invoke()
        for a, b in zip(ref.get_output_details(), ours.get_output_details()):
            want, got = ref.get_tensor(a["index"]), ours.get_tensor(b["index"])
            assert want.dtype == got.dtype
            np.testing.assert_array_equal(got, want)


def logits_sqnr(graph, report):
    """SQNR of the last tensor before SOFTMAX (the model output when there is none)."""
    by_index = {r["index"]: r for r in report["tensors"]}
    soft = [op for op in graph.ops if op.name == "SOFTMAX"]
    t = soft[-1].inputs[0] if soft else graph.outputs[0]
    return by_index[t]["sqnr_db"]


@pytest.mark.parametrize("name", FIRMWARE)
def test_firmware_models_in_int16(name, capsys):
    graph, data = firmware(name)
    calib = pipeline.calibration_set(name, data)
    x_test = data["test"][0].astype(np.float32)
    r8 = quantize_graph(graph, calib, progress=False)
    r16 = quantize_graph(graph, calib, activations="int16", progress=False,
                         ranges=r8.ranges)
    m8, m16 = write_model(r8.graph), write_model(r16.graph)
    q = r16.graph
    assert q.tensors[q.inputs[0]].dtype == np.int16
    assert q.tensors[q.outputs[0]].dtype == np.int16
    assert_bit_identical_on(m16, x_test)
    # float interface too
    r16f = quantize_graph(graph, calib, activations="int16", input_type="float32",
                          output_type="float32", progress=False, ranges=r8.ranges)
    assert_bit_identical_on(write_model(r16f.graph), x_test, n=4)
    rep8 = layer_report(graph, m8, [x_test], data["test"][1], progress=False)
    rep16 = layer_report(graph, m16, [x_test], data["test"][1], progress=False)
    s8, s16 = rep8["model"]["output_sqnr_db"][0], rep16["model"]["output_sqnr_db"][0]
    l8, l16 = logits_sqnr(graph, rep8), logits_sqnr(graph, rep16)
    with capsys.disabled():
        acc = ""
        if "int8_accuracy" in rep8["model"]:
            acc = (f", accuracy float {rep8['model']['float_accuracy']:.4f} int8 "
                   f"{rep8['model']['int8_accuracy']:.4f} int16 "
                   f"{rep16['model']['int8_accuracy']:.4f}")
        print(f"\n{name}: output SQNR int8 {s8:.1f} dB, int16 {s16:.1f} dB; logits SQNR "
              f"int8 {l8:.1f} dB, int16 {l16:.1f} dB{acc}; 16x8 ops "
              f"{len(r16.int16_ops)}/{len(graph.ops)}")
    assert s16 >= s8 - 0.05
    if name != "digits_lstm":  # its LSTM (int8) writes the logits' input
        assert l16 > l8 + 1
    if "int8_accuracy" in rep8["model"]:
        assert rep16["model"]["int8_accuracy"] >= rep8["model"]["int8_accuracy"] - 0.003


def test_16x8_parameters_follow_the_spec():
    graph, data = firmware("digits_cnn")
    calib = pipeline.calibration_set("digits_cnn", data)
    r = quantize_graph(graph, calib, activations="int16", progress=False)
    q = r.graph
    seen = set()
    for op in q.ops:
        if op.name in ("CONV_2D", "FULLY_CONNECTED") and \
                q.tensors[op.inputs[0]].dtype == np.int16:
            seen.add(op.name)
            x, w, b = (q.tensors[op.inputs[k]] for k in (0, 1, 2))
            y = q.tensors[op.outputs[0]]
            assert w.dtype == np.int8 and np.all(w.quant.zero_points == 0)
            assert np.abs(w.data.astype(int)).max() <= 127
            assert b.dtype == np.int64 and np.all(b.quant.zero_points == 0)
            np.testing.assert_allclose(b.quant.scales, np.float32(x.quant.scale) *
                                       w.quant.scales, rtol=1e-6)
            if op.name == "CONV_2D":
                assert w.quant.scales.size == w.shape[0]
            for t in (x, y):
                assert t.quant.zero_point == 0
                lo, hi = r.ranges[t.index] if t.index in r.ranges else (None, None)
                if lo is not None and op.name == "CONV_2D" and t is y:
                    assert t.quant.scale == np.float32(max(-lo, hi) / 32767)
    assert seen == {"CONV_2D", "FULLY_CONNECTED"}
    # SOFTMAX has no int16 kernel in microdl: it stays int8 with the int8 spec's output
    soft = [op for op in q.ops if op.name == "SOFTMAX"][0]
    y = q.tensors[soft.outputs[0]]
    assert y.dtype == np.int8 and (y.quant.scale, y.quant.zero_point) == (1 / 256, -128)


def built_model():
    """A float CNN built here: CONV_2D + RELU6 (fused) -> MAX_POOL -> CONV_2D, ADD of
    the two branches' shapes, MEAN, FULLY_CONNECTED, LOGISTIC."""
    rng = np.random.default_rng(3)
    f32 = np.float32
    t = [spec((1, 8, 8, 3), f32),
         spec((6, 3, 3, 3), f32, data=rng.standard_normal((6, 3, 3, 3)) * 0.4),
         spec((6,), f32, data=rng.standard_normal(6) * 0.1),
         spec((1, 8, 8, 6), f32),
         spec((1, 4, 4, 6), f32),
         spec((6, 1, 1, 6), f32, data=rng.standard_normal((6, 1, 1, 6)) * 0.5),
         spec((6,), f32, data=rng.standard_normal(6) * 0.1),
         spec((1, 4, 4, 6), f32),
         spec((1, 4, 4, 6), f32),
         spec((2,), np.int32, data=np.array([1, 2], np.int32)),
         spec((1, 6), f32),
         spec((5, 6), f32, data=rng.standard_normal((5, 6)) * 0.5),
         spec((5,), f32, data=rng.standard_normal(5) * 0.1),
         spec((1, 5), f32),
         spec((1, 5), f32)]
    ops = [("CONV_2D", [0, 1, 2], [3], dict(padding=0, stride_w=1, stride_h=1,
                                            fused_activation_function=3)),
           ("MAX_POOL_2D", [3], [4], dict(padding=1, stride_w=2, stride_h=2,
                                          filter_width=2, filter_height=2)),
           ("CONV_2D", [4, 5, 6], [7], dict(padding=0, stride_w=1, stride_h=1)),
           ("ADD", [4, 7], [8], {}),
           ("MEAN", [8, 9], [10], dict(keep_dims=False)),
           ("FULLY_CONNECTED", [10, 11, 12], [13], {}),
           ("LOGISTIC", [13], [14], {})]
    return read_model(graph_model(t, ops, [0], [14]))


def test_built_model_in_int16_and_mixed():
    g = built_model()
    rng = np.random.default_rng(0)
    calib = [rng.standard_normal((64, 8, 8, 3)).astype(np.float32)]
    test = rng.standard_normal((64, 8, 8, 3)).astype(np.float32)
    r8 = quantize_graph(g, calib, progress=False)
    r16 = quantize_graph(g, calib, activations="int16", progress=False, ranges=r8.ranges)
    names16 = {g.ops[k].name for k in r16.int16_ops}
    assert names16 == {"CONV_2D", "MAX_POOL_2D", "ADD", "MEAN", "FULLY_CONNECTED"}
    m8, m16 = write_model(r8.graph), write_model(r16.graph)
    assert_bit_identical_on(m16, test)
    add = [op for op in r16.graph.ops if op.name == "ADD"][0]
    assert add.options["pot_scale_int16"] is False
    rep8 = layer_report(g, m8, [test], progress=False)
    rep16 = layer_report(g, m16, [test], progress=False)
    assert logits_sqnr(g, rep16) > logits_sqnr(g, rep8) + 1
    assert rep16["model"]["output_sqnr_db"][0] >= rep8["model"]["output_sqnr_db"][0]
    # mixed: the 2 ops of lowest int8 SQNR in 16x8 form
    chosen = select_int16_ops(g, rep8, 2)
    assert len(chosen) == 2 and all(g.ops[k].name in INT16_OPS for k in chosen)
    worst = sorted((r["sqnr_db"], r["index"]) for r in rep8["tensors"]
                   if r["op"] in INT16_OPS)[:2]
    producer = {t: op.index for op in g.ops for t in op.outputs}
    assert chosen == sorted(producer[t] for _, t in worst)
    rm = quantize_mixed(g, calib, chosen, progress=False, ranges=r8.ranges)
    mm = write_model(rm.graph)
    q = rm.graph
    assert q.tensors[q.inputs[0]].dtype == np.int8
    assert q.tensors[q.outputs[0]].dtype == np.int8
    for k, op in enumerate(g.ops):
        y = q.tensors[op.outputs[0]]
        assert y.dtype == (np.int16 if k in chosen else np.int8), (k, op.name)
    assert_bit_identical_on(mm, test)
    repm = layer_report(g, mm, [test], progress=False)
    assert repm["model"]["output_sqnr_db"][0] >= rep8["model"]["output_sqnr_db"][0] - 0.05


@pytest.mark.parametrize("name", ["kws_ref_model_float32.tflite", "pretrainedResnet.tflite"])
@pytest.mark.parametrize("k", [1, 3])
def test_mlperf_mixed_and_int16(name, k):
    g = read_model(open(shared_model("mlperf_tiny", name), "rb").read())
    shape = g.tensors[g.inputs[0]].shape
    rng = np.random.default_rng(0)
    calib = [rng.standard_normal((8,) + tuple(shape[1:])).astype(np.float32)]
    r8 = quantize_graph(g, calib, progress=False)
    rep8 = layer_report(g, write_model(r8.graph), calib, progress=False)
    chosen = select_int16_ops(g, rep8, k)
    rm = quantize_mixed(g, calib, chosen, progress=False, ranges=r8.ranges,
                        input_type="float32", output_type="float32")
    assert_bit_identical_on(write_model(rm.graph), calib[0], n=2)
    repm = layer_report(g, write_model(rm.graph), calib, progress=False)
    assert repm["model"]["output_sqnr_db"][0] >= rep8["model"]["output_sqnr_db"][0] - 0.5
    if k == 1:
        r16 = quantize_graph(g, calib, activations="int16", progress=False,
                             ranges=r8.ranges)
        assert_bit_identical_on(write_model(r16.graph), calib[0], n=2)


def test_refusals():
    g = built_model()
    calib = [np.zeros((2, 8, 8, 3), np.float32) + 0.5]
    with pytest.raises(ValueError, match="int16 activations"):
        quantize_graph(g, calib, activations="int16", input_type="int8", progress=False)
    with pytest.raises(ValueError, match="activations"):
        quantize_graph(g, calib, activations="int4", progress=False)
    with pytest.raises(QuantizationError, match="LOGISTIC"):
        quantize_mixed(g, calib, [6], progress=False)
    with pytest.raises(QuantizationError, match="op index"):
        quantize_mixed(g, calib, [99], progress=False)
    graph, _ = firmware("digits_lstm")
    lstm = [op.index for op in graph.ops if op.name == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    with pytest.raises(QuantizationError, match="16x8 integer LSTM"):
        quantize_mixed(graph, [np.zeros((2, 8, 8), np.float32)], lstm, progress=False)
    with pytest.raises(ValueError):
        select_int16_ops(g, {"tensors": []}, -1)


def test_cli_int16_and_mixed(tmp_path, capsys):
    graph, data = firmware("digits_mlp")
    src = tmp_path / "mlp.tflite"
    src.write_bytes(write_model(graph))
    np.save(tmp_path / "cal.npy", data["train"][0][:64].astype(np.float32))
    out = tmp_path / "out16.tflite"
    assert main([str(src), "-o", str(out), "--calibration-data", str(tmp_path / "cal.npy"),
                 "--activations", "int16", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "ops in 16x8 form: 3 of 4" in text and "ops kept int8: 3 SOFTMAX" in text
    q = read_model(out.read_bytes())
    assert q.tensors[q.inputs[0]].dtype == np.int16
    out = tmp_path / "mixed.tflite"
    assert main([str(src), "-o", str(out), "--calibration-data", str(tmp_path / "cal.npy"),
                 "--mixed-int16", "1", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "ops in 16x8 form: 1 of 4" in text and "of the int8 model" in text
    q = read_model(out.read_bytes())
    assert q.tensors[q.inputs[0]].dtype == np.int8
    for bad in (["--activations", "int16", "--input-type", "int8"],
                ["--input-type", "int16"],
                ["--mixed-int16", "2", "--activations", "int16"],
                ["--mixed-int16", "-1"]):
        with pytest.raises(SystemExit):
            main([str(src), "-o", str(out), "--calibration-data",
                  str(tmp_path / "cal.npy")] + bad)
        capsys.readouterr()


# ------------------------------------------------ FULLY_CONNECTED 16x8 kernel

def fc16_model(rng, batches, depth, out, per_channel, bias, act):
    w = rng.integers(-127, 128, (out, depth)).astype(np.int8)
    w_scales = rng.uniform(0.002, 0.02, out if per_channel else 1)
    in_scale, out_scale = 0.0005, float(rng.uniform(0.0005, 0.01))
    inputs = [spec((batches, depth), np.int16, in_scale),
              spec((out, depth), np.int8, data=w, scales=list(w_scales))]
    b = None
    if bias is not None:
        b = rng.integers(-2**20, 2**20, out).astype(bias)
        inputs.append(spec((out,), bias, data=b, scales=list(in_scale * w_scales)))
    options = dict(fused_activation_function=act)
    if bias == np.int32:
        options["quantized_bias_type"] = 2  # TensorType INT32
    model = op_model("FULLY_CONNECTED", inputs, [spec((batches, out), np.int16, out_scale)],
                     options, version=7)
    return model, w, b, in_scale, w_scales, out_scale


@pytest.mark.parametrize("case", range(12))
def test_fully_connected_16x8_against_litert_and_numpy(case):
    rng = np.random.default_rng(100 + case)
    batches, depth, out = int(rng.integers(1, 4)), int(rng.integers(1, 70)), \
        int(rng.integers(1, 20))
    per_channel = bool(case % 2)
    bias = [np.int64, None, np.int32][case % 3]
    act = [0, 1, 3][(case // 3) % 3]
    model, w, b, in_scale, w_scales, out_scale = fc16_model(rng, batches, depth, out,
                                                            per_channel, bias, act)
    x = rng.integers(-32768, 32768, (batches, depth)).astype(np.int16)
    want, = run_litert(model, [x])
    got, = run_microdl(model, [x])
    assert got.dtype == np.int16
    np.testing.assert_array_equal(got, want)
    # numpy: round(acc * in_scale * w_scale / out_scale) half away from zero, clamped
    acc = x.astype(np.int64) @ w.astype(np.int64).T
    if b is not None:
        acc = acc + b.astype(np.int64)
    real = (np.float64(np.float32(in_scale)) * np.float32(w_scales).astype(np.float64)
            / np.float64(np.float32(out_scale)))
    v = acc * real
    v = np.sign(v) * np.floor(np.abs(v) + 0.5)
    lo = {0: -32768, 1: 0, 3: 0}[act]
    hi = 32767 if act != 3 else min(32767, int(round(6 / np.float32(out_scale))))
    np.testing.assert_array_equal(got, np.clip(v, lo, hi).astype(np.int16))


def test_fully_connected_16x8_refusals():
    from microdl import Interpreter
    from microdl.core.errors import ModelError

    rng = np.random.default_rng(1)
    w = rng.integers(-127, 128, (4, 8)).astype(np.int8)
    bad_zp = op_model("FULLY_CONNECTED",
                      [spec((1, 8), np.int16, 0.01, zero_point=3),
                       spec((4, 8), np.int8, 0.01, data=w)],
                      [spec((1, 4), np.int16, 0.01)], {}, version=7)
    with pytest.raises(ModelError, match="zero points 0"):
        Interpreter(model_content=bad_zp).allocate_tensors()
    bad_w = op_model("FULLY_CONNECTED",
                     [spec((1, 8), np.int16, 0.01),
                      spec((4, 8), np.int16, 0.01, data=w.astype(np.int16))],
                     [spec((1, 4), np.int16, 0.01)], {}, version=7)
    with pytest.raises(ModelError):
        Interpreter(model_content=bad_w).allocate_tensors()
    b32 = spec((4,), np.int32, data=np.arange(4, dtype=np.int32), scales=[1e-4])
    no_code = op_model("FULLY_CONNECTED",
                       [spec((1, 8), np.int16, 0.01), spec((4, 8), np.int8, 0.01, data=w),
                        b32], [spec((1, 4), np.int16, 0.01)], {}, version=7)
    with pytest.raises(ModelError, match="quantized_bias_type"):
        Interpreter(model_content=no_code).allocate_tensors()
    bad_in = op_model("FULLY_CONNECTED",
                      [spec((1, 7), np.int16, 0.01), spec((4, 8), np.int8, 0.01, data=w)],
                      [spec((1, 4), np.int16, 0.01)], {}, version=7)
    with pytest.raises(ModelError, match="multiple"):
        Interpreter(model_content=bad_in).allocate_tensors()


@pytest.mark.parametrize("case", range(12))
def test_fully_connected_16x8_against_tflite_micro(case):
    """TFLite Micro requantizes with MultiplyByQuantizedMultiplier (int64 overload):
    microdl's rounding="tflm"."""
    from tflite_micro.python.tflite_micro import runtime

    rng = np.random.default_rng(100 + case)
    batches, depth, out = int(rng.integers(1, 4)), int(rng.integers(1, 70)), \
        int(rng.integers(1, 20))
    model, *_ = fc16_model(rng, batches, depth, out, bool(case % 2),
                           [np.int64, None, np.int32][case % 3], [0, 1, 3][(case // 3) % 3])
    x = rng.integers(-32768, 32768, (batches, depth)).astype(np.int16)
    it = runtime.Interpreter.from_bytes(model)
    it.set_input(x, 0)
    it.invoke()
    got, = run_microdl(model, [x], rounding="tflm")
    np.testing.assert_array_equal(got, it.get_output(0))
