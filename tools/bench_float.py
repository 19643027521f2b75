#!/usr/bin/env python3
"""Host latency of microdl's float32 kernels beside LiteRT, on the float models.

For each float model in ../shared/models (MLPerf Tiny AD, IC, VWW, KWS; TFLite Micro's
hello_world), invoke() from Python over the same standard-normal input, one thread:
microdl, LiteRT's default interpreter (its XNNPACK delegate runs float models), LiteRT's
optimized builtin kernels without delegates (BUILTIN_WITHOUT_DEFAULT_DELEGATES) and
LiteRT's reference kernels (BUILTIN_REF, the kernels microdl's results are checked
against); with --threads N > 1 also microdl on N threads (the float convolutions in
bands of output rows, identical results) with its speedup over one thread.  The runtimes are
timed in interleaved rounds (microdl.utils.interleaved_latency), so a drifting shared machine affects them alike.  The whole
measurement is repeated --runs times (default 3): each latency cell is the median over
runs of the per-run median invoke() time, with the range [lowest-highest] of those
per-run medians; each ratio is peer / microdl (> 1: microdl is faster) from the same
run, median and range over runs.  A model microdl cannot load yet (KWS's
float32 file has int8 CONV_2D weights: a dynamic-range model) is listed with the
reason.

    python tools/bench_float.py [--repeats N] [--runs N] [--threads N] [--markdown]
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

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


def _spread(values, fmt, unit=""):
    v = np.asarray(values)
    return f"{format(float(np.median(v)), fmt)}{unit} [{format(float(v.min()), fmt)}-" \
           f"{format(float(v.max()), fmt)}]"


def measure(repeats, runs, threads):
    """[(name, {runtime: [per-run median seconds]} or None, note)]."""
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
        if threads > 1:
            multi = microdl.Interpreter(model_path=path, num_threads=threads)
            multi.allocate_tensors()
            fns["threaded"] = bound_invoke(multi, xs)
        for kind, _ in PEERS:
            fns[kind] = bound_invoke(litert(path, kind), xs)
        medians = {k: [] for k in fns}
        for _ in range(runs):
            for k, (med, _, _) in interleaved_latency(fns, repeats).items():
                medians[k].append(med)
        rows.append((name, medians, ""))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=300,
                    help="timed invokes per runtime and model (default 300)")
    ap.add_argument("--threads", type=int, default=1,
                    help="N > 1: add a column for microdl with num_threads=N "
                         "(default 1: none)")
    ap.add_argument("--runs", type=int, default=3,
                    help="repetitions of the whole interleaved measurement (default 3)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    rows = measure(args.repeats, args.runs, args.threads)
    hdr = ["model", "microdl us"]
    for _, label in PEERS:
        hdr += [f"{label} us", "ratio"]
    if args.threads > 1:
        hdr += [f"microdl {args.threads} threads us", "speedup"]
    out, notes = [], []
    for name, stats, note in rows:
        if stats is None:
            notes.append(f"{name}: {note}")
            continue
        ours = np.asarray(stats["microdl"])
        row = [name, _spread(ours * 1e6, ".1f")]
        for kind, _ in PEERS:
            peer = np.asarray(stats[kind])
            row += [_spread(peer * 1e6, ".1f"), _spread(peer / ours, ".2f", "x")]
        if args.threads > 1:
            multi = np.asarray(stats["threaded"])
            row += [_spread(multi * 1e6, ".1f"), _spread(ours / multi, ".2f", "x")]
        out.append(row)
    print(f"invoke() latency, one thread, microseconds: median [range] of {args.runs} runs' medians "
          f"({args.repeats} interleaved invokes each); ratio = peer / microdl (> 1: "
          f"microdl faster)")
    print(markdown_table([hdr] + out) if args.markdown else text_table([hdr] + out, left=(0,)))
    for n in notes:
        print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
