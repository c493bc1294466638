#!/usr/bin/env bash
# Runs on the GPU machine (device tool) over binaries packed by tools/gpu_build.sh: profiles the selective
# scan kernels with Nsight Compute on one bench shape and dumps the SASS of the real N = 16 sliced kernels, so the
# per-kernel stall reasons, pipe use and instruction counts behind docs/cuda-scan-notes.md can be re-read.
#   run(command="tools/scan_profile.sh", carry=[".carry/gpu.tar.xz"])
# PROFILE_LENGTHS (default 1048576; comma-separated), PROFILE_DTYPES (default bf16), PROFILE_KERNELS (an ncu kernel-name
# regex, default the sliced forward/backward kernels), PROFILE_COUNT (kernels profiled, default 12).
# Output in $OUT: ncu_<dtype>.txt (details page of each kernel), sass_sliced.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu_out}
mkdir -p "$out"
source tools/gpu_unpack.sh
run=/tmp/mambaseq/gpu/env.sh
[[ -x $run ]] || { echo "no packed binaries: run tools/gpu_build.sh here and carry .carry/gpu.tar.xz"; exit 2; }
ncu_bin=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
[[ -n $ncu_bin ]] || { echo "no ncu on this machine"; exit 2; }
# Pipe use (xu = MUFU) and the stall reasons, in cycles per issued instruction.
metrics=sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active
metrics+=,sm__pipe_alu_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_lsu.avg.pct_of_peak_sustained_active
metrics+=,smsp__inst_executed.sum,regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio
status=0
for dt in ${PROFILE_DTYPES:-bf16}; do
  "$ncu_bin" --target-processes all --kernel-name "regex:${PROFILE_KERNELS:-sliced_kernel|sliced_local}" \
    --launch-count "${PROFILE_COUNT:-12}" --section SpeedOfLight --section ComputeWorkloadAnalysis \
    --section SchedulerStats --section WarpStateStats --section InstructionStats --section Occupancy \
    --section LaunchStats --metrics "$metrics" $run mambaseq bench scan \
    --set "scan.lengths=[${PROFILE_LENGTHS:-1048576}]" --set "scan.dtypes=[\"$dt\"]" --set scan.iters=1 \
    --set scan.warmup=0 --set scan.complex_row=false \
    >"$out/ncu_$dt.txt" 2>&1 || { status=1; echo "ncu ($dt) failed"; tail -5 "$out/ncu_$dt.txt"; }
  grep -E '^  [a-z_]+.*\(|Duration|Issue Slots Busy|Executed Ipc A|No Eligible|Warp Cycles Per Issued|Registers Per|Achieved Occupancy|pipe_|inst_executed.sum|stalled' \
    "$out/ncu_$dt.txt" >"$out/ncu_${dt}_summary.txt"
  grep -E '^  [a-z_]+.*\(|Duration' "$out/ncu_$dt.txt" | head -30
done
cuobjdump_bin=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
"$cuobjdump_bin" -sass /tmp/mambaseq/gpu/bin/mambaseq 2>/dev/null |
  awk '/Function : / {on = /(fwd_sliced_kernel|bwd_sliced_local_kernel)/ && /Li16ELb0E/} on' \
  >"$out/sass_sliced.txt"
echo "sass: $(grep -c 'Function :' "$out/sass_sliced.txt") functions, $(wc -l <"$out/sass_sliced.txt") lines"
exit $status
