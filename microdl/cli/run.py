"""microdl-run: firmware models end to end, then int8 and float32 .tflite models.

The main job: microdl's firmware models end to end, then int8 and float32 .tflite
models in microdl's runtime with outputs, latency and arena.

    microdl-run [MODEL.tflite | FOLDER ...] [--images A.bmp B.bmp] [--repeats N]
                [--method minmax|percentile|mse|entropy] [--retrain]

With no model arguments it first runs the embedded default pipeline on
firmware_models/ (shipped float model -> microdl-convert -> int8 in microdl's runtime
on the held-out split; accuracy-vs-latency table), then every .tflite model in
../shared/models/mlperf_tiny and ../shared/models/tflm if that folder exists (relative
to the current directory), feeding person_detect.tflite the TFLite Micro example images
person.bmp and no_person.bmp found beside it and every other model a seeded random
input.  Models microdl cannot run are listed with the reason.
"""
from __future__ import annotations

import argparse
import glob
import os
import sys

import numpy as np

from microdl import Interpreter, ModelError, UnsupportedOpError, pipeline
from microdl.utils import load_bmp_as_int8, median_latency, random_inputs

DEFAULT_DIRS = [os.path.join("..", "shared", "models", "mlperf_tiny"),
                os.path.join("..", "shared", "models", "tflm")]


def _models(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            out += sorted(glob.glob(os.path.join(p, "*.tflite")))
        else:
            out.append(p)
    return out


def _fmt(arr, n=8):
    flat = np.asarray(arr).ravel()
    body = " ".join(str(v) for v in flat[:n])
    return f"[{body}{' ...' if flat.size > n else ''}] {arr.dtype}{list(arr.shape)}"


def run_model(path, images, repeats, out=sys.stdout):
    name = os.path.basename(path)
    try:
        it = Interpreter(model_path=path, rounding="tflm" if images else "litert")
    except UnsupportedOpError as e:
        ops = sorted({o["op_name"] for o in e.ops})
        if all(o["dtypes"][:1] == ["float32"] and "int8" in o["dtypes"] for o in e.ops):
            print(f"{name}: skipped, a dynamic-range model (float32 activations, int8 "
                  f"weights) in {', '.join(ops)}: not supported yet; quantize its float "
                  f"original with microdl-convert", file=out)
        else:
            print(f"{name}: skipped, unsupported: {', '.join(ops)}", file=out)
        return None
    except ModelError as e:
        print(f"{name}: skipped, bad model: {e}", file=out)
        return None
    it.allocate_tensors()
    ins, outs = it.get_input_details(), it.get_output_details()
    feeds = []
    if images:
        for img in images:
            feeds.append((os.path.basename(img),
                          [load_bmp_as_int8(img, tuple(ins[0]["shape"]))]))
    else:
        feeds.append(("random input", random_inputs(ins, seed=0)))
    macs = sum(op["macs"] for op in it.get_ops_details())
    print(f"{name}: {len(it.get_ops_details())} ops, {macs:,} MACs, arena "
          f"{it.arena_bytes:,} B", file=out)
    for label, xs in feeds:
        for d, x in zip(ins, xs):
            it.set_tensor(d["index"], x)
        it.invoke()
        for d in outs:
            print(f"  {label:>14}: {d['name']} = {_fmt(it.get_tensor(d['index']))}",
                  file=out)
    med, p10, p90 = median_latency(it.invoke, repeats=repeats)
    print(f"  latency: median {med * 1e6:.1f} us (p10 {p10 * 1e6:.1f}, p90 "
          f"{p90 * 1e6:.1f}) over >= {repeats} invokes", file=out)
    return med


def main(argv=None):
    ap = argparse.ArgumentParser(prog="microdl-run", description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", help=".tflite files or folders "
                    "(default: ../shared/models/mlperf_tiny and ../shared/models/tflm)")
    ap.add_argument("--images", nargs="*", default=None,
                    help="8-bit BMP images for person_detect.tflite (default: "
                    "person.bmp and no_person.bmp beside it)")
    ap.add_argument("--repeats", type=int, default=30, help="timed invokes per model")
    ap.add_argument("--method", default="minmax",
                    choices=("minmax", "percentile", "mse", "entropy"),
                    help="calibration method for the firmware models (default minmax)")
    ap.add_argument("--retrain", action="store_true",
                    help="train the firmware models again instead of loading them")
    args = ap.parse_args(argv)
    if not args.models:
        print("== firmware_models: float -> int8 (microdl-convert, "
              f"{args.method}) -> microdl runtime, held-out split ==")
        print(pipeline.format_table(pipeline.run(method=args.method, retrain=args.retrain,
                                                 progress=False)))
        print()
    paths = args.models or [d for d in DEFAULT_DIRS if os.path.isdir(d)]
    if not paths:
        print("../shared/models not found: no third-party models to run")
        return 0
    if not args.models:
        print("== third-party int8 and float32 models (../shared/models) ==")
    models = _models(paths)
    if not models:
        ap.error(f"no .tflite files in {paths}")
    for path in models:
        if not os.path.exists(path):
            ap.error(f"{path}: no such file")
        images = None
        if os.path.basename(path) == "person_detect.tflite":
            images = args.images
            if images is None:
                here = os.path.dirname(path)
                images = [os.path.join(here, f) for f in ("person.bmp", "no_person.bmp")
                          if os.path.exists(os.path.join(here, f))]
        run_model(path, images, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
