#!/usr/bin/env bash
# Installs the Debian 12 packages mambaseq needs to build, test and run its demos. Idempotent: only
# missing packages are installed. Runs apt-get as root (directly, or through sudo when not root).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libopenblas-dev libhts-dev libsndfile1-dev libsamplerate0-dev libtomlplusplus-dev libhdf5-dev
  libgtest-dev libfmt-dev
  samtools tabix
  sox python3-numpy  # reference tools for the audio tests (sox decodes and resamples, numpy checks mu-law)
)
# Extra packages for the data set-up scripts (real genomes, audio tools); pass --data to include them.
DATA_PACKAGES=(ragout-examples sox espeak-ng fluidsynth timgm6mb-soundfont python3-mido python3-numpy python3-h5py)

want=("${PACKAGES[@]}")
if [[ "${1:-}" == "--data" ]]; then want+=("${DATA_PACKAGES[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
