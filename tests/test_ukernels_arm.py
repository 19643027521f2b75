"""The aarch64 NEON microkernels of cext/src/ukernels/ (*-neon.c) against their
portable -c twins, on emulated Cortex-A72 (ARMv8.0, Raspberry Pi 4) and Cortex-A76
(ARMv8.2 with the dot product, Raspberry Pi 5) cores.

tests/ukernel_harness/neon_harness.c is an XNNPACK-style tester in C: the NEON
requantization (mdl_rq4_apply_neon) against mdl_requantize_vec /
mdl_requantize_clamp_vec (the scalar gemmlowp double rounding, itself held to the numpy
reference by tests/test_ukernels.py and the model tests), and each NEON microkernel
against its twin over shapes just below, at and above its register tiles (patches 1..6
around the 2- and 4-patch tiles, channels around the 8- and 16-lane blocks, K odd and
even, padded and exact, 1..7 tap pairs, im2col geometries with edges and strides).  It is built statically with the Debian cross
compiler aarch64-linux-gnu-gcc (the flags of setup.py's build, -Wall -Werror) and run
under qemu-aarch64-static; both come from .ci/run's apt line.  The harness also prints
what getauxval(AT_HWCAP) says about ASIMDDP, which must follow the emulated core; the
dot-product (SDOT) microkernel is tested where it is reported (Cortex-A76).  On
an aarch64 host the native compiler builds it and it runs once, natively."""
import os
import platform
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UK = os.path.join(ROOT, "cext", "src", "ukernels")
SOURCES = [os.path.join(ROOT, "tests", "ukernel_harness", "neon_harness.c")] + [
    os.path.join(UK, f) for f in (
        "s8-gemm-lanes16-c.c", "s8-gemm-lanes16-neon.c", "s8-gemm-lanes16-rq-neon.c",
        "s32-requant-rows-c.c", "s8-dwconv-lanes16-rq-c.c", "s8-dwconv-lanes16-rq-neon.c",
        "s8-im2col-pixel-c.c", "s8-im2col-row16-neon.c", "s8-pack-lanes16c4-c.c",
        "s8-pack-lanes16c4-neon.c", "s8-gemm-lanes16c4-rq-neondot.c",
        "s8-pack-lanes16c8-c.c", "s8-pack-lanes16c8-neon.c", "s8-gemm-lanes16c8-rq-neon.c",
        "s8-im2col-pixel8-neon.c", "s8-dwconv-lanes16c2-rq-neon.c")]
FLAGS = ["-std=c99", "-O3", "-fno-strict-aliasing", "-fwrapv", "-Wall", "-Werror",
         "-static"]
NATIVE = platform.machine() == "aarch64"
CC = "cc" if NATIVE else "aarch64-linux-gnu-gcc"
QEMU = "qemu-aarch64-static"
CPUS = [("cortex-a72", 0), ("cortex-a76", 1)]  # (core, has ASIMDDP)


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    missing = [t for t in ([CC] if NATIVE else [CC, QEMU]) if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install "
                    f"gcc-aarch64-linux-gnu qemu-user-static)")
    exe = str(tmp_path_factory.mktemp("neon") / "neon_harness")
    r = subprocess.run([CC, *FLAGS, "-I", os.path.join(ROOT, "cext", "include"),
                        *SOURCES, "-o", exe], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return exe


@pytest.mark.parametrize("cpu,dotprod", CPUS, ids=[c for c, _ in CPUS])
def test_neon_microkernels_match_their_portable_twins(harness, cpu, dotprod):
    if NATIVE:
        if cpu != CPUS[0][0]:
            pytest.skip("native aarch64 host: the harness runs once, on this core")
        cmd = [harness]
    else:
        cmd = [QEMU, "-cpu", cpu, harness]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    lines = r.stdout.splitlines()
    assert r.returncode == 0, r.stdout + r.stderr
    if not NATIVE:
        assert lines[0] == f"hwcap asimddp {dotprod}", lines[0]
    oks = [ln.split() for ln in lines if ln.startswith("ok ")]
    names = {o[1] for o in oks}
    want = {"rq4-neon", "s8-gemm-lanes16-neon", "s8-gemm-lanes16-rq-neon",
            "s8-dwconv-lanes16-rq-neon", "s8-im2col-row16-neon", "s8-pack-lanes16c4-neon",
            "s8-pack-lanes16c8-neon", "s8-gemm-lanes16c8-rq-neon", "s8-im2col-pixel8-neon",
            "s8-dwconv-lanes16c2-rq-neon"}
    if dotprod:  # the SDOT microkernel runs only where getauxval reports ASIMDDP
        want.add("s8-gemm-lanes16c4-rq-neondot")
    assert names == want, r.stdout
    assert all(int(o[2]) > 100 for o in oks), r.stdout
    assert not any(ln.startswith("FAIL") for ln in lines), r.stdout
