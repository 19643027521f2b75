#!/usr/bin/env python3
"""invoke() latency with 1 and 2 threads, idle and beside busy processes: microdl and
LiteRT side by side.

For each MLPerf Tiny int8 model (../shared/models/mlperf_tiny) and each load:
  - "idle": nothing of ours runs beside the benchmark (the machine may still be shared:
    the 1-minute load average is printed with every repeat);
  - "busy1": one busy process (a spinning C loop, or a Python loop without a C
    compiler) pinned to the last CPU of this process's affinity set;
  - "busy2": one pinned to each of the last two CPUs,
the latency of every invoke() call is recorded for microdl (num_threads=1 and 2) and
LiteRT (ai_edge_litert Interpreter(num_threads=1 and 2), default kernels).  The four
runtimes are timed in interleaved rounds (a batch of --calls invokes each, rotating
order), and the loads in interleaved repeats, so a drifting machine affects all alike.
Printed per load and model: median and p99 in ms over all calls of all repeats, the
range of the per-repeat p99, microdl's 2-thread median speedup and 2-thread / 1-thread
p99 ratio, and LiteRT's 2-thread figures over microdl's.

    python tools/bench_threads.py [--quick] [--markdown] [--repeats N] [--rounds N]
                                  [--calls N] [--models KWS,VWW]
                                  [--loads idle,busy1]
                                  [--microdl-root DIR]

--quick (under a minute on an idle machine, longer under load): 3 repeats of 3 rounds
of 200 calls; default (a few minutes): 5 repeats of 5 rounds of 400 calls.
--microdl-root imports microdl from another checkout (to compare builds, e.g. before
and after a change to the pool).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS_DIR = os.path.normpath(os.path.join(ROOT, "..", "shared", "models", "mlperf_tiny"))

MODELS = [
    ("KWS", "kws_ref_model.tflite"),
    ("VWW", "vww_96_int8.tflite"),
    ("IC", "pretrainedResnet_quant.tflite"),
    ("AD", "ad01_int8.tflite"),
]
LOADS = {"idle": 0, "busy1": 1, "busy2": 2}
RUNTIMES = [("microdl", 1), ("microdl", 2), ("LiteRT", 1), ("LiteRT", 2)]

BUSY_C = "int main(void) { volatile unsigned long x = 0; for (;;) x++; }\n"


class BusyProcesses:
    """`n` busy processes, each pinned to one of the last `n` CPUs this process may
    use; stopped (by their pid) on exit."""

    def __init__(self, n, program):
        self.n = n
        self.program = program
        self.procs = []

    def __enter__(self):
        cpus = sorted(os.sched_getaffinity(0))
        for cpu in cpus[::-1][:self.n]:
            p = subprocess.Popen(self.program, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL)
            os.sched_setaffinity(p.pid, {cpu})
            self.procs.append(p)
        time.sleep(0.05 if self.procs else 0)
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()
        self.procs = []


def busy_program(tmp):
    """argv of a spinning process: a compiled C loop where a C compiler exists."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc:
        src, exe = os.path.join(tmp, "busy.c"), os.path.join(tmp, "busy")
        with open(src, "w") as f:
            f.write(BUSY_C)
        if subprocess.run([cc, "-O1", src, "-o", exe]).returncode == 0:
            return [exe], "C loop"
    return [sys.executable, "-c", "while True: pass"], "Python loop"


def make_runtime(microdl, kind, threads, path, seed=0):
    """(invoke, output) for one runtime with random inputs set once."""
    if kind == "microdl":
        it = microdl.Interpreter(model_path=path, num_threads=threads)
    else:
        from ai_edge_litert.interpreter import Interpreter

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            it = Interpreter(model_path=path, num_threads=threads)
    it.allocate_tensors()
    details = it.get_input_details()
    rng = np.random.default_rng(seed)
    for d in details:
        info = np.iinfo(d["dtype"])
        x = rng.integers(info.min, info.max + 1, size=d["shape"]).astype(d["dtype"])
        it.set_tensor(d["index"], x)
    out = it.get_output_details()[0]["index"]
    return it, out


def time_batch(it, calls):
    """Latency in seconds of `calls` consecutive invoke() calls."""
    t = np.empty(calls)
    clock = time.perf_counter
    for k in range(calls):
        t0 = clock()
        it.invoke()
        t[k] = clock() - t0
    return t


def measure(microdl, args):
    """{(load, model, runtime): [per-repeat arrays of latencies]}, and the load average
    before each repeat."""
    models = [(n, f) for n, f in MODELS if n in args.models]
    loads = [n for n in LOADS if n in args.loads]
    rts = {}
    for name, fname in models:
        path = os.path.join(MODELS_DIR, fname)
        for rt in RUNTIMES:
            rts[name, rt] = make_runtime(microdl, rt[0], rt[1], path)
        # The answers are the same on every runtime (LiteRT's default kernels differ
        # from the reference by at most rounding, so only microdl's pair is checked).
        outs = []
        for rt in (("microdl", 1), ("microdl", 2)):
            it, out = rts[name, rt]
            it.invoke()
            outs.append(it.get_tensor(out))
        if not np.array_equal(outs[0], outs[1]):
            raise SystemExit(f"{name}: 2-thread output differs from 1 thread")
    with tempfile.TemporaryDirectory() as tmp:
        program, label = busy_program(tmp)
        samples, loadavg = {}, []
        for rep in range(args.repeats):
            loadavg.append(os.getloadavg()[0])
            order = loads if rep % 2 == 0 else loads[::-1]
            for load in order:
                with BusyProcesses(LOADS[load], program):
                    for name, _ in models:
                        for rt in RUNTIMES:  # warm-up (wakes the pools)
                            time_batch(rts[name, rt][0], 5)
                        for r in range(args.rounds):
                            shift = (r + rep) % len(RUNTIMES)
                            for rt in RUNTIMES[shift:] + RUNTIMES[:shift]:
                                t = time_batch(rts[name, rt][0], args.calls)
                                key = (load, name, rt)
                                samples.setdefault(key, [[] for _ in
                                                         range(args.repeats)])
                                samples[key][rep].append(t)
            print(f"# repeat {rep + 1}/{args.repeats} done, load average "
                  f"{loadavg[-1]:.2f} at its start", file=sys.stderr, flush=True)
    out = {k: [np.concatenate(r) for r in reps] for k, reps in samples.items()}
    return out, loadavg, label, models, loads


def ms(x):
    return f"{x * 1e3:.3f}" if x < 0.01 else f"{x * 1e3:.2f}"


def table_rows(samples, models, loads):
    head = ["load", "model", "microdl 1T median", "microdl 1T p99",
            "microdl 2T median", "microdl 2T p99", "microdl 2T p99 range",
            "microdl 2T speedup", "microdl 2T/1T p99",
            "LiteRT 1T median", "LiteRT 1T p99", "LiteRT 2T median", "LiteRT 2T p99",
            "LiteRT 2T / microdl 2T median", "LiteRT 2T / microdl 2T p99"]
    rows = [head]
    stats = {}
    for load in loads:
        for name, _ in models:
            st = {}
            for rt in RUNTIMES:
                reps = samples[load, name, rt]
                allv = np.concatenate(reps)
                st[rt] = (np.median(allv), np.percentile(allv, 99),
                          [np.percentile(r, 99) for r in reps])
            m1, m2 = st["microdl", 1], st["microdl", 2]
            l1, l2 = st["LiteRT", 1], st["LiteRT", 2]
            stats[load, name] = st
            rows.append([load, name, ms(m1[0]), ms(m1[1]), ms(m2[0]), ms(m2[1]),
                         f"{ms(min(m2[2]))}-{ms(max(m2[2]))}",
                         f"{m1[0] / m2[0]:.2f}x", f"{m2[1] / m1[1]:.2f}",
                         ms(l1[0]), ms(l1[1]), ms(l2[0]), ms(l2[1]),
                         f"{l2[0] / m2[0]:.2f}x", f"{l2[1] / m2[1]:.2f}x"])
    return rows, stats


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 repeats x 3 rounds x 200")
    ap.add_argument("--repeats", type=int)
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--calls", type=int)
    ap.add_argument("--models", default=",".join(n for n, _ in MODELS))
    ap.add_argument("--loads", default=",".join(LOADS))
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--microdl-root", default=ROOT,
                    help="directory holding the microdl package to measure")
    args = ap.parse_args(argv)
    quick = (3, 3, 200) if args.quick else (5, 5, 400)
    args.repeats = args.repeats or quick[0]
    args.rounds = args.rounds or quick[1]
    args.calls = args.calls or quick[2]
    args.models = [m for m in args.models.split(",") if m]
    args.loads = [x for x in args.loads.split(",") if x]
    bad = set(args.models) - {n for n, _ in MODELS} | set(args.loads) - set(LOADS)
    if bad:
        ap.error(f"unknown model or load: {sorted(bad)}")
    if min(args.repeats, args.rounds, args.calls) < 1:
        ap.error("--repeats, --rounds and --calls must be >= 1")
    if len(os.sched_getaffinity(0)) < 2:
        ap.error("needs at least 2 CPUs")
    sys.path.insert(0, os.path.abspath(args.microdl_root))
    import microdl
    from microdl.core.tables import markdown_table, text_table

    t0 = time.time()
    samples, loadavg, label, models, loads = measure(microdl, args)
    rows, stats = table_rows(samples, models, loads)
    print(f"microdl from {os.path.dirname(microdl.__file__)}; CPUs "
          f"{sorted(os.sched_getaffinity(0))}; busy process: {label}; "
          f"{args.repeats} repeats x {args.rounds} rounds x {args.calls} calls per "
          f"runtime, load and model; 1-min load average at each repeat's start: "
          f"{', '.join(f'{x:.2f}' for x in loadavg)}; {time.time() - t0:.0f} s; "
          f"times in ms")
    print(markdown_table(rows, right=range(2, len(rows[0]))) if args.markdown
          else text_table(rows, left=(0, 1)))
    loaded = [k for k in stats if k[0] != "idle"]
    if loaded:
        ratio, key = max((stats[k][("microdl", 2)][1] / stats[k][("microdl", 1)][1], k)
                         for k in loaded)
        print(f"worst microdl 2T/1T p99 under load: {ratio:.2f} ({key[0]}, {key[1]})")
    idle = [k for k in stats if k[0] == "idle"]
    if idle:
        sp = [stats[k][("microdl", 1)][0] / stats[k][("microdl", 2)][0] for k in idle]
        print("idle microdl 2T median speedup: " +
              ", ".join(f"{k[1]} {s:.2f}x" for k, s in zip(idle, sp)))


if __name__ == "__main__":
    main()
