#!/usr/bin/env bash
# Prepares .gpu/device/, the one folder that scripts/gpu-check.sh needs on a
# GPU machine that has no Go toolchain and no network. Carry it with the
# working tree (the device tool's carry: [".gpu/device"]); it holds about
# 35 MB:
#   go.tar.xz              this machine's Go toolchain, trimmed to what
#                          `go build` needs (no tests, no cmd sources)
#   vendor.tar.xz          every module the cuda build needs, with the cuDNN 9
#                          copy of gorgonia.org/cu (go mod vendor)
#   go.cuda.mod/.sum       the cuda build's module file (patch-cu.sh)
#   cuda118-include.tar.xz CUDA 11.8 headers (fetch.sh): cu and cu/blas are
#                          compiled against them (CUDA 13's rename entry
#                          points; the driver keeps the 11.8 ones)
#   device_cuda_modules.go gorgonia's kernels as PTX (gen-modules.sh)
#   ptx/                   the same PTX, for the probe
#   bin/cudaprobe          the probe (probe.go), built here against stubs
#   bin/gpucheck-cpu.xz    cmd/gpucheck without the cuda tag (pure Go)
#   bin/gpucheck-cuda.xz   cmd/gpucheck with it, built here, only when cuDNN
#                          headers are given (a device run copies the
#                          device's back: see gpu-check.sh); without it,
#                          gpu-check.sh builds it on the device
#   MANIFEST               what was packed, from which commit
# NVIDIA's headers travel only inside this ignored folder; never commit it.
#
# Usage: scripts/cuda/pack.sh [CUDNN_INCLUDE_DIR]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cudnn_inc=${1:-}
cd "$root"
[ -f "$gpu/cuda118/VERSION" ] || "$root/scripts/cuda/fetch.sh"
"$root/scripts/cuda/patch-cu.sh"
"$root/scripts/cuda/gen-modules.sh"
"$root/scripts/cuda/stubs.sh" $cudnn_inc
out=$gpu/device
rm -rf "$out"
mkdir -p "$out/bin" "$out/ptx"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The trimmed toolchain is packed once per Go version (xz takes minutes).
gover=$(go env GOVERSION)
gotar=$gpu/go-trim-$gover.tar.xz
if [ ! -f "$gotar" ]; then
	say "trimmed Go toolchain ($gover)"
	goroot=$(go env GOROOT)
	mkdir -p "$tmp/go/pkg/tool/linux_amd64"
	cp -a "$goroot/bin" "$goroot/VERSION" "$goroot/go.env" "$tmp/go/"
	cp -a "$goroot/pkg/include" "$tmp/go/pkg/"
	for t in compile link asm cgo; do
		cp -a "$goroot/pkg/tool/linux_amd64/$t" "$tmp/go/pkg/tool/linux_amd64/"
	done
	(cd "$goroot" && find src -path src/cmd -prune -o -type d -name testdata -prune -o -type f ! -name '*_test.go' -print) |
		(cd "$goroot" && tar cf - -T -) | (cd "$tmp/go" && tar xf -)
	tar cf - -C "$tmp" go | xz -T0 -6 >"$gotar.part"
	mv "$gotar.part" "$gotar"
	rm -rf "$tmp/go"
fi
cp "$gotar" "$out/go.tar.xz"

say "vendored modules"
cp "$modfile" "$out/go.cuda.mod"
cp "${modfile%.mod}.sum" "$out/go.cuda.sum"
go mod vendor -modfile="$modfile" -o "$tmp/vendor"
tar cf - -C "$tmp" vendor | xz -T0 -6 >"$out/vendor.tar.xz"
rm -rf "$tmp/vendor"

tar cf - -C "$gpu/cuda118" include | xz -T0 -6 >"$out/cuda118-include.tar.xz"
cp nn/device_cuda_modules.go "$out/"
cp "$gpu"/ptx/compute_*/*.ptx "$out/ptx/"

say "binaries"
cuda_env "$cudnn_inc"
go build -modfile="$modfile" -tags cuda -trimpath -ldflags='-s -w' -o "$out/bin/cudaprobe" scripts/cuda/probe.go
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$tmp/gpucheck-cpu" ./cmd/gpucheck
xz -T0 -c "$tmp/gpucheck-cpu" >"$out/bin/gpucheck-cpu.xz"
if [ -n "$cudnn_inc" ]; then
	go build -modfile="$modfile" -tags cuda -trimpath -ldflags='-s -w' -o "$tmp/gpucheck-cuda" ./cmd/gpucheck
	xz -T0 -c "$tmp/gpucheck-cuda" >"$out/bin/gpucheck-cuda.xz"
fi
{
	echo "commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo +changes)"
	echo "packed=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "go=$(go env GOVERSION)"
	echo "cudnn_headers=${cudnn_inc:-none}"
	(cd "$out" && find . -type f | sort | xargs du -k | awk '{print "file=" $2 " kib=" $1}')
} >"$out/MANIFEST"
say "$out: $(du -sh "$out" | cut -f1)"
