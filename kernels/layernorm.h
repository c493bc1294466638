// LayerNorm over the last dimension:  out = (x - mean) * rstd * weight + bias.
// Shapes: x, out (..., H) with contiguous rows; weight, bias (H) (bias may be undefined); mean, rstd (rows),
//   saved for backward. Dtypes: f32 (CPU, CUDA), f64 (CPU), bf16 x/out on CUDA; weight/bias/mean/rstd f32 (f64).
// Backward writes dx and accumulates dweight, dbias (dbias may be undefined when bias is).
#pragma once
#include "kernels/dispatch.h"

namespace ms {

MS_DECLARE_OP(void, layernorm_forward,
              (const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& out,
               const Tensor& mean, const Tensor& rstd))
MS_DECLARE_OP(void, layernorm_backward,
              (const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd, const Tensor& dout,
               const Tensor& dx, const Tensor& dweight, const Tensor& dbias))

inline void layernorm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                              const Tensor& out, const Tensor& mean, const Tensor& rstd) {
  MS_DISPATCH(x, layernorm_forward, x, weight, bias, eps, out, mean, rstd);
}
inline void layernorm_backward(const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
                               const Tensor& dout, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
  MS_DISPATCH(x, layernorm_backward, x, weight, mean, rstd, dout, dx, dweight, dbias);
}

}  // namespace ms
