#!/usr/bin/env bash
# Benchmarks (not part of npm test). Usage: bash bench/run.sh plan
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh
case "${1:-plan}" in
  plan)
    node -r ts-node/register/transpile-only bench/plan.ts
    start=$(date +%s%N); node -r ts-node/register/transpile-only plan/cli.ts --stack production >/dev/null; end=$(date +%s%N)
    echo "whole offline plan of the production stack (process start to exit): $(( (end - start) / 1000000 )) ms (goal < 1500 ms)";;
  *) echo "unknown benchmark $1" >&2; exit 64;;
esac
