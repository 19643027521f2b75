"""A seeded family of small int8 models, compiled with Arm's Vela, to check microdl.npu.

    python tools/npu_family.py generate --out /tmp/npu_family/models   # write .tflite
    python tools/npu_family.py vela --cache /tmp/npu_family             # run Vela
    python tools/npu_family.py compare --cache /tmp/npu_family [--half tune|heldout]
    python tools/npu_family.py shared --cache /tmp/npu_family           # ../shared/models

`make_model(seed)` builds one model with microdl's own writer (microdl.tflite.writer):
a random stack of CONV_2D (1x1/3x3/5x5, stride 1/2), DEPTHWISE_CONV_2D (3x3/5x5,
depth multiplier 1/2, stride 1/2), MAX/AVERAGE_POOL_2D, ADD (residual), CONCATENATION
(two branches), HARD_SWISH, LOGISTIC, PAD, MEAN over H and W, RESHAPE and
FULLY_CONNECTED; int8 NHWC input of 8x8 to 128x128 pixels and 1 to 256 channels.  The
same seed always gives the same bytes.  Every model is run once in microdl
(`Interpreter`), so only valid models enter the family.

Halves: even seeds are the tuning half, odd seeds the held-back half (`half(seed)`).
The held-back half is never looked at while tuning the cost model.

Vela (the `vela` command, ethos-u-vela 5.x) compiles each model for the NPUs in
`NPUS` with the system configuration and memory mode in `VELA_SYSTEM` (the ones
microdl's presets describe; the summary CSV is checked to say the same) and
`--verbose-performance`; the per-layer CSV rows and the summary are cached as JSON in
`<cache>/vela/<model>__<npu>.json`, so no model is compiled twice.
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from microdl.core.graph import Graph, Op, Quantization, Tensor  # noqa: E402
from microdl.tflite.writer import write_model  # noqa: E402

NPUS = ["ethos-u55-64", "ethos-u55-128", "ethos-u55-256", "ethos-u65-256"]
# (system config, memory mode) per NPU: Vela's defaults, which microdl's presets model.
VELA_SYSTEM = {
    "ethos-u55-64": ("Ethos_U55_High_End_Embedded", "Shared_Sram"),
    "ethos-u55-128": ("Ethos_U55_High_End_Embedded", "Shared_Sram"),
    "ethos-u55-256": ("Ethos_U55_High_End_Embedded", "Shared_Sram"),
    "ethos-u65-256": ("Ethos_U65_Client_Server", "Dedicated_Sram_384KB"),
}
N_MODELS = 64
SAME, VALID = 0, 1          # TFLite Padding enum
NONE, RELU, RELU6 = 0, 1, 3  # TFLite ActivationFunctionType
MAX_MACS = 12_000_000        # keeps each model small (Vela compiles it in seconds)


def half(seed: int) -> str:
    """'tune' for even seeds, 'heldout' for odd ones."""
    return "tune" if seed % 2 == 0 else "heldout"


def model_name(seed: int) -> str:
    return f"fam{seed:03d}"


def _out(n, k, s):
    """SAME-padding output size."""
    return -(-n // s)


class _Builder:
    def __init__(self, rng):
        self.rng = rng
        self.tensors = []
        self.ops = []

    def tensor(self, shape, dtype=np.int8, scale=None, zp=0, data=None, scales=None,
               qdim=0, name=None):
        quant = None
        if scales is not None:
            quant = Quantization(np.asarray(scales, np.float32),
                                 np.zeros(len(scales), np.int64), qdim)
        elif scale is not None:
            quant = Quantization(np.array([scale], np.float32), np.array([zp], np.int64), 0)
        idx = len(self.tensors)
        if data is not None:
            data = np.asarray(data, dtype).reshape(shape)
        self.tensors.append(Tensor(index=idx, name=name or f"c{idx}", dtype=np.dtype(dtype),
                                   shape=tuple(shape), shape_signature=tuple(shape),
                                   quant=quant, data=data))
        return idx

    def act(self, shape, scale=None, zp=None, tag="t"):
        """A new int8 activation tensor named after the op that writes it."""
        if scale is None:
            scale = float(self.rng.uniform(0.02, 0.1))
        if zp is None:
            zp = int(self.rng.integers(-20, 20))
        return self.tensor(shape, scale=scale, zp=zp,
                           name=f"L{len(self.ops):02d}_{tag}")

    def op(self, name, inputs, outputs, options=None, version=1):
        self.ops.append(Op(index=len(self.ops), name=name, version=version,
                           inputs=list(inputs), outputs=list(outputs),
                           options=dict(options or {})))

    def q(self, t):
        return self.tensors[t].quant.scale, self.tensors[t].quant.zero_point

    def shape(self, t):
        return self.tensors[t].shape

    # ------------------------------------------------------------ layers
    def weights(self, shape, qdim, n_ch):
        # Roughly normal weights, like trained ones (Vela's encoder compresses them).
        w = np.clip(np.round(self.rng.normal(0, 40, shape)), -127, 127).astype(np.int8)
        scales = self.rng.uniform(0.002, 0.02, n_ch).astype(np.float32)
        return w, scales

    def conv(self, x, c_out, k, stride, act, out_q=None):
        n, h, w, c = self.shape(x)
        s_in, _ = self.q(x)
        wt, ws = self.weights((c_out, k, k, c), 0, c_out)
        wi = self.tensor((c_out, k, k, c), data=wt, scales=ws, qdim=0)
        bias = self.rng.integers(-2000, 2000, c_out).astype(np.int32)
        bi = self.tensor((c_out,), np.int32, data=bias, scales=ws * np.float32(s_in))
        out_scale = float(s_in * ws.mean() * 40 * np.sqrt(k * k * c) / 4)
        o_s, o_zp = out_q if out_q is not None else (out_scale, None)
        y = self.act((n, _out(h, k, stride), _out(w, k, stride), c_out), scale=o_s,
                     zp=o_zp, tag="CONV_2D")
        self.op("CONV_2D", [x, wi, bi], [y],
                {"padding": SAME, "stride_h": stride, "stride_w": stride,
                 "dilation_h_factor": 1, "dilation_w_factor": 1,
                 "fused_activation_function": act}, version=3)
        return y

    def dwconv(self, x, mult, k, stride, act):
        n, h, w, c = self.shape(x)
        s_in, _ = self.q(x)
        oc = c * mult
        wt, ws = self.weights((1, k, k, oc), 3, oc)
        wi = self.tensor((1, k, k, oc), data=wt, scales=ws, qdim=3)
        bias = self.rng.integers(-2000, 2000, oc).astype(np.int32)
        bi = self.tensor((oc,), np.int32, data=bias, scales=ws * np.float32(s_in))
        out_scale = float(s_in * ws.mean() * 40 * k / 4)
        y = self.act((n, _out(h, k, stride), _out(w, k, stride), oc), scale=out_scale,
                     tag="DEPTHWISE_CONV_2D")
        self.op("DEPTHWISE_CONV_2D", [x, wi, bi], [y],
                {"padding": SAME, "stride_h": stride, "stride_w": stride,
                 "dilation_h_factor": 1, "dilation_w_factor": 1, "depth_multiplier": mult,
                 "fused_activation_function": act}, version=3)
        return y

    def pool(self, x, kind, k, stride):
        n, h, w, c = self.shape(x)
        s, zp = self.q(x)
        y = self.act((n, _out(h, k, stride), _out(w, k, stride), c), scale=s, zp=zp,
                     tag=kind)
        self.op(kind, [x], [y], {"padding": SAME, "stride_h": stride, "stride_w": stride,
                                 "filter_height": k, "filter_width": k,
                                 "fused_activation_function": NONE}, version=2)
        return y

    def unary(self, x, kind):
        s, zp = self.q(x)
        if kind == "LOGISTIC":
            y = self.act(self.shape(x), scale=1 / 256, zp=-128, tag=kind)
        else:
            y = self.act(self.shape(x), scale=s, zp=zp, tag=kind)
        self.op(kind, [x], [y])
        return y

    def add(self, a, b):
        y = self.act(self.shape(a), tag="ADD")
        self.op("ADD", [a, b], [y], {"fused_activation_function": NONE})
        return y

    def concat(self, a, b):
        s, zp = self.q(a)
        sa, sb = self.shape(a), self.shape(b)
        y = self.act(sa[:3] + (sa[3] + sb[3],), scale=s, zp=zp, tag="CONCATENATION")
        self.op("CONCATENATION", [a, b], [y], {"axis": 3, "fused_activation_function": NONE})
        return y

    def pad(self, x, p):
        n, h, w, c = self.shape(x)
        s, zp = self.q(x)
        pads = self.tensor((4, 2), np.int32, data=[0, 0, p, p, p, p, 0, 0])
        y = self.act((n, h + 2 * p, w + 2 * p, c), scale=s, zp=zp, tag="PAD")
        self.op("PAD", [x, pads], [y])
        return y

    def mean(self, x):
        n, h, w, c = self.shape(x)
        axes = self.tensor((2,), np.int32, data=[1, 2])
        y = self.act((n, 1, 1, c), tag="MEAN")
        self.op("MEAN", [x, axes], [y], {"keep_dims": True})
        return y

    def reshape(self, x):
        shp = self.shape(x)
        s, zp = self.q(x)
        size = int(np.prod(shp))
        new = self.tensor((2,), np.int32, data=[1, size])
        y = self.act((1, size), scale=s, zp=zp, tag="RESHAPE")
        self.op("RESHAPE", [x, new], [y], {"new_shape": [1, size]})
        return y

    def fc(self, x, units, act):
        _, depth = self.shape(x)
        s_in, _ = self.q(x)
        wt, ws = self.weights((units, depth), 0, 1)
        wi = self.tensor((units, depth), data=wt, scale=float(ws[0]))
        bias = self.rng.integers(-2000, 2000, units).astype(np.int32)
        bi = self.tensor((units,), np.int32, data=bias, scale=float(ws[0] * s_in))
        out_scale = float(s_in * ws[0] * 40 * np.sqrt(depth) / 4)
        y = self.act((1, units), scale=out_scale, tag="FULLY_CONNECTED")
        self.op("FULLY_CONNECTED", [x, wi, bi], [y], {"fused_activation_function": act},
                version=4)
        return y


def _macs(b):
    from microdl.core.macs import op_macs
    g = Graph(tensors=b.tensors, ops=b.ops, inputs=[0], outputs=[])
    return sum(op_macs(op, g) for op in b.ops)


def make_model(seed: int) -> bytes:
    """The family's model number `seed` as .tflite bytes (deterministic)."""
    rng = np.random.default_rng(1000 + int(seed))
    while True:
        data = _try_model(rng)
        if data is not None:
            return data


def _try_model(rng):
    b = _Builder(rng)
    size = int(rng.choice([8, 12, 16, 24, 32, 48, 64, 96, 128]))
    c0 = int(rng.choice([1, 3, 4, 8, 16, 32, 64]))
    if size >= 96:
        c0 = min(c0, 8)
    x = b.tensor((1, size, size, c0), scale=float(rng.uniform(0.01, 0.05)),
                 zp=int(rng.integers(-10, 10)), name="input")
    n_layers = int(rng.integers(4, 11))
    chans = [8, 16, 24, 32, 48, 64, 96, 128, 192, 256]
    flat = False
    for layer in range(n_layers):
        if flat:
            break
        _, h, w, c = b.shape(x)
        kinds = ["conv", "conv", "dw", "pool", "add", "concat", "hswish", "logistic",
                 "pad", "head"]
        kind = kinds[int(rng.integers(len(kinds)))]
        if kind == "head" and layer < 3:
            kind = "conv"
        act = int(rng.choice([NONE, RELU, RELU6]))
        if kind == "conv":
            k = int(rng.choice([1, 3, 5]))
            stride = int(rng.choice([1, 2])) if h >= 4 else 1
            c_out = int(rng.choice(chans))
            x = b.conv(x, c_out, k, stride, act)
        elif kind == "dw":
            k = int(rng.choice([3, 5]))
            stride = int(rng.choice([1, 2])) if h >= 4 else 1
            mult = int(rng.choice([1, 2])) if c * 2 <= 256 else 1
            x = b.dwconv(x, mult, k, stride, act)
        elif kind == "pool":
            if h < 2:
                continue
            kind_ = str(rng.choice(["MAX_POOL_2D", "AVERAGE_POOL_2D"]))
            k, stride = [(2, 2), (3, 2), (3, 1)][int(rng.integers(3))]
            x = b.pool(x, kind_, k, stride)
        elif kind == "add":
            y = b.conv(x, c, 1, 1, act)
            x = b.add(x, y)
        elif kind == "concat":
            c1 = int(rng.choice([8, 16, 32, 64]))
            if c + c1 > 256:
                continue
            y = b.conv(x, c1, int(rng.choice([1, 3])), 1, act, out_q=b.q(x))
            x = b.concat(x, y)
        elif kind == "hswish":
            x = b.unary(x, "HARD_SWISH")
        elif kind == "logistic":
            x = b.unary(x, "LOGISTIC")
        elif kind == "pad":
            x = b.pad(x, int(rng.choice([1, 2])))
            x = b.conv(x, int(rng.choice(chans)), 3, int(rng.choice([1, 2])), act)
        elif kind == "head":
            if rng.random() < 0.5 or h * w * c > 4096:
                x = b.mean(x)
            x = b.reshape(x)
            x = b.fc(x, int(rng.choice([2, 10, 16, 32, 100])), NONE)
            flat = True
    if len(b.ops) < 2:
        return None
    if _macs(b) > MAX_MACS or _macs(b) < 1000:
        return None
    outputs = [b.ops[-1].outputs[0]]
    return write_model(Graph(tensors=b.tensors, ops=b.ops, inputs=[0], outputs=outputs))


def check_runs(data: bytes) -> None:
    """Run the model once in microdl on a seeded random input (raises if invalid)."""
    from microdl import Interpreter
    it = Interpreter(model_content=data)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    x = np.random.default_rng(0).integers(-128, 128, d["shape"]).astype(np.int8)
    it.set_tensor(d["index"], x)
    it.invoke()


# ------------------------------------------------------------------ Vela
def vela_command():
    """Path of the vela executable, or None when ethos-u-vela is not installed."""
    exe = shutil.which("vela")
    if exe is None:
        cand = os.path.join(os.path.dirname(sys.executable), "vela")
        exe = cand if os.path.exists(cand) else None
    return exe


def run_vela(model_path: str, npu: str) -> dict:
    """Compile with Vela for `npu` (its VELA_SYSTEM config, --verbose-performance).

    Returns {"summary": {...summary CSV row...}, "layers": [per-layer CSV rows]},
    numbers as floats.  Raises RuntimeError when Vela fails or its summary does not
    name the expected system configuration and memory mode."""
    system, mode = VELA_SYSTEM[npu]
    with tempfile.TemporaryDirectory(prefix="npu-family-") as out:
        cmd = [vela_command(), model_path, "--accelerator-config", npu,
               "--system-config", system, "--memory-mode", mode,
               "--verbose-performance", "--output-dir", out]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"vela failed on {model_path} ({npu}):\n"
                               f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        summ = glob.glob(os.path.join(out, "*_summary_*.csv"))
        per = glob.glob(os.path.join(out, "*_per-layer.csv"))
        if len(summ) != 1 or len(per) != 1:
            raise RuntimeError(f"vela output in {out}: {os.listdir(out)}")
        with open(summ[0], newline="") as f:
            summary = _numbers(next(csv.DictReader(f)))
        with open(per[0], newline="") as f:
            layers = [_numbers(r) for r in csv.DictReader(f)]
    if summary.get("system_config") != system or summary.get("memory_mode") != mode:
        raise RuntimeError(f"vela used {summary.get('system_config')} / "
                           f"{summary.get('memory_mode')}, expected {system} / {mode}")
    return {"summary": summary, "layers": layers}


def _numbers(row):
    out = {}
    for k, v in row.items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            out[k] = v
    return out


def cached_vela(cache: str, name: str, model_path: str, npu: str) -> dict:
    """run_vela's result, from `<cache>/vela/<name>__<npu>.json` when there."""
    path = os.path.join(cache, "vela", f"{name}__{npu}.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    res = run_vela(model_path, npu)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(res, f)
    os.replace(path + ".tmp", path)
    return res


# ------------------------------------------------------------------ comparison
def shared_models():
    """(name, path) of the int8 models in ../shared/models that the comparison uses."""
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "..", "shared", "models")
    out = []
    for p in sorted(glob.glob(os.path.join(root, "mlperf_tiny", "*.tflite")) +
                    glob.glob(os.path.join(root, "tflm", "*.tflite"))):
        name = os.path.splitext(os.path.basename(p))[0]
        if name in FLOAT_SHARED:
            continue                 # float models: Vela leaves them to the CPU
        out.append((name, p))
    return out


FLOAT_SHARED = {"ad01_fp32", "kws_ref_model_float32", "pretrainedResnet", "vww_96_float",
                "hello_world_float"}


def _print_stats(title, stats):
    from microdl.npu.vela_compare import format_stats
    print(title)
    print(format_stats(stats))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["generate", "vela", "compare", "shared"])
    ap.add_argument("--cache", default="/tmp/npu_family")
    ap.add_argument("--n", type=int, default=N_MODELS)
    ap.add_argument("--half", choices=["tune", "heldout", "all"], default="all")
    ap.add_argument("--per-layer", action="store_true")
    args = ap.parse_args(argv)
    models_dir = os.path.join(args.cache, "models")
    os.makedirs(models_dir, exist_ok=True)
    seeds = [s for s in range(args.n) if args.half in ("all", half(s))]
    if args.command in ("generate", "vela"):
        for s in seeds:
            path = os.path.join(models_dir, model_name(s) + ".tflite")
            if not os.path.exists(path):
                data = make_model(s)
                check_runs(data)
                with open(path, "wb") as f:
                    f.write(data)
            if args.command == "vela":
                for npu in NPUS:
                    cached_vela(args.cache, model_name(s), path, npu)
                print(model_name(s), "done", flush=True)
        return 0
    from microdl.npu.vela_compare import compare_model, distribution
    if args.command == "compare":
        items = [(model_name(s), os.path.join(models_dir, model_name(s) + ".tflite"))
                 for s in seeds]
    else:
        items = shared_models()
    results = []
    for name, path in items:
        with open(path, "rb") as f:
            data = f.read()
        for npu in NPUS:
            try:
                vela = cached_vela(args.cache, name, path, npu)
            except RuntimeError as e:
                print(f"{name} {npu}: Vela does not compile it ({str(e)[:80]!r})")
                continue
            r = compare_model(data, vela, npu)
            r["model"] = name
            results.append(r)
            print(f"{name:28s} {npu:14s} vela {r['vela_total']:>10,.0f} microdl "
                  f"{r['microdl_total']:>10,.0f} ratio {r['ratio']:.3f}  arena "
                  f"{r['microdl_arena_bytes']:>8,} B, Vela SRAM "
                  f"{r['vela_sram_bytes']:>8,.0f} B")
            if args.per_layer:
                for la in r["layers"]:
                    print(f"    {la['ops']:40s} vela {la['vela']:>9,.0f} microdl "
                          f"{la['microdl']:>9,.0f} ratio {la['ratio']:.3f}")
    _print_stats(f"distributions ({args.command}, half={args.half}):",
                 distribution(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
