#!/usr/bin/env python3
"""Smoke checks of an installed microdl wheel, for tools/build_wheels.sh.

The three embedded int8 models (digits_cnn, digits_mlp, sine) run on the same seeded
inputs on every architecture; their outputs are written to JSON and compared bit for
bit, so an ARM build can be judged on a root where no LiteRT wheel exists.

    wheel_smoke.py reference --models DIR --inputs IN.json --out REF.json
        (needs ai_edge_litert) makes IN.json if it is missing (8 seeded random inputs
        per model, shapes and dtypes from the model), then runs LiteRT's reference
        kernels (BUILTIN_REF, 1 thread) on them.
    wheel_smoke.py run --inputs IN.json --out OUT.json
        (in the venv the wheel was installed into, from a directory outside any
        checkout) runs the copies of the models installed inside the package
        (microdl.utils.firmware_dir()) in microdl's runtime.
    wheel_smoke.py compare REF.json OUT.json [OUT2.json ...]
        exit 1 unless every OUT has the same model files (sha256), inputs and outputs
        as REF; prints one line per OUT.

Runs on CPython 3.9+ with NumPy 1.23+ (run mode) or the standard library alone
(compare mode).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys

MODELS = ("digits_cnn", "digits_mlp", "sine")
SAMPLES = 8


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _model_path(folder, name):
    return os.path.join(folder, name, f"{name}_int8.tflite")


def _write(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def make_inputs(folder, path):
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    cases = {}
    for name in MODELS:
        model = _model_path(folder, name)
        it = Interpreter(model_path=model)
        d = it.get_input_details()[0]
        dtype = np.dtype(d["dtype"])
        info = np.iinfo(dtype)
        rng = np.random.default_rng(len(name))
        xs = rng.integers(info.min, info.max + 1, (SAMPLES, *d["shape"])).astype(dtype)
        cases[name] = {"sha256": _sha256(model), "dtype": dtype.name,
                       "shape": [int(s) for s in d["shape"]], "inputs": xs.tolist()}
    _write(path, cases)


def reference(args):
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    if not os.path.exists(args.inputs):
        make_inputs(args.models, args.inputs)
    with open(args.inputs) as f:
        cases = json.load(f)
    out = {"runner": "LiteRT reference kernels", "machine": platform.machine(),
           "python": platform.python_version(), "numpy": np.__version__, "models": {}}
    for name, case in cases.items():
        model = _model_path(args.models, name)
        if _sha256(model) != case["sha256"]:
            sys.exit(f"{model}: not the model {args.inputs} was made for")
        it = Interpreter(model_path=model, num_threads=1,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        it.allocate_tensors()
        d, o = it.get_input_details()[0], it.get_output_details()[0]
        ys = []
        for x in case["inputs"]:
            it.set_tensor(d["index"], np.asarray(x, case["dtype"]))
            it.invoke()
            ys.append(it.get_tensor(o["index"]).tolist())
        out["models"][name] = {"sha256": case["sha256"], "inputs": case["inputs"],
                               "outputs": ys}
    _write(args.out, out)
    print(f"LiteRT {platform.machine()}: {len(cases)} models x {SAMPLES} inputs")
    return 0


def run(args):
    import numpy as np

    import microdl
    from microdl.utils import firmware_dir

    pkg = os.path.dirname(os.path.abspath(microdl.__file__))
    folder = firmware_dir()
    if "site-packages" not in pkg or not folder.startswith(pkg):
        sys.exit(f"not an installed wheel: microdl at {pkg}, models at {folder}")
    with open(args.inputs) as f:
        cases = json.load(f)
    out = {"runner": "microdl " + microdl.__version__, "machine": platform.machine(),
           "python": platform.python_version(), "numpy": np.__version__,
           "package": pkg, "models": {}}
    for name, case in cases.items():
        model = _model_path(folder, name)
        it = microdl.Interpreter(model_path=model)
        it.allocate_tensors()
        d, o = it.get_input_details()[0], it.get_output_details()[0]
        ys = []
        for x in case["inputs"]:
            it.set_tensor(d["index"], np.asarray(x, case["dtype"]))
            it.invoke()
            ys.append(it.get_tensor(o["index"]).tolist())
        out["models"][name] = {"sha256": _sha256(model), "inputs": case["inputs"],
                               "outputs": ys}
    _write(args.out, out)
    print(f"microdl {platform.machine()} (python {out['python']}, numpy {out['numpy']}): "
          f"{len(cases)} models x {SAMPLES} inputs run")
    return 0


def compare(args):
    with open(args.ref) as f:
        ref = json.load(f)
    bad = 0
    for path in args.outs:
        with open(path) as f:
            got = json.load(f)
        diffs = []
        for name, want in ref["models"].items():
            have = got["models"].get(name)
            if have is None:
                diffs.append(f"{name} missing")
            elif have["sha256"] != want["sha256"]:
                diffs.append(f"{name}: a different model file")
            elif have["inputs"] != want["inputs"]:
                diffs.append(f"{name}: different inputs")
            elif have["outputs"] != want["outputs"]:
                n = sum(a != b for a, b in zip(have["outputs"], want["outputs"]))
                diffs.append(f"{name}: {n}/{len(want['outputs'])} outputs differ")
        bad += bool(diffs)
        who = f"{got['runner']} {got['machine']} py{got['python']} np{got['numpy']}"
        print(f"{'FAIL' if diffs else 'ok'}: {who} vs {ref['runner']} {ref['machine']}: "
              + ("; ".join(diffs) if diffs else
                 f"{len(ref['models'])} models x {SAMPLES} inputs identical"))
    return 1 if bad else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("reference")
    p.add_argument("--models", required=True)
    p.add_argument("--inputs", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("run")
    p.add_argument("--inputs", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("compare")
    p.add_argument("ref")
    p.add_argument("outs", nargs="+")
    args = ap.parse_args(argv)
    return {"reference": reference, "run": run, "compare": compare}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
