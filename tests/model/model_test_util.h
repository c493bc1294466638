// Small models and helpers shared by the model tests.
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "model/mamba_lm.h"
#include "tests/test_util.h"

namespace ms::test {

// A tiny MambaLM: every dimension small and none a multiple of another, so layout mistakes show.
inline MambaConfig tiny_config(SsmKind ssm, uint64_t seed, int64_t n_layer = 2) {
  MambaConfig c;
  c.d_model = 12;   // d_inner 24, dt_rank 1
  c.n_layer = n_layer;
  c.vocab_size = 11;  // padded to 16
  c.d_state = 5;
  c.ssm = ssm;
  c.seed = seed;
  // Larger steps than mamba_ssm's default range (1e-3 .. 1e-1) so that A matters within a short sequence and
  // the gradient checks see every parameter at a similar scale.
  c.dt_min = 0.01;
  c.dt_max = 0.5;
  return c;
}

// Randomizes every parameter a little around its initialization so gradient checks do not sit at a
// special point (D = 1, norms = 1, zero head bias, ...).
inline void perturb_params(MambaLM& m, Rng& rng, double amount = 0.1) {
  for (Param& p : m.params.params) {
    Tensor noise = rand_uniform(p.value.shape(), rng, -amount, amount, DType::f64);
    Tensor v = p.value.to(DType::f64).contiguous().clone();
    double* pv = v.data<double>();
    const double* pn = noise.data<double>();
    for (int64_t i = 0; i < v.numel(); ++i) pv[i] += pn[i] * (1.0 + std::abs(pv[i]));
    p.value.copy_(v.to(p.value.dtype()));
  }
}

// max |a - b| / max |b|: the worst elementwise error relative to the tensor's scale (logits near zero are
// judged against the largest logit, not against themselves).
inline double max_abs_rel(const Tensor& a, const Tensor& b) {
  Tensor ha = a.to(DType::f64).contiguous(), hb = b.to(DType::f64).contiguous();
  MS_CHECK(ha.shape() == hb.shape(), "max_abs_rel: shapes differ");
  const double *pa = ha.data<double>(), *pb = hb.data<double>();
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < ha.numel(); ++i) {
    if (!std::isfinite(pa[i]) || !std::isfinite(pb[i])) return std::numeric_limits<double>::infinity();
    diff = std::max(diff, std::abs(pa[i] - pb[i]));
    scale = std::max(scale, std::abs(pb[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

// Gradient check with the five-point central stencil (error O(eps^4)), so a large step keeps the rounding
// noise of the loss small while truncation stays negligible. The model's gradients span many orders of
// magnitude (A_log's is tiny while dt is small; dt_proj.bias sits behind softplus and exp), which the
// two-point stencil in test_util cannot resolve at one eps. Checks `samples` random elements of `x` (all when
// it has fewer) and returns the worst |num - ana| / max(|num|, |ana|, floor), floor = max(1e-3 of the largest
// analytic element, abs_floor): the loss is only known to ~1e-15 relative, so a gradient element below
// ~1e-6 cannot be resolved to better than ~1e-5 of itself by any step size.
inline double grad_check5(const std::function<double()>& loss, const Tensor& x, const Tensor& analytic, Rng& rng,
                          int samples = 24, double eps = 2e-4, double abs_floor = 1e-6) {
  MS_CHECK(x.dtype() == DType::f64 && x.is_contiguous(), "grad_check5 needs a contiguous f64 tensor");
  Tensor ana = analytic.to(DType::f64).contiguous();
  const double* pa = ana.data<double>();
  double big = 0;
  for (int64_t i = 0; i < ana.numel(); ++i) big = std::max(big, std::abs(pa[i]));
  const double floor = std::max(1e-3 * big, abs_floor);
  double* px = x.data<double>();
  const int64_t n = x.numel();
  const bool all = n <= samples;
  double worst = 0;
  for (int64_t k = 0; k < (all ? n : samples); ++k) {
    const int64_t i = all ? k : static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
    const double orig = px[i];
    auto at = [&](double d) {
      px[i] = orig + d;
      const double v = loss();
      px[i] = orig;
      return v;
    };
    const double num = (-at(2 * eps) + 8 * at(eps) - 8 * at(-eps) + at(-2 * eps)) / (12 * eps);
    const double err = std::abs(num - pa[i]) / std::max({std::abs(num), std::abs(pa[i]), floor});
    if (!std::isfinite(err)) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, err);
  }
  return worst;
}

// Gradients scaled by grad_scale accumulate: two calls at scale 0.5 give the gradients of one call at 1.
// forward_backward(scale) runs one training step's forward and backward on `params`.
inline void expect_gradients_accumulate(ParamStore& params, const std::function<void(double)>& forward_backward) {
  zero_grad(params);
  forward_backward(1.0);
  std::vector<Tensor> once;
  for (const Param& p : params.params) once.push_back(p.grad.clone());
  zero_grad(params);
  forward_backward(0.5);
  forward_backward(0.5);
  for (size_t i = 0; i < once.size(); ++i)
    EXPECT_LT(max_rel_error(params.params[i].grad, once[i]), 1e-12) << params.params[i].name;
}

}  // namespace ms::test
