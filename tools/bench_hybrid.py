#!/usr/bin/env python3
"""Dynamic-range ("hybrid") models: microdl's agreement with LiteRT's reference kernels
and host latency beside LiteRT.

The models: the float MLPerf Tiny models (AD, IC, VWW, KWS) converted in memory as
``microdl-convert --weights-only`` does (TensorFlow's defaults: int8 weights per
channel for weight tensors of at least 1024 values, FULLY_CONNECTED with
asymmetric_quantize_inputs), the same with every weighted layer quantized
(``--min-elements 0``, "all"), and hello_world (all).  KWS's published float32 file is
itself a dynamic-range model (int8 weights); --weights-only dequantizes and
requantizes its weights.

Agreement: over --seeds standard-normal inputs, max |microdl - LiteRT BUILTIN_REF| /
(max - min of LiteRT's output) over every output, and how many outputs were
bit-identical.  Latency: invoke() from Python, one thread, microdl beside LiteRT's
default interpreter (XNNPACK delegate; it takes the float ops and leaves the hybrid
ones to the builtins), its optimized builtin kernels (BUILTIN_WITHOUT_DEFAULT_DELEGATES)
and its reference kernels (BUILTIN_REF), timed in interleaved rounds
(microdl.utils.interleaved_latency); each cell is the median with the 10th-90th
percentile range, each ratio peer / microdl (> 1: microdl is faster).

    python tools/bench_hybrid.py [--repeats N] [--seeds N] [--markdown]
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import microdl  # noqa: E402
from microdl.core.tables import markdown_table, text_table  # noqa: E402
from microdl.quant.convert import TF_MIN_ELEMENTS, quantize_weights_only  # noqa: E402
from microdl.tflite.reader import read_model  # noqa: E402
from microdl.tflite.writer import write_model  # noqa: E402
from microdl.utils import interleaved_latency, random_inputs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "models"))

MODELS = [  # (label, file, min_elements)
    ("AD", "mlperf_tiny/ad01_fp32.tflite", TF_MIN_ELEMENTS),
    ("IC", "mlperf_tiny/pretrainedResnet.tflite", TF_MIN_ELEMENTS),
    ("IC all", "mlperf_tiny/pretrainedResnet.tflite", 0),
    ("VWW", "mlperf_tiny/vww_96_float.tflite", TF_MIN_ELEMENTS),
    ("VWW all", "mlperf_tiny/vww_96_float.tflite", 0),
    ("KWS", "mlperf_tiny/kws_ref_model_float32.tflite", TF_MIN_ELEMENTS),
    ("KWS all", "mlperf_tiny/kws_ref_model_float32.tflite", 0),
    ("hello_world all", "tflm/hello_world_float.tflite", 0),
]

PEERS = (("default", "LiteRT default (XNNPACK)"),
         ("opt", "LiteRT optimized builtins"),
         ("ref", "LiteRT reference"))


def litert(model, kind):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = {"ref": OpResolverType.BUILTIN_REF,
                "opt": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
                "default": OpResolverType.AUTO}[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = Interpreter(model_content=model, num_threads=1,
                         experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    return it


def convert(path, min_elements):
    with open(path, "rb") as f:
        result = quantize_weights_only(read_model(f.read()), min_elements=min_elements)
    return write_model(result.graph), len(result.layers)


def bound_invoke(it, xs):
    for d, x in zip(it.get_input_details(), xs):
        it.set_tensor(d["index"], x)
    return it.invoke


def agreement(model, seeds):
    """(max |diff| / LiteRT output range, identical outputs, outputs compared)."""
    ref = litert(model, "ref")
    ours = microdl.Interpreter(model_content=model)
    ours.allocate_tensors()
    worst, same, total = 0.0, 0, 0
    for seed in range(seeds):
        xs = random_inputs(ours.get_input_details(), seed=seed)
        bound_invoke(ref, xs)()
        bound_invoke(ours, xs)()
        for d, m in zip(ref.get_output_details(), ours.get_output_details()):
            want, got = ref.get_tensor(d["index"]), ours.get_tensor(m["index"])
            span = float(want.max() - want.min()) or 1.0
            worst = max(worst, float(np.abs(want.astype(np.float64) - got).max()) / span)
            same += bool(np.array_equal(want, got))
            total += 1
    return worst, same, total


def _ms(stats):
    med, lo, hi = (1e3 * s for s in stats)
    return f"{med:.3f} ({lo:.3f}-{hi:.3f})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=300,
                    help="timed invokes per runtime and model (default 300)")
    ap.add_argument("--seeds", type=int, default=10,
                    help="inputs compared with LiteRT's reference kernels (default 10)")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = ap.parse_args(argv)
    table = text_table if not args.markdown else markdown_table
    agree = [["model", "hybrid layers", "max abs diff / range", "bit-identical outputs"]]
    speed = [["model", "microdl ms"] + sum(([f"{lab} ms", "ratio"] for _, lab in PEERS), [])]
    for label, rel, min_elements in MODELS:
        path = os.path.join(MODELS_DIR, rel)
        if not os.path.exists(path):
            print(f"{label}: {path} missing")
            continue
        model, layers = convert(path, min_elements)
        worst, same, total = agreement(model, args.seeds)
        agree.append([label, str(layers), f"{worst:.1e}", f"{same}/{total}"])
        ours = microdl.Interpreter(model_content=model)
        ours.allocate_tensors()
        xs = random_inputs(ours.get_input_details(), seed=1)
        fns = {"microdl": bound_invoke(ours, xs)}
        for kind, _ in PEERS:
            fns[kind] = bound_invoke(litert(model, kind), xs)
        stats = interleaved_latency(fns, args.repeats)
        t = stats["microdl"][0]
        row = [label, _ms(stats["microdl"])]
        for kind, _ in PEERS:
            row += [_ms(stats[kind]), f"{stats[kind][0] / t:.2f}x"]
        speed.append(row)
    print(f"agreement with LiteRT BUILTIN_REF over {args.seeds} standard-normal inputs")
    print(table(agree) if args.markdown else table(agree, left=(0,)))
    print()
    print("invoke() latency, one thread, ms: median (10th-90th percentile); "
          "ratio = peer / microdl (> 1: microdl faster)")
    print(table(speed) if args.markdown else table(speed, left=(0,)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
