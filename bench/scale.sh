#!/usr/bin/env bash
# Runs bench/ratio.sh over the reference step's scales: ConvNet (ref) and
# ResNet-18 halves (resnet) on 32, 64 and 96 px views, batch 32 and 128,
# Go against PyTorch, and prints one Markdown table row per cell:
#   | step | px | batch | Go s/step | PyTorch s/step | Go/PyTorch | Go peak RSS | PyTorch peak RSS | RSS Go/PyTorch | load |
# (medians over ROUNDS rounds of STEPS timed steps after a warm-up step;
# the 96 px, batch 128 cells time BIG_STEPS steps; RSS in MiB; the load
# average when the cell started and ended).
#
# Usage: bench/scale.sh [ROUNDS] [STEPS] [BIG_STEPS] [STEP_KINDS]   (defaults 1, 3, 2, "ref resnet")
set -euo pipefail
rounds=${1:-1}
steps=${2:-3}
big=${3:-2}
kinds=${4:-ref resnet}
root=$(cd "$(dirname "$0")/.." && pwd)
echo "| step | px | batch | Go s/step | PyTorch s/step | Go/PyTorch | Go peak RSS (MiB) | PyTorch peak RSS (MiB) | RSS Go/PyTorch | load (start → end) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for what in $kinds; do
	for size in 32 64 96; do
		for batch in 32 128; do
			n=$steps
			if [ "$size" = 96 ] && [ "$batch" = 128 ]; then n=$big; fi
			l0=$(cut -d' ' -f1 /proc/loadavg)
			out=$(BATCH=$batch SIZE=$size "$root/bench/ratio.sh" "$rounds" "$n" "$what" 2>/dev/null)
			l1=$(cut -d' ' -f1 /proc/loadavg)
			echo "$out" | awk -v what="$what" -v size="$size" -v batch="$batch" -v load="$l0 → $l1" '
				/^go:/ { gm = $5; grss = $(NF-1) }
				/^torch:/ { tm = $5; trss = $(NF-1) }
				/^rss_go_over_torch=/ { split($0, a, "="); rr = a[2] }
				/^ratio_go_over_torch=/ { split($0, a, "="); r = a[2] }
				END { printf "| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s |\n", what, size, batch, gm, tm, r, grss, trss, rr, load }'
		done
	done
done
