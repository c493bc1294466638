#include "model/classifier.h"

#include <cmath>

#include "kernels/cross_entropy.h"
#include "kernels/gemm.h"
#include "kernels/loss_stats.h"
#include "model/init.h"
#include "model/lm_loss.h"

namespace ms {

const char* pooling_name(Pooling p) { return p == Pooling::last ? "last" : "mean"; }

Pooling parse_pooling(const std::string& s) {
  if (s == "mean") return Pooling::mean;
  if (s == "last") return Pooling::last;
  MS_FAIL("unknown pooling '", s, "': expected \"mean\" or \"last\"");
}

ClassifierHead add_classifier_head(ParamStore& params, int64_t d_model, int64_t n_classes, Pooling pooling,
                                   uint64_t seed) {
  if (n_classes < 2) MS_FAIL("classifier: n_classes = ", n_classes, " must be at least 2");
  ClassifierHead h;
  h.pooling = pooling;
  h.n_classes = n_classes;
  h.weight = params.add("head.weight", {n_classes, d_model}, params.dtype(), params.device(), true);
  h.bias = params.add("head.bias", {n_classes}, params.dtype(), params.device(), false);
  Rng r = param_rng(seed, "head.weight");
  init_kaiming_uniform(params.value(h.weight), r, d_model);
  return h;
}

void classifier_pool(const ClassifierHead& head, const Tensor& hidden, int64_t start, int64_t L, const Tensor& pooled) {
  const int64_t Bsz = hidden.size(0), len = hidden.size(1), dm = hidden.size(2);
  if (head.pooling == Pooling::mean) {
    // Sum over the sequence as a GEMM with a ones row: pooled[b] (+)= (1/L) 1^T hidden[b].
    Tensor ones = Tensor::full({1, len}, 1.0, hidden.dtype(), hidden.device());
    gemm(ones, false, hidden, false, pooled.view({Bsz, 1, dm}), 1.0 / static_cast<double>(L), start == 0 ? 0.0 : 1.0);
  } else if (start + len == L) {
    pooled.copy_(hidden.select(1, len - 1));
  }
}

// The bias is broadcast as a rank-1 GEMM with a ones column.
void classifier_logits(const ParamStore& params, const ClassifierHead& head, const Tensor& pooled,
                       const Tensor& logits) {
  Tensor ones = Tensor::full({pooled.size(0), 1}, 1.0, pooled.dtype(), pooled.device());
  gemm(ones, false, params.value(head.bias).view({1, head.n_classes}), false, logits);
  gemm(pooled, false, params.value(head.weight), true, logits, 1.0, 1.0);
}

ClassifyResult classifier_score(const Tensor& logits, const Tensor& labels, Tensor* lse_out) {
  ClassifyResult r;
  r.logits = logits;
  const int64_t Bsz = logits.size(0);
  const DType ldt = logits.dtype() == DType::f64 ? DType::f64 : DType::f32;
  r.pred = Tensor::empty({Bsz}, DType::i32, logits.device());
  // Without labels: argmax only, scored against an all-ignored target vector.
  const Tensor targets = labels.defined() ? labels : Tensor::full({Bsz}, kIgnoreIndex, DType::i32, logits.device());
  Tensor losses = Tensor::empty({Bsz}, ldt, logits.device());
  Tensor lse = Tensor::empty({Bsz}, ldt, logits.device());
  cross_entropy_forward(logits, targets, kIgnoreIndex, losses, lse, r.pred);
  if (!labels.defined()) return r;
  r.loss = loss_result(loss_stats(losses, labels, r.pred, kIgnoreIndex));
  if (lse_out) *lse_out = lse;
  return r;
}

Tensor classifier_head_backward(const ParamStore& params, const ClassifierHead& head, const ClassifyResult& result,
                                const Tensor& labels, const Tensor& lse, const Tensor& pooled, int64_t L,
                                double grad_scale) {
  const Tensor& logits = result.logits;
  const int64_t Bsz = logits.size(0), dm = pooled.size(1);
  const DType dt = logits.dtype();
  const Device dev = logits.device();
  Tensor dlogits = Tensor::empty({Bsz, head.n_classes}, dt, dev);
  cross_entropy_backward(logits, labels, kIgnoreIndex, lse, grad_scale / static_cast<double>(result.loss.n_valid),
                         dlogits);
  gemm(dlogits, true, pooled, false, params.grad(head.weight), 1.0, 1.0);
  Tensor ones = Tensor::full({1, Bsz}, 1.0, dt, dev);
  gemm(ones, false, dlogits, false, params.grad(head.bias).view({1, head.n_classes}), 1.0, 1.0);
  Tensor dpooled = Tensor::empty({Bsz, dm}, dt, dev);
  gemm(dlogits, false, params.value(head.weight), false, dpooled);

  Tensor dhidden = Tensor::empty({Bsz, L, dm}, dt, dev);
  if (head.pooling == Pooling::mean) {
    Tensor ones_col = Tensor::full({L, 1}, 1.0, dt, dev);
    gemm(ones_col, false, dpooled.view({Bsz, 1, dm}), false, dhidden, 1.0 / static_cast<double>(L), 0.0);
  } else {
    dhidden.zero_();
    dhidden.select(1, L - 1).copy_(dpooled);
  }
  return dhidden;
}

namespace {

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

}  // namespace

ClassifyResult classifier_forward_backward(const MambaLM& model, const ClassifierHead& head, const Tensor& ids,
                                           const Tensor& labels, double grad_scale) {
  const char* op = "classifier_forward_backward";
  check_inputs(op, model, head, ids, labels);
  check_defined(op, "labels", labels);
  const int64_t Bsz = ids.size(0), L = ids.size(1), dm = model.cfg.d_model;
  const DType dt = model.dtype();
  const Device dev = model.device();

  BackboneSaved saved;
  Tensor hidden = backbone_forward(model, ids, &saved, nullptr);
  Tensor pooled = Tensor::empty({Bsz, dm}, dt, dev);
  classifier_pool(head, hidden, 0, L, pooled);
  Tensor logits = Tensor::empty({Bsz, head.n_classes}, dt, dev);
  classifier_logits(model.params, head, pooled, logits);
  Tensor lse;
  ClassifyResult r = classifier_score(logits, labels, &lse);
  if (!std::isfinite(r.loss.loss_sum))
    MS_FAIL("training diverged: the classification loss is not finite; lower the learning rate or check the data");
  if (r.loss.n_valid == 0) return r;
  Tensor dhidden = classifier_head_backward(model.params, head, r, labels, lse, pooled, L, grad_scale);
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
    classifier_pool(head, hidden, start, L, pooled);
  }
  Tensor logits = Tensor::empty({Bsz, head.n_classes}, model.dtype(), model.device());
  classifier_logits(model.params, head, pooled, logits);
  return classifier_score(logits, labels);
}

}  // namespace ms
