#!/usr/bin/env bash
# Unpacks the carried GPU binaries (.carry/gpu.tar.xz of tools/gpu_build.sh) to /tmp/mambaseq on the GPU
# machine, once per tarball: scripts of the same call may run side by side and share the binaries.
# Sourced by the tools/*.sh that run there, from the repository root.
if [[ -f .carry/gpu.tar.xz && ! /tmp/mambaseq/.unpacked -nt .carry/gpu.tar.xz ]]; then
  mkdir -p /tmp/mambaseq && tar -C /tmp/mambaseq -xJf .carry/gpu.tar.xz && touch /tmp/mambaseq/.unpacked
fi
# Data-parallel runs (train.gpus > 1) load NCCL at run time: the toolkit's, else the one of the machine's
# Python wheels (nvidia-nccl). NVLink multicast stays off (docs of the device machines say why).
export NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-0}
if ! ls /usr/local/cuda/lib64/libnccl.so.2 >/dev/null 2>&1; then
  ms_nccl_dir=$(python3 -c 'import nvidia.nccl as m, os; print(os.path.join(list(m.__path__)[0], "lib"))' 2>/dev/null)
  [[ -n $ms_nccl_dir ]] && export LD_LIBRARY_PATH="$ms_nccl_dir:${LD_LIBRARY_PATH:-}"
fi
