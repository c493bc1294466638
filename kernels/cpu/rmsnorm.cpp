// CPU RMSNorm with the fused residual add. Row statistics and the weight gradient accumulate in double;
// the weight gradient is reduced over fixed row chunks (cpu_common.h) so it is bit-identical run to run.
#include <vector>

#include "kernels/cpu/cpu_common.h"
#include "kernels/rmsnorm.h"

namespace ms::cpu {

void rmsnorm_forward(const Tensor& x, const Tensor& residual, const Tensor& weight, double eps,
                     const Tensor& residual_out, const Tensor& out, const Tensor& rstd) {
  const char* op = "rmsnorm_forward";
  check_defined(op, "x", x);
  check_defined(op, "weight", weight);
  check_cpu(op, {&x, &residual, &weight, &residual_out, &out, &rstd});
  MS_CHECK(x.ndim() >= 1, op, ": x must be (..., H), got ", x.describe());
  MS_CHECK(!residual.defined() || residual_out.defined(), op,
           ": residual_out must be given when residual is (it receives x + residual)");
  MS_CHECK(eps >= 0, op, ": eps must be >= 0, got ", eps);
  const int64_t H = x.size(-1), R = row_count(x);
  check_shape(op, "weight", weight, {H});
  if (residual.defined()) check_shape(op, "residual", residual, x.shape());
  if (residual_out.defined()) check_shape(op, "residual_out", residual_out, x.shape());
  check_shape(op, "out", out, x.shape());
  check_shape(op, "rstd", rstd, {R});
  for (const auto& [n, t] : {std::pair{"x", &x}, {"residual", &residual}, {"residual_out", &residual_out}, {"out", &out}})
    if (t->defined()) check_inner_contiguous(op, n, *t);
  MS_CHECK(weight.is_contiguous() && rstd.is_contiguous(), op, ": weight and rstd must be contiguous");
  dispatch_float(op, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtypes(op, x.dtype(),
                 {{"residual", &residual}, {"weight", &weight}, {"residual_out", &residual_out}, {"out", &out},
                  {"rstd", &rstd}});
    if (R == 0) return;
    const StridedIndex ix = StridedIndex::rows(x), io = StridedIndex::rows(out);
    const StridedIndex ir = residual.defined() ? StridedIndex::rows(residual) : ix;
    const StridedIndex iro = residual_out.defined() ? StridedIndex::rows(residual_out) : ix;
    const T* px = x.data<T>();
    const T* pres = residual.defined() ? residual.data<T>() : nullptr;
    T* pro = residual_out.defined() ? residual_out.data<T>() : nullptr;
    const T* w = weight.data<T>();
    T* po = out.data<T>();
    T* prs = rstd.data<T>();
#pragma omp parallel for schedule(static) if (R * H > kParallelGrain)
    for (int64_t r = 0; r < R; ++r) {
      const T* xr = px + ix.offset(r);
      T* ro = pro ? pro + iro.offset(r) : nullptr;
      // The normalized input is x + residual rounded to T (what is stored in residual_out and what the
      // backward will read), so forward and backward see the same values.
      const T* src = xr;
      if (pres) {
        const T* rr = pres + ir.offset(r);
        for (int64_t h = 0; h < H; ++h) ro[h] = xr[h] + rr[h];
        src = ro;
      } else if (ro && ro != xr) {
        std::copy(xr, xr + H, ro);
      }
      double ss = 0;
      for (int64_t h = 0; h < H; ++h) ss += static_cast<double>(src[h]) * src[h];
      const double rs = 1.0 / std::sqrt(ss / static_cast<double>(H) + eps);
      prs[r] = static_cast<T>(rs);
      const double rs_t = prs[r];  // normalize with the saved (rounded) rstd, as the backward will
      T* orow = po + io.offset(r);
      for (int64_t h = 0; h < H; ++h) orow[h] = static_cast<T>(static_cast<double>(src[h]) * rs_t * w[h]);
    }
  });
}

void rmsnorm_backward(const Tensor& residual_out, const Tensor& weight, const Tensor& rstd, const Tensor& dout,
                      const Tensor& dresidual_out, const Tensor& dx, const Tensor& dweight) {
  const char* op = "rmsnorm_backward";
  check_defined(op, "residual_out", residual_out);
  check_defined(op, "weight", weight);
  check_defined(op, "rstd", rstd);
  check_defined(op, "dout", dout);
  check_defined(op, "dx", dx);
  check_cpu(op, {&residual_out, &weight, &rstd, &dout, &dresidual_out, &dx, &dweight});
  MS_CHECK(residual_out.ndim() >= 1, op, ": residual_out must be (..., H), got ", residual_out.describe());
  const int64_t H = residual_out.size(-1), R = row_count(residual_out);
  check_shape(op, "weight", weight, {H});
  check_shape(op, "rstd", rstd, {R});
  check_shape(op, "dout", dout, residual_out.shape());
  if (dresidual_out.defined()) check_shape(op, "dresidual_out", dresidual_out, residual_out.shape());
  check_shape(op, "dx", dx, residual_out.shape());
  if (dweight.defined()) check_shape(op, "dweight", dweight, {H});
  for (const auto& [n, t] :
       {std::pair{"residual_out", &residual_out}, {"dout", &dout}, {"dresidual_out", &dresidual_out}, {"dx", &dx}})
    if (t->defined()) check_inner_contiguous(op, n, *t);
  MS_CHECK(weight.is_contiguous() && rstd.is_contiguous() && (!dweight.defined() || dweight.is_contiguous()), op,
           ": weight, rstd and dweight must be contiguous");
  dispatch_float(op, "residual_out", residual_out, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtypes(op, residual_out.dtype(),
                 {{"weight", &weight}, {"rstd", &rstd}, {"dout", &dout}, {"dresidual_out", &dresidual_out},
                  {"dx", &dx}, {"dweight", &dweight}});
    if (R == 0) return;
    const StridedIndex ir = StridedIndex::rows(residual_out), ig = StridedIndex::rows(dout),
                       idx = StridedIndex::rows(dx);
    const StridedIndex idr = dresidual_out.defined() ? StridedIndex::rows(dresidual_out) : ir;
    const T* pr = residual_out.data<T>();
    const T* w = weight.data<T>();
    const T* prs = rstd.data<T>();
    const T* pg = dout.data<T>();
    const T* pdr = dresidual_out.defined() ? dresidual_out.data<T>() : nullptr;
    T* pdx = dx.data<T>();
    const int64_t chunks = reduce_chunks(R);
    std::vector<double> partial(dweight.defined() ? static_cast<size_t>(chunks * H) : 0, 0.0);
#pragma omp parallel for schedule(static) if (R * H > kParallelGrain)
    for (int64_t c = 0; c < chunks; ++c) {
      double* dw = partial.empty() ? nullptr : partial.data() + c * H;
      for (int64_t r = chunk_begin(c, R, chunks); r < chunk_begin(c + 1, R, chunks); ++r) {
        const T* xr = pr + ir.offset(r);
        const T* gr = pg + ig.offset(r);
        const double rs = prs[r];
        // y = x * rs * w,  rs = (mean(x^2) + eps)^-1/2:
        //   dx = rs * (w * dy) - x * rs^3 / H * sum(w * dy * x)
        double dot = 0;
        for (int64_t h = 0; h < H; ++h) dot += static_cast<double>(gr[h]) * w[h] * xr[h];
        const double coef = rs * rs * rs * dot / static_cast<double>(H);
        T* dxr = pdx + idx.offset(r);
        const T* dr = pdr ? pdr + idr.offset(r) : nullptr;
        for (int64_t h = 0; h < H; ++h) {
          double v = rs * static_cast<double>(gr[h]) * w[h] - coef * xr[h];
          if (dr) v += dr[h];
          dxr[h] = static_cast<T>(v);
        }
        if (dw)
          for (int64_t h = 0; h < H; ++h) dw[h] += static_cast<double>(gr[h]) * xr[h] * rs;
      }
    }
    if (dweight.defined()) {
      T* dw = dweight.data<T>();
      for (int64_t h = 0; h < H; ++h) {
        double s = 0;
        for (int64_t c = 0; c < chunks; ++c) s += partial[c * H + h];
        dw[h] = static_cast<T>(dw[h] + s);
      }
    }
  });
}

}  // namespace ms::cpu
