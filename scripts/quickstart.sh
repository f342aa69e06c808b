#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs learnviews on its default
# profile, quick: semi-supervised view learning on fashion-photos, stage 2 on
# the learned and the raw views, linear probe and kNN, figures and report.
# Extra arguments go to `learnviews run`, e.g. --out DIR or --set key=value.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
./bin/learnviews run "$@"
