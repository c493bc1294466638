#!/usr/bin/env bash
# Runs on the GPU machine (device tool) over binaries packed by tools/gpu_build.sh: the GPU tests, then
# the benches; logs go to $OUT (they come back), a short summary is printed last.
# Usage: tools/gpu_check.sh [tests|bench|all] [extra bench args...]
set -uo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
out=${OUT:-/tmp/gpu_out}
mkdir -p "$out"
run=.carry/gpu/env.sh
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$out/gpu.txt"
status=0
if [[ $what == tests || $what == all ]]; then
  $run test_cuda --gtest_brief=1 >"$out/test_cuda.log" 2>&1; rc=$?
  status=$((status | rc))
  echo "test_cuda exit $rc: $(grep -E '^\[  (PASSED|FAILED|SKIPPED)' "$out/test_cuda.log" | tr '\n' ' ')"
  grep -E '^\[  FAILED' "$out/test_cuda.log" | head -20
fi
if [[ $what == bench || $what == all ]]; then
  for b in scan model generate; do
    $run mambaseq bench "$b" "${@:2}" >"$out/bench_$b.txt" 2>&1 || { status=1; echo "bench $b failed:"; tail -5 "$out/bench_$b.txt"; }
  done
  for b in scan model generate; do echo "== bench $b"; tail -30 "$out/bench_$b.txt"; done
fi
exit $status
