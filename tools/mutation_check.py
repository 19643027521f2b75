#!/usr/bin/env python3
"""Mutation check: plant known bugs one at a time and see whether the tests catch them.

Each mutant is one exact text replacement in one source file (Python or C) with the
test files that should catch it.  For every mutant the working tree is copied to a
scratch directory (with ../shared linked beside it, as tools/sanitize.sh does), the
replacement is applied, the C extension is rebuilt there if a C file changed (else the
checkout's build is copied in), and pytest runs the mutant's tests in that copy.  A
mutant is CAUGHT when pytest fails, SURVIVED when it passes; ERROR means the mutant did
not apply or did not build.  The checkout itself is never modified.

    python tools/mutation_check.py                 # every mutant, 2 at a time
    python tools/mutation_check.py --list
    python tools/mutation_check.py --only fc-litert-double-rounding qm-truncates
    python tools/mutation_check.py --jobs 1 --keep  # keep scratch trees for debugging

Exit status: 0 when every mutant is caught, 1 when any survived or errored.  Slow
(C mutants rebuild the extension, ~1 min each): not part of .ci/run; its figures go in
the closing notes.  Needs the checkout built in place (pip install -e ".[test]").
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Mutant:
    name: str
    what: str
    path: str          # relative to the repository root
    old: str           # must occur exactly once in the file
    new: str
    tests: tuple = field(default_factory=tuple)
    sanitize: bool = False  # run the tests under tools/sanitize.sh's ASan/UBSan build


ORACLE_TESTS = ("tests/test_oracle_arith.py",)
MODEL_TESTS = ("tests/test_models.py", "tests/test_threads.py", "tests/test_tflm.py")

MUTANTS = [
    # --- the two planted bugs issue 16 found passing the whole suite
    Mutant("qm-truncates",
           "quantize_multiplier truncates q * 2^31 instead of rounding half away from zero",
           "microdl/core/fixedpoint.py",
           "q_fixed = int(round_half_away(q * (1 << 31)))", "q_fixed = int(q * (1 << 31))",
           ORACLE_TESTS + ("tests/test_fully_connected.py",)),
    Mutant("fc-litert-double-rounding",
           "litert mode maps to double rounding, so its FULLY_CONNECTED requantizes as "
           "TFLite Micro does (Q31, gemmlowp double rounding)",
           "microdl/runtime/interpreter.py",
           '_ROUNDING_TARGETS = {"litert": (ROUNDING_SINGLE, True),',
           '_ROUNDING_TARGETS = {"litert": (ROUNDING_DOUBLE, False),',
           ORACLE_TESTS + ("tests/test_fully_connected.py",)),
    Mutant("fc-litert-q31-single",
           "litert-mode FULLY_CONNECTED uses a Q31 multiplier with single rounding "
           "instead of LiteRT's double-precision requantization (microdl before issue 16)",
           "microdl/runtime/ops/fully_connected.py",
           "    if ctx.fc_float64:", "    if False:",
           ORACLE_TESTS + ("tests/test_fully_connected.py",)),
    Mutant("fc-float64-ties",
           "double-precision FULLY_CONNECTED requantization rounds ties down",
           "cext/src/fully_connected_s8.c",
           "if (x - (double)t >= 0.5) ++t;", "if (x - (double)t > 0.5) ++t;",
           ORACLE_TESTS + ("tests/test_fully_connected.py",) + MODEL_TESTS),
    # --- fixed-point helpers (C)
    Mutant("rdpot-ties-up",
           "RoundingDivideByPOT rounds negative ties up instead of away from zero",
           "cext/include/mdl_fixedpoint.h",
           "const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);\n"
           "  return (x >> exponent) + (remainder > threshold ? 1 : 0);\n}\n\n"
           "/* Two's-complement",
           "const int32_t threshold = (mask >> 1);\n"
           "  return (x >> exponent) + (remainder > threshold ? 1 : 0);\n}\n\n"
           "/* Two's-complement",
           ORACLE_TESTS + ("tests/test_elementwise.py",) + MODEL_TESTS),
    Mutant("srdhm-nudge",
           "SaturatingRoundingDoublingHighMul uses the positive nudge for negative products",
           "cext/include/mdl_fixedpoint.h",
           "int64_t nudge = ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30));",
           "int64_t nudge = (int64_t)(1 << 30);",
           ORACLE_TESTS + ("tests/test_elementwise.py",) + MODEL_TESTS),
    Mutant("single-rounding-half",
           "single-rounding requantize adds 2^(total_shift - 2) instead of half",
           "cext/include/mdl_fixedpoint.h",
           "const int64_t round = (int64_t)1 << (total_shift - 1);",
           "const int64_t round = (int64_t)1 << (total_shift - 2);",
           ORACLE_TESTS + ("tests/test_fully_connected.py",) + MODEL_TESTS),
    # --- ADD / SUB kernel (C): the second input's zero point dropped in the int8 fast
    # path (the scalar add_one serves int16, whose zero points are 0, and int8 scalings
    # outside mdl_small_scale's range, which no model reaches)
    Mutant("add-offset2",
           "ADD/SUB int8 fast path drops input2's zero point",
           "cext/src/add_s8.c",
           "f->off2 = p->input2_offset;", "f->off2 = 0;",
           ORACLE_TESTS + ("tests/test_elementwise.py",)),
    # --- kernel bugs planted while writing tests/test_models.py and test_threads.py
    # (the first three passed the whole-model tests of the time)
    Mutant("conv-tap-range-edge",
           "mdl_tap_range (conv im2col, depthwise) drops the last filter tap at the "
           "right/bottom edge",
           "cext/include/mdl_ukernels.h",
           "if (last + 1 < b) b = last < 0 ? 0 : last + 1;",
           "if (last + 1 < b) b = last < 0 ? 0 : last;", MODEL_TESTS),
    Mutant("dw-shift-block",
           "depthwise lanes: channels 8-15 of a block requantize with channels 0-7's shifts",
           "cext/src/depthwise_conv_s8_fast.c",
           "rq8_init(&r1, k->multiplier + c0 + 8, k->shift + c0 + 8);",
           "rq8_init(&r1, k->multiplier + c0 + 8, k->shift + c0);", MODEL_TESTS),
    Mutant("avgpool-negative-ties",
           "average pooling rounds negative ties toward zero (even windows only)",
           "cext/src/pooling_s8.c",
           "(acc - count / 2) / count;", "(acc - (count - 1) / 2) / count;", MODEL_TESTS),
    Mutant("conv-x-max",
           "conv_s8_fast row16 im2col: interior span one column too wide",
           "cext/src/ukernels/s8-im2col-row16-avx2.c",
           "int32_t x_max = in_w - fw;", "int32_t x_max = in_w - fw + 1;", MODEL_TESTS),
    Mutant("dw-left-edge",
           "depthwise patch treats input column 0 as padding",
           "cext/src/depthwise_conv_s8_fast.c",
           "const int inside = ix >= 0 && ix < p->input_w;",
           "const int inside = ix > 0 && ix < p->input_w;", MODEL_TESTS),
    # --- the arena planner: an input's lifetime ends one stage early, so a later
    # tensor may overwrite it while it is still read
    Mutant("lifetime-short",
           "arena lifetimes: a node's inputs counted live only until the stage before",
           "microdl/runtime/planner.py",
           "for i in s.reads:\n            touch(i, s.stage)",
           "for i in s.reads:\n            touch(i, max(s.stage - 1, 0))",
           MODEL_TESTS + ("tests/test_engine.py",)),
    # --- a read one past the bias array that changes no result: only the sanitizer
    # build (tools/sanitize.sh) can see it, and its report must be printed
    Mutant("fc-bias-overread",
           "FULLY_CONNECTED's tail loop reads bias[o + 1] (one past the end on the last o)",
           "cext/src/fully_connected_s8.c",
           "if (bias) acc += bias[o];",
           "if (bias) acc += bias[o] + (bias[o + 1] == INT32_MAX);",
           ("tests/test_fully_connected.py",), sanitize=True),
]


def _copy_tree(dst):
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True).stdout.split(b"\0")
    for rel in filter(None, (f.decode() for f in files)):
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src):
            continue  # deleted in the work tree
        os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, rel))


def _apply(repo, m):
    path = os.path.join(repo, m.path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    n = text.count(m.old)
    if n != 1:
        raise RuntimeError(f"{m.path}: the text to replace occurs {n} times (needs 1)")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(m.old, m.new))


def run_mutant(m, keep=False, timeout=1500):
    """-> (status, seconds, detail); status CAUGHT / SURVIVED / ERROR."""
    t0 = time.monotonic()
    scratch = tempfile.mkdtemp(prefix=f"microdl-mutant-{m.name}-")
    try:
        repo = os.path.join(scratch, "repo")
        os.makedirs(repo)
        _copy_tree(repo)
        os.symlink(os.path.join(os.path.dirname(ROOT), "shared"),
                   os.path.join(scratch, "shared"))
        try:
            _apply(repo, m)
        except RuntimeError as e:
            return "ERROR", time.monotonic() - t0, str(e)
        env = dict(os.environ, PYTHONPATH=repo, PYTHONDONTWRITEBYTECODE="1")
        env.pop("MICRODL_STRICT", None)
        if m.sanitize:  # sanitize.sh copies the git tree: make the copy one
            subprocess.run("git init -q && git add -A", shell=True, cwd=repo, check=True,
                           capture_output=True)
            cmd = ["bash", "tools/sanitize.sh", *m.tests, "-x"]
        else:
            if m.path.endswith((".c", ".h", ".pyx", ".pxd")):
                b = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace",
                                    "-q"], cwd=repo, env=env, capture_output=True,
                                   text=True, timeout=timeout)
                if b.returncode != 0:
                    return "ERROR", time.monotonic() - t0, "build failed: " + b.stderr[-800:]
            else:
                for so in glob.glob(os.path.join(ROOT, "microdl", "runtime", "_engine*.so")):
                    shutil.copy2(so, os.path.join(repo, "microdl", "runtime"))
            cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                   *m.tests]
            check = subprocess.run([sys.executable, "-c", "import microdl.runtime._engine "
                                    "as e; print(e.__file__)"], cwd=repo, env=env,
                                   capture_output=True, text=True)
            if not check.stdout.startswith(repo):
                return "ERROR", time.monotonic() - t0, (f"the copy imports microdl from "
                                                        f"{check.stdout or check.stderr!r}")
        p = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True,
                           timeout=timeout)
        out = (p.stdout + p.stderr).strip().splitlines()
        summary = next((line for line in reversed(out) if " in " in line and
                        ("passed" in line or "failed" in line or "error" in line)), "")
        if p.returncode == 0:
            return "SURVIVED", time.monotonic() - t0, summary
        if m.sanitize:  # caught only if the failure came with the sanitizer's report
            if "AddressSanitizer" in p.stderr or "runtime error:" in p.stderr:
                report = next(line for line in p.stderr.splitlines()
                              if "AddressSanitizer" in line or "runtime error:" in line)
                return "CAUGHT", time.monotonic() - t0, report.strip()[:160]
            return "ERROR", time.monotonic() - t0, f"exit {p.returncode}, no sanitizer report"
        if p.returncode == 1:
            failed = next((line for line in out if line.startswith(("FAILED", "ERROR"))), "")
            return "CAUGHT", time.monotonic() - t0, (failed or summary)[:160]
        return "ERROR", time.monotonic() - t0, f"pytest exit {p.returncode}: {summary}"
    finally:
        if keep:
            print(f"  kept {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch trees")
    args = ap.parse_args(argv)
    mutants = MUTANTS
    if args.only:
        unknown = set(args.only) - {m.name for m in MUTANTS}
        if unknown:
            ap.error(f"unknown mutants {sorted(unknown)}; --list shows them")
        mutants = [m for m in MUTANTS if m.name in args.only]
    if args.list:
        for m in mutants:
            print(f"{m.name:28s} {m.path}: {m.what}")
        return 0
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a dependency; keep the tool usable without it
        tqdm = None
    results = {}
    with cf.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(run_mutant, m, args.keep): m for m in mutants}
        done = cf.as_completed(futures)
        if tqdm is not None:
            done = tqdm(done, total=len(futures), desc="mutants", unit="mutant")
        for fut in done:
            m = futures[fut]
            try:
                results[m.name] = fut.result()
            except Exception as e:  # noqa: BLE001 - report and go on
                results[m.name] = ("ERROR", 0.0, f"{type(e).__name__}: {e}")
    width = max(len(m.name) for m in mutants)
    print(f"\n{'mutant':{width}s}  {'result':8s}  {'s':>5s}  detail")
    for m in mutants:
        status, secs, detail = results[m.name]
        print(f"{m.name:{width}s}  {status:8s}  {secs:5.0f}  {detail}")
    caught = sum(r[0] == "CAUGHT" for r in results.values())
    print(f"\n{caught} of {len(mutants)} mutants caught")
    return 0 if caught == len(mutants) else 1


if __name__ == "__main__":
    sys.exit(main())
