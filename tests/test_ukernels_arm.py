"""The NEON microkernels of cext/src/ukernels/ (*-neon.c) against their portable -c twins,
and the operators' run-time NEON dispatch, on emulated ARM cores: aarch64 Cortex-A72
(ARMv8.0, Raspberry Pi 4) and Cortex-A76 (ARMv8.2 with the dot product, Raspberry Pi 5),
and 32-bit ARM: Cortex-A7 (ARMv7 with NEON, Raspberry Pi 2), Cortex-R5F (ARMv7 with
VFPv3-D16 and no NEON, Debian armhf's baseline) and ARM1176 (ARMv6 + VFPv2, no NEON:
Raspberry Pi Zero / 1).

tests/ukernel_harness/neon_harness.c is an XNNPACK-style tester in C: the NEON
requantization (mdl_rq4_apply_neon) against mdl_requantize_vec /
mdl_requantize_clamp_vec (the scalar gemmlowp double rounding, itself held to the numpy
reference by tests/test_ukernels.py and the model tests), and each NEON microkernel
against its twin over shapes just below, at and above its register tiles (patches 1..6
around the 2- and 4-patch tiles, channels around the 8- and 16-lane blocks, K odd and
even, padded and exact, 1..7 tap pairs, im2col geometries with edges and strides).  It
is built statically with the Debian cross compilers (the flags of setup.py's build,
-Wall -Werror, no -march / -mfpu: on 32-bit ARM the NEON code is compiled for fpu=neon
by its own target pragma) and run under qemu-user-static; all come from .ci/run's apt
line.  The harness prints what getauxval(AT_HWCAP) says (ASIMDDP on aarch64, NEON on
32-bit ARM), which must follow the emulated core, and the path the operators' one
dispatch rule (mdl_cpu_has_neon) takes; the dot-product (SDOT) microkernel is tested
where it is reported (Cortex-A76), the 32-bit NEON microkernels where NEON is.

tests/ukernel_harness/dispatch_probe.c links the whole C core and runs the operators
themselves (conv_s8_fast in the lanes form and the depthwise lanes form) against the
reference kernels: on a core without NEON it must print "neon 0" and finish (a NEON
instruction there would stop it with an illegal instruction).  The same ARMv6 binary
(arm-linux-gnueabi-gcc -march=armv6 -mfpu=vfp -mfloat-abi=softfp: Debian's armhf C
library needs ARMv7, so its armel one stands in for Raspberry Pi OS's ARMv6 one) runs
on ARM1176 through the portable path and on Cortex-A7 through NEON.  On an aarch64 host
the native compiler builds the aarch64 programs and they run once, natively."""
import os
import platform
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UK = os.path.join(ROOT, "cext", "src", "ukernels")
INCLUDE = os.path.join(ROOT, "cext", "include")
HARNESS = [os.path.join(ROOT, "tests", "ukernel_harness", "neon_harness.c")] + [
    os.path.join(UK, f) for f in (
        "s8-gemm-lanes16-c.c", "s8-gemm-lanes16-neon.c", "s8-gemm-lanes16-rq-neon.c",
        "s32-requant-rows-c.c", "s8-dwconv-lanes16-rq-c.c", "s8-dwconv-lanes16-rq-neon.c",
        "s8-im2col-pixel-c.c", "s8-im2col-row16-neon.c", "s8-pack-lanes16c4-c.c",
        "s8-pack-lanes16c4-neon.c", "s8-gemm-lanes16c4-rq-neondot.c",
        "s8-pack-lanes16c8-c.c", "s8-pack-lanes16c8-neon.c", "s8-gemm-lanes16c8-rq-neon.c",
        "s8-im2col-pixel8-neon.c", "s8-dwconv-lanes16c2-rq-neon.c",
        "s8-gemv-8c16-c.c", "s8-gemv-8c16-neon.c", "s8-vadd-x16-c.c",
        "s8-vadd-x16-neon.c")]
CORE = sorted(os.path.join(d, f) for d in (os.path.join(ROOT, "cext", "src"), UK)
              for f in os.listdir(d) if f.endswith(".c"))
PROBE = [os.path.join(ROOT, "tests", "ukernel_harness", "dispatch_probe.c")] + CORE
FLAGS = ["-std=c99", "-O3", "-fno-strict-aliasing", "-fwrapv", "-Wall", "-Werror",
         "-static"]
NATIVE = platform.machine() == "aarch64"
# build name -> (compiler, extra flags, qemu)
BUILDS = {
    "aarch64": ("cc" if NATIVE else "aarch64-linux-gnu-gcc", [], "qemu-aarch64-static"),
    "armhf": ("arm-linux-gnueabihf-gcc", [], "qemu-arm-static"),
    "armv6": ("arm-linux-gnueabi-gcc",
              ["-march=armv6", "-mfpu=vfp", "-mfloat-abi=softfp", "-marm"],
              "qemu-arm-static"),
}
# (build, core, has ASIMDDP / NEON)
HARNESS_RUNS = [("aarch64", "cortex-a72", 0), ("aarch64", "cortex-a76", 1),
                ("armhf", "cortex-a7", 1), ("armhf", "cortex-r5f", 0),
                ("armv6", "arm1176", 0), ("armv6", "cortex-a7", 1)]
PROBE_RUNS = [("aarch64", "cortex-a72", 1), ("armhf", "cortex-a7", 1),
              ("armhf", "cortex-r5f", 0), ("armv6", "arm1176", 0), ("armv6", "cortex-a7", 1)]
NEON = {"rq4-neon", "s8-gemm-lanes16-neon", "s8-gemm-lanes16-rq-neon",
        "s8-dwconv-lanes16-rq-neon", "s8-im2col-row16-neon", "s8-pack-lanes16c4-neon",
        "s8-pack-lanes16c8-neon", "s8-gemm-lanes16c8-rq-neon", "s8-im2col-pixel8-neon",
        "s8-dwconv-lanes16c2-rq-neon", "s8-gemv-8c16-neon", "s8-vadd-x16-neon"}


PROGRAMS = {"neon_harness": HARNESS, "dispatch_probe": PROBE}


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    """get(build, program) -> the static executable; every build whose tools are
    installed is started at once (the compilers run in parallel), each waited for when
    first asked."""
    tmp = tmp_path_factory.mktemp("arm")
    procs = {}
    for build, (cc, extra, qemu) in BUILDS.items():
        native = NATIVE and build == "aarch64"
        if any(shutil.which(t) is None for t in ([cc] if native else [cc, qemu])):
            continue
        for name, sources in PROGRAMS.items():
            exe = str(tmp / f"{name}-{build}")
            cmd = [cc, *FLAGS, *extra, "-pthread", "-I", INCLUDE, *sources, "-o", exe, "-lm"]
            procs[build, name] = (exe, subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))

    def get(build, name):
        if (build, name) not in procs:
            cc, _, qemu = BUILDS[build]
            pytest.skip(f"{cc} or {qemu} not installed (apt-get install "
                        f"gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf gcc-arm-linux-gnueabi "
                        f"qemu-user-static)")
        exe, proc = procs[build, name]
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        return exe
    yield get
    for _, proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _run(exe, build, cpu):
    if NATIVE and build == "aarch64":
        if cpu != "cortex-a72":
            pytest.skip("native aarch64 host: the aarch64 programs run once, on this core")
        cmd = [exe]
    else:
        cmd = [BUILDS[build][2], "-cpu", cpu, exe]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout}{r.stderr}"
    return r.stdout.splitlines()


@pytest.mark.parametrize("build,cpu,feature", HARNESS_RUNS,
                         ids=[f"{b}-{c}" for b, c, _ in HARNESS_RUNS])
def test_neon_microkernels_match_their_portable_twins(programs, build, cpu, feature):
    lines = _run(programs(build, "neon_harness"), build, cpu)
    arm64 = build == "aarch64"
    if not (NATIVE and arm64):
        assert lines[0] == f"hwcap {'asimddp' if arm64 else 'neon'} {feature}", lines[0]
    neon = arm64 or feature  # aarch64 always has Advanced SIMD
    assert lines[1] == f"dispatch {'neon' if neon else 'portable'}", lines[1]
    oks = [ln.split() for ln in lines if ln.startswith("ok ")]
    want = set(NEON) if neon else set()
    if arm64 and feature:  # the SDOT microkernel runs only where getauxval reports ASIMDDP
        want.add("s8-gemm-lanes16c4-rq-neondot")
    assert {o[1] for o in oks} == want, "\n".join(lines)
    assert all(int(o[2]) > 100 for o in oks), "\n".join(lines)
    assert not any(ln.startswith("FAIL") for ln in lines), "\n".join(lines)


@pytest.mark.parametrize("build,cpu,neon", PROBE_RUNS,
                         ids=[f"{b}-{c}" for b, c, _ in PROBE_RUNS])
def test_operators_dispatch_on_the_cpu_and_match_the_reference(programs, build, cpu, neon):
    lines = _run(programs(build, "dispatch_probe"), build, cpu)
    assert lines[0] == f"neon {neon}", "\n".join(lines)
    oks = {ln.split()[1]: int(ln.split()[2]) for ln in lines if ln.startswith("ok ")}
    assert set(oks) == {"conv_s8_fast", "depthwise_conv_s8_fast_lanes"}, "\n".join(lines)
    assert min(oks.values()) >= 100, "\n".join(lines)
    assert not any(ln.startswith("FAIL") for ln in lines), "\n".join(lines)
