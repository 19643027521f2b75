"""UNIDIRECTIONAL_SEQUENCE_LSTM, integer 8x8_16: microdl against LiteRT's reference
kernels (BUILTIN_REF) and against the numpy reference (microdl/reference/lstm.py), bit
for bit, over sequences of invokes with and without reset_all_variables() between them
(the output and cell state are variable tensors that persist across invokes).

Oracles: LiteRT BUILTIN_REF; the numpy reference (written from TFLite's lstm_eval.cc
and gemmlowp, sharing no code with the preparer); the float sigmoid / tanh for the
reference's int16 fixed point."""
import math
import zlib

import numpy as np
import pytest

import microdl
from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.core.graph import Graph, Op
from microdl.reference.lstm import lstm_8x8_16, sigmoid16, tanh16
from microdl.tflite.reader import read_model
from microdl.tflite.writer import write_model
from tests.conftest import shared_model
from tests.oplib import _tensor, reference_interpreter, spec

MODEL = ("tflm", "trained_lstm_int8.tflite")
LSTM_OUT, OUT_STATE, CELL_STATE = 23, 16, 17


# --------------------------------------------------------------- the tflm model
def _sequence_inputs(rng, detail, n):
    """n int8 inputs: uniform over the full range, and a narrower 'image-like' half."""
    shape = tuple(detail["shape"])
    xs = []
    for k in range(n):
        if k % 2:
            x = rng.integers(-128, 128, shape)
        else:
            x = np.clip(rng.normal(-60, 50, shape), -128, 127)
        xs.append(np.asarray(x, np.int64).astype(np.int8))
    return xs


def test_trained_lstm_bit_exact_with_litert_across_invokes():
    """12 random sequences through the whole model, invoked one after the other with
    the state carried, reset after the 4th and the 9th: the LSTM output, the output
    and cell state and the model output equal LiteRT's after every invoke."""
    path = shared_model(*MODEL)
    ref = reference_interpreter(model_path=path, experimental_preserve_all_tensors=True)
    ours = microdl.Interpreter(model_path=path, experimental_preserve_all_tensors=True)
    ours.allocate_tensors()
    detail = ours.get_input_details()[0]
    rng = np.random.default_rng(zlib.crc32(b"trained_lstm"))
    cells = set()
    for k, x in enumerate(_sequence_inputs(rng, detail, 12)):
        if k in (4, 9):
            ref.reset_all_variables()
            ours.reset_all_variables()
        ref.set_tensor(detail["index"], x)
        ours.set_tensor(detail["index"], x)
        ref.invoke()
        ours.invoke()
        for i in (LSTM_OUT, OUT_STATE, CELL_STATE, ours.get_output_details()[0]["index"]):
            want, got = ref.get_tensor(i), ours.get_tensor(i)
            assert want.dtype == got.dtype and want.shape == got.shape
            assert np.array_equal(want, got), (k, i, int((want != got).sum()))
        cells.add(ours.get_tensor(CELL_STATE).tobytes())
    assert len(cells) == 12  # the state really moves


def test_trained_lstm_state_persists_and_resets():
    """Invoking twice on the same input gives different LSTM outputs (the state was
    carried), equal to LiteRT's; after reset_all_variables() the first output comes
    back; the states start at their zero points after allocate_tensors()."""
    path = shared_model(*MODEL)
    ours = microdl.Interpreter(model_path=path, experimental_preserve_all_tensors=True)
    ours.allocate_tensors()
    ref = reference_interpreter(model_path=path, experimental_preserve_all_tensors=True)
    zp = ours.get_tensor_details()[OUT_STATE]["quantization"][1]
    assert np.all(ours.get_tensor(OUT_STATE) == zp)
    assert np.all(ours.get_tensor(CELL_STATE) == 0)
    x = np.random.default_rng(5).integers(-128, 128, (1, 28, 28)).astype(np.int8)
    outs = []
    for _ in range(2):
        for it in (ours, ref):
            it.set_tensor(0, x)
            it.invoke()
        assert np.array_equal(ours.get_tensor(LSTM_OUT), ref.get_tensor(LSTM_OUT))
        outs.append(ours.get_tensor(LSTM_OUT))
    assert not np.array_equal(outs[0], outs[1])
    ours.reset_all_variables()
    assert np.all(ours.get_tensor(OUT_STATE) == zp)
    ours.set_tensor(0, x)
    ours.invoke()
    assert np.array_equal(ours.get_tensor(LSTM_OUT), outs[0])


def test_trained_lstm_matches_numpy_reference():
    path = shared_model(*MODEL)
    g = read_model(open(path, "rb").read())
    ours = microdl.Interpreter(model_path=path, experimental_preserve_all_tensors=True)
    ours.allocate_tensors()
    h = ours.get_tensor(OUT_STATE)
    c = ours.get_tensor(CELL_STATE)
    rng = np.random.default_rng(11)
    for x in _sequence_inputs(rng, ours.get_input_details()[0], 4):
        ours.set_tensor(0, x)
        ours.invoke()
        want, h, c = lstm_8x8_16(g.ops[0], g, x, h, c)
        assert np.array_equal(ours.get_tensor(LSTM_OUT), want)
        assert np.array_equal(ours.get_tensor(CELL_STATE), c)


# -------------------------------------------------- int16 fixed point (reference)
def test_reference_sigmoid_tanh_close_to_float():
    """The reference's gemmlowp int16 sigmoid (Q3.12) and tanh (Q3.12, Q4.11) are
    within a few Q0.15 steps of the real functions over every int16 input."""
    for v in range(-32768, 32768, 7):
        s = 1.0 / (1.0 + math.exp(-v / 4096.0))
        assert abs(sigmoid16(v) / 32768.0 - s) < 3e-4, v
        for ib in (3, 4):
            t = math.tanh(v / 2.0 ** (15 - ib))
            assert abs(tanh16(v, ib) / 32768.0 - t) < 4e-4, (v, ib)


# ------------------------------------------------------------ one-op models
def lstm_model(rng, n_batch, n_time, n_input, n_cell, *, time_major=False, cifg=False,
               peephole=False, projection=0, proj_bias=True, cell_clip=0.0,
               proj_clip=0.0, cell_log2=-12, hidden_zp=0, layer_norm=False,
               activation=4, per_channel=False, float_model=False, variables=True,
               intermediates=5):
    """A one-op integer UNIDIRECTIONAL_SEQUENCE_LSTM; projection: n_output (0: none).
    Returns the .tflite bytes."""
    n_output = projection or n_cell
    specs, inputs = [], []

    def add(s, variable=False):
        specs.append((s, variable))
        return len(specs) - 1

    def none():
        inputs.append(-1)

    in_scale, in_zp = 1 / 100.0, int(rng.integers(-20, 20))
    os_scale, os_zp = 1 / 128.0, int(rng.integers(-10, 10))
    shape = (n_time, n_batch, n_input) if time_major else (n_batch, n_time, n_input)
    f32 = np.float32 if float_model else None
    inputs.append(add(spec(shape, f32 or np.int8, None if f32 else in_scale, in_zp)))

    def weights(rows, cols, x_scale):
        scale = float(rng.uniform(0.004, 0.02))
        data = rng.integers(-127, 128, (rows, cols)).astype(np.int8)
        if f32:
            return add(spec((rows, cols), np.float32, data=data * scale))
        if per_channel:
            return add(spec((rows, cols), np.int8, data=data, scales=[scale] * rows))
        return add(spec((rows, cols), np.int8, scale, 0, data=data)), scale

    w_scales = {}
    for g in range(4):  # input-to-gate
        if g == 0 and cifg:
            none()
            continue
        r = weights(n_cell, n_input, in_scale)
        inputs.append(r if f32 or per_channel else r[0])
        w_scales[("i", g)] = None if f32 or per_channel else r[1]
    for g in range(4):  # recurrent-to-gate
        if g == 0 and cifg:
            none()
            continue
        r = weights(n_cell, n_output, os_scale)
        inputs.append(r if f32 or per_channel else r[0])
    for g in (0, 1, 3):  # peephole
        if not peephole or (g == 0 and cifg):
            none()
            continue
        inputs.append(add(spec((n_cell,), np.int16, 2.0 ** -12 * rng.uniform(0.5, 2),
                               data=rng.integers(-4000, 4000, n_cell))))
    for g in range(4):  # biases
        if g == 0 and cifg:
            none()
            continue
        scale = in_scale * (w_scales.get(("i", g)) or 0.01)
        inputs.append(add(spec((n_cell,), np.int32, scale,
                               data=rng.integers(-30000, 30000, n_cell))))
    if projection:
        inputs.append(add(spec((n_output, n_cell), np.int8, float(rng.uniform(0.01, 0.03)),
                               data=rng.integers(-127, 128, (n_output, n_cell)))))
        if proj_bias:
            inputs.append(add(spec((n_output,), np.int32, 1e-4,
                                   data=rng.integers(-3000, 3000, n_output))))
        else:
            none()
    else:
        none()
        none()
    inputs.append(add(spec((n_batch, n_output), np.int8, os_scale, os_zp),
                      variable=variables))
    inputs.append(add(spec((n_batch, n_cell), np.int16, 2.0 ** cell_log2, 0),
                      variable=variables))
    for g in range(4):  # layer norm coefficients
        if layer_norm and not (g == 0 and cifg):
            inputs.append(add(spec((n_cell,), np.int16, float(rng.uniform(2e-5, 1e-4)),
                                   data=rng.integers(1000, 30000, n_cell))))
        else:
            none()
    if layer_norm:  # the gates' scales before layer norm
        mids = [add(spec((0,), np.int16, float(rng.uniform(2e-4, 2e-3)), 0))
                for _ in range(4)]
    else:
        mids = [add(spec((0,), np.float32)) for _ in range(4)]
    mids.append(add(spec((0,), np.int8, 2.0 ** -7, hidden_zp)))
    out = add(spec(shape[:2] + (n_output,), np.int8, os_scale, os_zp))
    tensors = []
    for i, (s, var) in enumerate(specs):
        t = _tensor(s, i, f"t{i}")
        t.is_variable = var
        tensors.append(t)
    options = dict(fused_activation_function=activation, cell_clip=cell_clip,
                   proj_clip=proj_clip, time_major=time_major,
                   asymmetric_quantize_inputs=False,
                   _options_type="UnidirectionalSequenceLSTMOptions")
    op = Op(index=0, name="UNIDIRECTIONAL_SEQUENCE_LSTM", version=1, inputs=inputs,
            outputs=[out], options=options, intermediates=mids[:intermediates])
    return write_model(Graph(tensors=tensors, ops=[op], inputs=[inputs[0]],
                             outputs=[out]))


def run_sequence(model, rng, n_invokes, reset_at=()):
    """Invoke microdl and LiteRT on the same random inputs n_invokes times (resetting
    both at the listed invokes); asserts the output and both states equal, and checks
    microdl against the numpy reference too.  Returns the number of distinct outputs."""
    ref = reference_interpreter(model_content=model)
    ours = microdl.Interpreter(model_content=model)
    ours.allocate_tensors()
    g = read_model(model)
    op = g.ops[0]
    x_d = ours.get_input_details()[0]
    h_i, c_i = op.inputs[18], op.inputs[19]
    y_i = ours.get_output_details()[0]["index"]
    h, c = ours.get_tensor(h_i), ours.get_tensor(c_i)
    seen = set()
    for k in range(n_invokes):
        if k in reset_at:
            ref.reset_all_variables()
            ours.reset_all_variables()
            h, c = ours.get_tensor(h_i), ours.get_tensor(c_i)
        x = rng.integers(-128, 128, tuple(x_d["shape"])).astype(np.int8)
        for it in (ref, ours):
            it.set_tensor(x_d["index"], x)
            it.invoke()
        for i in (y_i, h_i, c_i):
            want, got = ref.get_tensor(i), ours.get_tensor(i)
            assert want.dtype == got.dtype and want.shape == got.shape, i
            if not np.array_equal(want, got):
                d = np.argwhere(want != got)[0]
                raise AssertionError(f"invoke {k}, tensor {i}: {int((want != got).sum())}"
                                     f" differ, first at {d.tolist()}: litert "
                                     f"{want[tuple(d)]} microdl {got[tuple(d)]}")
        y, h, c = lstm_8x8_16(op, g, x, h, c)
        assert np.array_equal(ours.get_tensor(y_i), y), k
        assert np.array_equal(ours.get_tensor(c_i), c), k
        seen.add(y.tobytes())
    return len(seen)


SHAPES = [  # (batch, time, input, units)
    (1, 1, 1, 1), (1, 5, 3, 4), (2, 4, 7, 5), (3, 3, 16, 8), (1, 10, 28, 20),
    (4, 2, 5, 17), (2, 6, 33, 12),
]


@pytest.mark.parametrize("time_major", [False, True], ids=["batch_major", "time_major"])
@pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
def test_one_op_lstm_shapes(shape, time_major):
    n_batch, n_time, n_input, n_cell = shape
    rng = np.random.default_rng(zlib.crc32(repr((shape, time_major)).encode()))
    model = lstm_model(rng, n_batch, n_time, n_input, n_cell, time_major=time_major)
    run_sequence(model, rng, 4, reset_at=(2,))


VARIANTS = {
    "cifg": dict(cifg=True),
    "peephole": dict(peephole=True),
    "cifg_peephole": dict(cifg=True, peephole=True),
    "projection": dict(projection=6),
    "projection_no_bias": dict(projection=9, proj_bias=False),
    "projection_clip_hidden_zp": dict(projection=5, proj_clip=0.3, hidden_zp=7),
    "cell_clip": dict(cell_clip=1.5),
    "cell_scale_2^-11": dict(cell_log2=-11),
    "cell_scale_2^-15": dict(cell_log2=-15),
    "cell_scale_2^-9_clip": dict(cell_log2=-9, cell_clip=3.0),
    "hidden_zp": dict(hidden_zp=-5),
    "layer_norm": dict(layer_norm=True),
    "layer_norm_cifg": dict(layer_norm=True, cifg=True),
    "layer_norm_peephole": dict(layer_norm=True, peephole=True),
    "layer_norm_projection": dict(layer_norm=True, projection=5, hidden_zp=2),
    "layer_norm_cell_clip_time_major": dict(layer_norm=True, cell_clip=1.0,
                                            time_major=True),
    "everything": dict(cifg=True, peephole=False, projection=4, proj_clip=0.5,
                       cell_clip=2.0, hidden_zp=3, time_major=True),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_one_op_lstm_variants(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    model = lstm_model(rng, 2, 5, 6, 8, **VARIANTS[name])
    assert run_sequence(model, rng, 5, reset_at=(3,)) >= 4


# -------------------------------------------------------------- refused
REFUSED = {
    "activation_relu": (dict(activation=1), UnsupportedOpError, "fused activation"),
    "per_channel": (dict(per_channel=True), UnsupportedOpError, "per-channel"),
    "peephole_projection": (dict(peephole=True, projection=3), UnsupportedOpError,
                            "peephole"),
    "cell_scale_2^-16": (dict(cell_log2=-16), UnsupportedOpError, "cell state scale"),
    "cell_scale_2^-8": (dict(cell_log2=-8), UnsupportedOpError, "cell state scale"),
    "float": (dict(float_model=True), UnsupportedOpError, "8x8_16"),
    "states_not_variables": (dict(variables=False), ModelError, "nothing writes"),
    "four_intermediates": (dict(intermediates=4), ModelError, "5 intermediate"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_at_prepare(name):
    kwargs, exc, words = REFUSED[name]
    model = lstm_model(np.random.default_rng(0), 1, 3, 4, 4, **kwargs)
    with pytest.raises(exc, match=words):
        microdl.Interpreter(model_content=model)


def test_cell_scale_not_power_of_two_refused():
    g = read_model(lstm_model(np.random.default_rng(1), 1, 2, 3, 4))
    cs = g.tensors[g.ops[0].inputs[19]]
    cs.quant.scales = np.array([3e-4], np.float32)
    with pytest.raises(ModelError, match="power of two"):
        microdl.Interpreter(model_content=write_model(g))


def test_diagonal_recurrent_weights_and_2d_input_refused():
    g = read_model(lstm_model(np.random.default_rng(2), 1, 2, 3, 4))
    rec = g.tensors[g.ops[0].inputs[8]]
    rec.data = np.ascontiguousarray(rec.data[:, 0])
    rec.shape = rec.shape_signature = rec.data.shape
    with pytest.raises(UnsupportedOpError, match="diagonal"):
        microdl.Interpreter(model_content=write_model(g))
    g = read_model(lstm_model(np.random.default_rng(2), 1, 1, 3, 4))
    for i in (g.ops[0].inputs[0], g.ops[0].outputs[0]):
        t = g.tensors[i]
        t.shape = t.shape_signature = (1, t.shape[-1])
    with pytest.raises(ModelError, match="3-D"):
        microdl.Interpreter(model_content=write_model(g))
