"""SVDF, integer form (microdl/runtime/ops/svdf.py, cext/src/svdf_s8.c).

Oracles: TFLite Micro (pip tflite_micro) on keyword_scrambled_8bit.tflite (int8 state,
which LiteRT cannot run) with every tensor compared, state included, over sequences of
invokes with and without resets; LiteRT's reference kernels (BUILTIN_REF) on one-op
int16-state models of many shapes; TFLite Micro on one-op int8- and int16-state
models; and the numpy reference microdl/reference/svdf.py (written from the spec) on
all of them.  Every prepare-time refusal has a test."""
import time

import numpy as np
import pytest

import microdl
from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.core.graph import Graph, Op
from microdl.core.fixedpoint import ROUNDING_DOUBLE
from microdl.runtime.ops import PrepareContext
from microdl.runtime.ops.svdf import prepare_svdf
from microdl.reference.svdf import effective_scales, svdf_step
from microdl.tflite.reader import read_model
from microdl.tflite.writer import write_model
from tests.conftest import shared_model
from tests.oplib import _tensor, random_int, reference_interpreter, spec

from tflite_micro.python.tflite_micro import runtime as tflm_rt

KEYWORD = ("tflm", "keyword_scrambled_8bit.tflite")


# ------------------------------------------------------------------ model builder
def svdf_model(rng, batch=1, input_size=5, units=3, rank=2, memory=4, state=np.int16,
               bias=True, act=1, in_scale=0.05, in_zp=3, wf_scale=0.01, state_scale=0.5,
               state_zp=0, wt_scale=None, out_scale=0.05, out_zp=-5, overrides=None,
               version=3, variable=True, wf=None, wt=None, b=None, options=None,
               extra_inputs=(), graph_only=False):
    """A one-op SVDF model written with microdl's writer; the state is a variable
    tensor (not a model input).  Returns (model bytes, dict of the constants and
    scalars the numpy reference needs).  overrides: {tensor position: spec changes}
    to build invalid models; options: op options replacing rank / activation;
    extra_inputs: more tensor positions made model inputs; graph_only: return the Graph
    instead of the bytes (for shapes a file cannot hold)."""
    nf = units * rank
    if wt_scale is None:
        wt_scale = 2e-4 if state == np.int16 else 0.02
    wf = random_int(rng, (nf, input_size)) if wf is None else wf
    if wt is None:
        lim = 1 << 10 if state == np.int16 else 127  # 10-bit time weights, as TFLite's quantizer
        wt = rng.integers(-lim, lim + 1, (nf, memory)).astype(state)
    b_scale = float(np.float32(state_scale) * np.float32(wt_scale))
    if b is None:
        b = rng.integers(-20000, 20000, units).astype(np.int32)
    specs = [spec((batch, input_size), np.int8, in_scale, in_zp),
             spec((nf, input_size), np.int8, wf_scale, 0, data=wf),
             spec((nf, memory), state, wt_scale, 0, data=wt),
             spec((units,), np.int32, b_scale, 0, data=b),
             spec((batch, nf * memory), state, state_scale, state_zp),
             spec((batch, units), np.int8, out_scale, out_zp)]
    for k, change in (overrides or {}).items():
        specs[k] = dict(specs[k], **change)
    ts = [_tensor(s, i, f"t{i}") for i, s in enumerate(specs)]
    ts[4].is_variable = variable
    op = Op(index=0, name="SVDF", version=version, inputs=[0, 1, 2, 3 if bias else -1, 4],
            outputs=[5], options=dict(dict(rank=rank, fused_activation_function=act),
                                      **(options or {})))
    g = Graph(tensors=ts, ops=[op], inputs=([0] if variable else [0, 4]) + list(extra_inputs),
              outputs=[5])
    s1, s2 = effective_scales(in_scale, wf_scale, state_scale, wt_scale, out_scale)
    ref = dict(w_feature=wf, w_time=wt, bias=b if bias else None, rank=rank,
               input_zp=in_zp, state_zp=state_zp, output_zp=out_zp, scale1=s1,
               scale2=s2, state=np.full((batch, nf * memory), state_zp, state))
    return (g if graph_only else write_model(g)), ref


def microdl_interpreter(model, **kw):
    it = microdl.Interpreter(model_content=model, **kw)
    it.allocate_tensors()
    return it


def tflm_interpreter(model_bytes=None, path=None):
    cfg = tflm_rt.InterpreterConfig.kPreserveAllTensors
    if path is not None:
        return tflm_rt.Interpreter.from_file(path, arena_size=200_000,
                                             intrepreter_config=cfg)
    return tflm_rt.Interpreter.from_bytes(model_bytes, arena_size=200_000,
                                          intrepreter_config=cfg)


def step_reference(ref, x):
    """One invoke of the numpy reference; advances ref["state"]."""
    out, ref["state"] = svdf_step(x, ref["state"], ref["w_feature"], ref["w_time"],
                                  ref["bias"], ref["rank"], ref["input_zp"],
                                  ref["state_zp"], ref["output_zp"], ref["scale1"],
                                  ref["scale2"])
    return out


# ------------------------------------------------- keyword_scrambled vs TFLite Micro
def keyword_inputs(rng, n):
    """int16 inputs of the model (scale 1/1600): full range, small values and zeros."""
    xs = []
    for k in range(n):
        if k % 3 == 0:
            xs.append(random_int(rng, (1, 96), np.int16))
        elif k % 3 == 1:
            xs.append(np.clip(rng.normal(0, 800, (1, 96)), -32768, 32767).astype(np.int16))
        else:
            xs.append(np.zeros((1, 96), np.int16))
    return xs


def compare_all_tensors(ours, tflm, n_tensors, where):
    """Every tensor (inputs, activations, variable states, constants) equal."""
    compared = 0
    for i in range(n_tensors):
        want = np.asarray(tflm.GetTensor(i, 0)["tensor_data"])
        got = ours.get_tensor(i)
        np.testing.assert_array_equal(got, want.reshape(got.shape),
                                      err_msg=f"{where}: tensor {i}")
        compared += 1
    return compared


def test_keyword_scrambled_matches_tflite_micro():
    """keyword_scrambled_8bit (seven SVDFs with int8 state, 512 / 1024 entries): four
    sequences of 8 invokes; between sequences TFLite Micro's reset() and microdl's
    reset_all_variables(), except once (the state then carries on).  All 54 tensors are
    compared after every invoke, the 7 states included, and the states must have left
    their reset value (so the persistence is really tested).  The model's weights are
    scrambled: every SVDF output saturates to two values and only the first state
    follows the input, so the time-weight arithmetic is pinned by the one-op models
    below (test_matches_tflite_micro), not by this model."""
    path = shared_model(*KEYWORD)
    tflm = tflm_interpreter(path=path)
    ours = microdl.Interpreter(model_path=path, rounding="tflm",
                               experimental_preserve_all_tensors=True)
    ours.allocate_tensors()
    n_tensors = len(ours.get_tensor_details())
    assert n_tensors == 54
    inp = ours.get_input_details()[0]["index"]
    with open(path, "rb") as f:
        states = [t.index for t in read_model(f.read()).tensors if t.is_variable]
    assert len(states) == 7
    reset_values = {i: ours.get_tensor(i).copy() for i in states}
    rng = np.random.default_rng(11)
    compared = 0
    for seq in range(4):
        if seq in (1, 3):  # seq 2 continues from seq 1's state
            tflm.reset()
            ours.reset_all_variables()
            for i in states:
                np.testing.assert_array_equal(ours.get_tensor(i), reset_values[i])
        for k, x in enumerate(keyword_inputs(rng, 8)):
            tflm.set_input(x, 0)
            tflm.invoke()
            ours.set_tensor(inp, x)
            ours.invoke()
            compared += compare_all_tensors(ours, tflm, n_tensors, f"seq {seq} invoke {k}")
    assert compared == 4 * 8 * 54
    assert all(not np.array_equal(ours.get_tensor(i), reset_values[i]) for i in states)


@pytest.mark.parametrize("kw", [{}, dict(memory="small", preserve_inputs=False),
                                dict(num_threads=2)], ids=["fast", "small", "threads"])
def test_keyword_scrambled_arenas(kw):
    """Without preserved tensors (the planned arena, also memory="small" and two
    threads): the output after each of 12 invokes equals TFLite Micro's."""
    path = shared_model(*KEYWORD)
    tflm = tflm_rt.Interpreter.from_file(path, arena_size=200_000)
    ours = microdl.Interpreter(model_path=path, rounding="tflm", **kw)
    ours.allocate_tensors()
    d, o = ours.get_input_details()[0], ours.get_output_details()[0]
    for x in keyword_inputs(np.random.default_rng(3), 12):
        tflm.set_input(x, 0)
        tflm.invoke()
        ours.set_tensor(d["index"], x)
        ours.invoke()
        np.testing.assert_array_equal(ours.get_tensor(o["index"]), tflm.get_output(0))


# ------------------------------------------------ one-op models vs LiteRT BUILTIN_REF
SHAPES = [  # batch, input_size, units, rank, memory
    (1, 5, 3, 1, 4), (2, 5, 3, 2, 4), (1, 16, 8, 1, 10), (3, 7, 4, 3, 1),
    (2, 33, 16, 2, 8), (1, 1, 1, 1, 2), (4, 64, 32, 1, 16), (2, 9, 5, 4, 33)]


def run_sequence(model, ref, xs, reset_at=(), rounding="litert"):
    """LiteRT, microdl and the numpy reference over the inputs xs (one invoke each;
    reset_all_variables() before the invokes in reset_at, on all three): outputs and
    states compared after every invoke.  Returns the outputs."""
    lite = reference_interpreter(model_content=model)
    ours = microdl_interpreter(model, rounding=rounding)
    li, lo = lite.get_input_details()[0]["index"], lite.get_output_details()[0]["index"]
    state0 = ref["state"].copy()
    outs = []
    for k, x in enumerate(xs):
        if k in reset_at:
            lite.reset_all_variables()
            ours.reset_all_variables()
            ref["state"] = state0.copy()
        lite.set_tensor(li, x)
        lite.invoke()
        ours.set_tensor(0, x)
        ours.invoke()
        want = step_reference(ref, x)
        got = ours.get_tensor(5)
        np.testing.assert_array_equal(got, lite.get_tensor(lo), err_msg=f"invoke {k}")
        np.testing.assert_array_equal(got, want, err_msg=f"invoke {k} (numpy)")
        np.testing.assert_array_equal(ours.get_tensor(4), lite.get_tensor(4),
                                      err_msg=f"state after invoke {k}")
        np.testing.assert_array_equal(ours.get_tensor(4), ref["state"])
        outs.append(got.copy())
    return outs


@pytest.mark.parametrize("shape", SHAPES, ids=[str(s) for s in SHAPES])
def test_int16_state_matches_litert(shape):
    batch, input_size, units, rank, memory = shape
    rng = np.random.default_rng(sum(shape))
    # a state scale that keeps the state's int16 range busy without saturating every
    # entry, and an output scale that spreads the outputs over int8
    model, ref = svdf_model(rng, batch, input_size, units, rank, memory,
                            in_scale=0.05, wf_scale=0.01, state_scale=0.5 / 256,
                            wt_scale=1e-3, out_scale=0.05 * np.sqrt(input_size * memory * rank))
    xs = [random_int(rng, (batch, input_size)) for _ in range(2 * memory + 3)]
    xs[1] = np.full((batch, input_size), -128, np.int8)
    xs[2] = np.full((batch, input_size), 127, np.int8)
    outs = run_sequence(model, ref, xs, reset_at=(memory + 2,))
    spread = np.concatenate([o.ravel() for o in outs])
    assert len(np.unique(spread)) >= min(8, spread.size // 4), "outputs do not vary"


@pytest.mark.parametrize("bias", [True, False])
def test_int16_state_bias_and_saturation(bias):
    """Without a bias; a feature scale that saturates the int16 state; an output
    below the zero point (LiteRT's integer kernel applies no RELU)."""
    rng = np.random.default_rng(7 + bias)
    model, ref = svdf_model(rng, 2, 12, 4, 2, 6, bias=bias, in_scale=0.1,
                            wf_scale=0.02, state_scale=1e-4, wt_scale=1e-4,
                            out_scale=0.5, out_zp=20)
    xs = [random_int(rng, (2, 12)) for _ in range(10)]
    outs = np.concatenate([o.ravel() for o in run_sequence(model, ref, xs)])
    assert outs.min() < 20, "no output below the RELU point: the test proves nothing"
    assert np.any(np.abs(ref["state"].astype(np.int32)) == 32767) or \
        np.any(ref["state"] == -32768), "state never saturated"


def test_effective_scales_in_float32_as_litert_wheel():
    """The two multipliers come from the float32 scales multiplied and divided in
    float32 (LiteRT 2.3's wheel, TFLite Micro): with these scales the double-precision
    quotient gives a different Q31 multiplier and a state one off from LiteRT's."""
    kw = dict(in_scale=0.05, wf_scale=0.01, state_scale=0.002, wt_scale=0.003,
              out_scale=0.1)
    rng = np.random.default_rng(0)
    model, ref = svdf_model(rng, 2, 5, 3, 2, 4, **kw)
    xs = [random_int(rng, (2, 5)) for _ in range(6)]
    run_sequence(model, dict(ref, state=ref["state"].copy()), xs)  # matches LiteRT
    # the float64 quotient differs from LiteRT somewhere
    lite = reference_interpreter(model_content=model)
    s1, s2 = effective_scales(0.05, 0.01, 0.002, 0.003, 0.1, float64=True)
    state = ref["state"] * 0
    differs = False
    for x in xs:
        lite.set_tensor(lite.get_input_details()[0]["index"], x)
        lite.invoke()
        _, state = svdf_step(x, state, ref["w_feature"], ref["w_time"], ref["bias"], 2,
                             3, 0, -5, s1, s2)
        differs |= not np.array_equal(state, lite.get_tensor(4))
    assert differs


def test_state_persists_and_resets():
    """The same input twice gives different outputs (the state carries); after
    reset_all_variables() the first output comes back; allocate_tensors() again also
    starts from the reset state."""
    rng = np.random.default_rng(2)
    model, _ = svdf_model(rng, 1, 8, 4, 1, 3, state_scale=0.5 / 256, wt_scale=1e-3,
                          out_scale=0.2)
    ours = microdl_interpreter(model)
    x = random_int(rng, (1, 8))
    seq = []
    for _ in range(3):
        ours.set_tensor(0, x)
        ours.invoke()
        seq.append(ours.get_tensor(5).copy())
    assert not np.array_equal(seq[0], seq[1])
    ours.reset_all_variables()
    ours.set_tensor(0, x)
    ours.invoke()
    np.testing.assert_array_equal(ours.get_tensor(5), seq[0])
    ours.allocate_tensors()
    ours.set_tensor(0, x)
    ours.invoke()
    np.testing.assert_array_equal(ours.get_tensor(5), seq[0])


def svdf_chain_model(rng):
    """input [2, 16] -> SVDF (8 units, rank 2, memory 5, int16 state) -> SVDF (4 units,
    rank 1, memory 3) -> output: two variable states live side by side in the arena."""
    def layer(n_in, units, rank, memory, out_scale, out_zp):
        nf = units * rank
        st_scale, wt_scale = 0.5 / 256, 1e-3
        return [spec((nf, n_in), np.int8, 0.01, 0, data=random_int(rng, (nf, n_in))),
                spec((nf, memory), np.int16, wt_scale, 0,
                     data=rng.integers(-1024, 1025, (nf, memory)).astype(np.int16)),
                spec((units,), np.int32, float(np.float32(st_scale) * np.float32(wt_scale)),
                     0, data=rng.integers(-20000, 20000, units).astype(np.int32)),
                spec((2, nf * memory), np.int16, st_scale, 0),
                spec((2, units), np.int8, out_scale, out_zp)]
    specs = [spec((2, 16), np.int8, 0.05, 3)]
    specs += layer(16, 8, 2, 5, 0.3, -4)  # tensors 1-5
    specs += layer(8, 4, 1, 3, 0.2, 6)  # tensors 6-10
    ts = [_tensor(sp, i, f"t{i}") for i, sp in enumerate(specs)]
    ts[4].is_variable = ts[9].is_variable = True
    ops = [Op(index=0, name="SVDF", version=3, inputs=[0, 1, 2, 3, 4], outputs=[5],
              options=dict(rank=2, fused_activation_function=1)),
           Op(index=1, name="SVDF", version=3, inputs=[5, 6, 7, 8, 9], outputs=[10],
              options=dict(rank=1, fused_activation_function=1))]
    return write_model(Graph(tensors=ts, ops=ops, inputs=[0], outputs=[10]))


def test_chain_of_two_in_every_arena_mode():
    """Two SVDFs in a chain: LiteRT against microdl's default arena, memory="small",
    two threads and preserved tensors, over 12 invokes with a reset after the 7th;
    the output and both states compared after every invoke."""
    rng = np.random.default_rng(4)
    model = svdf_chain_model(rng)
    lite = reference_interpreter(model_content=model)
    runs = [microdl_interpreter(model), microdl_interpreter(model, num_threads=2),
            microdl_interpreter(model, memory="small", preserve_inputs=False),
            microdl_interpreter(model, experimental_preserve_all_tensors=True)]
    li, lo = lite.get_input_details()[0]["index"], lite.get_output_details()[0]["index"]
    outs = []
    for k in range(12):
        if k == 7:
            lite.reset_all_variables()
            for it in runs:
                it.reset_all_variables()
        x = random_int(rng, (2, 16))
        lite.set_tensor(li, x)
        lite.invoke()
        outs.append(lite.get_tensor(lo).copy())
        for n, it in enumerate(runs):
            it.set_tensor(0, x)
            it.invoke()
            for t in (10, 4, 9):
                np.testing.assert_array_equal(it.get_tensor(t), lite.get_tensor(t),
                                              err_msg=f"run {n} invoke {k} tensor {t}")
    assert len(np.unique(np.concatenate(outs))) > 8, "outputs do not vary"


# ------------------------------------------------- one-op models vs TFLite Micro
TFLM_CASES = [  # state dtype, state zero point, batch, input_size, units, rank, memory, act
    (np.int8, 0, 1, 8, 4, 1, 4, 1), (np.int8, -50, 2, 10, 6, 2, 5, 1),
    (np.int8, 100, 1, 16, 8, 1, 8, 0), (np.int8, -128, 3, 5, 2, 3, 3, 1),
    (np.int16, 0, 1, 8, 4, 1, 4, 1), (np.int16, 0, 2, 20, 6, 2, 7, 0)]


@pytest.mark.parametrize("case", TFLM_CASES, ids=[str(c[:2] + c[2:]) for c in TFLM_CASES])
def test_matches_tflite_micro(case):
    """TFLite Micro's int8-state form (with a state zero point, whose addition may wrap
    in the int8 state) and int16 form, activation RELU or NONE, over 10 invokes with a
    reset in the middle; outputs and states against TFLite Micro and numpy."""
    sdt, szp, batch, input_size, units, rank, memory, act = case
    rng = np.random.default_rng(batch * 100 + input_size + szp)
    wide = sdt == np.int16
    model, ref = svdf_model(rng, batch, input_size, units, rank, memory, state=sdt,
                            state_zp=szp, act=act, in_scale=0.05, wf_scale=0.01,
                            state_scale=(0.5 / 256) if wide else 0.3,
                            wt_scale=1e-3 if wide else 0.02, out_scale=0.4)
    tflm = tflm_interpreter(model)
    ours = microdl_interpreter(model, rounding="tflm")
    state0 = ref["state"].copy()
    for k in range(10):
        if k == 6:
            tflm.reset()
            ours.reset_all_variables()
            ref["state"] = state0.copy()
        x = random_int(rng, (batch, input_size))
        tflm.set_input(x, 0)
        tflm.invoke()
        ours.set_tensor(0, x)
        ours.invoke()
        want = step_reference(ref, x)
        np.testing.assert_array_equal(ours.get_tensor(5), tflm.get_output(0))
        np.testing.assert_array_equal(ours.get_tensor(5), want)
        np.testing.assert_array_equal(ours.get_tensor(4),
                                      np.asarray(tflm.GetTensor(4, 0)["tensor_data"])
                                      .reshape(ref["state"].shape))
        np.testing.assert_array_equal(ours.get_tensor(4), ref["state"])


# ------------------------------------------------------------------------ refusals
def refused(err, match, **kw):
    model, _ = svdf_model(np.random.default_rng(0), **kw)
    with pytest.raises(err, match=match):
        microdl.Interpreter(model_content=model)


REFUSALS = {
    "activation": (UnsupportedOpError, "fused activation 3", dict(act=3)),
    "float input": (UnsupportedOpError, "expected int8",
                    dict(overrides={0: dict(dtype=np.dtype(np.float32), scale=None)})),
    "int16 input": (UnsupportedOpError, "expected int8",
                    dict(overrides={0: dict(dtype=np.dtype(np.int16))})),
    "int16 output": (UnsupportedOpError, "expected int8",
                     dict(overrides={5: dict(dtype=np.dtype(np.int16))})),
    "state type": (UnsupportedOpError, "both must be int16 or both int8",
                   dict(overrides={4: dict(dtype=np.dtype(np.int8))})),
    "int32 time": (UnsupportedOpError, "expected int16/int8",
                   dict(overrides={2: dict(dtype=np.dtype(np.int32))})),
    "int16 state zero point": (UnsupportedOpError, "zero point 7", dict(state_zp=7)),
    "asymmetric features": (UnsupportedOpError, "symmetric weights",
                            dict(overrides={1: dict(zero_point=3)})),
    "asymmetric time": (UnsupportedOpError, "symmetric weights",
                        dict(overrides={2: dict(zero_point=3)})),
    "per-channel features": (UnsupportedOpError, "per-channel",
                             dict(overrides={1: dict(scales=[0.01] * 6)})),
    "feature weights not constant": (UnsupportedOpError, "must be a constant",
                                     dict(overrides={1: dict(data=None)}, extra_inputs=[1])),
    "time weights not constant": (UnsupportedOpError, "must be a constant",
                                  dict(overrides={2: dict(data=None)}, extra_inputs=[2])),
    "int64 bias": (UnsupportedOpError, "expected int32",
                   dict(overrides={3: dict(dtype=np.dtype(np.int64))})),
    "version": (UnsupportedOpError, "version 5", dict(version=5)),
    "rank 0": (ModelError, "rank 0 must be >= 1", dict(options=dict(rank=0))),
    "rank does not divide": (ModelError, "6 filters are not a positive multiple of rank 4",
                             dict(options=dict(rank=4))),
    "input 3-D": (ModelError, "must be 2-D", dict(overrides={0: dict(shape=(1, 1, 5))})),
    "feature columns": (ModelError, "feature weights have 6 columns",
                        dict(overrides={1: dict(shape=(6, 6), data=np.zeros((6, 6)))})),
    "time rows": (ModelError, "time weights have 5 rows",
                  dict(overrides={2: dict(shape=(5, 4), data=np.zeros((5, 4)))})),
    "state shape": (ModelError, r"state \(tensor 4\) has shape",
                    dict(overrides={4: dict(shape=(1, 25))})),
    "state not variable": (ModelError, "must be a variable tensor", dict(variable=False)),
    "output shape": (ModelError, "output tensor 5 has shape",
                     dict(overrides={5: dict(shape=(1, 4))})),
    "bias shape": (ModelError, r"bias \(tensor 3\) has shape",
                   dict(overrides={3: dict(shape=(4,), data=np.zeros(4))})),
    "bias scale": (ModelError, "is not state scale x time scale",
                   dict(overrides={3: dict(scale=0.5)})),
    "no quantization": (ModelError, "no quantization parameters",
                        dict(overrides={5: dict(scale=None)})),
    "multiplier too large": (ModelError, "too large",
                             dict(in_scale=1.0, wf_scale=1.0, state_scale=1e-12)),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_refusals(name):
    err, match, kw = REFUSALS[name]
    refused(err, match, **kw)


def test_memory_size_zero_refused():
    """A memory size of 0 (an empty time-weights constant: no file can hold one, so the
    preparer is called on the graph directly)."""
    g, _ = svdf_model(np.random.default_rng(0), memory=0, graph_only=True)
    with pytest.raises(ModelError, match="memory size 0"):
        prepare_svdf(g.ops[0], g, PrepareContext(rounding=ROUNDING_DOUBLE))


def test_refused_before_anything_reaches_c():
    """A refused SVDF is named with its op in the UnsupportedOpError list."""
    model, _ = svdf_model(np.random.default_rng(0), act=4)
    with pytest.raises(UnsupportedOpError) as e:
        microdl.Interpreter(model_content=model)
    assert e.value.ops[0]["op_name"] == "SVDF" and e.value.ops[0]["index"] == 0


def test_keyword_scrambled_invoke_time():
    """Host time per invoke of keyword_scrambled (reported by -s; bounded loosely so
    a pathological slowdown fails)."""
    ours = microdl.Interpreter(model_path=shared_model(*KEYWORD), rounding="tflm")
    ours.allocate_tensors()
    ours.set_tensor(ours.get_input_details()[0]["index"],
                    random_int(np.random.default_rng(0), (1, 96), np.int16))
    for _ in range(20):
        ours.invoke()
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        ours.invoke()
    per = (time.perf_counter() - t0) / n
    print(f"keyword_scrambled_8bit: {per * 1e6:.1f} us per invoke")
    assert per < 5e-3


def test_reset_before_allocate_and_resize_as_litert():
    """reset_all_variables() before allocate_tensors(): LiteRT's RuntimeError (the
    state has no memory yet); after it, both reset.  A new batch: the state keeps its
    file shape, so allocate_tensors() refuses it (ModelError naming the state; LiteRT
    fails its Prepare too)."""
    model, _ = svdf_model(np.random.default_rng(0))
    lite = reference_interpreter(model_content=model)
    ours = microdl.Interpreter(model_content=model)
    lite_fresh = unallocated_litert(model)
    for it in (lite_fresh, ours):
        with pytest.raises(RuntimeError, match="tensor.data.raw != nullptr"):
            it.reset_all_variables()
    ours.allocate_tensors()
    assert ours.reset_all_variables() is None and lite.reset_all_variables() is None
    ours.resize_tensor_input(0, [2, 5])
    lite.resize_tensor_input(0, [2, 5])
    with pytest.raises(RuntimeError, match="SVDF"):
        lite.allocate_tensors()
    with pytest.raises(ModelError, match=r"state \(tensor 4\) has shape \(1, 24\)"):
        ours.allocate_tensors()


def unallocated_litert(model):
    """LiteRT's reference interpreter, tensors not allocated."""
    from tests.oplib import oracle_module

    m = oracle_module()
    return m.Interpreter(model_content=model, num_threads=1,
                         experimental_op_resolver_type=m.OpResolverType.BUILTIN_REF)


def test_random_configurations():
    """24 random configurations (shapes, scales log-uniform, zero points, bias or not,
    int16 or int8 state) over 6 invokes each: int16 against LiteRT and numpy, int8
    (TFLite Micro's form; TFLite Micro needs a bias) against TFLite Micro and numpy."""
    rng = np.random.default_rng(2026)
    for trial in range(24):
        sdt = np.int16 if trial % 2 == 0 else np.int8
        batch, input_size = int(rng.integers(1, 4)), int(rng.integers(1, 40))
        units, rank = int(rng.integers(1, 9)), int(rng.integers(1, 4))
        memory = int(rng.integers(1, 12))
        wide = sdt == np.int16
        kw = dict(state=sdt, bias=bool(rng.integers(0, 2)) or not wide,
                  in_scale=float(10 ** rng.uniform(-3, 0)), in_zp=int(rng.integers(-128, 128)),
                  wf_scale=float(10 ** rng.uniform(-3, -1)),
                  state_scale=float(10 ** (rng.uniform(-4, -1) if wide else rng.uniform(-2, 0))),
                  state_zp=0 if wide else int(rng.integers(-128, 128)),
                  wt_scale=float(10 ** (rng.uniform(-4, -2) if wide else rng.uniform(-3, -1))),
                  out_scale=float(10 ** rng.uniform(-2, 0)), out_zp=int(rng.integers(-128, 128)))
        model, ref = svdf_model(rng, batch, input_size, units, rank, memory, **kw)
        xs = [random_int(rng, (batch, input_size)) for _ in range(6)]
        if wide:
            run_sequence(model, ref, xs, reset_at=(4,))
            continue
        tflm = tflm_interpreter(model)
        ours = microdl_interpreter(model, rounding="tflm")
        for k, x in enumerate(xs):
            tflm.set_input(x, 0)
            tflm.invoke()
            ours.set_tensor(0, x)
            ours.invoke()
            want = step_reference(ref, x)
            where = f"trial {trial} invoke {k}: {kw}"
            np.testing.assert_array_equal(ours.get_tensor(5), tflm.get_output(0), err_msg=where)
            np.testing.assert_array_equal(ours.get_tensor(5), want, err_msg=where)
            np.testing.assert_array_equal(
                ours.get_tensor(4),
                np.asarray(tflm.GetTensor(4, 0)["tensor_data"]).reshape(ref["state"].shape),
                err_msg=where)
