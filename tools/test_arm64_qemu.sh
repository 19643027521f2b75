#!/usr/bin/env bash
# Runs microdl's runtime tests on aarch64 under qemu-user emulation: a Debian arm64
# root (debootstrap) with Python 3.11 and GCC, microdl built from this working tree
# with the aarch64 compiler (its NEON microkernels; the SDOT one where the core has the
# dot product), LiteRT's aarch64 wheel as the oracle.  Slow (on 2 shared cores: about
# 10 min to make the root once, 20 min for the emulated build, skipped when the tree is
# unchanged, 27 min for the default tests) and root only; not part of .ci/run.
#
#     sudo [CPU=cortex-a72|cortex-a76|max] bash tools/test_arm64_qemu.sh \
#         [ROOT_DIR=/tmp/roots/arm64] [pytest args...]
#
# CPU (default cortex-a72, Raspberry Pi 4, ARMv8.0) is the core qemu-aarch64-static
# emulates, passed as QEMU_CPU; cortex-a76 (Raspberry Pi 5, ARMv8.2) reports the dot
# product (AT_HWCAP ASIMDDP), so the SDOT microkernel runs there.  The script prints the
# core and that bit before the tests.
#
# pip inside the root verifies PyPI against this host's CA bundle (copied to
# ROOT/root/ca.crt: a TLS-intercepting proxy's CA is in it), and the chroot starts with
# a clean environment: the host's REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE name
# /etc/ssl/certs/ca-certificates.crt, which inside the root is Debian's own bundle
# without that CA, and requests prefers them to PIP_CERT ("No matching distribution").
# If pip still fails, it is retried once with PyPI's two hosts trusted
# (--trusted-host, with a warning); MICRODL_PIP_TRUST=1 trusts them from the start.
# The venv's packages are installed once (ROOT/root/.microdl-deps records the list).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
rootfs="${1:-/tmp/roots/arm64}"
shift || true
cpu="${CPU:-cortex-a72}"
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -x /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
  apt-get install -y -qq "${need[@]}" >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
# Let the kernel run aarch64 binaries through the static emulator (F: opened now, so
# it also works inside the chroot).  An entry without F (binfmt-support's) is replaced.
mountpoint -q /proc/sys/fs/binfmt_misc ||
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
if [ -e $entry ] && ! grep -q '^flags:.*F' $entry; then echo -1 > $entry; fi
if [ ! -e $entry ]; then
  sed 's#:[^:]*:[A-Z]*$#:/usr/bin/qemu-aarch64-static:F#' \
    /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
fi
if [ ! -x "$rootfs/usr/bin/python3" ]; then
  mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources \
            2>/dev/null || true)"
  debootstrap --arch=arm64 --variant=minbase \
    --include=python3,python3-dev,python3-venv,python3-pip,gcc,libc6-dev \
    bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}"
fi
mountpoint -q "$rootfs/proc" || mount -t proc proc "$rootfs/proc"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/root/ca.crt"
# The tree is copied over the last one with its timestamps (cp -p), so an unchanged
# tree is not built again (the emulated build takes about 20 min); CLEAN=1 starts afresh.
[ "${CLEAN:-0}" = 1 ] && rm -rf "$rootfs/root/microdl"
rm -rf "$rootfs/root/shared"
mkdir -p "$rootfs/root/microdl"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
   xargs -0 cp -p --parents -t "$rootfs/root/microdl")
cp -r "$repo/../shared" "$rootfs/root/shared"
tests="${*:-tests/test_models.py tests/test_threads.py tests/test_conv_fast.py \
tests/test_speed_kernels.py tests/test_conv.py tests/test_pooling.py \
tests/test_elementwise.py tests/test_fully_connected.py tests/test_activations.py \
tests/test_data_ops.py tests/test_engine.py tests/test_robustness.py}"
# TFLite Micro (person_detect's oracle) has no aarch64 wheel: its Python runtime is a
# shim forwarding to this host's tflite_micro (tools/host_oracle.py), served on a
# socket inside the root, when the host has it.
host_python="${PYTHON:-python3}"
oracle_env=""
if "$host_python" -c 'import tflite_micro.python.tflite_micro.runtime' 2>/dev/null; then
  mkdir -p "$rootfs/tmp"
  "$host_python" "$repo/tools/host_oracle.py" serve "$rootfs/tmp/mdl-oracle.sock" \
    "$rootfs" > "$rootfs/tmp/mdl-oracle.log" 2>&1 &
  oracle_pid=$!
  trap 'kill $oracle_pid 2>/dev/null || true' EXIT
  for _ in $(seq 50); do [ -S "$rootfs/tmp/mdl-oracle.sock" ] && break; sleep 0.2; done
  oracle_env="MICRODL_HOST_ORACLE=/tmp/mdl-oracle.sock"
else
  echo "test_arm64_qemu: no tflite_micro in $host_python on this host: the" \
       "person_detect tests will fail" >&2
fi
trust=""
if [ "${MICRODL_PIP_TRUST:-0}" = 1 ]; then
  trust="pypi.org files.pythonhosted.org"
fi
chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  QEMU_CPU="$cpu" $oracle_env PIP_CERT=/root/ca.crt SSL_CERT_FILE=/root/ca.crt \
  REQUESTS_CA_BUNDLE=/root/ca.crt PIP_TRUSTED_HOST="$trust" \
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 \
  /bin/bash -euo pipefail -c "
  cd /root
  [ -d venv ] || python3 -m venv venv
  . venv/bin/activate
  deps=\"'setuptools>=77' wheel 'cython>=3' 'numpy>=1.23' flatbuffers tflite tqdm pytest
    hypothesis pillow ai-edge-litert\"
  if [ \"\$(cat .microdl-deps 2>/dev/null)\" != \"\$deps\" ]; then
    eval pip install -q \$deps || {
      echo 'test_arm64_qemu: pip failed; again with --trusted-host pypi.org' \
           '--trusted-host files.pythonhosted.org (TLS not verified for them)' >&2
      eval pip install -q --trusted-host pypi.org --trusted-host files.pythonhosted.org \$deps
    }
    echo \"\$deps\" > .microdl-deps
  fi
  cd microdl
  python -c 'from tflite_micro.python.tflite_micro.runtime import Interpreter as I
assert I.__module__ != \"microdl_host_oracle\"' 2>/dev/null ||
    python tools/host_oracle.py install \
      \"\$(python -c 'import site; print(site.getsitepackages()[0])')\" tflm
  # distutils compares the extension with its .c/.pyx sources only: a newer header
  # (or any newer file of the C core) forces the rebuild
  for so in microdl/runtime/_engine*.so; do
    if [ -e \"\$so\" ] && [ -n \"\$(find cext setup.py microdl/runtime/_engine.pyx \\
          -newer \"\$so\" | head -1)\" ]; then rm -rf \"\$so\" build; fi
  done
  python setup.py build_ext --inplace -q >/dev/null
  python -c '
import ctypes, platform
from microdl.runtime._engine import build_info
hwcap = ctypes.CDLL(None).getauxval(16)  # AT_HWCAP; ASIMDDP is bit 20 on aarch64
print(\"machine:\", platform.machine(), \"QEMU_CPU:\", \"$cpu\",
      \"HWCAP asimddp:\", (hwcap >> 20) & 1, \"microdl uses NEON:\",
      build_info()[\"cpu_uses_neon\"])'
  start=\$(date +%s)
  rc=0
  python -m pytest -q -p no:cacheprovider $tests || rc=\$?
  echo \"cpu $cpu: pytest exit \$rc after \$(( \$(date +%s) - start )) s\"
  exit \$rc"
