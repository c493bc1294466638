// Deterministic parameter-gradient reduction shared by the norm kernels (see norm_common.cuh).
#include "kernels/cuda/norm_common.cuh"

namespace ms::cuda {

__global__ void add_partials_kernel(const float* partial, int64_t P, int64_t H, float* out, int64_t out_stride) {
  __shared__ float buf[8][33];
  const int64_t c = blockIdx.x * 32 + static_cast<int64_t>(threadIdx.x);
  float s = 0.0f;
  if (c < H)
    for (int64_t p = threadIdx.y; p < P; p += 8) s += partial[p * H + c];
  buf[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < H) {
    float t = buf[0][threadIdx.x];
#pragma unroll
    for (int y = 1; y < 8; ++y) t += buf[y][threadIdx.x];
    out[c * out_stride] += t;
  }
}

void add_partials(const float* partial, int64_t P, int64_t H, float* out, int64_t out_stride) {
  if (H == 0) return;
  add_partials_kernel<<<static_cast<unsigned>((H + 31) / 32), dim3(32, 8), 0, stream()>>>(partial, P, H, out,
                                                                                         out_stride);
  MS_CUDA_CHECK_LAUNCH();
}

}  // namespace ms::cuda
