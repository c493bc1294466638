// Parameter initializers, as mamba_ssm / PyTorch do them. Values are drawn on the host in double from a
// counter-based Rng (kernels/random.h), converted to the tensor's dtype and copied to its device, so an
// initialization is identical for every dtype and device given the same seed.
#pragma once
#include <string>

#include "kernels/random.h"
#include "kernels/tensor.h"

namespace ms {

// A generator for one named parameter: the stream is a hash of the name, so adding a parameter elsewhere
// never changes how the others are initialized.
Rng param_rng(uint64_t seed, const std::string& name);

void init_uniform(const Tensor& t, Rng& rng, double lo, double hi);
void init_normal(const Tensor& t, Rng& rng, double std);
// nn.Linear / nn.Conv1d default (kaiming_uniform with a = sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void init_kaiming_uniform(const Tensor& t, Rng& rng, int64_t fan_in);
// dt_proj.bias: dt = exp(U(log dt_min, log dt_max)) clamped to >= floor, stored as softplus^-1(dt).
void init_dt_bias(const Tensor& t, Rng& rng, double dt_min, double dt_max, double floor);
// S4D-Real: A_log[d, n] = log(n + 1).
void init_a_log_real(const Tensor& A_log);
// S4D-Lin: A_log[d, n] = log(1/2), A_imag[d, n] = pi * n.
void init_a_complex(const Tensor& A_log, const Tensor& A_imag);
// Host-side softplus^-1 (x + log(-expm1(-x))), exposed for tests.
double inverse_softplus(double x);

}  // namespace ms
