// `mambaseq bench scan|model|generate|io`: speed and memory of the hot paths, each printing a table last.
// Settings come from --set on a BenchConfig (scan.lengths=[4096], device="cpu", ...).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/config.h"
#include "pipelines/bench_model.h"

namespace ms {

struct ScanBenchSection {
  std::vector<int64_t> lengths;           // empty: the anchor's 2^10 .. 2^20 (CUDA), 2^20 (CPU)
  std::vector<std::string> dtypes{"f32", "bf16"};
  int64_t tokens = int64_t(1) << 20;      // B * L
  int64_t dim = 1024;                     // D (CPU default below)
  int64_t state = 16;
  bool backward = true;
  bool complex_row = true;
  int64_t iters = 10, warmup = 3;
  // CUDA kernel variants timed side by side on the same inputs, each "FWD/BWD" as the values of
  // MAMBASEQ_SCAN_FWD / MAMBASEQ_SCAN_BWD (e.g. "auto/auto", "sliced:1/wide:1"); empty: the defaults.
  std::vector<std::string> impls;
  int64_t cpu_dim = 256;                  // the CPU figure of issue 2: B = 1, D = 256, L = 2^20
};
void bind(cfg::Binder& b, ScanBenchSection& c);

struct IoBenchSection {
  std::string fasta = "data/genomes/E.Coli/MG1655-K12.fa.gz";
  int64_t window = int64_t(1) << 20;
  int64_t batch = 1;
  double min_seconds = 1.0;
};
void bind(cfg::Binder& b, IoBenchSection& c);

struct BenchConfig {
  std::string device = "auto";  // cpu | cuda | auto
  int64_t threads = 0;
  ScanBenchSection scan;
  IoBenchSection io;
  ModelBenchSection model;
  GenerateBenchSection generate;
  ParityBenchSection parity;
};
void bind(cfg::Binder& b, BenchConfig& c);

struct BenchRequest {
  std::string what;                // scan | model | generate | parity | io
  std::vector<std::string> sets;
  std::string out;                 // when set, the table is also written to out/bench_<what>.txt
};

// Runs one benchmark; returns the printed table.
std::string run_bench(const BenchRequest& req);

}  // namespace ms
