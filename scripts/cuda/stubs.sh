#!/usr/bin/env bash
# Builds link-time stand-ins for the NVIDIA libraries in .gpu/stubs, so that
# a cuda-tagged program links on a machine without them. Each stand-in
# defines, as empty functions, exactly the symbols that the copy of
# gorgonia.org/cu in .gpu/cu (patch-cu.sh) references, as the headers name
# them (cuda.h maps cuCtxCreate to cuCtxCreate_v2, for instance), and carries
# the SONAME of the real library on the device, so that the program loads
# the real one there:
#   libcuda.so    SONAME libcuda.so.1     (the driver)
#   libcublas.so  SONAME libcublas.so.13  (CUBLAS_SONAME overrides: the
#                                          device's PyTorch ships cuBLAS 13)
#   libcudnn.so   SONAME libcudnn.so.9    (only when cuDNN headers are given)
# The stand-ins are never loaded on the device. Every function in them
# returns 100 (CUDA_ERROR_NO_DEVICE), and .gpu/stubs/nodevice holds them under
# their SONAMEs: with LD_LIBRARY_PATH pointing there, a cuda build runs here
# as on a machine whose driver finds no GPU, which tests its error path.
#
# Usage: scripts/cuda/stubs.sh [CUDNN_INCLUDE_DIR]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cudnn_inc=${1:-}
inc=$gpu/cuda118/include
[ -f "$inc/cuda.h" ] || die "no CUDA headers in $inc: run scripts/cuda/fetch.sh first"
[ -d "$gpu/cu" ] || die "no $gpu/cu: run scripts/cuda/patch-cu.sh first"
out=$gpu/stubs
mkdir -p "$out/nodevice"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# stub LIB SONAME HEADER PREFIX DIR...: the stand-in for the functions named
# PREFIX... that the Go and C files in DIR... call.
stub() {
	local lib=$1 soname=$2 header=$3 prefix=$4
	shift 4
	local names
	names=$(for d in "$@"; do
		grep -ohE "C\.${prefix}[A-Z][A-Za-z0-9_]*\(" "$d"/*.go | sed 's/^C\.//; s/($//'
		if ls "$d"/*.c >/dev/null 2>&1; then grep -ohE "\b${prefix}[A-Z][A-Za-z0-9_]*\(" "$d"/*.c | sed 's/($//'; fi
	done | grep -v '_t$' | sort -u)
	# leave out the helpers that the package's own C files define
	local own
	own=$(for d in "$@"; do
		if ls "$d"/*.c >/dev/null 2>&1; then
			grep -ohE "^[A-Za-z_][A-Za-z0-9_ *]*\b${prefix}[A-Za-z0-9_]*\(" "$d"/*.c |
				grep -oE "${prefix}[A-Za-z0-9_]*\($" | sed 's/($//' || true
		fi
	done | sort -u)
	[ -z "$own" ] || names=$(comm -23 <(echo "$names") <(echo "$own"))
	# and the names that these headers no longer declare (cuDNN 9 dropped
	# some that cu's sources still mention): nothing compiled calls them
	local declared
	declared=$(cat "$inc"/*.h ${cudnn_inc:+"$cudnn_inc"/*.h} | grep -oE "\b${prefix}[A-Za-z0-9_]*\b" | sort -u)
	names=$(comm -12 <(echo "$names") <(echo "$declared"))
	{
		printf '#include <%s>\n' "$header"
		for n in $names; do
			printf 'void *ref_%s = (void *)&%s;\n' "$n" "$n"
		done
	} >"$tmp/ref_$lib.c"
	gcc -c -w -I"$inc" ${cudnn_inc:+-I"$cudnn_inc"} -o "$tmp/ref_$lib.o" "$tmp/ref_$lib.c"
	nm -u "$tmp/ref_$lib.o" | awk '{print $2}' | sort -u | sed 's/.*/int &(void) { return 100; }/' >"$tmp/$lib.c"
	gcc -shared -fPIC -Wl,-soname,"$soname" -o "$out/lib$lib.so" "$tmp/$lib.c"
	cp "$out/lib$lib.so" "$out/nodevice/$soname"
	say "lib$lib.so ($soname): $(wc -l <"$tmp/$lib.c") symbols"
}

stub cuda libcuda.so.1 cuda.h cu "$gpu/cu"
stub cublas "${CUBLAS_SONAME:-libcublas.so.13}" cublas_v2.h cublas "$gpu/cu/blas"
if [ -n "$cudnn_inc" ]; then
	[ -f "$cudnn_inc/cudnn.h" ] || die "no cudnn.h in $cudnn_inc"
	stub cudnn libcudnn.so.9 cudnn.h cudnn "$gpu/cu/dnn"
else
	rm -f "$out/libcudnn.so" "$out/nodevice/libcudnn.so.9"
	say "no cuDNN headers given: no libcudnn.so stand-in (cu/dnn cannot be built here without them)"
fi
