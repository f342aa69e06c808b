#!/usr/bin/env bash
# Compiles gorgonia's CUDA kernels ("cuda modules/src/*.cu" of the gorgonia
# module in go.mod) and the package's own (nn/cuda/*.cu) to PTX with the unpacked nvcc 11.8 of fetch.sh, and
# writes nn/device_cuda_modules.go (cuda tag only, ignored by git), which
# registers them with gorgonia at start-up. Without that file every
# gorgonia op falls back to CPU code on device memory.
#
# The PTX targets a virtual architecture (compute_90 by default: H100 and
# H200); the driver compiles it for the actual GPU when the module loads, so
# it also runs on any newer GPU. The flags are those of gorgonia's cudagen
# (IEEE division and square root, no fused multiply-add, no flush to zero).
#
# Usage: scripts/cuda/gen-modules.sh [ARCH]     (ARCH: 90 by default)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
arch=${1:-90}
cd "$root"
nvcc=$gpu/cuda118/bin/nvcc
[ -x "$nvcc" ] || die "no nvcc in $gpu/cuda118: run scripts/cuda/fetch.sh first"
host=$(command -v g++ || true)
[ -n "$host" ] || die "nvcc needs a host C++ compiler (g++) to preprocess the kernels"
gorgonia=$(go list -m -f '{{.Dir}}' gorgonia.org/gorgonia)
[ -d "$gorgonia/cuda modules/src" ] || die "no CUDA kernels in $gorgonia (run go mod download)"
ptx=$gpu/ptx/compute_$arch
rm -rf "$ptx"
mkdir -p "$ptx"
for cu in "$gorgonia/cuda modules/src"/*.cu; do
	name=$(basename "$cu" .cu)
	# g++ 12 is newer than nvcc 11.8 supports for host code; only its
	# preprocessor is used here, for the device side.
	"$nvcc" -ccbin "$host" -allow-unsupported-compiler -arch="compute_$arch" -ptx \
		-fmad=false -ftz=false -prec-div=true -prec-sqrt=true \
		-o "$ptx/$name.ptx" "$cu"
done
# the package's own kernels, with the same flags
for cu in nn/cuda/*.cu; do
	"$nvcc" -ccbin "$host" -allow-unsupported-compiler -arch="compute_$arch" -ptx \
		-fmad=false -ftz=false -prec-div=true -prec-sqrt=true \
		-o "$ptx/$(basename "$cu" .cu).ptx" "$cu"
done
go run scripts/cuda/ptxgen.go -pkg nn -arch "compute_$arch, $(gorgonia=${gorgonia##*/}; echo "$gorgonia")" \
	-o nn/device_cuda_modules.go "$ptx"/*.ptx
say "$(ls "$ptx" | wc -l) modules, $(grep -c '\.entry' "$ptx"/*.ptx | awk -F: '{s+=$2} END {print s}') kernels for compute_$arch in nn/device_cuda_modules.go ($(du -k nn/device_cuda_modules.go | cut -f1) KiB)"
