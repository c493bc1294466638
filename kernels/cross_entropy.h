// Softmax cross-entropy over the last dimension with an ignore index (fused: the softmax is never stored).
//   logits (R, V) f32 (f64 on CPU, bf16 on CUDA), rows contiguous; targets i32 (R).
//   Forward writes per-row losses (R) = logsumexp(logits[r]) - logits[r, target[r]] (0 where
//   target == ignore_index), lse (R) saved for backward, and pred (R) i32 = argmax of the row
//   (pred may be undefined). losses and lse are f32 (f64 with f64 logits).
//   Backward writes dlogits = grad_scale * (softmax(logits) - onehot(target)), zero rows where ignored.
//   For a mean loss over n valid rows, pass grad_scale = 1 / n.
//   A target outside [0, V) that is not ignore_index is an error.
#pragma once
#include "kernels/dispatch.h"

namespace ms {

// The target value that marks "no prediction scored here" (PyTorch's default).
inline constexpr int kIgnoreIndex = -100;

MS_DECLARE_OP(void, cross_entropy_forward,
              (const Tensor& logits, const Tensor& targets, int ignore_index, const Tensor& losses,
               const Tensor& lse, const Tensor& pred))
MS_DECLARE_OP(void, cross_entropy_backward,
              (const Tensor& logits, const Tensor& targets, int ignore_index, const Tensor& lse, double grad_scale,
               const Tensor& dlogits))

inline void cross_entropy_forward(const Tensor& logits, const Tensor& targets, int ignore_index,
                                  const Tensor& losses, const Tensor& lse, const Tensor& pred) {
  MS_DISPATCH(logits, cross_entropy_forward, logits, targets, ignore_index, losses, lse, pred);
}
inline void cross_entropy_backward(const Tensor& logits, const Tensor& targets, int ignore_index,
                                   const Tensor& lse, double grad_scale, const Tensor& dlogits) {
  MS_DISPATCH(logits, cross_entropy_backward, logits, targets, ignore_index, lse, grad_scale, dlogits);
}

}  // namespace ms
