#!/usr/bin/env bash
# Builds microdl's C extension for an ARM root made by tools/test_arm64_qemu.sh
# (arm64) or the armhf recipe of tools/bench_arm.py, with the host's Debian cross
# compiler instead of the emulated one (seconds instead of about 20 minutes): copies
# this checkout's files (git ls-files, plus the Cython output microdl/runtime/_engine.c
# of a host build) to ROOT/root/<tree> and compiles every C source with the flags of
# setup.py (-O3 -fwrapv -std=c99 -fno-strict-aliasing -pthread), against the root's
# Python 3.11 and NumPy headers.  Then measure or test that tree in the root, e.g.
#
#     python setup.py build_ext --inplace -q          # host build: makes _engine.c
#     sudo bash tools/cross_build_arm.sh arm64 /tmp/roots/arm64 mdl-main
#     sudo python tools/bench_arm.py --root /tmp/roots/arm64 --tree /root/mdl-main --markdown
#
#     bash tools/cross_build_arm.sh ARCH(arm64|armhf) ROOT [TREE=mdl-main]
set -euo pipefail
arch="$1"; rootfs="$2"; tree="${3:-mdl-main}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
case "$arch" in
  arm64) cc=aarch64-linux-gnu-gcc; triple=aarch64-linux-gnu
         npi="$(ls -d "$rootfs"/root/venv/lib/python3.11/site-packages/numpy/_core/include)";;
  armhf) cc=arm-linux-gnueabihf-gcc; triple=arm-linux-gnueabihf
         npi="$rootfs/usr/lib/python3/dist-packages/numpy/core/include";;
  *) echo "arch must be arm64 or armhf" >&2; exit 2;;
esac
command -v "$cc" >/dev/null || { echo "$cc missing: apt-get install gcc-$triple" >&2; exit 1; }
[ -f "$repo/microdl/runtime/_engine.c" ] ||
  { echo "no microdl/runtime/_engine.c: run python setup.py build_ext --inplace first" >&2; exit 1; }
dst="$rootfs/root/$tree"
rm -rf "$dst"; mkdir -p "$dst"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
   xargs -0 cp --parents -t "$dst")
cp "$repo/microdl/runtime/_engine.c" "$dst/microdl/runtime/_engine.c"
objdir="$(mktemp -d)"; trap 'rm -rf "$objdir"' EXIT
flags=(-DNDEBUG -fwrapv -O3 -Wall -fPIC -DNPY_NO_DEPRECATED_API=NPY_1_7_API_VERSION
       -I"$dst/cext/include" -I"$npi" -I"$rootfs/usr/include/python3.11"
       -idirafter "$rootfs/usr/include" -std=c99 -fno-strict-aliasing -pthread)
objs=()
cd "$dst"
for f in microdl/runtime/_engine.c cext/src/*.c cext/src/ukernels/*.c; do
  o="$objdir/$(echo "$f" | tr / _).o"
  "$cc" "${flags[@]}" -c "$f" -o "$o" &
  objs+=("$o")
  while [ "$(jobs -r | wc -l)" -ge "$(nproc)" ]; do sleep 0.1; done
done
wait
so="$dst/microdl/runtime/_engine.cpython-311-$triple.so"
"$cc" -shared -pthread "${objs[@]}" -o "$so"
echo "built $so"
