// Small helpers for the CPU op tests in tests/kernels/: values as doubles, strided layouts, and a
// finite-difference check of a whole op through loss = dot(out, weights).
#pragma once
#include <functional>
#include <vector>

#include "tests/test_util.h"

namespace ms::test {

// All elements of t (any dtype, any strides) as doubles in row-major order.
inline std::vector<double> values(const Tensor& t) {
  Tensor c = t.to(DType::f64).contiguous();
  const double* p = c.data<double>();
  return std::vector<double>(p, p + c.numel());
}

// The dtypes every CPU op supports; tests loop over both.
inline const std::vector<DType>& float_dtypes() {
  static const std::vector<DType> d{DType::f32, DType::f64};
  return d;
}
inline double tol(DType dt) { return dt == DType::f32 ? 2e-5 : 1e-12; }

// A tensor of logical shape `shape` whose rows are a slice of wider rows (row stride > row length), so ops
// must honour strides. Filled with uniform values.
inline Tensor rand_row_strided(const Shape& shape, Rng& rng, DType dt, int64_t pad = 3) {
  Shape wide = shape;
  wide.back() += 2 * pad;
  return rand_uniform(wide, rng, -1, 1, dt).slice(-1, pad, pad + shape.back());
}

// Finite-difference checks in f64: central differences with step kFdEps are accurate to about 1e-10 in
// absolute terms (rounding of the loss / 2 eps, plus eps^2 truncation), so gradient components are
// compared relative to their size but never below kFdAtol; a broken backward gives errors of order 1e-1
// or more, far above kFdTol.
constexpr double kFdEps = 1e-5;
constexpr double kFdAtol = 1e-5;
constexpr double kFdTol = 1e-4;

// Central differences of loss = dot(out, w) with respect to every element of `x` (contiguous f64 CPU),
// where `forward` recomputes `out` from the current contents of x. `analytic` is the gradient the op gave.
inline double fd_check(const std::function<void()>& forward, const Tensor& out, const Tensor& w, const Tensor& x,
                       const Tensor& analytic, Rng& rng, int max_checks = 200) {
  auto loss = [&] {
    forward();
    return dot(out, w);
  };
  const double err = grad_check(loss, x, analytic, rng, kFdEps, max_checks, kFdAtol);
  forward();  // leave `out` as computed from the unperturbed x
  return err;
}

}  // namespace ms::test
