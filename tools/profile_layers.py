#!/usr/bin/env python3
"""Per-layer latency of one model on microdl: where does invoke() spend its time?

The model is prepared and allocated as usual; then every C node is re-bound, alone,
into a one-node Engine with exactly the addresses (params, inputs, output, arena
scratch) of the full model, and timed by itself (median of batches of runs, the
Python call overhead of an empty Engine subtracted).  Printed per node: op index and
name, C kernel, output shape, MACs, microseconds, share of the sum, GMAC/s; then the
sum of the nodes beside the measured median of the whole invoke().

    python tools/profile_layers.py MODEL.tflite [--repeats N] [--top K] [--markdown]
    python tools/profile_layers.py VWW        (short names of tools/bench_runtime.py)
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import microdl  # noqa: E402
from microdl.runtime import _engine  # noqa: E402
from microdl.runtime import interpreter as _interp  # noqa: E402
from microdl.utils import random_inputs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "models"))
SHORT = {
    "KWS": "mlperf_tiny/kws_ref_model.tflite",
    "VWW": "mlperf_tiny/vww_96_int8.tflite",
    "IC": "mlperf_tiny/pretrainedResnet_quant.tflite",
    "AD": "mlperf_tiny/ad01_int8.tflite",
    "person_detect": "tflm/person_detect.tflite",
}


class _RecordingEngine:
    """Stands in for Engine during Interpreter._bind: builds the real engine and keeps
    every set_node call so the nodes can be re-bound one by one."""

    calls: list = []

    def __init__(self, count, threads=1):
        self._real = _engine.Engine(count, threads)
        _RecordingEngine.calls = [None] * count

    def set_groups(self, sizes):
        self._real.set_groups(sizes)

    def set_node(self, i, kernel_index, params, inputs, output, scratch):
        _RecordingEngine.calls[i] = (kernel_index, params, list(inputs), output, scratch)
        self._real.set_node(i, kernel_index, params, inputs, output, scratch)

    def run(self):
        self._real.run()


def prepared(path):
    """(interpreter, [(op index, Node, set_node args)]) with random inputs set."""
    saved = _interp.Engine
    _interp.Engine = _RecordingEngine
    try:
        it = microdl.Interpreter(model_path=path)
        it.allocate_tensors()
    finally:
        _interp.Engine = saved
    it._engine = it._engine._real
    calls = _RecordingEngine.calls
    nodes = [s for _, s in it._steps if isinstance(s, _interp.Node)]
    for d, x in zip(it.get_input_details(), random_inputs(it.get_input_details(), 1)):
        it.set_tensor(d["index"], x)
    it.invoke()  # realistic activations in the arena
    return it, list(zip(it._node_ops, nodes, calls))


def _time(fn, repeats, inner):
    """Median seconds of one fn() call over `repeats` batches of `inner` calls."""
    for _ in range(3):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        ts.append((time.perf_counter() - t0) / inner)
    return float(np.median(ts))


def profile(path, repeats=50):
    """Rows (op index, op name, kernel, output shape, MACs, seconds) and the measured
    whole-invoke median (seconds)."""
    it, nodes = prepared(path)
    g = it._graph
    ops = {d["index"]: d for d in it.get_ops_details()}
    empty = _engine.Engine(0)
    overhead = _time(empty.run, repeats, 200)
    rows = []
    seen_ops = set()
    for op_index, node, call in nodes:
        e = _engine.Engine(1)
        e.set_node(0, *call)
        t1 = _time(e.run, 5, 5)
        inner = max(1, min(2000, int(2e-3 / max(t1, 1e-7))))
        t = max(_time(e.run, repeats, inner) - overhead, 0.0)
        op = g.ops[op_index]
        # MACs belong to the op; count them once when an op becomes several nodes.
        macs = ops[op_index]["macs"] if op_index not in seen_ops else 0
        seen_ops.add(op_index)
        shape = "x".join(map(str, g.tensors[node.output].shape))
        rows.append((op_index, op.name, node.kernel, shape, macs, t))
    whole = _time(it.invoke, repeats, max(1, int(2e-3 / max(sum(r[5] for r in rows),
                                                              1e-6)))) - overhead
    return rows, whole


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="a .tflite path or one of " + ", ".join(SHORT))
    ap.add_argument("--repeats", type=int, default=50, help="timed batches per node")
    ap.add_argument("--top", type=int, default=0, help="only the K slowest nodes")
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
    _table(hdr, out, args.markdown)
    macs = sum(r[4] for r in rows)
    print(f"\n{os.path.basename(path)}: sum of nodes {total * 1e6:.1f} us "
          f"({macs / total / 1e9:.2f} GMAC/s), whole invoke {whole * 1e6:.1f} us, "
          f"{len(rows)} nodes")
    return 0


def _table(hdr, rows, markdown):
    if markdown:
        print("| " + " | ".join(hdr) + " |")
        print("|" + "|".join("---" for _ in hdr) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(str(x)) for x in col) for col in zip(hdr, *rows)]
    for r in [hdr] + rows:
        print("  ".join(v.rjust(w) if c not in (1, 2, 3) else v.ljust(w)
                        for c, (v, w) in enumerate(zip(r, widths))))


if __name__ == "__main__":
    sys.exit(main())
