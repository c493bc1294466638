// Mamba-UNet: SaShiMi's multi-scale layout with Mamba blocks, for 8-bit audio tokens (see docs/unet.md).
//
//   ids (B, L) -> embedding (B, L, d_model) -> F_0 -> RMSNorm (norm_f) -> lm_head -> logits (B, L, vocab)
//   F_l(x) at level l (width W_l = d_model * width_factor^l, length L_l = L / (p_0 ... p_{l-1})):
//     y = down stack_l(x)                             Mamba blocks; y is also the skip connection
//     c = F_{l+1}(down_pool_l(y))                     (B, L_l / p_l, W_{l+1})
//     u = y + up_pool_l(c), shifted by p_l - 1        model/pooling.h
//     F_l(x) = up stack_l(u)
//   F_S (the centre, S = number of pooling factors) = centre stack.
// A stack is n pre-norm residual Mamba blocks, as MambaLM's layers (add + RMSNorm -> mixer), whose output is
// the residual stream x + sum of the mixers' outputs (x itself when n = 0).
// Causality: logits[t] depend on ids[0 .. t] only (the next-token convention of MambaLM: logits[t] predict
// ids[t + 1]); the shift of p - 1 is the smallest that keeps this (proof in docs/unet.md).
// Every computation goes through ops, so the model runs where its parameters are, in f32 or f64.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/generation.h"
#include "model/mamba_block.h"
#include "model/mamba_lm.h"
#include "model/params.h"

namespace ms {

struct UNetConfig {
  int64_t d_model = 64;                // width of the outermost level
  std::vector<int64_t> pool = {4, 4};  // pooling factors, outermost first; L must be a multiple of their product
  int64_t width_factor = 2;            // width multiplier per level (SaShiMi's `expand`): D, 2D, 4D, ...
  int64_t n_layer = 2;                 // Mamba blocks in every stack, unless overridden below
  std::vector<int64_t> down_layers;    // per level (size = pool.size()); empty: n_layer each
  std::vector<int64_t> up_layers;      // per level; empty: n_layer each
  int64_t center_layers = -1;          // -1: n_layer
  int64_t vocab_size = 256;
  // Mamba block hyperparameters (as MambaConfig); dt_rank 0 = ceil(width / 16) at each level.
  int64_t d_state = 16, d_conv = 4, expand = 2, dt_rank = 0;
  double dt_min = 1e-3, dt_max = 1e-1, dt_init_floor = 1e-4;
  double norm_eps = 1e-5;
  SsmKind ssm = SsmKind::real;
  uint64_t seed = 0;

  int64_t levels() const { return static_cast<int64_t>(pool.size()); }  // S; the centre is level S
  int64_t total_pool() const;                                           // product of the factors
  int64_t width(int64_t level) const;                                   // W_level, level 0 .. S
  int64_t n_down(int64_t level) const;
  int64_t n_up(int64_t level) const;
  int64_t n_center() const;
  int64_t total_blocks() const;
  // The block hyperparameters at one level, as a MambaConfig (d_model = width(level)).
  MambaConfig block_config(int64_t level) const;
  // Throws a one-line error naming the first bad field.
  void validate() const;
  std::string describe() const;
};

// One level's parameters (ids into the store). At the centre (level S) only `down` is used (its blocks).
struct UNetLevel {
  int64_t width = 0, pool = 0;  // pool = 0 at the centre
  BlockDims dims;
  std::vector<LayerIds> down, up;    // unet.down.{l}.blocks.{k} / unet.up.{l}.blocks.{k} / unet.center.blocks.{k}
  int down_pool = -1, up_pool = -1;  // unet.down.{l}.pool.weight (W_{l+1}, p W_l), unet.up.{l}.pool.weight (p W_l, W_{l+1})
};

struct MambaUNet {
  UNetConfig cfg;
  ParamStore params;
  int embedding = -1;  // unet.embedding.weight (vocab, d_model)
  int norm_f = -1;     // unet.norm_f.weight (d_model)
  int lm_head = -1;    // lm_head.weight (vocab, d_model), not tied
  std::vector<UNetLevel> levels;  // S + 1 entries, the centre last
  DType dtype() const { return params.dtype(); }
  Device device() const { return params.device(); }
  int64_t vocab() const { return cfg.vocab_size; }
};

// Builds and initializes the model deterministically from cfg.seed (validated first). dtype f32 or f64.
MambaUNet make_mamba_unet(const UNetConfig& cfg, DType dtype = DType::f32, Device device = Device::cpu);

// Recurrent state, shared by step mode and the chunked parallel forward. Bounded: per level, the blocks'
// conv/SSM states and two (B, p, W) buffers.
struct UNetLevelState {
  std::vector<BlockState> down, up;
  Tensor pool_buf;  // (B, p, W): the down-pool inputs of the current pooled step (rows [0, position % p))
  Tensor up_buf;    // (B, p, W): the up-pooled rows of the latest coarse output (pooling.h: up_pool_row)
  int64_t position = 0;  // steps taken at this level
};
struct UNetState {
  std::vector<UNetLevelState> levels;  // S + 1
  int64_t batch = 0;
  int64_t position = 0;  // tokens consumed
};
UNetState make_unet_state(const MambaUNet& model, int64_t batch);  // zeros (an empty prefix)

// What the parallel forward keeps for backward.
struct UNetLevelSaved {
  std::vector<LayerSaved> down, up;
  Tensor skip;    // (B, L_l, W_l) down stack output (the down-pool input)
  Tensor coarse;  // (B, L_l / p, W_{l+1}) F_{l+1}'s output (the up-pool input)
};
struct UNetSaved {
  Tensor ids;
  std::vector<UNetLevelSaved> levels;
  Tensor stream, rstd_f, hidden;  // F_0's output, norm_f's rstd, norm_f's output (B, L, d_model)
};

// ids (B, L) i32, L a multiple of total_pool() -> hidden (B, L, d_model), the output of norm_f.
// saved: for unet_backbone_backward (nullptr: inference). state: nullptr starts from zeros; otherwise it must
// stand at a multiple of total_pool() tokens, is read as the initial state and advanced past these L tokens,
// so consecutive chunks equal one call over the whole sequence.
Tensor unet_backbone_forward(const MambaUNet& model, const Tensor& ids, UNetSaved* saved, UNetState* state);
// Accumulates every parameter gradient from dhidden (B, L, d_model).
void unet_backbone_backward(const MambaUNet& model, const UNetSaved& saved, const Tensor& dhidden);
// logits (R, V) = hidden (R, d_model) @ lm_head^T; hidden rows may be strided.
void unet_head_forward(const MambaUNet& model, const Tensor& hidden, const Tensor& logits);

// Next-token training step, as lm_forward_backward: ids, targets (B, L) i32; mean loss over valid targets,
// gradients accumulated into model.params' grads scaled by grad_scale / n_valid.
LossResult unet_forward_backward(const MambaUNet& model, const Tensor& ids, const Tensor& targets,
                                 int ignore_index = kIgnoreIndex, double grad_scale = 1.0);
// Loss without gradients; chunk_len > 0 (a multiple of total_pool()) bounds memory by the chunk.
LossResult unet_loss(const MambaUNet& model, const Tensor& ids, const Tensor& targets, int ignore_index = kIgnoreIndex,
                     int64_t chunk_len = 0);
// Logits (B, L, V); chunk_len as above.
Tensor unet_logits(const MambaUNet& model, const Tensor& ids, int64_t chunk_len = 0);
// fn(start, logits (B, len, V)) for consecutive chunks; `state` (optional) continues from and advances a prefix.
void unet_forward_chunked(const MambaUNet& model, const Tensor& ids, int64_t chunk_len,
                          const std::function<void(int64_t start, const Tensor& logits)>& fn,
                          UNetState* state = nullptr);

// ---- step mode (model/mamba_unet_step.cpp) ----
// Per-level work tensors, allocated once so that a decoding loop allocates nothing per sample.
struct UNetLevelWork {
  BlockStepBuffers block;
  Tensor normed, rstd, mixer_out[2], residual[2];  // (B, W) stack work
  Tensor u;                                        // (B, W) up stack input (skip + up-pooled row)
  Tensor pooled, coarse;                           // (B, W_{l+1}) down-pool output, level l+1's output
};
struct UNetInferenceState {
  UNetState state;
  std::vector<UNetLevelWork> work;  // S + 1
  Tensor embedded, top, normed, rstd;  // (B, d_model), (B)
  Tensor logits, logits_f32, tokens;   // (B, V), sampling input, (B) i32
};
UNetInferenceState make_unet_inference_state(const MambaUNet& model, int64_t batch);
// Consumes prompt (B, Lp) i32 from the current state and returns the next-token logits (B, V) (a view of
// state.logits). The longest prefix that keeps the state on a multiple of total_pool() runs in parallel, the
// rest one token at a time.
Tensor unet_prefill(const MambaUNet& model, UNetInferenceState& state, const Tensor& prompt);
// Consumes one token per sequence, tokens (B) i32, and returns the next-token logits (B, V).
Tensor unet_step(const MambaUNet& model, UNetInferenceState& state, const Tensor& tokens);
// Samples n_new tokens after prompt (B, Lp) (Lp >= 1): (B, n_new) i32 on the model's device.
Tensor unet_generate(const MambaUNet& model, const Tensor& prompt, int64_t n_new, const GenerateOptions& opt);

}  // namespace ms
