#!/usr/bin/env bash
# Times the Go reference step (cmd/refstep) and its PyTorch twin
# (bench/refstep_torch.py, Debian's python3-torch) alternately in one
# session, prints per-step medians and spreads, and ends with
#   ratio_go_over_torch=<median Go s/step / median PyTorch s/step>
# With WHAT=game it times the view-learning iteration instead (cmd/refstep
# -game against bench/viewstep_torch.py).
#
# Usage: bench/ratio.sh [ROUNDS] [STEPS_PER_ROUND] [ref|game]   (defaults 3, 5, ref)
set -euo pipefail
rounds=${1:-3}
steps=${2:-5}
what=${3:-ref}
case "$what" in
ref) goflag="" twin=refstep_torch.py ;;
game) goflag="-game" twin=viewstep_torch.py ;;
*) echo "bench/ratio.sh: unknown step \"$what\" (want ref or game)" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	echo "bench/ratio.sh: PyTorch is missing: apt-get install -y python3-torch" >&2
	exit 2
fi
(cd "$root" && go build -o "$tmp/refstep" ./cmd/refstep)
threads=$(nproc)
for r in $(seq 1 "$rounds"); do
	echo "round $r/$rounds: go" >&2
	"$tmp/refstep" $goflag -steps "$steps" -warmup 1 | awk '{print $3}' >>"$tmp/go.txt"
	echo "round $r/$rounds: torch" >&2
	/usr/bin/python3 "$root/bench/$twin" --steps "$steps" --warmup 1 --threads "$threads" | awk '{print $3}' >>"$tmp/torch.txt"
done
/usr/bin/python3 - "$tmp/go.txt" "$tmp/torch.txt" <<'PY'
import statistics, sys
def load(p):
    return [float(x) for x in open(p).read().split()]
go, torch = load(sys.argv[1]), load(sys.argv[2])
for name, v in (("go", go), ("torch", torch)):
    q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
    print(f"{name}: {len(v)} steps, median {statistics.median(v):.4f} s/step, "
          f"IQR {q[0]:.4f}-{q[2]:.4f}, min {min(v):.4f}, max {max(v):.4f}")
print(f"ratio_go_over_torch={statistics.median(go) / statistics.median(torch):.3f}")
PY
