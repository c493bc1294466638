#!/usr/bin/env bash
# Builds the CUDA binaries here (no GPU needed) for the H100/H200 (sm_90) and packs them with the shared
# libraries the GPU machine lacks into .carry/gpu (git-ignored), ready for the device tool:
#   run(command="tools/gpu_check.sh", carry=[".carry/gpu"])
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-gpu}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAMBASEQ_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
cmake --build "$build" --target mambaseq test_cuda test_kernels test_model
rm -rf .carry/gpu
bins=("$build/mambaseq" "$build/tests/test_cuda" "$build/tests/test_kernels")
[[ -x $build/tests/test_model ]] && bins+=("$build/tests/test_model")
tools/pack_runtime.sh .carry/gpu "${bins[@]}"
