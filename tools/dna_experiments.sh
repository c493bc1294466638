#!/usr/bin/env bash
# The DNA experiments of issue 5 in one call on the GPU machine (device tool), over the binaries packed by
# tools/gpu_build.sh and the genomes prepared by scripts/prepare-genomes.sh (carry both):
#   run(command="tools/dna_experiments.sh", carry=[".carry/gpu.tar.xz", "data/genomes"])
# Runs the shipped configs as they are (they are sized for 2 CPU cores, so they finish in seconds on a GPU),
# plus the strain sweep from scratch and from the S. aureus backbone. Results land in $OUT.
# STEPS_SCALE=N multiplies the classification steps (default 1: the shipped configs unchanged);
# EXPERIMENTS="..." picks some of: bench_io pretrain_small species pretrain_saureus strain (default all).
# Logs and result tables (no checkpoints) come back packed as $OUT/dna_results.tar.gz.
set -uo pipefail
cd "$(dirname "$0")/.."
final=${OUT:-/tmp/dna_out}
out=/tmp/dna_results
rm -rf "$out"
mkdir -p "$out" "$final"
trap 'tar -C /tmp -czf "$final/dna_results.tar.gz" dna_results' EXIT
want() { [[ " ${EXPERIMENTS:-bench_io pretrain_small species pretrain_saureus strain} " == *" $1 "* ]]; }
source tools/gpu_unpack.sh
ms=(/tmp/mambaseq/gpu/env.sh mambaseq)
[[ -x ${ms[0]} ]] || { echo "no packed binaries: run tools/gpu_build.sh here and carry .carry/gpu.tar.xz"; exit 2; }
[[ -f data/genomes/manifest.tsv ]] || { echo "no genomes: run scripts/prepare-genomes.sh here and carry data/genomes"; exit 2; }
scale=${STEPS_SCALE:-1}
runs=/tmp/dna_runs
rm -rf "$runs"
mkdir -p "$runs"

step() {  # step NAME COMMAND...: runs one experiment, keeps its log and prints its closing lines
  local name=$1; shift
  local t0=$SECONDS
  "$@" >"$out/$name.log" 2>&1
  local rc=$?
  echo "== $name: exit $rc, $((SECONDS - t0)) s"
  tail -n 14 "$out/$name.log"
}
copy_results() {  # the small result files of a run folder (no checkpoints)
  local src=$1 dst=$out/$2
  mkdir -p "$dst"
  (cd "$src" && find . -name '*.tsv' -o -name '*.jsonl' -o -name 'config.toml' -o -name 'data.txt') |
    while read -r f; do mkdir -p "$dst/$(dirname "$f")"; cp "$src/$f" "$dst/$f"; done
}

if want bench_io; then
  step bench_io "${ms[@]}" bench io --set io.fasta=data/genomes/E.Coli/MG1655-K12.fa.gz
fi
if want pretrain_small; then
  step pretrain_small "${ms[@]}" pretrain -c configs/dna_pretrain_small.toml --out "$runs/dna_small"
  copy_results "$runs/dna_small" dna_small
fi
if want species; then
step species_scratch "${ms[@]}" finetune -c configs/species_classify.toml --out "$runs/species_scratch" \
  --set "train.steps=$((300 * scale))"
copy_results "$runs/species_scratch" species_scratch
step species_pretrained "${ms[@]}" finetune -c configs/species_classify.toml --out "$runs/species_pretrained" \
  --set "train.steps=$((300 * scale))" --ckpt "$runs/dna_small/last.h5"
copy_results "$runs/species_pretrained" species_pretrained
fi
if want pretrain_saureus; then
step pretrain_saureus "${ms[@]}" pretrain -c configs/dna_pretrain_saureus.toml --out "$runs/dna_saureus"
copy_results "$runs/dna_saureus" dna_saureus
fi
if want strain; then
step strain_scratch "${ms[@]}" finetune -c configs/strain_classify.toml --out "$runs/strain_scratch" \
  --set "train.steps=$((300 * scale))"
copy_results "$runs/strain_scratch" strain_scratch
step strain_pretrained "${ms[@]}" finetune -c configs/strain_classify.toml --out "$runs/strain_pretrained" \
  --set "train.steps=$((300 * scale))" --ckpt "$runs/dna_saureus/last.h5"
copy_results "$runs/strain_pretrained" strain_pretrained
fi
echo "== summary"
for r in strain_scratch strain_pretrained; do echo "-- $r"; cat "$out/$r/sweep.tsv" 2>/dev/null; done
cat "$out/dna_small/heldout.tsv" "$out/dna_saureus/heldout.tsv" 2>/dev/null
