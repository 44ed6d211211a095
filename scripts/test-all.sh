#!/usr/bin/env bash
# Runs every test tier in order: unit, graph, consumers, hosts, engine. A tier may ship
# test/<tier>/prepare.sh, run first (installs and caches what that tier needs; idempotent).
# Prints each stage's time; the last line is "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh
tiers=("$@"); [ ${#tiers[@]} -gt 0 ] || tiers=(unit graph consumers hosts engine)
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
passed=0; failed=0; status=0
# The whole tree must type-check (ts-jest only transpiles); counted as one test.
start=$SECONDS
if tsc --noEmit -p tsconfig.json; then passed=$((passed + 1)); echo "== typecheck: passed in $((SECONDS - start)) s"
else failed=$((failed + 1)); status=1; echo "== typecheck: FAILED in $((SECONDS - start)) s"; fi
for tier in "${tiers[@]}"; do
  start=$SECONDS
  if [ -x "test/$tier/prepare.sh" ] || [ -f "test/$tier/prepare.sh" ]; then
    echo "== $tier: prepare"
    if ! bash "test/$tier/prepare.sh"; then
      echo "== $tier: prepare FAILED after $((SECONDS - start)) s"; failed=$((failed + 1)); status=1; continue
    fi
    echo "== $tier: prepared in $((SECONDS - start)) s"
  fi
  echo "== $tier: tests"
  jest --selectProjects "$tier" --json --outputFile="$out/$tier.json" --passWithNoTests --forceExit
  rc=$?
  if [ -f "$out/$tier.json" ]; then
    read -r p f < <(node -e 'const r=require(process.argv[1]); const broken=r.testResults.filter(t=>t.status==="failed"&&t.assertionResults.length===0).length; console.log(r.numPassedTests, r.numFailedTests+broken)' "$out/$tier.json")
  else p=0; f=1; fi
  [ "$rc" -eq 0 ] || { status=1; [ "$f" -gt 0 ] || f=1; }
  passed=$((passed + p)); failed=$((failed + f))
  echo "== $tier: $p passed, $f failed in $((SECONDS - start)) s"
done
echo "$passed passed, $failed failed"
exit $status
