// CPU AdamW, written to follow torch.optim.AdamW's single-tensor path (torch 2.x) operation by operation in
// the parameter's dtype, so f32 results agree with PyTorch to the last bit (up to PyTorch's own choice of
// FMA in vectorized loops). Scalars (bias corrections, step size) are computed in double as Python does.
#include "kernels/adamw.h"
#include "kernels/cpu/cpu_common.h"

namespace ms::cpu {
namespace {

// torch.lerp(self, end, w): self + w * (end - self) for |w| < 0.5, else end - (end - self) * (1 - w).
template <class T>
inline T lerp(T self, T end, T w) {
  return std::abs(w) < T(0.5) ? self + w * (end - self) : end - (end - self) * (T(1) - w);
}

}  // namespace

void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v, const AdamWStep& s) {
  const char* op = "adamw_update";
  check_defined(op, "param", param);
  check_cpu(op, {&param, &grad, &m, &v});
  check_shape(op, "grad", grad, param.shape());
  check_shape(op, "m", m, param.shape());
  check_shape(op, "v", v, param.shape());
  for (const auto& [n, t] : {std::pair{"param", &param}, {"grad", &grad}, {"m", &m}, {"v", &v}})
    MS_CHECK(t->is_contiguous(), op, ": '", n, "' must be contiguous, got strides ", shape_str(t->strides()));
  MS_CHECK(s.step >= 1, op, ": step counts from 1, got ", s.step);
  MS_CHECK(s.lr >= 0 && s.eps >= 0 && s.weight_decay >= 0, op, ": lr, eps and weight_decay must be >= 0 (lr ", s.lr,
           ", eps ", s.eps, ", weight_decay ", s.weight_decay, ")");
  MS_CHECK(s.beta1 >= 0 && s.beta1 < 1 && s.beta2 >= 0 && s.beta2 < 1, op, ": betas must be in [0, 1), got ", s.beta1,
           ", ", s.beta2);
  dispatch_float(op, "param", param, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtypes(op, param.dtype(), {{"grad", &grad}, {"m", &m}, {"v", &v}});
    const int64_t n = param.numel();
    if (n == 0) return;
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* pm = m.data<T>();
    T* pv = v.data<T>();
    const double stepd = static_cast<double>(s.step);
    const double bc1 = 1.0 - std::pow(s.beta1, stepd), bc2 = 1.0 - std::pow(s.beta2, stepd);
    const T decay = static_cast<T>(1.0 - s.lr * s.weight_decay);
    const T w1 = static_cast<T>(1.0 - s.beta1), b2 = static_cast<T>(s.beta2), w2 = static_cast<T>(1.0 - s.beta2);
    const T neg_step = static_cast<T>(-(s.lr / bc1)), bc2_sqrt = static_cast<T>(std::sqrt(bc2)),
            eps = static_cast<T>(s.eps), gs = static_cast<T>(s.grad_scale);
    const bool scaled = s.grad_scale != 1.0;
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) {
      const T gi = scaled ? g[i] * gs : g[i];        // clip_grad_norm_: grad.mul_(coef)
      T pi = p[i] * decay;                           // param.mul_(1 - lr * wd)
      const T mi = lerp(pm[i], gi, w1);              // exp_avg.lerp_(grad, 1 - beta1)
      const T vi = pv[i] * b2 + w2 * gi * gi;        // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
      const T denom = std::sqrt(vi) / bc2_sqrt + eps;  // (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
      pi = pi + neg_step * mi / denom;               // param.addcdiv_(exp_avg, denom, value=-step_size)
      p[i] = pi;
      pm[i] = mi;
      pv[i] = vi;
    }
  });
}

}  // namespace ms::cpu
