"""Whole float32 models against LiteRT's reference kernels: the float MLPerf Tiny
models and TFLite Micro's hello_world, every tensor of the graph (both interpreters
with experimental_preserve_all_tensors), several seeded inputs, each within 1e-5 of the
tensor's range in LiteRT (max |microdl - litert| <= 1e-5 * (max - min of LiteRT's)).

MLPerf Tiny's kws_ref_model_float32.tflite is not a pure float model: its CONV_2D
weights are int8 (a dynamic-range model, op form "hybrid").  Its float layers are
checked here on the same graph with those weights dequantized to float32
(scale * q), and the original file either runs (once a hybrid preparer is
registered) or names exactly its hybrid ops as unsupported."""
import math
import os

import numpy as np
import pytest

from microdl import Interpreter
from microdl.core.errors import UnsupportedOpError
from microdl.runtime.ops import PREPARERS, op_form
from microdl.tflite.reader import read_model
from microdl.tflite.writer import write_model
from tests.conftest import shared_model
from tests.oplib import FLOAT_TOLERANCE, max_range_error, reference_interpreter

MODELS = {
    "AD": ("mlperf_tiny", "ad01_fp32.tflite"),
    "IC": ("mlperf_tiny", "pretrainedResnet.tflite"),
    "VWW": ("mlperf_tiny", "vww_96_float.tflite"),
    "hello_world": ("tflm", "hello_world_float.tflite"),
}
KWS = ("mlperf_tiny", "kws_ref_model_float32.tflite")


def _inputs(details, seed):
    """Seeded inputs: standard normal, uniform [0, 1) (image-like), or for the
    one-element hello_world input a value in [0, 2 pi)."""
    rng = np.random.default_rng(seed)
    out = []
    for d in details:
        shape = tuple(d["shape"])
        if int(np.prod(shape)) == 1:
            x = rng.uniform(0, 2 * math.pi, shape)
        elif seed % 2:
            x = rng.uniform(0, 1, shape)
        else:
            x = rng.standard_normal(shape)
        out.append(x.astype(np.float32))
    return out


def compare_all_tensors(model_path=None, model_content=None, seeds=(0, 1, 2)):
    """Runs both interpreters on the seeded inputs; asserts every op output tensor
    (float32) is within tolerance; returns the worst error."""
    ours = Interpreter(model_path=model_path, model_content=model_content,
                       experimental_preserve_all_tensors=True)
    ours.allocate_tensors()
    ref = reference_interpreter(model_path=model_path, model_content=model_content,
                                experimental_preserve_all_tensors=True)
    graph = ours._graph
    outputs = sorted({t for op in graph.ops for t in op.outputs if t >= 0})
    assert outputs
    worst = 0.0
    for seed in seeds:
        xs = _inputs(ours.get_input_details(), seed)
        for it in (ours, ref):
            for d, x in zip(it.get_input_details(), xs):
                it.set_tensor(d["index"], x)
            it.invoke()
        for t in outputs:
            want, got = ref.get_tensor(t), ours.get_tensor(t)
            assert want.dtype == got.dtype == np.float32, (t, want.dtype, got.dtype)
            assert want.shape == got.shape, (t, want.shape, got.shape)
            e = max_range_error(got, want)
            assert e <= FLOAT_TOLERANCE, (f"tensor {t} ({graph.tensors[t].name!r}), seed "
                                          f"{seed}: error {e:.3g} of its range")
            worst = max(worst, e)
    return worst


@pytest.mark.parametrize("name", sorted(MODELS))
def test_float_model_every_tensor_matches_litert(name):
    compare_all_tensors(model_path=shared_model(*MODELS[name]))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_float_model_is_all_float32_form(name):
    """The float models run entirely on the float32 preparers (no op falls back to an
    int8 preparer that happens to accept float)."""
    g = read_model(open(shared_model(*MODELS[name]), "rb").read())
    forms = {op_form(op, g) for op in g.ops if op.name != "RESHAPE"}
    assert forms == {"float32"}


def dequantized_kws():
    """KWS's float32 file with its int8 CONV_2D weights replaced by float32
    scale * q (per-tensor or per-channel along the quantized dimension)."""
    g = read_model(open(shared_model(*KWS), "rb").read())
    changed = 0
    for t in g.tensors:
        if t.data is not None and t.dtype == np.int8 and t.quant is not None:
            q = t.quant
            shape = [1] * len(t.shape)
            if q.scales.size > 1:
                shape[q.quantized_dimension] = q.scales.size
            scales = q.scales.astype(np.float32).reshape(shape)
            zps = q.zero_points.astype(np.float32).reshape(shape)
            t.data = ((t.data.astype(np.float32) - zps) * scales).astype(np.float32)
            t.dtype, t.quant = np.dtype(np.float32), None
            changed += 1
    assert changed == 5  # the five CONV_2D filters
    return write_model(g)


def test_kws_layers_with_dequantized_weights_match_litert():
    compare_all_tensors(model_content=dequantized_kws())


def test_kws_float32_file_runs_or_names_its_hybrid_ops():
    path = shared_model(*KWS)
    g = read_model(open(path, "rb").read())
    hybrid = [op.index for op in g.ops if op_form(op, g) == "hybrid"]
    assert hybrid == [0, 2, 4, 6, 8]  # the CONV_2D layers with int8 weights
    if ("CONV_2D", "hybrid") in PREPARERS:
        compare_all_tensors(model_path=path)
        return
    with pytest.raises(UnsupportedOpError) as e:
        Interpreter(model_path=path)
    assert [o["index"] for o in e.value.ops] == hybrid


def test_float_model_outputs_repeatable_and_input_preserved():
    """invoke() twice on the same input gives the same bits; the input is intact."""
    it = Interpreter(model_path=shared_model(*MODELS["IC"]))
    it.allocate_tensors()
    d = it.get_input_details()[0]
    x = _inputs([d], 4)[0]
    it.set_tensor(d["index"], x)
    it.invoke()
    first = it.get_tensor(it.get_output_details()[0]["index"])
    it.invoke()
    np.testing.assert_array_equal(first, it.get_tensor(it.get_output_details()[0]["index"]))
    np.testing.assert_array_equal(it.get_tensor(d["index"]), x)
    assert abs(float(first.sum()) - 1.0) < 1e-5  # SOFTMAX output


# ------------------------------------------------------------------ CLIs
def test_microdl_run_runs_float_models(capsys):
    """microdl-run prints a float model's outputs (checked against LiteRT's reference
    kernels on the same seeded input) and its latency; KWS's dynamic-range file is
    named as such."""
    from microdl.cli.run import main
    from microdl.utils import random_inputs

    paths = [shared_model(*MODELS["AD"]), shared_model(*MODELS["VWW"]), shared_model(*KWS)]
    assert main(paths + ["--repeats", "2"]) == 0
    out = capsys.readouterr().out
    for name in ("AD", "VWW"):
        path = shared_model(*MODELS[name])
        ref = reference_interpreter(model_path=path)
        xs = random_inputs(ref.get_input_details(), seed=0)
        for d, x in zip(ref.get_input_details(), xs):
            ref.set_tensor(d["index"], x)
        ref.invoke()
        want = ref.get_tensor(ref.get_output_details()[0]["index"]).ravel()
        block = out.split(os.path.basename(path) + ":")[1]
        printed = block.split("= [")[1].split("]")[0].replace("...", "").split()
        got = np.array([float(v) for v in printed])
        assert max_range_error(got, want[:len(got)]) <= 1e-5
        assert "latency: median" in block.split("\n\n")[0]
    kws = out.split(os.path.basename(shared_model(*KWS)) + ":")[1].splitlines()[0]
    if ("CONV_2D", "hybrid") not in PREPARERS:
        assert "dynamic-range" in kws and "CONV_2D" in kws


def test_microdl_bench_float_model(tmp_path, capsys):
    """microdl-bench on the float VWW model: its "int8" column is microdl's float32
    top-1, equal to the top-1 of LiteRT's reference outputs; marked (float32); no NPU
    estimate; precision in the CSV."""
    from microdl import bench
    from microdl.cli.bench import main

    path = shared_model(*MODELS["VWW"])
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (6, 96, 96, 3)).astype(np.float32)
    ref = reference_interpreter(model_path=path)
    d, o = ref.get_input_details()[0], ref.get_output_details()[0]
    preds = []
    for xi in x:
        ref.set_tensor(d["index"], xi[None])
        ref.invoke()
        preds.append(ref.get_tensor(o["index"])[0])
    y = np.argmax(preds, axis=1)
    y[0] = 1 - y[0]  # one wrong label: top-1 5/6 if microdl agrees with LiteRT
    data = tmp_path / "vww.npz"
    np.savez(data, x=x, y=y)
    row = bench.bench_model(path, float_path=path, data=str(data), npus=["ethos-u55-128"],
                            repeats=3)
    assert row["precision"] == "float32"
    assert row["int8_top1"] == pytest.approx(5 / 6)
    assert row["float_top1"] == pytest.approx(5 / 6)  # the numpy FloatExecutor
    assert row["npu"] == {}
    assert row["sqnr_db"] > 100  # C float32 kernels vs numpy float reference
    csv_path = tmp_path / "out.csv"
    assert main([path, "--data", str(data), "--npu", "ethos-u55-128", "--repeats", "3",
                 "--csv", str(csv_path)]) == 0
    out = capsys.readouterr().out
    line = [ln for ln in out.splitlines() if ln.startswith("vww_96_float")][0]
    assert "83.33% (float32)" in line
    assert "ethos-u55-128" not in out  # no NPU column: no row has an estimate
    assert "float32" in csv_path.read_text().splitlines()[1].split(",")


@pytest.mark.parametrize("name", ["IC", "VWW"])
def test_float_model_threads_identical_to_one_thread(name):
    """num_threads=2 cuts the float convolutions into row bands (microdl.runtime.
    parallel): outputs bit-identical to one thread, within tolerance of LiteRT."""
    path = shared_model(*MODELS[name])
    one = Interpreter(model_path=path)
    two = Interpreter(model_path=path, num_threads=2)
    ref = reference_interpreter(model_path=path)
    for it in (one, two):
        it.allocate_tensors()
    assert len(two._node_ops) > len(one._node_ops)  # some nodes were split
    for seed in (0, 1):
        xs = _inputs(one.get_input_details(), seed)
        for it in (one, two, ref):
            it.set_tensor(it.get_input_details()[0]["index"], xs[0])
            it.invoke()
        o = one.get_output_details()[0]["index"]
        np.testing.assert_array_equal(one.get_tensor(o), two.get_tensor(o))
        assert max_range_error(two.get_tensor(o), ref.get_tensor(o)) <= FLOAT_TOLERANCE
