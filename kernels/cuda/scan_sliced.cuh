// Helpers of the "sliced" selective-scan kernels (selective_scan_fwd_sliced.cu, selective_scan_bwd_sliced.cu):
// the N states of one channel are cut into TPC slices held by TPC neighbouring lanes of a warp, so a
// thread keeps at most 8 floats of state (low register count, high occupancy) while the per-step work
// that does not depend on the state (softplus, dt * u, the gate) is done once per step and shared.
// Layout and reasoning: docs/cuda-scan.md.
#pragma once
#include "kernels/cuda/scan_launch.cuh"

namespace ms::cuda::scan {

// Threads per channel for a padded state count: real N = 16 -> 2 slices of 8 states; complex N = 16 -> 4
// slices of 4 complex states (8 floats); smaller N -> fewer slices (a slice holds at least 4 floats).
template <int NT, bool CPLX>
constexpr int slices_for() {
  constexpr int S = NT * (CPLX ? 2 : 1);
  return S >= 32 ? 4 : S >= 16 ? 2 : 1;
}

// Resident blocks of kThreads channels x tpc lanes per SM that a register budget of `lanes` lanes per SM
// allows (at least one): the __launch_bounds__ minimum of the sliced kernels.
constexpr int blocks_for_lanes(int lanes, int tpc) {
  return lanes / (kThreads * tpc) > 1 ? lanes / (kThreads * tpc) : 1;
}

// The bf16 local passes (forward and backward) take softplus's exp on the FP32 pipe: they run at ~88% of
// the MUFU peak with issue slots to spare (ncu, v12); -0.05..-0.08 ms at L = 2^18 / 2^20. f32 keeps the
// MUFU (its forward local pass spills with the polynomial and was 0.3 ms slower).
template <class T>
constexpr bool local_fma_softplus() {
  return !std::is_same_v<T, float>;
}

// One step of state j of a lane's slice: h_j <- exp(dl A_j) h_j + du B_j, with a2 = Re A_j log2(e) and
// ai = Im A_j; complex states are (re, im) pairs in h and Bt. Shared by the forward's local and main
// passes and the backward's level-1 rescan.
template <bool CPLX, int S>
__device__ __forceinline__ void advance_state(float (&h)[S], int j, float dl, float du, float a2, float ai,
                                              const float (&Bt)[S]) {
  if constexpr (CPLX) {
    const float e = ex2(dl * a2);
    float sn, cs;
    __sincosf(dl * ai, &sn, &cs);
    const float ar = e * cs, aim = e * sn, hr = h[2 * j], hi = h[2 * j + 1];
    h[2 * j] = fmaf(ar, hr, fmaf(-aim, hi, du * Bt[2 * j]));
    h[2 * j + 1] = fmaf(ar, hi, fmaf(aim, hr, du * Bt[2 * j + 1]));
  } else {
    h[j] = fmaf(ex2(dl * a2), h[j], du * Bt[j]);
  }
}

// delta + bias after softplus where `softplus` (Params::softplus, a run-time flag) asks for it. Where
// softplus's exp is on the MUFU the softplus is computed for every step and selected: branched around,
// each step's chain (one exp and ten dependent FP32 instructions) ran after the previous step's, and in
// the forward main pass those chains held 20% of the stall samples (v13). With FMA_EXP (the bf16 local
// passes: exp on the FP32 pipe, local_fma_softplus) the branch stays: 1% faster there, forward and
// backward.
template <bool FMA_EXP>
__device__ __forceinline__ float delta_after_softplus(float raw, bool softplus) {
  if constexpr (FMA_EXP) {
    return softplus ? softplusf<true>(raw) : raw;
  } else {
    const float s = softplusf(raw);
    return softplus ? s : raw;
  }
}

// One asynchronous global -> shared copy of BYTES (8 or 16) through the L1 (.cg, which bypasses it, made
// the f32 backward 5-8% slower) with the L2's 256-byte fetch (as ld_l2_256), and the wait for all of this
// thread's copies.
template <int BYTES>
__device__ __forceinline__ void cp_async(void* dst, const void* src) {
  const unsigned d = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.ca.shared.global.L2::256B [%0], [%1], %2;" ::"r"(d), "l"(src), "n"(BYTES) : "memory");
}
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;" ::: "memory"); }

// The forward's B / C tiles by asynchronous copies (real states, every row present and 16-byte aligned,
// chunk whole): each thread copies its 16-byte pieces of the NMAT matrices' rows ([NT][kChunk] each) into
// `raw` (piece i at raw + i * 16 bytes), and later, once they landed, converts those same pieces into the
// f32 tiles [t][row] of TileLoader (pitch RS). No registers hold the next chunk's values across a chunk.
template <class T, int NT, int NMAT, int THREADS>
__device__ __forceinline__ void copy_tile_pieces(T* raw, const T* B, int64_t B_sn, const T* C, int64_t C_sn,
                                                 int t0) {
  constexpr int E = 16 / (int)sizeof(T), PER_ROW = kChunk / E, PIECES = NT * PER_ROW, TOTAL = NMAT * PIECES;
#pragma unroll
  for (int j = 0; j < (TOTAL + THREADS - 1) / THREADS; ++j) {
    const int i = j * THREADS + threadIdx.x, mat = i / PIECES, n = i % PIECES / PER_ROW, k = i % PER_ROW;
    if (i < TOTAL) cp_async<16>(raw + i * E, (mat ? C + n * C_sn : B + n * B_sn) + t0 + k * E);
  }
}
template <class T, int NT, int NMAT, int THREADS, int RS>
__device__ __forceinline__ void tiles_from_pieces(float* tB, float* tC, const T* raw) {
  constexpr int E = 16 / (int)sizeof(T), PER_ROW = kChunk / E, PIECES = NT * PER_ROW, TOTAL = NMAT * PIECES;
#pragma unroll
  for (int j = 0; j < (TOTAL + THREADS - 1) / THREADS; ++j) {
    const int i = j * THREADS + threadIdx.x, mat = i / PIECES, n = i % PIECES / PER_ROW, k = i % PER_ROW;
    if (i < TOTAL) {
      alignas(16) T v[E];
      *reinterpret_cast<uint4*>(v) = *reinterpret_cast<const uint4*>(raw + i * E);
      float* tile = mat ? tC : tB;
#pragma unroll
      for (int e = 0; e < E; ++e) tile[(k * E + e) * RS + n] = to_float(v[e]);
    }
  }
}

// The slow path of Vec::load and store_vec below, for rows that are not all 16-byte aligned (L not a
// multiple of 4 f32 / 8 bf16 elements, odd strides): whole runs move in 8- or 4-byte pieces where `align`
// allows (bf16 rows of an even L: 1.6x faster than one element at a time, docs/cuda-scan-notes.md v8),
// element by element otherwise. Returns false when it moved nothing (the caller goes element-wise).
// The 16-byte path stays in the callers as it was: a branch more there cost 1-4% (v8); v4's Run and
// store_run (scan_common.cuh) keep the element-wise fallback (this path cost its backward ~1%, v8).
template <int BYTES>
__device__ __forceinline__ bool move_run_narrow(void* dst, const void* src, int align) {
  if constexpr (BYTES % 8 == 0) {
    if (align >= 8) {
#pragma unroll
      for (int i = 0; i < BYTES / 8; ++i) static_cast<uint2*>(dst)[i] = static_cast<const uint2*>(src)[i];
      return true;
    }
  }
  if constexpr (BYTES % 4 == 0) {
    if (align >= 4) {
#pragma unroll
      for (int i = 0; i < BYTES / 4; ++i) static_cast<uint32_t*>(dst)[i] = static_cast<const uint32_t*>(src)[i];
      return true;
    }
  }
  return false;
}

// K consecutive elements of a row in their storage type, loaded with one vector access of K*sizeof(T)
// bytes (4, 8, 16 or 32) when every row is 16-byte aligned (`align`, Params::row_align) and the run is
// whole, in narrower pieces when the rows allow them; elements at or past `end` read as zero.
template <class T, int K>
struct Vec {
  static constexpr int BYTES = K * (int)sizeof(T);
  static_assert(BYTES == 2 || BYTES == 4 || BYTES == 8 || BYTES == 16 || BYTES == 32 || BYTES == 64,
                "vector runs are 2 (one bf16), 4, 8, 16, 32 or 64 bytes");
  alignas(16) T v[K];  // moved as 4- to 16-byte words; aligned, the wide bf16 backward runs 4-6% faster (v8)
  __device__ __forceinline__ void load(const T* row, int t, int end, int align) {
    if (BYTES > 2 && align >= 16 && t + K <= end) {
      if constexpr (BYTES >= 32) {
#pragma unroll
        for (int i = 0; i < BYTES / 16; ++i)
          reinterpret_cast<uint4*>(v)[i] = ld_l2_256(reinterpret_cast<const uint4*>(row + t) + i);
      } else if constexpr (BYTES == 16) {
        *reinterpret_cast<uint4*>(v) = ld_l2_256(reinterpret_cast<const uint4*>(row + t));
      } else if constexpr (BYTES == 8) {
        *reinterpret_cast<uint2*>(v) = ld_l2_256(reinterpret_cast<const uint2*>(row + t));
      } else if constexpr (BYTES == 4) {
        *reinterpret_cast<uint32_t*>(v) = ld_l2_256(reinterpret_cast<const uint32_t*>(row + t));
      }
    } else if (!(t + K <= end && move_run_narrow<BYTES>(v, row + t, align))) {
#pragma unroll
      for (int i = 0; i < K; ++i) v[i] = t + i < end ? row[t + i] : from_float<T>(0.f);
    }
  }
  // K elements from shared memory at `src`, aligned to K * sizeof(T) bytes.
  __device__ __forceinline__ void load_shared(const T* src) {
    if constexpr (BYTES == 16) *reinterpret_cast<uint4*>(v) = *reinterpret_cast<const uint4*>(src);
    else if constexpr (BYTES == 8) *reinterpret_cast<uint2*>(v) = *reinterpret_cast<const uint2*>(src);
    else if constexpr (BYTES == 4) *reinterpret_cast<uint32_t*>(v) = *reinterpret_cast<const uint32_t*>(src);
    else
#pragma unroll
      for (int i = 0; i < K; ++i) v[i] = src[i];
  }
  __device__ __forceinline__ float operator[](int i) const { return to_float(v[i]); }
};

// A store of 4, 8 or 16 bytes, streaming (evict first) or plain.
template <bool STREAM, class W>
__device__ __forceinline__ void st_out(W* p, W v) {
  if constexpr (STREAM) __stcs(p, v);
  else *p = v;
}

// STREAM: streaming stores (evict first) in the 16-byte path, for outputs nothing reads again soon, so
// the L2 keeps the 256-byte input blocks the loads prefetch (forward output: -1..-4%; the backward's
// outputs measured within +-1%, +1.3% at one shape, and keep plain stores; v9).
template <class T, int K, bool STREAM = false>
__device__ __forceinline__ void store_vec(T* row, int t, int end, int align, const float (&x)[K]) {
  constexpr int BYTES = K * (int)sizeof(T);
  if (BYTES > 2 && align >= 16 && t + K <= end) {
    T v[K];
#pragma unroll
    for (int i = 0; i < K; ++i) v[i] = from_float<T>(x[i]);
    if constexpr (BYTES >= 32) {
#pragma unroll
      for (int i = 0; i < BYTES / 16; ++i)
        st_out<STREAM>(reinterpret_cast<uint4*>(row + t) + i, reinterpret_cast<const uint4*>(v)[i]);
    } else if constexpr (BYTES == 16) {
      st_out<STREAM>(reinterpret_cast<uint4*>(row + t), *reinterpret_cast<const uint4*>(v));
    } else if constexpr (BYTES == 8) {
      st_out<STREAM>(reinterpret_cast<uint2*>(row + t), *reinterpret_cast<const uint2*>(v));
    } else if constexpr (BYTES == 4) {
      st_out<STREAM>(reinterpret_cast<unsigned int*>(row + t), *reinterpret_cast<const unsigned int*>(v));
    }
  } else {
    alignas(16) T v[K];
#pragma unroll
    for (int i = 0; i < K; ++i) v[i] = from_float<T>(x[i]);
    if (t + K <= end && move_run_narrow<BYTES>(row + t, v, align)) return;
#pragma unroll
    for (int i = 0; i < K; ++i)
      if (t + i < end) row[t + i] = v[i];
  }
}

// A slice of a state vector in global memory: floats [first, first + S) of a channel's `total` floats
// (N * CW). Floats at or past `total` read as zero and are not written. float4 accesses when every
// channel's vector starts 16-byte aligned (`total` % 4 == 0) and the slice is whole.
template <int S>
__device__ __forceinline__ void load_slice(const float* chan, int first, int total, float (&h)[S]) {
  if (S % 4 == 0 && total % 4 == 0 && first + S <= total) {
#pragma unroll
    for (int i = 0; i < S; i += 4) {
      const uint4 q = ld_l2_256(reinterpret_cast<const uint4*>(chan + first + i));
      h[i] = __uint_as_float(q.x); h[i + 1] = __uint_as_float(q.y);
      h[i + 2] = __uint_as_float(q.z); h[i + 3] = __uint_as_float(q.w);
    }
  } else {
#pragma unroll
    for (int i = 0; i < S; ++i) h[i] = first + i < total ? chan[first + i] : 0.f;
  }
}
template <int S, bool STREAM = false>
__device__ __forceinline__ void store_slice(float* chan, int first, int total, const float (&h)[S]) {
  if (S % 4 == 0 && total % 4 == 0 && first + S <= total) {
#pragma unroll
    for (int i = 0; i < S; i += 4)
      st_out<STREAM>(reinterpret_cast<float4*>(chan + first + i), make_float4(h[i], h[i + 1], h[i + 2], h[i + 3]));
  } else {
#pragma unroll
    for (int i = 0; i < S; ++i)
      if (first + i < total) chan[first + i] = h[i];
  }
}

// S floats of a staged tile row starting at `p` (16-byte aligned); lanes of one slice read the same
// address, so each access is a broadcast.
template <int S>
__device__ __forceinline__ void slice_row(const float* p, float (&x)[S]) {
#pragma unroll
  for (int i = 0; i < S; i += 4) {
    const float4 q = *reinterpret_cast<const float4*>(p + i);
    x[i] = q.x; x[i + 1] = q.y; x[i + 2] = q.z; x[i + 3] = q.w;
  }
}

// Reduce-scatter of R per-step partial sums over the TPC lanes of a channel (TPC = 1, 2 or 4, lanes
// lane^1, lane^2 are the partners): afterwards slice s holds the full sums of steps [s*R/TPC, (s+1)*R/TPC)
// in out[0..R/TPC).
template <int TPC, int R>
__device__ __forceinline__ void slice_reduce_scatter(const float (&part)[R], int slice, float (&out)[R / TPC]) {
  if constexpr (TPC == 1) {
#pragma unroll
    for (int k = 0; k < R; ++k) out[k] = part[k];
  } else if constexpr (TPC == 2) {
    constexpr int H = R / 2;
    const bool up = slice & 1;
#pragma unroll
    for (int k = 0; k < H; ++k) {
      const float send = up ? part[k] : part[H + k];
      const float keep = up ? part[H + k] : part[k];
      out[k] = keep + __shfl_xor_sync(0xffffffffu, send, 1);
    }
  } else {
    static_assert(TPC == 4, "1, 2 or 4 slices per channel");
    constexpr int H = R / 2, Q = R / 4;
    float mid[H];
    const bool up2 = slice & 2, up1 = slice & 1;
#pragma unroll
    for (int k = 0; k < H; ++k) {
      const float send = up2 ? part[k] : part[H + k];
      const float keep = up2 ? part[H + k] : part[k];
      mid[k] = keep + __shfl_xor_sync(0xffffffffu, send, 2);
    }
#pragma unroll
    for (int k = 0; k < Q; ++k) {
      const float send = up1 ? mid[k] : mid[Q + k];
      const float keep = up1 ? mid[Q + k] : mid[k];
      out[k] = keep + __shfl_xor_sync(0xffffffffu, send, 1);
    }
  }
}

// The inverse: every slice holds R/TPC values (its own steps); afterwards every lane of the channel holds
// all R values, step j coming from slice j / (R/TPC).
template <int TPC, int R>
__device__ __forceinline__ void slice_all_gather(const float (&mine)[R / TPC], float (&all)[R]) {
  constexpr int RT = R / TPC;
#pragma unroll
  for (int j = 0; j < R; ++j) {
    if constexpr (TPC == 1) all[j] = mine[j];
    else all[j] = __shfl_sync(0xffffffffu, mine[j % RT], j / RT, TPC);
  }
}

}  // namespace ms::cuda::scan
