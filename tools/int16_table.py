"""int8 vs 16x8 vs mixed int8/int16 conversion of the firmware models: output SQNR
against the float model (microdl.evaluation.layer_report, first 256 held-out samples)
and top-1 accuracy for the classifiers.  Prints a markdown table.

    python tools/int16_table.py [--mixed K ...]     (default K = 1 2 3)
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from microdl import pipeline  # noqa: E402
from microdl.core.tables import markdown_table  # noqa: E402
from microdl.evaluation import layer_report  # noqa: E402
from microdl.quant.convert import (quantize_graph, quantize_mixed,  # noqa: E402
                                   select_int16_ops)
from microdl.tflite.writer import write_model  # noqa: E402
from microdl.train import load  # noqa: E402


def cell(report):
    m = report["model"]
    text = f"{m['output_sqnr_db'][0]:.1f} dB"
    if "int8_accuracy" in m:
        text += f" / {m['int8_accuracy'] * 100:.2f}%"
    return text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mixed", type=int, nargs="*", default=[1, 2, 3])
    args = ap.parse_args(argv)
    rows = [["model", "int8", "16x8 (`--activations int16`)"] +
            [f"`--mixed-int16 {k}`" for k in args.mixed]]
    for name in pipeline.FIRMWARE_MODELS:
        path = os.path.join(pipeline.DEFAULT_DIR, name, f"{name}_float.npz")
        graph = load(path).to_graph(with_softmax=True)
        data = pipeline.model_data(name)
        calib = pipeline.calibration_set(name, data)
        x, y = data["test"]
        test = [x.astype("float32")]
        r8 = quantize_graph(graph, calib, progress=False)
        rep8 = layer_report(graph, write_model(r8.graph), test, y, progress=False)
        r16 = quantize_graph(graph, calib, activations="int16", progress=False,
                             ranges=r8.ranges)
        row = [name, cell(rep8), cell(layer_report(graph, write_model(r16.graph), test, y,
                                                   progress=False))]
        for k in args.mixed:
            chosen = select_int16_ops(graph, rep8, k)
            rm = quantize_mixed(graph, calib, chosen, progress=False, ranges=r8.ranges)
            row.append(cell(layer_report(graph, write_model(rm.graph), test, y,
                                         progress=False)) + f" (ops {chosen})")
        rows.append(row)
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
