#!/usr/bin/env bash
# A/B of `mambaseq bench scan` on one GPU: the packed binary (GPU_TAR of tools/gpu_build.sh) against
# another build's mambaseq (OTHER, xz-compressed, e.g. the previous commit's: strip it, xz -9), taking
# turns so both see the same clocks. Run on the device machine, from the repository root:
#   GPU_TAR=.carry/gpu_cli.tar.xz OTHER=.carry/old_mambaseq.xz ROUNDS=2 tools/scan_ab.sh [--set ...]
# Tables go to $OUT/ab_{other,this}_ROUND.txt; the rows are printed as they come.
set -uo pipefail
cd "$(dirname "$0")/.."
source tools/gpu_unpack.sh
ms_require_binaries
[[ -f ${OTHER:-} ]] || { echo "OTHER must name an xz-compressed mambaseq binary"; exit 2; }
out=${OUT:-/tmp/gpu_out}
mkdir -p "$out"
xz -dc "$OTHER" >/tmp/mambaseq/other && chmod +x /tmp/mambaseq/other
status=0
for round in $(seq 1 "${ROUNDS:-1}"); do
  for who in other this; do
    exe=mambaseq
    [[ $who == other ]] && exe=/tmp/mambaseq/other
    $run "$exe" bench scan "$@" >"$out/ab_${who}_$round.txt" 2>&1 || { status=1; echo "$who, round $round failed"; }
    echo "== $who, round $round"
    grep -E ' (real|cplx) ' "$out/ab_${who}_$round.txt"
  done
done
exit $status
