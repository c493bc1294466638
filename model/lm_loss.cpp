#include "model/lm_loss.h"

#include <algorithm>
#include <cmath>

#include "kernels/check.h"
#include "kernels/cross_entropy.h"
#include "kernels/gemm.h"

namespace ms {

void check_targets(const char* op, const Tensor& ids, const Tensor& targets) {
  check_shape(op, "targets", targets, ids.shape());
  check_dtype(op, "targets", targets, DType::i32);
  MS_CHECK(targets.is_contiguous() && targets.device() == ids.device(), op,
           ": targets must be contiguous and on the ids' device, got ", targets.describe());
}

LossResult loss_result(const LossStats& st) {
  LossResult r;
  r.loss_sum = st.loss_sum;
  r.n_valid = st.n_valid;
  r.n_correct = st.n_correct;
  if (st.n_valid > 0) {
    r.loss = st.loss_sum / static_cast<double>(st.n_valid);
    r.accuracy = static_cast<double>(st.n_correct) / static_cast<double>(st.n_valid);
  }
  return r;
}

void add_stats(LossStats& acc, const LossStats& s) {
  acc.loss_sum += s.loss_sum;
  acc.n_valid += s.n_valid;
  acc.n_correct += s.n_correct;
}

CeOut cross_entropy_with_stats(const Tensor& logits, const Tensor& targets, int ignore_index) {
  const int64_t R = logits.size(0);
  const DType ldt = logits.dtype() == DType::f64 ? DType::f64 : DType::f32;
  CeOut c;
  c.losses = Tensor::empty({R}, ldt, logits.device());
  c.lse = Tensor::empty({R}, ldt, logits.device());
  c.pred = Tensor::empty({R}, DType::i32, logits.device());
  cross_entropy_forward(logits, targets, ignore_index, c.losses, c.lse, c.pred);
  c.stats = loss_stats(c.losses, targets, c.pred, ignore_index);
  return c;
}

void for_each_chunk(const Tensor& ids, int64_t chunk_len, const std::function<Tensor(const Tensor&)>& logits_of,
                    const ChunkSink& fn) {
  const int64_t L = ids.size(1);
  if (chunk_len <= 0) chunk_len = L;
  for (int64_t start = 0; start < L; start += chunk_len) {
    const int64_t len = std::min(chunk_len, L - start);
    fn(start, logits_of(ids.slice(1, start, start + len).contiguous()));
  }
}

LossResult loss_over_chunks(const ChunkedForward& forward, const Tensor& targets, int ignore_index) {
  LossStats total;
  forward([&](int64_t start, const Tensor& logits) {
    const int64_t B = logits.size(0), len = logits.size(1), V = logits.size(2);
    Tensor t = targets.slice(1, start, start + len).contiguous().view({B * len});
    add_stats(total, cross_entropy_with_stats(logits.view({B * len, V}), t, ignore_index).stats);
  });
  return loss_result(total);
}

Tensor logits_over_chunks(const ChunkedForward& forward, int64_t B, int64_t L, int64_t V, DType dtype, Device device) {
  Tensor out = Tensor::empty({B, L, V}, dtype, device);
  forward([&](int64_t start, const Tensor& logits) { out.slice(1, start, start + logits.size(1)).copy_(logits); });
  return out;
}

LossResult head_loss_backward(const ParamStore& params, int head, const Tensor& hidden, const Tensor& targets,
                              int ignore_index, double grad_scale, const Tensor& dhidden) {
  const int64_t rows = hidden.size(0);
  const Tensor& w = params.value(head);
  Tensor logits = Tensor::empty({rows, w.size(0)}, hidden.dtype(), hidden.device());
  gemm(hidden, false, w, true, logits);
  CeOut ce = cross_entropy_with_stats(logits, targets, ignore_index);
  const LossResult r = loss_result(ce.stats);
  if (!std::isfinite(r.loss_sum))
    MS_FAIL("training diverged: the loss is ", r.loss_sum / std::max<int64_t>(1, r.n_valid),
            " (not finite); lower the learning rate or check the data");
  if (r.n_valid == 0) return r;
  Tensor dlogits = Tensor::empty_like(logits);
  cross_entropy_backward(logits, targets, ignore_index, ce.lse, grad_scale / static_cast<double>(r.n_valid), dlogits);
  gemm(dlogits, true, hidden, false, params.grad(head), 1.0, 1.0);
  gemm(dlogits, false, w, false, dhidden);
  return r;
}

}  // namespace ms
