// CUDA twin of kernels/adamw.h plus the multi-tensor entry points of kernels/cuda/adamw_multi.h.
//
// The update follows the CPU twin (which follows torch.optim.AdamW) operation by operation in f32, with
// the _rn intrinsics so that --use_fast_math cannot approximate the division/sqrt and the compiler cannot
// fuse into FMAs: the result is bit-identical to the CPU for normal numbers (the GPU flushes subnormals).
//
// Work split: tensors are cut into 65536-element chunks; a launch covers up to 320 chunks of up to 36
// tensors (the tables travel in the kernel parameters, so nothing is allocated or copied per step), one
// block per chunk, 16-byte loads when a tensor's four arrays are aligned.
#include <cmath>

#include "kernels/cuda/adamw_multi.h"
#include "kernels/cuda/ops_common.cuh"
#include "kernels/memory.h"

namespace ms::cuda {

namespace {

constexpr int kMaxTensors = 36;
constexpr int kMaxChunks = 320;
constexpr int64_t kChunk = 65536;
constexpr int kThreads = 256;

struct AdamWCoef {
  float decay, w1, b2, w2, neg_step, bc2_sqrt, eps, gs;
  bool scaled;
};

// Scalars as the CPU twin computes them (in double, then rounded to f32).
AdamWCoef coefficients(const AdamWStep& s) {
  const double stepd = static_cast<double>(s.step);
  const double bc1 = 1.0 - std::pow(s.beta1, stepd), bc2 = 1.0 - std::pow(s.beta2, stepd);
  AdamWCoef c;
  c.decay = static_cast<float>(1.0 - s.lr * s.weight_decay);
  c.w1 = static_cast<float>(1.0 - s.beta1);
  c.b2 = static_cast<float>(s.beta2);
  c.w2 = static_cast<float>(1.0 - s.beta2);
  c.neg_step = static_cast<float>(-(s.lr / bc1));
  c.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  c.eps = static_cast<float>(s.eps);
  c.gs = static_cast<float>(s.grad_scale);
  c.scaled = s.grad_scale != 1.0;
  return c;
}

__device__ __forceinline__ void adamw_element(float& p, float g, float& m, float& v, const AdamWCoef& c) {
  const float gi = c.scaled ? __fmul_rn(g, c.gs) : g;  // clip_grad_norm_: grad.mul_(coef)
  float pi = __fmul_rn(p, c.decay);                    // param.mul_(1 - lr * wd)
  // exp_avg.lerp_(grad, 1 - beta1), torch.lerp's two branches
  const float mi = fabsf(c.w1) < 0.5f ? __fadd_rn(m, __fmul_rn(c.w1, __fsub_rn(gi, m)))
                                      : __fsub_rn(gi, __fmul_rn(__fsub_rn(gi, m), __fsub_rn(1.0f, c.w1)));
  // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
  const float vi = __fadd_rn(__fmul_rn(v, c.b2), __fmul_rn(__fmul_rn(c.w2, gi), gi));
  // (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps); param.addcdiv_(exp_avg, denom, value=-step_size)
  const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), c.bc2_sqrt), c.eps);
  pi = __fadd_rn(pi, __fdiv_rn(__fmul_rn(c.neg_step, mi), denom));
  p = pi;
  m = mi;
  v = vi;
}

// Tensor and chunk tables for one launch (kernel parameters: about 3.3 KB, under the 4 KB limit).
struct ChunkTable {
  float* p[kMaxTensors];
  const float* g[kMaxTensors];
  float* m[kMaxTensors];
  float* v[kMaxTensors];
  int64_t n[kMaxTensors];
  bool aligned[kMaxTensors];
  uint8_t tensor[kMaxChunks];
  int32_t chunk[kMaxChunks];
};

__global__ void __launch_bounds__(kThreads) adamw_chunks_kernel(ChunkTable t, AdamWCoef c) {
  const int ti = t.tensor[blockIdx.x];
  const int64_t begin = static_cast<int64_t>(t.chunk[blockIdx.x]) * kChunk;
  const int64_t end = min(begin + kChunk, t.n[ti]);
  float *p = t.p[ti], *m = t.m[ti], *v = t.v[ti];
  const float* g = t.g[ti];
  int64_t scalar_begin = begin;
  if (t.aligned[ti]) {
    const int64_t npack = (end - begin) / 4;
    for (int64_t q = threadIdx.x; q < npack; q += blockDim.x) {
      const int64_t i = begin + 4 * q;
      float4 pv = *reinterpret_cast<const float4*>(p + i), gv = *reinterpret_cast<const float4*>(g + i);
      float4 mv = *reinterpret_cast<const float4*>(m + i), vv = *reinterpret_cast<const float4*>(v + i);
      adamw_element(pv.x, gv.x, mv.x, vv.x, c);
      adamw_element(pv.y, gv.y, mv.y, vv.y, c);
      adamw_element(pv.z, gv.z, mv.z, vv.z, c);
      adamw_element(pv.w, gv.w, mv.w, vv.w, c);
      *reinterpret_cast<float4*>(p + i) = pv;
      *reinterpret_cast<float4*>(m + i) = mv;
      *reinterpret_cast<float4*>(v + i) = vv;
    }
    scalar_begin = begin + 4 * npack;
  }
  for (int64_t i = scalar_begin + threadIdx.x; i < end; i += blockDim.x) {
    float pi = p[i], mi = m[i], vi = v[i];
    adamw_element(pi, g[i], mi, vi, c);
    p[i] = pi;
    m[i] = mi;
    v[i] = vi;
  }
}

// One double partial per chunk: partial[base + blockIdx.x].
__global__ void __launch_bounds__(kThreads) sum_squares_chunks_kernel(ChunkTable t, double* partial) {
  __shared__ double scratch[kThreads / 32];
  const int ti = t.tensor[blockIdx.x];
  const int64_t begin = static_cast<int64_t>(t.chunk[blockIdx.x]) * kChunk;
  const int64_t end = min(begin + kChunk, t.n[ti]);
  const float* g = t.g[ti];
  double acc = 0.0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const double x = g[i];
    acc += x * x;
  }
  acc = group_allreduce(acc, SumOp{}, blockDim.x, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void sum_doubles_kernel(const double* partial, int64_t count, double* out) {
  __shared__ double scratch[kThreads / 32];
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  acc = group_allreduce(acc, SumOp{}, blockDim.x, scratch);
  if (threadIdx.x == 0) *out = acc;
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

void check_f32_contiguous(const char* op, const char* arg, const Tensor& t, const Tensor& like) {
  check_shape(op, arg, t, like.shape());
  check_dtype(op, arg, t, DType::f32);
  MS_CHECK(t.is_cuda(), op, ": expected CUDA tensors, got '", arg, "' ", t.describe());
  MS_CHECK(t.is_contiguous(), op, ": '", arg, "' must be contiguous, got strides ", shape_str(t.strides()));
}

// Walks the chunks of `count` tensors (n[i] elements each) in order, filling chunk tables and calling
// launch(table, chunks) whenever a table is full and at the end; fill(table, slot, i) puts tensor i's
// pointers into a table slot. A tensor whose chunks straddle two launches gets a slot in both.
template <class Fill, class Launch>
void for_each_launch(int64_t count, const std::vector<int64_t>& n, Fill fill, Launch launch) {
  ChunkTable t{};
  int slots = 0, chunks = 0;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t nchunks = (n[i] + kChunk - 1) / kChunk;
    MS_CHECK(nchunks <= INT32_MAX, "adamw: tensor of ", n[i], " elements is too large");
    int slot = -1;  // tensor i's slot in the current table
    for (int64_t ch = 0; ch < nchunks; ++ch) {
      if (chunks == kMaxChunks || (slot < 0 && slots == kMaxTensors)) {
        launch(t, chunks);
        t = ChunkTable{};
        slots = chunks = 0;
        slot = -1;
      }
      if (slot < 0) {
        slot = slots++;
        fill(t, slot, i);
        t.n[slot] = n[i];
      }
      t.tensor[chunks] = static_cast<uint8_t>(slot);
      t.chunk[chunks] = static_cast<int32_t>(ch);
      ++chunks;
    }
  }
  if (chunks > 0) launch(t, chunks);
}

}  // namespace

void adamw_update_multi(const std::vector<AdamWTensors>& list, const AdamWStep& s) {
  const char* op = "adamw_update";
  MS_CHECK(s.step >= 1, op, ": step counts from 1, got ", s.step);
  MS_CHECK(s.lr >= 0 && s.eps >= 0 && s.weight_decay >= 0, op, ": lr, eps and weight_decay must be >= 0 (lr ", s.lr,
           ", eps ", s.eps, ", weight_decay ", s.weight_decay, ")");
  MS_CHECK(s.beta1 >= 0 && s.beta1 < 1 && s.beta2 >= 0 && s.beta2 < 1, op, ": betas must be in [0, 1), got ", s.beta1,
           ", ", s.beta2);
  std::vector<int64_t> n(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const AdamWTensors& e = list[i];
    check_defined(op, "param", e.param);
    check_f32_contiguous(op, "param", e.param, e.param);
    check_f32_contiguous(op, "grad", e.grad, e.param);
    check_f32_contiguous(op, "m", e.m, e.param);
    check_f32_contiguous(op, "v", e.v, e.param);
    n[i] = e.param.numel();
  }
  const AdamWCoef c = coefficients(s);
  for_each_launch(
      static_cast<int64_t>(list.size()), n,
      [&](ChunkTable& t, int slot, int64_t i) {
        const AdamWTensors& e = list[i];
        t.p[slot] = static_cast<float*>(e.param.raw());
        t.g[slot] = static_cast<const float*>(e.grad.raw());
        t.m[slot] = static_cast<float*>(e.m.raw());
        t.v[slot] = static_cast<float*>(e.v.raw());
        t.aligned[slot] = aligned16(t.p[slot]) && aligned16(t.g[slot]) && aligned16(t.m[slot]) && aligned16(t.v[slot]);
      },
      [&](const ChunkTable& t, int chunks) {
        adamw_chunks_kernel<<<chunks, kThreads, 0, stream()>>>(t, c);
        MS_CUDA_CHECK_LAUNCH();
      });
}

void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v, const AdamWStep& s) {
  cuda::adamw_update_multi({AdamWTensors{param, grad, m, v}}, s);
}

double sum_squares_multi(const std::vector<Tensor>& list) {
  const char* op = "sum_squares_multi";
  std::vector<int64_t> n(list.size());
  int64_t total_chunks = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    check_defined(op, "tensor", list[i]);
    check_f32_contiguous(op, "tensor", list[i], list[i]);
    n[i] = list[i].numel();
    total_chunks += (n[i] + kChunk - 1) / kChunk;
  }
  if (total_chunks == 0) return 0.0;
  Tensor ws = scratch(static_cast<int64_t>(sizeof(double)) * (total_chunks + 1));
  double* partial = static_cast<double*>(ws.raw());
  int64_t done = 0;
  for_each_launch(
      static_cast<int64_t>(list.size()), n,
      [&](ChunkTable& t, int slot, int64_t i) { t.g[slot] = static_cast<const float*>(list[i].raw()); },
      [&](const ChunkTable& t, int chunks) {
        sum_squares_chunks_kernel<<<chunks, kThreads, 0, stream()>>>(t, partial + done);
        MS_CUDA_CHECK_LAUNCH();
        done += chunks;
      });
  MS_CHECK(done == total_chunks, op, ": internal: ", done, " of ", total_chunks, " chunks reduced");
  sum_doubles_kernel<<<1, kThreads, 0, stream()>>>(partial, total_chunks, partial + total_chunks);
  MS_CUDA_CHECK_LAUNCH();
  double result = 0.0;
  device_memcpy(&result, Device::cpu, partial + total_chunks, Device::cuda, sizeof(double));
  return result;
}

}  // namespace ms::cuda
