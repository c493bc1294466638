#!/usr/bin/env bash
# Runs on a multi-GPU machine (device tool, e.g. kind nvidia-h100-x2) over the binaries of
# tools/gpu_build.sh: data-parallel audio pretraining over GPUS GPUs (train.batch_size = B per GPU) against
# one GPU with GPUS x B rows, on the same generated audio and the same rows per step. The two must give the
# same training losses up to float reduction order; it prints both curves, the largest relative
# difference, and the tokens/s of each. Logs go to $OUT. Knobs: GPUS (2), STEPS (40), ROWS (4 per GPU),
# CONFIG (configs/piano_unet_small.toml), SECONDS_PER_FILE (6), SETS (more key=value for both runs).
#   run(command="tools/dp_check.sh", carry=[".carry/gpu.tar.xz"], kind="nvidia-h100-x2")
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/dp_out}
gpus=${GPUS:-2}
steps=${STEPS:-40}
rows=${ROWS:-4}
config=${CONFIG:-configs/piano_unet_small.toml}
seconds=${SECONDS_PER_FILE:-6}
read -r -a extra <<< "${SETS:-}"  # more --set key=value for both runs
mkdir -p "$out"
source tools/gpu_unpack.sh
ms_require_binaries
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/gpu.txt"

data=/tmp/dp_audio
python3 - "$data" "$seconds" <<'PY'
import sys, os, wave, numpy as np
root, seconds = sys.argv[1], float(sys.argv[2])
rng = np.random.default_rng(7)
for split, n in (("train", 4), ("valid", 1)):
    os.makedirs(f"{root}/{split}", exist_ok=True)
    for i in range(n):
        t = np.arange(int(16000 * seconds)) / 16000.0
        f0 = rng.uniform(110, 880)
        x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 5))
        x = 0.3 * x / np.abs(x).max() * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t)) + 0.02 * rng.standard_normal(t.size)
        with wave.open(f"{root}/{split}/{split}{i}.wav", "wb") as w:
            w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
            w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
PY
common=(pretrain -c "$config" --set "data.train=$data/train" --set "data.valid=$data/valid"
        --set "train.steps=$steps" --set train.log_every=1 --set train.eval_every=0 --set train.ckpt_every=0
        --set train.device=cuda)
for kv in "${extra[@]}"; do common+=(--set "$kv"); done
rm -rf "$out/one" "$out/dp"
$run mambaseq "${common[@]}" --set "train.batch_size=$((gpus * rows))" --out "$out/one" >"$out/one.log" 2>&1
rc1=$?
$run mambaseq "${common[@]}" --set "train.batch_size=$rows" --set "train.gpus=$gpus" --out "$out/dp" >"$out/dp.log" 2>&1
rc2=$?
echo "one GPU exit $rc1, $gpus GPUs exit $rc2"
tail -n 3 "$out/dp.log"
[[ $rc1 == 0 && $rc2 == 0 ]] || { tail -n 20 "$out/one.log" "$out/dp.log"; exit 1; }
python3 - "$out/one/metrics.jsonl" "$out/dp/metrics.jsonl" <<'PY'
import json, sys
def rows(p):
    r = {}
    for line in open(p):
        j = json.loads(line)
        if j.get("split") == "train": r[j["step"]] = j
    return r
a, b = rows(sys.argv[1]), rows(sys.argv[2])
worst = 0.0
for s in sorted(a):
    la, lb = a[s]["loss"], b[s]["loss"]
    d = abs(la - lb) / abs(la)
    worst = max(worst, d)
    if s <= 3 or s % 10 == 0: print(f"step {s:4d}  one GPU {la:.6f}  data-parallel {lb:.6f}  rel diff {d:.2e}")
print(f"steps compared {len(a)} (data-parallel run logged {len(b)}); largest relative loss difference {worst:.2e}")
ta = sum(a[s]["tokens_per_s"] for s in a if s > 5) / max(1, len([s for s in a if s > 5]))
tb = sum(b[s]["tokens_per_s"] for s in b if s > 5) / max(1, len([s for s in b if s > 5]))
print(f"tokens/s (steps after 5): one GPU {ta:.0f}, data-parallel {tb:.0f}")
sys.exit(0 if len(a) == len(b) and worst < 1e-3 else 1)
PY
