#!/usr/bin/env bash
# The offline plan of a stack on a fresh machine: installs Node 22 and the dependencies (cached),
# then runs the real program under the mock engine. Usage: bash scripts/plan.sh --stack production
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh
exec node -r ts-node/register/transpile-only plan/cli.ts "$@"
