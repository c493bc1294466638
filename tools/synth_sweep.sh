#!/usr/bin/env bash
# Runs several synthetic-task trainings side by side on the GPU machine to calibrate configs (device tool):
#   run(command="tools/synth_sweep.sh 'NAME CONFIG --set k=v ...' ...", carry=[".carry/gpu.tar.xz"])
# Each argument is one run: a name, a config and its overrides. Prints each run's eval rows.
# RUN_S caps every run (SIGINT after that many seconds; default 540, under the device's 10-minute limit):
# the evaluations logged so far stay in the table.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/sweep_out}
mkdir -p "$out"
source tools/gpu_unpack.sh
for spec in "$@"; do
  read -r -a a <<<"$spec"
  name=${a[0]}
  timeout -s INT "${RUN_S:-540}" /tmp/mambaseq/gpu/env.sh mambaseq synth -c "${a[1]}" --set train.device=cuda --set train.threads=1 \
    --out "/tmp/sweep/$name" "${a[@]:2}" >"$out/$name.log" 2>&1 &
done
wait
for spec in "$@"; do
  name=${spec%% *}
  echo "== $name: $spec"
  grep -h '"eval"' "/tmp/sweep/$name/metrics.jsonl" | sed -E 's/.*"step":([0-9]+).*"accuracy":([0-9.]+).*"length":([0-9]+).*/step \1 L \3 acc \2/' | tr '\n' ';'
  echo
  grep -h '"train"' "/tmp/sweep/$name/metrics.jsonl" | tail -1
  grep -i 'error' "$out/$name.log" | head -2
done
# The runs' checkpoints, configs and metrics come back too (small models: a few MB).
(cd /tmp/sweep && tar -czf "$out/sweep_runs.tar.gz" */config.toml */metrics.jsonl */last.h5 2>/dev/null)
