"""microdl.train's LSTM (and Conv1D) from training to the integer runtime.

- gradients (backpropagation through time) against central finite differences;
- the float export (one UNIDIRECTIONAL_SEQUENCE_LSTM with TFLite's 24 input slots)
  against LiteRT's float kernel and FloatExecutor, both against the trainer's forward;
- microdl-convert's integer 8x8_16 LSTM: bit-identical in LiteRT BUILTIN_REF and
  microdl over several sequences (with and without reset_all_variables() between
  invokes), quantization choices as TFLite's quantizer makes them, close to float;
- the per-layer report runs on it.

Oracles: finite differences; LiteRT's reference kernels (float and integer); a plain
numpy re-derivation of the LSTM equations in this file."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import microdl
from microdl.evaluation import layer_report, quantize
from microdl.floatexec.executor import FloatExecutor
from microdl.quant.convert import QuantizationError, quantize_graph
from microdl.tflite.reader import read_model
from microdl.tflite.writer import write_model
from microdl.train import LSTM, Adam, Conv1D, Dense, ReLU, Sequential, load
from tests.oplib import reference_interpreter
from tests.test_train import check_layer_gradients

LSTM_OP = "UNIDIRECTIONAL_SEQUENCE_LSTM"


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_lstm(x, kernel, rec, bias):
    """The LSTM equations, written out per gate in float64: (N, T, F) -> (N, T, U)."""
    u = rec.shape[1]
    n, steps, _ = x.shape
    h, c, out = np.zeros((n, u)), np.zeros((n, u)), []
    w = [kernel[k * u:(k + 1) * u] for k in range(4)]
    r = [rec[k * u:(k + 1) * u] for k in range(4)]
    b = [bias[k * u:(k + 1) * u] for k in range(4)]
    for t in range(steps):
        z = [x[:, t] @ w[k].T + h @ r[k].T + b[k] for k in range(4)]
        c = _sig(z[1]) * c + _sig(z[0]) * np.tanh(z[2])
        h = _sig(z[3]) * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)


# ------------------------------------------------------------------ training
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("shape,units", [((4, 3), 5), ((1, 2), 1), ((6, 1), 3)])
def test_lstm_gradients_match_finite_differences(shape, units, return_sequences):
    check_layer_gradients(LSTM(units, return_sequences=return_sequences), shape,
                          seed=zlib.crc32(repr((shape, units)).encode()))


def test_lstm_forward_matches_the_equations():
    layer = LSTM(7, return_sequences=True)
    rng = np.random.default_rng(3)
    layer.build((5, 4), rng)
    x = rng.normal(size=(3, 5, 4))
    p = {k: v.astype(np.float64) for k, v in layer.params.items()}
    layer.params = p
    want = numpy_lstm(x, p["kernel"], p["recurrent_kernel"], p["bias"])
    np.testing.assert_allclose(layer.forward(x), want, rtol=1e-12, atol=1e-12)
    layer.return_sequences = False
    np.testing.assert_allclose(layer.forward(x), want[:, -1], rtol=1e-12, atol=1e-12)


def test_lstm_init_and_bad_shapes():
    layer = LSTM(4)
    layer.build((3, 2), np.random.default_rng(0))
    assert layer.params["kernel"].shape == (16, 2)
    assert layer.params["recurrent_kernel"].shape == (16, 4)
    np.testing.assert_array_equal(layer.params["bias"][4:8], 1.0)  # forget gate
    with pytest.raises(ValueError, match="time, features"):
        LSTM(4).build((3, 2, 1), np.random.default_rng(0))
    with pytest.raises(ValueError, match="units"):
        LSTM(0)


def test_lstm_model_learns_and_round_trips(tmp_path):
    """A sequence task an MLP on one step cannot solve (the sign of the sum over
    time); save / load keeps the predictions."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 6, 2)).astype(np.float32)
    y = (x[..., 0].sum(axis=1) > 0).astype(np.int64)
    model = Sequential([LSTM(8), Dense(2)], input_shape=(6, 2), seed=0)
    model.compile("cross_entropy", Adam(2e-2))
    hist = model.fit(x, y, epochs=15, batch_size=32, progress=False)
    assert hist["accuracy"][-1] > 0.9
    path = tmp_path / "m.npz"
    model.save(path)
    np.testing.assert_array_equal(load(path).predict(x[:8]), model.predict(x[:8]))


# ------------------------------------------------------------------ export
def _model(return_sequences, units=6, steps=5, features=4, seed=1):
    layers = [LSTM(units, return_sequences=return_sequences)]
    if not return_sequences:
        layers.append(Dense(3))
    model = Sequential(layers, input_shape=(steps, features), seed=seed)
    rng = np.random.default_rng(seed)
    for k, v in model.layers[0].params.items():  # trained-looking, not the init
        model.layers[0].params[k] = (v + rng.normal(0, 0.3, v.shape)).astype(np.float32)
    return model


def test_export_slots():
    g = _model(False).to_graph()
    op = g.ops[0]
    assert op.name == LSTM_OP and len(op.inputs) == 24
    assert [k for k, t in enumerate(op.inputs) if t < 0] == [9, 10, 11, 16, 17, 20, 21,
                                                              22, 23]
    for k in range(1, 9):
        assert g.tensors[op.inputs[k]].shape == ((6, 4) if k < 5 else (6, 6))
    for k in (18, 19):
        t = g.tensors[op.inputs[k]]
        assert t.is_variable and t.data is None and t.shape == (1, 6)
    assert not op.options["time_major"] and op.options["fused_activation_function"] == 4
    assert [o.name for o in g.ops] == [LSTM_OP, "STRIDED_SLICE", "FULLY_CONNECTED"]
    assert g.tensors[g.ops[1].outputs[0]].shape == (1, 6)


@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_float_export_matches_litert_and_float_executor(return_sequences):
    model = _model(return_sequences)
    x = np.random.default_rng(2).normal(size=(4, 5, 4)).astype(np.float32)
    want = model.predict(x)
    got = FloatExecutor(model.to_graph()).run([x])[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    it = reference_interpreter(model_content=model.to_tflite())
    it.allocate_tensors()
    d, o = it.get_input_details()[0], it.get_output_details()[0]
    for k in range(len(x)):
        it.reset_all_variables()
        it.set_tensor(d["index"], x[k:k + 1])
        it.invoke()
        np.testing.assert_allclose(it.get_tensor(o["index"]), want[k:k + 1], rtol=1e-5,
                                   atol=1e-6)


# ------------------------------------------------------------------ converter
def _convert(model, n=128, seed=0, with_softmax=False):
    x = np.random.default_rng(seed).normal(size=(n,) + model.input_shape)
    graph = model.to_graph(with_softmax=with_softmax)
    result = quantize_graph(graph, [x.astype(np.float32)], progress=False)
    return graph, result, write_model(result.graph)


def test_converted_quantization_follows_tflite():
    graph, result, _ = _convert(_model(True))
    g = result.graph
    op = g.ops[0]
    x, y = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    assert x.dtype == np.int8 and y.dtype == np.int8
    for k in range(1, 9):
        w = g.tensors[op.inputs[k]]
        assert w.dtype == np.int8 and w.quant.zero_points.tolist() == [0]
        assert w.quant.scales.size == 1 and int(np.abs(w.data).max()) == 127
    for gate in range(4):
        b = g.tensors[op.inputs[12 + gate]]
        w = g.tensors[op.inputs[1 + gate]]
        assert b.dtype == np.int32
        assert b.quant.scales[0] == np.float32(x.quant.scales[0] * w.quant.scales[0])
    h, c = g.tensors[op.inputs[18]], g.tensors[op.inputs[19]]
    assert h.dtype == np.int8 and h.is_variable
    assert (h.quant.scales[0], h.quant.zero_points[0]) == (y.quant.scales[0],
                                                           y.quant.zero_points[0])
    assert c.dtype == np.int16 and c.quant.zero_points[0] == 0
    log2 = np.log2(float(c.quant.scales[0]))
    assert log2 == int(log2) and -15 <= log2 <= -9
    lo, hi = result.ranges[op.inputs[19]]
    amax = max(-lo, hi)
    assert 2.0 ** (log2 + 15) >= amax > 2.0 ** (log2 + 14)  # smallest power of two
    assert len(op.intermediates) == 5
    mids = [g.tensors[i] for i in op.intermediates]
    assert all(t.dtype == np.float32 and t.quant is None for t in mids[:4])
    assert mids[4].dtype == np.int8
    assert (mids[4].quant.scales[0], mids[4].quant.zero_points[0]) == (
        y.quant.scales[0], y.quant.zero_points[0])


CASES = {"last_softmax": (False, 6, 5, 4), "sequences": (True, 6, 5, 4),
         "one_unit": (False, 1, 3, 2), "wide": (False, 20, 8, 8),
         "long": (True, 5, 16, 3)}


@pytest.mark.parametrize("name", list(CASES))
def test_converted_model_bit_identical_in_litert_and_microdl(name):
    rs, units, steps, features = CASES[name]
    model = _model(rs, units, steps, features, seed=zlib.crc32(name.encode()))
    graph, _, tfl = _convert(model, with_softmax=not rs)
    ref = reference_interpreter(model_content=tfl)
    ref.allocate_tensors()
    ours = microdl.Interpreter(model_content=tfl)
    ours.allocate_tensors()
    d, o = ours.get_input_details()[0], ours.get_output_details()[0]
    op = read_model(tfl).ops[0]
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 1)
    xs = rng.normal(size=(8, steps, features)).astype(np.float32)
    for k, xk in enumerate(xs):
        if k % 3 == 0:  # reset sometimes; otherwise the state carries over
            ref.reset_all_variables()
            ours.reset_all_variables()
        q = quantize(xk[None], d)
        for it in (ref, ours):
            it.set_tensor(d["index"], q)
            it.invoke()
        for i in (o["index"], op.inputs[18], op.inputs[19]):
            want, got = ref.get_tensor(i), ours.get_tensor(i)
            assert want.dtype == got.dtype
            np.testing.assert_array_equal(got, want, err_msg=f"invoke {k} tensor {i}")


def test_converted_model_close_to_float():
    model = _model(True, units=8, steps=6, features=3)
    graph, _, tfl = _convert(model, n=256)
    ours = microdl.Interpreter(model_content=tfl)
    ours.allocate_tensors()
    d, o = ours.get_input_details()[0], ours.get_output_details()[0]
    x = np.random.default_rng(9).normal(size=(32, 6, 3)).astype(np.float32)
    want = model.predict(x)
    scale, zp = o["quantization"]
    errs = []
    for k in range(len(x)):
        ours.reset_all_variables()
        ours.set_tensor(d["index"], quantize(x[k:k + 1], d))
        ours.invoke()
        got = (ours.get_tensor(o["index"]).astype(np.float64) - zp) * scale
        errs.append(np.abs(got - want[k:k + 1]).max())
    assert max(errs) < 6 * scale, (max(errs), scale)


def test_microdl_convert_cli_on_a_trained_lstm(tmp_path, capsys):
    """microdl-convert, from the trainer's .npz, writes a model LiteRT runs like
    microdl."""
    from microdl.cli.convert import main

    model = _model(False)
    model.save(tmp_path / "m.npz")
    x = np.random.default_rng(8).normal(size=(64, 5, 4)).astype(np.float32)
    np.save(tmp_path / "cal.npy", x)
    out = tmp_path / "m_int8.tflite"
    assert main([str(tmp_path / "m.npz"), "-o", str(out), "--calibration-data",
                 str(tmp_path / "cal.npy"), "--no-progress"]) in (0, None)
    assert LSTM_OP in capsys.readouterr().out  # the per-layer report's row
    tfl = out.read_bytes()
    assert [op.name for op in read_model(tfl).ops][0] == LSTM_OP
    ref = reference_interpreter(model_content=tfl)
    ref.allocate_tensors()
    ours = microdl.Interpreter(model_content=tfl)
    ours.allocate_tensors()
    d, o = ours.get_input_details()[0], ours.get_output_details()[0]
    for xk in x[:4]:
        for it in (ref, ours):
            it.reset_all_variables()
            it.set_tensor(d["index"], quantize(xk[None], d))
            it.invoke()
        np.testing.assert_array_equal(ours.get_tensor(o["index"]),
                                      ref.get_tensor(o["index"]))


def test_converter_refuses_lstm_forms_it_cannot_quantize():
    graph = _model(False).to_graph()
    op = graph.ops[0]
    peep = graph.tensors[op.inputs[12]]  # any (units,) float constant will do
    op.inputs[10] = peep.index
    with pytest.raises(QuantizationError, match="peephole"):
        quantize_graph(graph, [np.zeros((2, 5, 4), np.float32)], progress=False)
    graph = _model(False).to_graph()
    graph.ops[0].inputs[1] = graph.ops[0].inputs[5] = graph.ops[0].inputs[12] = -1
    with pytest.raises(QuantizationError, match="CIFG"):
        quantize_graph(graph, [np.zeros((2, 5, 4), np.float32)], progress=False)


def test_layer_report_has_an_lstm_row():
    model = _model(False)
    graph, _, tfl = _convert(model, with_softmax=True)
    x = np.random.default_rng(4).normal(size=(16, 5, 4)).astype(np.float32)
    report = layer_report(graph, tfl, [x], labels=np.zeros(16, np.int64), progress=False)
    rows = {r["op"]: r for r in report["tensors"]}
    assert LSTM_OP in rows and rows[LSTM_OP]["sqnr_db"] > 20, rows.get(LSTM_OP)
    assert report["model"]["samples"] == 16


# ------------------------------------------------------------------ Conv1D
CONV1D = {"same": dict(filters=3, kernel_size=3),
          "valid_stride2": dict(filters=2, kernel_size=2, strides=2, padding="valid"),
          "dilated_nobias": dict(filters=4, kernel_size=3, dilation=2, use_bias=False)}


@pytest.mark.parametrize("name", list(CONV1D))
def test_conv1d_gradients_match_finite_differences(name):
    check_layer_gradients(Conv1D(**CONV1D[name]), (7, 3), seed=zlib.crc32(name.encode()))


def test_conv1d_forward_matches_direct_sum():
    layer = Conv1D(2, 3, padding="valid")
    rng = np.random.default_rng(0)
    layer.build((6, 2), rng)
    x = rng.normal(size=(2, 6, 2)).astype(np.float32)
    k, b = layer.params["kernel"][:, 0], layer.params["bias"] + 0.5
    layer.params["bias"] = b
    want = np.stack([np.einsum("ntc,ftc->nf", x[:, t:t + 3], k) + b for t in range(4)],
                    axis=1)
    np.testing.assert_allclose(layer.forward(x), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="int"):
        Conv1D(2, (3, 3))


def _conv_lstm_model():
    model = Sequential([Conv1D(6, 3, padding="same"), ReLU(), LSTM(5), Dense(4)],
                       input_shape=(7, 3), seed=4)
    rng = np.random.default_rng(4)
    for layer in model.layers:
        for k, v in layer.params.items():
            layer.params[k] = (v + rng.normal(0, 0.2, v.shape)).astype(np.float32)
    return model


def test_conv1d_lstm_export_matches_litert_float():
    model = _conv_lstm_model()
    g = model.to_graph()
    assert [o.name for o in g.ops] == ["RESHAPE", "CONV_2D", "RESHAPE", LSTM_OP,
                                       "STRIDED_SLICE", "FULLY_CONNECTED"]
    assert g.ops[1].options["fused_activation_function"] == 1  # ReLU fused
    x = np.random.default_rng(5).normal(size=(3, 7, 3)).astype(np.float32)
    want = model.predict(x)
    it = reference_interpreter(model_content=model.to_tflite())
    it.allocate_tensors()
    d, o = it.get_input_details()[0], it.get_output_details()[0]
    for k in range(len(x)):
        it.reset_all_variables()
        it.set_tensor(d["index"], x[k:k + 1])
        it.invoke()
        np.testing.assert_allclose(it.get_tensor(o["index"]), want[k:k + 1], rtol=1e-5,
                                   atol=1e-6)


def test_conv1d_lstm_int8_bit_identical_in_litert_and_microdl():
    model = _conv_lstm_model()
    _, _, tfl = _convert(model, with_softmax=True)
    ref = reference_interpreter(model_content=tfl)
    ref.allocate_tensors()
    ours = microdl.Interpreter(model_content=tfl)
    ours.allocate_tensors()
    d, o = ours.get_input_details()[0], ours.get_output_details()[0]
    for xk in np.random.default_rng(6).normal(size=(6, 7, 3)).astype(np.float32):
        for it in (ref, ours):
            it.reset_all_variables()
            it.set_tensor(d["index"], quantize(xk[None], d))
            it.invoke()
        np.testing.assert_array_equal(ours.get_tensor(o["index"]),
                                      ref.get_tensor(o["index"]))


# ------------------------------------------------- a third-party LSTM topology
def _float_twin(content):
    """The float model behind an integer LSTM model: every quantized constant
    dequantized (real = scale * (q - zero_point)), every quantized activation and state
    float32; the old intermediates become empty constants no op reads."""
    from microdl.floatexec.ops import dequantize

    g = read_model(content)
    mids = {i for op in g.ops for i in op.intermediates}
    for op in g.ops:
        op.intermediates = []
    for t in g.tensors:
        if t.index in mids:
            t.dtype, t.quant, t.data = np.dtype(np.float32), None, np.zeros(0, np.float32)
            continue
        if t.quant is None or t.dtype not in (np.int8, np.int16, np.int32):
            continue
        if t.data is not None:
            q = t.quant
            t.data = np.asarray(dequantize(t.data, q.scales, q.zero_points,
                                           q.quantized_dimension), np.float32)
        t.dtype, t.quant = np.dtype(np.float32), None
    return g


def test_requantized_trained_lstm_bit_identical_in_litert_and_microdl():
    """tflm's trained_lstm_int8 (28 steps of 28 pixels, 20 units, cell_clip 10, RESHAPE,
    FULLY_CONNECTED, SOFTMAX) taken back to float and converted again: the converter's
    model runs bit-identically in LiteRT and microdl and agrees with the float one."""
    from tests.conftest import shared_model

    with open(shared_model("tflm", "trained_lstm_int8.tflite"), "rb") as f:
        graph = _float_twin(f.read())
    rng = np.random.default_rng(12)
    cal = rng.uniform(0, 1, (64, 28, 28)).astype(np.float32)
    result = quantize_graph(graph, [cal], progress=False)
    tfl = write_model(result.graph)
    op = result.graph.ops[0]
    assert op.name == LSTM_OP and op.options["cell_clip"] == 10.0
    ref = reference_interpreter(model_content=tfl)
    ref.allocate_tensors()
    ours = microdl.Interpreter(model_content=tfl)
    ours.allocate_tensors()
    d, o = ours.get_input_details()[0], ours.get_output_details()[0]
    xs = rng.uniform(0, 1, (6, 28, 28)).astype(np.float32)
    want = FloatExecutor(graph).run([xs])[0]
    for k, xk in enumerate(xs):
        if k != 3:  # invoke 3 carries the state of invoke 2
            ref.reset_all_variables()
            ours.reset_all_variables()
        for it in (ref, ours):
            it.set_tensor(d["index"], quantize(xk[None], d))
            it.invoke()
        for i in (o["index"], op.inputs[18], op.inputs[19]):
            np.testing.assert_array_equal(ours.get_tensor(i), ref.get_tensor(i),
                                          err_msg=f"invoke {k} tensor {i}")
        if k != 3:
            scale, zp = o["quantization"]
            got = (ours.get_tensor(o["index"]).astype(np.float64) - zp) * scale
            assert np.abs(got - want[k]).max() < 0.02, np.abs(got - want[k]).max()
