#!/usr/bin/env bash
# Evaluates a trained synthetic-task run folder (config.toml + last.h5, e.g. an induction-heads model
# trained on the CPU) at every length of the shipped config on the GPU machine (device tool), by resuming
# it at its final step; the folder is copied first, so the original stays as it was:
#   run(command="tools/synth_eval.sh RUN_DIR [--set k=v ...]", carry=[".carry/gpu.tar.xz", "RUN_DIR"])
# Defaults: the eval lengths and eval_tokens of configs/induction_heads.toml. Prints the accuracy table.
set -uo pipefail
cd "$(dirname "$0")/.."
src=${1:?usage: tools/synth_eval.sh RUN_DIR [--set k=v ...]}
shift
source tools/gpu_unpack.sh
work=/tmp/synth_eval/$(basename "$src")
rm -rf "$work" && mkdir -p "$(dirname "$work")" && cp -r "$src" "$work"
lengths=$(sed -n 's/^eval_lengths *= *\(\[[^]]*\]\).*/\1/p' configs/induction_heads.toml | tr -d ' ')
tokens=$(sed -n 's/^eval_tokens *= *\([0-9]*\).*/\1/p' configs/induction_heads.toml)
/tmp/mambaseq/gpu/env.sh mambaseq synth -c "$work/config.toml" --resume --out "$work" --set train.device=cuda \
  --set "task.eval_lengths=$lengths" --set "task.eval_tokens=$tokens" "$@"
