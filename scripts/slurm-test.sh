#!/usr/bin/env bash
# slurm-test.sh: run a small learnviews sweep as a Slurm job array on a
# single-node Slurm cluster started here on localhost, and check that it gives
# the same table as the local worker pool.
#
#   sudo bash scripts/slurm-test.sh
#
# What it does, each step under a time limit:
#   1. installs Debian's slurm-wlm and munge with apt-get when they are missing;
#   2. builds learnviews into a temporary folder;
#   3. writes a one-node slurm.conf (this machine, on the loopback address) and
#      starts munged (unless one answers already), slurmctld and slurmd;
#   4. runs a small crop-scale sweep (2 points × 2 seeds, seconds per run) with
#      the local pool: learnviews sweep ... --jobs 1 --threads 1;
#   5. plans the same sweep in another directory with --emit slurm, submits the
#      array with sbatch --wait, and gathers it with learnviews sweep --collect;
#   6. compares the two table.csv files: they must be identical (one thread per
#      run makes every number reproducible to the last bit).
# The daemons it started are stopped at the end, whatever happens.
#
# Needs root, Go, and the data that scripts/setup.sh installs (fashion-photos).
# SLURM_TEST_LIMIT caps the sweep steps in seconds (default 900);
# SLURM_TEST_KEEP=1 keeps the temporary folder. Exits 0 when the tables match,
# 1 when they do not or a step fails, 2 on a setup error.
set -euo pipefail

limit=${SLURM_TEST_LIMIT:-900}
repo=$(cd "$(dirname "$0")/.." && pwd)

say() { printf '%s slurm-test: %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { say "$1" >&2; exit "${2:-1}"; }

[ "$(id -u)" = 0 ] || die "run as root: it installs packages and starts the Slurm daemons" 2
command -v go >/dev/null || die "Go is not on PATH" 2

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq || die "apt-get update failed" 2
  timeout 900 apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null || die "apt-get install slurm-wlm munge failed" 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/learnviews-slurm.XXXXXX")
chmod 755 "$work"
started_munge=""
cleanup() {
  set +e
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$work/slurmctld.pid" ]; then
    scancel --quiet --user=root >/dev/null 2>&1
  fi
  for d in slurmd slurmctld; do
    if [ -f "$work/$d.pid" ]; then
      pid=$(cat "$work/$d.pid")
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null
    fi
  done
  if [ -n "$started_munge" ]; then
    kill "$started_munge" 2>/dev/null
  fi
  if [ "${SLURM_TEST_KEEP:-}" = 1 ]; then
    say "kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say "building learnviews"
(cd "$repo" && timeout 600 go build -o "$work/learnviews" ./cmd/learnviews) || die "go build failed" 2
bin="$work/learnviews"

# munge: Slurm's authentication. Start our own unless one answers already.
if ! (munge -n 2>/dev/null | unmunge >/dev/null 2>&1); then
  [ -s /etc/munge/munge.key ] || { mungekey --create --force 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=128 count=1 status=none; }
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- /usr/sbin/munged --force || die "munged did not start" 2
  for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
  started_munge=$(cat /run/munge/munged.pid 2>/dev/null || true)
  (munge -n | unmunge >/dev/null) || die "munge does not answer" 2
fi

cpus=$(nproc)
mkdir -p "$work/state" "$work/spool"
cat >"$work/slurm.conf" <<EOF
ClusterName=learnviews-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$work/slurm.conf"

say "starting slurmctld and slurmd on localhost ($cpus CPUs)"
slurmctld -c -f "$SLURM_CONF" || die "slurmctld did not start (see $work/slurmctld.log)" 2
slurmd -N localhost -f "$SLURM_CONF" || die "slurmd did not start (see $work/slurmd.log)" 2
state=""
for _ in $(seq 120); do
  state=$(sinfo -h -n localhost -o %T 2>/dev/null || true)
  case "$state" in idle*|mixed*|allocated*) break ;; esac
  sleep 0.5
done
case "$state" in
  idle*|mixed*|allocated*) say "node localhost is $state" ;;
  *) tail -n 20 "$work/slurmctld.log" "$work/slurmd.log" >&2 || true; die "the node never became idle (state: ${state:-none})" 2 ;;
esac

# The sweep: two crop scales × two seeds, tiny runs.
sets=(
  --set scale=small --set data.size=16 --set data.train=600 --set data.test=200 --set data.labelled=200
  --set game.steps=20 --set game.batch=32 --set eval.train_images=200 --set eval.test_images=200
  --set eval.probe_epochs=5 --set eval.knn_k=10 --set run.checkpoint_every=5
  --set 'sweep.seeds=[1, 2]'
  --set 'sweep.axes=[{key: views.spec, values: ["rgb:0,1,2|0,1,2+crop=0.2+flip", "rgb:0,1,2|0,1,2+crop=1+flip"], labels: ["0.2", "1.0"]}]'
)

say "local pool: learnviews sweep --jobs 1 --threads 1"
start=$(date +%s)
timeout "$limit" "$bin" sweep --profile sweep-crop-scale --out "$work/local" --jobs 1 --threads 1 "${sets[@]}" ||
  die "the local sweep failed"
say "local pool finished in $(( $(date +%s) - start )) s"

shared="$work/shared/crop"
mkdir -p "$work/shared"
"$bin" sweep --profile sweep-crop-scale --out "$shared" --emit slurm --cpus-per-task 1 --slurm-time 00:20:00 "${sets[@]}" ||
  die "learnviews sweep --emit slurm failed"
grep -E '^#SBATCH --array=' "$shared/slurm.sbatch"
say "submitting the job array: sbatch --wait $shared/slurm.sbatch"
start=$(date +%s)
if ! timeout "$limit" sbatch --wait "$shared/slurm.sbatch"; then
  squeue >&2 || true
  tail -n 20 "$shared"/logs/slurm-*.log >&2 || true
  die "the job array failed or timed out"
fi
say "job array finished in $(( $(date +%s) - start )) s"
logs=$(ls "$shared"/logs/slurm-*_*.log 2>/dev/null | wc -l)
[ "$logs" = 4 ] || die "expected 4 array tasks' logs, found $logs"

"$bin" sweep --collect "$shared" || die "learnviews sweep --collect failed"

if cmp -s "$work/local/table.csv" "$shared/table.csv"; then
  say "PASS: the Slurm job array gives the same table as the local pool"
  cat "$shared/table.csv"
  exit 0
fi
say "FAIL: the tables differ" >&2
diff "$work/local/table.csv" "$shared/table.csv" >&2 || true
exit 1
