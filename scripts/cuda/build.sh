#!/usr/bin/env bash
# Builds the cuda binaries bin/learnviews-cuda and bin/gpucheck-cuda on a
# machine without a GPU: CUDA 11.8 headers and nvcc (fetch.sh, once), the
# cuDNN 9 copy of cu (patch-cu.sh), the kernels (gen-modules.sh) and
# link-time stand-ins (stubs.sh). It needs cuDNN's headers: a folder that
# holds cudnn.h (default .gpu/cudnn-include, where a device run's
# cudnn-include.tar.gz is unpacked; never commit them).
#
# The binaries need, on the GPU machine, libcuda.so.1, libcublas.so.13 and
# libcudnn.so.9 on the library path (PyTorch's pip packages carry the last
# two) and glibc 2.34 or newer.
#
# Usage: scripts/cuda/build.sh [CUDNN_INCLUDE_DIR]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cudnn=${1:-$gpu/cudnn-include}
[ -f "$cudnn/cudnn.h" ] || die "no cudnn.h in $cudnn: unpack a device run's cudnn-include.tar.gz there (scripts/gpu-check.sh writes it)"
cudnn=$(cd "$cudnn" && pwd) # cgo resolves include paths from each package's folder
cd "$root"
[ -f "$gpu/cuda118/include/cuda.h" ] && [ -x "$gpu/cuda118/bin/nvcc" ] || scripts/cuda/fetch.sh
scripts/cuda/patch-cu.sh
scripts/cuda/gen-modules.sh
scripts/cuda/stubs.sh "$cudnn"
cuda_env "$cudnn"
mkdir -p bin
for cmd in learnviews gpucheck; do
	go build -modfile="$modfile" -tags cuda -trimpath -o "bin/$cmd-cuda" "./cmd/$cmd"
	say "bin/$cmd-cuda"
done
