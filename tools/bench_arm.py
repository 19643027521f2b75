"""Instructions retired per invoke() on an emulated ARM core: microdl against LiteRT.

Runs microdl (its NEON path and, with MICRODL_PORTABLE_KERNELS=1, its portable C path)
and LiteRT's aarch64 wheel (default resolver = XNNPACK, and
BUILTIN_WITHOUT_DEFAULT_DELEGATES = builtin optimized kernels) inside a Debian arm64
root, under the dynamic `qemu-aarch64` with the instruction-count plugin of
../shared/tools/qemu-icount/ (its README), one thread, on each `-cpu` asked for.  The
plugin prints the guest's instruction count at each marker system call
(sched_get_priority_max: 125 on aarch64, 159 on 32-bit ARM); this script marks the start
and the end of `--runs` invokes after one warm-up invoke and prints (end - start) /
runs, in millions.

These are instruction counts on an emulated core, not times: they ignore latency, dual
issue and caches (the README of qemu-icount).  Same binary and inputs, same count.

Needs root (chroot) and a root made by tools/test_arm64_qemu.sh (Python 3.11 venv at
/root/venv with microdl's deps and ai-edge-litert).  The emulators come from Debian's
qemu-user (dynamic, for the plugin) and qemu-user-static (binfmt_misc, for --build and
--check); both are installed with apt-get if missing, and the binfmt_misc entry is made
(flag F) if missing:

    sudo python tools/bench_arm.py [--root /tmp/roots/arm64] [--tree /root/mdl-bench]
        [--build] [--cpus cortex-a72,cortex-a76] [--models kws,vww,ic,ad,pd,ms]
        [--runs 3] [--markdown] [--per-op]

--arch armhf measures 32-bit ARM instead (Debian armhf: ARMv7 + VFPv3-D16, where the
NEON microkernels run after the AT_HWCAP check): microdl's NEON path against its
portable path (no LiteRT wheel exists for armv7l) under the dynamic `qemu-arm`, default
`-cpu cortex-a7` (Raspberry Pi 2) and root /tmp/roots/armhf, made once (about 15 min)
with Debian's NumPy 1.24 (PyPI has no armv7l NumPy wheel) by tools/test_armhf_qemu.sh
(which also runs the kernel and model tests there):

    sudo bash tools/test_armhf_qemu.sh /tmp/roots/armhf
    sudo python tools/bench_arm.py --arch armhf --build --markdown

(by hand: debootstrap --arch=armhf --variant=minbase --include=python3,python3-dev,
python3-venv,python3-pip,gcc,libc6-dev,python3-numpy,python3-pil bookworm ROOT, then in
the chroot, with a clean environment and PIP_CERT=REQUESTS_CA_BUNDLE= this host's CA
bundle copied into the root: python3 -m venv --system-site-packages /root/venv and
/root/venv/bin/pip install --only-binary :all: "setuptools>=77" wheel "Cython>=3.0"
flatbuffers tflite tqdm pytest hypothesis.)

(debootstrap's second stage and --build run the root's binaries through the binfmt_misc
entry of qemu-arm-static.)  `--arch armhf --check N` checks bit-exactness instead of
counting: N random inputs per model through microdl in the root (NEON and portable on
cortex-a7, and cortex-r5f: ARMv7 without NEON, the portable path by AT_HWCAP) against
LiteRT's reference kernels (BUILTIN_REF) on this host, or for person_detect, which
LiteRT refuses, this host's microdl with its reference kernels.

--build copies this working tree (git ls-files) to ROOT/<tree> and builds it there
(python setup.py build_ext --inplace, under the static binfmt emulator: about 20 min,
skipped when the copied tree is unchanged); without it the tree already built there is
measured.  `--tree /root/microdl` measures the tree tools/test_*_qemu.sh built.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED = os.path.join(os.path.dirname(REPO), "shared")
ICOUNT_SRC = "/work/shared/tools/qemu-icount/icount.c"
if not os.path.exists(ICOUNT_SRC):
    ICOUNT_SRC = os.path.join(SHARED, "tools", "qemu-icount", "icount.c")

MODELS = {
    "kws": "mlperf_tiny/kws_ref_model.tflite",
    "vww": "mlperf_tiny/vww_96_int8.tflite",
    "ic": "mlperf_tiny/pretrainedResnet_quant.tflite",
    "ad": "mlperf_tiny/ad01_int8.tflite",
    "pd": "tflm/person_detect.tflite",
    "ms": "tflm/micro_speech_quantized.tflite",
}
LABELS = {"kws": "KWS", "vww": "VWW", "ic": "IC", "ad": "AD", "pd": "person_detect",
          "ms": "micro_speech"}
# --arch -> (dynamic qemu, marker syscall, default root, cpus, runtimes)
ARCHS = {
    "aarch64": ("qemu-aarch64", 125, "/tmp/roots/arm64", "cortex-a72,cortex-a76",
                "microdl,microdl-portable,litert,litert-builtin"),
    "armhf": ("qemu-arm", 159, "/tmp/roots/armhf", "cortex-a7", "microdl,microdl-portable"),
}
# runtime name -> (engine, environment)
RUNTIMES = {
    "microdl": ("microdl", {}),
    "microdl-portable": ("microdl", {"MICRODL_PORTABLE_KERNELS": "1"}),
    "litert": ("litert", {}),
    "litert-builtin": ("litert-builtin", {}),
}
MARK_START, MARK_END = 1001, 1002

# ------------------------------------------------------------------ guest side


def _mark(label):
    try:
        os.sched_get_priority_max(label)
    except OSError:
        pass


def guest(engine, model, runs):
    """Inside the emulator: one warm-up invoke, then `runs` invokes between markers."""
    import numpy as np
    if engine == "microdl":
        from microdl.runtime.interpreter import Interpreter
        it = Interpreter(model_path=model, num_threads=1)
    else:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        kw = {}
        if engine == "litert-builtin":
            kw["experimental_op_resolver_type"] = (
                OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        it = Interpreter(model_path=model, num_threads=1, **kw)
    it.allocate_tensors()
    rng = np.random.default_rng(0)
    for d in it.get_input_details():
        dt = np.dtype(d["dtype"])
        if dt.kind == "f":
            x = rng.standard_normal(d["shape"]).astype(dt)
        else:
            info = np.iinfo(dt)
            x = rng.integers(info.min, info.max + 1, size=d["shape"]).astype(dt)
        it.set_tensor(d["index"], x)
    it.invoke()
    _mark(MARK_START)
    for _ in range(runs):
        it.invoke()
    _mark(MARK_END)


def guest_ops(model):
    """Inside the emulator: microdl's ops one by one (run_range of each op's nodes,
    between markers 10000 + 2k and 10001 + 2k), their names on stdout."""
    import json

    import numpy as np
    from microdl.runtime.interpreter import Interpreter, Node
    it = Interpreter(model_path=model, num_threads=1)
    it.allocate_tensors()
    rng = np.random.default_rng(0)
    for d in it.get_input_details():
        info = np.iinfo(d["dtype"]) if np.dtype(d["dtype"]).kind != "f" else None
        x = (rng.integers(info.min, info.max + 1, size=d["shape"]) if info else
             rng.standard_normal(d["shape"])).astype(d["dtype"])
        it.set_tensor(d["index"], x)
    it.invoke()
    spans = {}
    for k, op_index in enumerate(it._node_ops):
        lo, hi = spans.get(op_index, (k, k))
        spans[op_index] = (min(lo, k), max(hi, k) + 1)
    rows = []
    for j, (op_index, (lo, hi)) in enumerate(sorted(spans.items(), key=lambda kv: kv[1])):
        _mark(10000 + 2 * j)
        it._engine.run_range(lo, hi)
        _mark(10001 + 2 * j)
        kernel = "+".join(s.kernel for i, s in it._steps
                          if i == op_index and isinstance(s, Node))
        rows.append((it._graph.ops[op_index].name, kernel))
    print("OPS " + json.dumps(rows))


def guest_outputs(model, io_dir):
    """Inside the emulator: microdl's outputs for the inputs io_dir/in<i>.npy, saved as
    io_dir/out<i>.npy (the kernels as the environment chooses them)."""
    import numpy as np
    from microdl.runtime.interpreter import Interpreter
    it = Interpreter(model_path=model, num_threads=1)
    it.allocate_tensors()
    for i, d in enumerate(it.get_input_details()):
        it.set_tensor(d["index"], np.load(os.path.join(io_dir, f"in{i}.npy")))
    it.invoke()
    for i, d in enumerate(it.get_output_details()):
        np.save(os.path.join(io_dir, f"out{i}.npy"), it.get_tensor(d["index"]))


# ------------------------------------------------------------------- host side


def _sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def _apt_install(package):
    """apt-get install PACKAGE (after apt-get update if the first try fails)."""
    print(f"bench_arm: apt-get install {package}", file=sys.stderr, flush=True)
    q = {"stdout": subprocess.DEVNULL}
    if subprocess.run(["apt-get", "install", "-y", "-qq", package], **q).returncode:
        subprocess.run(["apt-get", "update", "-qq"], **q)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], **q)


def ensure_binfmt(arch):
    """The binfmt_misc entry that runs the root's binaries (chroot, --build, --check)
    through qemu-user-static, with the F flag (the emulator opened at registration, so
    it works inside the chroot): made if missing, replaced if it lacks F."""
    name = {"aarch64": "aarch64", "armhf": "arm"}[arch]
    static = f"/usr/bin/qemu-{name}-static"
    if not os.path.exists(static):
        _apt_install("qemu-user-static")
    misc = "/proc/sys/fs/binfmt_misc"
    if subprocess.run(["mountpoint", "-q", misc]).returncode != 0:
        _sh(["mount", "-t", "binfmt_misc", "binfmt_misc", misc])
    entry = os.path.join(misc, f"qemu-{name}")
    if os.path.exists(entry):
        with open(entry) as f:
            if re.search(r"^flags:.*F", f.read(), re.M):
                return
        with open(entry, "w") as f:
            f.write("-1")
    with open(f"/usr/lib/binfmt.d/qemu-{name}.conf") as f:
        conf = f.read().strip()
    with open(os.path.join(misc, "register"), "w") as f:
        f.write(re.sub(r":[^:]*:[A-Z]*$", f":{static}:F", conf))


def setup_hostq(root, qemu_name="qemu-aarch64"):
    """The dynamic qemu (qemu-aarch64 or qemu-arm, Debian's qemu-user: installed if
    missing), its x86-64 libraries and icount.so in ROOT/hostq."""
    hq = os.path.join(root, "hostq")
    os.makedirs(hq, exist_ok=True)
    so = os.path.join(hq, "icount.so")
    if not os.path.exists(so) or os.path.getmtime(so) < os.path.getmtime(ICOUNT_SRC):
        _sh(["cc", "-O2", "-shared", "-fPIC", "-o", so, ICOUNT_SRC])
    qemu = shutil.which(qemu_name)
    if not qemu:
        _apt_install("qemu-user")
        qemu = shutil.which(qemu_name)
    if not qemu:
        sys.exit(f"bench_arm: the dynamic {qemu_name} is missing (apt-get install qemu-user)")
    shutil.copy2(qemu, hq)
    ldd = subprocess.run(["ldd", qemu], capture_output=True, text=True, check=True).stdout
    for lib in re.findall(r"(/\S+\.so\S*)", ldd):
        shutil.copy2(os.path.realpath(lib), os.path.join(hq, os.path.basename(lib)))
    proc = os.path.join(root, "proc")
    if subprocess.run(["mountpoint", "-q", proc]).returncode != 0:
        _sh(["mount", "-t", "proc", "proc", proc])
    return hq


def build_tree(root, tree):
    dst = os.path.join(root, tree.lstrip("/"))
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for f in files:
        if not f or not os.path.isfile(os.path.join(REPO, f)):
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, f)) or dst, exist_ok=True)
        shutil.copy2(os.path.join(REPO, f), os.path.join(dst, f))
    shutil.copy2(os.path.abspath(__file__), os.path.join(dst, "tools", "bench_arm.py"))
    # the copies keep their times (copy2), so an unchanged tree is not built again;
    # distutils compares the extension with its .c/.pyx sources only, so a newer header
    # (any newer file of the C core) forces the rebuild here
    for so in glob.glob(os.path.join(dst, "microdl", "runtime", "_engine*.so")):
        t = os.path.getmtime(so)
        core = [os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(dst, "cext"))
                for f in fs] + [os.path.join(dst, "setup.py")]
        if any(os.path.getmtime(f) > t for f in core):
            os.remove(so)
            shutil.rmtree(os.path.join(dst, "build"), ignore_errors=True)
    _sh(["chroot", root, "/bin/bash", "-c",
         f"cd {tree} && /root/venv/bin/python setup.py build_ext --inplace -q >/dev/null"])


def per_op(root, tree, cpu, model, env, arch="aarch64"):
    """microdl's instructions per op (guest_ops), largest first."""
    import json
    envs = " ".join(f"{k}={v}" for k, v in env.items())
    qemu, marker = ARCHS[arch][:2]
    cmd = (f"cd {tree} && env {envs} PYTHONPATH={tree} /hostq/ld-linux-x86-64.so.2 "
           f"--library-path /hostq /hostq/{qemu} -cpu {cpu} "
           f"-plugin /hostq/icount.so,marker={marker} /root/venv/bin/python3 "
           f"tools/bench_arm.py --guest-ops /root/shared/models/{model}")
    r = subprocess.run(["chroot", root, "/bin/bash", "-c", cmd], capture_output=True,
                       text=True, check=True)
    counts = {int(a): int(b) for a, b in re.findall(r"icount (\d+) (\d+)", r.stderr)}
    ops = json.loads(next(ln for ln in r.stdout.splitlines() if ln.startswith("OPS "))[4:])
    rows = [(counts[10001 + 2 * j] - counts[10000 + 2 * j], j, name, kernel)
            for j, (name, kernel) in enumerate(ops)]
    total = sum(r[0] for r in rows)
    print(f"\n{cpu} {model}: {total / 1e6:.2f} M instructions over {len(rows)} ops")
    for n, j, name, kernel in sorted(rows, reverse=True)[:25]:
        print(f"  {n / 1e6:8.3f} M {100 * n / total:5.1f}%  op {j:3d} {name} ({kernel})")


def measure(root, tree, cpu, runtime, model, runs, arch="aarch64"):
    engine, env = RUNTIMES[runtime]
    envs = " ".join(f"{k}={v}" for k, v in env.items())
    qemu, marker = ARCHS[arch][:2]
    cmd = (f"cd {tree} && env {envs} PYTHONPATH={tree} /hostq/ld-linux-x86-64.so.2 "
           f"--library-path /hostq /hostq/{qemu} -cpu {cpu} "
           f"-plugin /hostq/icount.so,marker={marker} /root/venv/bin/python3 "
           f"tools/bench_arm.py --guest {engine} /root/shared/models/{model} {runs}")
    r = subprocess.run(["chroot", root, "/bin/bash", "-c", cmd], capture_output=True,
                       text=True)
    counts = dict(re.findall(r"icount (\d+) (\d+)", r.stderr))
    if r.returncode != 0 or str(MARK_START) not in counts or str(MARK_END) not in counts:
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        print(f"# {runtime} {model} on {cpu} failed: {last[:200]}", file=sys.stderr)
        return None
    return (int(counts[str(MARK_END)]) - int(counts[str(MARK_START)])) / runs


# the emulated cores of --check (armhf; on aarch64 tools/test_arm64_qemu.sh runs the
# model tests against LiteRT's aarch64 wheel): (label, -cpu, environment)
CHECK_RUNS = {
    "armhf": [("A7 NEON", "cortex-a7", {}),
              ("A7 portable", "cortex-a7", {"MICRODL_PORTABLE_KERNELS": "1"}),
              ("R5F no NEON", "cortex-r5f", {})],
}


def check(root, tree, arch, models, n_inputs):
    """Bit-exactness of whole models on the emulated cores: the same random inputs
    through microdl in the root (NEON, portable, a core without NEON) and through the
    oracle on this host, LiteRT's reference kernels (BUILTIN_REF) where LiteRT takes the
    model, else this host's microdl with its reference kernels.  Prints one line per
    model and returns the number of mismatches."""
    import numpy as np
    sys.path.insert(0, REPO)
    from ai_edge_litert.interpreter import Interpreter as LiteRT, OpResolverType
    from microdl.runtime.interpreter import Interpreter as Microdl
    io_host = os.path.join(root, "tmp", "mdl-check")
    bad = 0
    for m in models:
        path = os.path.join(SHARED, "models", MODELS[m])
        try:
            ref = LiteRT(model_path=path,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
            ref.allocate_tensors()
            oracle = "LiteRT BUILTIN_REF"
        except (RuntimeError, ValueError):
            ref = Microdl(model_path=path, num_threads=1,
                          experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
            ref.allocate_tensors()
            oracle = "host microdl reference kernels"
        rng = np.random.default_rng(1)
        results = {label: 0 for label, _, _ in CHECK_RUNS[arch]}
        for _ in range(n_inputs):
            shutil.rmtree(io_host, ignore_errors=True)
            os.makedirs(io_host)
            for i, d in enumerate(ref.get_input_details()):
                info = np.iinfo(d["dtype"])
                x = rng.integers(info.min, info.max + 1, size=d["shape"]).astype(d["dtype"])
                np.save(os.path.join(io_host, f"in{i}.npy"), x)
                ref.set_tensor(d["index"], x)
            ref.invoke()
            want = [ref.get_tensor(d["index"]) for d in ref.get_output_details()]
            for label, cpu, env in CHECK_RUNS[arch]:
                envs = " ".join(f"{k}={v}" for k, v in env.items())
                cmd = (f"cd {tree} && env {envs} QEMU_CPU={cpu} PYTHONPATH={tree} "
                       f"/root/venv/bin/python3 tools/bench_arm.py --guest-outputs "
                       f"/root/shared/models/{MODELS[m]} /tmp/mdl-check")
                for j in range(len(want)):
                    try:
                        os.remove(os.path.join(io_host, f"out{j}.npy"))
                    except FileNotFoundError:
                        pass
                r = subprocess.run(["chroot", root, "/bin/bash", "-c", cmd],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit(f"bench_arm: {label} {m} failed in the root:\n"
                             f"{r.stderr.strip()[-1000:]}")
                same = all(np.array_equal(np.load(os.path.join(io_host, f"out{j}.npy")), w)
                           for j, w in enumerate(want))
                results[label] += 0 if same else 1
        bad += sum(results.values())
        print(f"{LABELS[m]:>14}: " + ", ".join(
            f"{label} {'bit-exact' if v == 0 else f'{v} of {n_inputs} DIFFER'}"
            for label, v in results.items()) + f" (oracle: {oracle}, {n_inputs} inputs)",
            flush=True)
    return bad


def _fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def _ratio(a, b):
    return "n/a" if a is None or b is None else f"{a / b:.2f}x"


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--guest-ops":
        guest_ops(sys.argv[2])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--guest-outputs":
        guest_outputs(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--guest":
        guest(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", choices=sorted(ARCHS), default="aarch64",
                    help="aarch64 (arm64 root, LiteRT too) or armhf (32-bit ARM root: "
                         "microdl's NEON path against its portable path)")
    ap.add_argument("--root", default=None, help="default: /tmp/roots/arm64 or armhf")
    ap.add_argument("--tree", default="/root/mdl-bench",
                    help="microdl tree inside the root (absolute, in the root)")
    ap.add_argument("--build", action="store_true")
    ap.add_argument("--cpus", default=None,
                    help="default: cortex-a72,cortex-a76 (aarch64), cortex-a7 (armhf)")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--runtimes", default=None,
                    help="default: all four (aarch64), microdl,microdl-portable (armhf)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--check", type=int, metavar="N", default=0,
                    help="armhf, instead of counting: N random inputs per model through "
                         "microdl in the root (NEON and portable on cortex-a7, cortex-r5f "
                         "without NEON) against LiteRT's reference kernels on this host; "
                         "exit 1 on a mismatch")
    ap.add_argument("--per-op", action="store_true",
                    help="microdl's instructions per op instead (its NEON path; "
                         "--runtimes microdl-portable for the portable one)")
    a = ap.parse_args()
    qemu_name, _, root, cpus, runtimes = ARCHS[a.arch]
    a.root = a.root or root
    a.cpus = a.cpus or cpus
    a.runtimes = a.runtimes or runtimes
    if a.arch == "armhf" and any(r.startswith("litert") for r in a.runtimes.split(",")):
        sys.exit("bench_arm: no LiteRT wheel exists for armv7l (--arch armhf)")
    if not os.path.exists(os.path.join(a.root, "root", "venv", "bin", "python3")):
        script = "test_arm64_qemu.sh" if a.arch == "aarch64" else "test_armhf_qemu.sh"
        sys.exit(f"bench_arm: {a.root} has no /root/venv: make it with "
                 f"sudo bash tools/{script} {a.root}")
    ensure_binfmt(a.arch)
    setup_hostq(a.root, qemu_name)
    models = os.path.join(a.root, "root", "shared", "models")
    if not os.path.isdir(models):  # tools/test_arm64_qemu.sh copies them; an armhf root not
        shutil.copytree(os.path.join(SHARED, "models"), models)
    if a.build:
        build_tree(a.root, a.tree)
    else:  # the guest side of this script, as it is here
        shutil.copy2(os.path.abspath(__file__),
                     os.path.join(a.root, a.tree.lstrip("/"), "tools", "bench_arm.py"))
    if a.check:
        if a.arch not in CHECK_RUNS:
            sys.exit("bench_arm: --check is for --arch armhf (on aarch64, "
                     "tools/test_arm64_qemu.sh runs the model tests against LiteRT)")
        sys.exit(1 if check(a.root, a.tree, a.arch, a.models.split(","), a.check) else 0)
    runtimes = a.runtimes.split(",")
    if a.per_op:
        env = RUNTIMES[runtimes[0]][1] if runtimes[0].startswith("microdl") else {}
        for cpu in a.cpus.split(","):
            for m in a.models.split(","):
                per_op(a.root, a.tree, cpu, MODELS[m], env, a.arch)
        return
    for cpu in a.cpus.split(","):
        rows = []
        for m in a.models.split(","):
            c = {rt: measure(a.root, a.tree, cpu, rt, MODELS[m], a.runs, a.arch)
                 for rt in runtimes}
            c = {k: (v / 1e6 if v is not None else None) for k, v in c.items()}
            rows.append((LABELS[m], c))
            print(f"# {cpu} {LABELS[m]} " + " ".join(f"{k}={_fmt(v, '.3f')}" for k, v in c.items()),
                  file=sys.stderr, flush=True)
        head = ["model"] + runtimes
        if "microdl" in runtimes:
            head += [f"microdl / {rt}" for rt in runtimes if rt != "microdl"]
        print(f"\n{a.arch} {cpu}: instructions per invoke(), millions (one thread)")
        if a.markdown:
            print("| " + " | ".join(head) + " |")
            print("|" + "---|" * len(head))
        else:
            print("  ".join(f"{h:>22}" for h in head))
        for label, c in rows:
            cells = [label] + [_fmt(c[rt], ".2f") for rt in runtimes]
            if "microdl" in runtimes:
                cells += [_ratio(c["microdl"], c[rt]) for rt in runtimes
                          if rt != "microdl"]
            if a.markdown:
                print("| " + " | ".join(cells) + " |")
            else:
                print("  ".join(f"{x:>22}" for x in cells))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
