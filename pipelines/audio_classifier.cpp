#include "pipelines/audio_classifier.h"

#include <cmath>

namespace ms {

ClassifierHead add_audio_classifier_head(AudioModel& model, int64_t n_classes, Pooling pooling, uint64_t seed) {
  return add_classifier_head(model.params(), model.d_model(), n_classes, pooling, seed);
}

namespace {

void check(const char* op, const AudioModel& model, const ClassifierHead& head, const Tensor& ids,
           const Tensor& labels) {
  MS_CHECK(head.weight >= 0, op, ": the classifier head was not added to the model");
  MS_CHECK(ids.defined() && ids.ndim() == 2 && ids.is_contiguous(), op, ": ids must be contiguous (B, L), got ",
           ids.describe());
  check_model_length(model, ids.size(1), "the classifier's input length");
  if (labels.defined()) {
    check_shape(op, "labels", labels, {ids.size(0)});
    check_dtype(op, "labels", labels, DType::i32);
  }
}

}  // namespace

ClassifyResult audio_classifier_forward_backward(const AudioModel& model, const ClassifierHead& head,
                                                 const Tensor& ids, const Tensor& labels) {
  const char* op = "audio_classifier_forward_backward";
  check(op, model, head, ids, labels);
  check_defined(op, "labels", labels);
  const ParamStore& s = model.params();
  const int64_t Bsz = ids.size(0), L = ids.size(1), dm = model.d_model();
  const DType dt = s.dtype();
  const Device dev = s.device();

  UNetSaved us;
  BackboneSaved ls;
  Tensor hidden = audio_hidden_forward(model, ids, &us, &ls);
  Tensor pooled = Tensor::empty({Bsz, dm}, dt, dev);
  classifier_pool(head, hidden, 0, L, pooled);
  Tensor logits = Tensor::empty({Bsz, head.n_classes}, dt, dev);
  classifier_logits(s, head, pooled, logits);
  Tensor lse;
  ClassifyResult r = classifier_score(logits, labels, &lse);
  if (!std::isfinite(r.loss.loss_sum))
    MS_FAIL("training diverged: the classification loss is not finite; lower optim.lr");
  if (r.loss.n_valid == 0) return r;
  Tensor dhidden = classifier_head_backward(s, head, r, labels, lse, pooled, L, 1.0);
  audio_hidden_backward(model, &us, &ls, dhidden);
  return r;
}

ClassifyResult audio_classifier_evaluate(const AudioModel& model, const ClassifierHead& head, const Tensor& ids,
                                         const Tensor& labels) {
  check("audio_classifier_evaluate", model, head, ids, labels);
  const ParamStore& s = model.params();
  const int64_t Bsz = ids.size(0);
  Tensor hidden = audio_hidden_forward(model, ids, nullptr, nullptr);
  Tensor pooled = Tensor::empty({Bsz, model.d_model()}, s.dtype(), s.device());
  classifier_pool(head, hidden, 0, hidden.size(1), pooled);
  Tensor logits = Tensor::empty({Bsz, head.n_classes}, s.dtype(), s.device());
  classifier_logits(s, head, pooled, logits);
  return classifier_score(logits, labels);
}

}  // namespace ms
