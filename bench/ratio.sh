#!/usr/bin/env bash
# Times the Go reference step (cmd/refstep) and its PyTorch twin
# (bench/refstep_torch.py, Debian's python3-torch) alternately in one
# session, prints per-step medians and spreads, the CPU seconds (user +
# system) of a run (median; set-up and the warm-up step included) and the
# peak resident memory of each side (the largest of its runs), both from
# /usr/bin/time -v, and ends with
#   ratio_go_over_torch=<median Go s/step / median PyTorch s/step>
# With WHAT=game it times the view-learning iteration instead (cmd/refstep
# -game against bench/viewstep_torch.py); with WHAT=resnet the reference
# step with two ResNet-18 halves (width 32) on 64×64 views, batch 128
# (cmd/refstep -arch resnet18 against bench/resstep_torch.py).
#
# Usage: bench/ratio.sh [ROUNDS] [STEPS_PER_ROUND] [ref|game|resnet]   (defaults 3, 5, ref)
# BATCH, SIZE (and for resnet WIDTH) override the step's batch size, view
# size and encoder width on both sides, e.g. BATCH=32 SIZE=96 bench/ratio.sh 1 3 resnet.
set -euo pipefail
rounds=${1:-3}
steps=${2:-5}
what=${3:-ref}
case "$what" in
ref)
	batch=${BATCH:-128} size=${SIZE:-32}
	goargs=(-batch "$batch" -size "$size") twin=refstep_torch.py twinargs=(--batch "$batch" --size "$size") ;;
game)
	batch=${BATCH:-128} size=${SIZE:-32}
	goargs=(-game -batch "$batch" -size "$size") twin=viewstep_torch.py twinargs=(--batch "$batch" --size "$size") ;;
resnet)
	batch=${BATCH:-128} size=${SIZE:-64} width=${WIDTH:-32}
	goargs=(-arch resnet18 -width "$width" -batch "$batch" -size "$size")
	twin=resstep_torch.py twinargs=(--arch resnet18 --width "$width" --batch "$batch" --size "$size") ;;
*) echo "bench/ratio.sh: unknown step \"$what\" (want ref, game or resnet)" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	echo "bench/ratio.sh: PyTorch is missing: apt-get install -y python3-torch" >&2
	exit 2
fi
if [ ! -x /usr/bin/time ]; then
	echo "bench/ratio.sh: /usr/bin/time is missing: apt-get install -y time" >&2
	exit 2
fi
(cd "$root" && go build -o "$tmp/refstep" ./cmd/refstep)
threads=$(nproc)
# rss FILE: the peak resident set size, in kB, that /usr/bin/time -v wrote.
rss() { awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$1"; }
# cpu FILE: the user + system CPU seconds that /usr/bin/time -v wrote.
cpu() { awk -F: '/User time|System time/ {s += $2} END {print s}' "$1"; }
for r in $(seq 1 "$rounds"); do
	echo "round $r/$rounds: go ($(cut -d' ' -f1-3 /proc/loadavg))" >&2
	/usr/bin/time -v -o "$tmp/time.txt" "$tmp/refstep" "${goargs[@]}" -steps "$steps" -warmup 1 | awk '{print $3}' >>"$tmp/go.txt"
	rss "$tmp/time.txt" >>"$tmp/go.rss"
	cpu "$tmp/time.txt" >>"$tmp/go.cpu"
	echo "round $r/$rounds: torch ($(cut -d' ' -f1-3 /proc/loadavg))" >&2
	/usr/bin/time -v -o "$tmp/time.txt" /usr/bin/python3 "$root/bench/$twin" "${twinargs[@]}" --steps "$steps" --warmup 1 --threads "$threads" | awk '{print $3}' >>"$tmp/torch.txt"
	rss "$tmp/time.txt" >>"$tmp/torch.rss"
	cpu "$tmp/time.txt" >>"$tmp/torch.cpu"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
/usr/bin/python3 - "$tmp" <<'PY'
import os, statistics, sys
d = sys.argv[1]
def load(name):
    return [float(x) for x in open(os.path.join(d, name)).read().split()]
go, torch = load("go.txt"), load("torch.txt")
for name, v in (("go", go), ("torch", torch)):
    q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
    peak = max(load(name + ".rss")) / 1024
    cpu = statistics.median(load(name + ".cpu"))
    print(f"{name}: {len(v)} steps, median {statistics.median(v):.4f} s/step, "
          f"IQR {q[0]:.4f}-{q[2]:.4f}, min {min(v):.4f}, max {max(v):.4f}; "
          f"CPU {cpu:.1f} s per run; peak RSS {peak:.0f} MiB")
gp, tp = max(load("go.rss")), max(load("torch.rss"))
print(f"rss_go_over_torch={gp / tp:.3f}")
print(f"ratio_go_over_torch={statistics.median(go) / statistics.median(torch):.3f}")
PY
