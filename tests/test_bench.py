"""microdl-bench end to end: CLI outputs (table, per-layer table, CSV, JSON, PNG) agree
with each other and with independent counts, NPU estimates keep the cost model's
invariants through the CLI, and bad arguments exit with status 2 and a message."""
from __future__ import annotations

import csv
import json
import math
import os

import numpy as np
import pytest

from microdl import Interpreter
from microdl.bench import flat_row
from microdl.cli.bench import main
from microdl.npu import PRESETS, estimate, load_config

HERE = os.path.dirname(os.path.abspath(__file__))
FIRMWARE = os.path.join(os.path.dirname(HERE), "firmware_models")
CNN = os.path.join(FIRMWARE, "digits_cnn", "digits_cnn_int8.tflite")
CNN_FLOAT = os.path.join(FIRMWARE, "digits_cnn", "digits_cnn_float.tflite")
SINE = os.path.join(FIRMWARE, "sine", "sine_int8.tflite")
SINE_FLOAT = os.path.join(FIRMWARE, "sine", "sine_float.tflite")
N_SAMPLES = 80
FAST = ["--repeats", "5", "--layer-repeats", "5", "--no-progress"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small labelled digits set, a sine set, and an NPU config file."""
    from microdl.pipeline import model_data

    d = tmp_path_factory.mktemp("bench")
    x, y = model_data("digits_cnn")["test"]
    np.savez(d / "digits.npz", x=x[:N_SAMPLES], y=y[:N_SAMPLES])
    np.savez(d / "no_y.npz", x=x[:N_SAMPLES])
    np.savez(d / "flat.npz", x=x[:N_SAMPLES].reshape(N_SAMPLES, -1), y=y[:N_SAMPLES])
    xs, ys = model_data("sine")["test"]
    np.savez(d / "sine.npz", x=xs, y=ys)
    cfg = d / "my_npu.json"
    cfg.write_text(json.dumps({"name": "my-npu", "preset": "ethos-u55-128",
                               "clock_mhz": 250, "op_overhead_cycles": 100}))
    return d


def _independent_outputs(model, x):
    """The int8 model's dequantized outputs (N, ...), run here with microdl.Interpreter
    and its own quantization (float32 division, round half away from zero)."""
    it = Interpreter(model_path=model)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    scale, zp = inp["quantization"]
    out_scale, out_zp = out["quantization"]
    ys = []
    for xi in x:
        v = (xi[None].astype(np.float32) / np.float32(scale)).astype(np.float64)
        q = np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5) + zp, -128, 127)
        it.set_tensor(inp["index"], q.astype(np.int8))
        it.invoke()
        ys.append((it.get_tensor(out["index"]).astype(np.float64) - out_zp) * out_scale)
    return np.concatenate(ys)


def _independent_top1(model, x, y):
    """int8 top-1 accuracy counted here (see _independent_outputs)."""
    return float(np.mean(np.argmax(_independent_outputs(model, x), axis=1) == y))


def _layer_rows(text, model):
    """The data rows of one model's printed per-layer table (header and total
    excluded), split on runs of spaces."""
    lines = text.splitlines()
    start = lines.index(f"{model}: per layer") + 2
    rows = []
    for line in lines[start:]:
        if line.split()[0] == "total":
            break
        rows.append(line.split())
    return rows


def test_cli_end_to_end(files, tmp_path, capsys):
    out_csv, out_json, out_png = tmp_path / "b.csv", tmp_path / "b.json", tmp_path / "b.png"
    rc = main([CNN, "--float", CNN_FLOAT, "--data", str(files / "digits.npz"),
               "--npu", "ethos-u55-128", str(files / "my_npu.json"), "--per-layer",
               "--csv", str(out_csv), "--json", str(out_json), "--plot", str(out_png),
               *FAST])
    text = capsys.readouterr().out
    assert rc == 0
    for p in (out_csv, out_json, out_png):
        assert p.exists() and p.stat().st_size > 0
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    doc = json.loads(out_json.read_text())
    rows = doc["rows"]
    assert len(rows) == 1
    row = rows[0]
    assert row["model"] == "digits_cnn_int8" and row["task"] == "classifier"
    assert row["samples"] == N_SAMPLES
    assert set(row["npu"]) == {"ethos-u55-128", "my-npu"}
    for key in ("float_top1", "int8_top1"):
        assert 0.0 <= row[key] <= 1.0
    x = np.load(files / "digits.npz")["x"]
    y = np.load(files / "digits.npz")["y"]
    assert row["int8_top1"] == pytest.approx(_independent_top1(CNN, x, y), abs=1e-12)
    assert row["sqnr_db"] > 20
    assert row["host_p10_us"] <= row["host_median_us"] <= row["host_p90_us"]
    it = Interpreter(model_path=CNN)
    it.allocate_tensors()
    assert row["arena_bytes"] == it.arena_bytes
    assert row["macs"] == sum(o["macs"] for o in it.get_ops_details())

    # CSV and JSON hold the same row.
    with open(out_csv, newline="") as f:
        csv_rows = list(csv.DictReader(f))
    assert len(csv_rows) == 1
    flat = flat_row(row)
    assert list(csv_rows[0]) == list(flat)
    for key, value in flat.items():
        got = csv_rows[0][key]
        if value is None:
            assert got == ""
        elif isinstance(value, bool):
            assert got == str(value)
        elif isinstance(value, (int, float)):
            assert float(got) == pytest.approx(value, rel=1e-12), key
        else:
            assert got == value, key

    # NPU totals: the cost model's own estimate; the config file's settings applied.
    content = open(CNN, "rb").read()
    u55 = estimate(content, "ethos-u55-128")
    assert row["npu"]["ethos-u55-128"]["cycles"] == pytest.approx(u55.total_cycles)
    assert row["npu"]["ethos-u55-128"]["latency_us"] == pytest.approx(u55.latency_s * 1e6)
    mine = row["npu"]["my-npu"]
    assert mine["cycles"] == pytest.approx(
        estimate(content, load_config(files / "my_npu.json")).total_cycles)
    assert mine["cycles"] > u55.total_cycles  # op_overhead_cycles 32 -> 100
    assert mine["latency_us"] == pytest.approx(mine["cycles"] / 250e6 * 1e6)

    # Per layer: one row per op, NPU cycles summing to the totals.
    n_ops = len(it.get_ops_details())
    assert len(row["layers"]) == n_ops
    for name in row["npu"]:
        total = sum(la["npu"][name]["cycles"] for la in row["layers"])
        assert total == pytest.approx(row["npu"][name]["cycles"], rel=1e-12)
        assert {la["npu"][name]["bound"] for la in row["layers"]} <= {
            "compute", "memory", "none"}
    printed = _layer_rows(text, "digits_cnn_int8")
    assert [r[1] for r in printed] == [o["op_name"] for o in it.get_ops_details()]
    # columns: #, op, output, MACs, host us, then (cycles, bound) per NPU
    for k, name in enumerate(row["npu"]):
        cycles = sum(float(r[5 + 2 * k].replace(",", "")) for r in printed)
        assert abs(cycles - row["npu"][name]["cycles"]) <= 0.5 * n_ops
    # The summary table names the model and both NPUs.
    assert "digits_cnn_int8" in text and "my-npu cycles" in text


def test_regression_model_sqnr_and_mse(files, capsys):
    rc = main([SINE, "--float", SINE_FLOAT, "--data", str(files / "sine.npz"),
               "--markdown", *FAST])
    text = capsys.readouterr().out
    assert rc == 0
    assert text.startswith("| model |") and "| sine_int8 | regression |" in text
    from microdl.bench import bench_model
    d = np.load(files / "sine.npz")
    row = bench_model(SINE, SINE_FLOAT, (d["x"], d["y"]), repeats=5)
    assert row["task"] == "regression" and row["int8_top1"] is None
    pred = _independent_outputs(SINE, d["x"])
    assert row["int8_mse"] == pytest.approx(np.mean((pred.ravel() - d["y"].ravel()) ** 2))
    assert 15 < row["sqnr_db"] < 80


def test_more_macs_per_cycle_fewer_cycles_through_cli(files, tmp_path, capsys):
    chain = ["ethos-u55-32", "ethos-u55-64", "ethos-u55-128", "ethos-u55-256"]
    cfg = tmp_path / "double.toml"
    cfg.write_text('preset = "ethos-u55-256"\nname = "u55-512"\nmacs_per_cycle = 512\n'
                   'ublock = [2, 2, 16]\n')
    out = tmp_path / "c.json"
    rc = main([CNN, "--npu", ",".join(chain), str(cfg), "--json", str(out), *FAST])
    capsys.readouterr()
    assert rc == 0
    npu = json.loads(out.read_text())["rows"][0]["npu"]
    cycles = [npu[n]["cycles"] for n in chain + ["u55-512"]]
    assert all(a >= b for a, b in zip(cycles, cycles[1:])), cycles
    assert cycles[0] > cycles[-2]  # 8x the MACs is strictly faster on this CNN


@pytest.mark.parametrize("case, message", [
    ("bad_npu", "unknown NPU 'ethos-u99'"),
    ("missing_model", "no such file"),
    ("missing_float", "no such file"),
    ("no_y", "no 'y' array"),
    ("wrong_x_shape", "x must be (N, 8, 8, 1)"),
    ("float_count", "--float given 2 times for 1 models"),
    ("plot_without_data", "--plot"),
    ("bad_config", "unknown NPU config key"),
])
def test_errors_exit_2_with_a_message(files, tmp_path, capsys, case, message):
    args = {
        "bad_npu": [CNN, "--npu", "ethos-u99"],
        "missing_model": [str(tmp_path / "nope.tflite")],
        "missing_float": [CNN, "--float", str(tmp_path / "nope.tflite")],
        "no_y": [CNN, "--data", str(files / "no_y.npz")],
        "wrong_x_shape": [CNN, "--data", str(files / "flat.npz")],
        "float_count": [CNN, "--float", CNN_FLOAT, "--float", CNN_FLOAT],
        "plot_without_data": [CNN, "--plot", str(tmp_path / "p.png")],
        "bad_config": [CNN, "--npu", str(tmp_path / "bad.json")],
    }[case]
    (tmp_path / "bad.json").write_text(json.dumps({"mac_per_cycle": 64}))
    rc = main(args + FAST)
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and err.startswith("microdl-bench: error:")
    if case == "bad_npu":
        assert all(name in err for name in PRESETS)
    assert not (tmp_path / "p.png").exists()


def test_sqnr_and_top1_helpers():
    from microdl.evaluation import mse, sqnr_db, top1

    ref = np.array([1.0, -2.0, 3.0])
    assert sqnr_db(ref, ref) == math.inf
    assert sqnr_db(ref, ref + 0.1) == pytest.approx(10 * math.log10(14 / 0.03))
    assert top1(np.eye(3)[[0, 2, 1]], np.array([0, 2, 2])) == pytest.approx(2 / 3)
    assert mse([1.0, 2.0], [[1.0], [4.0]]) == pytest.approx(2.0)
