#!/usr/bin/env python3
"""Coverage-guided fuzzing of microdl with atheris (libFuzzer).

    python3 tools/fuzz.py --seconds N [--jobs J] [--corpus DIR] [--asan]
                          [--no-instrument] [--plant-crash]
    python3 tools/fuzz.py --triage CRASH_FILE     (seed + recorded mutations of a finding)
    python3 tools/fuzz.py --litert-check CORPUS   (a kept corpus against LiteRT)

Every input goes the whole path: bytes -> Interpreter(model_content=...) ->
allocate_tensors() -> set_tensor of inputs drawn from the bytes' CRC-32 -> invoke() ->
get_tensor.  The corpus (a temporary directory unless --corpus) is seeded at run time
with every .tflite of ../shared/models and firmware_models/.  Inputs come from a
structure-aware mutator (tools/fuzz_mutator.py: one field of a tensor, operator,
options table, opcode, buffer or subgraph changed, re-serialized with flatbuffers) and,
one time in ten or when a file does not parse, from libFuzzer's byte mutations.

Invariants checked for each input (a violation is a finding: the campaign stops with
a crash-* artifact and a non-zero exit):
  * loading raises only ModelError / UnsupportedOpError / ValueError, allocate_tensors()
    only those or RuntimeError, invoke() only RuntimeError (KernelError); anything
    else (IndexError, TypeError, ZeroDivisionError, a crash, a sanitizer report, a
    hang past --timeout) is a finding;
  * outputs bit-identical between the fast kernels and the reference kernels
    (MICRODL_REFERENCE_KERNELS=1 at prepare time), between 1 and 2 threads, and
    between memory="fast" and memory="small" (in-place layers, fused chains; inputs
    reusable), and the same exception class where one of them rejects the model;
  * invoke() allocates nothing that tracemalloc sees (Python objects, NumPy arrays);
  * the arena's guard bytes (MICRODL_ARENA_GUARD=1, Interpreter.check_arena_guards)
    are intact after every invoke.
Models over the budget (--max-macs, --max-bytes) are loaded but not allocated.

Coverage: the C core is rebuilt in a scratch copy of the tree with
`-fsanitize-coverage=trace-pc` (GCC has no -fsanitize=fuzzer-no-link; libFuzzer's own trace-pc hook is deprecated, so a
small shim built here hashes each (previous, current) block into 65,536 8-bit counters
that are handed to libFuzzer like clang's inline counters), and with --asan also with
AddressSanitizer + UBSan (GCC's runtimes preloaded, as tools/sanitize.sh does).  The
Python of microdl is instrumented by atheris.  --no-instrument runs the checkout's own
build (Python coverage only).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

SHIM_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#define MDLCOV_N (1u << 16)
static uint8_t counters[MDLCOV_N];
static uintptr_t pcs[2 * MDLCOV_N];
static __thread uintptr_t prev;
/* GCC -fsanitize-coverage=trace-pc calls this at every basic block: count the edge
   (previous block, this block), AFL style. */
void __sanitizer_cov_trace_pc(void) {
  uintptr_t pc = (uintptr_t)__builtin_return_address(0);
  uintptr_t cur = ((pc >> 4) ^ (pc << 8)) * 0x9E3779B1u;
  cur = (cur >> 7) & (MDLCOV_N - 1);
  counters[(cur ^ prev) & (MDLCOV_N - 1)]++;
  prev = cur >> 1;
}
uint8_t* mdlcov_counters(void) { return counters; }
uintptr_t* mdlcov_pcs(void) {
  for (uintptr_t i = 0; i < MDLCOV_N; i++) {
    pcs[2 * i] = (uintptr_t)&counters[i];
    pcs[2 * i + 1] = 0;
  }
  return pcs;
}
size_t mdlcov_size(void) { return MDLCOV_N; }

/* Under GCC's ASan, whose runtime must come before libFuzzer, libasan's weak no-op
   __sanitizer_cov_* would shadow libFuzzer's (atheris' Python coverage and compare
   tracing): this library comes first and forwards them to atheris' libFuzzer
   (MDLCOV_LIBFUZZER), by tail calls so libFuzzer sees the caller's PC. */
static void* mdlcov_fn(const char* name) {
  static void* core;
  if (!core) {
    const char* path = getenv("MDLCOV_LIBFUZZER");
    if (!path || !(core = dlopen(path, RTLD_NOW | RTLD_NOLOAD))) abort();
  }
  void* f = dlsym(core, name);
  if (!f) abort();
  return f;
}
#define MDLCOV_FORWARD(name, params, args)              \
  void name params {                                    \
    static void (*f) params;                            \
    if (!f) f = (void (*) params)mdlcov_fn(#name);      \
    f args;                                             \
  }
MDLCOV_FORWARD(__sanitizer_cov_8bit_counters_init, (uint8_t* a, uint8_t* b), (a, b))
MDLCOV_FORWARD(__sanitizer_cov_pcs_init, (const uintptr_t* a, const uintptr_t* b), (a, b))
MDLCOV_FORWARD(__sanitizer_cov_trace_cmp8, (uint64_t a, uint64_t b), (a, b))
MDLCOV_FORWARD(__sanitizer_cov_trace_const_cmp8, (uint64_t a, uint64_t b), (a, b))
"""
# -DMDL_NO_MULTIVERSION: GCC's ifunc resolvers of the target_clones would call the
# coverage hook while the dynamic loader is still relocating the extension (a crash at
# import), so the fuzz build has the baseline clones only (the hand-written AVX2
# microkernels are still built and chosen at run time).
COV_FLAGS = "-fsanitize-coverage=trace-pc -DMDL_NO_MULTIVERSION"
ASAN_FLAGS = ("-fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer "
              "-fno-sanitize-recover=all")


def seed_files():
    pats = [os.path.join(ROOT, "..", "shared", "models", "**", "*.tflite"),
            os.path.join(ROOT, "firmware_models", "**", "*.tflite")]
    return sorted({os.path.realpath(p) for pat in pats for p in glob.glob(pat, recursive=True)})


# ====================================================================== the checks
class Finding(AssertionError):
    """An invariant the harness checks was violated."""


LOAD_OK = ("ModelError", "UnsupportedOpError", "ValueError")


def _exc_ok(stage, e):
    from microdl.core.errors import ModelError
    if stage == "load":
        return isinstance(e, (ModelError, ValueError)) and not isinstance(e, Finding)
    if stage == "allocate":
        return isinstance(e, (ModelError, ValueError, RuntimeError)) and not isinstance(e, Finding)
    if stage in ("set_tensor", "get_tensor"):
        return isinstance(e, ValueError)
    if stage == "invoke":
        return isinstance(e, RuntimeError) and not isinstance(e, Finding)
    return False


def make_inputs(interp, data):
    """{tensor index: array} for every model input, drawn from crc32(data): uniform over
    the dtype's range, all zeros, all minimum or all maximum (floats: normal, zeros,
    +-1e30, which a quantizing kernel must clamp)."""
    import numpy as np
    rng = np.random.default_rng(zlib.crc32(data))
    out = {}
    for d in interp.get_input_details():
        shape, dtype = tuple(int(x) for x in d["shape"]), d["dtype"]
        if dtype is None:
            continue
        kind = int(rng.integers(0, 10))
        dt = np.dtype(dtype)
        if dt.kind == "f":
            v = (rng.standard_normal(shape) * 4 if kind < 6 else np.zeros(shape) if kind < 8
                 else np.full(shape, 1e30 if kind == 8 else -1e30))
            out[int(d["index"])] = v.astype(dt)
        elif dt.kind == "b":
            out[int(d["index"])] = rng.integers(0, 2, shape).astype(dt)
        else:
            info = np.iinfo(dt)
            lo, hi = max(int(info.min), -(1 << 31)), min(int(info.max), (1 << 31) - 1)
            v = (rng.integers(lo, hi, shape, endpoint=True) if kind < 6 else
                 np.zeros(shape) if kind < 7 else np.full(shape, lo if kind < 8 else hi))
            out[int(d["index"])] = v.astype(dt)
    return out


def _budget(interp, max_macs, max_bytes):
    g = interp._graph
    nbytes = sum(int(t.nbytes) for t in g.tensors)
    macs = sum(int(op["macs"]) for op in interp.get_ops_details())
    return nbytes <= max_bytes and macs <= max_macs


def _raised_in_prepare(exc):
    """True when a load-time exception came from prepare (microdl.runtime: the model
    parsed, an op's prepare refused it), not from the reader."""
    import traceback
    ours = [fr.filename for fr in traceback.extract_tb(exc.__traceback__)
            if os.sep.join(("microdl", "")) in fr.filename]
    return bool(ours) and os.sep.join(("microdl", "tflite", "")) not in ours[-1]


def run_once(data, stats, reference=False, threads=1, max_macs=50_000_000,
             max_bytes=32 << 20, check_alloc=True, memory="fast"):
    """Load, allocate, set inputs, invoke, read outputs.  Returns ("rejected", stage,
    exception class name), ("skipped", reason) or ("ran", [output bytes]); raises
    Finding (or lets an unexpected exception through) on a violated invariant."""
    import tracemalloc

    import microdl
    old = os.environ.get("MICRODL_REFERENCE_KERNELS")
    os.environ["MICRODL_REFERENCE_KERNELS"] = "1" if reference else "0"
    stage = "load"
    try:
        it = microdl.Interpreter(model_content=data, num_threads=threads, memory=memory,
                                 preserve_inputs=memory == "fast")
        main_run = not reference and threads == 1 and memory == "fast"
        stats["loaded"] += 1 if main_run else 0
        if not _budget(it, max_macs, max_bytes):
            return ("skipped", "over budget")
        stage = "allocate"
        it.allocate_tensors()
        if main_run:
            stats["allocated"] += 1
        stage = "set_tensor"
        for idx, v in make_inputs(it, data).items():
            it.set_tensor(idx, v)
        stage = "invoke"
        if check_alloc:
            tracemalloc.start()
            try:
                it.invoke()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            if peak > 0:
                raise Finding(f"invoke() allocated {peak} bytes (tracemalloc peak)")
        else:
            it.invoke()
        if main_run:
            stats["invoked"] += 1
        stage = "guards"
        it.check_arena_guards()
        stage = "get_tensor"
        outs = [it.get_tensor(int(d["index"])).tobytes() for d in it.get_output_details()]
        return ("ran", outs)
    except Finding:
        raise
    except Exception as e:  # noqa: BLE001 - classified below
        if stage == "guards" or not _exc_ok(stage, e):
            raise
        if stage == "load" and _raised_in_prepare(e):
            stage = "prepare"
        return ("rejected", stage, type(e).__name__)
    finally:
        if old is None:
            os.environ.pop("MICRODL_REFERENCE_KERNELS", None)
        else:
            os.environ["MICRODL_REFERENCE_KERNELS"] = old


def check_model(data, stats=None, **kw):
    """Run every invariant on one input; returns the fast 1-thread outcome."""
    if stats is None:
        stats = new_stats()
    stats["execs"] += 1
    fast = run_once(data, stats, **kw)
    key = fast[0] if fast[0] != "rejected" else f"rejected at {fast[1]}: {fast[2]}"
    stats["outcomes"][key] = stats["outcomes"].get(key, 0) + 1
    if fast[0] != "rejected" or fast[1] != "load":
        stats["prepared"] += 1
    if fast[0] == "ran" or (fast[0] == "rejected" and fast[1] not in ("load", "prepare")):
        for name, kwargs in (("reference kernels", dict(reference=True)),
                             ("2 threads", dict(threads=2)),
                             ('memory="small"', dict(memory="small"))):
            other = run_once(data, stats, check_alloc=False,
                             **{**kw, **kwargs})
            if other != fast:
                def show(o):
                    return (o[:1] + tuple(zlib.crc32(b) for b in o[1]) if o[0] == "ran"
                            else o)
                raise Finding(f"fast 1-thread run gave {show(fast)}, {name} gave "
                              f"{show(other)}")
    return fast


def new_stats():
    return dict(execs=0, prepared=0, loaded=0, allocated=0, invoked=0, structural=0,
                byte=0, outcomes={})


# ======================================================================= the child
def child(args):
    import atheris
    import fuzz_mutator as fm

    with atheris.instrument_imports(include=["microdl"]):
        import microdl  # noqa: F401
        import microdl.runtime.ops as _ops
        _ops.load_all()
    if args.expect_root and not os.path.realpath(microdl.__file__).startswith(
            os.path.realpath(args.expect_root)):
        sys.exit(f"fuzz.py: imported {microdl.__file__}, not the build in {args.expect_root}")

    stats = new_stats()
    cache: dict = {}
    last = [time.monotonic()]

    def dump(force=False):
        now = time.monotonic()
        if force or now - last[0] > 1.0:
            last[0] = now
            tmp = args.stats + ".tmp"
            with open(tmp, "w") as f:
                json.dump(stats, f)
            os.replace(tmp, args.stats)

    import random

    seed_models = []  # parseable seeds, decoded lazily: a way back from broken inputs
    seed_paths = [] if args.no_default_seeds else [
        p for p in seed_files() if os.path.getsize(p) <= (args.max_len or 1 << 62)]

    def a_seed(rng):
        if len(seed_models) < min(len(seed_paths), 32):
            path = seed_paths[len(seed_models) * 7919 % len(seed_paths)]
            with open(path, "rb") as f:
                raw = f.read()
            try:
                seed_models.append((raw, fm.decode(raw)))
            except Exception:  # noqa: BLE001 - a seed the schema cannot decode
                seed_models.append((raw, None))
        return rng.choice(seed_models) if seed_models else (None, None)

    def mutator(data, max_size, seed):
        rng = random.Random(seed)
        if rng.random() < 0.05:
            stats["byte"] += 1
            return atheris.Mutate(data, max_size)
        key = zlib.crc32(data) ^ (len(data) << 32)
        model = cache.get(key)
        if model is None:
            try:
                model = fm.decode(data)
            except Exception:  # noqa: BLE001 - not a parseable model
                # Back to a seed (structure-aware from there) two times in three, so a
                # corpus of broken files does not keep the campaign in the reader.
                raw, model = a_seed(rng) if rng.random() < 0.67 else (None, None)
                if model is None or len(raw) > max_size:
                    stats["byte"] += 1
                    return atheris.Mutate(data, max_size)
            if len(cache) > 256:
                cache.pop(next(iter(cache)))
            cache[key] = model
        m = fm.mutate(model, rng)
        if m is None:
            stats["byte"] += 1
            return atheris.Mutate(data, max_size)
        fm.apply(model, m)
        try:
            out = fm.encode(model)
        except Exception:  # noqa: BLE001 - a value the field cannot hold
            out = None
        finally:
            fm.undo(model, m)
        if out is None or len(out) > max_size:
            stats["byte"] += 1
            return atheris.Mutate(data, max_size)
        stats["structural"] += 1
        return out

    def test_one(data):
        if args.c_coverage and not stats.get("c_counters"):
            # atheris loads libFuzzer in Fuzz(): register the C counters on the first run.
            stats["c_counters"] = _register_c_coverage()
        if args.plant_crash and b"PLANTED" in data:
            raise Finding("planted crash (tests/test_fuzz_tool.py)")
        try:
            check_model(bytes(data), stats, max_macs=args.max_macs, max_bytes=args.max_bytes)
        except BaseException:
            stats["findings"] = stats.get("findings", 0) + 1
            dump(True)
            raise
        dump()

    lf_args = [sys.argv[0], args.corpus, f"-max_total_time={args.seconds}",
               f"-timeout={args.timeout}", f"-rss_limit_mb={args.rss_limit_mb}",
               f"-max_len={args.max_len}", "-print_final_stats=1",
               f"-artifact_prefix={args.artifacts}{os.sep}", "-reload=1",
               "-mutate_depth=2", "-entropic_scale_per_exec_time=1"]  # at most 2 stacked mutations (most inputs still load); favour fast inputs
    if args.runs:
        lf_args.append(f"-runs={args.runs}")
    def crossover(data1, data2, max_size, seed):
        # libFuzzer's byte crossover of two .tflite files is almost never a model:
        # one structural mutation of the first instead.
        return mutator(data1, max_size, seed)

    atheris.Setup(lf_args, test_one, custom_mutator=mutator, custom_crossover=crossover)
    dump(True)
    atheris.Fuzz()


def _register_c_coverage():
    """Hand the shim's counters and PC table to libFuzzer (as clang's
    -fsanitize-coverage=inline-8bit-counters,pc-table would)."""
    import ctypes

    shim = ctypes.CDLL(None)
    shim.mdlcov_counters.restype = ctypes.c_void_p
    shim.mdlcov_pcs.restype = ctypes.c_void_p
    shim.mdlcov_size.restype = ctypes.c_size_t
    n = shim.mdlcov_size()
    counters, pcs = shim.mdlcov_counters(), shim.mdlcov_pcs()
    lib = ctypes.CDLL(os.environ["MDLCOV_LIBFUZZER"], mode=os.RTLD_NOLOAD | os.RTLD_NOW)
    lib.__sanitizer_cov_8bit_counters_init(ctypes.c_void_p(counters),
                                           ctypes.c_void_p(counters + n))
    lib.__sanitizer_cov_pcs_init(ctypes.c_void_p(pcs), ctypes.c_void_p(pcs + 16 * n))
    return n


# ====================================================================== the parent
def build_instrumented(work, asan):
    """A scratch copy of the tree with the C core built for coverage (+ sanitizers);
    returns (repo dir, shim path)."""
    repo = os.path.join(work, "repo")
    os.makedirs(repo)
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True).stdout.split(b"\0")
    for f in files:
        if f:
            rel = f.decode()
            src = os.path.join(ROOT, rel)
            if os.path.isfile(src):
                os.makedirs(os.path.dirname(os.path.join(repo, rel)), exist_ok=True)
                shutil.copy2(src, os.path.join(repo, rel))
    shim_c = os.path.join(work, "mdlcov.c")
    shim = os.path.join(work, "libmdlcov.so")
    with open(shim_c, "w") as f:
        f.write(SHIM_C)
    subprocess.run(["gcc", "-O2", "-fPIC", "-shared", "-o", shim, shim_c, "-ldl"],
                   check=True)
    flags = COV_FLAGS + (" " + ASAN_FLAGS if asan else "")
    env = dict(os.environ, CFLAGS=flags, LDFLAGS="-fsanitize=address,undefined" if asan else "")
    t0 = time.monotonic()
    log = os.path.join(work, "build.log")
    with open(log, "w") as f:
        r = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"],
                           cwd=repo, env=env, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode:
        sys.stderr.write(open(log).read())
        sys.exit("fuzz.py: the instrumented build failed")
    print(f"fuzz.py: built the C core with {flags} in {time.monotonic() - t0:.0f} s")
    return repo, shim


def _libfuzzer_summary(log):
    """(executions, cov, ft) from a libFuzzer log."""
    import re
    execs = cov = ft = None
    for line in open(log, errors="replace"):
        m = re.search(r"stat::number_of_executed_units:\s*(\d+)", line)
        if m:
            execs = int(m.group(1))
        m = re.search(r"\bcov: (\d+) ft: (\d+)", line)
        if m:
            cov, ft = int(m.group(1)), int(m.group(2))
    return execs, cov, ft


def parent(args):
    work = tempfile.mkdtemp(prefix="microdl-fuzz-")
    try:
        return _parent(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _parent(args, work):
    seeds = [] if args.no_default_seeds else seed_files()
    if not seeds and not args.corpus:
        sys.exit("fuzz.py: no seed models (../shared/models, firmware_models/)")
    corpus = args.corpus or os.path.join(work, "corpus")
    os.makedirs(corpus, exist_ok=True)
    for p in seeds:
        with open(p, "rb") as f:
            data = f.read()
        with open(os.path.join(corpus, f"seed-{zlib.crc32(data):08x}"), "wb") as f:
            f.write(data)
    artifacts = args.artifacts or os.path.join(tempfile.gettempdir(), "microdl-fuzz-findings")
    os.makedirs(artifacts, exist_ok=True)
    max_len = args.max_len or int(max(os.path.getsize(os.path.join(corpus, p))
                                      for p in os.listdir(corpus)) * 1.25)

    env = dict(os.environ, MICRODL_ARENA_GUARD="1", PYTHONHASHSEED="0")
    expect_root = ROOT
    if not args.no_instrument:
        repo, shim = build_instrumented(work, args.asan)
        expect_root = repo
        import atheris
        from importlib.machinery import EXTENSION_SUFFIXES
        env["MDLCOV_LIBFUZZER"] = os.path.join(os.path.dirname(atheris.__file__),
                                               "core_with_libfuzzer" + EXTENSION_SUFFIXES[0])
        preload = [shim]  # first: see SHIM_C
        if args.asan:
            preload += [subprocess.run(["gcc", f"-print-file-name={lib}"], check=True,
                                       capture_output=True, text=True).stdout.strip()
                        for lib in ("libasan.so", "libubsan.so")]
            env["ASAN_OPTIONS"] = ("detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"
                                   ":verify_asan_link_order=0")
            env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        env["LD_PRELOAD"] = ":".join(preload)
    env["PYTHONPATH"] = expect_root + os.pathsep + env.get("PYTHONPATH", "")

    procs = []
    t0 = time.monotonic()
    for j in range(args.jobs):
        log = os.path.join(work, f"job{j}.log")
        stats = os.path.join(work, f"job{j}.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--child", "--corpus", corpus,
               "--seconds", str(args.seconds), "--stats", stats, "--artifacts", artifacts,
               "--timeout", str(args.timeout), "--max-len", str(max_len),
               "--max-macs", str(args.max_macs), "--max-bytes", str(args.max_bytes),
               "--rss-limit-mb", str(args.rss_limit_mb), "--expect-root", expect_root]
        if args.runs:
            cmd += ["--runs", str(args.runs)]
        if not args.no_instrument:
            cmd.append("--c-coverage")
        if args.plant_crash:
            cmd.append("--plant-crash")
        procs.append((subprocess.Popen(cmd, cwd=work, env=env, stdout=open(log, "w"),
                                       stderr=subprocess.STDOUT), log, stats))
    status = 0
    total = new_stats()
    findings = []
    print(f"fuzz.py: {args.jobs} job(s), {args.seconds} s, {len(seeds)} seeds, corpus "
          f"{corpus}, {'ASan+UBSan, ' if args.asan else ''}"
          f"{'Python coverage only' if args.no_instrument else 'C + Python coverage'}")
    for j, (p, log, stats) in enumerate(procs):
        rc = p.wait()
        execs, cov, ft = _libfuzzer_summary(log)
        st = json.load(open(stats)) if os.path.exists(stats) else new_stats()
        for k, v in st.items():
            if k == "outcomes":
                for o, n in v.items():
                    total["outcomes"][o] = total["outcomes"].get(o, 0) + n
            else:
                total[k] = total.get(k, 0) + v
        text = open(log, errors="replace").read()
        if rc != 0:
            status = 1
            tail = text[-6000:]
            findings.append(f"job {j} exited with {rc}:\n{tail}")
        print(f"job {j}: exit {rc}, libFuzzer executions {execs}, cov {cov}, ft {ft}")
    n = max(total["execs"], 1)
    print(f"fuzz.py: {time.monotonic() - t0:.0f} s, {total['execs']} inputs checked, "
          f"{100 * total.get('prepared', 0) / n:.1f}% parsed and reached prepare, "
          f"{100 * total['loaded'] / n:.1f}% loaded (reached allocate_tensors()), "
          f"{100 * total['allocated'] / n:.1f}% allocated, {100 * total['invoked'] / n:.1f}% "
          f"invoked (reached and passed invoke()); mutations {total['structural']} structural, {total['byte']} byte-level")
    for o, k in sorted(total["outcomes"].items(), key=lambda kv: -kv[1]):
        print(f"  {k:8d}  {o}")
    arts = sorted(glob.glob(os.path.join(artifacts, "*")))
    print(f"fuzz.py: findings: {len(findings)} (artifacts in {artifacts}: {len(arts)} files)")
    for f in findings:
        print(f)
    return status


# ===================================================================== triage
def triage(path):
    """Print the seed nearest a crash file and the field changes that rebuild it."""
    import fuzz_mutator as fm
    data = open(path, "rb").read()
    try:
        crash = fm.decode(data)
    except Exception as e:  # noqa: BLE001
        print(f"not parseable ({type(e).__name__}: {e}); bytes: {len(data)}")
        return
    best = None
    for p in seed_files():
        try:
            seed = fm.decode(fm.encode(fm.decode(open(p, "rb").read())))
        except Exception:  # noqa: BLE001
            continue
        d = fm.diff(seed, crash)
        if best is None or len(d) < len(best[1]):
            best = (p, d)
    p, d = best
    print(f"seed: {p}")
    for path_ in d:
        print(f"  {'.'.join(map(str, path_))} = {fm.Mutation(path_, fm.get(crash, path_))}")


def litert_check(corpus):
    """Replay a corpus against LiteRT's reference kernels: every model microdl runs
    must give LiteRT's outputs bit for bit (a difference is a finding); models LiteRT
    rejects while microdl runs them are listed by LiteRT's message (how findings 1-3
    of tests/test_fuzz_regressions.py were found).  Returns 1 on a difference."""
    import collections
    import warnings

    import numpy as np

    import microdl
    sys.path.insert(0, ROOT)
    from tests.oplib import reference_interpreter
    warnings.simplefilter("ignore")
    counts, lenient, status = collections.Counter(), collections.Counter(), 0
    for p in sorted(glob.glob(os.path.join(corpus, "*"))):
        data = open(p, "rb").read()
        try:
            it = microdl.Interpreter(model_content=data)
            if not _budget(it, 50_000_000, 32 << 20):
                continue
            it.allocate_tensors()
            inputs = make_inputs(it, data)
            for i, v in inputs.items():
                it.set_tensor(i, v)
            it.invoke()
            mine = [it.get_tensor(int(d["index"])) for d in it.get_output_details()]
        except Exception:  # noqa: BLE001 - microdl rejects it: nothing to compare
            counts["microdl rejects"] += 1
            continue
        try:
            ref = reference_interpreter(model_content=data)
            for i, v in inputs.items():
                ref.set_tensor(i, v)
            ref.invoke()
            theirs = [ref.get_tensor(int(d["index"])) for d in ref.get_output_details()]
        except Exception as e:  # noqa: BLE001 - LiteRT's verdict, listed
            counts["LiteRT rejects, microdl runs"] += 1
            lenient[str(e).splitlines()[0][:90]] += 1
            continue
        same = len(mine) == len(theirs) and all(
            a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
            for a, b in zip(mine, theirs))
        counts["same outputs" if same else "DIFFERENT outputs"] += 1
        if not same:
            status = 1
            print(f"finding: {p}: microdl and LiteRT outputs differ")
    for k, v in counts.most_common():
        print(f"{v:8d}  {k}")
    for k, v in lenient.most_common():
        print(f"{v:8d}    LiteRT: {k}")
    return status


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--corpus")
    ap.add_argument("--asan", action="store_true")
    ap.add_argument("--no-instrument", action="store_true")
    ap.add_argument("--no-default-seeds", action="store_true",
                    help="seed only with the files already in --corpus")
    ap.add_argument("--plant-crash", action="store_true",
                    help="test hook: an input containing b'PLANTED' is a finding")
    ap.add_argument("--artifacts", help="where crash-* files go (default $TMPDIR/microdl-fuzz-findings)")
    ap.add_argument("--timeout", type=int, default=120, help="seconds per input: a hang")
    ap.add_argument("--max-len", type=int, default=0)
    ap.add_argument("--max-macs", type=int, default=50_000_000)
    ap.add_argument("--max-bytes", type=int, default=32 << 20)
    ap.add_argument("--rss-limit-mb", type=int, default=4096)
    ap.add_argument("--runs", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--triage", metavar="CRASH_FILE")
    ap.add_argument("--litert-check", metavar="CORPUS_DIR",
                    help="replay a corpus against LiteRT's reference kernels")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--c-coverage", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--stats", help=argparse.SUPPRESS)
    ap.add_argument("--expect-root", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.triage:
        return triage(args.triage)
    if args.litert_check:
        return litert_check(args.litert_check)
    if args.child:
        return child(args)
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
