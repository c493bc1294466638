#!/usr/bin/env bash
# Runs on the GPU machine (device tool) over binaries packed by tools/gpu_build.sh: the GPU tests, then
# the benches; logs go to $OUT (they come back), a short summary is printed last.
# Usage: tools/gpu_check.sh [tests|bench|all|variants] [extra bench args...]
#   variants: the scan tests, then the scan bench timing the kernel variants of SCAN_IMPLS (FWD/BWD,
#   comma-separated, e.g. auto/auto,sliced4/wide; NAME:N forces N L segments, e.g. sliced:1/wide:1 = unsplit)
#   on the same inputs at SCAN_LENGTHS (default 2^14..2^20 of the anchor shapes), through
#   `mambaseq bench scan --set scan.impls=[...]`; extra args go to it (e.g. --set 'scan.dtypes=["bf16"]').
set -uo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
out=${OUT:-/tmp/gpu_out}
mkdir -p "$out"
source tools/gpu_unpack.sh
ms_require_binaries
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$out/gpu.txt"
status=0
if [[ $what == tests || $what == all ]]; then
  $run test_cuda --gtest_brief=1 >"$out/test_cuda.log" 2>&1; rc=$?
  status=$((status | rc))
  echo "test_cuda exit $rc: $(grep -E '^\[  (PASSED|FAILED|SKIPPED)' "$out/test_cuda.log" | tr '\n' ' ')"
  grep -E '^\[  FAILED' "$out/test_cuda.log" | head -20
  if [[ -x /tmp/mambaseq/gpu/bin/test_pipelines ]]; then  # packed with WITH_PIPELINE_TESTS=1
    $run test_pipelines --gtest_brief=1 --gtest_filter='Generate.CudaGraph*' >"$out/test_pipelines_gpu.log" 2>&1; rc=$?
    status=$((status | rc))
    echo "test_pipelines (GPU tests) exit $rc: $(grep -E '^\[  (PASSED|FAILED|SKIPPED)' "$out/test_pipelines_gpu.log" | tr '\n' ' ')"
  fi
fi
if [[ $what == variants ]]; then
  $run test_cuda --gtest_brief=1 --gtest_filter='*CudaScan*' >"$out/test_scan.log" 2>&1; rc=$?
  status=$((status | rc))
  echo "scan tests exit $rc: $(grep -E '^\[  (PASSED|FAILED|SKIPPED)' "$out/test_scan.log" | tr '\n' ' ')"
  grep -E '^\[  FAILED|Failure|rel_l2' "$out/test_scan.log" | head -20
  impls=${SCAN_IMPLS:-auto/auto} lengths=${SCAN_LENGTHS:-16384,65536,262144,1048576}
  $run mambaseq bench scan --set "scan.impls=[\"${impls//,/\",\"}\"]" --set "scan.lengths=[$lengths]" "${@:2}" \
    >"$out/bench_variants.txt" 2>&1 || { status=1; echo "scan variant bench failed"; }
  tail -80 "$out/bench_variants.txt"
fi
if [[ $what == bench || $what == all ]]; then
  benches=${BENCHES:-scan model generate parity}
  for b in $benches; do
    $run mambaseq bench "$b" "${@:2}" >"$out/bench_$b.txt" 2>&1 || { status=1; echo "bench $b failed:"; tail -5 "$out/bench_$b.txt"; }
  done
  for b in $benches; do echo "== bench $b"; tail -30 "$out/bench_$b.txt"; done
fi
exit $status
