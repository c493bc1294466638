// Device helpers and the parameter block shared by the selective-scan kernels (forward, backward).
// Layout and reasoning: docs/cuda-scan.md.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "kernels/cuda/cuda_common.cuh"

namespace ms::cuda::scan {

// Steps per saved chunk state. Every segment of the parallel decomposition starts on a chunk boundary.
constexpr int kChunk = 32;
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// Everything a scan kernel reads; strides in elements. Tensors (.., L) have unit stride along L.
struct Params {
  int batch, dim, len, nstate, groups, per_group;
  int n_chunks;          // ceil(len / kChunk): saved states per channel
  int n_seg, seg_chunks; // the L axis is cut into n_seg segments of seg_chunks chunks, one thread each
  int64_t u_sb, u_sd, dl_sb, dl_sd, z_sb, z_sd, o_sb, o_sd;    // (B, D, L) tensors; o = out or dout
  int64_t B_sb, B_sg, B_sn, B_sc, C_sb, C_sg, C_sn, C_sc;      // (B, G, N, [2,] L); sc = re/im stride
  int64_t A_sd, A_sn, A_sc, D_s, bias_s;
  const void *u, *delta, *z, *Bm, *Cm, *dout;
  void* out;
  const float *A, *Dskip, *bias;
  const float* h0;        // (B, D, N[, 2]) contiguous, or null
  float* last;            // (B, D, N[, 2]) contiguous, or null
  float* chunk_states;    // (B, n_chunks, D, N[, 2]) contiguous (chunk_state_offset), or null
  float* seg_local;       // (B, D, n_seg, NT*CW) scratch: local end state / local adjoint per segment
  float* seg_dsum;        // (B, D, n_seg) scratch: sum of delta over each segment
  float* seg_start;       // (B, D, n_seg, NT*CW) scratch: state / adjoint entering each segment
  int local_first;        // sliced backward: first segment the local pass covers (segments of its own Params)
  bool softplus;
  int row_align;          // widest access every (B, D, L) row allows, in bytes (16, 8, 4 or 2)
  bool bc_vec;            // every B and C row starts 16-byte aligned (lanes kernel: vector staging)
  // backward outputs
  void *du, *ddelta, *dz;
  int64_t du_sb, du_sd, dd_sb, dd_sd, dz_sb, dz_sd;
  float *dA, *dD, *dbias;  // accumulated (atomics), strides as A / D / bias
  int64_t dA_sd, dA_sn, dA_sc, dD_s, dbias_s;
  float* dbc;             // (B, G, 2*NT*CW, Lp) f32 scratch for dB (rows < NT*CW) and dC, Lp = n_chunks*kChunk
};

// Offset of the saved state of channel (b, d) entering chunk c (`total` floats per channel). The layout is
// chunk-major, (B, n_chunks, D, N[, 2]): the channels of a block store (forward) and load (backward) one
// contiguous run per chunk instead of one short piece per channel row (docs/cuda-scan-notes.md v11).
__device__ __forceinline__ int64_t chunk_state_offset(const Params& p, int b, int d, int c, int total) {
  return (((int64_t)b * p.n_chunks + c) * p.dim + d) * total;
}

__device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
__device__ __forceinline__ float sigmoidf_fast(float x) { return 1.f / (1.f + ex2(-x * kLog2e)); }
// 1 - exp(-x) for x >= 0 without cancellation near 0: a series below 0.1 (relative error < x^4/720),
// 1 - ex2 above (error ~2.5e-6 relative at 0.1, falling as x grows).
__device__ __forceinline__ float neg_expm1_neg(float x) {
  const float series = x * fmaf(x, fmaf(x, fmaf(x, fmaf(x, 1.f / 120.f, -1.f / 24.f), 1.f / 6.f), -0.5f), 1.f);
  const float direct = 1.f - ex2(-x * kLog2e);
  return x < 0.1f ? series : direct;
}
// 2^x for x <= 0 on the FP32 pipe (no MUFU): round to an integer with the 1.5 * 2^23 trick, a degree-6
// Taylor polynomial of 2^f on [-0.5, 0.5] (relative error < 2e-7), the integer added to the exponent
// bits; x below -126 gives 2^-126.
__device__ __forceinline__ float ex2_fma(float x) {
  x = fmaxf(x, -126.f);
  const float shifted = x + 12582912.f;
  const float r = shifted - 12582912.f;
  const float f = x - r;
  float p = 1.5403530e-4f;
  p = fmaf(p, f, 1.3333558e-3f);
  p = fmaf(p, f, 9.6181291e-3f);
  p = fmaf(p, f, 5.5504109e-2f);
  p = fmaf(p, f, 2.4022651e-1f);
  p = fmaf(p, f, 6.9314718e-1f);
  p = fmaf(p, f, 1.f);
  return __int_as_float(__float_as_int(p) + (__float_as_int(shifted) << 23));
}
// log(1 + e^x) = max(x, 0) + log1p(t), t = e^-|x| in (0, 1]; log1p(t) = t P(t) with a degree-8 fit
// (relative error < 3e-7 in f32 arithmetic over [0, 1]): one MUFU and 11 FP32 instructions, no branch
// (log1pf takes ~35 with its range reduction and special cases). FMA_EXP: t by ex2_fma (no MUFU).
template <bool FMA_EXP = false>
__device__ __forceinline__ float softplusf(float x) {
  const float t = FMA_EXP ? ex2_fma(-fabsf(x) * kLog2e) : ex2(-fabsf(x) * kLog2e);
  float p = 0.0052317563f;
  p = fmaf(p, t, -0.029499453f);
  p = fmaf(p, t, 0.07821268f);
  p = fmaf(p, t, -0.13661726f);
  p = fmaf(p, t, 0.19105059f);
  p = fmaf(p, t, -0.2484266f);
  p = fmaf(p, t, 0.3331904f);
  p = fmaf(p, t, -0.4999949f);
  p = fmaf(p, t, 0.99999994f);
  return fmaf(t, p, fmaxf(x, 0.f));
}

// Stores K floats as elements of a row starting at t (a multiple of K): 16-byte vectors when every row
// allows them (`align`, Params::row_align), element by element otherwise (v4's kernels; the sliced ones
// have store_vec, scan_sliced.cuh).
template <class T, int K>
__device__ __forceinline__ void store_run(T* row, int t, int end, int align, const float (&v)[K]) {
  if (align >= 16 && t + K <= end) {
    if constexpr (sizeof(T) == 4) {
#pragma unroll
      for (int i = 0; i < K; i += 4)
        *reinterpret_cast<float4*>(row + t + i) = make_float4(v[i], v[i + 1], v[i + 2], v[i + 3]);
    } else if constexpr (K % 8 == 0) {
#pragma unroll
      for (int i = 0; i < K; i += 8) {
        uint4 q;
        __nv_bfloat162* p = reinterpret_cast<__nv_bfloat162*>(&q);
#pragma unroll
        for (int j = 0; j < 4; ++j) p[j] = __floats2bfloat162_rn(v[i + 2 * j], v[i + 2 * j + 1]);
        *reinterpret_cast<uint4*>(row + t + i) = q;
      }
    } else {
#pragma unroll
      for (int i = 0; i < K; i += 4) {
        uint2 q;
        __nv_bfloat162* p = reinterpret_cast<__nv_bfloat162*>(&q);
#pragma unroll
        for (int j = 0; j < 2; ++j) p[j] = __floats2bfloat162_rn(v[i + 2 * j], v[i + 2 * j + 1]);
        *reinterpret_cast<uint2*>(row + t + i) = q;
      }
    }
  } else {
#pragma unroll
    for (int i = 0; i < K; ++i)
      if (t + i < end) row[t + i] = from_float<T>(v[i]);
  }
}

// K consecutive elements of a row kept in their storage type (bf16 stays packed: half the registers),
// so the next run can be loaded while the current one is computed. Elements at or past `end` are 0.
template <class T, int K>
struct Run {
  static_assert((K * sizeof(T)) % 8 == 0, "runs are whole 8- or 16-byte vectors");
  T v[K];
  __device__ __forceinline__ void load(const T* row, int t, int end, int align) {
    if (align >= 16 && t + K <= end) {
      if constexpr ((K * sizeof(T)) % 16 == 0) {
        constexpr int PER = 16 / sizeof(T);
#pragma unroll
        for (int i = 0; i < K; i += PER) *reinterpret_cast<uint4*>(v + i) = *reinterpret_cast<const uint4*>(row + t + i);
      } else {
        constexpr int PER = 8 / sizeof(T);
#pragma unroll
        for (int i = 0; i < K; i += PER) *reinterpret_cast<uint2*>(v + i) = *reinterpret_cast<const uint2*>(row + t + i);
      }
    } else {
#pragma unroll
      for (int i = 0; i < K; ++i) v[i] = t + i < end ? row[t + i] : from_float<T>(0.f);
    }
  }
  __device__ __forceinline__ float operator[](int i) const { return to_float(v[i]); }
};

// State vectors of S floats (S = N*CW) in global memory: float4 accesses when S is a multiple of 4.
template <int S>
__device__ __forceinline__ void store_state(float* p, const float (&h)[S], int count) {
  if (count == S && S % 4 == 0) {
#pragma unroll
    for (int i = 0; i < S; i += 4) *reinterpret_cast<float4*>(p + i) = make_float4(h[i], h[i + 1], h[i + 2], h[i + 3]);
  } else {
#pragma unroll
    for (int i = 0; i < S; ++i)
      if (i < count) p[i] = h[i];
  }
}
template <int S>
__device__ __forceinline__ void load_state(const float* p, float (&h)[S], int count) {
  if (count == S && S % 4 == 0) {
#pragma unroll
    for (int i = 0; i < S; i += 4) {
      const float4 q = *reinterpret_cast<const float4*>(p + i);
      h[i] = q.x; h[i + 1] = q.y; h[i + 2] = q.z; h[i + 3] = q.w;
    }
  } else {
#pragma unroll
    for (int i = 0; i < S; ++i) h[i] = i < count ? p[i] : 0.f;
  }
}

// Global loads that ask the L2 to fetch the 256-byte block around them on a miss: the kernels walk
// thousands of rows a few bytes per step each, so without it nearly every run's load went to DRAM and its
// latency outlasted a run (the top stall of the split forward's main pass, docs/cuda-scan-notes.md v9).
__device__ __forceinline__ uint4 ld_l2_256(const uint4* p) {
  uint4 v;
  asm volatile("ld.global.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
  return v;
}
__device__ __forceinline__ uint2 ld_l2_256(const uint2* p) {
  uint2 v;
  asm volatile("ld.global.L2::256B.v2.u32 {%0, %1}, [%2];" : "=r"(v.x), "=r"(v.y) : "l"(p));
  return v;
}
__device__ __forceinline__ uint32_t ld_l2_256(const uint32_t* p) {
  uint32_t v;
  asm volatile("ld.global.L2::256B.u32 %0, [%1];" : "=r"(v) : "l"(p));
  return v;
}
__device__ __forceinline__ float ld_l2_256(const float* p) {
  float v;
  asm volatile("ld.global.L2::256B.f32 %0, [%1];" : "=f"(v) : "l"(p));
  return v;
}
__device__ __forceinline__ __nv_bfloat16 ld_l2_256(const __nv_bfloat16* p) {
  unsigned short v;
  asm volatile("ld.global.L2::256B.u16 %0, [%1];" : "=h"(v) : "l"(p));
  return __ushort_as_bfloat16(v);
}

// Stages the B or C values of one chunk (kChunk steps, NT states, CW parts) into shared memory laid out
// [t][row] with row = n*CW + part and a row pitch of R+4 floats (16-byte aligned rows; the +4 spreads the
// 16-byte stores of 8 consecutive t over all 32 banks). Zeros for n >= N or t >= L. Loads go to registers
// first (load) and to shared memory later (store), so they can be issued a chunk ahead; the values stay in
// their storage type until store: converting bf16 at load time made every lane wait for the loads right
// there (~16% of the forward's stall samples, ncu source counters, docs/cuda-scan-notes.md v9).
template <class T, int NT, int CW, int THREADS>
struct TileLoader {
  static constexpr int R = NT * CW;                 // rows of the tile (state, part)
  static constexpr int RS = R + 4;                  // row pitch in floats
  static constexpr int ITEMS = kChunk * R / 4;      // (t, group of 4 rows) items
  static constexpr int PER = (ITEMS + THREADS - 1) / THREADS;
  static constexpr int FLOATS = kChunk * RS;        // shared floats per tile
  static_assert(4 % CW == 0, "a group of 4 rows holds whole states");
  T v[PER][4];

  __device__ __forceinline__ void load(const T* base, int64_t sn, int64_t sc, int nstate, int t0, int len) {
#pragma unroll
    for (int k = 0; k < PER; ++k) {
      const int i = k * THREADS + threadIdx.x;
      const int t = i % kChunk, q = i / kChunk;
      // rows 4q .. 4q+3 = states 4q/CW + j/CW, parts j%CW: one 64-bit product per item, not per value
      const T* p = base + (int64_t)(4 / CW * q) * sn + t0 + t;
      const bool in = i < ITEMS && t0 + t < len;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int n = 4 / CW * q + j / CW;
        v[k][j] = in && n < nstate ? ld_l2_256(p + (j / CW) * sn + (j % CW) * sc) : from_float<T>(0.f);
      }
    }
  }
  __device__ __forceinline__ void store(float* tile) const {
#pragma unroll
    for (int k = 0; k < PER; ++k) {
      const int i = k * THREADS + threadIdx.x;
      if (i < ITEMS)
        *reinterpret_cast<float4*>(tile + (i % kChunk) * RS + 4 * (i / kChunk)) =
            make_float4(to_float(v[k][0]), to_float(v[k][1]), to_float(v[k][2]), to_float(v[k][3]));
    }
  }
};

// Reads the R floats of step t from a staged tile (16-byte broadcast loads: every lane reads the same t).
template <int R>
__device__ __forceinline__ void tile_row(const float* tile, int t, float (&x)[R]) {
  const float4* p = reinterpret_cast<const float4*>(tile + t * (R + 4));
#pragma unroll
  for (int i = 0; i < R / 4; ++i) {
    const float4 q = p[i];
    x[4 * i] = q.x; x[4 * i + 1] = q.y; x[4 * i + 2] = q.z; x[4 * i + 3] = q.w;
  }
}

// Warp reduce-scatter of V values (V a power of two): afterwards every lane holds the warp-wide sum of
// max(1, V/32) consecutive values in v[0..), starting at index reduce_scatter_index<V>(lane).
// Each level sends half of the live values to the partner lane, so the whole costs V-1 shuffles per lane
// for V >= 32 instead of 5 V for V separate reductions.
template <int V, int O = 16>
__device__ __forceinline__ void reduce_scatter(float (&v)[V], int lane) {
  if constexpr (O >= 1) {
    constexpr int M = V * O * 2 / 32 >= 1 ? V * O * 2 / 32 : 1;  // live values entering this level
    if constexpr (M > 1) {
      constexpr int H = M / 2;
      const bool up = lane & O;
#pragma unroll
      for (int i = 0; i < H; ++i) {
        const float send = up ? v[i] : v[i + H];
        const float keep = up ? v[i + H] : v[i];
        v[i] = keep + __shfl_xor_sync(0xffffffffu, send, O);
      }
    } else {
      v[0] += __shfl_xor_sync(0xffffffffu, v[0], O);
    }
    reduce_scatter<V, O / 2>(v, lane);
  }
}
template <int V>
__device__ __forceinline__ int reduce_scatter_index(int lane) {
  int idx = 0;
#pragma unroll
  for (int O = 16; O >= 1; O /= 2) {
    const int M = V * O * 2 / 32;
    if (M > 1 && (lane & O)) idx += M / 2;
  }
  return idx;
}
// Lanes that own a distinct index (for V < 32 several lanes end with the same sum).
template <int V>
__device__ __forceinline__ bool reduce_scatter_owner(int lane) {
  return V >= 32 || (lane % (32 / (V < 32 ? V : 32))) == 0;
}

}  // namespace ms::cuda::scan
