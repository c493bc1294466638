#!/usr/bin/env bash
# Builds the offline audio data sets into data/audio/ (git-ignored), from Debian packages only:
#   sc09/       SC09-like spoken digits "zero".."nine" synthesized with espeak-ng (16 kHz mono, 1 s),
#               split by speaker: test and valid speakers have an accent and a timbre never trained on
#   sc09-real/  the real recorded digits of csmash-data (16 kHz) and Asterisk's Allison (8 kHz, upsampled)
#   piano/      solo piano rendered with fluidsynth from the MIDI files of Debian packages, split by piece
# Usage: scripts/prepare-audio.sh [--small] [--out DIR] [--jobs N] [--only digits|piano]
# Installs its tools with apt-get (root, or sudo); the packages that only hold data (MIDI files, recorded
# digits) are fetched with `apt-get download` and unpacked under DIR/.packages instead of installed.
# Deterministic: the same packages give the same files (see docs/audio-io.md).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=data/audio
SMALL=""
JOBS=$(nproc)
ONLY=""
while (($#)); do
  case "$1" in
    --small) SMALL=--small ;;
    --out) OUT="$2"; shift ;;
    --jobs) JOBS="$2"; shift ;;
    --only) ONLY="$2"; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "prepare-audio: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$ONLY" in ""|digits|piano) ;; *) echo "prepare-audio: --only takes digits or piano" >&2; exit 2 ;; esac

TOOLS=(espeak-ng sox fluidsynth timgm6mb-soundfont python3-mido python3-numpy)
DIGIT_DATA=(csmash-data asterisk-core-sounds-en-wav)
PIANO_DATA=(openttd-openmsx python3-pyo yoshimi-data pianobooster freedink-data faust-common chuck-data nyquist)
if [[ -n "$SMALL" ]]; then PIANO_DATA=(openttd-openmsx python3-pyo yoshimi-data freedink-data); fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "prepare-audio: need root (or sudo) to apt-get install" >&2; exit 1; }
  SUDO=sudo
fi
missing=()
for p in "${TOOLS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "prepare-audio: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Data-only packages: download and unpack (no dependencies, nothing installed system-wide).
PKGROOT="$OUT/.packages"
fetch() {
  mkdir -p "$PKGROOT/debs"
  local need=()
  for p in "$@"; do [[ -d "$PKGROOT/$p" ]] || need+=("$p"); done
  ((${#need[@]})) || return 0
  echo "prepare-audio: fetching ${need[*]}"
  chmod 777 "$PKGROOT/debs"  # apt-get download runs as the _apt user where it can
  (cd "$PKGROOT/debs" && apt-get -qq download "${need[@]}" 2>&1 | grep -v "^W: Download is performed unsandboxed" || true)
  for p in "${need[@]}"; do
    local deb
    deb=$(ls "$PKGROOT/debs/${p}"_*.deb 2>/dev/null | head -1)
    [[ -n "$deb" ]] || { echo "prepare-audio: apt-get download $p failed (run apt-get update?)" >&2; exit 1; }
    dpkg-deb -x "$deb" "$PKGROOT/$p.tmp" && mv "$PKGROOT/$p.tmp" "$PKGROOT/$p"
  done
}

start=$(date +%s)
mkdir -p "$OUT"
if [[ -z "$ONLY" || "$ONLY" == digits ]]; then
  fetch "${DIGIT_DATA[@]}"
  rm -rf "$OUT/sc09" "$OUT/sc09-real"
  t0=$(date +%s)
  /usr/bin/python3 scripts/audio_digits.py --out "$OUT" $SMALL --jobs "$JOBS" --pkgroot "$PKGROOT"
  echo "prepare-audio: digits took $(( $(date +%s) - t0 )) s"
fi
if [[ -z "$ONLY" || "$ONLY" == piano ]]; then
  fetch "${PIANO_DATA[@]}"
  rm -rf "$OUT/piano"
  # Only the packages of this run are searched for MIDI files (a --small run after a full one stays small).
  MIDIROOT="$OUT/.packages/midi"
  rm -rf "$MIDIROOT" && mkdir -p "$MIDIROOT"
  for p in "${PIANO_DATA[@]}"; do ln -s "../$p" "$MIDIROOT/$p"; done
  t0=$(date +%s)
  /usr/bin/python3 scripts/audio_piano.py --out "$OUT" --pkgroot "$MIDIROOT" $SMALL --jobs "$JOBS"
  echo "prepare-audio: piano took $(( $(date +%s) - t0 )) s"
fi
echo "prepare-audio: done in $(( $(date +%s) - start )) s; data in $OUT"
