// A sequence classifier on an audio backbone (Mamba-UNet or MambaLM): final hidden states (B, L, d_model)
// -> mean over the sequence (or the last position) -> linear head to n_classes, cross-entropy on labels.
// The head itself (pooling, logits, score, backward) is model/classifier.h's; this runs it on either
// AudioModel kind, so a pretrained UNet (the generative model of the digits) can be fine-tuned into the
// classifier that scores it.
// head.weight (C, d_model) and head.bias (C) join the model's ParamStore (one optimizer, one checkpoint).
#pragma once
#include <cstdint>

#include "model/classifier.h"  // Pooling, ClassifyResult
#include "pipelines/audio_model.h"

namespace ms {

// Registers head.weight (U(+-1/sqrt(d_model))) and head.bias (zeros), drawn from `seed`.
ClassifierHead add_audio_classifier_head(AudioModel& model, int64_t n_classes, Pooling pooling, uint64_t seed);

// ids (B, L) i32, labels (B) i32. Accumulates the gradient of the mean loss into every parameter.
ClassifyResult audio_classifier_forward_backward(const AudioModel& model, const ClassifierHead& head,
                                                 const Tensor& ids, const Tensor& labels);
// Without gradients. labels may be undefined (then only logits and argmax). Logits (B, C) on the model's device.
ClassifyResult audio_classifier_evaluate(const AudioModel& model, const ClassifierHead& head, const Tensor& ids,
                                         const Tensor& labels);

}  // namespace ms
