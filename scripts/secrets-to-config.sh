#!/usr/bin/env bash
# Writes freshly generated values for every generated secret into a stack's encrypted config
# (`senex-infra:secrets.<name>`), for users who want every secret in config (e.g. shared with
# another system). Values go to `pulumi config set` on stdin, never in argv. Existing values are
# kept unless --force. Usage: bash scripts/secrets-to-config.sh STACK [--force]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh
stack="${1:?usage: secrets-to-config.sh STACK [--force]}"; force="${2:-}"
command -v pulumi >/dev/null || { echo "pulumi CLI not on PATH (npm run engine:build builds it)" >&2; exit 1; }
node -r ts-node/register/transpile-only scripts/generate-secrets.ts | while IFS=$'\t' read -r name; do
  IFS= read -r value
  if [ "$force" != "--force" ] && pulumi config get --stack "$stack" --path "senex-infra:secrets.$name" >/dev/null 2>&1; then
    echo "keep   secrets.$name (exists; --force replaces it)"; continue
  fi
  printf '%s' "$value" | pulumi config set --stack "$stack" --secret --path "senex-infra:secrets.$name" >/dev/null
  echo "set    secrets.$name"
done
