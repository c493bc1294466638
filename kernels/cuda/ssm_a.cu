// CUDA twin of kernels/ssm_a.h: A = -exp(A_log) (and A_imag for a complex A) and its backward, one thread
// per (d, n). D x N elements: negligible work, so exp is taken in double (rounded once, as the CPU's f32
// exp), and the backward's multiply-add uses _rn intrinsics (no FMA), matching the CPU bit for bit.
#include "kernels/cuda/ops_common.cuh"
#include "kernels/ssm_a.h"

namespace ms::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void ssm_a_forward_kernel(const float* a_log, const float* a_imag, float* A, int64_t n, bool complex) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float re = -static_cast<float>(exp(static_cast<double>(a_log[i])));
    if (complex) {
      A[2 * i] = re;
      A[2 * i + 1] = a_imag[i];
    } else {
      A[i] = re;
    }
  }
}

__global__ void ssm_a_backward_kernel(const float* A, const float* dA, float* dA_log, float* dA_imag, int64_t n,
                                      bool complex) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if (complex) {
      dA_log[i] = __fadd_rn(dA_log[i], __fmul_rn(dA[2 * i], A[2 * i]));
      dA_imag[i] = __fadd_rn(dA_imag[i], dA[2 * i + 1]);
    } else {
      dA_log[i] = __fadd_rn(dA_log[i], __fmul_rn(dA[i], A[i]));
    }
  }
}

struct ADims {
  int64_t dim, state;
  bool complex;
};

// The CPU twin's checks, with f32 the only dtype on CUDA.
ADims check_a(const char* op, const Tensor& A_log, const Tensor& A_imag, const Tensor& A) {
  check_defined(op, "A_log", A_log);
  check_defined(op, "A", A);
  MS_CHECK(A_log.ndim() == 2 && A_log.is_contiguous(), op, ": A_log must be a contiguous (D, N), got ",
           A_log.describe());
  check_dtype(op, "A_log", A_log, DType::f32);
  ADims d{A_log.size(0), A_log.size(1), A.ndim() == 3};
  if (d.complex) {
    check_shape(op, "A", A, {d.dim, d.state, 2});
    check_shape(op, "A_imag", A_imag, {d.dim, d.state});
    check_dtype(op, "A_imag", A_imag, DType::f32);
    MS_CHECK(A_imag.is_contiguous(), op, ": A_imag must be contiguous, got ", A_imag.describe());
  } else {
    check_shape(op, "A", A, {d.dim, d.state});
    MS_CHECK(!A_imag.defined(), op, ": A_imag given for a real (D, N) A");
  }
  check_dtype(op, "A", A, DType::f32);
  MS_CHECK(A.is_contiguous(), op, ": A must be contiguous, got ", A.describe());
  check_cuda(op, {&A_log, &A_imag, &A});
  return d;
}

}  // namespace

void ssm_a_forward(const Tensor& A_log, const Tensor& A_imag, const Tensor& A) {
  const ADims d = check_a("ssm_a_forward", A_log, A_imag, A);
  const int64_t n = d.dim * d.state;
  if (n == 0) return;
  ssm_a_forward_kernel<<<static_cast<unsigned>(grid_for_items(n, kThreads)), kThreads, 0, stream()>>>(
      A_log.data<float>(), d.complex ? A_imag.data<float>() : nullptr, A.data<float>(), n, d.complex);
  MS_CUDA_CHECK_LAUNCH();
}

void ssm_a_backward(const Tensor& A, const Tensor& dA, const Tensor& dA_log, const Tensor& dA_imag) {
  const char* op = "ssm_a_backward";
  const ADims d = check_a(op, dA_log, dA_imag, A);
  check_shape(op, "dA", dA, A.shape());
  check_dtype(op, "dA", dA, DType::f32);
  MS_CHECK(dA.is_contiguous() && dA.is_cuda(), op, ": dA must be a contiguous CUDA tensor, got ", dA.describe());
  const int64_t n = d.dim * d.state;
  if (n == 0) return;
  ssm_a_backward_kernel<<<static_cast<unsigned>(grid_for_items(n, kThreads)), kThreads, 0, stream()>>>(
      A.data<float>(), dA.data<float>(), dA_log.data<float>(), d.complex ? dA_imag.data<float>() : nullptr, n,
      d.complex);
  MS_CUDA_CHECK_LAUNCH();
}

}  // namespace ms::cuda
