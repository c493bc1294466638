// Data of the Mamba paper's synthetic tasks, generated deterministically from (seed, step, row) so a
// resumed run sees exactly the batches an uninterrupted run would have.
//
// Selective Copying: `n_memorize` data tokens (values 1 .. vocab-2) at random, sorted positions of the
//   first L - n_memorize places, blank token 0 everywhere else there; then n_memorize copies of the
//   marker token vocab-1. The target at the i-th marker is the i-th data token; all other targets are
//   ignored. The model must pick the data out of the noise by content, not by position.
// Induction Heads: random tokens 0 .. vocab-2; the trigger token vocab-1 appears exactly twice: once at a
//   random position p < L-2, followed by the answer token at p+1, and once at the last position L-1.
//   Only the last position has a target: the answer. Solving it at any length means recalling one token
//   after a key, however far back.
#pragma once
#include <cstdint>

#include "kernels/cross_entropy.h"
#include "kernels/tensor.h"

namespace ms {

struct TokenBatch {
  Tensor inputs;   // (B, L) i32, CPU
  Tensor targets;  // (B, L) i32, kIgnoreIndex where no prediction is scored
};

struct SelectiveCopyingSpec {
  int vocab = 16;
  int n_memorize = 16;
  int64_t length = 4096;  // total sequence length, markers included
};

struct InductionHeadsSpec {
  int vocab = 16;
};

TokenBatch selective_copying_batch(const SelectiveCopyingSpec& spec, uint64_t seed, uint64_t step, int64_t batch);
TokenBatch induction_heads_batch(const InductionHeadsSpec& spec, int64_t length, uint64_t seed, uint64_t step,
                                 int64_t batch);

}  // namespace ms
