// CUDA twin of kernels/cross_entropy.h: fused softmax cross-entropy.
//
// Forward: one pass over each row (a group of threads per row, 16-byte loads when rows allow): every thread
// keeps an online log-sum-exp (running max m, sum of exp(x - m)) together with the arg-max, the group
// combines them, and lane 0 writes lse, the loss and pred. The softmax is never stored.
// Backward: one pass writing dlogits = grad_scale * (exp(x - lse) - onehot(target)), zero rows where ignored.
// Storage: logits, dlogits f32 or bf16; losses, lse f32; targets, pred i32. Arithmetic f32 (the target's
// exp(x - lse) - 1 through expm1f, which keeps its accuracy when p(target) is near 1).
// A target outside [0, V) that is not ignore_index cannot raise an error from the GPU without a host
// synchronization: its row gets a NaN loss (forward) and NaN gradients (backward) instead, so the training
// loop's finiteness check stops the run.
#include <climits>
#include <cmath>

#include "kernels/cross_entropy.h"
#include "kernels/cuda/ops_common.cuh"

namespace ms::cuda {

namespace {

// Online log-sum-exp with arg-max: s = sum exp(x - m) over the elements seen, idx = lowest index with x == m.
struct CeAcc {
  float m, s;
  int idx;
};

__device__ __forceinline__ void ce_push(CeAcc& a, float x, int j) {
  if (x > a.m) {
    a.s = a.s * __expf(a.m - x) + 1.0f;  // a.m = -inf at first: 0 * 0 + 1
    a.m = x;
    a.idx = j;
  } else if (x == a.m) {
    if (x != -INFINITY) a.s += 1.0f;
    if (a.idx == INT_MAX) a.idx = j;  // all -inf so far: the first index
  } else {
    a.s += __expf(x - a.m);  // NaN logits make the sum NaN, as on the CPU
  }
}

// Symmetric in (a, b) bit for bit, so the butterfly reduction gives every lane the same value.
struct CeOp {
  __device__ __forceinline__ CeAcc operator()(CeAcc a, CeAcc b) const {
    if (a.m < b.m || (a.m == b.m && b.idx < a.idx)) {
      const CeAcc t = a;
      a = b;
      b = t;
    }
    if (a.m == b.m) return CeAcc{a.m, a.s + b.s, a.idx};
    return CeAcc{a.m, a.s + b.s * __expf(b.m - a.m), a.idx};
  }
};

struct CeArgs {
  FPtr x, dx;  // logits, dlogits
  int64_t ldx, lddx;
  const int32_t* tgt;
  int64_t st;
  float *loss, *lse;
  int64_t sloss, slse;
  int32_t* pred;
  int64_t spred;
  int64_t R, V;
  int ignore;
  float scale;
  int tpr;
};

template <int VEC>
__global__ void cross_entropy_forward_kernel(CeArgs a) {
  __shared__ CeAcc scratch[8];
  const int groups = blockDim.x / a.tpr, g = threadIdx.x / a.tpr, lane = threadIdx.x % a.tpr;
  for (int64_t base = blockIdx.x * static_cast<int64_t>(groups); base < a.R;
       base += static_cast<int64_t>(gridDim.x) * groups) {
    const int64_t r = base + g;
    CeAcc acc{-INFINITY, 0.0f, INT_MAX};
    if (r < a.R) {
      const int64_t row = r * a.ldx;
      for (int64_t c = static_cast<int64_t>(lane) * VEC; c < a.V; c += static_cast<int64_t>(a.tpr) * VEC) {
        float v[VEC];
        a.x.ldv<VEC>(row + c, v);
#pragma unroll
        for (int j = 0; j < VEC; ++j) ce_push(acc, v[j], static_cast<int>(c + j));
      }
    }
    acc = group_allreduce(acc, CeOp{}, a.tpr, scratch);
    if (r < a.R && lane == 0) {
      // s >= 1 (the maximum contributes exp(0) = 1), and log1p(s - 1) stays accurate where s is near 1.
      const float l = acc.m + log1pf(acc.s - 1.0f);
      const int t = a.tgt[r * a.st];
      float loss = 0.0f;
      if (t != a.ignore) loss = t >= 0 && t < a.V ? l - a.x.ld(r * a.ldx + t) : __int_as_float(0x7fc00000);
      a.lse[r * a.slse] = l;
      a.loss[r * a.sloss] = loss;
      if (a.pred) a.pred[r * a.spred] = acc.idx == INT_MAX ? 0 : acc.idx;
    }
  }
}

template <int VEC>
__global__ void cross_entropy_backward_kernel(CeArgs a) {
  const int groups = blockDim.x / a.tpr, g = threadIdx.x / a.tpr, lane = threadIdx.x % a.tpr;
  for (int64_t r = blockIdx.x * static_cast<int64_t>(groups) + g; r < a.R;
       r += static_cast<int64_t>(gridDim.x) * groups) {
    const int t = a.tgt[r * a.st];
    const bool ignored = t == a.ignore, bad = !ignored && (t < 0 || t >= a.V);
    const float l = a.lse[r * a.slse];
    const int64_t row = r * a.ldx, drow = r * a.lddx;
    for (int64_t c = static_cast<int64_t>(lane) * VEC; c < a.V; c += static_cast<int64_t>(a.tpr) * VEC) {
      float v[VEC];
      if (ignored) {
#pragma unroll
        for (int j = 0; j < VEC; ++j) v[j] = 0.0f;
      } else {
        a.x.ldv<VEC>(row + c, v);
#pragma unroll
        for (int j = 0; j < VEC; ++j) {
          const float z = v[j] - l;
          v[j] = bad ? __int_as_float(0x7fc00000) : a.scale * (c + j == t ? expm1f(z) : __expf(z));
        }
      }
      a.dx.stv<VEC>(drow + c, v);
    }
  }
}

int64_t check_logits(const char* op, const Tensor& logits) {
  check_defined(op, "logits", logits);
  MS_CHECK(logits.ndim() == 2, op, ": logits must be (R, V), got ", logits.describe());
  check_inner_contiguous(op, "logits", logits);
  MS_CHECK(logits.size(1) > 0 || logits.size(0) == 0, op, ": logits have an empty vocabulary: ", logits.describe());
  MS_CHECK(logits.size(1) < INT_MAX, op, ": vocabulary too large: ", logits.describe());
  return logits.size(0);
}

void check_row_vector(const char* op, const char* arg, const Tensor& t, int64_t R, DType dt) {
  check_shape(op, arg, t, {R});
  check_dtype(op, arg, t, dt);
}

// Row stride of a (R, V) matrix, normalized where R <= 1 (then any stride works).
int64_t row_stride(const Tensor& t) { return t.size(0) > 1 ? t.stride(0) : t.size(1); }

bool vec8_ok(const Tensor& t) {
  return reinterpret_cast<uintptr_t>(t.raw()) % 16 == 0 && row_stride(t) % 8 == 0 && t.size(1) % 8 == 0;
}

}  // namespace

void cross_entropy_forward(const Tensor& logits, const Tensor& targets, int ignore_index, const Tensor& losses,
                           const Tensor& lse, const Tensor& pred) {
  const char* op = "cross_entropy_forward";
  check_cuda(op, {&logits, &targets, &losses, &lse, &pred});
  const int64_t R = check_logits(op, logits), V = logits.size(1);
  check_row_vector(op, "targets", targets, R, DType::i32);
  check_row_vector(op, "losses", losses, R, DType::f32);
  check_row_vector(op, "lse", lse, R, DType::f32);
  if (pred.defined()) check_row_vector(op, "pred", pred, R, DType::i32);
  CeArgs a{};
  a.x = fptr(op, "logits", logits);
  if (R == 0) return;
  a.ldx = row_stride(logits);
  a.tgt = targets.data<int32_t>();
  a.st = targets.stride(0);
  a.loss = losses.data<float>();
  a.sloss = losses.stride(0);
  a.lse = lse.data<float>();
  a.slse = lse.stride(0);
  a.pred = pred.defined() ? pred.data<int32_t>() : nullptr;
  a.spred = pred.defined() ? pred.stride(0) : 0;
  a.R = R;
  a.V = V;
  a.ignore = ignore_index;
  const RowPlan p = plan_rows_looping(R, V, vec8_ok(logits));
  a.tpr = p.tpr;
  MS_VEC_DISPATCH(p.vec, VEC,
                  cross_entropy_forward_kernel<VEC><<<static_cast<unsigned>(p.grid), p.block, 0, stream()>>>(a));
  MS_CUDA_CHECK_LAUNCH();
}

void cross_entropy_backward(const Tensor& logits, const Tensor& targets, int ignore_index, const Tensor& lse,
                            double grad_scale, const Tensor& dlogits) {
  const char* op = "cross_entropy_backward";
  check_cuda(op, {&logits, &targets, &lse, &dlogits});
  const int64_t R = check_logits(op, logits), V = logits.size(1);
  check_row_vector(op, "targets", targets, R, DType::i32);
  check_row_vector(op, "lse", lse, R, DType::f32);
  check_shape(op, "dlogits", dlogits, logits.shape());
  check_inner_contiguous(op, "dlogits", dlogits);
  CeArgs a{};
  a.x = fptr(op, "logits", logits);
  a.dx = fptr(op, "dlogits", dlogits);
  if (R == 0) return;
  a.ldx = row_stride(logits);
  a.lddx = row_stride(dlogits);
  a.tgt = targets.data<int32_t>();
  a.st = targets.stride(0);
  a.lse = lse.data<float>();
  a.slse = lse.stride(0);
  a.R = R;
  a.V = V;
  a.ignore = ignore_index;
  a.scale = static_cast<float>(grad_scale);
  const RowPlan p = plan_rows_looping(R, V, vec8_ok(logits) && vec8_ok(dlogits));
  a.tpr = p.tpr;
  MS_VEC_DISPATCH(p.vec, VEC,
                  cross_entropy_backward_kernel<VEC><<<static_cast<unsigned>(p.grid), p.block, 0, stream()>>>(a));
  MS_CUDA_CHECK_LAUNCH();
}

}  // namespace ms::cuda
