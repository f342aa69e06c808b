#!/usr/bin/env bash
# Checks the PyTorch loader (python/learnviews_torch) against the Go code.
# The Go test TestWriteTorchFixtures writes generators, encoders, colour
# conversions and a tiny exported run with what Go computes of fixed
# batches; python/tests/test_equality.py loads them with Debian's
# python3-torch and compares (it prints the largest differences).
# Installs python3-torch and python3-numpy when /usr/bin/python3 lacks
# them (as root, or with sudo).
#
# Usage: scripts/torch-check.sh [FIXTURE_DIR]   (default: a temporary folder)
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
if ! "$py" -c 'import numpy, torch' 2>/dev/null; then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || { echo "torch-check: need root (or sudo) to install python3-torch python3-numpy" >&2; exit 1; }
		sudo=sudo
	fi
	echo "torch-check: installing python3-torch python3-numpy" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-torch python3-numpy >/dev/null
fi
dir=${1:-}
if [ -z "$dir" ]; then
	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' EXIT
fi
echo "torch-check: fixtures in $dir" >&2
go test ./experiment -run '^TestWriteTorchFixtures$' -count=1 -torch.fixtures "$dir"
LEARNVIEWS_TORCH_FIXTURES="$dir" PYTHONDONTWRITEBYTECODE=1 "$py" -m unittest discover -s python/tests -v
