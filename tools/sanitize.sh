#!/usr/bin/env bash
# Runs the runtime's tests against a build of the C core instrumented with
# AddressSanitizer and UndefinedBehaviorSanitizer (GCC), so that an out-of-bounds read
# or write, or undefined arithmetic, in a kernel fails loudly instead of passing by
# luck.  The instrumented extension is built in a scratch copy of the working tree
# (with ../shared linked beside it); the checkout's own build is left alone.
#
#     bash tools/sanitize.sh [pytest args...]      (default: the runtime test files)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/repo"
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
   xargs -0 cp --parents -t "$work/repo")
ln -s "$root/../shared" "$work/shared"
cd "$work/repo"
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
CFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined" \
  python setup.py build_ext --inplace -q >/dev/null 2>build.log || { cat build.log; exit 1; }
if [ "$#" -eq 0 ]; then
  set -- tests/test_conv_fast.py tests/test_speed_kernels.py tests/test_conv.py \
    tests/test_ukernels.py tests/test_ukernels_arm.py \
    tests/test_threads.py tests/test_models.py tests/test_pooling.py \
    tests/test_elementwise.py tests/test_activations.py tests/test_fully_connected.py \
    tests/test_data_ops.py tests/test_rearrange_ops.py tests/test_engine.py \
    tests/test_robustness.py tests/test_requantize_extremes.py tests/test_lut_ops.py \
    tests/test_compare_ops.py \
    tests/test_ops11b.py \
    tests/test_svdf.py \
    tests/test_lstm.py \
    tests/test_train_lstm.py \
    tests/test_keras_lstm.py \
    tests/test_chains.py tests/test_memory_modes.py \
    tests/test_ops11a.py \
    tests/test_convert_int16.py tests/test_sqrt_quantized.py \
    tests/test_control_flow.py
fi
# pytest captures only Python's sys.stdout/stderr here (--capture=sys), so a report the
# sanitizer runtime writes to file descriptor 2 reaches the log even when it ends the
# process (with fd-level capture an aborting process took its captured report with
# it).  ASan's reports also go to files (log_path), printed below; UBSan's do not (GCC
# 12's combined runtime wrote no UBSan log file: a signed overflow exited 1 silently).
mkdir -p "$work/reports"
status=0
LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$work/reports/asan" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  python -m pytest -q -p no:cacheprovider --capture=sys "$@" || status=$?
if compgen -G "$work/reports/*" >/dev/null; then
  echo "sanitize.sh: sanitizer reports:" >&2
  for f in "$work"/reports/*; do echo "---- $f" >&2; cat "$f" >&2; done
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
