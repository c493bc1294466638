// Helpers shared by the test suites: random tensors, error measures, poisoning, finite differences,
// temp folders, error messages.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "kernels/random.h"
#include "kernels/tensor.h"

namespace ms::test {

// Fresh random inputs for each test: a seed taken from the test name plus MAMBASEQ_TEST_SEED (env).
uint64_t test_seed();

Tensor rand_uniform(const Shape& shape, Rng& rng, double lo = -1.0, double hi = 1.0, DType dt = DType::f32);
Tensor rand_normal(const Shape& shape, Rng& rng, double std = 1.0, DType dt = DType::f32);
Tensor rand_ints(const Shape& shape, Rng& rng, int64_t lo, int64_t hi);  // i32 in [lo, hi)

// ||a - b|| / ||b|| over all elements (both moved to CPU, compared in double).
double rel_l2_error(const Tensor& a, const Tensor& b);
// max_i |a_i - b_i| / (|b_i| + floor * rms(b)): elementwise relative error, with a floor so that
// elements near zero are judged relative to the tensor's scale. NaN anywhere gives +inf.
double max_rel_error(const Tensor& a, const Tensor& b, double floor = 1e-3);
bool has_nan(const Tensor& t);
void poison(const Tensor& t);  // fill with NaN (float dtypes) so unwritten outputs show up
double dot(const Tensor& a, const Tensor& b);  // sum a_i * b_i in double, CPU tensors of any float dtype

// Central finite differences of `loss` with respect to elements of `x` (an f64 CPU tensor read by `loss`),
// compared with `analytic` (same shape). Checks all elements when x has at most `max_checks`, otherwise
// a random sample of that many. Returns the worst |num - ana| / max(|num|, |ana|, atol'), where
// atol' = max(atol, 1e-3 * rms(analytic)) so near-zero elements are judged at the gradient's scale.
double grad_check(const std::function<double()>& loss, const Tensor& x, const Tensor& analytic, Rng& rng,
                  double eps = 1e-6, int max_checks = 64, double atol = 1e-8);

bool gpu_available();
#define MS_SKIP_WITHOUT_GPU() \
  do {                        \
    if (!::ms::test::gpu_available()) GTEST_SKIP() << "no CUDA GPU available"; \
  } while (0)

std::string source_dir();  // the repository root
std::string temp_dir();    // a fresh directory for this test

// The message of the ms::Error that `f` throws, or "" when it returns normally.
std::string error_of(const std::function<void()>& f);

}  // namespace ms::test
