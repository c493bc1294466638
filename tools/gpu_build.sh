#!/usr/bin/env bash
# Builds the CUDA binaries here (no GPU needed) for the H100/H200 (sm_90) and packs them with the shared
# libraries the GPU machine lacks into .carry/gpu.tar.xz (git-ignored; compressed because a call carries
# at most 64 MiB), ready for the device tool:
#   run(command="tools/gpu_check.sh", carry=[".carry/gpu.tar.xz"])
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-gpu}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAMBASEQ_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
# WITH_PIPELINE_TESTS=1 also packs test_pipelines (its GPU tests: CUDA-graph generation, checkpoints of
# device tensors); it adds a few MB, so leave it out when the call also carries the audio data.
# CLI_ONLY=1 packs the mambaseq binary alone, compressed harder (about 21 MB): room for the
# piano data (.carry/piano_data.tar of tools/pack_audio_data.sh, ~40 MB) in the same call.
# GPU_TAR names the tarball (default .carry/gpu.tar.xz); the scripts on the GPU machine read the same
# variable (tools/gpu_unpack.sh), e.g. run(command="GPU_TAR=.carry/gpu_cli.tar.xz tools/audio_experiments.sh", ...).
targets=(mambaseq test_cuda)
xz_level=-1
[[ ${WITH_PIPELINE_TESTS:-0} == 1 ]] && targets+=(test_pipelines)
[[ ${CLI_ONLY:-0} == 1 ]] && { targets=(mambaseq); xz_level=-9; }
cmake --build "$build" --target "${targets[@]}"
tarball=${GPU_TAR:-.carry/gpu.tar.xz}  # e.g. GPU_TAR=.carry/gpu_cli.tar.xz CLI_ONLY=1: both kinds kept side by side
rm -rf .carry/gpu "$tarball"
bins=()  # the CLI sits in the build folder, the test binaries in its tests/
for t in "${targets[@]}"; do if [[ $t == mambaseq ]]; then bins+=("$build/$t"); else bins+=("$build/tests/$t"); fi; done
tools/pack_runtime.sh .carry/gpu "${bins[@]}"
strip -s .carry/gpu/bin/*
tar -C .carry -cf - gpu | xz "$xz_level" -T2 > "$tarball"
rm -rf .carry/gpu
ls -la "$tarball"
