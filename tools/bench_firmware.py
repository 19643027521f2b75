#!/usr/bin/env python3
"""Accuracy-vs-latency table and plot of the firmware models, made by microdl-bench.

Writes firmware_models/bench.csv, firmware_models/bench.json (with per-layer tables)
and firmware_models/accuracy_latency.png, and prints the markdown table for the
READMEs.  For each of digits_cnn, digits_mlp, digits_lstm and sine: the int8 model
(``*_int8.tflite``) with its float reference (``*_float.tflite``) on the held-out
split of microdl.pipeline.model_data (saved to a temporary .npz), on the host and the
ethos-u55-128 and ethos-u65-256 presets.  The same as running, from the repository
root, with the three test splits saved as x/y .npz files::

    microdl-bench firmware_models/digits_cnn/digits_cnn_int8.tflite \\
        firmware_models/digits_mlp/digits_mlp_int8.tflite \\
        firmware_models/sine/sine_int8.tflite \\
        --float firmware_models/digits_cnn/digits_cnn_float.tflite \\
        --float firmware_models/digits_mlp/digits_mlp_float.tflite \\
        --float firmware_models/sine/sine_float.tflite \\
        --data digits_cnn_test.npz --data digits_mlp_test.npz --data sine_test.npz \\
        --npu ethos-u55-128 ethos-u65-256 --per-layer --markdown \\
        --csv firmware_models/bench.csv --json firmware_models/bench.json \\
        --plot firmware_models/accuracy_latency.png

    python tools/bench_firmware.py [--repeats N]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from microdl.cli.bench import main as bench_main  # noqa: E402
from microdl.pipeline import FIRMWARE_MODELS, model_data  # noqa: E402

NPUS = ("ethos-u55-128", "ethos-u65-256")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=500,
                    help="timed invokes per model (default 500)")
    args = ap.parse_args(argv)
    os.chdir(ROOT)  # relative model paths in the CSV/JSON
    out = "firmware_models"
    with tempfile.TemporaryDirectory(prefix="microdl-bench-firmware-") as tmp:
        argv = [os.path.join(out, n, f"{n}_int8.tflite") for n in FIRMWARE_MODELS]
        for n in FIRMWARE_MODELS:
            argv += ["--float", os.path.join(out, n, f"{n}_float.tflite")]
        for n in FIRMWARE_MODELS:
            x, y = model_data(n)["test"]
            path = os.path.join(tmp, f"{n}_test.npz")
            np.savez(path, x=x.astype(np.float32), y=y)
            argv += ["--data", path]
        argv += ["--npu", *NPUS, "--per-layer", "--markdown",
                 "--repeats", str(args.repeats),
                 "--csv", os.path.join(out, "bench.csv"),
                 "--json", os.path.join(out, "bench.json"),
                 "--plot", os.path.join(out, "accuracy_latency.png")]
        return bench_main(argv)


if __name__ == "__main__":
    sys.exit(main())
