// General matrix multiply, optionally batched:  C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b]
//
// Shapes (op(X) = X, or X^T when trans_X):
//   op(A[b]) is (M, K), op(B[b]) is (K, N), C[b] is (M, N).
//   A, B, C are 2-d (M, K) or 3-d (batch, M, K). A 2-d A or B is shared by every batch entry.
//   If C is 2-d while A or B is 3-d, the products are summed over the batch into C (a reduction:
//   the weight gradient of a batched linear layer).
// Layout: every matrix has a unit stride in its last dimension; the row stride (leading dimension) and
// the batch stride may be anything, so slices of larger tensors can be used without copies.
// Dtypes: f32 (CPU, CUDA), f64 (CPU), bf16 (CUDA; f32 accumulation). A, B, C share one dtype.
// CPU: OpenBLAS. CUDA: cuBLAS; f32 inputs use full fp32 or TF32 tensor cores per gemm_precision().
#pragma once
#include "kernels/dispatch.h"

namespace ms {

enum class GemmPrecision { fp32, tf32 };
void set_gemm_precision(GemmPrecision p);  // CUDA f32 GEMMs only; the CPU always computes exactly
GemmPrecision gemm_precision();

MS_DECLARE_OP(void, gemm,
              (const Tensor& A, bool trans_a, const Tensor& B, bool trans_b, const Tensor& C, double alpha,
               double beta))

inline void gemm(const Tensor& A, bool trans_a, const Tensor& B, bool trans_b, const Tensor& C, double alpha = 1.0,
                 double beta = 0.0) {
  MS_DISPATCH(C, gemm, A, trans_a, B, trans_b, C, alpha, beta);
}

}  // namespace ms
