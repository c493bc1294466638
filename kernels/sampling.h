// Batched next-token sampling from logits, identical on CPU and CUDA.
//   logits (B, V) f32, rows contiguous; tokens (B) i32 output.
//   temperature <= 0 -> greedy (argmax; the lowest index wins ties).
//   Otherwise p = softmax(logits / temperature), restricted to the top_k largest (top_k <= 0: all), then to
//   the smallest set of largest probabilities whose sum reaches top_p (top_p >= 1: all), renormalized;
//   row b draws u = random_uniform(seed, b, step) and takes the first token (in descending-probability
//   order, ties by lower index) whose cumulative probability exceeds u.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace ms {

struct SamplingParams {
  double temperature = 1.0;
  int top_k = 0;
  double top_p = 1.0;
};

MS_DECLARE_OP(void, sample_tokens,
              (const Tensor& logits, const SamplingParams& params, uint64_t seed, uint64_t step,
               const Tensor& tokens))

inline void sample_tokens(const Tensor& logits, const SamplingParams& params, uint64_t seed, uint64_t step,
                          const Tensor& tokens) {
  MS_DISPATCH(logits, sample_tokens, logits, params, seed, step, tokens);
}

}  // namespace ms
