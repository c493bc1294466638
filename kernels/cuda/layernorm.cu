// CUDA twin of kernels/layernorm.h. Same layout as rmsnorm.cu: a group of threads per row, the row in
// registers (mean and variance in two passes over the registers, so the variance never cancels), dweight
// and dbias through per-block partial rows added up deterministically (norm_common.cuh).
// Storage: x, out, dout, dx f32 or bf16; weight, bias, mean, rstd, dweight, dbias f32.
#include <cmath>

#include "kernels/cuda/norm_common.cuh"
#include "kernels/layernorm.h"

namespace ms::cuda {

namespace {

struct Sum2 {
  float a, b;
};
struct Sum2Op {
  __device__ __forceinline__ Sum2 operator()(Sum2 x, Sum2 y) const { return Sum2{x.a + y.a, x.b + y.b}; }
};

struct LnFwdArgs {
  FPtr x, out, w, b;
  Layout lx, lout;
  float *mean, *rstd;
  int64_t rows, H;
  float eps;
  int tpr;
};

template <int VEC, int NCH>
__global__ void __launch_bounds__(512) layernorm_forward_kernel(LnFwdArgs a) {
  __shared__ float scratch[16];
  const int groups = blockDim.x / a.tpr, g = threadIdx.x / a.tpr, lane = threadIdx.x % a.tpr;
  const float inv_h = 1.0f / static_cast<float>(a.H);
  for (int64_t base = blockIdx.x * static_cast<int64_t>(groups); base < a.rows;
       base += static_cast<int64_t>(gridDim.x) * groups) {
    const int64_t r = base + g;
    const bool valid = r < a.rows;
    float xv[NCH][VEC];
    float s = 0.0f;
    if (valid) {
      const int64_t ox = a.lx.offset(r);
#pragma unroll
      for (int k = 0; k < NCH; ++k) {
        const int64_t c = (static_cast<int64_t>(lane) + static_cast<int64_t>(k) * a.tpr) * VEC;
        if (c < a.H) {
          a.x.ldv<VEC>(ox + c, xv[k]);
#pragma unroll
          for (int j = 0; j < VEC; ++j) s += xv[k][j];
        }
      }
    }
    const float mu = group_allreduce(s, SumOp{}, a.tpr, scratch) * inv_h;
    float q = 0.0f;
    if (valid) {
#pragma unroll
      for (int k = 0; k < NCH; ++k) {
        const int64_t c = (static_cast<int64_t>(lane) + static_cast<int64_t>(k) * a.tpr) * VEC;
        if (c < a.H) {
#pragma unroll
          for (int j = 0; j < VEC; ++j) q += (xv[k][j] - mu) * (xv[k][j] - mu);
        }
      }
    }
    q = group_allreduce(q, SumOp{}, a.tpr, scratch);
    if (valid) {
      const float rs = static_cast<float>(1.0 / sqrt(static_cast<double>(q) * inv_h + a.eps));
      if (lane == 0) {
        if (a.mean) a.mean[r] = mu;
        if (a.rstd) a.rstd[r] = rs;
      }
      const int64_t oo = a.lout.offset(r);
#pragma unroll
      for (int k = 0; k < NCH; ++k) {
        const int64_t c = (static_cast<int64_t>(lane) + static_cast<int64_t>(k) * a.tpr) * VEC;
        if (c < a.H) {
          float wv[VEC], bv[VEC], y[VEC];
          a.w.ldv<VEC>(c, wv);
          if (a.b.p) a.b.ldv<VEC>(c, bv);
#pragma unroll
          for (int j = 0; j < VEC; ++j) y[j] = (xv[k][j] - mu) * rs * wv[j] + (a.b.p ? bv[j] : 0.0f);
          a.out.stv<VEC>(oo + c, y);
        }
      }
    }
  }
}

struct LnBwdArgs {
  FPtr x, dy, dx, w;
  Layout lx, ldy, ldx;
  const float *mean, *rstd;
  float *partial_w, *partial_b;  // (gridDim.x, H) each, or nullptr when not wanted
  int64_t rows, H;
  int tpr;
};

template <int VEC, int NCH>
__global__ void __launch_bounds__(512) layernorm_backward_kernel(LnBwdArgs a) {
  __shared__ Sum2 scratch[16];
  __shared__ float smem[kPartialSmem];
  const int groups = blockDim.x / a.tpr, g = threadIdx.x / a.tpr, lane = threadIdx.x % a.tpr;
  const float inv_h = 1.0f / static_cast<float>(a.H);
  float acc_w[NCH][VEC], acc_b[NCH][VEC];
#pragma unroll
  for (int k = 0; k < NCH; ++k)
#pragma unroll
    for (int j = 0; j < VEC; ++j) acc_w[k][j] = acc_b[k][j] = 0.0f;

  for (int64_t base = blockIdx.x * static_cast<int64_t>(groups); base < a.rows;
       base += static_cast<int64_t>(gridDim.x) * groups) {
    const int64_t r = base + g;
    const bool valid = r < a.rows;
    float xh[NCH][VEC], gv[NCH][VEC];  // xhat and g = dy * w
    Sum2 s{0.0f, 0.0f};                // sum g, sum g * xhat
    float rs = 0.0f;
    if (valid) {
      const float mu = a.mean[r];
      rs = a.rstd[r];
      const int64_t ox = a.lx.offset(r), ody = a.ldy.offset(r);
#pragma unroll
      for (int k = 0; k < NCH; ++k) {
        const int64_t c = (static_cast<int64_t>(lane) + static_cast<int64_t>(k) * a.tpr) * VEC;
        if (c < a.H) {
          float dyv[VEC], wv[VEC];
          a.x.ldv<VEC>(ox + c, xh[k]);
          a.dy.ldv<VEC>(ody + c, dyv);
          a.w.ldv<VEC>(c, wv);
#pragma unroll
          for (int j = 0; j < VEC; ++j) {
            xh[k][j] = (xh[k][j] - mu) * rs;
            gv[k][j] = dyv[j] * wv[j];
            s.a += gv[k][j];
            s.b += gv[k][j] * xh[k][j];
            acc_w[k][j] += dyv[j] * xh[k][j];
            acc_b[k][j] += dyv[j];
          }
        }
      }
    }
    s = group_allreduce(s, Sum2Op{}, a.tpr, scratch);
    if (valid) {
      // dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
      const float mg = s.a * inv_h, mgx = s.b * inv_h;
      const int64_t odx = a.ldx.offset(r);
#pragma unroll
      for (int k = 0; k < NCH; ++k) {
        const int64_t c = (static_cast<int64_t>(lane) + static_cast<int64_t>(k) * a.tpr) * VEC;
        if (c < a.H) {
          float d[VEC];
#pragma unroll
          for (int j = 0; j < VEC; ++j) d[j] = rs * (gv[k][j] - mg - xh[k][j] * mgx);
          a.dx.stv<VEC>(odx + c, d);
        }
      }
    }
  }
  if (a.partial_w) store_block_partial<NCH, VEC>(acc_w, smem, a.partial_w + blockIdx.x * a.H, a.H, a.tpr);
  if (a.partial_b) store_block_partial<NCH, VEC>(acc_b, smem, a.partial_b + blockIdx.x * a.H, a.H, a.tpr);
}

void check_like(const char* op, const char* arg, const Tensor& t, const Tensor& x) {
  check_shape(op, arg, t, x.shape());
  check_inner_contiguous(op, arg, t);
}

void check_param(const char* op, const char* arg, const Tensor& t, int64_t n) {
  check_shape(op, arg, t, {n});
  check_dtype(op, arg, t, DType::f32);
  MS_CHECK(t.is_contiguous(), op, ": '", arg, "' must be contiguous, got ", t.describe());
}

void check_stat(const char* op, const char* arg, const Tensor& t, int64_t rows) {
  check_shape(op, arg, t, {rows});
  check_dtype(op, arg, t, DType::f32);
  MS_CHECK(t.is_contiguous(), op, ": '", arg, "' must be contiguous, got ", t.describe());
}

bool aligned16(const Tensor& t) { return !t.defined() || reinterpret_cast<uintptr_t>(t.raw()) % 16 == 0; }

}  // namespace

void layernorm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& out,
                       const Tensor& mean, const Tensor& rstd) {
  const char* op = "layernorm_forward";
  check_defined(op, "x", x);
  MS_CHECK(x.ndim() >= 1, op, ": x must be (..., H), got ", x.describe());
  check_inner_contiguous(op, "x", x);
  check_cuda(op, {&x, &weight, &bias, &out, &mean, &rstd});
  const int64_t H = x.size(-1), rows = row_count(x);
  check_param(op, "weight", weight, H);
  if (bias.defined()) check_param(op, "bias", bias, H);
  check_like(op, "out", out, x);
  MS_CHECK(eps >= 0, op, ": eps must be >= 0, got ", eps);
  check_stat(op, "mean", mean, rows);
  check_stat(op, "rstd", rstd, rows);
  LnFwdArgs a{};
  a.x = fptr(op, "x", x);
  a.out = fptr(op, "out", out);
  a.w = fptr(op, "weight", weight);
  a.b = fptr(op, "bias", bias);
  a.lx = rows_layout(x);
  a.lout = rows_layout(out);
  a.mean = f32ptr(op, "mean", mean);
  a.rstd = f32ptr(op, "rstd", rstd);
  a.rows = rows;
  a.H = H;
  a.eps = static_cast<float>(eps);
  if (rows == 0 || H == 0) return;
  const bool vec8 = vec8_rows_ok(x) && vec8_rows_ok(out) && aligned16(weight) && aligned16(bias);
  const RowPlan p = plan_rows(op, rows, H, vec8);
  a.tpr = p.tpr;
  MS_VEC_DISPATCH(p.vec, VEC, MS_NCH_DISPATCH(p.nch, NCH, {
    layernorm_forward_kernel<VEC, NCH><<<static_cast<unsigned>(p.grid), p.block, 0, stream()>>>(a);
  }));
  MS_CUDA_CHECK_LAUNCH();
}

void layernorm_backward(const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
                        const Tensor& dout, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
  const char* op = "layernorm_backward";
  check_defined(op, "x", x);
  MS_CHECK(x.ndim() >= 1, op, ": x must be (..., H), got ", x.describe());
  check_inner_contiguous(op, "x", x);
  check_cuda(op, {&x, &weight, &mean, &rstd, &dout, &dx, &dweight, &dbias});
  const int64_t H = x.size(-1), rows = row_count(x);
  check_param(op, "weight", weight, H);
  check_stat(op, "mean", mean, rows);
  check_stat(op, "rstd", rstd, rows);
  check_like(op, "dout", dout, x);
  check_like(op, "dx", dx, x);
  if (dweight.defined()) check_param(op, "dweight", dweight, H);
  if (dbias.defined()) check_param(op, "dbias", dbias, H);
  LnBwdArgs a{};
  a.x = fptr(op, "x", x);
  a.dy = fptr(op, "dout", dout);
  a.dx = fptr(op, "dx", dx);
  a.w = fptr(op, "weight", weight);
  a.lx = rows_layout(x);
  a.ldy = rows_layout(dout);
  a.ldx = rows_layout(dx);
  a.mean = static_cast<const float*>(mean.raw());
  a.rstd = static_cast<const float*>(rstd.raw());
  a.rows = rows;
  a.H = H;
  if (rows == 0 || H == 0) return;
  const bool vec8 = vec8_rows_ok(x) && vec8_rows_ok(dout) && vec8_rows_ok(dx) && aligned16(weight);
  const RowPlan p = plan_rows(op, rows, H, vec8, static_cast<int64_t>(sm_count()) * 4);
  MS_CHECK(p.groups == 1 || p.groups * H <= kPartialSmem, op, ": internal: ", p.groups, " groups of H = ", H,
           " exceed the shared buffer");
  a.tpr = p.tpr;
  Tensor ws;
  const int64_t np = (dweight.defined() ? 1 : 0) + (dbias.defined() ? 1 : 0);
  if (np > 0) {
    ws = scratch(static_cast<int64_t>(sizeof(float)) * p.grid * H * np);
    float* base = static_cast<float*>(ws.raw());
    if (dweight.defined()) a.partial_w = base;
    if (dbias.defined()) a.partial_b = base + (dweight.defined() ? p.grid * H : 0);
  }
  MS_VEC_DISPATCH(p.vec, VEC, MS_NCH_DISPATCH(p.nch, NCH, {
    layernorm_backward_kernel<VEC, NCH><<<static_cast<unsigned>(p.grid), p.block, 0, stream()>>>(a);
  }));
  MS_CUDA_CHECK_LAUNCH();
  if (a.partial_w) add_partials(a.partial_w, p.grid, H, static_cast<float*>(dweight.raw()), 1);
  if (a.partial_b) add_partials(a.partial_b, p.grid, H, static_cast<float*>(dbias.raw()), 1);
}

}  // namespace ms::cuda
