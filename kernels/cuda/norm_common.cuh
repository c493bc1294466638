// Pieces shared by the RMSNorm and LayerNorm kernels: the deterministic reduction of parameter gradients.
//
// A backward kernel keeps, per thread, the dweight (dbias) contributions of the columns it owns summed
// over the rows its group processed (registers). At the end each block combines its groups in a fixed
// order into one partial row (partial[blockIdx.x, :]), and add_partials_kernel sums the partial rows in a
// fixed order into the parameter gradient (+=). The grid size depends only on the problem size and the
// GPU, so the result is the same run to run.
#pragma once
#include "kernels/cuda/ops_common.cuh"

namespace ms::cuda {

// Shared memory the in-block combine needs: groups * H floats. plan_rows guarantees groups * H <= 4096
// whenever groups > 1 (groups > 1 only when each thread owns at most 2 chunks of at most 8 columns).
constexpr int kPartialSmem = 4096;

// Writes this block's partial row partial_row[0..H) = sum over the block's groups of acc (column
// c = (lane + k * tpr) * VEC + j). Every thread of the block must call it.
template <int NCH, int VEC>
__device__ __forceinline__ void store_block_partial(const float (&acc)[NCH][VEC], float* smem, float* partial_row,
                                                    int64_t H, int tpr) {
  const int groups = blockDim.x / tpr, g = threadIdx.x / tpr, lane = threadIdx.x % tpr;
  if (groups == 1) {
#pragma unroll
    for (int k = 0; k < NCH; ++k) {
      const int64_t c0 = (static_cast<int64_t>(lane) + static_cast<int64_t>(k) * tpr) * VEC;
      if (c0 < H) {
#pragma unroll
        for (int j = 0; j < VEC; ++j) partial_row[c0 + j] = acc[k][j];
      }
    }
    return;
  }
  __syncthreads();
#pragma unroll
  for (int k = 0; k < NCH; ++k) {
    const int64_t c0 = (static_cast<int64_t>(lane) + static_cast<int64_t>(k) * tpr) * VEC;
    if (c0 < H) {
#pragma unroll
      for (int j = 0; j < VEC; ++j) smem[g * H + c0 + j] = acc[k][j];
    }
  }
  __syncthreads();
  for (int64_t c = threadIdx.x; c < H; c += blockDim.x) {
    float s = smem[c];
    for (int gg = 1; gg < groups; ++gg) s += smem[gg * H + c];
    partial_row[c] = s;
  }
}

// out[c * out_stride] += sum_{p < P} partial[p * H + c], in a fixed order (one small kernel: blocks of
// 32 columns x 8 partial rows).
void add_partials(const float* partial, int64_t P, int64_t H, float* out, int64_t out_stride);

}  // namespace ms::cuda
