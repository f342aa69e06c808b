#!/usr/bin/env bash
# Tests the bundle of pack.sh here, as far as a machine without a GPU allows:
# in a copy of the working tree as the device tool sends it (tracked and
# untracked-not-ignored files, plus .gpu/device), with no Go on the PATH, an
# empty module cache and no module proxy, it
#   1. builds the probe with the bundle's toolchain and vendored modules
#      (device-build.sh; the gpucheck build needs cuDNN's headers, which only
#      the device has), linked against the stand-ins of stubs.sh;
#   2. runs that probe, and the bundle's, against the stand-ins that report
#      no device: both must say so and fail cleanly;
#   3. runs scripts/gpu-check.sh on a small batch: every part must end with
#      a result line, the CPU parts must pass, and the last line must be
#      ratio_gpu_go_over_torch=nan;
#   4. runs it again with stand-ins for the NVIDIA libraries and an empty
#      cudnn.h, so that its build part runs: the carried toolchain must
#      compile everything up to gorgonia.org/cu/dnn, which must stop at the
#      cuDNN names that the summary then lists.
# PYTHON names a python3 with PyTorch (default /usr/bin/python3).
#
# Usage: scripts/cuda/test-bundle.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -f "$gpu/device/MANIFEST" ] || die "no bundle: run scripts/cuda/pack.sh first"
sim=$(mktemp -d /tmp/gpu-sim.XXXXXX)
trap 'rm -rf "$sim"' EXIT
mkdir -p "$sim/repo/.gpu" "$sim/home"
(cd "$root" && git ls-files -co --exclude-standard -z | tar cf - --null -T -) | tar xf - -C "$sim/repo"
cp -r "$gpu/device" "$sim/repo/.gpu/device"
stubs=$gpu/stubs
clean=(env -i PATH=/usr/bin:/bin HOME="$sim/home" GOPROXY=off GOMODCACHE="$sim/modcache" TMPDIR=/tmp)
cd "$sim/repo"
! "${clean[@]}" sh -c 'command -v go' >/dev/null || die "go is still on the PATH"

say "1. probe built offline with the bundle"
start=$SECONDS
"${clean[@]}" LIBDIR="$stubs" scripts/cuda/device-build.sh "$sim/work" "$sim/probe" scripts/cuda/probe.go
say "   built in $((SECONDS - start))s"
[ -f vendor/modules.txt ] && [ -f nn/device_cuda_modules.go ] || die "device-build.sh left no vendor/ or kernels"
rm -rf vendor nn/device_cuda_modules.go

say "2. probes on a machine whose driver finds no GPU"
for p in "$sim/probe" .gpu/device/bin/cudaprobe; do
	if got=$(LD_LIBRARY_PATH="$stubs/nodevice" "$p" .gpu/device/ptx); then
		die "$p succeeded without a GPU: $got"
	fi
	echo "$got"
	grep -q 'probe: FAILED: cuInit: NoDevice' <<<"$got" || die "$p did not report the missing device"
done

say "3. gpu-check.sh without a GPU"
"${clean[@]}" LD_LIBRARY_PATH="$stubs/nodevice" PYTHON="${PYTHON:-/usr/bin/python3}" GPU_CHECK_BATCH=16 GPU_CHECK_SIZE=16 \
	GPU_CHECK_BUDGET=300 scripts/gpu-check.sh "$sim/out" >"$sim/log" 2>&1 || die "gpu-check.sh failed: $(tail -20 "$sim/log")"
cat "$sim/out/summary.txt"
for key in gpu= probe=fail torch_ref_step=failed 'build=failed reason=missing-libraries' correctness=fail go_cpu_ref_step; do
	grep -q "^$key" "$sim/out/summary.txt" || die "summary has no line $key"
done
[ "$(tail -1 "$sim/log")" = "ratio_gpu_go_over_torch=nan" ] || die "last line: $(tail -1 "$sim/log")"
ls "$sim/out"

say "4. gpu-check.sh's build on the device, with stand-in libraries and an empty cudnn.h"
# Everything up to gorgonia.org/cu/dnn compiles for real; cu/dnn must then
# fail on the cuDNN names, which the summary lists.
fake=$sim/fake
mkdir -p "$fake/lib" "$fake/include"
cp "$stubs/nodevice/"* "$fake/lib/"
cp "$stubs/nodevice/libcuda.so.1" "$fake/lib/libcudnn.so.9"
printf '#include <cuda_runtime_api.h>\n' >"$fake/include/cudnn.h"
"${clean[@]}" LD_LIBRARY_PATH="$stubs/nodevice" PYTHON="${PYTHON:-/usr/bin/python3}" GPU_CHECK_LIB_ROOTS="$fake" \
	GPU_CHECK_BATCH=16 GPU_CHECK_SIZE=16 GPU_CHECK_BUDGET=400 scripts/gpu-check.sh "$sim/out2" >"$sim/log2" 2>&1 ||
	die "gpu-check.sh failed: $(tail -20 "$sim/log2")"
grep '^build=\|^cudnn_headers=' "$sim/out2/summary.txt"
grep -q '^build=failed .*missing_c_names=.*cudnnCreate' "$sim/out2/summary.txt" || die "the build did not stop at cuDNN's names"
[ -f "$sim/out2/build.log" ] && [ -f "$sim/out2/cudnn-include.tar.gz" ] || die "no build.log or cudnn-include.tar.gz"
if grep -E '^(gorgonia.org/cu|gorgonia.org/cu/blas)$' -A3 "$sim/out2/build.log" | grep -q error; then
	die "gorgonia.org/cu or cu/blas failed to build"
fi
[ ! -d vendor ] && [ ! -f nn/device_cuda_modules.go ] || die "gpu-check.sh changed the tree it ran in"
say "ok"
