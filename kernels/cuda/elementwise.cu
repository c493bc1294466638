// CUDA twins of kernels/elementwise.h. add/axpy/scale/cast are strided maps (map.cuh); sum_squares and
// all_finite are block reductions whose result the host reads as one value.
#include "kernels/cuda/map.cuh"
#include "kernels/elementwise.h"
#include "kernels/memory.h"

namespace ms::cuda {

namespace {

struct AddF {
  __device__ float operator()(const float* v) const { return v[0] + v[1]; }
};
// In double and rounded once, as the CPU twin (y + alpha * x often cancels in gradient accumulation);
// the _rn intrinsics keep the compiler from contracting into an FMA the CPU does not use.
struct AxpyF {
  double alpha;
  __device__ float operator()(const float* v) const {
    return static_cast<float>(__dadd_rn(static_cast<double>(v[1]), __dmul_rn(alpha, static_cast<double>(v[0]))));
  }
};
struct ScaleF {
  double alpha;
  __device__ float operator()(const float* v) const { return static_cast<float>(__dmul_rn(alpha, v[0])); }
};
struct CopyF {
  __device__ float operator()(const float* v) const { return v[0]; }
};

// Stage 1: one double partial per block (fixed grid for a given size and GPU, so the sum is reproducible).
__global__ void sum_squares_partial_kernel(FPtr x, Layout lx, int64_t n, double* partial) {
  __shared__ double scratch[32];
  double acc = 0.0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const double v = x.ld(lx.offset(i));
    acc += v * v;
  }
  acc = group_allreduce(acc, SumOp{}, blockDim.x, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

// Stage 2: one block sums the partials in a fixed order.
__global__ void sum_partials_kernel(const double* partial, int count, double* out) {
  __shared__ double scratch[32];
  double acc = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  acc = group_allreduce(acc, SumOp{}, blockDim.x, scratch);
  if (threadIdx.x == 0) *out = acc;
}

__global__ void all_finite_kernel(FPtr x, Layout lx, int64_t n, int* any_bad) {
  bool bad = false;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    // Exponent all ones = inf or NaN (a bit test, immune to fast-math assumptions); bf16 widens exactly.
    bad |= (__float_as_uint(x.ld(lx.offset(i))) & 0x7f800000u) == 0x7f800000u;
  }
  if (__syncthreads_or(bad) && threadIdx.x == 0) *any_bad = 1;
}

}  // namespace

void add(const Tensor& a, const Tensor& b, const Tensor& out) {
  const Tensor* ins[2] = {&a, &b};
  const char* names[2] = {"a", "b"};
  launch_map<2>("add", ins, names, out, "out", AddF{});
}

void axpy(double alpha, const Tensor& x, const Tensor& y) {
  const Tensor* ins[2] = {&x, &y};
  const char* names[2] = {"x", "y"};
  launch_map<2>("axpy", ins, names, y, "y", AxpyF{alpha});
}

void scale(const Tensor& x, double alpha) {
  const Tensor* ins[1] = {&x};
  const char* names[1] = {"x"};
  launch_map<1>("scale", ins, names, x, "x", ScaleF{alpha});
}

void cast(const Tensor& src, const Tensor& dst) {
  const Tensor* ins[1] = {&src};
  const char* names[1] = {"src"};
  launch_map<1>("cast", ins, names, dst, "dst", CopyF{});
}

double sum_squares(const Tensor& x) {
  check_defined("sum_squares", "x", x);
  const FPtr p = fptr("sum_squares", "x", x);
  const int64_t n = x.numel();
  if (n == 0) return 0.0;
  constexpr int kThreads = 256;
  const int blocks = static_cast<int>(std::min<int64_t>(grid_for_items(n, kThreads), sm_count() * 8));
  Tensor ws = scratch(static_cast<int64_t>(sizeof(double)) * (blocks + 1));
  double* partial = static_cast<double*>(ws.raw());
  sum_squares_partial_kernel<<<blocks, kThreads, 0, stream()>>>(p, elems_layout(x), n, partial);
  MS_CUDA_CHECK_LAUNCH();
  sum_partials_kernel<<<1, kThreads, 0, stream()>>>(partial, blocks, partial + blocks);
  MS_CUDA_CHECK_LAUNCH();
  double result = 0.0;
  device_memcpy(&result, Device::cpu, partial + blocks, Device::cuda, sizeof(double));
  return result;
}

bool all_finite(const Tensor& x) {
  check_defined("all_finite", "x", x);
  const FPtr p = fptr("all_finite", "x", x);
  const int64_t n = x.numel();
  if (n == 0) return true;
  Tensor ws = scratch(sizeof(int));
  int* any_bad = static_cast<int*>(ws.raw());
  MS_CUDA_CHECK(cudaMemsetAsync(any_bad, 0, sizeof(int), stream()));
  constexpr int kThreads = 256;
  all_finite_kernel<<<static_cast<unsigned>(grid_for_items(n, kThreads)), kThreads, 0, stream()>>>(
      p, elems_layout(x), n, any_bad);
  MS_CUDA_CHECK_LAUNCH();
  int result = 1;
  device_memcpy(&result, Device::cpu, any_bad, Device::cuda, sizeof(int));
  return result == 0;
}

}  // namespace ms::cuda
