// Step mode: recurrent inference for MambaLM at constant time and memory per token.
//   prefill(prompt) runs the parallel forward over the prompt and keeps its final conv/SSM states;
//   step(tokens) advances every layer by one token; generate() samples a continuation in a batch.
// All work goes through ops, and the per-token buffers are allocated once (a CUDA graph can capture step).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/sampling.h"
#include "model/mamba_lm.h"

namespace ms {

struct InferenceState {
  BackboneState backbone;  // per-layer conv (B, D, K-1) and SSM (B, D, N[, 2]) states
  // Per-token work tensors, reused every step.
  BlockStepBuffers block;
  Tensor hidden, mixer_out, normed;  // (B, d_model), activation dtype
  Tensor residual[2];                // (B, d_model) residual stream (f32), ping-pong
  Tensor rstd;                       // (B)
  Tensor logits;                     // (B, V)
  Tensor logits_f32, tokens;         // sampling input (f32) and output (B) i32
};

InferenceState make_inference_state(const MambaLM& model, int64_t batch);
// Consumes prompt (B, Lp) i32 from the current state (usually fresh) and returns the logits (B, V) for the
// next token. The result is a view of state.logits, valid until the next call.
Tensor lm_prefill(const MambaLM& model, InferenceState& state, const Tensor& prompt);
// Consumes one token per sequence, tokens (B) i32, and returns the next-token logits (B, V) (state.logits).
Tensor lm_step(const MambaLM& model, InferenceState& state, const Tensor& tokens);

struct GenerateOptions {
  SamplingParams sampling;  // temperature <= 0: greedy
  uint64_t seed = 0;        // row b's draw at position i is random_uniform(seed, b, i) (kernels/sampling.h)
  bool cuda_graph = true;   // on CUDA, replay the per-token step as one captured graph
};
// Samples n_new tokens after prompt (B, Lp) (Lp >= 1): returns (B, n_new) i32 on the model's device.
Tensor generate(const MambaLM& model, const Tensor& prompt, int64_t n_new, const GenerateOptions& opt);

}  // namespace ms
