#!/usr/bin/env bash
# Runs several digit-classifier trainings side by side on the GPU machine (device tool), on the digits
# packed by `DIGITS_ONLY=1 TRAIN_EVERY=7 TAR=.carry/digits_data.tar tools/pack_audio_data.sh`:
#   run(command="tools/digits_sweep.sh 'NAME --set k=v ...' ...", carry=[".carry/gpu.tar.xz", ".carry/digits_data.tar"])
# Each argument is one run of configs/digits_classifier.toml: a name and its overrides. A name ending in
# "_half" trains on every other packed training clip (a file list), to compare data sizes in one call.
# RUN_S caps every run (SIGINT, default 540 s). Prints each run's valid curve, final accuracies and
# per-group (per-accent) test accuracy; the run folders' tables come back in $OUT/digits_runs.tar.gz.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/digits_out}
mkdir -p "$out"
source tools/gpu_unpack.sh
data=/tmp/digits_data
if [[ ! -d $data/sc09 ]]; then mkdir -p $data && tar -C $data -xf .carry/digits_data.tar --strip-components=1; fi
ls "$data"/sc09/train/*/*.flac | sort | awk 'NR % 2 == 1' >"$data/train_half.txt"
echo "training clips: $(ls "$data"/sc09/train/*/*.flac | wc -l) (half list: $(wc -l <"$data/train_half.txt"))"
for spec in "$@"; do
  read -r -a a <<<"$spec"
  name=${a[0]}
  train="$data/sc09/train"
  [[ $name == *_half ]] && train="$data/train_half.txt"
  timeout -s INT -k 20 "${RUN_S:-540}" /tmp/mambaseq/gpu/env.sh mambaseq finetune -c configs/digits_classifier.toml \
    --out "/tmp/digits_runs/$name" --set data.train="$train" --set data.valid="$data/sc09/valid" \
    --set data.test="$data/sc09/test" --set data.test_speakers="$([[ -d $data/sc09/test_speakers ]] && echo "$data/sc09/test_speakers")" --set data.real_test= --set data.eval_max_files=220 \
    --set train.device=cuda "${a[@]:1}" >"$out/$name.log" 2>&1 &
done
wait
for spec in "$@"; do
  name=${spec%% *}
  echo "== $spec"
  grep -h '"split":"valid"' "/tmp/digits_runs/$name/metrics.jsonl" |
    sed -E 's/.*"step":([0-9]+).*"accuracy":([-0-9.eE+]+).*/\1:\2/' | tr '\n' ' '
  echo
  sed -n '/digit classifier after/,$p' "$out/$name.log"
  grep -i 'error' "$out/$name.log" | head -2
done
(cd /tmp/digits_runs && tar -czf "$out/digits_runs.tar.gz" */config.toml */metrics.jsonl */*.tsv 2>/dev/null)
