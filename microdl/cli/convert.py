"""microdl-convert: post-training int8 quantization of a float model to a standard .tflite.

    microdl-convert INPUT -o OUTPUT.tflite --calibration-data DATA [--num-samples N]
        [--method minmax|percentile|mse|entropy] [--percentile P] [--per-tensor]
        [--activations int8|int16 | --mixed-int16 K]
        [--input-type int8|uint8|int16|float32] [--output-type ...] [--report report.json]
    microdl-convert INPUT -o OUTPUT.tflite --weights-only [--per-tensor]
        [--min-elements N] [--calibration-data DATA] [--report report.json]

INPUT is a float .tflite file or a microdl-trained model (.npz written by
microdl.train's Model.save).  A Keras 3 LSTM layer in a .tflite (a WHILE loop) is
folded into one fused UNIDIRECTIONAL_SEQUENCE_LSTM first
(microdl.quant.rewrite_lstm).  DATA is a .npy array of shape (N, *input_shape) for a
one-input model, or a .npz with one such array per input, keyed by input tensor name.
The int8 model is written to OUTPUT and a per-layer error report (float reference vs
microdl's int8 runtime on the calibration data) is printed, and saved as JSON with
--report.

With --activations int16 the model follows TFLite's 16x8 spec (int16 symmetric
activations, scale max|range| / 32767, zero point 0; int8 symmetric weights; int64
bias): every op microdl has an int16 kernel for (microdl.quant.convert.INT16_OPS) runs
16x8, the others stay int8 with conversions around them (listed in the output).  With
--mixed-int16 K the int8 model is made first, and the K ops with the lowest SQNR in
its per-layer report are redone in 16x8 form.

With --weights-only the output is a dynamic-range model instead (what
tf.lite.Optimize.DEFAULT writes without a representative dataset): int8 weights on
FULLY_CONNECTED / CONV_2D / DEPTHWISE_CONV_2D, float bias and activations, float32 in
and out, run by the hybrid kernels.  No calibration data is needed; its report lists
each quantized weight tensor with the SQNR of its int8 weights against the float ones
(what the conversion itself loses), and, when --calibration-data is given, the SQNR of
each model output of microdl running the dynamic-range model against the float
reference on those samples.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from microdl.core.errors import ModelError
from microdl.evaluation import (EvaluationError, format_report, json_safe, layer_report,
                                load_float_graph)
from microdl.core.tables import text_table
from microdl.evaluation import sqnr_db
from microdl.floatexec import FloatExecutor
from microdl.quant.convert import (TF_MIN_ELEMENTS, quantize_graph, quantize_mixed,
                                   quantize_weights_only, select_int16_ops)
from microdl.quant.rewrite_lstm import fuse_keras_lstm
from microdl.runtime.interpreter import Interpreter
from microdl.tflite.writer import write_model

METHODS = ("minmax", "percentile", "mse", "entropy")
TYPES = ("int8", "uint8", "int16", "float32")


class CalibrationDataError(ValueError):
    """The calibration data does not fit the model (says what and how to fix it)."""


def load_calibration_data(path, graph, num_samples=None):
    """Read DATA and check it against the graph's inputs.

    Returns a list (graph-input order) of float32 arrays (N, *input_shape[1:]).
    Raises CalibrationDataError on a missing/extra input, wrong shape or dtype, NaN or
    inf, or an empty set."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    inputs = [graph.tensors[i] for i in graph.inputs]
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise CalibrationDataError(f"{path}: not a .npy/.npz array file ({e})") from None
    if isinstance(loaded, np.ndarray):
        if len(inputs) != 1:
            names = ", ".join(t.name for t in inputs)
            raise CalibrationDataError(
                f"{path}: a .npy holds one array but the model has {len(inputs)} inputs "
                f"({names}); save a .npz with one array per input name")
        arrays = {inputs[0].name: loaded}
    else:
        arrays = {k: loaded[k] for k in loaded.files}
        names = [t.name for t in inputs]
        missing = [n for n in names if n not in arrays]
        if len(inputs) == 1 and len(arrays) == 1 and missing:
            arrays = {names[0]: next(iter(arrays.values()))}
            missing = []
        if missing:
            raise CalibrationDataError(f"{path}: no array for input(s) {missing}; the "
                                       f".npz has {sorted(arrays)}")
    out = []
    n_seen = None
    for t in inputs:
        x = arrays[t.name]
        if x.dtype.kind not in "fiu":
            raise CalibrationDataError(f"{path}: input {t.name!r} has dtype {x.dtype}; "
                                       f"calibration data must be numeric (float32)")
        want = tuple(t.shape[1:])
        if x.ndim != len(t.shape) or tuple(x.shape[1:]) != want:
            raise CalibrationDataError(
                f"{path}: input {t.name!r} has shape {x.shape}, expected (N, "
                f"{', '.join(map(str, want))}) — N samples of the model's input shape "
                f"{tuple(t.shape)} without its batch dimension")
        if x.shape[0] == 0:
            raise CalibrationDataError(f"{path}: input {t.name!r} holds no samples")
        x = x.astype(np.float32)
        if not np.all(np.isfinite(x)):
            bad = int(np.sum(~np.isfinite(x)))
            raise CalibrationDataError(f"{path}: input {t.name!r} has {bad} NaN or inf "
                                       f"values; clean the data first")
        if n_seen is not None and x.shape[0] != n_seen:
            raise CalibrationDataError(f"{path}: inputs hold different sample counts "
                                       f"({n_seen} vs {x.shape[0]})")
        n_seen = x.shape[0]
        out.append(x)
    if num_samples is not None:
        if num_samples < 1:
            raise CalibrationDataError("--num-samples must be >= 1")
        out = [x[:num_samples] for x in out]
    return out


def convert(input_path, output_path, calibration_data, num_samples=None, method="minmax",
            percentile=99.99, per_tensor=False, input_type=None, output_type=None,
            report_path=None, progress=True, out=None, activations="int8",
            mixed_int16=None):
    """The CLI's work as a function (prints to `out`, default stdout).  Returns the
    report dict.  activations "int16": the 16x8 model; mixed_int16=K: the int8 model
    with the K ops of lowest int8 SQNR (per-layer report) in 16x8 form."""
    out = sys.stdout if out is None else out
    graph = fuse_keras_lstm(load_float_graph(input_path))  # Keras 3 LSTM loops
    samples = load_calibration_data(calibration_data, graph, num_samples)
    kw = dict(method=method, percentile=percentile, per_channel=not per_tensor,
              progress=progress)
    int8_sqnr = None
    if mixed_int16 is not None:
        if activations != "int8":
            raise ValueError("--mixed-int16 starts from the int8 model; do not combine "
                             "it with --activations int16")
        base = quantize_graph(graph, samples, **kw)
        base_report = layer_report(graph, write_model(base.graph), samples,
                                   progress=progress)
        int8_sqnr = base_report["model"]["output_sqnr_db"]
        chosen = select_int16_ops(graph, base_report, mixed_int16)
        result = quantize_mixed(graph, samples, chosen, input_type=input_type or "int8",
                                output_type=output_type or "int8", ranges=base.ranges,
                                **kw)
    else:
        result = quantize_graph(graph, samples, input_type=input_type,
                                output_type=output_type, activations=activations, **kw)
    model = write_model(result.graph, description="microdl-convert")
    with open(output_path, "wb") as f:
        f.write(model)
    report = layer_report(graph, model, samples, progress=progress)
    report["model"].update({"method": method, "per_channel": not per_tensor,
                            "input": os.path.basename(input_path),
                            "output": os.path.basename(output_path),
                            "calibration_samples": result.samples,
                            "activations": "mixed" if mixed_int16 is not None
                            else activations,
                            "int16_ops": list(result.int16_ops)})
    print(format_report(report), file=out)
    if activations == "int16" or mixed_int16 is not None:
        int16 = set(result.int16_ops)
        kept = [f"{op.index} {op.name}" for op in graph.ops if op.index not in int16]
        print(f"ops in 16x8 form: {len(int16)} of {len(graph.ops)}", file=out)
        if kept:
            print("ops kept int8: " + ", ".join(kept), file=out)
    if int8_sqnr is not None:
        report["model"]["int8_output_sqnr_db"] = int8_sqnr
        print("output SQNR dB of the int8 model: " +
              ", ".join(f"{v:.1f}" for v in int8_sqnr), file=out)
    print(f"wrote {output_path} ({len(model):,} bytes)", file=out)
    if report_path:
        with open(report_path, "w") as f:
            json.dump(json_safe(report), f, indent=2)
    return report


def format_weights_only_report(report) -> str:
    """The --weights-only report as text: one row per quantized weight tensor, the
    weighted ops left float, and the output agreement when measured."""
    rows = [("op", "type", "tensor", "shape", "scales", "weight SQNR dB")]
    for r in report["layers"]:
        name = r["tensor_name"] if len(r["tensor_name"]) <= 40 else "..." + r["tensor_name"][-37:]
        rows.append((str(r["op"]), r["name"], name, "x".join(map(str, r["shape"])),
                     str(r["scales"]), f"{r['weight_sqnr_db']:.1f}"))
    lines = [text_table(rows, left=(1, 2)), ""]
    for r in report["skipped"]:
        lines.append(f"op {r['op']} ({r['name']}) left float: {r['reason']}")
    m = report["model"]
    if "output_sqnr_db" in m:
        lines.append(f"samples compared: {m['samples']} (microdl dynamic-range model vs "
                     f"float reference)")
        lines.append("output SQNR dB: " + ", ".join(f"{v:.1f}" for v in m["output_sqnr_db"]))
    else:
        lines.append("output agreement not measured (give --calibration-data)")
    return "\n".join(lines)


def convert_weights_only(input_path, output_path, per_tensor=False,
                         min_elements=TF_MIN_ELEMENTS, calibration_data=None,
                         num_samples=None, report_path=None, out=None):
    """--weights-only: write the dynamic-range model and print its report (see the
    module docstring).  Returns the report dict."""
    out = sys.stdout if out is None else out
    graph = load_float_graph(input_path)
    samples = (load_calibration_data(calibration_data, graph, num_samples)
               if calibration_data else None)
    result = quantize_weights_only(graph, per_channel=not per_tensor,
                                   min_elements=min_elements)
    model = write_model(result.graph, description="microdl-convert --weights-only")
    with open(output_path, "wb") as f:
        f.write(model)
    report = {"layers": result.layers, "skipped": result.skipped,
              "model": {"input": os.path.basename(input_path),
                        "output": os.path.basename(output_path),
                        "per_channel": not per_tensor, "min_elements": min_elements}}
    if samples is not None:
        ex = FloatExecutor(graph)
        it = Interpreter(model_content=model)
        it.allocate_tensors()
        n = int(samples[0].shape[0])
        refs, gots = [[] for _ in graph.outputs], [[] for _ in graph.outputs]
        for i in range(n):
            xs = [x[i:i + 1] for x in samples]
            for d, x in zip(it.get_input_details(), xs):
                it.set_tensor(d["index"], x.astype(np.float32).reshape(d["shape"]))
            it.invoke()
            for k, (r, d) in enumerate(zip(ex.run(xs), it.get_output_details())):
                refs[k].append(np.asarray(r, np.float64).reshape(-1))
                gots[k].append(it.get_tensor(d["index"]).astype(np.float64).reshape(-1))
        report["model"].update(samples=n, output_sqnr_db=[
            sqnr_db(np.concatenate(r), np.concatenate(g)) for r, g in zip(refs, gots)])
    print(format_weights_only_report(report), file=out)
    print(f"wrote {output_path} ({len(model):,} bytes)", file=out)
    if report_path:
        with open(report_path, "w") as f:
            json.dump(json_safe(report), f, indent=2)
    return report


def main(argv=None):
    ap = argparse.ArgumentParser(prog="microdl-convert",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("input", help="float .tflite or microdl-trained model (.npz)")
    ap.add_argument("-o", "--output", required=True, help="int8 .tflite to write")
    ap.add_argument("--calibration-data", default=None,
                    help=".npy (N, *input_shape) or .npz keyed by input name (required "
                         "unless --weights-only)")
    ap.add_argument("--weights-only", action="store_true",
                    help="dynamic-range model: int8 weights, float activations (no "
                         "calibration needed)")
    ap.add_argument("--min-elements", type=int, default=TF_MIN_ELEMENTS,
                    help="--weights-only: weight tensors smaller than this stay float "
                         f"(default {TF_MIN_ELEMENTS}, as TensorFlow)")
    ap.add_argument("--num-samples", type=int, default=None,
                    help="use the first N calibration samples")
    ap.add_argument("--method", choices=METHODS, default="minmax",
                    help="calibration observer (default minmax)")
    ap.add_argument("--percentile", type=float, default=99.99,
                    help="for --method percentile (default 99.99)")
    ap.add_argument("--per-tensor", action="store_true",
                    help="one weight scale per tensor (for accelerators that need it)")
    ap.add_argument("--activations", choices=("int8", "int16"), default="int8",
                    help="int16: TFLite's 16x8 spec (int16 symmetric activations, int8 "
                         "weights, int64 bias); ops without a 16x8 kernel stay int8")
    ap.add_argument("--mixed-int16", type=int, default=None, metavar="K",
                    help="int8 model with the K ops of lowest int8 SQNR in 16x8 form")
    ap.add_argument("--input-type", choices=TYPES, default=None,
                    help="model input type (default int8; int16 with --activations "
                         "int16)")
    ap.add_argument("--output-type", choices=TYPES, default=None,
                    help="model output type (default as --input-type)")
    ap.add_argument("--report", default=None, help="write the report as JSON here")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    if not 0 < args.percentile <= 100:
        ap.error("--percentile must be in (0, 100]")
    if not args.weights_only and args.calibration_data is None:
        ap.error("--calibration-data is required (or use --weights-only)")
    if args.min_elements < 0:
        ap.error("--min-elements must be >= 0")
    if args.mixed_int16 is not None and args.mixed_int16 < 0:
        ap.error("--mixed-int16 must be >= 0")
    if args.mixed_int16 is not None and args.activations == "int16":
        ap.error("--mixed-int16 and --activations int16 exclude each other")
    if args.activations == "int16":
        for name in ("input_type", "output_type"):
            if getattr(args, name) in ("int8", "uint8"):
                ap.error(f"--{name.replace('_', '-')} must be int16 or float32 with "
                         f"--activations int16")
    elif args.mixed_int16 is None:
        for name in ("input_type", "output_type"):
            if getattr(args, name) == "int16":
                ap.error(f"--{name.replace('_', '-')} int16 needs --activations int16 "
                         f"or --mixed-int16")
    try:
        if args.weights_only:
            convert_weights_only(args.input, args.output, args.per_tensor,
                                 args.min_elements, args.calibration_data,
                                 args.num_samples, args.report)
            return 0
        convert(args.input, args.output, args.calibration_data, args.num_samples,
                args.method, args.percentile, args.per_tensor, args.input_type,
                args.output_type, args.report, progress=not args.no_progress,
                activations=args.activations, mixed_int16=args.mixed_int16)
    except (ModelError, CalibrationDataError, EvaluationError, FileNotFoundError) as e:
        print(f"microdl-convert: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
