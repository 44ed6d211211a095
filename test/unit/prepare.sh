#!/usr/bin/env bash
# Installs shellcheck (Debian; actionlint checks workflows' `run:` scripts with it) and builds
# actionlint (the GitHub Actions workflow checker, test/unit/workflows.test.ts) from the Go module
# proxy into a cache outside the clone: $SENEX_CACHE/actionlint-<version>-<key>/bin/actionlint, where
# <key> hashes what decides the binary (the version, the build flags, the Go toolchain). A current cache is reused without building
# (idempotent, offline). Progress goes to stderr; the LAST stdout line is the binary's path.
# Cold: one `go install` of a small module, 79 s measured on 2 cores with empty Go caches; warm: instant.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/test/support/cache.sh"
export PATH="/usr/local/go/bin:$PATH"
# Pinned: a version the Go module proxy serves (`go list -m -versions github.com/rhysd/actionlint`).
ACTIONLINT_VERSION=v1.7.7
# Module and build caches shared with scripts/engine-build.sh; no toolchain download.
export GOMODCACHE="$SENEX_CACHE/go/mod" GOCACHE="$SENEX_CACHE/go/build" GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -trimpath -buildvcs=false"

senex_apt_install shellcheck

key="$(senex_key /dev/null -- "$ACTIONLINT_VERSION" "$GOFLAGS" "$(go version)")"
out="$SENEX_CACHE/actionlint-$ACTIONLINT_VERSION-$key"
if [ -f "$out/COMPLETE" ]; then
  echo "unit prepare: actionlint $ACTIONLINT_VERSION cached ($out)" >&2
  echo "$out/bin/actionlint"; exit 0
fi

partial="$out.partial.$$"
rm -rf "$partial"; mkdir -p "$partial/bin"
trap 'rm -rf "$partial"' EXIT
start=$(date +%s)
echo "unit prepare: building actionlint $ACTIONLINT_VERSION (go install; cold: about 80 s on 2 cores)" >&2
GOBIN="$partial/bin" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >&2
"$partial/bin/actionlint" -version >&2
touch "$partial/COMPLETE"
# Another prepare may have finished first: keep its copy (same key, same binary).
mv -T "$partial" "$out" 2>/dev/null || rm -rf "$partial"
trap - EXIT
echo "unit prepare: actionlint built in $(( $(date +%s) - start )) s ($out)" >&2
echo "$out/bin/actionlint"
