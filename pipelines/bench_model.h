// `mambaseq bench model|generate|parity`: whole-model figures of issue 4.
//   model     training steps of a MambaLM (default: 6 layers, d_model 128, the paper's DNA size) at growing
//             sequence lengths, batch 1: tokens/s and peak device memory, then the longest length that fits
//   generate  step-mode sampling (CUDA graph on the GPU) of two model sizes at batch 1, 64, 1024:
//             tokens/s, and on the GPU the agreement of greedy tokens with the CPU
//   parity    the same training run (same init, same batches) on the CPU and the GPU: the loss curves'
//             largest relative difference
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/config.h"

namespace ms {

struct ModelBenchSection {
  int64_t d_model = 128, n_layer = 6, vocab = 8;
  std::vector<int64_t> lengths;  // empty: 2^12 .. 2^20 on CUDA, 2^10 .. 2^14 on the CPU
  int64_t batch = 1;
  int64_t steps = 3;             // timed steps after one warm-up step
  bool find_max = true;          // then double L until it no longer fits (CUDA)
  int64_t max_length = int64_t(1) << 26;
  std::string gemm_precision = "fp32";  // fp32 | tf32 (CUDA GEMMs of the f32 model)
};
void bind(cfg::Binder& b, ModelBenchSection& c);

struct GenerateBenchSection {
  std::vector<int64_t> widths{64, 256};   // d_model of each model
  std::vector<int64_t> layers{2, 6};      // n_layer of each model
  std::vector<int64_t> batches{1, 64, 1024};
  int64_t vocab = 256;
  int64_t prompt = 16;
  int64_t tokens = 256;       // generated per sequence (CUDA)
  int64_t cpu_tokens = 32;    // on the CPU
  int64_t agree_tokens = 128; // greedy tokens compared between GPU and CPU
};
void bind(cfg::Binder& b, GenerateBenchSection& c);

struct ParityBenchSection {
  int64_t steps = 200, batch = 8, length = 256, d_model = 64, n_layer = 2, vocab = 16;
  double lr = 1e-3;
};
void bind(cfg::Binder& b, ParityBenchSection& c);

std::string bench_model(const ModelBenchSection& c, bool cuda);
std::string bench_generate(const GenerateBenchSection& c, bool cuda);
std::string bench_parity(const ParityBenchSection& c);

}  // namespace ms
