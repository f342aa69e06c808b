#!/usr/bin/env bash
# Fetches what the cuda build needs from Debian's non-free archive, without
# installing anything and without touching the system's apt configuration:
#   .gpu/cuda118/include/      the CUDA 11.8 headers (nvidia-cuda-dev)
#   .gpu/cuda118/bin/nvcc      nvcc 11.8 with cicc and cudafe++, unpacked
#   .gpu/cuda118/libdevice/    (nvidia-cuda-toolkit), with an nvcc.profile
#                              that points at the unpacked tree
# apt runs with a private sources list and a private state folder under
# .gpu/apt, so nothing needs restoring afterwards. The download is about
# 860 MB (nearly all of it nvidia-cuda-dev, for 13 MB of headers); the .deb
# files are deleted after unpacking unless KEEP_DEBS=1. A second run with the
# same version does nothing. NVIDIA's files stay in the ignored .gpu/ folder:
# never commit them.
#
# Usage: scripts/cuda/fetch.sh        (GPU_DIR overrides .gpu)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
gpu=${GPU_DIR:-$root/.gpu}
version=11.8.89~11.8.0-5~deb12u1
dest=$gpu/cuda118
if [ -f "$dest/VERSION" ] && [ "$(cat "$dest/VERSION")" = "$version" ]; then
	echo "fetch: CUDA $version already in $dest" >&2
	exit 0
fi
for t in apt-get dpkg-deb tar; do
	command -v "$t" >/dev/null || { echo "fetch: $t is missing (a Debian machine is needed)" >&2; exit 2; }
done
mkdir -p "$gpu/apt/lists/partial" "$gpu/apt/cache/archives/partial"
printf 'deb http://deb.debian.org/debian bookworm main contrib non-free\n' >"$gpu/apt/sources.list"
apt_opts=(
	-o "Dir::Etc::SourceList=$gpu/apt/sources.list"
	-o "Dir::Etc::SourceParts=/dev/null"
	-o "Dir::State::Lists=$gpu/apt/lists"
	-o "Dir::Cache=$gpu/apt/cache"
	-o "APT::Architecture=amd64" -o "APT::Architectures=amd64"
	-o "APT::Sandbox::User=root"
)
echo "fetch: apt-get update (private state in $gpu/apt)" >&2
apt-get "${apt_opts[@]}" -qq update
debs=$gpu/debs
mkdir -p "$debs"
(cd "$debs" && for p in nvidia-cuda-toolkit nvidia-cuda-dev; do
	ls "${p}_"*.deb >/dev/null 2>&1 || apt-get "${apt_opts[@]}" -qq download "$p=$version"
done)
tmp=$(mktemp -d "$gpu/unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "fetch: unpacking nvcc" >&2
dpkg-deb --fsys-tarfile "$debs"/nvidia-cuda-toolkit_*.deb |
	tar x -C "$tmp" ./usr/lib/nvidia-cuda-toolkit/bin/nvcc ./usr/lib/nvidia-cuda-toolkit/bin/cicc \
		./usr/bin/cudafe++ ./usr/lib/nvidia-cuda-toolkit/libdevice/libdevice.10.bc
echo "fetch: unpacking the headers" >&2
dpkg-deb --fsys-tarfile "$debs"/nvidia-cuda-dev_*.deb | tar x -C "$tmp" --wildcards './usr/include/*'
rm -rf "$dest"
mkdir -p "$dest/bin" "$dest/libdevice"
mv "$tmp/usr/include" "$dest/include"
mv "$tmp/usr/lib/nvidia-cuda-toolkit/bin/nvcc" "$tmp/usr/lib/nvidia-cuda-toolkit/bin/cicc" "$tmp/usr/bin/cudafe++" "$dest/bin/"
mv "$tmp/usr/lib/nvidia-cuda-toolkit/libdevice/libdevice.10.bc" "$dest/libdevice/"
cat >"$dest/bin/nvcc.profile" <<'PROFILE'
TOP = $(_HERE_)/..
NVVMIR_LIBRARY_DIR = $(TOP)/libdevice
PATH += $(_HERE_):
INCLUDES += "-I$(TOP)/include" $(_SPACE_)
PROFILE
echo "$version" >"$dest/VERSION"
[ "${KEEP_DEBS:-0}" = 1 ] || rm -rf "$debs"
echo "fetch: CUDA $version in $dest ($(du -sh "$dest" | cut -f1))" >&2
