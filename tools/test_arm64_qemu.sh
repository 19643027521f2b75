#!/usr/bin/env bash
# Runs microdl's runtime tests on aarch64 under qemu-user emulation: a Debian arm64
# root (debootstrap) with Python 3.11 and GCC, microdl built from this working tree
# with the aarch64 compiler (portable C paths, no x86 intrinsics), LiteRT's aarch64
# wheel as the oracle.  Slow (about 10 min to make the root once, 7 min of tests) and
# root only; not part of .ci/run.
#
#     sudo bash tools/test_arm64_qemu.sh [ROOT_DIR=/tmp/arm64] [pytest args...]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
rootfs="${1:-/tmp/arm64}"
shift || true
apt-get install -y -qq debootstrap qemu-user-static >/dev/null
# Let the kernel run aarch64 binaries through the static emulator (F: opened now, so
# it also works inside the chroot).
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  mountpoint -q /proc/sys/fs/binfmt_misc ||
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  sed 's#:[^:]*:[A-Z]*$#:/usr/bin/qemu-aarch64-static:F#' \
    /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
fi
if [ ! -x "$rootfs/usr/bin/python3" ]; then
  mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  debootstrap --arch=arm64 --variant=minbase \
    --include=python3,python3-dev,python3-venv,python3-pip,gcc,libc6-dev \
    bookworm "$rootfs" "$mirror"
fi
mountpoint -q "$rootfs/proc" || mount -t proc proc "$rootfs/proc"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/root/ca.crt"
rm -rf "$rootfs/root/microdl" "$rootfs/root/shared"
mkdir -p "$rootfs/root/microdl"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
   xargs -0 cp --parents -t "$rootfs/root/microdl")
cp -r "$repo/../shared" "$rootfs/root/shared"
tests="${*:-tests/test_models.py tests/test_threads.py tests/test_conv_fast.py \
tests/test_speed_kernels.py tests/test_conv.py tests/test_pooling.py \
tests/test_elementwise.py tests/test_fully_connected.py tests/test_activations.py \
tests/test_data_ops.py tests/test_engine.py tests/test_robustness.py}"
chroot "$rootfs" /bin/bash -euo pipefail -c "
  export PIP_CERT=/root/ca.crt SSL_CERT_FILE=/root/ca.crt PIP_FIND_LINKS=
  cd /root
  [ -d venv ] || python3 -m venv venv
  . venv/bin/activate
  pip install -q 'cython>=3' 'numpy>=1.23' flatbuffers tflite tqdm pytest hypothesis \
    pillow ai-edge-litert
  cd microdl
  python setup.py build_ext --inplace -q >/dev/null
  python -c 'import platform; print(\"machine:\", platform.machine())'
  python -m pytest -q -p no:cacheprovider $tests"
