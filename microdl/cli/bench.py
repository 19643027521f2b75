"""microdl-bench: accuracy, host latency, memory and NPU estimates of int8/float models.

Float32 models run too: their "int8" cells are microdl's float32 results, marked
"(float32)", and they get no NPU estimates.

    microdl-bench MODEL.tflite [MODEL2 ...] [--float MODEL_FLOAT] [--data DATA.npz]
        [--npu ethos-u55-128 [my_npu.toml ...]] [--threads N] [--repeats N]
        [--per-layer] [--csv out.csv] [--json out.json] [--plot out.png] [--markdown]
        [--npu-whatif whatif.png]

Per model: host latency of microdl's Interpreter.invoke() (median, p10, p90 over
--repeats runs after a warm-up, in microseconds), arena and weight bytes, MACs, and
for each --npu the estimated cycles and latency (microdl.npu cost model).  With
--data (a .npz with x: float32 (N, *input shape without batch) and y: integer labels
or float targets): int8 accuracy (top-1 for classifiers, whose output comes from
SOFTMAX with a last dimension > 1; else MSE against y) and, with --float, the float
model's accuracy and the int8 output SQNR in dB against the float outputs.  --float
and --data take one value for every model, or one per model in the models' order.

--per-layer adds a table per model, in the spirit of Vela's --verbose-performance:
op, output shape, MACs, host time, and per NPU its cycles and whether compute or
memory bounds the layer.  --csv / --json / --plot write the rows (plot: int8 accuracy
against latency, host and each NPU).  --npu-whatif sweeps the first --npu's MACs/cycle,
clock, SRAM size and bandwidths for the first model (microdl.bench.npu_whatif) and
plots latency against each.  Exit status 2 for bad arguments or data.
"""
from __future__ import annotations

import argparse
import os
import sys

from microdl import bench
from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.evaluation import EvaluationError, progress_bar
from microdl.npu import PRESETS

PROG = "microdl-bench"


class _UsageError(Exception):
    """An argument problem found after parsing (reported like argparse errors)."""


def _parser():
    ap = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="NPU presets: " + ", ".join(PRESETS) + ".  Example:\n  microdl-bench "
               "digits_cnn_int8.tflite --float digits_cnn_float.tflite --data test.npz "
               "--npu ethos-u55-128 ethos-u65-256 --per-layer --plot bench.png")
    ap.add_argument("models", nargs="+", metavar="MODEL.tflite",
                    help="int8 .tflite models to benchmark (one row each)")
    ap.add_argument("--float", dest="floats", action="append", metavar="MODEL_FLOAT",
                    help="float reference model (.tflite or microdl-trained .npz): once "
                    "for all models, or once per model in order")
    ap.add_argument("--data", dest="datas", action="append", metavar="DATA.npz",
                    help="labelled data: .npz with arrays x and y; once for all models, "
                    "or once per model in order")
    ap.add_argument("--npu", dest="npus", action="extend", nargs="+", default=[],
                    metavar="NPU", help="NPU preset name or .json/.toml config file "
                    "(repeatable; comma-separated lists accepted)")
    ap.add_argument("--threads", type=int, default=1, metavar="N",
                    help="num_threads passed to microdl.Interpreter: threads that run "
                    "the convolutions in bands of output rows (default 1)")
    ap.add_argument("--repeats", type=int, default=bench.DEFAULT_REPEATS, metavar="N",
                    help="timed invokes per model for host latency (default "
                    f"{bench.DEFAULT_REPEATS}; at least 0.2 s)")
    ap.add_argument("--per-layer", action="store_true",
                    help="print a per-layer table per model (host time, NPU cycles, "
                    "compute/memory bound)")
    ap.add_argument("--layer-repeats", type=int, default=bench.DEFAULT_LAYER_REPEATS,
                    metavar="N", help="timed runs of each op with --per-layer")
    ap.add_argument("--csv", metavar="OUT.csv", help="write the rows as CSV")
    ap.add_argument("--json", metavar="OUT.json",
                    help="write the rows (and per-layer tables) as JSON")
    ap.add_argument("--plot", metavar="OUT.png",
                    help="write a PNG of int8 accuracy against latency (needs --data)")
    ap.add_argument("--npu-whatif", metavar="OUT.png",
                    help="sweep MACs/cycle, clock, SRAM size and SRAM / off-chip "
                    "bandwidth around the first --npu for the first model: print the "
                    "latency table and plot latency against each (PNG)")
    ap.add_argument("--memory", choices=("fast", "small"), default="fast",
                    help="microdl's arena plan (Interpreter(memory=...)): 'small' runs "
                    "layers in place and fuses chains of convolutions for a smaller "
                    "arena; the arena column, the NPU SRAM check and --npu-whatif use "
                    "it (default fast)")
    ap.add_argument("--markdown", action="store_true",
                    help="print the summary as a markdown table")
    ap.add_argument("--no-progress", action="store_true",
                    help="no progress bars (they are shown only on a terminal)")
    return ap


def _per_model(values, n, flag):
    """--float / --data values -> one value (or None) per model."""
    if not values:
        return [None] * n
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise _UsageError(f"{flag} given {len(values)} times for {n} models: give it "
                          f"once (for every model) or once per model")
    return values


def _check_args(args):
    """Validate paths and counts before any model runs; returns (floats, datas, npus)
    with the data sets loaded."""
    for path in args.models:
        if not os.path.exists(path):
            raise _UsageError(f"model file {path}: no such file")
        if os.path.isdir(path):
            raise _UsageError(f"{path} is a folder; give .tflite files")
    for name in ("threads", "repeats", "layer_repeats"):
        if getattr(args, name) < 1:
            raise _UsageError(f"--{name.replace('_', '-')} must be >= 1")
    n = len(args.models)
    floats = _per_model(args.floats, n, "--float")
    for path in set(p for p in floats if p is not None):
        if not os.path.exists(path):
            raise _UsageError(f"float model file {path}: no such file")
    datas = _per_model(args.datas, n, "--data")
    loaded = {p: bench.load_data(p) for p in set(d for d in datas if d is not None)}
    if args.plot and not loaded:
        raise _UsageError("--plot puts int8 accuracy on the y axis: give --data")
    specs = [s for spec in args.npus for s in spec.split(",") if s.strip()]
    npus = bench.resolve_npus(specs)
    if args.npu_whatif and not npus:
        raise _UsageError("--npu-whatif sweeps around an NPU: give --npu")
    return floats, [None if d is None else (*loaded[d], d) for d in datas], npus


def main(argv=None):
    """Run the CLI; returns the exit status (0 ok, 2 bad arguments or data)."""
    ap = _parser()
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:  # argparse already printed the message
        return int(e.code or 0)
    err = sys.stderr
    try:
        floats, datas, npus = _check_args(args)
        progress = not args.no_progress and err.isatty()
        rows = []
        jobs = list(zip(args.models, floats, datas))
        for path, fpath, data in progress_bar(jobs, len(jobs), PROG, progress,
                                              unit="model", leave=True):
            xy = None if data is None else data[:2]
            row = bench.bench_model(path, float_path=fpath, data=xy, npus=npus,
                                    threads=args.threads, repeats=args.repeats,
                                    per_layer=args.per_layer,
                                    layer_repeats=args.layer_repeats,
                                    progress=progress, memory=args.memory)
            if data is not None:
                row["data"] = data[2]
            rows.append(row)
    except (_UsageError, EvaluationError, ModelError, UnsupportedOpError,
            FileNotFoundError) as e:
        print(f"{PROG}: error: {e}", file=err)
        return 2
    print(bench.format_markdown(rows) if args.markdown else bench.format_table(rows))
    if args.per_layer:
        for row in rows:
            print()
            print(bench.format_layers(row))
    if args.csv:
        bench.write_csv(rows, args.csv)
        print(f"wrote {args.csv}")
    if args.json:
        bench.write_json(rows, args.json)
        print(f"wrote {args.json}")
    if args.npu_whatif:
        with open(args.models[0], "rb") as f:
            res = bench.npu_whatif(f.read(), npus[0][1], memory=args.memory)
        print()
        print(bench.format_whatif(res))
        bench.plot_whatif(res, args.npu_whatif,
                          title=f"{os.path.basename(args.models[0])} around {npus[0][0]}")
        print(f"wrote {args.npu_whatif}")
    if args.plot:
        try:
            n = bench.plot(rows, args.plot)
        except bench.BenchError as e:
            print(f"{PROG}: error: {e}", file=err)
            return 2
        skipped = len(rows) - n
        note = f" ({skipped} model(s) without an accuracy value left out)" if skipped else ""
        print(f"wrote {args.plot}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
