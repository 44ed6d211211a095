#!/usr/bin/env bash
# Benchmarks (not part of the test command). Usage: bash bench/run.sh plan|converge
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-plan}" in
  plan)
    bash scripts/plan.sh --stack production >/dev/null   # builds bin/ when sources changed, warms the disk cache
    source scripts/toolchain.sh
    export NODE_COMPILE_CACHE="$SENEX_CACHE/node-compile-cache"   # as scripts/plan.sh runs it
    node bin/bench/plan.js
    for i in 1 2 3; do
      start=$(date +%s%N); node bin/plan/cli.js --stack production >/dev/null; end=$(date +%s%N)
      echo "whole offline plan of the production stack, run $i (node start to exit): $(( (end - start) / 1000000 )) ms (goal < 1500 ms)"
    done;;
  converge)
    # Our apply vs an Ansible playbook of the seeds' phase-1 steps on two fresh test hosts, in one
    # run (bench/converge/README.md). Caches first: engine, test hosts + images, pebble, Ansible.
    source scripts/toolchain.sh
    bash test/engine/prepare.sh
    bash bench/converge/prepare.sh >/dev/null
    ts-node --transpile-only -P tsconfig.json bench/converge/run.ts;;
  *) echo "unknown benchmark $1" >&2; exit 64;;
esac
