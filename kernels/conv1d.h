// Causal depthwise conv1d along the sequence, with optional fused SiLU (the Mamba block's short conv).
//   x (B, D, L), unit stride along L (batch and channel strides free: x may be a slice of in_proj's output)
//   weight (D, K), bias (D) or undefined, init_state (B, D, K-1) or undefined (= zeros): the K-1 inputs
//   that precede x[..., 0], for continuing a sequence chunk by chunk.
//   y[b,d,t] = act(bias[d] + sum_{k<K} weight[d,k] * xx[b,d,t-(K-1)+k]),  xx = concat(init_state, x)
//   act = SiLU when `silu`, identity otherwise. y (B, D, L) same dtype as x.
// Backward: writes dx (gradient of x; init_state is a constant), accumulates dweight and dbias (may be
//   undefined when bias is). The pre-activation is recomputed, not stored.
// Step (generation): conv_state (B, D, K-1) holds the last K-1 inputs and is updated in place;
//   x (B, D) is the new input, y (B, D) the output. After a parallel forward of a prompt, the state is the
//   prompt's last K-1 inputs (zero-padded on the left), so step mode continues it exactly.
// Dtypes: x, y f32 (CPU, CUDA), f64 (CPU), bf16 (CUDA); weight, bias f32 (f64 with f64 x).
#pragma once
#include "kernels/dispatch.h"

namespace ms {

MS_DECLARE_OP(void, causal_conv1d_forward,
              (const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& init_state, bool silu,
               const Tensor& y))
MS_DECLARE_OP(void, causal_conv1d_backward,
              (const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& init_state, bool silu,
               const Tensor& dy, const Tensor& dx, const Tensor& dweight, const Tensor& dbias))
MS_DECLARE_OP(void, causal_conv1d_step,
              (const Tensor& conv_state, const Tensor& x, const Tensor& weight, const Tensor& bias, bool silu,
               const Tensor& y))

inline void causal_conv1d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const Tensor& init_state, bool silu, const Tensor& y) {
  MS_DISPATCH(x, causal_conv1d_forward, x, weight, bias, init_state, silu, y);
}
inline void causal_conv1d_backward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                   const Tensor& init_state, bool silu, const Tensor& dy, const Tensor& dx,
                                   const Tensor& dweight, const Tensor& dbias) {
  MS_DISPATCH(x, causal_conv1d_backward, x, weight, bias, init_state, silu, dy, dx, dweight, dbias);
}
inline void causal_conv1d_step(const Tensor& conv_state, const Tensor& x, const Tensor& weight, const Tensor& bias,
                               bool silu, const Tensor& y) {
  MS_DISPATCH(x, causal_conv1d_step, conv_state, x, weight, bias, silu, y);
}

}  // namespace ms
