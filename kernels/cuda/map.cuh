// Elementwise "map" launcher: out[i] = f(in_0[i], ..., in_{N-1}[i]) over tensors of one shape with any
// strides and any f32/bf16 storage mix. Contiguous, 16-byte aligned operands take a vectorized path (8
// elements per load: one 16-byte load for bf16, two for f32); everything else a strided path. The output
// may alias an input (in-place ops): each element is read before it is written, by the same thread.
#pragma once
#include "kernels/cuda/ops_common.cuh"

namespace ms::cuda {

template <int NIN>
struct MapArgs {
  FPtr in[NIN];
  Layout lin[NIN];
  FPtr out;
  Layout lout;
  int64_t n = 0;
  bool vec8 = false;  // every operand contiguous and 16-byte aligned
};

template <int NIN, class F>
__global__ void map_kernel(MapArgs<NIN> a, F f) {
  const int64_t tid = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t nthreads = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t scalar_begin = 0;
  if (a.vec8) {
    const int64_t npack = a.n / 8;
    for (int64_t p = tid; p < npack; p += nthreads) {
      float x[NIN][8], y[8];
#pragma unroll
      for (int k = 0; k < NIN; ++k) a.in[k].ld8(p * 8, x[k]);
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        float v[NIN > 0 ? NIN : 1];
#pragma unroll
        for (int k = 0; k < NIN; ++k) v[k] = x[k][j];
        y[j] = f(v);
      }
      a.out.st8(p * 8, y);
    }
    scalar_begin = npack * 8;  // the tail (< 8 elements)
  }
  for (int64_t i = scalar_begin + tid; i < a.n; i += nthreads) {
    float v[NIN > 0 ? NIN : 1];
#pragma unroll
    for (int k = 0; k < NIN; ++k) v[k] = a.in[k].ld(a.lin[k].offset(i));
    a.out.st(a.lout.offset(i), f(v));
  }
}

// Host: checks shapes/devices/dtypes and launches. `ins` are the inputs, `out` the output (same shape).
template <int NIN, class F>
void launch_map(const char* op, const Tensor* const (&ins)[NIN], const char* const (&names)[NIN], const Tensor& out,
                const char* out_name, F f) {
  check_defined(op, out_name, out);
  MS_CHECK(out.is_cuda(), op, ": expected CUDA tensors, got ", out.describe());
  MapArgs<NIN> a;
  a.n = out.numel();
  a.out = fptr(op, out_name, out);
  a.lout = elems_layout(out);
  bool vec = out.is_contiguous() && reinterpret_cast<uintptr_t>(out.raw()) % 16 == 0;
  for (int k = 0; k < NIN; ++k) {
    const Tensor& t = *ins[k];
    check_defined(op, names[k], t);
    MS_CHECK(t.shape() == out.shape(), op, ": '", names[k], "' has shape ", shape_str(t.shape()), ", '", out_name,
             "' has ", shape_str(out.shape()));
    MS_CHECK(t.is_cuda(), op, ": expected CUDA tensors, got ", t.describe());
    a.in[k] = fptr(op, names[k], t);
    a.lin[k] = elems_layout(t);
    vec = vec && t.is_contiguous() && reinterpret_cast<uintptr_t>(t.raw()) % 16 == 0;
  }
  a.vec8 = vec;
  if (a.n == 0) return;
  constexpr int kThreads = 256;
  const int64_t work = vec ? (a.n + 7) / 8 : a.n;
  map_kernel<NIN><<<static_cast<unsigned>(grid_for_items(work, kThreads)), kThreads, 0, stream()>>>(a, f);
  MS_CUDA_CHECK_LAUNCH();
}

}  // namespace ms::cuda
