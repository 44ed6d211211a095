#!/usr/bin/env bash
# Builds the real Pulumi engine from the Go module proxy into a cache outside the clone:
#   ${XDG_CACHE_HOME:-~/.cache}/senex-infra/engine-<key>/bin
# where <key> hashes everything that decides the binaries (engine/tools/go.mod + go.sum, this script,
# the Go toolchain, the @pulumi/pulumi npm version whose shim we copy). A current cache is reused
# without building. Progress goes to stderr; the LAST stdout line is the bin folder, so callers use
# `bin="$(bash scripts/engine-build.sh | tail -n1)"`. With --check it only answers (exit 3 when cold).
#
# Why a tools module (engine/tools) instead of `go install pkg@version`: pulumi's pkg/go.mod has
# replace directives, and `go install` refuses modules with replaces; `go build <main package of a
# dependency>` from a module of ours ignores the dependency's replaces.
#
# Why v3.274.1 while the npm SDK is 3.270.0: the proxy refuses the pkg/v3@v3.270.0 zip (403 "This
# module version is not available"; sdk/v3@v3.270.0 is served, pkg is not), and of the served pkg
# versions (… v3.252.0, v3.260.0, v3.274.0, v3.274.1) v3.274.x is the nearest. A CLI newer than the
# language SDK is the supported direction (the engine keeps compatibility with older SDKs), an older
# one is not. v3.274.1 is the patch release of v3.274.
#
# Binaries the proxy refuses (see MISSING in the bin folder, rewritten on each cold build):
# the Node.js language host, the command provider and the bridged random/tls providers. The engine
# tier runs programs through the Node SDK's own language server instead (--client, as the Automation
# API's inline programs do), so the CLI, engine, state, secrets and dynamic providers are all real.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${SENEX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/senex-infra}"
export PATH="/usr/local/go/bin:$PATH"
# Module and build caches shared by every clone on this machine; no toolchain download.
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -trimpath -buildvcs=false"
tools="$root/engine/tools"

log() { echo "engine-build: $*" >&2; }

pulumi_version="$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2 }' "$tools/go.mod")"
node_sdk_dir="$root/node_modules/@pulumi/pulumi"
node_sdk_version="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$node_sdk_dir/package.json" | head -n1)"
[ -n "$pulumi_version" ] || { log "no github.com/pulumi/pulumi/pkg/v3 requirement in $tools/go.mod"; exit 1; }
[ -n "$node_sdk_version" ] || { log "node_modules/@pulumi/pulumi is missing: run npm ci first"; exit 1; }

key="$( { cat "$tools/go.mod" "$tools/go.sum" "$0"; go version; echo "node-sdk $node_sdk_version"; } | sha256sum | cut -c1-16)"
out="$cache/engine-$key"
bin="$out/bin"

if [ -f "$out/COMPLETE" ]; then
  log "cached: pulumi $pulumi_version, shim from @pulumi/pulumi $node_sdk_version ($out)"
  echo "$bin"; exit 0
fi
if [ "${1:-}" = "--check" ]; then # answer only whether the cache is current; never build
  log "not built yet for this key ($out): run npm run engine:build (a cold build takes 10-20 minutes)"
  exit 3
fi

mkdir -p "$cache"
partial="$out.partial.$$"
rm -rf "$partial"; mkdir -p "$partial/bin"
trap 'rm -rf "$partial"' EXIT

timed() { # timed <name> <command…>: runs the command, prints its wall time
  local name="$1" start end; shift
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  log "$(awk -v n="$name" -v s="$start" -v e="$end" 'BEGIN { printf "%-32s took %6.1f s", n, e - s }')"
}

log "building pulumi $pulumi_version with $(go version | cut -d' ' -f3) (GOCACHE=$GOCACHE)"
timed "go modules (download)" env -C "$tools" go mod download
# CGO off and the osusergo/grpcnotrace tags: what Pulumi's own release builds use (static binary,
# pure-Go user lookup, no gRPC tracing). The version ldflag is what `pulumi version` prints and what
# the engine compares against plugins' and SDKs' minimum versions.
timed pulumi env -C "$tools" CGO_ENABLED=0 go build -tags osusergo,grpcnotrace \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version" \
  -o "$partial/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

# The dynamic-provider shim is a /bin/sh script shipped in the npm SDK; it resolves the SDK's
# dynamic-provider entry point from its working directory (or NODE_PATH), so a copy works anywhere.
timed pulumi-resource-pulumi-nodejs install -m 0755 "$node_sdk_dir/pulumi-resource-pulumi-nodejs" "$partial/bin/"

# The modules below are what the matching plugins are built from. The proxy refuses them here; try
# each once per cold build (a refusal answers in well under a second) and record the answer, so a
# proxy that starts serving one is noticed and the reason stays visible where the binaries live.
missing="$partial/MISSING"
: > "$missing"
try_module() { # try_module <binary> <module@version>
  local name="$1" modver="$2" err
  if err="$(cd "$partial" && GOFLAGS=-mod=mod go mod download -json "$modver" 2>&1)" && ! grep -q '"Error"' <<<"$err"; then
    log "$name: $modver IS served now: wire it into engine/tools and build it"
    echo "$name	$modver	served (not wired yet)" >> "$missing"
  else
    # Keep the answer itself ("403 Forbidden", "404 Not Found", …): the text after the last ": ".
    err="$(grep -o '"Error": "[^"]*' <<<"$err" | head -n1 | sed 's/\\n.*//; s/.*: //')"
    log "$name: not built: $modver refused: ${err:-unknown error}"
    echo "$name	$modver	${err:-refused}" >> "$missing"
  fi
}
# Untagged module: pseudo-version of the v3.259.0 release commit (a05d88f24d05); newer release
# commits are refused the same way (and @master, @<commit> and the version list all answer 403).
try_module pulumi-language-nodejs github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@v3.0.0-20260820084410-a05d88f24d05
# @pulumi/command 1.2.1 = repo tag v1.2.1 (7f3eb6f3b77c); the provider/ module has no tags of its own.
try_module pulumi-resource-command github.com/pulumi/pulumi-command/provider@v0.0.0-20260303235922-7f3eb6f3b77c
try_module pulumi-resource-random github.com/pulumi/pulumi-random/provider/v4@v4.21.2
try_module pulumi-resource-tls github.com/pulumi/pulumi-tls/provider/v5@v5.6.1

"$partial/bin/pulumi" version >&2
date -u +%FT%TZ > "$partial/COMPLETE"
rm -rf "$out"; mv "$partial" "$out"; trap - EXIT
log "ready: $bin"
echo "$bin"
