#!/usr/bin/env bash
# Runs on the GPU machine (device tool) over binaries packed by tools/gpu_build.sh: profiles the selective
# scan kernels with Nsight Compute through `mambaseq bench scan` on one shape, so the measurements behind
# docs/cuda-scan-notes.md can be re-read (there is no disassembler on the build machine).
#   run(command="tools/scan_profile.sh [summary|hot]", carry=[".carry/gpu.tar.xz"])
# summary (default): pipe use, stall reasons and instruction counts per kernel, and the SASS of the real
#   N = 16 sliced kernels. PROFILE_KERNELS (an ncu kernel-name regex, default the sliced forward and
#   backward kernels), PROFILE_COUNT (launches profiled, default 12). Output in $OUT: ncu_<dtype>.txt
#   (details page of each kernel), ncu_<dtype>_summary.txt, sass_sliced.txt.
# hot: stall samples per SASS instruction (source counters), one launch per entry of PROFILE_KERNELS
#   (space-separated regexes, default "fwd_sliced_kernel bwd_sliced_kernel": the first launch of each;
#   NAME:K takes the launch after K matching ones, e.g. fwd_sliced_kernel:1 = the main pass where the
#   forward splits). Output in $OUT: hot_<kernel><K>.csv.gz (one row per SASS instruction: executed count,
#   stall samples by reason; read with tools/scan_hot_report.py), hot_summary_<kernel><K>.txt.
# Both: PROFILE_LENGTHS (comma-separated; default 1048576 for summary, 65536 for hot), PROFILE_DTYPES
# (default bf16).
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-summary}
[[ $mode == summary || $mode == hot ]] || { echo "usage: tools/scan_profile.sh [summary|hot]"; exit 2; }
out=${OUT:-/tmp/gpu_out}
mkdir -p "$out"
source tools/gpu_unpack.sh
ms_require_binaries
ncu_bin=$(ms_find_ncu)
[[ -n $ncu_bin ]] || { echo "no ncu on this machine"; exit 2; }
"$ncu_bin" --version | tail -1
# ncu over one bench call of dtype $1 at the lengths asked for; the remaining arguments go to ncu.
profile_bench() {
  local dt=$1 default_len=$2
  shift 2
  "$ncu_bin" --target-processes all "$@" $run mambaseq bench scan \
    --set "scan.lengths=[${PROFILE_LENGTHS:-$default_len}]" --set "scan.dtypes=[\"$dt\"]" --set scan.iters=1 \
    --set scan.warmup=0 --set scan.complex_row=false
}
status=0
for dt in ${PROFILE_DTYPES:-bf16}; do
  if [[ $mode == summary ]]; then
    # Pipe use (xu = MUFU) and the stall reasons, in cycles per issued instruction.
    metrics=sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active
    metrics+=,sm__pipe_alu_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_lsu.avg.pct_of_peak_sustained_active
    metrics+=,smsp__inst_executed.sum,regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio
    profile_bench "$dt" 1048576 --kernel-name "regex:${PROFILE_KERNELS:-sliced_kernel|sliced_local}" \
      --launch-count "${PROFILE_COUNT:-12}" --section SpeedOfLight --section ComputeWorkloadAnalysis \
      --section SchedulerStats --section WarpStateStats --section InstructionStats --section Occupancy \
      --section LaunchStats --metrics "$metrics" \
      >"$out/ncu_$dt.txt" 2>&1 || { status=1; echo "ncu ($dt) failed"; tail -5 "$out/ncu_$dt.txt"; }
    grep -E '^  [a-z_]+.*\(|Duration|Issue Slots Busy|Executed Ipc A|No Eligible|Warp Cycles Per Issued|Registers Per|Achieved Occupancy|pipe_|inst_executed.sum|stalled' \
      "$out/ncu_$dt.txt" >"$out/ncu_${dt}_summary.txt"
    grep -E '^  [a-z_]+.*\(|Duration' "$out/ncu_$dt.txt" | head -30
    continue
  fi
  for spec in ${PROFILE_KERNELS:-fwd_sliced_kernel bwd_sliced_kernel}; do
    k=${spec%%:*} skip=0
    [[ $spec == *:* ]] && skip=${spec#*:}
    name=$k$skip rep=/tmp/scan_hot_$k$skip
    rm -f "$rep.ncu-rep"
    profile_bench "$dt" 65536 --kernel-name "regex:$k" --launch-skip "$skip" --launch-count 1 \
      --section SourceCounters --section WarpStateStats --section SchedulerStats --section LaunchStats \
      --section Occupancy --section ComputeWorkloadAnalysis --import-source no -o "$rep" \
      >"$out/hot_run_$name.txt" 2>&1 || { status=1; echo "ncu $k failed"; tail -20 "$out/hot_run_$name.txt"; continue; }
    "$ncu_bin" -i "$rep.ncu-rep" --page details >"$out/hot_summary_$name.txt" 2>&1
    grep -E '^  [a-zA-Z_].*\(|Duration|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Registers Per|Achieved Occupancy' \
      "$out/hot_summary_$name.txt" | head -20
    "$ncu_bin" -i "$rep.ncu-rep" --page source --print-source sass --csv >"$out/hot_$name.csv" 2>"$out/hot_$name.err" ||
      { status=1; echo "source page of $k failed:"; head -5 "$out/hot_$name.err"; }
    echo "$k: $(wc -l <"$out/hot_$name.csv") lines of SASS"
    gzip -f "$out/hot_$name.csv"
    rm -f "$out/hot_run_$name.txt" "$out/hot_$name.err"  # few files come back per call
  done
done
if [[ $mode == summary ]]; then
  cuobjdump_bin=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
  "$cuobjdump_bin" -sass /tmp/mambaseq/gpu/bin/mambaseq 2>/dev/null |
    awk '/Function : / {on = /(fwd_sliced_kernel|bwd_sliced_local_kernel)/ && /Li16ELb0E/} on' \
    >"$out/sass_sliced.txt"
  echo "sass: $(grep -c 'Function :' "$out/sass_sliced.txt") functions, $(wc -l <"$out/sass_sliced.txt") lines"
fi
exit $status
