// CPU causal depthwise conv1d (+ SiLU): forward, backward (pre-activation recomputed) and the one-token step.
// Sums run in double. The backward is parallel over channels, so each channel's weight and bias gradient
// is accumulated by one thread in a fixed order (deterministic without per-thread partials).
#include <vector>

#include "kernels/conv1d.h"
#include "kernels/cpu/cpu_common.h"

namespace ms::cpu {
namespace {

struct ConvDims {
  int64_t B, D, L, K;
};

ConvDims check_conv(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Tensor& init_state) {
  check_defined(op, "x", x);
  check_defined(op, "weight", weight);
  MS_CHECK(x.ndim() == 3, op, ": x must be (B, D, L), got ", x.describe());
  MS_CHECK(weight.ndim() == 2, op, ": weight must be (D, K), got ", weight.describe());
  ConvDims d{x.size(0), x.size(1), x.size(2), weight.size(1)};
  MS_CHECK(d.K >= 1, op, ": kernel width must be >= 1, got weight ", weight.describe());
  check_shape(op, "weight", weight, {d.D, d.K});
  if (bias.defined()) check_shape(op, "bias", bias, {d.D});
  if (init_state.defined()) {
    check_shape(op, "init_state", init_state, {d.B, d.D, d.K - 1});
    check_inner_contiguous(op, "init_state", init_state);
  }
  check_inner_contiguous(op, "x", x);
  check_inner_contiguous(op, "weight", weight);
  return d;
}

// Fills xx (length K-1+L) with concat(init_state or zeros, x) for one (b, d).
template <class T>
void gather_row(const T* x, const T* init, int64_t K, int64_t L, std::vector<T>& xx) {
  xx.resize(static_cast<size_t>(K - 1 + L));
  for (int64_t k = 0; k < K - 1; ++k) xx[k] = init ? init[k] : T(0);
  std::copy(x, x + L, xx.begin() + (K - 1));
}

// Pre-activation at position t: bias + sum_k w[k] * xx[t + k] (in double).
template <class T>
double preact(const T* w, double b, const T* xx, int64_t K, int64_t t) {
  double a = b;
  for (int64_t k = 0; k < K; ++k) a += static_cast<double>(w[k]) * xx[t + k];
  return a;
}

inline double act(double a, bool silu) { return silu ? a * sigmoid(a) : a; }
inline double act_grad(double a, bool silu) {
  if (!silu) return 1.0;
  const double s = sigmoid(a);
  return s * (1.0 + a * (1.0 - s));
}

}  // namespace

void causal_conv1d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& init_state,
                           bool silu, const Tensor& y) {
  const char* op = "causal_conv1d_forward";
  check_cpu(op, {&x, &weight, &bias, &init_state, &y});
  const ConvDims n = check_conv(op, x, weight, bias, init_state);
  check_shape(op, "y", y, x.shape());
  check_inner_contiguous(op, "y", y);
  dispatch_float(op, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtypes(op, x.dtype(), {{"weight", &weight}, {"bias", &bias}, {"init_state", &init_state}, {"y", &y}});
    if (n.B * n.D * n.L == 0) return;
    const T* px = x.data<T>();
    const T* pw = weight.data<T>();
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    const T* pi = init_state.defined() ? init_state.data<T>() : nullptr;
    T* py = y.data<T>();
#pragma omp parallel if (n.B * n.D * n.L * n.K > kParallelGrain)
    {
      std::vector<T> xx;
#pragma omp for schedule(static) collapse(2)
      for (int64_t b = 0; b < n.B; ++b)
        for (int64_t d = 0; d < n.D; ++d) {
          const T* init = pi ? pi + b * init_state.stride(0) + d * init_state.stride(1) : nullptr;
          gather_row(px + b * x.stride(0) + d * x.stride(1), init, n.K, n.L, xx);
          const T* w = pw + d * weight.stride(0);
          const double bd = pb ? static_cast<double>(pb[d * bias.stride(0)]) : 0.0;
          T* yr = py + b * y.stride(0) + d * y.stride(1);
          for (int64_t t = 0; t < n.L; ++t) yr[t] = static_cast<T>(act(preact(w, bd, xx.data(), n.K, t), silu));
        }
    }
  });
}

void causal_conv1d_backward(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& init_state,
                            bool silu, const Tensor& dy, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
  const char* op = "causal_conv1d_backward";
  check_cpu(op, {&x, &weight, &bias, &init_state, &dy, &dx, &dweight, &dbias});
  const ConvDims n = check_conv(op, x, weight, bias, init_state);
  check_shape(op, "dy", dy, x.shape());
  check_shape(op, "dx", dx, x.shape());
  check_inner_contiguous(op, "dy", dy);
  check_inner_contiguous(op, "dx", dx);
  if (dweight.defined()) check_shape(op, "dweight", dweight, {n.D, n.K});
  if (dbias.defined()) check_shape(op, "dbias", dbias, {n.D});
  dispatch_float(op, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtypes(op, x.dtype(),
                 {{"weight", &weight}, {"bias", &bias}, {"init_state", &init_state}, {"dy", &dy}, {"dx", &dx},
                  {"dweight", &dweight}, {"dbias", &dbias}});
    if (n.B * n.D * n.L == 0) return;
    const T* px = x.data<T>();
    const T* pw = weight.data<T>();
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    const T* pi = init_state.defined() ? init_state.data<T>() : nullptr;
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
    T* pdw = dweight.defined() ? dweight.data<T>() : nullptr;
    T* pdb = dbias.defined() ? dbias.data<T>() : nullptr;
#pragma omp parallel if (n.B * n.D * n.L * n.K > kParallelGrain)
    {
      std::vector<T> xx;
      std::vector<double> g(static_cast<size_t>(n.L)), dw(static_cast<size_t>(n.K));
#pragma omp for schedule(static)
      for (int64_t d = 0; d < n.D; ++d) {
        const T* w = pw + d * weight.stride(0);
        const double bd = pb ? static_cast<double>(pb[d * bias.stride(0)]) : 0.0;
        std::fill(dw.begin(), dw.end(), 0.0);
        double db = 0;
        for (int64_t b = 0; b < n.B; ++b) {
          const T* init = pi ? pi + b * init_state.stride(0) + d * init_state.stride(1) : nullptr;
          gather_row(px + b * x.stride(0) + d * x.stride(1), init, n.K, n.L, xx);
          const T* dyr = pdy + b * dy.stride(0) + d * dy.stride(1);
          // g = dL/d(pre-activation), recomputing the pre-activation.
          for (int64_t t = 0; t < n.L; ++t) g[t] = dyr[t] * act_grad(preact(w, bd, xx.data(), n.K, t), silu);
          // y[t] reads x[t - (K-1) + k] with weight k, so dx[s] = sum_k w[k] * g[s + K-1 - k].
          T* dxr = pdx + b * dx.stride(0) + d * dx.stride(1);
          for (int64_t s = 0; s < n.L; ++s) {
            double acc = 0;
            const int64_t k_lo = std::max<int64_t>(0, s + n.K - n.L);  // keeps t = s + K-1 - k < L
            for (int64_t k = k_lo; k < n.K; ++k) acc += static_cast<double>(w[k]) * g[s + n.K - 1 - k];
            dxr[s] = static_cast<T>(acc);
          }
          for (int64_t k = 0; k < n.K; ++k) {
            double acc = 0;
            for (int64_t t = 0; t < n.L; ++t) acc += g[t] * xx[t + k];
            dw[k] += acc;
          }
          for (int64_t t = 0; t < n.L; ++t) db += g[t];
        }
        if (pdw) {
          T* dwr = pdw + d * dweight.stride(0);
          for (int64_t k = 0; k < n.K; ++k) dwr[k * dweight.stride(1)] = static_cast<T>(dwr[k * dweight.stride(1)] + dw[k]);
        }
        if (pdb) pdb[d * dbias.stride(0)] = static_cast<T>(pdb[d * dbias.stride(0)] + db);
      }
    }
  });
}

void causal_conv1d_step(const Tensor& conv_state, const Tensor& x, const Tensor& weight, const Tensor& bias, bool silu,
                        const Tensor& y) {
  const char* op = "causal_conv1d_step";
  check_defined(op, "conv_state", conv_state);
  check_defined(op, "x", x);
  check_defined(op, "weight", weight);
  check_cpu(op, {&conv_state, &x, &weight, &bias, &y});
  MS_CHECK(x.ndim() == 2, op, ": x must be (B, D), got ", x.describe());
  MS_CHECK(weight.ndim() == 2 && weight.size(1) >= 1, op, ": weight must be (D, K), got ", weight.describe());
  const int64_t B = x.size(0), D = x.size(1), K = weight.size(1);
  check_shape(op, "weight", weight, {D, K});
  check_shape(op, "conv_state", conv_state, {B, D, K - 1});
  if (bias.defined()) check_shape(op, "bias", bias, {D});
  check_shape(op, "y", y, {B, D});
  dispatch_float(op, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtypes(op, x.dtype(), {{"conv_state", &conv_state}, {"weight", &weight}, {"bias", &bias}, {"y", &y}});
    if (B * D == 0) return;
    T* ps = conv_state.data<T>();
    const T* px = x.data<T>();
    const T* pw = weight.data<T>();
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    T* py = y.data<T>();
    const int64_t ss0 = conv_state.stride(0), ss1 = conv_state.stride(1), ss2 = K > 1 ? conv_state.stride(2) : 0;
#pragma omp parallel for schedule(static) collapse(2) if (B * D * K > kParallelGrain)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t d = 0; d < D; ++d) {
        T* st = ps + b * ss0 + d * ss1;
        const T* w = pw + d * weight.stride(0);
        const int64_t ws = weight.stride(1);
        const T xv = px[b * x.stride(0) + d * x.stride(1)];
        double a = pb ? static_cast<double>(pb[d * bias.stride(0)]) : 0.0;
        for (int64_t k = 0; k < K - 1; ++k) a += static_cast<double>(w[k * ws]) * st[k * ss2];
        a += static_cast<double>(w[(K - 1) * ws]) * xv;
        for (int64_t k = 0; k + 1 < K - 1; ++k) st[k * ss2] = st[(k + 1) * ss2];
        if (K > 1) st[(K - 2) * ss2] = xv;
        py[b * y.stride(0) + d * y.stride(1)] = static_cast<T>(act(a, silu));
      }
  });
}

}  // namespace ms::cpu
