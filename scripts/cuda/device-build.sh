#!/usr/bin/env bash
# Builds a cuda-tagged program offline from the bundle of pack.sh, with the
# bundle's Go toolchain and vendored modules: what gpu-check.sh does on a GPU
# machine that has no Go. Run it in the repository root; it adds vendor/ and
# nn/device_cuda_modules.go to the tree it runs in, so run it in a copy
# (a device machine's working tree is one).
#
# Usage: scripts/cuda/device-build.sh WORKDIR OUTPUT TARGET [CUDNN_INCLUDE_DIR]
#   WORKDIR  scratch folder: toolchain, headers, build cache
#   TARGET   ./cmd/gpucheck (needs cuDNN's headers) or scripts/cuda/probe.go
# Environment: CC (default gcc), LIBDIR (a folder holding libcuda.so,
# libcublas.so and libcudnn.so to link against; default WORKDIR/lib),
# GPU_CHECK_BUNDLE (default .gpu/device).
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: device-build.sh WORKDIR OUTPUT TARGET [CUDNN_INCLUDE_DIR]" >&2; exit 2; }
work=$1 output=$2 target=$3 cudnn=${4:-}
root=$PWD
# A vendor/ folder in a checkout would switch its default build to vendored
# modules: only ever build in a copy of the tree.
if [ -d .git ] && [ -z "${DEVICE_BUILD_IN_CHECKOUT:-}" ]; then
	echo "device-build.sh: $root is a git checkout: run this in a copy of the tree (scripts/cuda/test-bundle.sh makes one)" >&2
	exit 2
fi
bundle=${GPU_CHECK_BUNDLE:-$root/.gpu/device}
mkdir -p "$work"
# untar FILE.tar.xz DIR, with Python where xz is missing
untar() {
	if command -v xz >/dev/null; then
		tar xJf "$1" -C "$2"
	else
		"${PYTHON:-python3}" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
	fi
}
[ -x "$work/go/bin/go" ] || untar "$bundle/go.tar.xz" "$work"
[ -f "$work/include/cuda.h" ] || untar "$bundle/cuda118-include.tar.xz" "$work"
if [ ! -f vendor/modules.txt ] || ! cmp -s "$bundle/go.cuda.mod" "$work/vendored.mod"; then
	rm -rf vendor
	untar "$bundle/vendor.tar.xz" "$root"
	cp "$bundle/go.cuda.mod" "$work/vendored.mod"
fi
cp "$bundle/device_cuda_modules.go" nn/
# cuDNN's headers first: the 11.8 folder has none.
env PATH="$work/go/bin:$PATH" GOROOT="$work/go" GOTOOLCHAIN=local GOFLAGS="-mod=vendor -buildvcs=false" \
	GOPROXY=off GOSUMDB=off GOCACHE="$work/gocache" GOPATH="$work/gopath" CC="${CC:-gcc}" CGO_ENABLED=1 \
	CGO_CFLAGS="${cudnn:+-I$cudnn }-I$work/include -Wno-deprecated-declarations" CGO_LDFLAGS="-L${LIBDIR:-$work/lib}" \
	go build -modfile="$bundle/go.cuda.mod" -tags cuda -trimpath -o "$output" "$target"
