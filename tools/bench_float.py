#!/usr/bin/env python3
"""Host latency of microdl's float32 kernels beside LiteRT, on the float models.

For each float model in ../shared/models (MLPerf Tiny AD, IC, VWW, KWS; TFLite Micro's
hello_world), invoke() from Python over the same standard-normal input, one thread:
microdl, LiteRT's default interpreter (its XNNPACK delegate runs float models), LiteRT's
optimized builtin kernels without delegates (BUILTIN_WITHOUT_DEFAULT_DELEGATES) and
LiteRT's reference kernels (BUILTIN_REF, the kernels microdl's results are checked
against).  The runtimes are timed in interleaved rounds (microdl.utils.
interleaved_latency), so a drifting shared machine affects them alike; each cell is the
median with the 10th-90th percentile range over all timed calls, and each ratio is
peer / microdl (> 1: microdl is faster).  A model microdl cannot load yet (KWS's
float32 file has int8 CONV_2D weights: a dynamic-range model) is listed with the
reason.

    python tools/bench_float.py [--repeats N] [--markdown]
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import microdl  # noqa: E402
from microdl.core.errors import UnsupportedOpError  # noqa: E402
from microdl.core.tables import markdown_table, text_table  # noqa: E402
from microdl.utils import interleaved_latency, random_inputs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "models"))

MODELS = [
    ("AD float", "mlperf_tiny/ad01_fp32.tflite"),
    ("IC float", "mlperf_tiny/pretrainedResnet.tflite"),
    ("VWW float", "mlperf_tiny/vww_96_float.tflite"),
    ("KWS float", "mlperf_tiny/kws_ref_model_float32.tflite"),
    ("hello_world float", "tflm/hello_world_float.tflite"),
]

PEERS = (("default", "LiteRT default (XNNPACK)"),
         ("opt", "LiteRT optimized builtins"),
         ("ref", "LiteRT reference"))


def litert(path, kind):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = {"ref": OpResolverType.BUILTIN_REF,
                "opt": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
                "default": OpResolverType.AUTO}[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = Interpreter(model_path=path, num_threads=1,
                         experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    return it


def bound_invoke(it, xs):
    for d, x in zip(it.get_input_details(), xs):
        it.set_tensor(d["index"], x)
    return it.invoke


def _ms(stats):
    med, lo, hi = (1e3 * s for s in stats)
    return f"{med:.3f} ({lo:.3f}-{hi:.3f})"


def measure(repeats):
    """[(name, {runtime: (median, p10, p90) seconds} or None, note)]."""
    rows = []
    for name, rel in MODELS:
        path = os.path.join(MODELS_DIR, rel)
        if not os.path.exists(path):
            rows.append((name, None, f"{path} missing"))
            continue
        try:
            ours = microdl.Interpreter(model_path=path)
        except UnsupportedOpError as e:
            kinds = sorted({f"{o['op_name']} ({'/'.join(o['dtypes'][:2])})"
                            for o in e.ops})
            rows.append((name, None, "microdl: unsupported " + ", ".join(kinds)))
            continue
        ours.allocate_tensors()
        xs = random_inputs(ours.get_input_details(), seed=1)
        fns = {"microdl": bound_invoke(ours, xs)}
        for kind, _ in PEERS:
            fns[kind] = bound_invoke(litert(path, kind), xs)
        rows.append((name, interleaved_latency(fns, repeats), ""))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=300,
                    help="timed invokes per runtime and model (default 300)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    rows = measure(args.repeats)
    hdr = ["model", "microdl ms"]
    for _, label in PEERS:
        hdr += [f"{label} ms", "ratio"]
    out, notes = [], []
    for name, stats, note in rows:
        if stats is None:
            notes.append(f"{name}: {note}")
            continue
        t = stats["microdl"][0]
        row = [name, _ms(stats["microdl"])]
        for kind, _ in PEERS:
            row += [_ms(stats[kind]), f"{stats[kind][0] / t:.2f}x"]
        out.append(row)
    print("invoke() latency, one thread, ms: median (10th-90th percentile); "
          "ratio = peer / microdl (> 1: microdl faster)")
    print(markdown_table([hdr] + out) if args.markdown else text_table([hdr] + out, left=(0,)))
    for n in notes:
        print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
