#!/usr/bin/env bash
# Unpacks the carried GPU binaries (GPU_TAR, default .carry/gpu.tar.xz, of tools/gpu_build.sh) to
# /tmp/mambaseq on the GPU machine, once per tarball: scripts of the same call may run side by side and
# share the binaries. A different tarball than the one unpacked last (e.g. the CLI-only build after the
# test build on a warm machine) is unpacked again. Sourced by the tools/*.sh that run there, from the
# repository root.
ms_gpu_tar=${GPU_TAR:-.carry/gpu.tar.xz}
if [[ -f $ms_gpu_tar ]]; then
  ms_gpu_id="$(realpath "$ms_gpu_tar") $(stat -c '%s %Y' "$ms_gpu_tar")"
  if [[ ! -f /tmp/mambaseq/.unpacked || $(cat /tmp/mambaseq/.unpacked) != "$ms_gpu_id" ]]; then
    rm -rf /tmp/mambaseq/gpu && mkdir -p /tmp/mambaseq && tar -C /tmp/mambaseq -xJf "$ms_gpu_tar" &&
      echo "$ms_gpu_id" >/tmp/mambaseq/.unpacked
  fi
fi
# Data-parallel runs (train.gpus > 1) load NCCL at run time: the toolkit's, else the one of the machine's
# Python wheels (nvidia-nccl). NVLink multicast stays off (docs of the device machines say why).
export NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-0}
if ! ls /usr/local/cuda/lib64/libnccl.so.2 >/dev/null 2>&1; then
  ms_nccl_dir=$(python3 -c 'import nvidia.nccl as m, os; print(os.path.join(list(m.__path__)[0], "lib"))' 2>/dev/null)
  [[ -n $ms_nccl_dir ]] && export LD_LIBRARY_PATH="$ms_nccl_dir:${LD_LIBRARY_PATH:-}"
fi
# The wrapper that runs a packed binary with its libraries ($run BINARY ARGS...), and the checks the
# scripts start with.
run=/tmp/mambaseq/gpu/env.sh
ms_require_binaries() {
  [[ -x $run ]] || { echo "no packed binaries: run tools/gpu_build.sh here and carry its tarball (GPU_TAR, default .carry/gpu.tar.xz)"; exit 2; }
}
ms_find_ncu() { command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1; }
