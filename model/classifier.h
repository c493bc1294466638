// Sequence classification on a Mamba backbone (the fine-tuning pipeline): backbone -> pooling over the
// sequence (mean, or the last token) -> linear head to n_classes, trained with cross-entropy.
// The head's parameters (head.weight (C, d_model), head.bias (C)) join model.params, so one optimizer and one
// checkpoint cover backbone and head; a pretrained LM's backbone.* tensors load into it by name.
#pragma once
#include <string>

#include "model/mamba_lm.h"

namespace ms {

enum class Pooling { mean, last };
const char* pooling_name(Pooling p);
Pooling parse_pooling(const std::string& s);  // "mean" | "last"

struct ClassifierHead {
  Pooling pooling = Pooling::mean;
  int64_t n_classes = 0;
  int weight = -1, bias = -1;  // ids in model.params
};

// Registers head.weight (U(+-1/sqrt(d_model)), as nn.Linear) and head.bias (zeros, as mamba_ssm's
// _init_weights) in params, drawn from `seed`.
ClassifierHead add_classifier_head(ParamStore& params, int64_t d_model, int64_t n_classes, Pooling pooling,
                                   uint64_t seed);
inline ClassifierHead add_classifier_head(MambaLM& model, int64_t n_classes, Pooling pooling, uint64_t seed) {
  return add_classifier_head(model.params, model.cfg.d_model, n_classes, pooling, seed);
}

struct ClassifyResult {
  LossResult loss;  // mean cross-entropy over the batch and accuracy
  Tensor logits;    // (B, n_classes)
  Tensor pred;      // (B) i32 argmax
};

// ---- The head on any backbone's hidden states (the Mamba LM below, the audio models in pipelines/).
// pooled (B, d_model) from a chunk of hidden (B, len, d_model) that starts at `start` of a length-L sequence
// (mean pooling accumulates over the chunks; last pooling takes the final position).
void classifier_pool(const ClassifierHead& head, const Tensor& hidden, int64_t start, int64_t L, const Tensor& pooled);
// logits (B, C) = pooled W^T + b.
void classifier_logits(const ParamStore& params, const ClassifierHead& head, const Tensor& pooled,
                       const Tensor& logits);
// Argmax, and loss/accuracy when labels are defined; lse_out (when given) receives the log-sum-exp rows.
ClassifyResult classifier_score(const Tensor& logits, const Tensor& labels, Tensor* lse_out = nullptr);
// Backward of the mean loss (times grad_scale) from the scored logits: accumulates the head's gradients and
// returns d hidden (B, L, d_model) for the backbone. Needs result.loss.n_valid > 0.
Tensor classifier_head_backward(const ParamStore& params, const ClassifierHead& head, const ClassifyResult& result,
                                const Tensor& labels, const Tensor& lse, const Tensor& pooled, int64_t L,
                                double grad_scale);

// ids (B, L) i32, labels (B) i32 in [0, n_classes). Accumulates gradients of the mean loss (times
// grad_scale) into every parameter (backbone and head).
ClassifyResult classifier_forward_backward(const MambaLM& model, const ClassifierHead& head, const Tensor& ids,
                                           const Tensor& labels, double grad_scale = 1.0);
// Evaluation: logits and (when labels are given) loss/accuracy, without gradients. chunk_len > 0 runs the
// backbone chunk by chunk with carried state (mean pooling accumulates across chunks): bounded memory.
ClassifyResult classifier_evaluate(const MambaLM& model, const ClassifierHead& head, const Tensor& ids,
                                   const Tensor& labels, int64_t chunk_len = 0);

}  // namespace ms
