// CPU reference for kernels/ssm_a.h: A = -exp(A_log) (and A_imag for a complex A), with its backward.
#include <cmath>

#include "kernels/ssm_a.h"

namespace ms::cpu {
namespace {

struct ADims {
  int64_t dim, state;
  bool complex;
};

ADims check_a(const char* op, const Tensor& A_log, const Tensor& A_imag, const Tensor& A) {
  check_defined(op, "A_log", A_log);
  check_defined(op, "A", A);
  MS_CHECK(A_log.ndim() == 2 && A_log.is_contiguous(), op, ": A_log must be a contiguous (D, N), got ",
           A_log.describe());
  MS_CHECK(A_log.dtype() == DType::f32 || A_log.dtype() == DType::f64, op, ": A_log must be f32 or f64, got ",
           A_log.describe());
  ADims d{A_log.size(0), A_log.size(1), A.ndim() == 3};
  if (d.complex) {
    check_shape(op, "A", A, {d.dim, d.state, 2});
    check_shape(op, "A_imag", A_imag, {d.dim, d.state});
    check_dtype(op, "A_imag", A_imag, A_log.dtype());
    MS_CHECK(A_imag.is_contiguous(), op, ": A_imag must be contiguous, got ", A_imag.describe());
  } else {
    check_shape(op, "A", A, {d.dim, d.state});
    MS_CHECK(!A_imag.defined(), op, ": A_imag given for a real (D, N) A");
  }
  check_dtype(op, "A", A, A_log.dtype());
  MS_CHECK(A.is_contiguous(), op, ": A must be contiguous, got ", A.describe());
  for (const Tensor* t : {&A_log, &A_imag, &A})
    MS_CHECK(!t->defined() || t->device() == Device::cpu, op, ": expected CPU tensors, got ", t->describe());
  return d;
}

template <class T>
void forward_impl(const ADims& d, const Tensor& A_log, const Tensor& A_imag, const Tensor& A) {
  const T* la = A_log.data<T>();
  T* a = A.data<T>();
  const int64_t n = d.dim * d.state;
  if (!d.complex) {
    for (int64_t i = 0; i < n; ++i) a[i] = -std::exp(la[i]);
    return;
  }
  const T* im = A_imag.data<T>();
  for (int64_t i = 0; i < n; ++i) {
    a[2 * i] = -std::exp(la[i]);
    a[2 * i + 1] = im[i];
  }
}

template <class T>
void backward_impl(const ADims& d, const Tensor& A, const Tensor& dA, const Tensor& dA_log, const Tensor& dA_imag) {
  const T* a = A.data<T>();
  const T* g = dA.data<T>();
  T* gl = dA_log.data<T>();
  const int64_t n = d.dim * d.state;
  if (!d.complex) {
    for (int64_t i = 0; i < n; ++i) gl[i] += g[i] * a[i];
    return;
  }
  T* gi = dA_imag.data<T>();
  for (int64_t i = 0; i < n; ++i) {
    gl[i] += g[2 * i] * a[2 * i];
    gi[i] += g[2 * i + 1];
  }
}

}  // namespace

void ssm_a_forward(const Tensor& A_log, const Tensor& A_imag, const Tensor& A) {
  const ADims d = check_a("ssm_a_forward", A_log, A_imag, A);
  if (A_log.dtype() == DType::f64) forward_impl<double>(d, A_log, A_imag, A);
  else forward_impl<float>(d, A_log, A_imag, A);
}

void ssm_a_backward(const Tensor& A, const Tensor& dA, const Tensor& dA_log, const Tensor& dA_imag) {
  const char* op = "ssm_a_backward";
  const ADims d = check_a(op, dA_log, dA_imag, A);
  check_shape(op, "dA", dA, A.shape());
  check_dtype(op, "dA", dA, A.dtype());
  MS_CHECK(dA.is_contiguous() && dA.device() == Device::cpu, op, ": dA must be a contiguous CPU tensor, got ",
           dA.describe());
  if (A.dtype() == DType::f64) backward_impl<double>(d, A, dA, dA_log, dA_imag);
  else backward_impl<float>(d, A, dA, dA_log, dA_imag);
}

}  // namespace ms::cpu
