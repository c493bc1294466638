// CPU reference for kernels/loss_stats.h: sums the valid rows' losses and counts valid and correct rows.
#include "kernels/loss_stats.h"

namespace ms::cpu {
namespace {

template <class T>
LossStats stats_impl(const Tensor& losses, const Tensor& targets, const Tensor& pred, int ignore_index) {
  const T* l = losses.data<T>();
  const int32_t* t = targets.data<int32_t>();
  const int32_t* p = pred.defined() ? pred.data<int32_t>() : nullptr;
  LossStats s;
  const int64_t n = losses.numel();
  for (int64_t r = 0; r < n; ++r) {
    if (t[r] == ignore_index) continue;
    s.loss_sum += static_cast<double>(l[r]);
    s.n_valid += 1;
    if (p && p[r] == t[r]) s.n_correct += 1;
  }
  return s;
}

}  // namespace

LossStats loss_stats(const Tensor& losses, const Tensor& targets, const Tensor& pred, int ignore_index) {
  const char* op = "loss_stats";
  check_defined(op, "losses", losses);
  MS_CHECK(losses.ndim() == 1 && losses.is_contiguous(), op, ": losses must be a contiguous (R), got ",
           losses.describe());
  check_shape(op, "targets", targets, losses.shape());
  check_dtype(op, "targets", targets, DType::i32);
  MS_CHECK(targets.is_contiguous(), op, ": targets must be contiguous, got ", targets.describe());
  if (pred.defined()) {
    check_shape(op, "pred", pred, losses.shape());
    check_dtype(op, "pred", pred, DType::i32);
    MS_CHECK(pred.is_contiguous(), op, ": pred must be contiguous, got ", pred.describe());
  }
  for (const Tensor* t : {&losses, &targets, &pred})
    MS_CHECK(!t->defined() || t->device() == Device::cpu, op, ": expected CPU tensors, got ", t->describe());
  if (losses.dtype() == DType::f64) return stats_impl<double>(losses, targets, pred, ignore_index);
  MS_CHECK(losses.dtype() == DType::f32, op, ": losses must be f32 or f64, got ", losses.describe());
  return stats_impl<float>(losses, targets, pred, ignore_index);
}

}  // namespace ms::cpu
