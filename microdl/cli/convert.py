"""microdl-convert: post-training int8 quantization of a float model to a standard .tflite.

    microdl-convert INPUT -o OUTPUT.tflite --calibration-data DATA [--num-samples N]
        [--method minmax|percentile|mse|entropy] [--percentile P] [--per-tensor]
        [--input-type int8|uint8|float32] [--output-type ...] [--report report.json]

INPUT is a float .tflite file or a microdl-trained model (.npz written by
microdl.train's Model.save).  DATA is a .npy array of shape (N, *input_shape) for a
one-input model, or a .npz with one such array per input, keyed by input tensor name.
The int8 model is written to OUTPUT and a per-layer error report (float reference vs
microdl's int8 runtime on the calibration data) is printed, and saved as JSON with
--report.
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
from microdl.quant.convert import quantize_graph
from microdl.tflite.writer import write_model

METHODS = ("minmax", "percentile", "mse", "entropy")
TYPES = ("int8", "uint8", "float32")


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
            percentile=99.99, per_tensor=False, input_type="int8", output_type="int8",
            report_path=None, progress=True, out=None):
    """The CLI's work as a function (prints to `out`, default stdout).  Returns the
    report dict."""
    out = sys.stdout if out is None else out
    graph = load_float_graph(input_path)
    samples = load_calibration_data(calibration_data, graph, num_samples)
    result = quantize_graph(graph, samples, method=method, percentile=percentile,
                            per_channel=not per_tensor, input_type=input_type,
                            output_type=output_type, progress=progress)
    model = write_model(result.graph, description="microdl-convert")
    with open(output_path, "wb") as f:
        f.write(model)
    report = layer_report(graph, model, samples, progress=progress)
    report["model"].update({"method": method, "per_channel": not per_tensor,
                            "input": os.path.basename(input_path),
                            "output": os.path.basename(output_path),
                            "calibration_samples": result.samples})
    print(format_report(report), file=out)
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
    ap.add_argument("--calibration-data", required=True,
                    help=".npy (N, *input_shape) or .npz keyed by input name")
    ap.add_argument("--num-samples", type=int, default=None,
                    help="use the first N calibration samples")
    ap.add_argument("--method", choices=METHODS, default="minmax",
                    help="calibration observer (default minmax)")
    ap.add_argument("--percentile", type=float, default=99.99,
                    help="for --method percentile (default 99.99)")
    ap.add_argument("--per-tensor", action="store_true",
                    help="one weight scale per tensor (for accelerators that need it)")
    ap.add_argument("--input-type", choices=TYPES, default="int8")
    ap.add_argument("--output-type", choices=TYPES, default="int8")
    ap.add_argument("--report", default=None, help="write the report as JSON here")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    if not 0 < args.percentile <= 100:
        ap.error("--percentile must be in (0, 100]")
    try:
        convert(args.input, args.output, args.calibration_data, args.num_samples,
                args.method, args.percentile, args.per_tensor, args.input_type,
                args.output_type, args.report, progress=not args.no_progress)
    except (ModelError, CalibrationDataError, EvaluationError, FileNotFoundError) as e:
        print(f"microdl-convert: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
