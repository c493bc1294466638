// The model side of next-token pretraining, as a small facade: what the pretraining pipeline needs from a
// model (its parameters, a training step, a held-out loss) and nothing about its layers. MambaLM fills it
// here; a Mamba-UNet can fill it the same way (docs/dna-pipelines.md, "Plugging in other data and models").
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "model/mamba_lm.h"
#include "model/params.h"

namespace ms {

struct SequenceModel {
  std::string describe;          // one line (architecture, sizes, parameter count)
  ParamStore* params = nullptr;  // trained by run_training, saved in checkpoints
  int64_t vocab = 0;             // logits per position
  Device device = Device::cpu;
  // inputs, targets (B, L) i32 on the model's device; targets == kIgnoreIndex are not scored.
  // Accumulates the gradient of the mean loss into params' (zeroed) gradients.
  std::function<LossResult(const Tensor& inputs, const Tensor& targets)> forward_backward;
  // Loss without gradients, memory bounded for long windows (chunked or recurrent forward).
  std::function<LossResult(const Tensor& inputs, const Tensor& targets)> loss;
};

// The facade over a MambaLM (held by the caller, who keeps it alive). eval_chunk > 0 evaluates windows
// longer than that in chunks of eval_chunk tokens carrying the recurrent state.
SequenceModel lm_sequence_model(MambaLM& model, int64_t eval_chunk);

}  // namespace ms
