#!/usr/bin/env bash
# Packs a small, deterministic subset of the audio data of scripts/prepare-audio.sh as FLAC into
# .carry/audio_data.tar (git-ignored, <= 30 MB) for tools/audio_experiments.sh on the GPU machine, which has
# no network and no apt. Needs data/audio/ (scripts/prepare-audio.sh) and sox.
#   piano/train   30 s from the middle of every 3rd training piece (about 8 min; PIANO_SECONDS, PIANO_EVERY)
#   piano/valid   10 s from the middle of every held-out piece of at least 8.2 s (covers a 2^17 window)
#   sc09/train    every 14th clip of each digit (about 120 per digit, all speakers)
#   sc09/valid    every 6th, sc09/test every 4th clip of each digit (held-out speakers and accents),
#   sc09/test_speakers every 2nd (held-out speakers of the training accents)
# Usage: tools/pack_audio_data.sh [DATA_DIR (default data/audio)]
# Knobs: TRAIN_EVERY (14: the sc09/train stride), DIGITS_ONLY=1 (no piano; for tools/digits_sweep.sh),
#        PIANO_ONLY=1 (no sc09), PIANO_SECONDS (30), PIANO_EVERY (3), TAR (.carry/audio_data.tar).
# For the piano context experiment (about 40 MB: the middle 50 s of every training piece, 37 min):
#   PIANO_ONLY=1 PIANO_EVERY=1 PIANO_SECONDS=50 TAR=.carry/piano_data.tar tools/pack_audio_data.sh
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-data/audio}
[[ -d $src/piano/train && -d $src/sc09/train ]] || { echo "pack_audio_data: no $src/piano or $src/sc09: run scripts/prepare-audio.sh first" >&2; exit 1; }
command -v sox >/dev/null || { echo "pack_audio_data: needs sox (scripts/install-deps.sh --data)" >&2; exit 1; }
stage=.carry/audio_data
tarfile=${TAR:-.carry/audio_data.tar}
rm -rf "$stage" "$tarfile"
mkdir -p "$stage"

middle() {  # middle FILE OUT SECONDS: the middle SECONDS (or the whole file when shorter)
  local dur start
  dur=$(soxi -D "$1")
  start=$(awk -v d="$dur" -v s="$3" 'BEGIN { x = (d - s) / 2; print (x > 0 ? x : 0) }')
  sox "$1" -b 16 "$2" trim "$start" "$3"
}

if [[ ${DIGITS_ONLY:-0} != 1 ]]; then
  mkdir -p "$stage/piano/train" "$stage/piano/valid"
  i=0
  for f in $(ls "$src/piano/train"/*.wav | sort); do
    if (( i % ${PIANO_EVERY:-3} == 0 )); then middle "$f" "$stage/piano/train/$(basename "$f" .wav).flac" "${PIANO_SECONDS:-30}"; fi
    i=$((i + 1))
  done
  for f in $(ls "$src/piano/valid"/*.wav | sort); do
    if awk -v d="$(soxi -D "$f")" 'BEGIN { exit !(d >= 8.2) }'; then middle "$f" "$stage/piano/valid/$(basename "$f" .wav).flac" 10; fi
  done
fi

[[ ${PIANO_ONLY:-0} == 1 ]] && skip_digits=1 || skip_digits=0
for split_every in train:${TRAIN_EVERY:-14} valid:6 test:4 test_speakers:2; do
  [[ $skip_digits == 0 && -d $src/sc09/${split_every%%:*} ]] || continue
  split=${split_every%%:*}; every=${split_every##*:}
  for d in "$src/sc09/$split"/*/; do
    digit=$(basename "$d")
    mkdir -p "$stage/sc09/$split/$digit"
    i=0
    for f in $(ls "$d"*.wav | sort); do
      if (( i % every == 0 )); then sox "$f" "$stage/sc09/$split/$digit/$(basename "$f" .wav).flac"; fi
      i=$((i + 1))
    done
  done
done

tar -C .carry -cf "$tarfile" audio_data
rm -rf "$stage"
for s in piano/train piano/valid sc09/train sc09/valid sc09/test sc09/test_speakers; do
  echo "$s: $(tar -tf "$tarfile" | grep -c "^audio_data/$s/.*\.flac$") files"
done
ls -la "$tarfile"
