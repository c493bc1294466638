#include "model/classifier.h"

#include <cmath>

#include "kernels/cross_entropy.h"
#include "kernels/gemm.h"
#include "kernels/loss_stats.h"
#include "model/init.h"

namespace ms {

const char* pooling_name(Pooling p) { return p == Pooling::last ? "last" : "mean"; }

Pooling parse_pooling(const std::string& s) {
  if (s == "mean") return Pooling::mean;
  if (s == "last") return Pooling::last;
  MS_FAIL("unknown pooling '", s, "': expected \"mean\" or \"last\"");
}

ClassifierHead add_classifier_head(MambaLM& model, int64_t n_classes, Pooling pooling, uint64_t seed) {
  if (n_classes < 2) MS_FAIL("classifier: n_classes = ", n_classes, " must be at least 2");
  ClassifierHead h;
  h.pooling = pooling;
  h.n_classes = n_classes;
  const int64_t dm = model.cfg.d_model;
  h.weight = model.params.add("head.weight", {n_classes, dm}, model.dtype(), model.device(), true);
  h.bias = model.params.add("head.bias", {n_classes}, model.dtype(), model.device(), false);
  Rng r = param_rng(seed, "head.weight");
  init_kaiming_uniform(model.params.value(h.weight), r, dm);
  return h;
}

namespace {

// pooled (B, d_model) from a chunk of hidden (B, len, d_model) that starts at `start` of a length-L sequence.
void pool_chunk(const ClassifierHead& head, const Tensor& hidden, int64_t start, int64_t L, const Tensor& pooled) {
  const int64_t Bsz = hidden.size(0), len = hidden.size(1), dm = hidden.size(2);
  if (head.pooling == Pooling::mean) {
    // Sum over the sequence as a GEMM with a ones row: pooled[b] (+)= (1/L) 1^T hidden[b].
    Tensor ones = Tensor::full({1, len}, 1.0, hidden.dtype(), hidden.device());
    gemm(ones, false, hidden, false, pooled.view({Bsz, 1, dm}), 1.0 / static_cast<double>(L), start == 0 ? 0.0 : 1.0);
  } else if (start + len == L) {
    pooled.copy_(hidden.select(1, len - 1));
  }
}

// logits (B, C) = pooled W^T + b (the bias broadcast as a rank-1 GEMM with a ones column).
void head_forward(const MambaLM& model, const ClassifierHead& head, const Tensor& pooled, const Tensor& logits) {
  const ParamStore& s = model.params;
  Tensor ones = Tensor::full({pooled.size(0), 1}, 1.0, pooled.dtype(), pooled.device());
  gemm(ones, false, s.value(head.bias).view({1, head.n_classes}), false, logits);
  gemm(pooled, false, s.value(head.weight), true, logits, 1.0, 1.0);
}

void check_inputs(const char* op, const MambaLM& model, const ClassifierHead& head, const Tensor& ids,
                  const Tensor& labels) {
  MS_CHECK(head.weight >= 0 && head.n_classes > 0, op, ": the classifier head was not added to the model");
  MS_CHECK(ids.defined() && ids.ndim() == 2, op, ": ids must be (B, L), got ", ids.describe());
  if (labels.defined()) {
    check_shape(op, "labels", labels, {ids.size(0)});
    check_dtype(op, "labels", labels, DType::i32);
    MS_CHECK(labels.device() == model.device(), op, ": labels on ", device_name(labels.device()), ", model on ",
             device_name(model.device()));
  }
}

ClassifyResult score(const Tensor& logits, const Tensor& labels, LossStats* stats_out, Tensor* lse_out) {
  ClassifyResult r;
  r.logits = logits;
  const int64_t Bsz = logits.size(0);
  const DType ldt = logits.dtype() == DType::f64 ? DType::f64 : DType::f32;
  r.pred = Tensor::empty({Bsz}, DType::i32, logits.device());
  if (!labels.defined()) {
    // argmax only: score against an all-ignored target vector.
    Tensor ignored = Tensor::full({Bsz}, kIgnoreIndex, DType::i32, logits.device());
    Tensor losses = Tensor::empty({Bsz}, ldt, logits.device()), lse = Tensor::empty({Bsz}, ldt, logits.device());
    cross_entropy_forward(logits, ignored, kIgnoreIndex, losses, lse, r.pred);
    return r;
  }
  Tensor losses = Tensor::empty({Bsz}, ldt, logits.device());
  Tensor lse = Tensor::empty({Bsz}, ldt, logits.device());
  cross_entropy_forward(logits, labels, kIgnoreIndex, losses, lse, r.pred);
  const LossStats st = loss_stats(losses, labels, r.pred, kIgnoreIndex);
  r.loss.loss_sum = st.loss_sum;
  r.loss.n_valid = st.n_valid;
  r.loss.n_correct = st.n_correct;
  if (st.n_valid > 0) {
    r.loss.loss = st.loss_sum / static_cast<double>(st.n_valid);
    r.loss.accuracy = static_cast<double>(st.n_correct) / static_cast<double>(st.n_valid);
  }
  if (stats_out) *stats_out = st;
  if (lse_out) *lse_out = lse;
  return r;
}

}  // namespace

ClassifyResult classifier_forward_backward(const MambaLM& model, const ClassifierHead& head, const Tensor& ids,
                                           const Tensor& labels, double grad_scale) {
  const char* op = "classifier_forward_backward";
  check_inputs(op, model, head, ids, labels);
  check_defined(op, "labels", labels);
  const int64_t Bsz = ids.size(0), L = ids.size(1), dm = model.cfg.d_model;
  const DType dt = model.dtype();
  const Device dev = model.device();
  const ParamStore& s = model.params;

  BackboneSaved saved;
  Tensor hidden = backbone_forward(model, ids, &saved, nullptr);
  Tensor pooled = Tensor::empty({Bsz, dm}, dt, dev);
  pool_chunk(head, hidden, 0, L, pooled);
  Tensor logits = Tensor::empty({Bsz, head.n_classes}, dt, dev);
  head_forward(model, head, pooled, logits);
  LossStats st;
  Tensor lse;
  ClassifyResult r = score(logits, labels, &st, &lse);
  if (!std::isfinite(st.loss_sum))
    MS_FAIL("training diverged: the classification loss is not finite; lower the learning rate or check the data");
  if (st.n_valid == 0) return r;

  Tensor dlogits = Tensor::empty({Bsz, head.n_classes}, dt, dev);
  cross_entropy_backward(logits, labels, kIgnoreIndex, lse, grad_scale / static_cast<double>(st.n_valid), dlogits);
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
  backbone_backward(model, saved, dhidden);
  return r;
}

ClassifyResult classifier_evaluate(const MambaLM& model, const ClassifierHead& head, const Tensor& ids,
                                   const Tensor& labels, int64_t chunk_len) {
  check_inputs("classifier_evaluate", model, head, ids, labels);
  const int64_t Bsz = ids.size(0), L = ids.size(1);
  if (chunk_len <= 0) chunk_len = L;
  Tensor pooled = Tensor::empty({Bsz, model.cfg.d_model}, model.dtype(), model.device());
  BackboneState state = make_backbone_state(model, Bsz);
  for (int64_t start = 0; start < L; start += chunk_len) {
    const int64_t len = std::min(chunk_len, L - start);
    Tensor hidden = backbone_forward(model, ids.slice(1, start, start + len).contiguous(), nullptr, &state);
    pool_chunk(head, hidden, start, L, pooled);
  }
  Tensor logits = Tensor::empty({Bsz, head.n_classes}, model.dtype(), model.device());
  head_forward(model, head, pooled, logits);
  return score(logits, labels, nullptr, nullptr);
}

}  // namespace ms
