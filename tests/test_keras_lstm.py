"""Keras LSTM layers exported by TensorFlow, through microdl-convert.

The models under tests/data/ were written by tools/make_recurrent_models.py (needs
TensorFlow; CI does not): one network, input (1, 8, 8), LSTM(16) + Dense(10) softmax
(and an LSTM(16, return_sequences=True) variant), from Keras 2 (tf_keras: one fused
UNIDIRECTIONAL_SEQUENCE_LSTM) and from Keras 3 (a WHILE loop), with the Keras
weights, 16 inputs and TensorFlow's float outputs in keras_lstm[_seq].npz.

- Keras 2: FloatExecutor against TensorFlow's float outputs; microdl-convert's int8
  model bit-identical in LiteRT BUILTIN_REF and microdl, close to float;
- Keras 3: the WHILE loop folded into one fused LSTM (fuse_keras_lstm) computes what
  TensorFlow computed (FloatExecutor, LiteRT float) with the Keras weights in TFLite's
  gate slots; its int8 model bit-identical in LiteRT and microdl; the CLI end to end;
- strictness: loops that differ from a Keras LSTM in one place are left alone and
  conversion names WHILE and what differs.

Oracles: TensorFlow's own float outputs (saved), the Keras weights (saved), LiteRT's
reference kernels."""
from __future__ import annotations

import copy
import zlib
import pathlib

import numpy as np
import pytest

import microdl
from microdl.evaluation import quantize
from microdl.floatexec.executor import FloatExecutor
from microdl.quant.convert import QuantizationError, quantize_graph
from microdl.quant.rewrite_lstm import fuse_keras_lstm, why_not_keras_lstm
from microdl.tflite.reader import read_model
from microdl.tflite.writer import write_model
from tests.oplib import reference_interpreter

DATA = pathlib.Path(__file__).parent / "data"
LSTM_OP = "UNIDIRECTIONAL_SEQUENCE_LSTM"
VARIANTS = {"last": "", "sequences": "_seq"}


def _load(keras, variant):
    suffix = VARIANTS[variant]
    content = (DATA / f"keras{keras}_lstm{suffix}.tflite").read_bytes()
    return content, dict(np.load(DATA / f"keras_lstm{suffix}.npz"))


def _calibration(ref, n=96, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, 8, 8)).astype(np.float32)
    return [np.concatenate([ref["x"], x])]


def test_data_files_are_small_and_of_the_expected_form():
    for f in DATA.glob("keras*"):
        assert f.stat().st_size < 100_000, f
    for variant in VARIANTS:
        g2 = read_model(_load(2, variant)[0])
        assert LSTM_OP in [op.name for op in g2.ops] and g2.num_subgraphs == 1
        g3 = read_model(_load(3, variant)[0])
        assert "WHILE" in [op.name for op in g3.ops] and len(g3.subgraphs) == 2
        assert LSTM_OP not in [op.name for op in g3.ops]


def _run_float_litert(content, xs):
    it = reference_interpreter(model_content=content)
    d, o = it.get_input_details()[0], it.get_output_details()[0]
    out = []
    for x in xs:
        it.reset_all_variables()
        it.set_tensor(d["index"], x[None])
        it.invoke()
        out.append(it.get_tensor(o["index"])[0])
    return np.stack(out)


def _check_int8(graph, ref, n_invokes=16):
    """Convert; the int8 model runs bit-identically in LiteRT and microdl (state reset
    sometimes, carried over otherwise) and is close to TensorFlow's float outputs."""
    result = quantize_graph(graph, _calibration(ref), progress=False)
    tfl = write_model(result.graph)
    assert [op.name for op in read_model(tfl).ops].count(LSTM_OP) == 1
    lit = reference_interpreter(model_content=tfl)
    ours = microdl.Interpreter(model_content=tfl)
    ours.allocate_tensors()
    d, o = ours.get_input_details()[0], ours.get_output_details()[0]
    assert d["dtype"] == np.int8 and o["dtype"] == np.int8
    op = next(op for op in read_model(tfl).ops if op.name == LSTM_OP)
    scale, zp = o["quantization"]
    errs = []
    for k, x in enumerate(ref["x"][:n_invokes]):
        carry = k % 4 == 3  # state carried over from the previous invoke
        if not carry:
            lit.reset_all_variables()
            ours.reset_all_variables()
        for it in (lit, ours):
            it.set_tensor(d["index"], quantize(x[None], d))
            it.invoke()
        for i in (o["index"], op.inputs[18], op.inputs[19]):
            want, got = lit.get_tensor(i), ours.get_tensor(i)
            assert want.dtype == got.dtype
            np.testing.assert_array_equal(got, want, err_msg=f"invoke {k} tensor {i}")
        if not carry:
            y = (ours.get_tensor(o["index"]).astype(np.float64) - zp) * scale
            errs.append(np.abs(y[0] - ref["y_keras"][k]).max())
    return max(errs), scale


# ------------------------------------------------------------------ Keras 2
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_keras2_fused_lstm_float_matches_tensorflow(variant):
    content, ref = _load(2, variant)
    y = FloatExecutor(read_model(content)).run([ref["x"]])[0]
    np.testing.assert_allclose(y, ref["y_keras2"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(y, ref["y_keras"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_keras2_fused_lstm_int8_bit_identical_and_close(variant):
    content, ref = _load(2, variant)
    err, scale = _check_int8(read_model(content), ref)
    assert err < 8 * scale, (err, scale)


# ------------------------------------------------------------------ Keras 3
def _keras_gates(w, u):
    """Keras's i, f, c, o column blocks of a (in, 4U) kernel, each as TFLite's (U, in)
    rows."""
    return [w[:, k * u:(k + 1) * u].T for k in range(4)]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_keras3_loop_folds_into_one_fused_lstm(variant):
    content, ref = _load(3, variant)
    g = fuse_keras_lstm(read_model(content))
    names = [op.name for op in g.ops]
    if variant == "last":
        assert names == [LSTM_OP, "STRIDED_SLICE", "FULLY_CONNECTED", "SOFTMAX"]
    else:
        assert names == [LSTM_OP]
    assert g.num_subgraphs == 1 and g.subgraphs == []
    op = g.ops[0]
    assert len(op.inputs) == 24 and op.inputs[0] == g.inputs[0]
    assert [k for k, t in enumerate(op.inputs) if t < 0] == [9, 10, 11, 16, 17, 20, 21,
                                                              22, 23]
    assert not op.options["time_major"] and op.options["cell_clip"] == 0.0
    u = 16
    want = (_keras_gates(ref["kernel"], u) + _keras_gates(ref["recurrent_kernel"], u) +
            [ref["bias"][k * u:(k + 1) * u] for k in range(4)])
    slots = list(range(1, 9)) + list(range(12, 16))
    for k, w in zip(slots, want):
        np.testing.assert_array_equal(g.tensors[op.inputs[k]].data, w, err_msg=f"slot {k}")
    for k in (18, 19):
        t = g.tensors[op.inputs[k]]
        assert t.is_variable and t.data is None and t.shape == (1, u)
    # every tensor is used (no leftovers of the loop)
    used = set(g.inputs) | set(g.outputs)
    for o in g.ops:
        used.update(t for t in o.inputs + o.outputs if t >= 0)
    assert used == set(range(len(g.tensors)))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_keras3_folded_float_matches_tensorflow(variant):
    content, ref = _load(3, variant)
    g = fuse_keras_lstm(read_model(content))
    y = FloatExecutor(g).run([ref["x"]])[0]
    np.testing.assert_allclose(y, ref["y_keras3"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(y, ref["y_keras"], rtol=0, atol=1e-5)
    # written out, LiteRT's float kernel agrees too
    np.testing.assert_allclose(_run_float_litert(write_model(g), ref["x"]),
                               ref["y_keras3"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_keras3_int8_bit_identical_and_close(variant):
    content, ref = _load(3, variant)
    err, scale = _check_int8(read_model(content), ref)  # quantize_graph folds it
    assert err < 8 * scale, (err, scale)


def test_gate_roles_come_from_the_equations_not_the_split_order():
    """Permute the SPLIT's four outputs and the weight / bias blocks with them: the
    loop computes the same, and so must the fused LSTM (it names each gate by its
    role in the cell equations)."""
    content, ref = _load(3, "last")
    g = copy.deepcopy(read_model(content))
    b = _body(g)
    split = _first(b, "SPLIT")
    perm = [2, 0, 3, 1]  # new block k holds old block perm[k]
    split.outputs = [split.outputs[perm[k]] for k in range(4)]
    u = 16
    rows = np.concatenate([np.arange(p * u, (p + 1) * u) for p in perm])
    for op in b.ops:
        if op.name == "FULLY_CONNECTED":
            _set_const(b, op.inputs[1], b.tensors[op.inputs[1]].data[rows])
    bias = next(t for t in b.tensors if t.data is not None and t.shape == (4 * u,))
    _set_const(b, bias.index, bias.data[rows])
    fused = fuse_keras_lstm(g)
    assert fused.ops[0].name == LSTM_OP
    y = FloatExecutor(fused).run([ref["x"]])[0]
    np.testing.assert_allclose(y, ref["y_keras3"], rtol=0, atol=1e-5)


def test_fuse_without_a_loop_returns_the_graph_itself():
    g = read_model(_load(2, "last")[0])
    assert fuse_keras_lstm(g) is g


def test_microdl_convert_cli_on_a_keras3_lstm(tmp_path):
    from microdl.cli.convert import main

    content, ref = _load(3, "last")
    src = tmp_path / "keras3.tflite"
    src.write_bytes(content)
    np.save(tmp_path / "cal.npy", _calibration(ref)[0])
    out = tmp_path / "keras3_int8.tflite"
    assert main([str(src), "-o", str(out), "--calibration-data",
                 str(tmp_path / "cal.npy"), "--no-progress"]) in (0, None)
    tfl = out.read_bytes()
    assert [op.name for op in read_model(tfl).ops] == [LSTM_OP, "STRIDED_SLICE",
                                                       "FULLY_CONNECTED", "SOFTMAX"]
    lit = reference_interpreter(model_content=tfl)
    ours = microdl.Interpreter(model_content=tfl)
    ours.allocate_tensors()
    d, o = ours.get_input_details()[0], ours.get_output_details()[0]
    hits = 0
    for k, x in enumerate(ref["x"]):
        for it in (lit, ours):
            it.reset_all_variables()
            it.set_tensor(d["index"], quantize(x[None], d))
            it.invoke()
        got = ours.get_tensor(o["index"])
        np.testing.assert_array_equal(got, lit.get_tensor(o["index"]))
        hits += int(np.argmax(got) == np.argmax(ref["y_keras"][k]))
    assert hits >= 15  # top-1 as the float model's on the 16 reference inputs


# ------------------------------------------------------------------ strictness
def _body(g):
    return g.subgraphs[g.ops[1].options["body_subgraph_index"] - 1]


def _first(sub, name, k=0):
    return [op for op in sub.ops if op.name == name][k]


def _set_const(g_or_sub, t, value):
    tensor = g_or_sub.tensors[t]
    v = np.array(value, dtype=tensor.dtype).reshape(tensor.shape)
    v.flags.writeable = False
    tensor.data = v


def _mutate_recurrent_activation(g):  # recurrent_activation="hard_sigmoid"-like
    _first(_body(g), "LOGISTIC", 1).name = "HARD_SWISH"


def _mutate_cell_activation(g):  # activation="relu"
    _first(_body(g), "TANH", 1).name = "RELU"


def _mutate_initial_state(g):
    _set_const(g, g.ops[1].inputs[3], np.full((1, 16), 0.5))


def _mutate_loop_bound(g):
    cond = g.subgraphs[g.ops[1].options["cond_subgraph_index"] - 1]
    _set_const(cond, _first(cond, "LESS").inputs[1], 7)


def _mutate_gather_index(g):  # x_t read at the step counter, not the time index
    b = _body(g)
    _first(b, "GATHER").inputs[1] = b.inputs[0]


def _mutate_swapped_gate_roles(g):  # f * tanh(c_in) instead of i * tanh(...)
    b = _body(g)
    split = _first(b, "SPLIT")
    mul_f = next(op for op in b.ops if op.name == "MUL" and b.inputs[4] in op.inputs)
    sig = b.ops[[o.outputs[0] for o in b.ops].index(
        next(t for t in mul_f.inputs if t != b.inputs[4]))]
    sig.inputs = [split.outputs[2]]  # the forget gate reads the cell-input block


def _mutate_fused_activation(g):
    _first(_body(g), "ADD", 0).options["fused_activation_function"] = 1


def _mutate_counter_increment(g):
    b = _body(g)
    add = next(op for op in b.ops if op.name == "ADD" and b.inputs[1] in op.inputs)
    one = next(t for t in add.inputs if t != b.inputs[1])
    _set_const(b, one, 2)


def _mutate_final_cell_used(g):
    g.outputs = g.outputs + [g.ops[1].outputs[4]]


MUTATIONS = {f.__name__[len("_mutate_"):]: f for f in (
    _mutate_recurrent_activation, _mutate_cell_activation, _mutate_initial_state,
    _mutate_loop_bound, _mutate_gather_index, _mutate_swapped_gate_roles,
    _mutate_fused_activation, _mutate_counter_increment, _mutate_final_cell_used)}
REASONS = {"recurrent_activation": "HARD_SWISH", "cell_activation": "RELU",
           "initial_state": "initial h", "loop_bound": "loop bound",
           "gather_index": "GATHER", "swapped_gate_roles": "gate",
           "fused_activation": "fused activation", "counter_increment": "increment",
           "final_cell_used": "result 4"}


def test_the_unmodified_loop_matches():
    g = read_model(_load(3, "last")[0])
    assert g.ops[1].name == "WHILE" and why_not_keras_lstm(g, g.ops[1]) == ""


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_a_loop_that_differs_is_left_alone_and_refused(name):
    content, ref = _load(3, "last")
    g = copy.deepcopy(read_model(content))
    MUTATIONS[name](g)
    reason = why_not_keras_lstm(g, g.ops[1])
    assert REASONS[name] in reason, reason
    fused = fuse_keras_lstm(g)
    assert fused is g and "WHILE" in [op.name for op in fused.ops]
    with pytest.raises(QuantizationError, match=r"op 1 \(WHILE\): only the WHILE loop "
                                                r"of a Keras 3 LSTM"):
        quantize_graph(g, _calibration(ref, n=4), progress=False)


def test_a_loop_without_its_subgraphs_is_refused():
    content, ref = _load(3, "last")
    g = copy.deepcopy(read_model(content))
    g.subgraphs = []
    assert "not loaded" in why_not_keras_lstm(g, g.ops[1])
    with pytest.raises(QuantizationError, match="WHILE"):
        quantize_graph(g, _calibration(ref, n=4), progress=False)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_rewired_loops_are_refused_or_still_exact(variant):
    """Point one operand of one op (the WHILE, or an op of cond or body) at another
    tensor of its subgraph, 150 times: the matcher never raises anything but NotKerasLSTM, and a
    loop it still accepts computes what TensorFlow computed (commuted operands)."""
    content, ref = _load(3, variant)
    base = read_model(content)
    loop = next(op for op in base.ops if op.name == "WHILE")
    rng = np.random.default_rng(zlib.crc32(variant.encode()))
    accepted = 0
    for _ in range(150):
        g = copy.deepcopy(base)
        k = rng.integers(0, 1 + len(g.subgraphs))
        sub = [g, *g.subgraphs][k]
        op = g.ops[loop.index] if k == 0 else sub.ops[rng.integers(0, len(sub.ops))]
        op.inputs[rng.integers(0, len(op.inputs))] = int(rng.integers(0, len(sub.tensors)))
        reason = why_not_keras_lstm(g, g.ops[loop.index])
        if reason:
            assert "WHILE" in reason
            continue
        accepted += 1
        y = FloatExecutor(fuse_keras_lstm(g)).run([ref["x"]])[0]
        np.testing.assert_allclose(y, ref["y_keras3"], rtol=0, atol=1e-5)
    assert accepted < 150
