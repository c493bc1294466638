#include "model/init.h"

#include <cmath>
#include <functional>

namespace ms {
namespace {

// Fills `t` (any dtype/device) with f(i) for its flat index i, through a host f64 buffer.
void fill_host(const Tensor& t, const std::function<double(int64_t)>& f) {
  Tensor h = Tensor::empty(t.shape(), DType::f64, Device::cpu);
  double* p = h.data<double>();
  for (int64_t i = 0; i < h.numel(); ++i) p[i] = f(i);
  t.copy_(h.to(t.dtype()).to(t.device()));
}

}  // namespace

Rng param_rng(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a of the name
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return Rng(seed, h);
}

void init_uniform(const Tensor& t, Rng& rng, double lo, double hi) {
  fill_host(t, [&](int64_t) { return rng.uniform(lo, hi); });
}

void init_normal(const Tensor& t, Rng& rng, double std) {
  fill_host(t, [&](int64_t) { return std * rng.normal(); });
}

void init_kaiming_uniform(const Tensor& t, Rng& rng, int64_t fan_in) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  init_uniform(t, rng, -bound, bound);
}

double inverse_softplus(double x) { return x + std::log(-std::expm1(-x)); }

void init_dt_bias(const Tensor& t, Rng& rng, double dt_min, double dt_max, double floor) {
  const double lo = std::log(dt_min), hi = std::log(dt_max);
  fill_host(t, [&](int64_t) {
    const double dt = std::max(std::exp(rng.uniform(lo, hi)), floor);
    return inverse_softplus(dt);
  });
}

void init_a_log_real(const Tensor& A_log) {
  const int64_t n_state = A_log.size(-1);
  fill_host(A_log, [&](int64_t i) { return std::log(static_cast<double>(i % n_state + 1)); });
}

void init_a_complex(const Tensor& A_log, const Tensor& A_imag) {
  const int64_t n_state = A_imag.size(-1);
  fill_host(A_log, [](int64_t) { return std::log(0.5); });
  fill_host(A_imag, [&](int64_t i) { return M_PI * static_cast<double>(i % n_state); });
}

}  // namespace ms
