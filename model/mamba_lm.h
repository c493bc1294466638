// MambaLM (mamba_ssm's MambaLMHeadModel): embedding -> n_layer x (residual add + RMSNorm -> Mamba mixer)
// -> residual add + RMSNorm (norm_f) -> LM head tied to the embedding (logits = h @ E^T).
// The residual stream is kept in f32 (f64 for an f64 model) whatever the activation dtype.
// All functions are device-agnostic: the model runs where its parameters are (to_device(model.params, ...)).
#pragma once
#include <functional>
#include <vector>

#include "kernels/cross_entropy.h"
#include "model/config.h"
#include "model/mamba_block.h"
#include "model/params.h"

namespace ms {

struct LayerIds {
  int norm = -1;  // backbone.layers.{i}.norm.weight
  BlockParamIds mixer;
};

struct MambaLM {
  MambaConfig cfg;
  BlockDims dims;
  ParamStore params;  // backbone.*, plus head.* once a classifier head is added
  int embedding = -1;  // backbone.embedding.weight (padded_vocab, d_model); lm_head.weight is its alias
  int norm_f = -1;     // backbone.norm_f.weight
  std::vector<LayerIds> layers;
  DType dtype() const { return params.dtype(); }
  Device device() const { return params.device(); }
  int64_t vocab() const { return cfg.padded_vocab_size(); }
};

// Builds and initializes a model deterministically from cfg.seed (validated first). dtype f32 or f64.
MambaLM make_mamba_lm(const MambaConfig& cfg, DType dtype = DType::f32, Device device = Device::cpu);

// Recurrent state of the whole backbone: one BlockState per layer, plus the number of tokens consumed.
struct BackboneState {
  std::vector<BlockState> layers;
  int64_t batch = 0;
  int64_t position = 0;
};
BackboneState make_backbone_state(const MambaLM& model, int64_t batch);  // zeros (an empty prefix)

// What backbone_forward keeps for backbone_backward.
struct LayerSaved {
  Tensor residual_out;  // (B*L, d_model) the residual stream entering this layer's norm (f32)
  Tensor rstd;          // (B*L)
  BlockSaved mixer;
};
struct BackboneSaved {
  Tensor ids;
  std::vector<LayerSaved> layers;
  Tensor residual_f, rstd_f;  // final add + norm
};

// The backbone alone: ids (B, L) i32 -> hidden (B, L, d_model), the output of norm_f.
// saved: for backbone_backward (nullptr: inference). state: carried recurrent state (nullptr: start from
// zeros and keep nothing); when given it is read as the initial state and advanced past these L tokens,
// so calling this on consecutive chunks of a sequence equals one call on the whole sequence.
Tensor backbone_forward(const MambaLM& model, const Tensor& ids, BackboneSaved* saved, BackboneState* state);
// Accumulates every backbone parameter gradient from dhidden (B, L, d_model), the gradient of the output.
void backbone_backward(const MambaLM& model, const BackboneSaved& saved, const Tensor& dhidden);

// logits (R, V) = hidden (R, d_model) @ E^T (the tied LM head); hidden rows may be strided.
void lm_head_forward(const MambaLM& model, const Tensor& hidden, const Tensor& logits);

// Result of a loss computation over the valid (target != ignore_index) tokens.
struct LossResult {
  double loss = 0.0;      // mean cross-entropy over valid tokens (nats)
  double accuracy = 0.0;  // share of valid tokens whose argmax logit is the target
  double loss_sum = 0.0;
  int64_t n_valid = 0, n_correct = 0;
};

// Next-token training step: ids, targets (B, L) i32. Computes the mean loss and accumulates its gradient
// into model.params' grads (call zero_grad first; gradients of several calls add up, each scaled by
// grad_scale / n_valid). A non-finite loss is an error.
LossResult lm_forward_backward(const MambaLM& model, const Tensor& ids, const Tensor& targets,
                               int ignore_index = kIgnoreIndex, double grad_scale = 1.0);
// Loss and accuracy without gradients. chunk_len > 0 processes the sequence in chunks of that length,
// carrying the recurrent state, so memory is bounded by the chunk (evaluation at L = 2^20).
LossResult lm_loss(const MambaLM& model, const Tensor& ids, const Tensor& targets, int ignore_index = kIgnoreIndex,
                   int64_t chunk_len = 0);
// Logits (B, L, V) of a whole sequence; chunk_len > 0 as above.
Tensor lm_logits(const MambaLM& model, const Tensor& ids, int64_t chunk_len = 0);
// Chunked forward with a callback per chunk: fn(start, logits (B, len, V)) for consecutive chunks. Only one
// chunk's activations are alive at a time. `state` (optional) continues from and advances a prefix.
void lm_forward_chunked(const MambaLM& model, const Tensor& ids, int64_t chunk_len,
                        const std::function<void(int64_t start, const Tensor& logits)>& fn,
                        BackboneState* state = nullptr);

}  // namespace ms
