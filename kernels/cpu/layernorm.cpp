// CPU LayerNorm. Mean and variance are two-pass in double; weight and bias gradients are reduced over fixed
// row chunks (cpu_common.h) so they are bit-identical run to run.
#include <vector>

#include "kernels/cpu/cpu_common.h"
#include "kernels/layernorm.h"

namespace ms::cpu {

void layernorm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& out,
                       const Tensor& mean, const Tensor& rstd) {
  const char* op = "layernorm_forward";
  check_defined(op, "x", x);
  check_defined(op, "weight", weight);
  check_cpu(op, {&x, &weight, &bias, &out, &mean, &rstd});
  MS_CHECK(x.ndim() >= 1, op, ": x must be (..., H), got ", x.describe());
  MS_CHECK(eps >= 0, op, ": eps must be >= 0, got ", eps);
  const int64_t H = x.size(-1), R = row_count(x);
  check_shape(op, "weight", weight, {H});
  if (bias.defined()) check_shape(op, "bias", bias, {H});
  check_shape(op, "out", out, x.shape());
  check_shape(op, "mean", mean, {R});
  check_shape(op, "rstd", rstd, {R});
  check_inner_contiguous(op, "x", x);
  check_inner_contiguous(op, "out", out);
  MS_CHECK(weight.is_contiguous() && (!bias.defined() || bias.is_contiguous()) && mean.is_contiguous() &&
               rstd.is_contiguous(),
           op, ": weight, bias, mean and rstd must be contiguous");
  dispatch_float(op, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtypes(op, x.dtype(), {{"weight", &weight}, {"bias", &bias}, {"out", &out}, {"mean", &mean}, {"rstd", &rstd}});
    if (R == 0) return;
    const StridedIndex ix = StridedIndex::rows(x), io = StridedIndex::rows(out);
    const T* px = x.data<T>();
    const T* w = weight.data<T>();
    const T* b = bias.defined() ? bias.data<T>() : nullptr;
    T* po = out.data<T>();
    T* pm = mean.data<T>();
    T* prs = rstd.data<T>();
#pragma omp parallel for schedule(static) if (R * H > kParallelGrain)
    for (int64_t r = 0; r < R; ++r) {
      const T* xr = px + ix.offset(r);
      double s = 0;
      for (int64_t h = 0; h < H; ++h) s += xr[h];
      const double mu = H ? s / static_cast<double>(H) : 0.0;
      double var = 0;
      for (int64_t h = 0; h < H; ++h) var += (xr[h] - mu) * (xr[h] - mu);
      var = H ? var / static_cast<double>(H) : 0.0;
      const double rs = 1.0 / std::sqrt(var + eps);
      // Save the statistics rounded to T and normalize with exactly those, as the backward will.
      pm[r] = static_cast<T>(mu);
      prs[r] = static_cast<T>(rs);
      const double mu_t = pm[r], rs_t = prs[r];
      T* orow = po + io.offset(r);
      for (int64_t h = 0; h < H; ++h)
        orow[h] = static_cast<T>((xr[h] - mu_t) * rs_t * w[h] + (b ? static_cast<double>(b[h]) : 0.0));
    }
  });
}

void layernorm_backward(const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
                        const Tensor& dout, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
  const char* op = "layernorm_backward";
  for (const auto& [n, t] : {std::pair{"x", &x}, {"weight", &weight}, {"mean", &mean}, {"rstd", &rstd}, {"dout", &dout},
                             {"dx", &dx}})
    check_defined(op, n, *t);
  check_cpu(op, {&x, &weight, &mean, &rstd, &dout, &dx, &dweight, &dbias});
  MS_CHECK(x.ndim() >= 1, op, ": x must be (..., H), got ", x.describe());
  const int64_t H = x.size(-1), R = row_count(x);
  check_shape(op, "weight", weight, {H});
  check_shape(op, "mean", mean, {R});
  check_shape(op, "rstd", rstd, {R});
  check_shape(op, "dout", dout, x.shape());
  check_shape(op, "dx", dx, x.shape());
  if (dweight.defined()) check_shape(op, "dweight", dweight, {H});
  if (dbias.defined()) check_shape(op, "dbias", dbias, {H});
  for (const auto& [n, t] : {std::pair{"x", &x}, {"dout", &dout}, {"dx", &dx}}) check_inner_contiguous(op, n, *t);
  MS_CHECK(weight.is_contiguous() && mean.is_contiguous() && rstd.is_contiguous() &&
               (!dweight.defined() || dweight.is_contiguous()) && (!dbias.defined() || dbias.is_contiguous()),
           op, ": weight, mean, rstd, dweight and dbias must be contiguous");
  dispatch_float(op, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtypes(op, x.dtype(),
                 {{"weight", &weight}, {"mean", &mean}, {"rstd", &rstd}, {"dout", &dout}, {"dx", &dx},
                  {"dweight", &dweight}, {"dbias", &dbias}});
    if (R == 0) return;
    const StridedIndex ix = StridedIndex::rows(x), ig = StridedIndex::rows(dout), idx = StridedIndex::rows(dx);
    const T* px = x.data<T>();
    const T* w = weight.data<T>();
    const T* pm = mean.data<T>();
    const T* prs = rstd.data<T>();
    const T* pg = dout.data<T>();
    T* pdx = dx.data<T>();
    const bool want_w = dweight.defined(), want_b = dbias.defined();
    const int64_t chunks = reduce_chunks(R);
    std::vector<double> pw(want_w ? static_cast<size_t>(chunks * H) : 0, 0.0);
    std::vector<double> pb(want_b ? static_cast<size_t>(chunks * H) : 0, 0.0);
#pragma omp parallel for schedule(static) if (R * H > kParallelGrain)
    for (int64_t c = 0; c < chunks; ++c) {
      for (int64_t r = chunk_begin(c, R, chunks); r < chunk_begin(c + 1, R, chunks); ++r) {
        const T* xr = px + ix.offset(r);
        const T* gr = pg + ig.offset(r);
        const double mu = pm[r], rs = prs[r];
        // xhat = (x - mu) * rs, g = dy * w:  dx = rs * (g - mean(g) - xhat * mean(g * xhat))
        double sg = 0, sgx = 0;
        for (int64_t h = 0; h < H; ++h) {
          const double g = static_cast<double>(gr[h]) * w[h], xh = (xr[h] - mu) * rs;
          sg += g;
          sgx += g * xh;
        }
        sg /= static_cast<double>(H);
        sgx /= static_cast<double>(H);
        T* dxr = pdx + idx.offset(r);
        for (int64_t h = 0; h < H; ++h) {
          const double g = static_cast<double>(gr[h]) * w[h], xh = (xr[h] - mu) * rs;
          dxr[h] = static_cast<T>(rs * (g - sg - xh * sgx));
        }
        if (want_w)
          for (int64_t h = 0; h < H; ++h) pw[c * H + h] += static_cast<double>(gr[h]) * ((xr[h] - mu) * rs);
        if (want_b)
          for (int64_t h = 0; h < H; ++h) pb[c * H + h] += gr[h];
      }
    }
    for (auto [grad, part] : {std::pair{&dweight, &pw}, std::pair{&dbias, &pb}}) {
      if (!grad->defined()) continue;
      T* d = grad->template data<T>();
      for (int64_t h = 0; h < H; ++h) {
        double s = 0;
        for (int64_t c = 0; c < chunks; ++c) s += (*part)[c * H + h];
        d[h] = static_cast<T>(d[h] + s);
      }
    }
  });
}

}  // namespace ms::cpu
