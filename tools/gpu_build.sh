#!/usr/bin/env bash
# Builds the CUDA binaries here (no GPU needed) for the H100/H200 (sm_90) and packs them with the shared
# libraries the GPU machine lacks into .carry/gpu.tar.xz (git-ignored; compressed because a call carries
# at most 64 MiB), ready for the device tool:
#   run(command="tools/gpu_check.sh", carry=[".carry/gpu.tar.xz"])
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-gpu}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAMBASEQ_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
cmake --build "$build" --target mambaseq test_cuda
rm -rf .carry/gpu .carry/gpu.tar.xz
tools/pack_runtime.sh .carry/gpu "$build/mambaseq" "$build/tests/test_cuda"
strip -s .carry/gpu/bin/*
tar -C .carry -cf - gpu | xz -1 -T2 > .carry/gpu.tar.xz
rm -rf .carry/gpu
ls -la .carry/gpu.tar.xz
