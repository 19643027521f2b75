#!/usr/bin/env python3
"""Install microdl the way a user does, from its sdist alone, and check it runs.

Builds the sdist of this checkout (python -m build --sdist), then for each target
interpreter makes a fresh venv, `pip install`s the sdist (build isolation: the build
dependencies come from pyproject.toml only), optionally pins a run-time NumPy, and from
a directory outside the source tree runs `python -m microdl` and the three embedded
int8 models (the copies installed inside the package) on seeded random inputs.  Their
outputs must equal LiteRT's reference kernels (ai-edge-litert, in the interpreter
running this script) bit for bit.

    python tools/smoke_install.py                       # .ci/run's set: 3.9, 3.13, 3.11 + NumPy 1.23/1.26
    python tools/smoke_install.py --python 3.12.1 --numpy ""   # one target, newest NumPy

Targets are pyenv versions (`pyenv versions`) or paths of interpreters.  Exit status 1
if any install, import or comparison fails.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("digits_cnn", "digits_mlp", "sine")
DEFAULT_TARGETS = [("3.9.18", ""), ("3.13.0", ""), ("3.11.7", "numpy==1.23.5"),
                   ("3.11.7", "numpy==1.26.4")]

# Runs inside the fresh venv, from an empty directory: the installed package only.
PROBE = r"""
import json, os, sys
import numpy as np
import microdl
from microdl.utils import firmware_dir
assert "site-packages" in microdl.__file__, microdl.__file__
out = {"numpy": np.__version__, "python": sys.version.split()[0], "outputs": {}}
for name in %(models)r:
    path = os.path.join(firmware_dir(), name, name + "_int8.tflite")
    it = microdl.Interpreter(model_path=path)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    rng = np.random.default_rng(len(name))
    info = np.iinfo(d["dtype"])
    xs = rng.integers(info.min, info.max + 1, (8, *d["shape"])).astype(d["dtype"])
    ys = []
    for x in xs:
        it.set_tensor(d["index"], x)
        it.invoke()
        ys.append(it.get_tensor(it.get_output_details()[0]["index"]).tolist())
    out["outputs"][name] = {"inputs": xs.tolist(), "outputs": ys, "path": path}
print(json.dumps(out))
"""


def python_for(target):
    if os.path.sep in target:
        return target
    prefix = subprocess.run(["pyenv", "prefix", target], capture_output=True, text=True)
    if prefix.returncode != 0:
        raise SystemExit(f"pyenv has no Python {target} (pyenv versions): "
                         f"{prefix.stderr.strip()}")
    return os.path.join(prefix.stdout.strip(), "bin", "python3")


def build_sdist(out_dir):
    subprocess.run([sys.executable, "-m", "build", "--sdist", "-o", out_dir, ROOT],
                   check=True, capture_output=True, text=True)
    (name,) = [f for f in os.listdir(out_dir) if f.endswith(".tar.gz")]
    return os.path.join(out_dir, name)


def litert_outputs(path, inputs):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_path=path, num_threads=1,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    d, o = it.get_input_details()[0], it.get_output_details()[0]
    ys = []
    for x in inputs:
        it.set_tensor(d["index"], np.asarray(x, d["dtype"]))
        it.invoke()
        ys.append(it.get_tensor(o["index"]))
    return np.array(ys)


def smoke(sdist, target, numpy_spec, work):
    t0 = time.monotonic()
    venv = os.path.join(work, f"venv-{target.replace(os.path.sep, '_')}-{numpy_spec or 'np'}")
    subprocess.run([python_for(target), "-m", "venv", venv], check=True)
    py = os.path.join(venv, "bin", "python")
    pip = [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    p = subprocess.run(pip + [sdist], capture_output=True, text=True)
    if p.returncode != 0:
        return False, time.monotonic() - t0, "sdist install failed: " + p.stderr[-1500:]
    if numpy_spec:
        p = subprocess.run(pip + [numpy_spec], capture_output=True, text=True)
        if p.returncode != 0:
            return False, time.monotonic() - t0, f"{numpy_spec}: " + p.stderr[-800:]
    build_s = time.monotonic() - t0
    empty = os.path.join(work, "cwd")
    os.makedirs(empty, exist_ok=True)
    info = subprocess.run([py, "-m", "microdl"], cwd=empty, capture_output=True, text=True)
    probe = subprocess.run([py, "-c", PROBE % {"models": MODELS}], cwd=empty,
                           capture_output=True, text=True)
    if info.returncode != 0 or probe.returncode != 0:
        return False, build_s, (info.stderr + probe.stderr)[-1500:]
    got = json.loads(probe.stdout)
    for name, r in got["outputs"].items():
        want = litert_outputs(os.path.join(ROOT, "firmware_models", name,
                                           f"{name}_int8.tflite"), r["inputs"])
        if not np.array_equal(np.array(r["outputs"]).reshape(want.shape), want):
            return False, build_s, f"{name}: outputs differ from LiteRT"
    simd = [line for line in info.stdout.splitlines() if line.startswith("SIMD")]
    return True, build_s, (f"python {got['python']}, numpy {got['numpy']}: "
                           f"{len(MODELS)} models x 8 inputs == LiteRT; "
                           f"{simd[0].split(None, 2)[-1] if simd else ''}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", action="append", help="pyenv version or interpreter "
                    "path (repeatable; default: 3.9.18, 3.13.0, 3.11.7)")
    ap.add_argument("--numpy", default=None, help="run-time NumPy pin for the given "
                    "--python targets (e.g. numpy==1.26.4; empty: newest)")
    ap.add_argument("--keep", action="store_true", help="keep the venvs")
    args = ap.parse_args(argv)
    targets = ([(t, args.numpy or "") for t in args.python] if args.python
               else DEFAULT_TARGETS)
    work = tempfile.mkdtemp(prefix="microdl-smoke-")
    failed = 0
    try:
        sdist = build_sdist(work)
        print(f"sdist: {os.path.basename(sdist)} ({os.path.getsize(sdist):,} bytes)")
        for target, numpy_spec in targets:
            ok, secs, detail = smoke(sdist, target, numpy_spec, work)
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {target:8s} {numpy_spec or 'numpy (newest)':14s} "
                  f"install {secs:5.0f} s  {detail}", flush=True)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
