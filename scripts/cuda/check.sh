#!/usr/bin/env bash
# Checks the cuda build on a machine without a GPU.
#
# scripts/cuda/check.sh          the quick check, for CI (about 20 s with a warm
#                                build cache, a minute without; no NVIDIA
#                                download):
#   - the default build stays CUDA-free: nothing that ./... imports without
#     the cuda tag depends on gorgonia.org/cu;
#   - patch-cu.sh makes the cuDNN 9 copy of gorgonia.org/cu and the module
#     file of the cuda build (reads gorgonia.org/cu v0.9.6 and a few go.mod
#     files through the module proxy the first time);
#   - typecheck.go type-checks, with the cuda tag, every package of the
#     module, the probe, and everything they import, gorgonia's CUDA code
#     included, at the Go level (cgo references unchecked);
#   - go vet of the generators.
# scripts/cuda/check.sh --full   also compiles the C side (about 2 minutes
#                                the first time, after an 860 MB download):
#   - fetch.sh, gen-modules.sh, stubs.sh;
#   - a real cgo build of gorgonia.org/cu and gorgonia.org/cu/blas against
#     the CUDA 11.8 headers, and of the probe, linked against the stubs;
#   - with cuDNN headers (CUDNN_INCLUDE, or .gpu/cudnn-include, which
#     gpu-check.sh brings back from a device), cmd/gpucheck with the cuda tag.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$root"
full=false
[ "${1:-}" != --full ] || full=true

if go list -deps ./... | grep -qx 'gorgonia.org/cu'; then
	die "the default build imports gorgonia.org/cu"
fi
say "the default build does not import gorgonia.org/cu"
"$root/scripts/cuda/patch-cu.sh"
go run scripts/cuda/typecheck.go -modfile "$modfile" -tags cuda ./...
go run scripts/cuda/typecheck.go -modfile "$modfile" -tags cuda scripts/cuda/probe.go
go vet scripts/cuda/ptxgen.go
go vet scripts/cuda/typecheck.go
$full || { say "quick check ok (scripts/cuda/check.sh --full compiles the C side too)"; exit 0; }

"$root/scripts/cuda/fetch.sh"
"$root/scripts/cuda/gen-modules.sh"
cudnn=${CUDNN_INCLUDE:-}
[ -n "$cudnn" ] || [ ! -f "$gpu/cudnn-include/cudnn.h" ] || cudnn=$gpu/cudnn-include
"$root/scripts/cuda/stubs.sh" $cudnn
cuda_env "$cudnn"
go build -modfile="$modfile" -tags cuda gorgonia.org/cu gorgonia.org/cu/blas
say "gorgonia.org/cu and gorgonia.org/cu/blas compile against the CUDA 11.8 headers"
go vet -modfile="$modfile" -tags cuda scripts/cuda/probe.go
go build -modfile="$modfile" -tags cuda -o "$gpu/bin/cudaprobe" scripts/cuda/probe.go
say "the probe links: $gpu/bin/cudaprobe"
if [ -n "$cudnn" ]; then
	go build -modfile="$modfile" -tags cuda -o "$gpu/bin/gpucheck-cuda" ./cmd/gpucheck
	say "cmd/gpucheck builds with the cuda tag: $gpu/bin/gpucheck-cuda"
else
	say "no cuDNN headers (CUDNN_INCLUDE or $gpu/cudnn-include): gorgonia.org/cu/dnn and cmd/gpucheck were type-checked only"
fi
say "full check ok"
