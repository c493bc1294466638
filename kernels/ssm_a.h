// The SSM state matrix A from its trainable parametrization (mamba_ssm keeps A_log so that A stays negative):
//   real (S4D-Real):    A (D, N)     = -exp(A_log)
//   complex (S4D-Lin):  A (D, N, 2)  = (-exp(A_log), A_imag)     (re, im) as the scan's complex A
// A_log, A_imag (D, N); A_imag undefined for a real A. All of one dtype: f32 (CPU, CUDA) or f64 (CPU).
// Backward accumulates the parameter gradients from dA (same shape as A):
//   dA_log += dA_re * A_re        (d(-exp(a))/da = -exp(a) = A_re)
//   dA_imag += dA_im              (complex only)
// Computed every step from the parameters (D x N elements, negligible next to the scan).
#pragma once
#include "kernels/dispatch.h"

namespace ms {

MS_DECLARE_OP(void, ssm_a_forward, (const Tensor& A_log, const Tensor& A_imag, const Tensor& A))
MS_DECLARE_OP(void, ssm_a_backward,
              (const Tensor& A, const Tensor& dA, const Tensor& dA_log, const Tensor& dA_imag))

inline void ssm_a_forward(const Tensor& A_log, const Tensor& A_imag, const Tensor& A) {
  MS_DISPATCH(A_log, ssm_a_forward, A_log, A_imag, A);
}
inline void ssm_a_backward(const Tensor& A, const Tensor& dA, const Tensor& dA_log, const Tensor& dA_imag) {
  MS_DISPATCH(A, ssm_a_backward, A, dA, dA_log, dA_imag);
}

}  // namespace ms
