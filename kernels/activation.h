// Elementwise activations. x, y, dy, dx: same shape, contiguous, same dtype (f32, f64 on CPU, bf16 on CUDA).
//   silu(x)     = x * sigmoid(x)            silu'(x)     = s * (1 + x * (1 - s)),  s = sigmoid(x)
//   softplus(x) = log(1 + exp(x))           softplus'(x) = sigmoid(x)
// (softplus returns x itself above 20, as PyTorch does.) Backward writes dx = dy * f'(x).
#pragma once
#include "kernels/dispatch.h"

namespace ms {

MS_DECLARE_OP(void, silu_forward, (const Tensor& x, const Tensor& y))
MS_DECLARE_OP(void, silu_backward, (const Tensor& x, const Tensor& dy, const Tensor& dx))
MS_DECLARE_OP(void, softplus_forward, (const Tensor& x, const Tensor& y))
MS_DECLARE_OP(void, softplus_backward, (const Tensor& x, const Tensor& dy, const Tensor& dx))

inline void silu_forward(const Tensor& x, const Tensor& y) { MS_DISPATCH(x, silu_forward, x, y); }
inline void silu_backward(const Tensor& x, const Tensor& dy, const Tensor& dx) {
  MS_DISPATCH(x, silu_backward, x, dy, dx);
}
inline void softplus_forward(const Tensor& x, const Tensor& y) { MS_DISPATCH(x, softplus_forward, x, y); }
inline void softplus_backward(const Tensor& x, const Tensor& dy, const Tensor& dx) {
  MS_DISPATCH(x, softplus_backward, x, dy, dx);
}

}  // namespace ms
