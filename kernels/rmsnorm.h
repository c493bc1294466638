// RMSNorm over the last dimension, with an optional fused residual add (the pre-norm Mamba block):
//   residual_out = x + residual          (residual undefined: residual_out = x; residual_out may be undefined
//                                         when residual is undefined, then nothing is written there)
//   out          = residual_out * rstd * weight,   rstd = 1 / sqrt(mean(residual_out^2) + eps)
// Shapes: x, residual, residual_out, out: (R, H) or any (..., H) with contiguous rows; weight (H);
//   rstd (rows) in f32 (f64 when x is f64), saved for backward.
// Dtypes: x/out f32 or bf16 (CUDA), f64 (CPU); residual/residual_out f32 (f64) — the residual stream
//   stays in full precision; weight and rstd f32 (f64).
// Backward: given dout and dresidual_out (the gradient reaching residual_out from later layers; may be
//   undefined), writes dx = d(residual_out) = rmsnorm_backward(dout) + dresidual_out — which is also the
//   gradient for `residual` — and accumulates dweight.
#pragma once
#include "kernels/dispatch.h"

namespace ms {

MS_DECLARE_OP(void, rmsnorm_forward,
              (const Tensor& x, const Tensor& residual, const Tensor& weight, double eps, const Tensor& residual_out,
               const Tensor& out, const Tensor& rstd))
MS_DECLARE_OP(void, rmsnorm_backward,
              (const Tensor& residual_out, const Tensor& weight, const Tensor& rstd, const Tensor& dout,
               const Tensor& dresidual_out, const Tensor& dx, const Tensor& dweight))

inline void rmsnorm_forward(const Tensor& x, const Tensor& residual, const Tensor& weight, double eps,
                            const Tensor& residual_out, const Tensor& out, const Tensor& rstd) {
  MS_DISPATCH(x, rmsnorm_forward, x, residual, weight, eps, residual_out, out, rstd);
}
// `residual_out` here is the normalized input (x itself when there was no residual add).
inline void rmsnorm_backward(const Tensor& residual_out, const Tensor& weight, const Tensor& rstd,
                             const Tensor& dout, const Tensor& dresidual_out, const Tensor& dx,
                             const Tensor& dweight) {
  MS_DISPATCH(dout, rmsnorm_backward, residual_out, weight, rstd, dout, dresidual_out, dx, dweight);
}

}  // namespace ms
