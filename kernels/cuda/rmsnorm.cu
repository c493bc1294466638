// CUDA twin of kernels/rmsnorm.h: fused residual add + RMSNorm, forward and backward.
//
// Layout: a group of tpr threads per row (RowPlan): thread `lane` owns columns (lane + k tpr) * VEC + j,
// k < NCH, j < VEC, and keeps them in registers, so each row is read once and written once.
// Forward reads x (+ residual), writes residual_out (when defined), out and rstd.
// Backward reads residual_out (h), dout, dresidual_out, rstd, weight; writes dx; dweight goes through
// per-block partial rows and add_partials (norm_common.cuh), deterministic.
// Storage: x, out, dout, dx f32 or bf16; residual, residual_out, dresidual_out f32 (h may be bf16 when it
// is x itself); weight, rstd, dweight f32. Arithmetic f32; rstd from the f32 sum of squares in double.
#include <cmath>

#include "kernels/cuda/norm_common.cuh"
#include "kernels/rmsnorm.h"

namespace ms::cuda {

namespace {

struct RmsFwdArgs {
  FPtr x, res, res_out, out, w;
  Layout lx, lres, lro, lout;
  float* rstd;
  int64_t rows, H;
  float eps;
  int tpr;
};

template <int VEC, int NCH>
__global__ void __launch_bounds__(512) rmsnorm_forward_kernel(RmsFwdArgs a) {
  __shared__ float scratch[16];
  const int groups = blockDim.x / a.tpr, g = threadIdx.x / a.tpr, lane = threadIdx.x % a.tpr;
  // The loop bound is the same for every thread of the block (group_allreduce synchronizes).
  for (int64_t base = blockIdx.x * static_cast<int64_t>(groups); base < a.rows;
       base += static_cast<int64_t>(gridDim.x) * groups) {
    const int64_t r = base + g;
    const bool valid = r < a.rows;
    float h[NCH][VEC];
    float ss = 0.0f;
    if (valid) {
      const int64_t ox = a.lx.offset(r), ores = a.lres.offset(r), oro = a.lro.offset(r);
#pragma unroll
      for (int k = 0; k < NCH; ++k) {
        const int64_t c = (static_cast<int64_t>(lane) + static_cast<int64_t>(k) * a.tpr) * VEC;
        if (c < a.H) {
          a.x.ldv<VEC>(ox + c, h[k]);
          if (a.res.p) {
            float rv[VEC];
            a.res.ldv<VEC>(ores + c, rv);
#pragma unroll
            for (int j = 0; j < VEC; ++j) h[k][j] += rv[j];
          }
          if (a.res_out.p) a.res_out.stv<VEC>(oro + c, h[k]);
#pragma unroll
          for (int j = 0; j < VEC; ++j) ss += h[k][j] * h[k][j];
        }
      }
    }
    ss = group_allreduce(ss, SumOp{}, a.tpr, scratch);
    if (valid) {
      const float rs = static_cast<float>(1.0 / sqrt(static_cast<double>(ss) / static_cast<double>(a.H) + a.eps));
      if (lane == 0 && a.rstd) a.rstd[r] = rs;
      const int64_t oo = a.lout.offset(r);
#pragma unroll
      for (int k = 0; k < NCH; ++k) {
        const int64_t c = (static_cast<int64_t>(lane) + static_cast<int64_t>(k) * a.tpr) * VEC;
        if (c < a.H) {
          float wv[VEC], y[VEC];
          a.w.ldv<VEC>(c, wv);
#pragma unroll
          for (int j = 0; j < VEC; ++j) y[j] = h[k][j] * rs * wv[j];
          a.out.stv<VEC>(oo + c, y);
        }
      }
    }
  }
}

struct RmsBwdArgs {
  FPtr h, dy, dres, dx, w;
  Layout lh, ldy, ldres, ldx;
  const float* rstd;
  float* partial;  // (gridDim.x, H), or nullptr when dweight is not wanted
  int64_t rows, H;
  int tpr;
};

template <int VEC, int NCH>
__global__ void __launch_bounds__(512) rmsnorm_backward_kernel(RmsBwdArgs a) {
  __shared__ float scratch[16];
  __shared__ float smem[kPartialSmem];
  const int groups = blockDim.x / a.tpr, g = threadIdx.x / a.tpr, lane = threadIdx.x % a.tpr;
  float acc[NCH][VEC];
#pragma unroll
  for (int k = 0; k < NCH; ++k)
#pragma unroll
    for (int j = 0; j < VEC; ++j) acc[k][j] = 0.0f;

  for (int64_t base = blockIdx.x * static_cast<int64_t>(groups); base < a.rows;
       base += static_cast<int64_t>(gridDim.x) * groups) {
    const int64_t r = base + g;
    const bool valid = r < a.rows;
    float hv[NCH][VEC], gv[NCH][VEC];  // h and g = dy * w
    float dot = 0.0f, rs = 0.0f;
    if (valid) {
      rs = a.rstd[r];
      const int64_t oh = a.lh.offset(r), ody = a.ldy.offset(r);
#pragma unroll
      for (int k = 0; k < NCH; ++k) {
        const int64_t c = (static_cast<int64_t>(lane) + static_cast<int64_t>(k) * a.tpr) * VEC;
        if (c < a.H) {
          float dyv[VEC], wv[VEC];
          a.h.ldv<VEC>(oh + c, hv[k]);
          a.dy.ldv<VEC>(ody + c, dyv);
          a.w.ldv<VEC>(c, wv);
#pragma unroll
          for (int j = 0; j < VEC; ++j) {
            gv[k][j] = dyv[j] * wv[j];
            dot += gv[k][j] * hv[k][j];
            acc[k][j] += dyv[j] * hv[k][j] * rs;
          }
        }
      }
    }
    dot = group_allreduce(dot, SumOp{}, a.tpr, scratch);
    if (valid) {
      // d h_j = rs * g_j - rs^3 / H * h_j * sum_i g_i h_i   (+ the gradient arriving at residual_out)
      const float coef = rs * rs * rs * dot / static_cast<float>(a.H);
      const int64_t odx = a.ldx.offset(r), odr = a.ldres.offset(r);
#pragma unroll
      for (int k = 0; k < NCH; ++k) {
        const int64_t c = (static_cast<int64_t>(lane) + static_cast<int64_t>(k) * a.tpr) * VEC;
        if (c < a.H) {
          float d[VEC];
#pragma unroll
          for (int j = 0; j < VEC; ++j) d[j] = rs * gv[k][j] - coef * hv[k][j];
          if (a.dres.p) {
            float dr[VEC];
            a.dres.ldv<VEC>(odr + c, dr);
#pragma unroll
            for (int j = 0; j < VEC; ++j) d[j] += dr[j];
          }
          a.dx.stv<VEC>(odx + c, d);
        }
      }
    }
  }
  if (a.partial) store_block_partial<NCH, VEC>(acc, smem, a.partial + blockIdx.x * a.H, a.H, a.tpr);
}

// x-like tensor: same shape as x, unit inner stride.
void check_like(const char* op, const char* arg, const Tensor& t, const Tensor& x) {
  check_shape(op, arg, t, x.shape());
  check_inner_contiguous(op, arg, t);
}

// rstd: f32 (rows), contiguous.
void check_rstd(const char* op, const Tensor& rstd, int64_t rows) {
  check_shape(op, "rstd", rstd, {rows});
  check_dtype(op, "rstd", rstd, DType::f32);
  MS_CHECK(rstd.is_contiguous(), op, ": 'rstd' must be contiguous, got ", rstd.describe());
}

void check_weight(const char* op, const char* arg, const Tensor& w, int64_t H) {
  check_shape(op, arg, w, {H});
  check_dtype(op, arg, w, DType::f32);
  MS_CHECK(w.is_contiguous(), op, ": '", arg, "' must be contiguous, got ", w.describe());
}

bool aligned16(const Tensor& t) { return !t.defined() || reinterpret_cast<uintptr_t>(t.raw()) % 16 == 0; }

}  // namespace

void rmsnorm_forward(const Tensor& x, const Tensor& residual, const Tensor& weight, double eps,
                     const Tensor& residual_out, const Tensor& out, const Tensor& rstd) {
  const char* op = "rmsnorm_forward";
  check_defined(op, "x", x);
  MS_CHECK(x.ndim() >= 1, op, ": x must be (..., H), got ", x.describe());
  check_inner_contiguous(op, "x", x);
  check_cuda(op, {&x, &residual, &weight, &residual_out, &out, &rstd});
  const int64_t H = x.size(-1), rows = row_count(x);
  MS_CHECK(!residual.defined() || residual_out.defined(), op,
           ": residual_out must be given when residual is (it receives x + residual)");
  MS_CHECK(eps >= 0, op, ": eps must be >= 0, got ", eps);
  RmsFwdArgs a{};
  a.x = fptr(op, "x", x);
  if (residual.defined()) {
    check_like(op, "residual", residual, x);
    check_dtype(op, "residual", residual, DType::f32);
  }
  if (residual_out.defined()) {
    check_like(op, "residual_out", residual_out, x);
    check_dtype(op, "residual_out", residual_out, DType::f32);
  }
  check_like(op, "out", out, x);
  check_weight(op, "weight", weight, H);
  check_rstd(op, rstd, rows);
  a.res = fptr(op, "residual", residual);
  a.res_out = fptr(op, "residual_out", residual_out);
  a.out = fptr(op, "out", out);
  a.w = fptr(op, "weight", weight);
  a.lx = rows_layout(x);
  a.lres = residual.defined() ? rows_layout(residual) : Layout{};
  a.lro = residual_out.defined() ? rows_layout(residual_out) : Layout{};
  a.lout = rows_layout(out);
  a.rstd = f32ptr(op, "rstd", rstd);
  a.rows = rows;
  a.H = H;
  a.eps = static_cast<float>(eps);
  if (rows == 0 || H == 0) return;
  const bool vec8 = vec8_rows_ok(x) && vec8_rows_ok(residual) && vec8_rows_ok(residual_out) && vec8_rows_ok(out) &&
                    aligned16(weight);
  const RowPlan p = plan_rows(op, rows, H, vec8);
  a.tpr = p.tpr;
  MS_VEC_DISPATCH(p.vec, VEC, MS_NCH_DISPATCH(p.nch, NCH, {
    rmsnorm_forward_kernel<VEC, NCH><<<static_cast<unsigned>(p.grid), p.block, 0, stream()>>>(a);
  }));
  MS_CUDA_CHECK_LAUNCH();
}

void rmsnorm_backward(const Tensor& residual_out, const Tensor& weight, const Tensor& rstd, const Tensor& dout,
                      const Tensor& dresidual_out, const Tensor& dx, const Tensor& dweight) {
  const char* op = "rmsnorm_backward";
  check_defined(op, "residual_out", residual_out);
  MS_CHECK(residual_out.ndim() >= 1, op, ": residual_out must be (..., H), got ", residual_out.describe());
  check_inner_contiguous(op, "residual_out", residual_out);
  check_cuda(op, {&residual_out, &weight, &rstd, &dout, &dresidual_out, &dx, &dweight});
  const Tensor& h = residual_out;
  const int64_t H = h.size(-1), rows = row_count(h);
  check_weight(op, "weight", weight, H);
  check_rstd(op, rstd, rows);
  check_like(op, "dout", dout, h);
  check_like(op, "dx", dx, h);
  if (dresidual_out.defined()) {
    check_like(op, "dresidual_out", dresidual_out, h);
    check_dtype(op, "dresidual_out", dresidual_out, DType::f32);
  }
  if (dweight.defined()) check_shape(op, "dweight", dweight, {H});
  RmsBwdArgs a{};
  a.h = fptr(op, "residual_out", h);
  a.dy = fptr(op, "dout", dout);
  a.dres = fptr(op, "dresidual_out", dresidual_out);
  a.dx = fptr(op, "dx", dx);
  a.w = fptr(op, "weight", weight);
  float* dw = f32ptr(op, "dweight", dweight);
  a.lh = rows_layout(h);
  a.ldy = rows_layout(dout);
  a.ldres = dresidual_out.defined() ? rows_layout(dresidual_out) : Layout{};
  a.ldx = rows_layout(dx);
  a.rstd = static_cast<const float*>(rstd.raw());
  a.rows = rows;
  a.H = H;
  if (rows == 0 || H == 0) return;
  const bool vec8 = vec8_rows_ok(h) && vec8_rows_ok(dout) && vec8_rows_ok(dresidual_out) && vec8_rows_ok(dx) &&
                    aligned16(weight);
  // A few blocks per SM: enough to stream the rows, few partial rows to add up afterwards.
  const RowPlan p = plan_rows(op, rows, H, vec8, static_cast<int64_t>(sm_count()) * 4);
  MS_CHECK(p.groups == 1 || p.groups * H <= kPartialSmem, op, ": internal: ", p.groups, " groups of H = ", H,
           " exceed the shared buffer");
  a.tpr = p.tpr;
  Tensor ws;
  if (dw) {
    ws = scratch(static_cast<int64_t>(sizeof(float)) * p.grid * H);
    a.partial = static_cast<float*>(ws.raw());
  }
  MS_VEC_DISPATCH(p.vec, VEC, MS_NCH_DISPATCH(p.nch, NCH, {
    rmsnorm_backward_kernel<VEC, NCH><<<static_cast<unsigned>(p.grid), p.block, 0, stream()>>>(a);
  }));
  MS_CUDA_CHECK_LAUNCH();
  if (dw) add_partials(a.partial, p.grid, H, dw, dweight.stride(0));
}

}  // namespace ms::cuda
