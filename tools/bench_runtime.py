#!/usr/bin/env python3
"""Arena and latency of microdl beside TFLite Micro and LiteRT, one run.

For each MLPerf Tiny / TFLite Micro int8 model in ../shared/models:
  - arena bytes: microdl (inputs preserved, as LiteRT; and inputs reusable, as TFLite
    Micro), TFLite Micro's arena (head + tail as its RecordingMicroAllocator reports
    it, measured here with the tflite-micro pip package; without that package, the
    figures measured in ../shared/models/README.md) and the lower bound (largest live
    set of microdl's planned buffers);
  - median invoke() latency from Python over the same random inputs: microdl, LiteRT's
    reference kernels (BUILTIN_REF), LiteRT's optimized builtin kernels
    (BUILTIN_WITHOUT_DEFAULT_DELEGATES), LiteRT's default (XNNPACK) and TFLite Micro
    (pip), all with one thread, with ratios; and microdl with --threads N (default 2)
    and its speedup over one thread.  The runtimes are timed in interleaved rounds
    (microdl.utils.interleaved_latency), so a drifting machine affects them alike.

  - memory modes (Interpreter memory="fast" / "small"): microdl's arena in each mode
    (inputs kept and reusable) beside TFLite Micro's and the layer-by-layer bound, and
    the median invoke() latency of each mode (inputs reusable, one thread; p10-p90 in
    brackets) timed in interleaved rounds, with the ratio small / fast; and "fast"
    without its cap on the im2col scratch blocks (arena, latency, ratio).

    python tools/bench_runtime.py [--repeats N] [--threads N] [--markdown]
                                  [--plot latency.png] [--memory]

--memory prints the memory-modes table only.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import microdl  # noqa: E402
from microdl.core.tables import markdown_table, text_table  # noqa: E402
from microdl.utils import interleaved_latency, random_inputs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "models"))

# name, path, TFLite Micro minimum arena (bytes, head + tail, x86-64) as measured in
# ../shared/models/README.md (None where not measured).
MODELS = [
    ("KWS", "mlperf_tiny/kws_ref_model.tflite", 24285),
    ("VWW", "mlperf_tiny/vww_96_int8.tflite", 103683),
    ("IC", "mlperf_tiny/pretrainedResnet_quant.tflite", 55993),
    ("AD", "mlperf_tiny/ad01_int8.tflite", 3983),
    ("hello_world", "tflm/hello_world_int8.tflite", None),
    ("micro_speech", "tflm/micro_speech_quantized.tflite", None),
    ("person_detect", "tflm/person_detect.tflite", None),
]


def litert(path, resolver):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kind = {"ref": OpResolverType.BUILTIN_REF,
            "opt": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            "xnnpack": OpResolverType.AUTO}[resolver]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = Interpreter(model_path=path, num_threads=1,
                         experimental_op_resolver_type=kind)
    it.allocate_tensors()
    return it


def tflm_interpreter(path):
    """TFLite Micro's Python interpreter, or None without the tflite-micro package."""
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:
        return None
    return runtime.Interpreter.from_file(path, arena_size=1 << 20)


def tflm_arena_bytes(path):
    """TFLite Micro's arena use (head + tail bytes) as its RecordingMicroAllocator
    reports it; None without tflite-micro.  The report is printed by TFLite Micro's own
    statically linked C runtime and only flushed at exit, so it runs in a subprocess."""
    import re
    import subprocess

    code = ("from tflite_micro.python.tflite_micro import runtime\n"
            f"runtime.Interpreter.from_file({path!r}, arena_size=1 << 20)"
            ".print_allocations()\n")
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                              text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"Arena allocation total (\d+) bytes", proc.stdout + proc.stderr)
    return int(m.group(1)) if m else None


def tflm_invoke(path, xs):
    """TFLite Micro's invoke with the inputs set, or None without tflite-micro."""
    it = tflm_interpreter(path)
    if it is None:
        return None
    for k, x in enumerate(xs):
        it.set_input(x, k)
    return it.invoke


def tflite_invoke(it, xs):
    """`it.invoke` (microdl or LiteRT) with the inputs set."""
    for d, x in zip(it.get_input_details(), xs):
        it.set_tensor(d["index"], x)
    return it.invoke


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2,
                    help="num_threads of the multi-threaded microdl column (default 2)")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument("--plot", default=None, help="write a bar chart of the latencies (PNG)")
    ap.add_argument("--memory", action="store_true",
                    help="only the memory-modes table (arena and latency per mode)")
    args = ap.parse_args(argv)
    if args.memory:
        memory_table(args.repeats, args.markdown)
        return 0
    arena_rows, speed_rows = [], []
    for name, rel, tflm_arena in MODELS:
        path = os.path.join(MODELS_DIR, rel)
        if not os.path.exists(path):
            print(f"{name}: {path} missing, skipped", file=sys.stderr)
            continue
        ours = microdl.Interpreter(model_path=path)
        ours.allocate_tensors()
        reuse = microdl.Interpreter(model_path=path, preserve_inputs=False)
        reuse.allocate_tensors()
        measured = tflm_arena_bytes(path)
        arena_rows.append((name, ours.arena_bytes, reuse.arena_bytes,
                           measured if measured is not None else tflm_arena,
                           reuse.lower_bound_bytes, ours.persistent_bytes))
        xs = random_inputs(ours.get_input_details(), seed=1)
        multi = microdl.Interpreter(model_path=path, num_threads=args.threads)
        multi.allocate_tensors()
        fns = {"ours": tflite_invoke(ours, xs), "multi": tflite_invoke(multi, xs)}
        for kind in ("ref", "opt", "xnnpack"):
            try:
                fns[kind] = tflite_invoke(litert(path, kind), xs)
            except (RuntimeError, ValueError):
                pass  # LiteRT refuses the model (person_detect)
        fn = tflm_invoke(path, xs)
        if fn is not None:
            fns["tflm"] = fn
        medians = {k: v[0] for k, v in interleaved_latency(fns, args.repeats).items()}
        t_ours = medians.pop("ours")
        peers = {k: medians.get(k) for k in ("multi", "ref", "opt", "xnnpack", "tflm")}
        speed_rows.append((name, t_ours, peers))

    def cell(v):
        return "n/a" if v is None else f"{v:,}"

    print("Arena bytes (lower is better)")
    hdr = ["model", "microdl", "microdl (inputs reusable)", "TFLite Micro",
           "lower bound", "microdl / TFLM", "microdl persistent (packed weights)"]
    rows = [[n, cell(a), cell(b), cell(t), cell(lb),
             "n/a" if t is None else f"{a / t:.2f}", cell(pb)]
            for n, a, b, t, lb, pb in arena_rows]
    _table(hdr, rows, args.markdown)
    print()
    print("Median invoke() latency, one thread (ms; ratio = peer / microdl, >1 means "
          "microdl is faster)")
    hdr = ["model", "microdl", "LiteRT reference", "ratio", "LiteRT optimized",
           "ratio", "LiteRT XNNPACK", "ratio", "TFLite Micro", "ratio"]
    rows = []
    for n, t, peers in speed_rows:
        row = [n, _ms(t)]
        for kind in ("ref", "opt", "xnnpack", "tflm"):
            p = peers[kind]
            row += ["n/a", "n/a"] if p is None else [_ms(p), f"{p / t:.2f}x"]
        rows.append(row)
    _table(hdr, rows, args.markdown)
    print()
    print(f"microdl with num_threads={args.threads} (row bands of the convolutions; "
          "outputs identical to one thread)")
    hdr = ["model", "microdl 1 thread ms", f"microdl {args.threads} threads ms",
           "speedup", "LiteRT optimized (1 thread) / microdl threaded"]
    rows = []
    for n, t, peers in speed_rows:
        m, opt = peers["multi"], peers["opt"]
        rows.append([n, _ms(t), _ms(m), f"{t / m:.2f}x",
                     "n/a" if opt is None else f"{opt / m:.2f}x"])
    _table(hdr, rows, args.markdown)
    print()
    memory_table(args.repeats, args.markdown)
    if args.plot:
        plot_latency(speed_rows, args.plot)
        print(f"wrote {args.plot}")
    return 0


def memory_table(repeats, markdown):
    """Prints, per model, the arena of memory="fast" and "small" (inputs kept /
    reusable), TFLite Micro's arena, the layer-by-layer bound (largest live set of
    the "fast" plan's buffers, inputs reusable), the
    ops "small" runs in place and fused in chains, and the latency of both modes (one thread, inputs
    reusable, interleaved rounds: median [p10-p90] ms) with small / fast; and "fast"
    without the cap on the im2col blocks (arena, latency, fast / uncapped)."""
    rows = []
    for name, rel, tflm_arena in MODELS:
        path = os.path.join(MODELS_DIR, rel)
        if not os.path.exists(path):
            print(f"{name}: {path} missing, skipped", file=sys.stderr)
            continue
        its = {}
        for mode in ("fast", "small"):
            for keep in (True, False):
                it = microdl.Interpreter(model_path=path, memory=mode,
                                         preserve_inputs=keep)
                it.allocate_tensors()
                its[mode, keep] = it
        # "fast" before its im2col blocks were capped to the tensors' peak
        # (Interpreter._cap_scratch), for the latency cost of the cap.
        uncapped = microdl.Interpreter(model_path=path, preserve_inputs=False)
        uncapped._cap_scratch = lambda *plan: plan
        uncapped.allocate_tensors()
        measured = tflm_arena_bytes(path)
        tflm = measured if measured is not None else tflm_arena
        xs = random_inputs(its["fast", False].get_input_details(), seed=1)
        fns = {mode: tflite_invoke(its[mode, False], xs) for mode in ("fast", "small")}
        fns["uncapped"] = tflite_invoke(uncapped, xs)
        lat = interleaved_latency(fns, repeats)
        small = its["small", False]
        n_ops = len(small.get_ops_details())

        def t(mode):
            m, lo, hi = lat[mode]
            return f"{_ms(m)} [{_ms(lo)}-{_ms(hi)}]"

        cell = lambda v: "n/a" if v is None else f"{v:,}"  # noqa: E731
        rows.append([name, cell(its["fast", True].arena_bytes),
                     cell(its["fast", False].arena_bytes),
                     cell(its["small", True].arena_bytes), cell(small.arena_bytes),
                     cell(tflm), cell(its["fast", False].lower_bound_bytes),
                     "n/a" if tflm is None else f"{small.arena_bytes / tflm:.2f}",
                     f"{len(small._inplace_ops)} of {n_ops}",
                     f"{sum(len(c) for c in small._fused_ops)} in "
                     f"{len(small._fused_ops)}", t("fast"), t("small"),
                     f"{lat['small'][0] / lat['fast'][0]:.2f}",
                     cell(uncapped.arena_bytes), t("uncapped"),
                     f"{lat['fast'][0] / lat['uncapped'][0]:.2f}"])
    print('Memory modes: arena bytes and latency of memory="fast" and "small" '
          "(lower is better; latency ms, one thread, inputs reusable)")
    hdr = ["model", "fast", "fast (inputs reusable)", "small", "small (inputs reusable)",
           "TFLite Micro", "layer-by-layer bound", "small reusable / TFLM",
           "ops in place", "ops fused (chains)", "fast ms", "small ms", "small / fast time",
           "fast uncapped (reusable)", "fast uncapped ms", "fast / uncapped time"]
    _table(hdr, rows, markdown)


def plot_latency(speed_rows, path):
    """Grouped bars: median latency per model (log scale, ms), microdl beside each
    peer that ran the model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [("microdl", None, "tab:red"), ("LiteRT reference", "ref", "tab:blue"),
              ("LiteRT optimized", "opt", "tab:orange"),
              ("LiteRT XNNPACK", "xnnpack", "tab:green"),
              ("TFLite Micro", "tflm", "tab:gray")]
    names = [r[0] for r in speed_rows]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(10, 4.8))
    for k, (label, key, color) in enumerate(series):
        xs, ys = [], []
        for i, (_, t, peers) in enumerate(speed_rows):
            v = t if key is None else peers.get(key)
            if v is not None:
                xs.append(i + (k - (len(series) - 1) / 2) * width)
                ys.append(v * 1e3)
        ax.bar(xs, ys, width, label=label, edgecolor="black", linewidth=0.4,
               color=color)
    ax.set_xticks(range(len(names)), names)
    ax.set_yscale("log")
    ax.set_ylabel("median invoke() latency (ms, log scale)")
    ax.set_title("int8 inference, one thread: microdl vs LiteRT and TFLite Micro "
                 "(lower is better)")
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=len(series), loc="upper center",
              bbox_to_anchor=(0.5, -0.08), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _ms(seconds):
    """Milliseconds with 3 decimals, 4 below 0.01 ms (hello_world)."""
    v = seconds * 1e3
    return f"{v:.4f}" if v < 0.01 else f"{v:.3f}"


def _table(hdr, rows, markdown):
    print(markdown_table([hdr] + rows) if markdown else text_table([hdr] + rows))


if __name__ == "__main__":
    sys.exit(main())
