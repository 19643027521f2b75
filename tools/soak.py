"""Leaks and long runs (the reliability issue's last checks), each a subcommand:

    python tools/soak.py interpreters [--count 10000]   resident memory over N
        interpreters made, allocated, invoked and dropped (KWS by default)
    python tools/soak.py invokes [--count 1000000]      resident memory over N invokes
        of one small model (hello_world int8)
    python tools/soak.py threads [--seconds 60]         two 2-thread interpreters
        shared by 8 Python threads (one lock per interpreter) for a minute: every
        output identical to the one-thread answer computed first
    python tools/soak.py lsan [--count 2000]            the interpreters loop again in a
        child process under LeakSanitizer (GCC's liblsan, LD_PRELOAD), reporting the
        leaked allocations whose stack passes through microdl's extension
    python tools/soak.py all                            the four, with the defaults

Resident memory is VmRSS from /proc/self/status (Linux), sampled every tenth of the
run; "growth" is the last sample minus the one after the first tenth (warm-up:
imports, the allocator's first arenas).  Exit status 1 when a check fails: growth
above --max-growth-kib, a wrong output, or a leak in microdl's code.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
SHARED = os.path.join(ROOT, "..", "shared", "models")
MODELS = {"kws": ("mlperf_tiny", "kws_ref_model.tflite"),
          "vww": ("mlperf_tiny", "vww_96_int8.tflite"),
          "hello": ("tflm", "hello_world_int8.tflite")}


def model_path(key):
    path = os.path.join(SHARED, *MODELS[key])
    if not os.path.exists(path):
        sys.exit(f"soak.py: {path} not found: clone ../shared beside the checkout")
    return path


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def _inputs(it, n, seed=0):
    rng = np.random.default_rng(seed)
    d = it.get_input_details()[0]
    return [rng.integers(-128, 128, d["shape"]).astype(d["dtype"]) for _ in range(n)]


def _progress(total, desc):
    try:
        from tqdm import tqdm
        return tqdm(total=total, desc=desc, unit="it", mininterval=1.0, leave=False)
    except ImportError:  # tqdm is a dependency; keep the tool usable without it
        return None


def _growth(samples):
    base = samples[1] if len(samples) > 1 else samples[0]
    return samples[-1] - base


def cmd_interpreters(args):
    import microdl
    path = model_path(args.model)
    samples, step = [], max(args.count // 10, 1)
    bar = _progress(args.count, "interpreters")
    t0 = time.perf_counter()
    for k in range(args.count):
        it = microdl.Interpreter(model_path=path, num_threads=1 + k % 2)
        it.allocate_tensors()
        it.invoke()
        del it
        if (k + 1) % step == 0:
            samples.append(rss_kib())
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    g = _growth(samples)
    print(f"interpreters: {args.count:,} x {os.path.basename(path)} (1 and 2 threads) in "
          f"{time.perf_counter() - t0:.0f} s; VmRSS KiB every {step:,}: "
          f"{' '.join(map(str, samples))}; growth after warm-up {g:+,} KiB")
    return g <= args.max_growth_kib


def cmd_invokes(args):
    import microdl
    it = microdl.Interpreter(model_path=model_path("hello"))
    it.allocate_tensors()
    d, o = it.get_input_details()[0], it.get_output_details()[0]
    it.set_tensor(d["index"], np.full(d["shape"], 7, d["dtype"]))
    it.invoke()
    want = it.get_tensor(o["index"]).copy()
    samples, step = [], max(args.count // 10, 1)
    t0 = time.perf_counter()
    for k in range(args.count):
        it.invoke()
        if (k + 1) % step == 0:
            samples.append(rss_kib())
    same = np.array_equal(it.get_tensor(o["index"]), want)
    g = _growth(samples)
    print(f"invokes: {args.count:,} x hello_world_int8 in {time.perf_counter() - t0:.1f} s; "
          f"VmRSS KiB every {step:,}: {' '.join(map(str, samples))}; growth after "
          f"warm-up {g:+,} KiB; last output {'identical' if same else 'DIFFERENT'}")
    return g <= args.max_growth_kib and same


def cmd_threads(args):
    import microdl
    keys = ("kws", "vww")
    shared, locks, cases = {}, {}, {}
    for key in keys:
        solo = microdl.Interpreter(model_path=model_path(key), num_threads=1)
        solo.allocate_tensors()
        xs = _inputs(solo, 8, seed=len(key))
        d, o = solo.get_input_details()[0], solo.get_output_details()[0]
        wants = []
        for x in xs:
            solo.set_tensor(d["index"], x)
            solo.invoke()
            wants.append(solo.get_tensor(o["index"]).copy())
        cases[key] = list(zip(xs, wants))
        shared[key] = microdl.Interpreter(model_path=model_path(key), num_threads=2)
        shared[key].allocate_tensors()
        locks[key] = threading.Lock()
    stop = time.perf_counter() + args.seconds
    counts, errors = [0] * 8, []

    def worker(t):
        rng = np.random.default_rng(100 + t)
        while time.perf_counter() < stop and not errors:
            key = keys[int(rng.integers(0, 2))]
            x, want = cases[key][int(rng.integers(0, 8))]
            it = shared[key]
            with locks[key]:
                it.set_tensor(it.get_input_details()[0]["index"], x)
                it.invoke()
                got = it.get_tensor(it.get_output_details()[0]["index"])
            if not np.array_equal(got, want):
                errors.append(f"thread {t}, {key}: output differs from one thread's")
            counts[t] += 1

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.seconds + 120)
    hung = sum(t.is_alive() for t in threads)
    print(f"threads: 8 Python threads over 2 interpreters (KWS, VWW; num_threads=2) for "
          f"{args.seconds:.0f} s: {sum(counts):,} invokes ({min(counts):,}-{max(counts):,} "
          f"per thread), {len(errors)} wrong outputs, {hung} threads hung")
    for e in errors[:5]:
        print("  " + e)
    return not errors and not hung


def cmd_lsan(args):
    lib = subprocess.run(["gcc", "-print-file-name=liblsan.so"], capture_output=True,
                         text=True).stdout.strip()
    if not lib or not os.path.exists(lib):
        print("lsan: GCC's liblsan.so not found (apt-get install gcc: libgcc's lsan)")
        return False
    env = dict(os.environ, LD_PRELOAD=lib, PYTHONMALLOC="malloc",
               LSAN_OPTIONS="exitcode=0:report_objects=0:print_suppressions=0")
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import microdl\n"
            "for k in range(%d):\n"
            "    it = microdl.Interpreter(model_path=%r, num_threads=1 + k %% 2)\n"
            "    it.allocate_tensors(); it.invoke(); del it\n") % (
        ROOT, args.count, model_path(args.model))
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True)
    report = r.stderr
    blocks = [b for b in report.split("\n\n") if "leak of" in b]
    ours = [b for b in blocks if "_engine" in b or "microdl" in b]
    total = sum(int(b.split("leak of ")[1].split()[0]) for b in blocks
                if b.split("leak of ")[1].split()[0].isdigit())
    print(f"lsan: {args.count:,} interpreters under LeakSanitizer in "
          f"{time.perf_counter() - t0:.0f} s (exit {r.returncode}): {len(blocks)} leak "
          f"reports, {total:,} bytes, all of the interpreter's own start-up; "
          f"{len(ours)} through microdl's extension" if not ours else
          f"lsan: {len(ours)} leak reports through microdl's extension:")
    for b in ours[:5]:
        print(b)
    return r.returncode == 0 and not ours


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, count in (("interpreters", 10_000), ("invokes", 1_000_000),
                        ("lsan", 2_000), ("threads", None), ("all", None)):
        p = sub.add_parser(name)
        if count:
            p.add_argument("--count", type=int, default=count)
        if name in ("interpreters", "lsan"):
            p.add_argument("--model", choices=sorted(MODELS), default="kws")
        if name in ("threads", "all"):
            p.add_argument("--seconds", type=float, default=60.0)
        p.add_argument("--max-growth-kib", type=int, default=2048,
                       help="fail above this VmRSS growth after warm-up (KiB)")
    args = ap.parse_args(argv)
    cmds = {"interpreters": cmd_interpreters, "invokes": cmd_invokes,
            "threads": cmd_threads, "lsan": cmd_lsan}
    if args.cmd == "all":
        ok = True
        for name, count in (("interpreters", 10_000), ("invokes", 1_000_000),
                            ("threads", None), ("lsan", 2_000)):
            ns = argparse.Namespace(count=count, model="kws", seconds=args.seconds,
                                    max_growth_kib=args.max_growth_kib)
            ok &= cmds[name](ns)
    else:
        ok = cmds[args.cmd](args)
    print("soak: " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
