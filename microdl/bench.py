"""microdl.bench: accuracy, host latency, memory and NPU estimates of int8 models
(float32 models too: see ``precision``).

One call per model gives one row (a plain, JSON-ready dict)::

    from microdl.bench import bench_model, write_csv, plot
    row = bench_model("digits_cnn_int8.tflite", float_path="digits_cnn_float.tflite",
                      data="test.npz", npus=["ethos-u55-128"])
    plot([row], "accuracy_latency.png")

What a row holds (units in the key names: ``_us`` microseconds, ``_bytes`` bytes,
``_db`` decibels; accuracies are fractions in [0, 1]):

* ``model`` (file name without extension), ``path``, ``float_model``, ``data``,
  ``task``: "classifier" (top-1 accuracy against integer labels) or "regression" by
  microdl.evaluation.task: a classifier's first output has a last dimension > 1 and
  comes from SOFTMAX.
* ``precision``: "int8", "float32" or "hybrid" (microdl.evaluation.precision), the
  arithmetic microdl runs the benchmarked model in.  The ``int8_*`` fields always
  describe the benchmarked model as microdl runs it: for a float32 model,
  ``int8_top1`` / ``int8_mse`` are its float32 results in microdl's C kernels, and
  ``sqnr_db`` compares them with the float reference (``float_path``) run in the
  numpy FloatExecutor; the text tables add "(float32)" to those cells.  A float or
  hybrid model gets no NPU estimates (``npu`` empty): the modelled Ethos-U NPUs run
  int8 / int16 ops only.
* Memory and work: ``arena_bytes`` (microdl's planned activation arena in the
  ``memory`` mode, "fast" or "small"), ``arena_bound_bytes`` (the layer-by-layer
  bound: the largest set of tensors live at once when every layer reads its whole
  input and writes its whole output),
  ``weight_bytes`` (Interpreter.weight_bytes: the constant tensors ops read), ``macs``
  (multiply-accumulates
  of one inference), ``ops``.
* Host latency: ``host_median_us``, ``host_p10_us``, ``host_p90_us`` of
  ``Interpreter.invoke()`` over ``host_repeats`` timed runs after a warm-up
  (microdl.utils.median_latency), ``threads`` as passed to the Interpreter.
* Accuracy, with data (``samples`` = N): classifiers ``float_top1`` / ``int8_top1``;
  regression ``float_mse`` / ``int8_mse`` (mean squared error against y);
  ``sqnr_db``: signal-to-quantization-noise ratio of the int8 model's dequantized
  outputs against the float model's outputs, 10 log10(sum f^2 / sum (q - f)^2)
  (needs the float model; inf when they agree exactly).
* ``npu``: per NPU label, ``cycles`` (NPU clock cycles), ``latency_us``,
  ``mac_utilization`` (0..1) and ``fits_sram`` from microdl.npu.estimate.
* ``layers`` (with ``per_layer=True``): per operator ``index``, ``op``,
  ``output_shape``, ``macs``, ``host_us`` (Interpreter.profile_ops median; 0 for ops
  that run no kernel, such as RESHAPE) and per NPU ``cycles`` and ``bound``
  ("compute", "memory" or "none").

Data (.npz): ``x`` float32 (N, *input shape without batch) and ``y`` (N,) integer
labels for classifiers, or float targets with N x (output size) values for regression.
The int8 model gets x quantized with its input's scale and zero point (TFLite spec:
float32 division, round half away from zero, saturate: microdl.evaluation.quantize);
its outputs are dequantized (microdl.evaluation.dequantize).
"""
from __future__ import annotations

import csv
import json
import math
import os

import numpy as np

from microdl.core.tables import markdown_table, text_table
from microdl.evaluation import (CLASSIFIER, INT8, EvaluationError, json_safe,
                                load_float_graph, mse, precision, run_float, run_int8,
                                set_inputs, sqnr_db, task, top1)
from microdl.npu import PRESETS, NPUConfig, NPUConfigError, estimate, load_config
from microdl.runtime.interpreter import Interpreter
from microdl.tflite import read_model
from microdl.utils import median_latency, random_inputs

DEFAULT_REPEATS = 200          # timed invokes per model (at least 0.2 s in total)
DEFAULT_LAYER_REPEATS = 50     # timed runs of each operator with per_layer=True


class BenchError(EvaluationError):
    """The inputs of a benchmark do not fit together (missing array, wrong shape,
    unknown NPU...); the message says what and how to fix it."""


# ------------------------------------------------------------------- inputs
def resolve_npus(specs):
    """NPU specs -> list of (label, NPUConfig).

    Each spec is a preset name (case-insensitive, see microdl.npu.PRESETS), a path
    of a .json / .toml config file (microdl.npu.load_config), an NPUConfig, or an
    already resolved (label, NPUConfig) pair.  A
    file's label is its config's ``name``, or the file name when that label is
    already taken (e.g. a file that starts from a preset it is compared with).

    Raises:
        BenchError: unknown preset (lists the presets), missing or invalid file."""
    out, seen = [], set()
    for spec in specs:
        if isinstance(spec, tuple) and len(spec) == 2:
            label, cfg = spec
        elif isinstance(spec, NPUConfig):
            cfg, label = spec, spec.name
        else:
            spec = os.fspath(spec)
            if spec.lower().endswith((".json", ".toml")):
                if not os.path.exists(spec):
                    raise BenchError(f"NPU config file {spec}: no such file")
                try:
                    cfg = load_config(spec)
                except (NPUConfigError, OSError) as e:
                    raise BenchError(f"NPU config file {spec}: {e}") from None
                label = cfg.name
                if label in seen:
                    label = os.path.splitext(os.path.basename(spec))[0]
            else:
                key = spec.strip().lower()
                if key not in PRESETS:
                    raise BenchError(
                        f"unknown NPU {spec!r}: give a preset name or a .json/.toml "
                        f"config file; presets: {', '.join(PRESETS)}")
                cfg, label = PRESETS[key], key
        if label in seen:
            raise BenchError(f"NPU {label!r} given twice")
        seen.add(label)
        out.append((label, cfg))
    return out


def load_data(path):
    """Read a labelled data set from a .npz holding ``x`` and ``y``.

    Returns (x float32 (N, ...), y (N, ...)).
    Raises:
        BenchError: missing file, not an .npz, no x or no y array, empty, non-finite
            x, or x and y with different sample counts."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise BenchError(f"data file {path}: no such file")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise BenchError(f"data file {path}: not a .npz array file ({e})") from None
    if isinstance(loaded, np.ndarray):
        raise BenchError(f"data file {path}: a single array; save a .npz with arrays "
                         f"'x' (inputs) and 'y' (labels or targets): "
                         f"np.savez(path, x=x, y=y)")
    with loaded:
        missing = [k for k in ("x", "y") if k not in loaded.files]
        if missing:
            raise BenchError(f"data file {path}: no {' or '.join(map(repr, missing))} "
                             f"array (it has {sorted(loaded.files)}); it needs 'x' "
                             f"(inputs) and 'y' (labels or targets)")
        x, y = loaded["x"], loaded["y"]
    return _check_xy(x, y, path)


def _check_xy(x, y, where):
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind not in "fiu" or y.dtype.kind not in "fiub":
        raise BenchError(f"{where}: x and y must be numeric (x is {x.dtype}, "
                         f"y is {y.dtype})")
    if x.ndim < 1 or x.shape[0] == 0:
        raise BenchError(f"{where}: x holds no samples")
    if y.ndim < 1 or y.shape[0] != x.shape[0]:
        raise BenchError(f"{where}: x has {x.shape[0]} samples but y has "
                         f"{y.shape[0] if y.ndim else 0}")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise BenchError(f"{where}: x has NaN or inf values")
    return x, y


def _as_data(data):
    """(x, y, label) from a .npz path or an (x, y) pair (None -> None)."""
    if data is None:
        return None
    if isinstance(data, (str, os.PathLike)):
        x, y = load_data(data)
        return x, y, os.fspath(data)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = _check_xy(data[0], data[1], "data")
        return x, y, "(arrays)"
    raise BenchError("data must be a .npz path or an (x, y) pair of arrays")


# ------------------------------------------------------------------- one model
def bench_model(path, float_path=None, data=None, npus=(), threads=1,
                repeats=DEFAULT_REPEATS, per_layer=False,
                layer_repeats=DEFAULT_LAYER_REPEATS, progress=False, label=None,
                memory="fast"):
    """Benchmark one int8 .tflite model; returns its row (see the module docstring).

    Args:
        path: the int8 (or any microdl-runnable) .tflite file.
        float_path: the float reference (.tflite or microdl-trained .npz) for float
            accuracy and the int8 output SQNR; None skips both.
        data: a .npz path with x and y, or an (x, y) pair; None skips accuracy.
        npus: NPU presets / config file paths / NPUConfigs (see resolve_npus), or
            already resolved (label, NPUConfig) pairs.
        threads: num_threads for the Interpreter (convolutions split in row bands).
        repeats: timed invokes for host latency (at least this many and 0.2 s).
        per_layer: add the ``layers`` table (host time per op: profile_ops).
        layer_repeats: timed runs of each op for the per-layer host time.
        progress: tqdm bars over the data samples.
        label: the row's ``model`` name (default: file name without extension).
        memory: Interpreter(memory=...): "fast", or "small" (in-place layers and
            fused chains: a smaller arena, slightly slower); the arena figures and
            the NPU estimates' SRAM check use that plan.
    Raises:
        BenchError: missing files, data that does not fit the model, bad NPUs.
        microdl.ModelError / microdl.UnsupportedOpError: microdl cannot run the model.
        microdl.evaluation.EvaluationError: an input dtype float data cannot be fed to.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise BenchError(f"model file {path}: no such file")
    if float_path is not None and not os.path.exists(float_path):
        raise BenchError(f"float model file {float_path}: no such file")
    npus = resolve_npus(npus)
    with open(path, "rb") as f:
        content = f.read()
    graph = read_model(content)
    it = Interpreter(model_content=content, num_threads=threads, memory=memory)
    it.allocate_tensors()
    ins, outs = it.get_input_details(), it.get_output_details()
    kind = task(graph)
    ops = it.get_ops_details()
    row = {
        "model": label or os.path.splitext(os.path.basename(path))[0],
        "path": path, "float_model": None if float_path is None else os.fspath(float_path),
        "data": None, "task": kind, "precision": precision(graph), "samples": 0,
        "float_top1": None, "int8_top1": None, "float_mse": None, "int8_mse": None,
        "sqnr_db": None,
        "arena_bytes": int(it.arena_bytes),
        "memory": memory, "arena_bound_bytes": int(it.lower_bound_bytes),
        "weight_bytes": it.weight_bytes,
        "macs": int(sum(o["macs"] for o in ops)), "ops": len(ops),
    }

    # Accuracy.
    xy = _as_data(data)
    if xy is not None:
        x, y, row["data"] = xy
        _check_model_data(path, ins, outs, x, y, kind)
        int8_out = run_int8(it, x, progress, desc=f"{row['model']} int8")
        row["samples"] = int(len(x))
        if kind == CLASSIFIER:
            row["int8_top1"] = top1(int8_out, y)
        else:
            row["int8_mse"] = mse(int8_out, y)
        if float_path is not None:
            fgraph = _load_float(float_path, ins, outs)
            float_out = run_float(fgraph, x, progress, desc=f"{row['model']} float")
            if kind == CLASSIFIER:
                row["float_top1"] = top1(float_out, y)
            else:
                row["float_mse"] = mse(float_out, y)
            row["sqnr_db"] = sqnr_db(float_out, int8_out)
        set_inputs(it, [x[:1]], ins)
    else:
        if float_path is not None:
            _load_float(float_path, ins, outs)  # check it fits even without data
        for d, v in zip(ins, random_inputs(ins, seed=0)):
            it.set_tensor(d["index"], v)

    # Host latency, on the inputs just set: the first data sample, or a seeded random
    # input without data.
    med, p10, p90 = median_latency(it.invoke, repeats=repeats)
    row.update(host_median_us=med * 1e6, host_p10_us=p10 * 1e6, host_p90_us=p90 * 1e6,
               host_repeats=int(repeats), threads=threads)

    # NPU estimates.
    estimates = {}
    row["npu"] = {}
    for name, cfg in (npus if row["precision"] == INT8 else ()):
        est = estimate(content, cfg, memory)
        estimates[name] = est
        row["npu"][name] = {"config": cfg.name, "cycles": float(est.total_cycles),
                            "latency_us": est.latency_s * 1e6,
                            "mac_utilization": float(est.mac_utilization),
                            "fits_sram": bool(est.fits_sram)}

    if per_layer:
        host = {r["index"]: r["seconds"] for r in it.profile_ops(repeats=layer_repeats)}
        layers = []
        for op in graph.ops:
            out_t = graph.tensors[op.outputs[0]] if op.outputs else None
            entry = {"index": op.index, "op": op.name,
                     "output_shape": [] if out_t is None else [int(v) for v in out_t.shape],
                     "macs": int(ops[op.index]["macs"]),
                     "host_us": host.get(op.index, 0.0) * 1e6, "npu": {}}
            for name, est in estimates.items():
                la = est.layers[op.index]
                entry["npu"][name] = {"cycles": float(la.cycles), "bound": la.bound}
            layers.append(entry)
        row["layers"] = layers
    return row


def _check_model_data(path, ins, outs, x, y, kind):
    """Raise BenchError unless x and y fit the model's single input and output."""
    name = os.path.basename(path)
    if len(ins) != 1:
        raise BenchError(f"{name} has {len(ins)} inputs; accuracy with --data needs a "
                         f"single-input model")
    want = tuple(int(v) for v in ins[0]["shape"][1:])
    if tuple(x.shape[1:]) != want:
        raise BenchError(f"data x has shape {x.shape}, but {name} takes "
                         f"{tuple(int(v) for v in ins[0]['shape'])}: x must be (N, "
                         f"{', '.join(map(str, want))}) — N samples without the batch "
                         f"dimension")
    out_shape = tuple(int(v) for v in outs[0]["shape"])
    if kind == CLASSIFIER:
        classes = out_shape[-1]
        if y.dtype.kind not in "iub" and not np.all(y == np.round(y)):
            raise BenchError(f"{name} is a classifier ({classes} outputs): y must hold "
                             f"integer class labels, got {y.dtype} values")
        if y.size != len(x):
            raise BenchError(f"{name} is a classifier: y must hold one label per "
                             f"sample, shape (N,), got {y.shape}")
        if y.min() < 0 or y.max() >= classes:
            raise BenchError(f"y labels must be in 0..{classes - 1} for {name}'s "
                             f"{classes} outputs; found {y.min()}..{y.max()}")
    else:
        per_sample = int(np.prod(out_shape[1:])) if len(out_shape) > 1 else 1
        if y.size != len(x) * per_sample:
            raise BenchError(f"{name} outputs {per_sample} value(s) per sample, but y "
                             f"has shape {y.shape} for {len(x)} samples (a model is "
                             f"a classifier, with one label per sample, when its output "
                             f"comes from SOFTMAX)")


def _load_float(float_path, ins, outs):
    """The float Graph, checked to have the int8 model's input and output shapes."""
    g = load_float_graph(os.fspath(float_path))
    name = os.path.basename(os.fspath(float_path))
    if len(g.inputs) != len(ins):
        raise BenchError(f"float model {name} has {len(g.inputs)} inputs, the int8 "
                         f"model {len(ins)}")
    for what, tensors, details in (("input", g.inputs, ins), ("output", g.outputs, outs)):
        for t, d in zip(tensors, details):
            fs, qs = tuple(g.tensors[t].shape), tuple(int(v) for v in d["shape"])
            if fs[1:] != qs[1:]:
                raise BenchError(f"float model {name} {what} shape {fs} does not match "
                                 f"the int8 model's {qs}")
    return g


# ------------------------------------------------------------------- outputs
def npu_labels(rows):
    """NPU labels of the rows, in first-seen order."""
    seen = []
    for r in rows:
        for k in r.get("npu", {}):
            if k not in seen:
                seen.append(k)
    return seen


SCALAR_COLUMNS = ("model", "task", "samples", "float_top1", "int8_top1", "float_mse",
                  "int8_mse", "sqnr_db", "arena_bytes", "weight_bytes", "macs", "ops",
                  "host_median_us", "host_p10_us", "host_p90_us", "host_repeats",
                  "threads", "path", "float_model", "data", "precision", "memory",
                  "arena_bound_bytes")
NPU_COLUMNS = ("cycles", "latency_us", "mac_utilization", "fits_sram")


def flat_row(row, npus=None):
    """The row as one flat dict: SCALAR_COLUMNS, then ``<npu>_<field>`` for every
    NPU label and NPU_COLUMNS field (None where a row lacks that NPU)."""
    out = {k: row.get(k) for k in SCALAR_COLUMNS}
    for name in (npu_labels([row]) if npus is None else npus):
        n = row.get("npu", {}).get(name, {})
        for f in NPU_COLUMNS:
            out[f"{name}_{f}"] = n.get(f)
    return out


def write_csv(rows, path):
    """One CSV line per row (flat_row columns; empty cells for None)."""
    npus = npu_labels(rows)
    flat = [flat_row(r, npus) for r in rows]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(flat[0]) if flat else list(SCALAR_COLUMNS))
        w.writeheader()
        for r in flat:
            w.writerow({k: "" if v is None else v for k, v in r.items()})


def write_json(rows, path):
    """{"tool": "microdl-bench", "units": {...}, "rows": [row, ...]} (strict JSON:
    an infinite SQNR is written as the string "inf")."""
    doc = {"tool": "microdl-bench",
           "units": {"_us": "microseconds", "_bytes": "bytes", "_db": "decibels",
                     "cycles": "NPU clock cycles", "top1": "fraction 0..1"},
           "rows": [json_safe(r) for r in rows]}
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, allow_nan=False)
        f.write("\n")


def _pct(v):
    return "-" if v is None else f"{v * 100:.2f}%"


def _num(v, fmt):
    return "-" if v is None else format(v, fmt)


def _quality(r, which):
    if r["task"] == CLASSIFIER:
        text = _pct(r[f"{which}_top1"])
    else:
        v = r[f"{which}_mse"]
        text = "-" if v is None else f"MSE {v:.4f}"
    kind = r.get("precision", INT8)
    if which == "int8" and kind != INT8 and text != "-":
        text += f" ({kind})"  # the benchmarked model's own arithmetic
    return text


def _table_cells(rows):
    npus = npu_labels(rows)
    head = ["model", "task", "N", "float", "int8", "SQNR dB", "arena B", "weights B",
            "MACs", "host us (p10-p90)"] + [f"{n} cycles (us)" for n in npus]
    body = []
    for r in rows:
        cells = [r["model"], r["task"], str(r["samples"] or "-"), _quality(r, "float"),
                 _quality(r, "int8"), _num(r["sqnr_db"], ".1f"),
                 f"{r['arena_bytes']:,}", f"{r['weight_bytes']:,}", f"{r['macs']:,}",
                 f"{r['host_median_us']:.2f} ({r['host_p10_us']:.2f}-"
                 f"{r['host_p90_us']:.2f})"]
        for n in npus:
            e = r.get("npu", {}).get(n)
            cells.append("-" if e is None else
                         f"{e['cycles']:,.0f} ({e['latency_us']:.2f})"
                         + ("" if e["fits_sram"] else " no-fit"))
        body.append(cells)
    return head, body


def format_table(rows):
    """The rows as a fixed-width text table (model and task left-aligned)."""
    head, body = _table_cells(rows)
    return text_table([head] + body, left=(0, 1))


def format_markdown(rows):
    """The rows as a GitHub-flavoured markdown table."""
    head, body = _table_cells(rows)
    return markdown_table([head] + body, right=range(2, len(head)))


def format_layers(row):
    """The row's per-layer table (needs per_layer=True), in the spirit of Vela's
    --verbose-performance: op, output shape, MACs, host time (us), and per NPU its
    cycles and what bounds the layer; then the totals."""
    if "layers" not in row:
        raise BenchError("no per-layer data: bench_model(..., per_layer=True)")
    npus = list(row.get("npu", {}))
    head = ["#", "op", "output", "MACs", "host us"]
    for n in npus:
        head += [f"{n} cycles", "bound"]
    lines = [head]
    for la in row["layers"]:
        cells = [str(la["index"]), la["op"], "x".join(map(str, la["output_shape"])),
                 f"{la['macs']:,}", f"{la['host_us']:.2f}"]
        for n in npus:
            cells += [f"{la['npu'][n]['cycles']:,.0f}", la["npu"][n]["bound"]]
        lines.append(cells)
    total = ["", "total", "", f"{row['macs']:,}",
             f"{sum(la['host_us'] for la in row['layers']):.2f}"]
    for n in npus:
        total += [f"{row['npu'][n]['cycles']:,.0f}", ""]
    lines.append(total)
    left = {1, 2} | {6 + 2 * k for k in range(len(npus))}
    return f"{row['model']}: per layer\n" + text_table(lines, left=left)


# ------------------------------------------------------------------- plot
_MARKERS = ("s", "^", "D", "v", "P", "X", "*", "h")


def plot_value(row):
    """What the plot puts on its y axis for a row: ("top-1 accuracy (%)", int8 top-1
    x 100) for classifiers, ("output SQNR vs float (dB)", sqnr_db) for regression;
    None when the row has no such value (no data, or no float model for SQNR)."""
    if row["task"] == CLASSIFIER:
        if row.get("int8_top1") is None:
            return None
        return "int8 top-1 accuracy (%)", row["int8_top1"] * 100
    v = row.get("sqnr_db")
    if v is None or not math.isfinite(v):
        return None
    return "int8 output SQNR vs float (dB)", v


def plot(rows, path, title="microdl-bench: accuracy vs latency"):
    """PNG of accuracy (y) against latency (x, log scale, microseconds): one colour
    per model, host (circle) and each NPU (its own marker) joined by a thin line,
    each model labelled once.  Classifiers and regression models get separate panels
    (top-1 accuracy, output SQNR).  Rows without a plottable value are left out.

    Returns the number of models plotted.  Raises BenchError when none can be."""
    # matplotlib is optional (the "tools" extra) and slow to import: only here.
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker
    from matplotlib.lines import Line2D

    panels = {}
    for r in rows:
        v = plot_value(r)
        if v is not None:
            panels.setdefault(v[0], []).append((r, v[1]))
    if not panels:
        raise BenchError("nothing to plot: the y axis is int8 accuracy, so give --data "
                         "(and --float for regression models' SQNR)")
    npus = npu_labels(rows)
    colours = plt.get_cmap("tab10").colors
    names = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 4.8),
                             squeeze=False, sharex=True)
    sizes = [max(10 - 2 * k, 5) for k in range(len(npus))]  # overlapping NPUs stay visible
    all_x = []
    for ax, (ylabel, items) in zip(axes[0], panels.items()):
        for r, yv in items:
            col = colours[names.index(r["model"]) % len(colours)]
            xs = [r["host_median_us"]] + [r["npu"][n]["latency_us"] for n in npus
                                          if n in r.get("npu", {})]
            all_x += xs + [r["host_p10_us"], r["host_p90_us"]]
            ax.plot(xs, [yv] * len(xs), "-", color=col, lw=0.8, alpha=0.5, zorder=1)
            ax.errorbar([r["host_median_us"]], [yv], fmt="o", color=col, ms=8,
                        xerr=[[r["host_median_us"] - r["host_p10_us"]],
                              [r["host_p90_us"] - r["host_median_us"]]], zorder=3)
            for k, n in enumerate(npus):
                if n in r.get("npu", {}):
                    ax.plot(r["npu"][n]["latency_us"], yv, _MARKERS[k % len(_MARKERS)],
                            color=col, ms=sizes[k], mec="black", mew=0.5, zorder=3 + k)
            ref = (f"float {_pct(r['float_top1'])}" if r["task"] == CLASSIFIER
                   and r.get("float_top1") is not None else None)
            text = r["model"] + (f"\n({ref})" if ref else "")
            ax.annotate(text, (r["host_median_us"], yv), textcoords="offset points",
                        xytext=(8, 6), fontsize=8, color=col)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.tick_params(labelbottom=True)
        ax.set_xlabel("latency per inference (us, log scale)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ys = [yv for _, yv in items]
        pad = max((max(ys) - min(ys)) * 0.15, 1.0)
        ax.set_ylim(min(ys) - pad, max(ys) + pad)
    positive = [v for v in all_x if v > 0]
    if positive:
        axes[0][0].set_xlim(min(positive) / 1.5, max(positive) * 3)  # room for labels
    handles = [Line2D([], [], marker="o", ls="", color="grey", ms=8,
                      label="host (microdl, median; bar p10-p90)")]
    handles += [Line2D([], [], marker=_MARKERS[k % len(_MARKERS)], ls="", color="grey",
                       mec="black", mew=0.5, ms=sizes[k], label=f"{n} (estimate)")
                for k, n in enumerate(npus)]
    axes[0][0].legend(handles=handles, loc="best", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return sum(len(v) for v in panels.values())


# ------------------------------------------------------------------- NPU what-if
# Factors applied to the chosen NPU's value of each swept parameter.
WHATIF_FACTORS = {
    "macs_per_cycle": (0.25, 0.5, 1, 2, 4),
    "clock_hz": (0.25, 0.5, 1, 1.5, 2),
    "sram_bytes": (1 / 64, 1 / 16, 1 / 4, 1, 4),
    "offchip_bytes_per_cycle": (0.25, 0.5, 1, 2, 4),
    "sram_bytes_per_cycle": (0.25, 0.5, 1, 2, 4),
}
WHATIF_UNITS = {"macs_per_cycle": "MACs/cycle", "clock_hz": "MHz",
                "sram_bytes": "KiB SRAM", "offchip_bytes_per_cycle": "off-chip GB/s",
                "sram_bytes_per_cycle": "SRAM GB/s"}


def _whatif_config(cfg, param, factor):
    if param == "macs_per_cycle":
        macs = int(round(cfg.macs_per_cycle * factor))
        scale = macs / cfg.macs_per_cycle
        # A bigger array: the micro-block grows as Ethos-U's does and the output,
        # elementwise and weight-decoding units scale with it.
        return cfg.replace(macs_per_cycle=macs, ublock=None,
                           output_elems_per_cycle=cfg.output_rate * scale,
                           elementwise_elems_per_cycle=cfg.elementwise_rate * scale,
                           weights_per_cycle=cfg.weights_per_cycle * max(scale, 1.0))
    if param == "sram_bytes":
        return cfg.replace(sram_bytes=int(cfg.sram_bytes * factor))
    return cfg.replace(**{param: getattr(cfg, param) * factor})


def _whatif_value(cfg, param):
    """The swept parameter in the unit of WHATIF_UNITS."""
    if param == "clock_hz":
        return cfg.clock_hz / 1e6
    if param == "sram_bytes":
        return cfg.sram_bytes / 1024
    if param == "offchip_bytes_per_cycle":
        return cfg.offchip_gb_per_s
    if param == "sram_bytes_per_cycle":
        return cfg.sram_gb_per_s
    return float(getattr(cfg, param))


def npu_whatif(model, config, factors=None, memory="fast"):
    """Latency of one model on variations of one NPU, one parameter at a time.

    Every point is costed by microdl.npu.sram_placement (so a smaller SRAM spills
    tensors to off-chip memory and pays for it).  Bandwidths are swept in bytes per
    cycle and reported in GB/s at the config's clock; the MAC array sweep scales the
    output, elementwise and weight-decoding rates with the array.

    Args:
        model: .tflite bytes.
        config: NPUConfig or preset name: the design point in the middle of each sweep.
        factors: {parameter: factors of the config's value} (default WHATIF_FACTORS;
            parameters: macs_per_cycle, clock_hz, sram_bytes, offchip_bytes_per_cycle,
            sram_bytes_per_cycle).
        memory: the arena plan the SRAM holds, "fast" or "small" (microdl's
            memory="small" plan: in-place layers and fused chains).
    Returns:
        {"config": config name, "memory", "sweeps": {parameter: [{"factor", "value" (in
        WHATIF_UNITS[parameter]), "cycles", "latency_us", "spilled_bytes"}, ...]}}.
    Raises:
        BenchError: unknown parameter, or a factor that gives an invalid config
            (e.g. a MAC count that is not a power of two times 8).
    """
    from microdl.npu import sram_placement
    if isinstance(config, str):
        try:
            config = NPUConfig.preset(config)
        except NPUConfigError as e:
            raise BenchError(str(e)) from None
    factors = WHATIF_FACTORS if factors is None else factors
    out = {"config": config.name, "memory": memory, "sweeps": {}}
    graph = read_model(bytes(model))
    for param, fs in factors.items():
        if param not in WHATIF_UNITS:
            raise BenchError(f"unknown what-if parameter {param!r}; known: "
                             f"{', '.join(WHATIF_UNITS)}")
        points = []
        for f in fs:
            try:
                cfg = _whatif_config(config, param, f)
            except NPUConfigError as e:
                raise BenchError(f"what-if {param} x {f}: {e}") from None
            p = sram_placement(graph if memory == "fast" else bytes(model), cfg, memory)
            points.append({"factor": float(f), "value": _whatif_value(cfg, param),
                           "cycles": float(p.estimate.total_cycles),
                           "latency_us": p.estimate.latency_s * 1e6,
                           "spilled_bytes": int(p.spilled_bytes)})
        out["sweeps"][param] = points
    return out


def format_whatif(res) -> str:
    """npu_whatif's result as a text table (one block of rows per parameter)."""
    rows = []
    for param, points in res["sweeps"].items():
        for pt in points:
            rows.append([WHATIF_UNITS[param], f"x{pt['factor']:g}", f"{pt['value']:,.4g}",
                         f"{pt['cycles']:,.0f}", f"{pt['latency_us']:,.1f}",
                         f"{pt['spilled_bytes']:,}"])
    return (f"what-if around {res['config']} (memory={res.get('memory', 'fast')!r} "
            f"arena plan):\n" +
            text_table([["parameter", "factor", "value", "cycles", "latency us",
                         "spilled B"]] + rows, left=(0,)))


def plot_whatif(res, path, title=None):
    """PNG of latency (us) against each swept parameter (log-x panels; the red star
    is the unmodified config)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker
    sweeps = res["sweeps"]
    fig, axes = plt.subplots(1, len(sweeps), figsize=(3.2 * len(sweeps), 3.2),
                             squeeze=False)
    for ax, (param, points) in zip(axes[0], sweeps.items()):
        xs = [p["value"] for p in points]
        ys = [p["latency_us"] for p in points]
        ax.plot(xs, ys, "o-")
        base = [p for p in points if p["factor"] == 1]
        if base:
            ax.plot([base[0]["value"]], [base[0]["latency_us"]], "r*", markersize=12)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(ticker.FixedLocator(xs))
        ax.xaxis.set_major_formatter(ticker.FixedFormatter(
            [f"{x:,.0f}" if x >= 10 else f"{x:g}" for x in xs]))
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.tick_params(axis="x", labelrotation=45)
        ax.set_xlabel(WHATIF_UNITS[param])
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("latency (us)")
    fig.suptitle(title or f"microdl-bench what-if around {res['config']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
