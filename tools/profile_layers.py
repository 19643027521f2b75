"""Per-layer latency of one model on microdl: where does invoke() spend its time?

The model is prepared and allocated as usual and given a seeded random input; then
Interpreter.profile_ops() runs each op's C nodes alone, `--repeats` times, and takes
the median.  Printed per op: op index and name, C kernel(s), output shape, MACs,
microseconds, share of the sum, GMAC/s; then the sum of the ops beside the measured
median of the whole invoke().  Public Interpreter API only.

    python tools/profile_layers.py MODEL.tflite [--repeats N] [--top K] [--markdown]
    python tools/profile_layers.py VWW        (short names of tools/bench_runtime.py)
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import microdl  # noqa: E402
from microdl.core.tables import markdown_table, text_table  # noqa: E402
from microdl.utils import median_latency, random_inputs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "models"))
SHORT = {
    "KWS": "mlperf_tiny/kws_ref_model.tflite",
    "VWW": "mlperf_tiny/vww_96_int8.tflite",
    "IC": "mlperf_tiny/pretrainedResnet_quant.tflite",
    "AD": "mlperf_tiny/ad01_int8.tflite",
    "person_detect": "tflm/person_detect.tflite",
}


def profile(path, repeats=50):
    """Rows (op index, op name, kernel, output shape, MACs, seconds), one per op that
    runs C nodes (Interpreter.profile_ops on a seeded random input), and the measured
    whole-invoke median (seconds)."""
    it = microdl.Interpreter(model_path=path)
    it.allocate_tensors()
    ins = it.get_input_details()
    for d, x in zip(ins, random_inputs(ins, 1)):
        it.set_tensor(d["index"], x)
    it.invoke()  # realistic activations in the arena
    outputs = {d["index"]: d["outputs"] for d in it.get_ops_details()}
    shapes = {d["index"]: d["shape"] for d in it.get_tensor_details()}
    rows = []
    for r in it.profile_ops(repeats=repeats):
        out = outputs[r["index"]]
        shape = "x".join(map(str, shapes[int(out[0])])) if len(out) else "-"
        rows.append((r["index"], r["op_name"], r["kernel"], shape, r["macs"], r["seconds"]))
    whole = median_latency(it.invoke, repeats=repeats)[0]
    return rows, whole


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="a .tflite path or one of " + ", ".join(SHORT))
    ap.add_argument("--repeats", type=int, default=50, help="timed runs of each op")
    ap.add_argument("--top", type=int, default=0, help="only the K slowest ops")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    path = args.model
    if path in SHORT:
        path = os.path.join(MODELS_DIR, SHORT[path])
    rows, whole = profile(path, args.repeats)
    total = sum(r[5] for r in rows)
    shown = rows
    if args.top:
        shown = sorted(rows, key=lambda r: -r[5])[:args.top]
    hdr = ["#", "op", "kernel", "output", "MACs", "us", "%", "GMAC/s"]
    out = []
    for op_index, name, kernel, shape, macs, t in shown:
        gmacs = f"{macs / t / 1e9:.2f}" if macs and t > 0 else "-"
        out.append([str(op_index), name, kernel, shape, f"{macs:,}", f"{t * 1e6:.1f}",
                    f"{100 * t / total:.1f}" if total else "-", gmacs])
    print(markdown_table([hdr] + out) if args.markdown
          else text_table([hdr] + out, left=(1, 2, 3)))
    macs = sum(r[4] for r in rows)
    print(f"\n{os.path.basename(path)}: sum of ops {total * 1e6:.1f} us "
          f"({macs / total / 1e9:.2f} GMAC/s), whole invoke {whole * 1e6:.1f} us, "
          f"{len(rows)} ops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
