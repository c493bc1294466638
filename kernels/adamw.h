// AdamW (decoupled weight decay, as torch.optim.AdamW), one parameter tensor per call:
//   g  = grad * grad_scale                       (grad_scale carries global-norm clipping)
//   p *= 1 - lr * weight_decay
//   m  = beta1 m + (1 - beta1) g ;  v = beta2 v + (1 - beta2) g^2
//   p -= lr * (m / (1 - beta1^step)) / (sqrt(v / (1 - beta2^step)) + eps)
// param, grad, m, v: same shape, contiguous; f32 (CPU, CUDA) or f64 (CPU). step counts from 1.
// Gradient clipping: grad_scale = min(1, max_norm / sqrt(sum over params of sum_squares(grad))).
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace ms {

struct AdamWStep {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  int64_t step = 1;
  double grad_scale = 1.0;
};

MS_DECLARE_OP(void, adamw_update,
              (const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v, const AdamWStep& s))

inline void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                         const AdamWStep& s) {
  MS_DISPATCH(param, adamw_update, param, grad, m, v, s);
}

}  // namespace ms
