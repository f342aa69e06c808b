#!/usr/bin/env bash
# Measures the CPU time (user + system) and wall time per reference step of
# the Go step (cmd/refstep) and its PyTorch twin (bench/refstep_torch.py) on
# 1 and 2 threads, alternating them for ROUNDS rounds. CPU seconds per step
# depend much less on other jobs than wall seconds do: with the machine
# shared, they are the fairer comparison of the work each side does.
#
# Each figure is the difference between a run of 1+STEPS steps and a run of
# 1+1 steps (both after the same set-up), divided by STEPS-1, so start-up
# and the warm-up step cancel. Prints per-configuration min and median.
#
# Usage: bench/cpu_per_step.sh [ROUNDS] [STEPS]   (defaults 3 and 8)
set -euo pipefail
rounds=${1:-3}
steps=${2:-8}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/refstep" ./cmd/refstep)
measure() { # name threads steps-flag command... ; appends "cpu wall" per step to $tmp/name
	local name=$1 threads=$2 flag=$3
	shift 3
	local a b
	a=$(GOMAXPROCS=$threads /usr/bin/time -f "%U %S %e" "$@" "$flag" 1 2>&1 >/dev/null | tail -1)
	b=$(GOMAXPROCS=$threads /usr/bin/time -f "%U %S %e" "$@" "$flag" "$steps" 2>&1 >/dev/null | tail -1)
	echo "$a $b" | awk -v n=$((steps - 1)) '{printf "%.4f %.4f\n", ($4+$5-$1-$2)/n, ($6-$3)/n}' >>"$tmp/$name"
}
for r in $(seq 1 "$rounds"); do
	echo "round $r/$rounds" >&2
	for th in 1 2; do
		measure "go-$th" "$th" -steps "$tmp/refstep" -warmup 1
		measure "torch-$th" "$th" --steps /usr/bin/python3 "$root/bench/refstep_torch.py" --warmup 1 --threads "$th"
	done
done
/usr/bin/python3 - "$tmp" <<'PY'
import os, statistics, sys
d = sys.argv[1]
for name in ("go-1", "torch-1", "go-2", "torch-2"):
    rows = [tuple(map(float, l.split())) for l in open(os.path.join(d, name))]
    cpu, wall = [r[0] for r in rows], [r[1] for r in rows]
    print(f"{name}: cpu s/step min {min(cpu):.3f} median {statistics.median(cpu):.3f}; "
          f"wall s/step min {min(wall):.3f} median {statistics.median(wall):.3f}")
PY
