# Shared settings of the scripts in scripts/cuda (sourced, not run).
#   root     the repository root
#   gpu      the ignored folder that holds everything downloaded or generated
#            for the cuda build (GPU_DIR overrides .gpu)
#   modfile  the module file of the cuda build: go.mod plus a replace of
#            gorgonia.org/cu by the cuDNN 9 copy in $gpu/cu (patch-cu.sh)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
gpu=${GPU_DIR:-$root/.gpu}
modfile=$gpu/go.cuda.mod
cuversion=v0.9.6

say() { echo "${0##*/}: $*" >&2; }
die() { say "$*"; exit 1; }

# cuda_env sets the cgo flags of a cuda build against the CUDA 11.8 headers
# (fetch.sh), cuDNN headers when a folder of them is given, and the stub
# libraries (stubs.sh) when they are built.
cuda_env() {
	local cudnn=${1:-}
	export CGO_ENABLED=1
	export CGO_CFLAGS="-I$gpu/cuda118/include${cudnn:+ -I$cudnn} -Wno-deprecated-declarations"
	export CGO_LDFLAGS="-L$gpu/stubs"
}
