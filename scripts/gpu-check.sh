#!/usr/bin/env bash
# The GPU check, in one call on a machine with an NVIDIA GPU, PyTorch and no
# Go toolchain or network. Prepare the bundle first, on the development
# machine:
#
#   scripts/cuda/pack.sh        # makes .gpu/device (see scripts/cuda/README.md)
#
# then run, on the GPU machine, in the repository root, with .gpu/device
# carried along:
#
#   scripts/gpu-check.sh OUTDIR
#
# Parts, in order of priority, each bounded in time so that the whole stays
# within GPU_CHECK_BUDGET seconds (default 540):
#   1. machine: GPU, driver, compilers, PyTorch; finds libcuda, cuBLAS and
#      cuDNN (PyTorch's pip packages or the CUDA toolkit) and packs the cuDNN
#      headers into OUTDIR/cudnn-include.tar.gz, with which later builds can
#      be made on a machine without a GPU (NVIDIA's licence: never commit them)
#   2. probe: driver, gorgonia's kernels (PTX for compute_90, compiled by the
#      driver here) and cuBLAS, without gorgonia or cuDNN
#   3. PyTorch's twin of the reference step on the GPU (bench/refstep_gpu_torch.py)
#   4. build: cmd/gpucheck with the cuda tag, here with the carried Go
#      toolchain and modules against the cuDNN found in part 1 (unless the
#      bundle holds a binary built beforehand); the binary comes back as
#      OUTDIR/gpucheck-cuda.xz
#   5. correctness: one reference step (batch 32, 32×32) on the CPU and on the
#      GPU from the same weights and batch, with each layer set (cudnn,
#      composed, fused); loss, I_NCE, every gradient and the loss after one
#      Adam update must agree within float32 tolerance (gpucheck compare)
#   6. speed at batch 256 and 64×64: the reference step on the GPU with each
#      layer set, the view-learning iteration on the GPU (cudnn), and both
#      on the CPU
#
# OUTDIR gets summary.txt (the key=value results), gpu-check.log (everything)
# and build.log. The last line printed is
#   ratio_gpu_go_over_torch=<Go s/step ÷ PyTorch s/step on this GPU>
# or ratio_gpu_go_over_torch=nan when either side did not run.
set -uo pipefail
if [ $# -ne 1 ]; then
	echo "usage: scripts/gpu-check.sh OUTDIR" >&2
	exit 2
fi
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."
root=$PWD
bundle=${GPU_CHECK_BUNDLE:-$root/.gpu/device}
budget=${GPU_CHECK_BUDGET:-500}
python=${PYTHON:-python3}
batch=${GPU_CHECK_BATCH:-256}
size=${GPU_CHECK_SIZE:-64}
summary=$out/summary.txt
: >"$summary"
exec > >(tee -a "$out/gpu-check.log") 2>&1
tee_pid=$!
work=$(mktemp -d /tmp/gpu-check.XXXXXX)
trap 'rm -rf "$work"' EXIT

# result KEY=VALUE... records a result line in the summary and the log.
result() {
	echo "$*" >>"$summary"
	echo "RESULT $*"
}

# part NAME SECONDS CMD...: runs CMD with a time limit of SECONDS, or less
# if the budget is nearly spent; a part that has no time left is skipped.
# The command's output goes to the log and to $work/NAME.out.
part() {
	local name=$1 limit=$2
	shift 2
	local left=$((budget - SECONDS - 10))
	[ "$limit" -le "$left" ] || limit=$left
	if [ "$limit" -lt 15 ]; then
		result "${name}=skipped reason=time"
		return 124
	fi
	echo "== $name (at ${SECONDS}s, limit ${limit}s): $*"
	timeout -k 5 "$limit" "$@" 2>&1 | tee "$work/$name.out"
	local rc=${PIPESTATUS[0]}
	[ "$rc" -ne 124 ] || echo "== $name: stopped after ${limit}s"
	return "$rc"
}

# unxz FILE.xz OUTPUT, with Python where xz is missing
unxz() {
	if command -v xz >/dev/null; then
		xz -dc "$1" >"$2"
	else
		"$python" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
	fi && chmod +x "$2"
}

# why NAME: the first line of part NAME's output that looks like the reason
# it failed, quoted for the summary.
why() {
	local line
	line=$(grep -m1 -iE 'panic|fatal|fault|error|failed|cannot|no such|undefined|sees no' "$work/$1.out" 2>/dev/null)
	[ -n "$line" ] || line=$(grep -v '^[[:space:]]*$' "$work/$1.out" 2>/dev/null | tail -1)
	line=$(echo "$line" | cut -c1-200 | tr '"' "'")
	echo "reason=\"${line:-see gpu-check.log}\""
}

# value KEY FILE: the value of the last KEY=... in FILE.
value() { grep -o "\b$1=[^ ]*" "$2" 2>/dev/null | tail -1 | cut -d= -f2-; }

echo "== gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ) in $root, budget ${budget}s"
[ -f "$bundle/MANIFEST" ] && sed 's/^/bundle /' "$bundle/MANIFEST"

# 1. machine and libraries
echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
result "gpu=\"${gpu:-none}\" driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1) cpus=$(nproc)"
echo "glibc: $(ldd --version 2>&1 | head -1)"
cc=$(command -v gcc || command -v cc || command -v clang || true)
echo "C compiler: ${cc:-none} $($cc --version 2>/dev/null | head -1)"
"$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "gpu", torch.cuda.is_available())' 2>&1 || true

# Library folders: GPU_CHECK_LIB_ROOTS, PyTorch's NVIDIA pip packages, the
# toolkit, the system's.
roots=$("$python" -c 'import os, site
try:
    import nvidia
    print(" ".join(nvidia.__path__))
except Exception:
    pass
print(" ".join(p for p in site.getsitepackages() if os.path.isdir(p)))' 2>/dev/null)
roots="${GPU_CHECK_LIB_ROOTS:-} $roots $(ls -d /usr/local/cuda* 2>/dev/null | tr '\n' ' ') /usr/local/nvidia /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/include"
find_one() { # PATTERN [ROOTS]: the first file of that name under the roots
	for r in ${2:-$roots}; do
		[ -d "$r" ] || continue
		f=$(find -L "$r" -maxdepth 6 -name "$1" \( -type f -o -type l \) 2>/dev/null | sort | head -1)
		[ -n "$f" ] && { echo "$f"; return; }
	done
}
# the driver: as the loader finds it (a pip package may hold a stub)
libcuda=
[ -z "${GPU_CHECK_LIB_ROOTS:-}" ] || libcuda=$(find_one 'libcuda.so.1' "$GPU_CHECK_LIB_ROOTS")
[ -n "$libcuda" ] || libcuda=$(ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 /{print $NF; exit}')
[ -n "$libcuda" ] || libcuda=$(find_one 'libcuda.so.1')
libcublas=$(find_one 'libcublas.so.13')
[ -n "$libcublas" ] || libcublas=$(find_one 'libcublas.so.1[0-9]')
libcudnn=$(find_one 'libcudnn.so.9')
cudnn_h=$(find_one 'cudnn.h')
cudnn_inc=${cudnn_h%/cudnn.h}
echo "libcuda=${libcuda:-none} libcublas=${libcublas:-none} libcudnn=${libcudnn:-none} cudnn.h=${cudnn_h:-none}"
mkdir -p "$work/lib"
libpath=$work/lib
for f in $libcuda $libcublas $libcudnn; do
	ln -sf "$f" "$work/lib/$(basename "$f")"
	base=$(basename "$f")
	ln -sf "$f" "$work/lib/${base%%.so*}.so"
	d=$(dirname "$(readlink -f "$f")")
	case ":$libpath:" in *":$d:"*) ;; *) libpath=$libpath:$d ;; esac
done
export LD_LIBRARY_PATH=$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if [ -n "$cudnn_h" ]; then
	ver=$(awk '/#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) /{printf "%s.", $3}' "$cudnn_inc"/cudnn_version.h 2>/dev/null)
	tar czf "$out/cudnn-include.tar.gz" -C "$cudnn_inc" $(cd "$cudnn_inc" && ls cudnn*.h)
	result "cudnn_headers=${ver%.} from=$cudnn_inc"
else
	result "cudnn_headers=none"
fi

# 2. probe
probe=fail
if part probe 60 "$bundle/bin/cudaprobe" "$bundle/ptx"; then probe=ok; fi
if [ $probe = ok ]; then
	result "probe=ok $(grep -h 'compute_capability\|ptx_modules\|max_.*err' "$work/probe.out" 2>/dev/null | tr '\n' ' ')"
else
	result "probe=fail $(why probe)"
fi

# 3. PyTorch on the GPU
torch_s=
if part torch 150 env PYTHONUNBUFFERED=1 "$python" bench/refstep_gpu_torch.py --device cuda --batch "$batch" --size "$size" --steps 20 --warmup 5; then
	torch_s=$(value median_s "$work/torch.out")
	result "torch_ref_step $(grep '^torch_ref_step' "$work/torch.out" | cut -d' ' -f2-)"
else
	result "torch_ref_step=failed $(why torch)"
fi

if part torch_game 90 env PYTHONUNBUFFERED=1 "$python" bench/viewstep_torch.py --device cuda --threads "$(nproc)" --batch "$batch" --size "$size" --steps 10 --warmup 3; then
	result "torch_$(grep '^torch_view_iteration' "$work/torch_game.out")"
else
	result "torch_view_iteration=failed $(why torch_game)"
fi

# 4. the cuda build of cmd/gpucheck
gpubin=
if [ -f "$bundle/bin/gpucheck-cuda.xz" ]; then
	gpubin=$work/gpucheck-cuda
	unxz "$bundle/bin/gpucheck-cuda.xz" "$gpubin"
	result "build=prebuilt"
elif [ -z "$cc" ]; then
	result "build=failed reason=no-C-compiler"
elif [ -z "$cudnn_h" ] || [ -z "$libcuda" ] || [ -z "$libcublas" ] || [ -z "$libcudnn" ]; then
	result "build=failed reason=missing-libraries"
else
	# the carried Go toolchain and modules, against this machine's cuDNN, in
	# a copy of the tree (the build adds vendor/ to the tree it runs in)
	start=$SECONDS
	mkdir -p "$work/tree"
	tar cf - --exclude=./.git --exclude=./.gpu --exclude=./vendor --exclude=./runs --exclude=./bench-out . |
		tar xf - -C "$work/tree"
	if part build 300 bash -c 'cd "$1" && shift && exec env "$@"' - "$work/tree" CC="$cc" LIBDIR="$work/lib" GPU_CHECK_BUNDLE="$bundle" \
		scripts/cuda/device-build.sh "$work/build" "$work/gpucheck-cuda" ./cmd/gpucheck "$cudnn_inc"; then
		gpubin=$work/gpucheck-cuda
		result "build=ok seconds=$((SECONDS - start))"
		{ command -v xz >/dev/null && xz -T0 -c "$gpubin" >"$out/gpucheck-cuda.xz"; } || true
	else
		# cgo names each C name that the headers lack
		missing=$(grep -oE 'could not determine (kind of name for|what) C\.[A-Za-z0-9_]+' "$work/build.out" | sed 's/.*C\.//' | sort -u | tr '\n' ',')
		result "build=failed seconds=$((SECONDS - start))${missing:+ missing_c_names=$missing} $(why build)"
	fi
	cp "$work/build.out" "$out/build.log" 2>/dev/null || true
fi

# 5. correctness
cpubin=$work/gpucheck-cpu
unxz "$bundle/bin/gpucheck-cpu.xz" "$cpubin"
passed=0
if part cpu_dump 120 "$cpubin" dump -batch 32 -size 32 -out "$work/cpu.json" && [ -n "$gpubin" ]; then
	part devices 30 "$gpubin" devices || true
	for ops in cudnn composed fused; do
		if part "gpu_dump_$ops" 90 "$gpubin" dump -ops "$ops" -batch 32 -size 32 -out "$work/gpu_$ops.json" &&
			part "compare_$ops" 60 "$cpubin" compare "$work/gpu_$ops.json" "$work/cpu.json"; then
			result "correct_$ops=pass $(grep -h 'compare loss\|compare ince\|compare grads' "$work/compare_$ops.out" | sed 's/^compare //' | tr '\n' ' ')"
			passed=$((passed + 1))
		else
			result "correct_$ops=FAIL $(grep -h 'compare loss\|compare ince\|compare grads' "$work/compare_$ops.out" 2>/dev/null | sed 's/^compare //' | tr '\n' ' ') $(why "gpu_dump_$ops")"
		fi
	done
fi
case $passed in
3) check=pass ;;
0) check=fail ;;
*) check=partial ;;
esac
[ -n "$gpubin" ] || check="fail reason=no-cuda-binary"
result "correctness=$check"

# 6. speed: each benchmark stops timing after about a minute
go_s=
go_ops=
game_s=
if [ -n "$gpubin" ]; then
	for ops in cudnn composed fused; do
		if part "gpu_ref_$ops" 75 "$gpubin" bench-ref -ops "$ops" -batch "$batch" -size "$size" -steps 10 -warmup 2 -max-seconds 30; then
			result "go_gpu_$(grep '^ref_step' "$work/gpu_ref_$ops.out")"
			s=$(value median_s "$work/gpu_ref_$ops.out")
			if [ -n "$s" ] && { [ -z "$go_s" ] || awk "BEGIN{exit !($s < $go_s)}"; }; then
				go_s=$s
				go_ops=$ops
			fi
		else
			result "go_gpu_ref_step_$ops=failed $(why "gpu_ref_$ops")"
		fi
	done
	# (the composed game crashes in gorgonia's device allocator: not run)
	for ops in cudnn; do
		if part "gpu_game_$ops" 75 "$gpubin" bench-game -ops "$ops" -batch "$batch" -size "$size" -steps 5 -warmup 1 -max-seconds 30; then
			result "go_gpu_$(grep '^view_iteration' "$work/gpu_game_$ops.out")"
			s=$(value median_s "$work/gpu_game_$ops.out")
			if [ -n "$s" ] && { [ -z "$game_s" ] || awk "BEGIN{exit !($s < $game_s)}"; }; then
				game_s=$s
			fi
		else
			result "go_gpu_view_iteration_$ops=failed $(why "gpu_game_$ops")"
		fi
	done
fi
if part cpu_ref 60 "$cpubin" bench-ref -batch "$batch" -size "$size" -steps 5 -warmup 1 -max-seconds 30; then
	result "go_cpu_$(grep '^ref_step' "$work/cpu_ref.out")"
fi
if part cpu_game 60 "$cpubin" bench-game -batch "$batch" -size "$size" -steps 3 -warmup 1 -max-seconds 30; then
	result "go_cpu_$(grep '^view_iteration' "$work/cpu_game.out")"
fi

echo "== summary ($out/summary.txt, ${SECONDS}s)"
cat "$summary"
if [ -n "$go_s" ] && [ -n "$torch_s" ]; then
	echo "go_gpu_ops=$go_ops go_median_s=$go_s torch_median_s=$torch_s batch=$batch size=$size" | tee -a "$summary"
	ratio=$(awk "BEGIN{printf \"%.3f\", $go_s / $torch_s}")
else
	ratio=nan
fi
torch_game_s=$(value median_s "$work/torch_game.out")
if [ -n "$game_s" ] && [ -n "$torch_game_s" ]; then
	echo "ratio_gpu_view_iteration_go_over_torch=$(awk "BEGIN{printf \"%.3f\", $game_s / $torch_game_s}")" | tee -a "$summary"
fi
echo "ratio_gpu_go_over_torch=$ratio" >>"$summary"
echo "ratio_gpu_go_over_torch=$ratio"
# let tee write the last lines before the script ends
exec >&- 2>&-
wait "$tee_pid" 2>/dev/null || true
