#!/usr/bin/env bash
# Makes the copy of gorgonia.org/cu that the cuda build uses, and the module
# file that points the build at it; the default go.mod and go.sum are never
# touched.
#   .gpu/cu/           gorgonia.org/cu v0.9.6 (from the Go module proxy): its
#                      packages cu, cu/blas, cu/dnn and cu/dnn/interop
#                      without tests, with the changes in third_party/cu
#                      (what cuDNN 9 removed; no exit at start-up without
#                      a driver or device)
#   .gpu/go.cuda.mod   go.mod + "replace gorgonia.org/cu => ./.gpu/cu"
#   .gpu/go.cuda.sum   go.sum, completed for the cuda-tagged packages if need be
# Build with: go build -modfile=.gpu/go.cuda.mod -tags cuda ...
# Rerun it whenever go.mod changes (check.sh and pack.sh do).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$root"
src=$(go mod download -json "gorgonia.org/cu@$cuversion" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || die "could not download gorgonia.org/cu@$cuversion"
dst=$gpu/cu
rm -rf "$dst"
mkdir -p "$dst"
for d in . blas dnn dnn/interop; do
	mkdir -p "$dst/$d"
	for f in "$src/$d"/*.go "$src/$d"/*.c "$src/$d"/*.h; do
		[ -f "$f" ] || continue
		case $f in *_test.go) continue ;; esac
		cp "$f" "$dst/$d/"
	done
done
cp "$src/LICENSE" "$dst/"
chmod -R u+w "$dst"
while read -r f; do
	case $f in '' | '#'*) continue ;; esac
	rm "$dst/$f"
done <third_party/cu/remove.txt
# git apply outside any repository (the ceiling stops it from finding this
# one) works like patch(1), which a minimal Debian lacks.
for p in third_party/cu/*.patch; do
	(cd "$dst" && GIT_CEILING_DIRECTORIES=$(dirname "$dst") git apply -p1 "$root/$p")
done
# The copy's own requirements are the main module's versions, so that the
# replace changes no other module's version.
ver() { go list -m -f '{{.Version}}' "$1"; }
cat >"$dst/go.mod" <<MOD
module gorgonia.org/cu

go 1.21

require (
	github.com/google/uuid $(ver github.com/google/uuid)
	github.com/pkg/errors $(ver github.com/pkg/errors)
	gonum.org/v1/gonum $(ver gonum.org/v1/gonum)
	gorgonia.org/tensor $(ver gorgonia.org/tensor)
)
MOD
cp go.mod "$modfile"
cp go.sum "${modfile%.mod}.sum"
go mod edit -modfile="$modfile" -replace=gorgonia.org/cu=./.gpu/cu
# Let the go command record what the cuda-tagged code imports (nn imports
# gorgonia.org/cu directly), and any sum that is missing for it; this
# touches only the cuda module file and its sums.
go list -mod=mod -modfile="$modfile" -tags cuda -deps ./nn ./cmd/gpucheck >/dev/null
say "gorgonia.org/cu $cuversion for cuDNN 9 in $dst; module file $modfile"
