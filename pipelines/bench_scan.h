// `mambaseq bench scan`: times the CUDA selective scan on the anchor's shapes (D = 1024, N = 16, one group,
// D skip, z gating, delta_bias, softplus, B x L = 2^20 tokens) and compares with the memory floor and with
// the official kernel's times (../shared/anchors/h100_selective_scan.md).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "kernels/tensor.h"

namespace ms {

struct ScanBenchOptions {
  int64_t tokens = int64_t(1) << 20;  // B * L
  int64_t dim = 1024, state = 16;
  std::vector<int64_t> lengths = {1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20};
  std::vector<DType> dtypes = {DType::f32, DType::bf16};
  bool backward = true;
  bool complex_row = true;  // add complex A (S4D-Lin), f32, L = 65536 (the anchor's complex shape)
  int warmup = 3, iters = 10;
  // Kernel variants to time, each "FWD/BWD" for MAMBASEQ_SCAN_FWD / MAMBASEQ_SCAN_BWD (CUDA build,
  // kernels/cuda/selective_scan.cu); empty: the defaults only.
  std::vector<std::string> impls;
};

// An entry of ScanBenchOptions::impls, "FWD/BWD", split into the values of MAMBASEQ_SCAN_FWD and
// MAMBASEQ_SCAN_BWD; a one-line error naming the entry when it is not of that form (checked before any
// GPU work, and on the CPU too).
std::pair<std::string, std::string> split_scan_impl(const std::string& impl);

struct ScanBenchRow {
  std::string dtype;
  std::string impl;  // "FWD/BWD" when variants were compared, else empty
  bool complex = false;
  int64_t len = 0, batch = 0;
  double fwd_ms = 0, bwd_ms = -1;          // medians; bwd_ms < 0 when backward was not timed
  double fwd_bytes = 0, bwd_bytes = 0;     // bytes that must move through HBM (inputs read once, outputs written once)
  double fwd_floor_ms = 0, bwd_floor_ms = 0;  // those bytes at the measured copy bandwidth
  double fwd_anchor_ms = 0, bwd_anchor_ms = 0;  // the official kernel on an H100 (0 = no anchor)
  int rotation = 1;                        // input sets cycled through so the L2 cache cannot hold them
};

struct ScanBenchResult {
  std::string device;
  double copy_gbps = 0;  // device-to-device copy, bytes read + written per second / 1e9
  std::vector<ScanBenchRow> rows;
};

// Runs the benchmark on the current CUDA device; fails with a clear message without CUDA.
ScanBenchResult bench_scan(const ScanBenchOptions& opt);

// The table: shape, dtype, fwd/bwd ms, achieved GB/s, fraction of the floor (floor ms / measured ms),
// and the speed-up over the anchor (anchor ms / measured ms).
void print_scan_bench(const ScanBenchResult& r, std::FILE* out);

}  // namespace ms
