#!/usr/bin/env bash
# Runs on the GPU machine (device tool) over binaries packed by tools/gpu_build.sh: samples where the
# selective-scan kernels stall, per SASS instruction (Nsight Compute's source counters), through
# `mambaseq bench scan` on one shape, so the hot instructions behind docs/cuda-scan-notes.md can be read
# without a disassembler on the build machine.
#   run(command="tools/scan_hotspots.sh", carry=[".carry/gpu.tar.xz"])
# HOT_LENGTH (default 65536), HOT_DTYPE (default bf16), HOT_KERNELS (kernel-name regexes, space-separated,
# default the sliced forward and backward kernels: the first launch of each is profiled; NAME:K profiles the
# launch after K matching ones, e.g. fwd_sliced_kernel:1 = the main pass where the forward splits).
# Output in $OUT: hot_<kernel>.csv.gz (one row per SASS instruction: executed count, stall samples by
# reason), hot_summary_<kernel>.txt (details page).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu_out}
mkdir -p "$out"
source tools/gpu_unpack.sh
run=/tmp/mambaseq/gpu/env.sh
[[ -x $run ]] || { echo "no packed binaries: run tools/gpu_build.sh here and carry .carry/gpu.tar.xz"; exit 2; }
ncu_bin=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
[[ -n $ncu_bin ]] || { echo "no ncu on this machine"; exit 2; }
"$ncu_bin" --version | tail -1
status=0
for spec in ${HOT_KERNELS:-fwd_sliced_kernel bwd_sliced_kernel}; do
  k=${spec%%:*} skip=0
  [[ $spec == *:* ]] && skip=${spec#*:}
  rep=/tmp/scan_hot_$k$skip
  rm -f "$rep.ncu-rep"
  # The first launch whose name matches (at an unsplit length that is the main pass).
  "$ncu_bin" --target-processes all --kernel-name "regex:$k" --launch-skip "$skip" --launch-count 1 --section SourceCounters \
    --section WarpStateStats --section SchedulerStats --section LaunchStats --section Occupancy \
    --section ComputeWorkloadAnalysis --import-source no -o "$rep" \
    $run mambaseq bench scan --set "scan.lengths=[${HOT_LENGTH:-65536}]" --set "scan.dtypes=[\"${HOT_DTYPE:-bf16}\"]" \
    --set scan.iters=1 --set scan.warmup=0 --set scan.complex_row=false >"$out/hot_run_$k$skip.txt" 2>&1 || { status=1; echo "ncu $k failed"; tail -20 "$out/hot_run_$k$skip.txt"; continue; }
  "$ncu_bin" -i "$rep.ncu-rep" --page details >"$out/hot_summary_$k$skip.txt" 2>&1
  grep -E '^  [a-zA-Z_].*\(|Duration|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Registers Per|Achieved Occupancy' \
    "$out/hot_summary_$k$skip.txt" | head -20
  "$ncu_bin" -i "$rep.ncu-rep" --page source --print-source sass --csv >"$out/hot_$k$skip.csv" 2>"$out/hot_$k$skip.err" ||
    { status=1; echo "source page of $k failed:"; head -5 "$out/hot_$k$skip.err"; }
  echo "$k: $(wc -l <"$out/hot_$k$skip.csv") lines of SASS"
  gzip -f "$out/hot_$k$skip.csv"
done
exit $status
