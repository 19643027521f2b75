#!/usr/bin/env bash
# Runs microdl's kernel and model tests on 32-bit ARM (Debian armhf: ARMv7 + VFPv3-D16,
# the NEON microkernels behind the AT_HWCAP check) under qemu-user emulation: a Debian
# armhf root (debootstrap) with Python 3.11, GCC and Debian's NumPy 1.24 (PyPI has no
# armv7l NumPy wheel) and Pillow, microdl built from this working tree inside it.
#
#     sudo [CPU=cortex-a7|cortex-a15|cortex-r5f] bash tools/test_armhf_qemu.sh \
#         [ROOT_DIR=/tmp/roots/armhf] [pytest args...]
#
# CPU (default cortex-a7, Raspberry Pi 2) is the core qemu-arm-static emulates through
# binfmt_misc, passed as QEMU_CPU; cortex-r5f has no NEON, so there the portable C path
# runs.  The script prints the core, the AT_HWCAP NEON bit and microdl's dispatch.
#
# The oracle: no LiteRT (nor tflite-runtime, nor TFLite Micro) wheel exists for armv7l,
# so the tests' LiteRT and TFLite Micro are this host's (x86-64) ai_edge_litert and
# tflite_micro, served by tools/host_oracle.py on a socket inside the root and installed
# in the root's venv as forwarding shims: microdl runs on the emulated core, the
# reference kernels (BUILTIN_REF) run unchanged on the host.  The numpy-reference tests
# (tests/test_ukernels.py against microdl.reference, the TFLite Micro golden files)
# need no oracle.  tests/test_ukernels_arm.py runs on the host (cross compilers and
# qemu-user-static), not here.  Strict mode is off (-rs lists every skip).  Making the
# root takes about 15 min once, the emulated build about 20 min (skipped when the tree
# is unchanged).
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
rootfs="${1:-/tmp/roots/armhf}"
shift || true
cpu="${CPU:-cortex-a7}"
host_python="${PYTHON:-python3}"
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -x /usr/bin/qemu-arm-static ] || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
  apt-get install -y -qq "${need[@]}" >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
mountpoint -q /proc/sys/fs/binfmt_misc ||
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
entry=/proc/sys/fs/binfmt_misc/qemu-arm
if [ -e $entry ] && ! grep -q '^flags:.*F' $entry; then echo -1 > $entry; fi
if [ ! -e $entry ]; then
  sed 's#:[^:]*:[A-Z]*$#:/usr/bin/qemu-arm-static:F#' \
    /usr/lib/binfmt.d/qemu-arm.conf > /proc/sys/fs/binfmt_misc/register
fi
if [ ! -x "$rootfs/usr/bin/python3" ]; then
  mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources \
            2>/dev/null || true)"
  debootstrap --arch=armhf --variant=minbase \
    --include=python3,python3-dev,python3-venv,python3-pip,gcc,libc6-dev,python3-numpy,python3-pil \
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
tests="${*:-tests/test_ukernels.py tests/test_int16_golden_act.py \
tests/test_int16_golden_data.py tests/test_int16_golden_conv.py \
tests/test_int16_golden_elementwise.py tests/test_models.py tests/test_conv_fast.py \
tests/test_speed_kernels.py tests/test_conv.py tests/test_pooling.py \
tests/test_elementwise.py tests/test_fully_connected.py tests/test_activations.py \
tests/test_data_ops.py tests/test_engine.py tests/test_robustness.py tests/test_threads.py}"
trust=""
if [ "${MICRODL_PIP_TRUST:-0}" = 1 ]; then
  trust="pypi.org files.pythonhosted.org"
fi
chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  PIP_CERT=/root/ca.crt SSL_CERT_FILE=/root/ca.crt REQUESTS_CA_BUNDLE=/root/ca.crt \
  PIP_TRUSTED_HOST="$trust" \
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 /bin/bash -euo pipefail -c "
  cd /root
  [ -d venv ] || python3 -m venv --system-site-packages venv
  deps=\"--only-binary :all: 'setuptools>=77' wheel 'Cython>=3.0' flatbuffers tflite
      tqdm pytest hypothesis\"
  if [ \"\$(cat .microdl-deps 2>/dev/null)\" != \"\$deps\" ]; then
    python3 -c 'import PIL' 2>/dev/null ||
      { apt-get update -qq && apt-get install -y -qq python3-pil >/dev/null; }
    eval venv/bin/pip install -q \$deps || {
      echo 'test_armhf_qemu: pip failed; again with --trusted-host pypi.org' \
           '--trusted-host files.pythonhosted.org (TLS not verified for them)' >&2
      eval venv/bin/pip install -q --trusted-host pypi.org \
        --trusted-host files.pythonhosted.org \$deps
    }
    echo \"\$deps\" > .microdl-deps
  fi"
# the oracles: the root has no ai_edge_litert nor tflite_micro, so both are shims that
# forward to this host's (tools/host_oracle.py), served on a socket inside the root
site="$(echo "$rootfs"/root/venv/lib/python3*/site-packages)"
"$host_python" "$repo/tools/host_oracle.py" install "$site" litert
oracle_env=""
if "$host_python" -c 'import ai_edge_litert.interpreter' 2>/dev/null; then
  mkdir -p "$rootfs/tmp"
  "$host_python" "$repo/tools/host_oracle.py" serve "$rootfs/tmp/mdl-oracle.sock" \
    "$rootfs" > "$rootfs/tmp/mdl-oracle.log" 2>&1 &
  oracle_pid=$!
  trap 'kill $oracle_pid 2>/dev/null || true' EXIT
  for _ in $(seq 50); do [ -S "$rootfs/tmp/mdl-oracle.sock" ] && break; sleep 0.2; done
  oracle_env="MICRODL_HOST_ORACLE=/tmp/mdl-oracle.sock"
else
  echo "test_armhf_qemu: no ai_edge_litert in $host_python on this host: the tests" \
       "that need LiteRT will fail" >&2
fi
rc=0
chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  QEMU_CPU="$cpu" $oracle_env /bin/bash -euo pipefail -c "
  cd /root/microdl
  # distutils compares the extension with its .c/.pyx sources only: a newer header
  # (or any newer file of the C core) forces the rebuild
  for so in microdl/runtime/_engine*.so; do
    if [ -e \"\$so\" ] && [ -n \"\$(find cext setup.py microdl/runtime/_engine.pyx \\
          -newer \"\$so\" | head -1)\" ]; then rm -rf \"\$so\" build; fi
  done
  /root/venv/bin/python setup.py build_ext --inplace -q >/dev/null
  /root/venv/bin/python -c '
import ctypes, platform
from microdl.runtime._engine import build_info
hwcap = ctypes.CDLL(None).getauxval(16)  # AT_HWCAP; HWCAP_NEON is bit 12 on 32-bit ARM
print(\"machine:\", platform.machine(), \"QEMU_CPU:\", \"$cpu\", \"HWCAP neon:\",
      (hwcap >> 12) & 1, \"microdl uses NEON:\", build_info()[\"cpu_uses_neon\"])'
  start=\$(date +%s)
  rc=0
  /root/venv/bin/python -m pytest -q -rs -p no:cacheprovider $tests || rc=\$?
  echo \"cpu $cpu: pytest exit \$rc after \$(( \$(date +%s) - start )) s\"
  exit \$rc" || rc=$?
exit $rc
