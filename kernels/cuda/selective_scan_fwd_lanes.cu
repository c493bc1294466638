// Selective scan forward for few channels and long L, "lanes over time" (v5): instead of cutting L into
// segments scanned twice (a local pass for each segment's end state, then the main pass: two exps per
// element-state), consecutive runs of K steps of one channel sit on neighbouring lanes and the state
// entering each lane is found with a scan of (decay, state) pairs across lanes, so every decay is computed
// once and kept in registers until the lane rescans its K steps from its true start state.
//
// A block is 4 warps over CPW = 4 channels of one group; a warp holds TLW = 8 lanes (time) x 4 channels,
// the block's 32 time lanes of a channel cover a tile of 32*K steps; tiles follow each other, the state
// leaving one tile (the carry) entering the next. Per tile and per group of 4 floats of state:
//   1. each lane computes the K decays of its steps (kept in registers), its local state from zero and
//      the decay of its whole run, exp(A * sum(delta));
//   2. inclusive scan of the lanes' affine maps h -> P h + h_loc over the 8 lanes of the warp (shuffles),
//      warp aggregates through shared memory, each warp folds the carry and the preceding warps';
//   3. each lane rescans its K steps from its start state (no exp), adding C.h to its outputs.
// B and C of the tile are staged in shared memory as [time lane][step][state] with padded pitches, so
// the 8 lanes of a warp that read different steps hit distinct banks and the 4 channels share each read.
// See docs/cuda-scan.md.
#include "kernels/cuda/scan_launch.cuh"
#include "kernels/cuda/scan_sliced.cuh"

namespace ms::cuda::scan {
namespace {

// Blocks per SM the register allocation must allow (3: 168 registers); a compile flag for register studies.
#ifndef MS_LT_MINB
#define MS_LT_MINB 3
#endif
constexpr int kLtK = 8;           // steps per lane
constexpr int kLtTLW = 8;         // time lanes per warp
constexpr int kLtCPW = 32 / kLtTLW;  // channels per warp (and per block)
constexpr int kLtWarps = 4;       // warps per block, one after the other in time
constexpr int kLtTL = kLtTLW * kLtWarps;  // time lanes per channel
constexpr int kLtTile = kLtTL * kLtK;     // steps per tile
constexpr int kLtThreads = 32 * kLtWarps;
static_assert(kLtTile % kChunk == 0 && kChunk % kLtK == 0, "tiles are whole chunks, chunks whole lane runs");

// Shared memory of a block, in floats: the staged B and C tiles [time lane][step][row] (f32), the warp
// aggregates, the carries, A, the row offsets of B and C, and the raw copy of the next tile's B and C as
// stored in global memory ([tensor][row][step], storage type T) that cp.async fills while a tile is
// computed.
template <int S, class T>
struct LtLayout {
  static constexpr int STEP = S + 4;                 // floats per step row (pad: conflict-free transpose)
  static constexpr int LANE = kLtK * STEP + 4;       // floats per time lane (pad: conflict-free reads)
  static constexpr int TILE = kLtTL * LANE;          // floats per staged tensor
  static constexpr int AGG = 2 * kLtWarps * kLtCPW * 8;  // [parity][warp][channel][P(4), h(4)]
  static constexpr int CARRY = 2 * kLtCPW * S;       // [parity][channel][S]
  static constexpr int COEF = 2 * kLtCPW * S;        // [channel][re A log2e | im A][S] per group of 4
  static constexpr int ROWOFF = 2 * S * 2;           // [tensor][row] int64 element offsets
  static constexpr int RAW = 2 * S * kLtTile * (int)sizeof(T) / 4;  // [tensor][row][step] of T
  static constexpr int RAW_AT = 2 * TILE + AGG + CARRY + COEF + ROWOFF;
  static constexpr size_t bytes() { return sizeof(float) * (RAW_AT + RAW); }
};

// cp.async of 16 bytes, zero-filled beyond the first src_bytes (sm_80+); completion is waited for with
// cp_async_wait_all before the barrier that publishes the data.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int src_bytes) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(src_bytes) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

// Starts copying B and C of steps [t0, t0 + kLtTile) into the raw buffer (rows n >= N and steps >= L
// zero-filled). Needs every B and C row 16-byte aligned (Params::bc_vec).
template <class T, int S, int CW>
__device__ __forceinline__ void lt_copy_async(T* raw, const int64_t* rowoff, const T* B_base, const T* C_base,
                                              int nstate, int t0, int len) {
  constexpr int EPC = 16 / (int)sizeof(T);       // elements per 16-byte chunk
  constexpr int CPR = kLtTile / EPC;             // chunks per row
  constexpr int CHUNKS = 2 * S * CPR;
  static_assert(CHUNKS % kLtThreads == 0, "whole chunks per thread");
#pragma unroll 1
  for (int k = 0; k < CHUNKS / kLtThreads; ++k) {
    const int c = k * kLtThreads + threadIdx.x;
    const int tensor = c / (S * CPR), row = (c / CPR) % S, col = c % CPR;
    const int t = t0 + col * EPC;
    const int valid = row / CW < nstate ? min(max(len - t, 0), EPC) : 0;
    const T* base = tensor ? C_base : B_base;
    const T* src = valid > 0 ? base + rowoff[tensor * S + row] + t : base;
    cp_async16(raw + (int64_t)(tensor * S + row) * kLtTile + col * EPC, src, valid * (int)sizeof(T));
  }
  cp_async_commit();
}

// Converts the raw copy into the staged f32 tiles: each item is 4 steps x 4 rows, read as four vectors
// along the steps and written as four float4 along the rows.
template <class T, int S>
__device__ __forceinline__ void lt_transpose(const T* raw, float* tB, float* tC) {
  using Lay = LtLayout<S, T>;
  constexpr int RQ = S / 4, TQ = kLtTile / 4;
  constexpr int ITEMS = 2 * RQ * TQ;
  static_assert(ITEMS % kLtThreads == 0, "whole items per thread");
#pragma unroll 1
  for (int k = 0; k < ITEMS / kLtThreads; ++k) {
    const int item = k * kLtThreads + threadIdx.x;
    const int tq = item % TQ, rq = (item / TQ) % RQ, tensor = item / (TQ * RQ);
    float v[4][4];  // [row][step]
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      Vec<T, 4> q;
      q.load(raw + (int64_t)(tensor * S + 4 * rq + j) * kLtTile, 4 * tq, kLtTile, true);
#pragma unroll
      for (int i = 0; i < 4; ++i) v[j][i] = q[i];
    }
    float* tile = tensor ? tC : tB;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int t = 4 * tq + i;
      *reinterpret_cast<float4*>(tile + (t / kLtK) * Lay::LANE + (t % kLtK) * Lay::STEP + 4 * rq) =
          make_float4(v[0][i], v[1][i], v[2][i], v[3][i]);
    }
  }
}

// Complex-aware helpers on groups of 4 floats (4 real states or 2 complex (re, im) states).
template <bool CPLX>
__device__ __forceinline__ void affine(const float (&P)[4], const float (&x)[4], const float (&c)[4], float (&out)[4]) {
  // out = P * x + c (elementwise, or complex products for pairs)
  if constexpr (CPLX) {
#pragma unroll
    for (int k = 0; k < 4; k += 2) {
      const float r = fmaf(P[k], x[k], fmaf(-P[k + 1], x[k + 1], c[k]));
      const float i = fmaf(P[k], x[k + 1], fmaf(P[k + 1], x[k], c[k + 1]));
      out[k] = r;
      out[k + 1] = i;
    }
  } else {
#pragma unroll
    for (int k = 0; k < 4; ++k) out[k] = fmaf(P[k], x[k], c[k]);
  }
}
template <bool CPLX>
__device__ __forceinline__ void mul_into(float (&P)[4], const float (&Q)[4]) {  // P = P * Q
  if constexpr (CPLX) {
#pragma unroll
    for (int k = 0; k < 4; k += 2) {
      const float r = fmaf(P[k], Q[k], -P[k + 1] * Q[k + 1]);
      const float i = fmaf(P[k], Q[k + 1], P[k + 1] * Q[k]);
      P[k] = r;
      P[k + 1] = i;
    }
  } else {
#pragma unroll
    for (int k = 0; k < 4; ++k) P[k] *= Q[k];
  }
}
__device__ __forceinline__ void ld4(const float* p, float (&x)[4]) {
  const float4 q = *reinterpret_cast<const float4*>(p);
  x[0] = q.x; x[1] = q.y; x[2] = q.z; x[3] = q.w;
}
__device__ __forceinline__ void st4(float* p, const float (&x)[4]) {
  *reinterpret_cast<float4*>(p) = make_float4(x[0], x[1], x[2], x[3]);
}

// Stages the B (or C) values of steps [t0, t0 + kLtTile) into `tile` ([lane][step][row] layout above);
// zeros for rows n >= N and steps >= L. With `vec`, each item is 4 steps x 4 rows read as four 16- or
// 8-byte vectors and written as four float4 (one per step); otherwise scalar reads.
template <class T, int NT, int CW>
__device__ __forceinline__ void lt_stage(float* tile, const T* base, int64_t sn, int64_t sc, int nstate, int t0,
                                          int len, bool vec) {
  constexpr int S = NT * CW;
  using Lay = LtLayout<S, T>;
  constexpr int RQ = S / 4;                         // row quads
  constexpr int ITEMS = (kLtTile / 4) * RQ;         // (step quad, row quad)
#pragma unroll 1
  for (int item = threadIdx.x; item < ITEMS; item += kLtThreads) {
    const int rq = item % RQ, tq = item / RQ;
    const int tl = 4 * tq;                          // first step of the quad within the tile
    float v[4][4];                                  // [row][step]
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int row = 4 * rq + j, n = row / CW, part = row % CW;
      const T* src = base + n * sn + part * sc + t0 + tl;
      const bool ok = n < nstate;
      if (ok && vec && t0 + tl + 4 <= len) {
        Vec<T, 4> q;
        q.load(src, 0, 4, true);
#pragma unroll
        for (int i = 0; i < 4; ++i) v[j][i] = q[i];
      } else {
#pragma unroll
        for (int i = 0; i < 4; ++i) v[j][i] = (ok && t0 + tl + i < len) ? to_float(src[i]) : 0.f;
      }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int t = tl + i;
      float* dst = tile + (t / kLtK) * Lay::LANE + (t % kLtK) * Lay::STEP + 4 * rq;
      *reinterpret_cast<float4*>(dst) = make_float4(v[0][i], v[1][i], v[2][i], v[3][i]);
    }
  }
}

template <class T, int NT, bool CPLX>
__global__ void __launch_bounds__(kLtThreads, MS_LT_MINB) fwd_lanes_kernel(Params p) {
  constexpr int CW = CPLX ? 2 : 1;
  constexpr int S = NT * CW;
  constexpr int NG = S / 4;  // groups of 4 floats
  constexpr int K = kLtK;
  using Lay = LtLayout<S, T>;
  extern __shared__ __align__(16) float smem[];
  float* tB = smem;
  float* tC = smem + Lay::TILE;
  float* agg = smem + 2 * Lay::TILE;
  float* carry = agg + Lay::AGG;
  int64_t* rowoff = reinterpret_cast<int64_t*>(carry + Lay::CARRY + Lay::COEF);
  T* raw = reinterpret_cast<T*>(smem + Lay::RAW_AT);

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int tw = lane % kLtTLW, cw = lane / kLtTLW;
  const int tau = warp * kLtTLW + tw;  // time lane within the tile
  const int tiles = (p.per_group + kLtCPW - 1) / kLtCPW;
  int bid = blockIdx.x;
  const int ctile = bid % tiles;
  bid /= tiles;
  const int b = bid / p.groups, g = bid % p.groups;
  const int local = ctile * kLtCPW + cw;
  const bool active = local < p.per_group;
  const int d = g * p.per_group + (active ? local : p.per_group - 1);
  const int N = p.nstate, total = N * CW;
  const int64_t bd = (int64_t)b * p.dim + d;

  // A of the block's channels in shared memory, one float4 per group of 4 floats of state: the group loop
  // is not unrolled (its body is large), so a group's coefficients cannot come from a register array.
  // Real: coef[c][q] = A[4q..4q+4) log2 e. Complex: coef[c][2q] = (re A_2q, re A_2q+1) log2 e twice as
  // (re, re, re', re'), coef[c][2q+1] = (im, im, im', im').
  float* coef = carry + Lay::CARRY;
  if (warp == 0 && tw == 0) {
#pragma unroll
    for (int n = 0; n < NT; ++n) {
      const float* pa = p.A + (int64_t)d * p.A_sd + (int64_t)n * p.A_sn;
      const float re = n < N ? pa[0] * kLog2e : 0.f;
      const float im = (CPLX && n < N) ? pa[p.A_sc] : 0.f;
      if constexpr (CPLX) {
        float* c = coef + cw * 2 * S + (n / 2) * 8 + (n % 2) * 2;
        c[0] = re; c[1] = re; c[4] = im; c[5] = im;
      } else {
        coef[cw * 2 * S + n] = re;
      }
    }
  }
  const float dskip = p.Dskip ? p.Dskip[(int64_t)d * p.D_s] : 0.f;
  const float bias = p.bias ? p.bias[(int64_t)d * p.bias_s] : 0.f;

  // The carry entering tile 0: h0 or zero.
  if (warp == 0 && tw == 0) {
    float h[S];
    if (p.h0) {
      load_slice<S>(p.h0 + bd * total, 0, total, h);
    } else {
#pragma unroll
      for (int i = 0; i < S; ++i) h[i] = 0.f;
    }
#pragma unroll
    for (int i = 0; i < S; i += 4)
      *reinterpret_cast<float4*>(carry + cw * S + i) = make_float4(h[i], h[i + 1], h[i + 2], h[i + 3]);
  }

  const T* u_row = static_cast<const T*>(p.u) + b * p.u_sb + d * p.u_sd;
  const T* dl_row = static_cast<const T*>(p.delta) + b * p.dl_sb + d * p.dl_sd;
  const T* z_row = p.z ? static_cast<const T*>(p.z) + b * p.z_sb + d * p.z_sd : nullptr;
  T* o_row = static_cast<T*>(p.out) + b * p.o_sb + d * p.o_sd;
  const T* B_base = static_cast<const T*>(p.Bm) + b * p.B_sb + g * p.B_sg;
  const T* C_base = static_cast<const T*>(p.Cm) + b * p.C_sb + g * p.C_sg;
  const int L = p.len;
  const bool async = p.bc_vec;  // B / C rows 16-byte aligned: staged by cp.async one tile ahead
  if (async) {
    if (threadIdx.x < 2 * S) {
      const int tensor = threadIdx.x / S, row = threadIdx.x % S, n = row / CW, part = row % CW;
      rowoff[threadIdx.x] = tensor ? n * p.C_sn + part * p.C_sc : n * p.B_sn + part * p.B_sc;
    }
    __syncthreads();
    lt_copy_async<T, S, CW>(raw, rowoff, B_base, C_base, N, 0, L);
  }

  Vec<T, K> nu, nd, nz;
  nu.load(u_row, tau * K, L, p.row_align);
  nd.load(dl_row, tau * K, L, p.row_align);
  if (z_row) nz.load(z_row, tau * K, L, p.row_align);
  int par = 0;  // parity of the aggregate buffer (alternates every group)

  for (int t0 = 0, it = 0; t0 < L; t0 += kLtTile, ++it) {
    if (async) cp_async_wait_all();
    __syncthreads();  // the previous tile is done with the staged B/C; this tile's raw copy landed
    if (async) {
      lt_transpose<T, S>(raw, tB, tC);
    } else {
      lt_stage<T, NT, CW>(tB, B_base, p.B_sn, p.B_sc, N, t0, L, false);
      lt_stage<T, NT, CW>(tC, C_base, p.C_sn, p.C_sc, N, t0, L, false);
    }
    const int ts = t0 + tau * K;  // this lane's first step
    const Vec<T, K> uu = nu, dd = nd, zz = nz;
    if (t0 + kLtTile < L) {
      nu.load(u_row, ts + kLtTile, L, p.row_align);
      nd.load(dl_row, ts + kLtTile, L, p.row_align);
      if (z_row) nz.load(z_row, ts + kLtTile, L, p.row_align);
    }
    float dl[K], du[K], y[K];
    float dsum = 0.f;
#pragma unroll
    for (int i = 0; i < K; ++i) {
      float x = dd[i] + bias;
      if (p.softplus) x = softplusf(x);
      x = ts + i < L ? x : 0.f;  // steps past the end are identity steps
      dl[i] = x;
      du[i] = x * uu[i];
      dsum += x;
      y[i] = dskip * uu[i] * (CPLX ? 0.5f : 1.f);  // the D skip, before the final doubling (complex)
    }
    __syncthreads();  // staged tiles (and the carry) visible, raw buffer free
    if (async && t0 + kLtTile < L) lt_copy_async<T, S, CW>(raw, rowoff, B_base, C_base, N, t0 + kLtTile, L);
    const float* lB = tB + tau * Lay::LANE;
    const float* lC = tC + tau * Lay::LANE;
    const int cpar = it & 1;
#pragma unroll 1
    for (int q = 0; q < NG; ++q) {
      // 1. decays, local state from zero, decay of the whole run.
      float ar[4], aim[4];  // per float of the group: re(A) log2 e and im(A) of its state
      ld4(coef + cw * 2 * S + (CPLX ? 8 : 4) * q, ar);
      if constexpr (CPLX) ld4(coef + cw * 2 * S + 8 * q + 4, aim);
      float a[K][4], hl[4] = {0.f, 0.f, 0.f, 0.f}, P[4];
#pragma unroll
      for (int i = 0; i < K; ++i) {
        float Bq[4];
        ld4(lB + i * Lay::STEP + 4 * q, Bq);
        if constexpr (CPLX) {
#pragma unroll
          for (int k = 0; k < 2; ++k) {
            const float e = ex2(dl[i] * ar[2 * k]);
            float sn, cs;
            __sincosf(dl[i] * aim[2 * k], &sn, &cs);
            a[i][2 * k] = e * cs;
            a[i][2 * k + 1] = e * sn;
          }
          float dB[4];
#pragma unroll
          for (int k = 0; k < 4; ++k) dB[k] = du[i] * Bq[k];
          affine<true>(a[i], hl, dB, hl);
        } else {
#pragma unroll
          for (int k = 0; k < 4; ++k) {
            a[i][k] = ex2(dl[i] * ar[k]);
            hl[k] = fmaf(a[i][k], hl[k], du[i] * Bq[k]);
          }
        }
      }
      if constexpr (CPLX) {
#pragma unroll
        for (int k = 0; k < 2; ++k) {
          const float e = ex2(dsum * ar[2 * k]);
          float sn, cs;
          __sincosf(dsum * aim[2 * k], &sn, &cs);
          P[2 * k] = e * cs;
          P[2 * k + 1] = e * sn;
        }
      } else {
#pragma unroll
        for (int k = 0; k < 4; ++k) P[k] = ex2(dsum * ar[k]);
      }
      // 2. inclusive scan of the maps over the warp's time lanes of this channel.
#pragma unroll
      for (int o = 1; o < kLtTLW; o *= 2) {
        float Pp[4], hp[4];
#pragma unroll
        for (int k = 0; k < 4; ++k) {
          Pp[k] = __shfl_up_sync(0xffffffffu, P[k], o, kLtTLW);
          hp[k] = __shfl_up_sync(0xffffffffu, hl[k], o, kLtTLW);
        }
        if (tw >= o) {
          affine<CPLX>(P, hp, hl, hl);
          mul_into<CPLX>(P, Pp);
        }
      }
      float* ag = agg + par * (kLtWarps * kLtCPW * 8);
      if (tw == kLtTLW - 1) {
        st4(ag + (warp * kLtCPW + cw) * 8, P);
        st4(ag + (warp * kLtCPW + cw) * 8 + 4, hl);
      }
      __syncthreads();
      par ^= 1;
      // The state entering this warp: the carry, then the preceding warps' aggregates.
      float hs[4];
      ld4(carry + (cpar * kLtCPW + cw) * S + 4 * q, hs);
#pragma unroll 1
      for (int w = 0; w < warp; ++w) {
        float Pa[4], ha[4];
        ld4(ag + (w * kLtCPW + cw) * 8, Pa);
        ld4(ag + (w * kLtCPW + cw) * 8 + 4, ha);
        affine<CPLX>(Pa, hs, ha, hs);
      }
      // The state entering this lane: the previous lane's inclusive map applied to hs.
      float Pe[4], he[4], h[4];
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        Pe[k] = __shfl_up_sync(0xffffffffu, P[k], 1, kLtTLW);
        he[k] = __shfl_up_sync(0xffffffffu, hl[k], 1, kLtTLW);
      }
      affine<CPLX>(Pe, hs, he, h);
      if (tw == 0) {
#pragma unroll
        for (int k = 0; k < 4; ++k) h[k] = hs[k];
      }
      if (warp == kLtWarps - 1 && tw == kLtTLW - 1) {  // the state leaving the tile
        float end[4];
        affine<CPLX>(P, hs, hl, end);
        st4(carry + ((cpar ^ 1) * kLtCPW + cw) * S + 4 * q, end);
        if (t0 + kLtTile >= L && p.last && active) {
#pragma unroll
          for (int k = 0; k < 4; ++k)
            if (4 * q + k < total) p.last[bd * total + 4 * q + k] = end[k];
        }
      }
      if (p.chunk_states && active && (tau * K) % kChunk == 0 && ts < L) {
        float* cs = p.chunk_states + chunk_state_offset(p, b, d, ts / kChunk, total);
#pragma unroll
        for (int k = 0; k < 4; ++k)
          if (4 * q + k < total) cs[4 * q + k] = h[k];
      }
      // 3. rescan the lane's steps from its true start state.
#pragma unroll
      for (int i = 0; i < K; ++i) {
        float Bq[4], Cq[4];
        ld4(lB + i * Lay::STEP + 4 * q, Bq);
        ld4(lC + i * Lay::STEP + 4 * q, Cq);
        float dB[4];
#pragma unroll
        for (int k = 0; k < 4; ++k) dB[k] = du[i] * Bq[k];
        affine<CPLX>(a[i], h, dB, h);
        if constexpr (CPLX) {
          y[i] = fmaf(Cq[0], h[0], fmaf(-Cq[1], h[1], y[i]));
          y[i] = fmaf(Cq[2], h[2], fmaf(-Cq[3], h[3], y[i]));
        } else {
          y[i] = fmaf(Cq[0], h[0], fmaf(Cq[1], h[1], fmaf(Cq[2], h[2], fmaf(Cq[3], h[3], y[i]))));
        }
      }
    }
    float yo[K];
#pragma unroll
    for (int i = 0; i < K; ++i) {
      float v = CPLX ? 2.f * y[i] : y[i];
      if (z_row) {
        const float zv = zz[i];
        v *= zv * sigmoidf_fast(zv);
      }
      yo[i] = v;
    }
    if (active) store_vec<T, K>(o_row, ts, L, p.row_align, yo);
  }
}

template <class T, int NT, bool CPLX>
auto prepared_lanes_kernel() {
  auto k = fwd_lanes_kernel<T, NT, CPLX>;
  static bool done = [&] {
    MS_CUDA_CHECK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       (int)LtLayout<NT * (CPLX ? 2 : 1), T>::bytes()));
    return true;
  }();
  (void)done;
  return k;
}

}  // namespace

int forward_lanes_blocks_per_sm(const KernelKey& key) {
  int r = 0;
  MS_SCAN_DISPATCH(key, T, NT, CPLX,
                   MS_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                       &r, prepared_lanes_kernel<T, NT, CPLX>(), kLtThreads,
                       LtLayout<NT * (CPLX ? 2 : 1), T>::bytes())));
  return r;
}

int64_t forward_lanes_blocks(const Params& p) {
  return (int64_t)((p.per_group + kLtCPW - 1) / kLtCPW) * p.batch * p.groups;
}

void forward_lanes(const KernelKey& key, const Params& p) {
  MS_SCAN_DISPATCH(key, T, NT, CPLX,
                   prepared_lanes_kernel<T, NT, CPLX>()<<<(int)forward_lanes_blocks(p), kLtThreads,
                                                          LtLayout<NT * (CPLX ? 2 : 1), T>::bytes(), stream()>>>(p));
  MS_CUDA_CHECK_LAUNCH();
}

}  // namespace ms::cuda::scan
