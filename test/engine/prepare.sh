#!/usr/bin/env bash
# Prepares the engine tier: builds the Pulumi engine from the Go module proxy, or reuses the
# cached build (scripts/engine-build.sh prints its bin folder last); then the hosts and consumers
# tiers' caches the phase-1 end-to-end test needs (cached runs take seconds). Needs no Debian package beyond
# the machine's base image (Go at /usr/local/go, sha256sum, awk); the Node toolchain comes from
# scripts/toolchain.sh, which scripts/test-all.sh sources first.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x /usr/local/go/bin/go ]; then
  echo "engine prepare: Go is missing at /usr/local/go (the machine image provides it)" >&2; exit 1
fi
start=$SECONDS
bin="$(bash scripts/engine-build.sh | tail -n1)"
for tool in pulumi pulumi-resource-pulumi-nodejs; do
  [ -x "$bin/$tool" ] || { echo "engine prepare: $bin/$tool is missing" >&2; exit 1; }
done
echo "engine prepare: engine at $bin ($((SECONDS - start)) s)"
# The real program's existing stacks run against test hosts (images, registry) and a local ACME
# server (pebble from the tools root): both tiers' caches, built or reused.
bash test/hosts/prepare.sh
bash test/consumers/prepare.sh
