"""The C core is portable C99: every file of cext/src and cext/src/ukernels compiles
without warnings for the targets microdl promises (aarch64 and 32-bit ARM Linux, as on
Raspberry Pi-class boards: Debian armhf's ARMv7 and Raspberry Pi OS's ARMv6, riscv64,
and x86-64 without the multi-versioned AVX2 clones), with no -march flag of microdl's
own (the ARMv6 case only sets that platform's compiler defaults).  Uses the Debian
cross compilers when present (.ci/run installs them); a compiler that is missing skips
its case."""
import glob
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = (sorted(glob.glob(os.path.join(ROOT, "cext", "src", "*.c"))) +
           sorted(glob.glob(os.path.join(ROOT, "cext", "src", "ukernels", "*.c"))))

TARGETS = [  # (compiler, extra flags)
    ("aarch64-linux-gnu-gcc", []),
    ("arm-linux-gnueabihf-gcc", []),  # NEON by a target pragma, chosen by AT_HWCAP
    # Raspberry Pi OS's ARMv6 + VFPv2 (the softfp ABI of Debian's armel compiler), and
    # the armel soft-float ABI, where no NEON code is built at all
    ("arm-linux-gnueabi-gcc", ["-march=armv6", "-mfpu=vfp", "-mfloat-abi=softfp", "-marm"]),
    ("arm-linux-gnueabi-gcc", []),
    ("riscv64-linux-gnu-gcc", []),    # no SIMD path at all: the portable C only
    ("gcc", ["-DMDL_NO_MULTIVERSION"]),  # the baseline build of the x86-64 clones
    ("gcc", ["-DMDL_NO_THREADS"]),       # no worker pool (platforms without pthreads)
]


@pytest.mark.parametrize("cc,flags", TARGETS, ids=[" ".join([c] + f) for c, f in TARGETS])
def test_c_core_compiles_cleanly(cc, flags, tmp_path):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed (apt-get install gcc-aarch64-linux-gnu "
                    f"gcc-arm-linux-gnueabihf gcc-arm-linux-gnueabi gcc-riscv64-linux-gnu)")
    assert SOURCES
    cmds = [[cc, "-std=c99", "-O2", "-Wall", "-Werror", "-pthread", *flags,
             "-I", os.path.join(ROOT, "cext", "include"), "-c", src,
             "-o", str(tmp_path / f"{k}.o")] for k, src in enumerate(SOURCES)]
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for c in cmds]
    for cmd, proc in zip(cmds, procs):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{' '.join(cmd)}\n{err}"


def test_build_never_targets_the_build_machine():
    with open(os.path.join(ROOT, "setup.py")) as f:
        setup = f.read()
    assert "-march" not in setup and "-mavx" not in setup and "-mcpu" not in setup
