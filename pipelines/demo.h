// `mambaseq demo`: trains a tiny MambaLM on a built-in toy sequence task on the CPU in well under a minute,
// printing the loss as it falls, then continues a prompt in step mode. No data files, no configuration.
//
// The task: every sequence is an arithmetic progression modulo the vocabulary, x_t = (x_0 + k t) mod V, with
// a random start x_0 and a random stride k per sequence. Only the first target (x_1, which reveals k) is
// unpredictable, so the loss can fall from log V (2.77 nats for V = 16) to log(K) / L.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "kernels/random.h"
#include "kernels/tensor.h"
#include "model/config.h"

namespace ms {

struct DemoOptions {
  int64_t steps = 200;
  int64_t batch = 8;
  int64_t seq_len = 64;
  int64_t d_model = 64;
  int64_t n_layer = 2;
  int64_t vocab = 16;
  int64_t max_stride = 5;  // k drawn from 1 .. max_stride
  double lr = 4e-3;
  int64_t warmup = 10;
  SsmKind ssm = SsmKind::real;
  uint64_t seed = 1;
  int64_t log_every = 20;
  std::ostream* out = nullptr;  // progress lines; nullptr = std::cout
};

struct DemoResult {
  std::vector<double> losses;  // per step (training batch, mean nats per token)
  double final_eval_loss = 0, final_eval_accuracy = 0;  // on fresh held-out sequences
  double baseline_loss = 0;    // the best achievable loss on this task (see above)
  double seconds = 0;
  std::string prompt, continuation;  // a greedy step-mode continuation of a held-out progression
  bool continuation_correct = false;
};

// A batch of the toy task: ids (B, L) and next-token targets (B, L), i32 on the CPU.
void demo_batch(Rng& rng, const DemoOptions& opt, Tensor& ids, Tensor& targets);
DemoResult run_demo(const DemoOptions& opt = {});

}  // namespace ms
