#!/usr/bin/env bash
# Unpacks the carried GPU binaries (.carry/gpu.tar.xz of tools/gpu_build.sh) to /tmp/mambaseq on the GPU
# machine, once per tarball: scripts of the same call may run side by side and share the binaries.
# Sourced by the tools/*.sh that run there, from the repository root.
if [[ -f .carry/gpu.tar.xz && ! /tmp/mambaseq/.unpacked -nt .carry/gpu.tar.xz ]]; then
  mkdir -p /tmp/mambaseq && tar -C /tmp/mambaseq -xJf .carry/gpu.tar.xz && touch /tmp/mambaseq/.unpacked
fi
