#include "pipelines/audio_classifier.h"

#include <cmath>

#include "kernels/cross_entropy.h"
#include "kernels/gemm.h"
#include "kernels/loss_stats.h"
#include "model/init.h"

namespace ms {

AudioClassifierHead add_audio_classifier_head(AudioModel& model, int64_t n_classes, Pooling pooling, uint64_t seed) {
  if (n_classes < 2) MS_FAIL("classifier: ", n_classes, " class(es); at least 2 are needed");
  AudioClassifierHead h;
  h.pooling = pooling;
  h.n_classes = n_classes;
  const int64_t dm = model.d_model();
  ParamStore& s = model.params();
  h.weight = s.add("head.weight", {n_classes, dm}, s.dtype(), s.device(), true);
  h.bias = s.add("head.bias", {n_classes}, s.dtype(), s.device(), false);
  Rng r = param_rng(seed, "head.weight");
  init_kaiming_uniform(s.value(h.weight), r, dm);
  return h;
}

namespace {

// pooled (B, d_model) from hidden (B, L, d_model): the mean over positions (a GEMM with a ones row) or the last.
void pool(const AudioClassifierHead& head, const Tensor& hidden, const Tensor& pooled) {
  const int64_t Bsz = hidden.size(0), L = hidden.size(1), dm = hidden.size(2);
  if (head.pooling == Pooling::mean) {
    Tensor ones = Tensor::full({1, L}, 1.0, hidden.dtype(), hidden.device());
    gemm(ones, false, hidden, false, pooled.view({Bsz, 1, dm}), 1.0 / static_cast<double>(L), 0.0);
  } else {
    pooled.copy_(hidden.select(1, L - 1));
  }
}

// logits (B, C) = pooled W^T + b.
void head_forward(const ParamStore& s, const AudioClassifierHead& head, const Tensor& pooled, const Tensor& logits) {
  Tensor ones = Tensor::full({pooled.size(0), 1}, 1.0, pooled.dtype(), pooled.device());
  gemm(ones, false, s.value(head.bias).view({1, head.n_classes}), false, logits);
  gemm(pooled, false, s.value(head.weight), true, logits, 1.0, 1.0);
}

struct Scored {
  ClassifyResult r;
  Tensor lse;
};

Scored score(const Tensor& logits, const Tensor& labels) {
  Scored out;
  const int64_t Bsz = logits.size(0);
  const DType ldt = logits.dtype() == DType::f64 ? DType::f64 : DType::f32;
  out.r.logits = logits;
  out.r.pred = Tensor::empty({Bsz}, DType::i32, logits.device());
  const Tensor targets = labels.defined() ? labels : Tensor::full({Bsz}, kIgnoreIndex, DType::i32, logits.device());
  Tensor losses = Tensor::empty({Bsz}, ldt, logits.device());
  out.lse = Tensor::empty({Bsz}, ldt, logits.device());
  cross_entropy_forward(logits, targets, kIgnoreIndex, losses, out.lse, out.r.pred);
  if (!labels.defined()) return out;
  const LossStats st = loss_stats(losses, labels, out.r.pred, kIgnoreIndex);
  LossResult& l = out.r.loss;
  l.loss_sum = st.loss_sum;
  l.n_valid = st.n_valid;
  l.n_correct = st.n_correct;
  if (st.n_valid > 0) {
    l.loss = st.loss_sum / static_cast<double>(st.n_valid);
    l.accuracy = static_cast<double>(st.n_correct) / static_cast<double>(st.n_valid);
  }
  return out;
}

void check(const char* op, const AudioModel& model, const AudioClassifierHead& head, const Tensor& ids,
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

ClassifyResult audio_classifier_forward_backward(const AudioModel& model, const AudioClassifierHead& head,
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
  pool(head, hidden, pooled);
  Tensor logits = Tensor::empty({Bsz, head.n_classes}, dt, dev);
  head_forward(s, head, pooled, logits);
  Scored sc = score(logits, labels);
  if (!std::isfinite(sc.r.loss.loss_sum))
    MS_FAIL("training diverged: the classification loss is not finite; lower optim.lr");
  if (sc.r.loss.n_valid == 0) return sc.r;

  Tensor dlogits = Tensor::empty({Bsz, head.n_classes}, dt, dev);
  cross_entropy_backward(logits, labels, kIgnoreIndex, sc.lse, 1.0 / static_cast<double>(sc.r.loss.n_valid), dlogits);
  gemm(dlogits, true, pooled, false, s.grad(head.weight), 1.0, 1.0);
  Tensor ones = Tensor::full({1, Bsz}, 1.0, dt, dev);
  gemm(ones, false, dlogits, false, s.grad(head.bias).view({1, head.n_classes}), 1.0, 1.0);
  Tensor dpooled = Tensor::empty({Bsz, dm}, dt, dev);
  gemm(dlogits, false, s.value(head.weight), false, dpooled);

  Tensor dhidden = Tensor::empty({Bsz, L, dm}, dt, dev);
  if (head.pooling == Pooling::mean) {
    Tensor ones_col = Tensor::full({L, 1}, 1.0, dt, dev);
    gemm(ones_col, false, dpooled.view({Bsz, 1, dm}), false, dhidden, 1.0 / static_cast<double>(L), 0.0);
  } else {
    dhidden.zero_();
    dhidden.select(1, L - 1).copy_(dpooled);
  }
  audio_hidden_backward(model, &us, &ls, dhidden);
  return sc.r;
}

ClassifyResult audio_classifier_evaluate(const AudioModel& model, const AudioClassifierHead& head, const Tensor& ids,
                                         const Tensor& labels) {
  check("audio_classifier_evaluate", model, head, ids, labels);
  const ParamStore& s = model.params();
  const int64_t Bsz = ids.size(0);
  Tensor hidden = audio_hidden_forward(model, ids, nullptr, nullptr);
  Tensor pooled = Tensor::empty({Bsz, model.d_model()}, s.dtype(), s.device());
  pool(head, hidden, pooled);
  Tensor logits = Tensor::empty({Bsz, head.n_classes}, s.dtype(), s.device());
  head_forward(s, head, pooled, logits);
  return score(logits, labels).r;
}

}  // namespace ms
