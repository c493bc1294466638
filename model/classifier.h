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
// _init_weights) in model.params, drawn from `seed`.
ClassifierHead add_classifier_head(MambaLM& model, int64_t n_classes, Pooling pooling, uint64_t seed);

struct ClassifyResult {
  LossResult loss;  // mean cross-entropy over the batch and accuracy
  Tensor logits;    // (B, n_classes)
  Tensor pred;      // (B) i32 argmax
};

// ids (B, L) i32, labels (B) i32 in [0, n_classes). Accumulates gradients of the mean loss (times
// grad_scale) into every parameter (backbone and head).
ClassifyResult classifier_forward_backward(const MambaLM& model, const ClassifierHead& head, const Tensor& ids,
                                           const Tensor& labels, double grad_scale = 1.0);
// Evaluation: logits and (when labels are given) loss/accuracy, without gradients. chunk_len > 0 runs the
// backbone chunk by chunk with carried state (mean pooling accumulates across chunks): bounded memory.
ClassifyResult classifier_evaluate(const MambaLM& model, const ClassifierHead& head, const Tensor& ids,
                                   const Tensor& labels, int64_t chunk_len = 0);

}  // namespace ms
