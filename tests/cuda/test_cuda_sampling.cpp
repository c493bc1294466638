// CUDA sampling against the CPU twin: the same logits, seed and step must give the same tokens, for greedy,
// plain temperature sampling, top-k, top-p and both together, vocabularies on both sides of the block-sort
// limit (4096) up to 50257, many rows, and rows full of exact ties, -inf and NaN (bf16 logits tie often):
// the candidate order (logit desc, index asc) and the draw must agree exactly.
#include <cmath>

#include "kernels/sampling.h"
#include "tests/cuda/cuda_test_util.h"

namespace ms {
namespace {

using namespace ms::test;

std::vector<SamplingParams> all_params() {
  std::vector<SamplingParams> ps;
  auto add = [&](double t, int k, double p) {
    SamplingParams s;
    s.temperature = t;
    s.top_k = k;
    s.top_p = p;
    ps.push_back(s);
  };
  add(0.0, 0, 1.0);   // greedy
  add(1.0, 0, 1.0);   // plain
  add(0.7, 0, 1.0);   // temperature
  add(1.0, 1, 1.0);   // top-1 = greedy
  add(1.0, 50, 1.0);  // top-k
  add(1.0, 0, 0.9);   // nucleus
  add(1.3, 20, 0.5);  // both
  add(0.5, 0, 0.0);   // top_p 0 keeps one candidate
  return ps;
}

// Compares GPU and CPU tokens for every parameter set and a few (seed, step) pairs.
void compare(const Tensor& logits_cpu_f32, const Tensor& logits_gpu, const std::string& what) {
  const int64_t B = logits_cpu_f32.size(0);
  for (const SamplingParams& p : all_params())
    for (uint64_t step : {0ull, 1ull, 12345ull}) {
      const uint64_t seed = 17 + step;
      Tensor tg = gpu_poisoned({B}, DType::i32), tc = Tensor::empty({B}, DType::i32);
      sample_tokens(logits_gpu, p, seed, step, tg);
      cpu::sample_tokens(logits_cpu_f32, p, seed, step, tc);
      Tensor th = tg.to(Device::cpu);
      int64_t mismatches = 0;
      for (int64_t b = 0; b < B; ++b) mismatches += th.item(b) != tc.item(b);
      EXPECT_EQ(mismatches, 0) << what << " temperature " << p.temperature << " top_k " << p.top_k << " top_p "
                               << p.top_p << " step " << step;
    }
}

TEST(CudaSampling, SameTokensAsCpu) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (int64_t V : {5, 256, 1000, 4096, 4097, 50257}) {
    const int64_t B = V > 4096 ? 9 : 65;
    Tensor x = rand_normal({B, V}, rng, 2.0);
    compare(x, gpu(x), "f32 V " + std::to_string(V));
    // bf16 logits: the GPU reads bf16, the CPU the same values widened to f32; ties are common.
    Tensor xb = x.to(DType::bf16);
    compare(xb.to(DType::f32), gpu(xb), "bf16 V " + std::to_string(V));
  }
}

TEST(CudaSampling, TiesInfinitiesAndNaN) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (int64_t V : {7, 300, 5000}) {
    const int64_t B = 16;
    Tensor x = Tensor::empty({B, V});
    for (int64_t b = 0; b < B; ++b)
      for (int64_t v = 0; v < V; ++v) {
        // Few distinct values (many exact ties), some -inf, NaN, -0 and +0.
        const uint64_t r = rng.below(10);
        double val = static_cast<double>(rng.below(4)) - 1.5;
        if (r == 0) val = -HUGE_VAL;
        if (r == 1) val = std::nan("");
        if (r == 2) val = (v % 2) ? -0.0 : 0.0;
        x.set_item(b * V + v, val);
      }
    compare(x, gpu(x), "ties V " + std::to_string(V));
  }
}

TEST(CudaSampling, StridedRowsAndArguments) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  Tensor wide = rand_normal({8, 300}, rng);
  Tensor x = wide.slice(1, 7, 7 + 256);
  compare(x.contiguous(), gpu(wide).slice(1, 7, 7 + 256), "strided rows");
  Tensor t = Tensor::empty({3}, DType::i32, Device::cuda);
  EXPECT_THROW(sample_tokens(gpu(x), SamplingParams{}, 0, 0, t), Error);  // tokens has the wrong length
}

}  // namespace
}  // namespace ms
