#include "pipelines/synthetic_data.h"

#include <algorithm>
#include <vector>

#include "kernels/random.h"

namespace ms {

namespace {
// One independent generator per (seed, step, row): rows can be produced in any order or in parallel.
Rng row_rng(uint64_t seed, uint64_t step, int64_t row) {
  return Rng(seed, mix64(step * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(row) + 1));
}
}  // namespace

TokenBatch selective_copying_batch(const SelectiveCopyingSpec& spec, uint64_t seed, uint64_t step, int64_t batch) {
  MS_CHECK(spec.vocab >= 4, "selective copying: vocab must be >= 4 (blank, marker and 2+ data tokens), got ",
           spec.vocab);
  MS_CHECK(spec.n_memorize >= 1 && spec.length >= 2 * spec.n_memorize,
           "selective copying: length (", spec.length, ") must be at least twice n_memorize (", spec.n_memorize, ")");
  const int64_t L = spec.length, M = spec.n_memorize, region = L - M;
  TokenBatch out{Tensor::zeros({batch, L}, DType::i32), Tensor::full({batch, L}, kIgnoreIndex, DType::i32)};
  for (int64_t b = 0; b < batch; ++b) {
    Rng rng = row_rng(seed, step, b);
    int32_t* in = out.inputs.data<int32_t>() + b * L;
    int32_t* tg = out.targets.data<int32_t>() + b * L;
    // M distinct positions in [0, region): partial Fisher-Yates over a virtual identity permutation.
    std::vector<int64_t> pos;
    pos.reserve(M);
    while (static_cast<int64_t>(pos.size()) < M) {
      const int64_t p = static_cast<int64_t>(rng.below(region));
      if (std::find(pos.begin(), pos.end(), p) == pos.end()) pos.push_back(p);
    }
    std::sort(pos.begin(), pos.end());
    for (int64_t i = 0; i < M; ++i) {
      const int32_t tok = 1 + static_cast<int32_t>(rng.below(spec.vocab - 2));
      in[pos[i]] = tok;
      in[region + i] = spec.vocab - 1;
      tg[region + i] = tok;
    }
  }
  return out;
}

TokenBatch induction_heads_batch(const InductionHeadsSpec& spec, int64_t length, uint64_t seed, uint64_t step,
                                 int64_t batch) {
  MS_CHECK(spec.vocab >= 3, "induction heads: vocab must be >= 3, got ", spec.vocab);
  MS_CHECK(length >= 4, "induction heads: length must be >= 4, got ", length);
  const int32_t trigger = spec.vocab - 1;
  TokenBatch out{Tensor::empty({batch, length}, DType::i32), Tensor::full({batch, length}, kIgnoreIndex, DType::i32)};
  for (int64_t b = 0; b < batch; ++b) {
    Rng rng = row_rng(seed, step, b);
    int32_t* in = out.inputs.data<int32_t>() + b * length;
    for (int64_t t = 0; t < length; ++t) in[t] = static_cast<int32_t>(rng.below(spec.vocab - 1));
    const int64_t p = static_cast<int64_t>(rng.below(length - 2));
    in[p] = trigger;
    in[length - 1] = trigger;
    out.targets.data<int32_t>()[b * length + length - 1] = in[p + 1];
  }
  return out;
}

}  // namespace ms
