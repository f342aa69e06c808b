#!/usr/bin/env bash
# The test command of the README, and what .ci/run runs after installing:
# the Go tests, then the PyTorch loader against the Go code (which installs
# python3-torch when it is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== go test" >&2
go test ./...
echo "== torch check (the PyTorch loader against the Go code)" >&2
bash scripts/torch-check.sh
