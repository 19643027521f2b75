#!/usr/bin/env python3
"""Batches: microdl resized to batch N beside N batch-1 invokes and beside LiteRT
resized to batch N, one thread.

For each MLPerf Tiny int8 model in ../shared/models, the time of one batch of N items
(default 4, the same random items for every runtime): microdl at batch N, microdl
running the N items one invoke() each at batch 1, LiteRT's optimized builtin kernels
(BUILTIN_WITHOUT_DEFAULT_DELEGATES) and LiteRT's reference kernels (BUILTIN_REF), both
resized to batch N.  The runtimes are timed in interleaved rounds
(microdl.utils.interleaved_latency); the whole measurement is repeated --runs times
and each ratio is printed as its median over the runs with the range [min - max].

    python tools/bench_batch.py [--batch N] [--repeats N] [--runs N] [--markdown]
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
from microdl.utils import interleaved_latency  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "models"))
MODELS = [("KWS", "mlperf_tiny/kws_ref_model.tflite"),
          ("VWW", "mlperf_tiny/vww_96_int8.tflite"),
          ("IC", "mlperf_tiny/pretrainedResnet_quant.tflite"),
          ("AD", "mlperf_tiny/ad01_int8.tflite")]


def litert(path, resolver, shape):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kind = {"ref": OpResolverType.BUILTIN_REF,
            "opt": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}[resolver]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = Interpreter(model_path=path, num_threads=1,
                         experimental_op_resolver_type=kind)
    it.resize_tensor_input(it.get_input_details()[0]["index"], shape)
    it.allocate_tensors()
    return it


def batched(it, x):
    """`it.invoke` with input 0 set to the batch x."""
    it.set_tensor(it.get_input_details()[0]["index"], x)
    return it.invoke


def one_by_one(it, x):
    """A callable running the items of x through `it` (batch 1) one invoke each."""
    index = it.get_input_details()[0]["index"]
    items = [np.ascontiguousarray(x[b:b + 1]) for b in range(len(x))]

    def run():
        for item in items:
            it.set_tensor(index, item)
            it.invoke()
    return run


def measure(path, batch, repeats):
    """{runtime: median seconds per batch} of one interleaved measurement."""
    ours = microdl.Interpreter(model_path=path)
    ours.allocate_tensors()
    d = ours.get_input_details()[0]
    shape = [batch] + list(d["shape"][1:])
    info = np.iinfo(d["dtype"])
    x = np.random.default_rng(1).integers(info.min, info.max + 1, size=shape,
                                          dtype=np.int64).astype(d["dtype"])
    single = microdl.Interpreter(model_path=path)
    single.allocate_tensors()
    ours.resize_tensor_input(d["index"], shape)
    ours.allocate_tensors()
    fns = {"batch": batched(ours, x), "items": one_by_one(single, x),
           "opt": batched(litert(path, "opt", shape), x),
           "ref": batched(litert(path, "ref", shape), x)}
    return {k: v[0] for k, v in interleaved_latency(fns, repeats).items()}


def _ratio(values):
    v = np.array(values)
    return f"{np.median(v):.2f}x [{v.min():.2f}-{v.max():.2f}]"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    rows = []
    for name, rel in MODELS:
        path = os.path.join(MODELS_DIR, rel)
        if not os.path.exists(path):
            print(f"{name}: {path} missing, skipped", file=sys.stderr)
            continue
        runs = [measure(path, args.batch, args.repeats) for _ in range(args.runs)]
        med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
        rows.append([name, f"{med['batch'] * 1e3:.3f}", f"{med['items'] * 1e3:.3f}",
                     _ratio([r["items"] / r["batch"] for r in runs]),
                     f"{med['opt'] * 1e3:.3f}",
                     _ratio([r["opt"] / r["batch"] for r in runs]),
                     f"{med['ref'] * 1e3:.3f}",
                     _ratio([r["ref"] / r["batch"] for r in runs])])
    n = args.batch
    print(f"One batch of {n}, one thread, ms (median over {args.runs} runs; ratio = "
          f"other / microdl batch {n}, >1 means microdl batch {n} is faster; "
          f"[range over runs])")
    hdr = ["model", f"microdl batch {n}", f"microdl {n} x batch 1", "ratio",
           f"LiteRT optimized batch {n}", "ratio", f"LiteRT reference batch {n}",
           "ratio"]
    if args.markdown:
        print(markdown_table([hdr] + rows))
    else:
        print(text_table([hdr] + rows, left=(0,)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
