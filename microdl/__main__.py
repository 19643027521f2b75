"""`python -m microdl [--version]`: the version, where the package is installed, and
how its C core was built (which SIMD paths are compiled and which this CPU will use)."""
from __future__ import annotations

import argparse
import os
import platform
import sys

import numpy as np

import microdl
from microdl.runtime._engine import build_info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m microdl", description=__doc__.split("\n")[0])
    ap.add_argument("--version", action="store_true", help="print the version only")
    args = ap.parse_args(argv)
    if args.version:
        print(microdl.__version__)
        return 0
    info = build_info()
    simd = []
    if info["avx2_clones"] == "1" or info["avx2_intrinsics"] == "1":
        simd.append("AVX2 (" + ("used on this CPU" if info["cpu_uses_avx2"]
                                else "compiled, not used: this CPU lacks AVX2") + ")")
    if info.get("neon_intrinsics") == "1":
        simd.append("NEON (" + ("used on this CPU" if info["cpu_uses_neon"]
                                else "compiled, not used: this CPU lacks NEON") + ")")
    if info["avx2_intrinsics"] == "1":
        simd.append("AVX512-VNNI (" + ("used on this CPU" if info["cpu_uses_avx512vnni"]
                                       else "compiled, not used: this CPU lacks it") + ")")
    rows = [("microdl", microdl.__version__),
            ("installed at", os.path.dirname(os.path.abspath(microdl.__file__))),
            ("python", f"{platform.python_implementation()} {platform.python_version()} "
                       f"({platform.machine()})"),
            ("numpy", np.__version__),
            ("C core", f"{info['arch']}, {info['compiler']}, worker threads "
                       f"{'on' if info['threads'] == '1' else 'off'}"),
            ("SIMD paths", ", ".join(simd) if simd else "portable C only")]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
