"""The README's figures that come from code, recomputed and compared cell by cell.

Every number below is read out of README.md (not copied into this file), recomputed
with microdl, and must match the README exactly, so a change that moves an arena, a
persistent-bytes count, an accuracy or an NPU estimate fails here until the README is
regenerated.  Host timings and the peers' figures (LiteRT, TFLite Micro, Vela) are
measurements, not pinned; Vela's agreement is checked by tests/test_npu_vela.py.
"""
import os
import re
import subprocess
import sys


import microdl
from tests.conftest import shared_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ARENA_MODELS = {  # README row label -> ../shared/models path
    "KWS": ("mlperf_tiny", "kws_ref_model.tflite"),
    "VWW": ("mlperf_tiny", "vww_96_int8.tflite"),
    "IC": ("mlperf_tiny", "pretrainedResnet_quant.tflite"),
    "AD": ("mlperf_tiny", "ad01_int8.tflite"),
    "hello_world": ("tflm", "hello_world_int8.tflite"),
    "micro_speech": ("tflm", "micro_speech_quantized.tflite"),
    "person_detect": ("tflm", "person_detect.tflite"),
}


def readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return f.read()


def table(header_start):
    """Rows (lists of cell strings) of the README markdown table whose header line
    starts with `header_start`; the header row first."""
    lines = readme().splitlines()
    for k, line in enumerate(lines):
        if line.startswith(header_start):
            rows = []
            for row in lines[k:]:
                if not row.startswith("|"):
                    break
                cells = [c.strip() for c in row.strip().strip("|").split("|")]
                if not all(set(c) <= set("-: ") for c in cells):
                    rows.append(cells)
            assert len(rows) > 1, f"README table {header_start!r} has no rows"
            return rows
    raise AssertionError(f"README has no table starting with {header_start!r}")


def num(cell):
    return int(cell.replace(",", ""))


def arena_figures(path, **kwargs):
    it = microdl.Interpreter(model_path=path, **kwargs)
    it.allocate_tensors()
    return it


def test_arena_table_matches_the_planner():
    rows = table("| model | microdl | microdl (inputs reusable) |")
    head = rows[0]
    col = {name: head.index(name) for name in
           ("microdl", "microdl (inputs reusable)", "lower bound", "TFLite Micro",
            "microdl / TFLM", "microdl persistent (packed weights)")}
    assert {r[0] for r in rows[1:]} == set(ARENA_MODELS)
    for r in rows[1:]:
        path = shared_model(*ARENA_MODELS[r[0]])
        kept = arena_figures(path)
        reused = arena_figures(path, preserve_inputs=False)
        got = {"microdl": kept.arena_bytes,
               "microdl (inputs reusable)": reused.arena_bytes,
               "lower bound": reused.lower_bound_bytes,
               "microdl persistent (packed weights)": kept.persistent_bytes}
        want = {k: num(r[col[k]]) for k in got}
        assert got == want, f"README arena row {r[0]}: README {want}, measured {got}"
        ratio = num(r[col["microdl"]]) / num(r[col["TFLite Micro"]])
        assert r[col["microdl / TFLM"]] == f"{ratio:.2f}", r


def test_reference_kernel_arenas_sentence(monkeypatch):
    text = " ".join(readme().split())
    m = re.search(r"inputs-reusable arena equals the activations' largest live set: "
                  r"KWS ([\d,]+), VWW ([\d,]+) .*?IC ([\d,]+), AD ([\d,]+) bytes", text)
    assert m, "README sentence on the reference kernels' arenas not found"
    monkeypatch.setenv("MICRODL_REFERENCE_KERNELS", "1")
    for label, cell in zip(("KWS", "VWW", "IC", "AD"), m.groups()):
        it = arena_figures(shared_model(*ARENA_MODELS[label]), preserve_inputs=False)
        assert it.arena_bytes == num(cell), (label, it.arena_bytes, cell)


def test_digits_accuracy_table_matches_conversion():
    from microdl import pipeline
    from microdl.quant.convert import quantize_graph
    from microdl.tflite.writer import write_model
    from microdl.train import load

    rows = table("| model | float | minmax | percentile | mse | entropy |")
    head = rows[0]
    names = {"digits CNN": "digits_cnn", "digits MLP": "digits_mlp",
             "digits LSTM": "digits_lstm"}
    seen = set()
    for r in rows[1:]:
        label = r[0].split(" (")[0]
        name = names[label]
        seen.add(name)
        model = load(os.path.join(pipeline.DEFAULT_DIR, name, f"{name}_float.npz"))
        graph = model.to_graph(with_softmax=True)
        data = pipeline.model_data(name)
        params = int(re.search(r"\(([\d,]+) params\)", r[0]).group(1).replace(",", ""))
        assert params == model.count_params(), (name, params, model.count_params())
        for method in head[2:]:
            result = quantize_graph(graph, pipeline.calibration_set(name, data),
                                    method=method, progress=False)
            row = pipeline.evaluate(name, graph, write_model(result.graph), data)
            assert r[head.index("float")] == f"{row['float'] * 100:.2f}%", (name, row)
            assert r[head.index(method)] == f"{row['int8'] * 100:.2f}%", (name, method, row)
    assert seen == set(names.values())


def test_firmware_bench_table_matches_microdl_bench():
    """Every column but host time: N, accuracy / MSE, SQNR, arena, weights, MACs and
    the two NPU estimates, as tools/bench_firmware.py prints them."""
    from microdl import bench, pipeline

    rows = table("| model | task | N | float | int8 | SQNR dB |")
    head = rows[0]
    results = []
    for name in pipeline.FIRMWARE_MODELS:
        d = os.path.join(pipeline.DEFAULT_DIR, name)
        results.append(bench.bench_model(
            os.path.join(d, f"{name}_int8.tflite"), float_path=os.path.join(
                d, f"{name}_float.tflite"), data=pipeline.model_data(name)["test"],
            npus=("ethos-u55-128", "ethos-u65-256"), repeats=1))
    got_head, body = bench._table_cells(results)
    assert got_head == head
    timed = head.index("host us (p10-p90)")
    assert len(body) == len(rows) - 1
    for want, got in zip(rows[1:], body):
        want = want[:timed] + want[timed + 1:]
        got = got[:timed] + got[timed + 1:]
        assert got == want, f"README firmware row: README {want}, measured {got}"


def test_microdl_run_main_job(tmp_path):
    """The README's main-job command runs end to end and prints its tables."""
    exe = os.path.join(os.path.dirname(sys.executable), "microdl-run")
    cmd = [exe] if os.path.exists(exe) else [sys.executable, "-m", "microdl.cli.run"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for name in ("digits_cnn", "digits_mlp", "digits_lstm", "sine"):
        assert name in out, out
    assert "arena" in out.lower(), out


def test_operator_lists_match_the_registry():
    """README's "Operators" lists are the ops microdl registers, per kernel family."""
    import re as _re

    from microdl.runtime import ops
    ops.load_all()
    want = {"int": set(), "float32": set(), "hybrid": set()}
    for key in ops.PREPARERS:
        name, form = key if isinstance(key, tuple) else (key, "int")
        want[form].add(name)
    text = readme()
    for form, names in want.items():
        m = _re.search(rf"<!-- ops:{form} -->\n(.*?)\n<!-- /ops -->", text, _re.S)
        assert m, f"README has no ops:{form} list"
        listed = {n.strip() for n in m.group(1).replace("\n", " ").rstrip(". ").split(",")}
        assert listed == names, (f"{form}: README lists {sorted(listed - names)} that "
                                 f"are not registered and misses {sorted(names - listed)}")
