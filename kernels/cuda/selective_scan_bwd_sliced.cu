// Selective scan backward, "sliced" layout (v5). The algorithm is v4's (selective_scan_bwd.cu): per chunk,
// last to first, rescan the chunk from its saved state keeping a checkpoint every W = 4 steps (level 1),
// then for each 4-step window, last first, rescan the window per group of 4 floats of state keeping the
// states and decays in registers and run the adjoint back through it (level 2). What changes:
//  - a channel's states are cut into TPC slices on neighbouring lanes (scan_sliced.cuh): a lane keeps
//    8 floats of adjoint, dA and A instead of 16 each, 2 groups per window instead of 4 (half the unrolled
//    code), so about 150 registers and 12 warps per SM instead of 255 and 8; the per-step work that does
//    not depend on the state (softplus, the gate and its derivative) is done once per step and shared;
//  - dB and dC (sums over the channels of a group) are reduced through shared memory: each lane writes
//    its 8 values x 4 steps of a group as float4 rows, then each lane adds one float4 (4 steps of one
//    value) over 8 channels and a shuffle finishes the sum over the warp: about 55 instructions per
//    group and window instead of 128 for the shuffle butterfly.
// The L split (local reverse pass, combine, main pass) is v4's; the combine kernel and the dB/dC
// write-out are reused from selective_scan_bwd.cu. See docs/cuda-scan.md.
#include "kernels/cuda/scan_launch.cuh"
#include "kernels/cuda/scan_sliced.cuh"

namespace ms::cuda::scan {
namespace {

constexpr int kChan = 64;   // channels per block
static_assert(kChan == kThreads, "grid_blocks (scan_launch.cuh) counts blocks of kThreads channels");
constexpr int kW = 4;       // steps per window
constexpr int kRedPitch = 36;  // floats per lane row of the dB/dC reduction buffer (32 + 4: no conflicts)

struct SlicePos {
  int b, g, seg, d, slice, cl;  // cl: channel within the block
  bool active;
};
template <int TPC>
__device__ __forceinline__ SlicePos slice_pos(const Params& p, int seg_offset) {
  const int tiles = (p.per_group + kChan - 1) / kChan;
  int bid = blockIdx.x;
  const int tile = bid % tiles;
  bid /= tiles;
  SlicePos q;
  q.b = (bid % (p.batch * p.groups)) / p.groups;
  q.g = bid % p.groups;
  q.seg = bid / (p.batch * p.groups) + seg_offset;
  q.slice = threadIdx.x % TPC;
  q.cl = threadIdx.x / TPC;
  const int local = tile * kChan + q.cl;
  q.active = local < p.per_group;
  q.d = q.g * p.per_group + (q.active ? local : p.per_group - 1);  // idle lanes shadow a real channel
  return q;
}

// a[slice * (W / TPC) + k] without indexing a register array at run time (that would put it in memory).
template <int TPC, int W>
__device__ __forceinline__ float pick_own(const float (&a)[W], int slice, int k) {
  constexpr int WT = W / TPC;
  float r = a[k];
#pragma unroll
  for (int s = 1; s < TPC; ++s) r = slice == s ? a[s * WT + k] : r;
  return r;
}

// Level 1 writes this lane's K values of a run (steps `own` .. `own` + K, in one or two windows) into a
// [NW][kChan] float4 array at float index `at` (window of the first step, channel, step within it).
template <int K>
__device__ __forceinline__ void put_run(float* at, const float (&x)[K]) {
  if constexpr (K >= 4) {
#pragma unroll
    for (int k = 0; k < K; k += 4)
      reinterpret_cast<float4*>(at)[k / 4 * kChan] = make_float4(x[k], x[k + 1], x[k + 2], x[k + 3]);
  } else if constexpr (K == 2) {
    *reinterpret_cast<float2*>(at) = make_float2(x[0], x[1]);
  } else {
    static_assert(K == 1, "1, 2, 4 or 8 steps per lane and run");
    at[0] = x[0];
  }
}

// Register budgets (lanes per SM the allocation must allow): the main kernel with 8 floats of state per
// lane keeps two groups in flight (about 240 registers: 256 lanes per SM); with 4 floats (one group) it
// gets 128 registers at 4 slices per channel (512 lanes, 44 bytes of spill for real N = 16) and 170
// otherwise. The local pass with 2 or more slices per channel: runs of 16 steps (against runs of 8 at
// 768 lanes, f32 bwd 2^17 / 2^18 / 2^19 / 2^20 +0.3 / +0.4 / -1.4 / -4.5%, bf16 2^18 / 2^20 -0.4%:
// v10c) at the lanes of local_min_blocks; with one slice, runs of 8 at 512 lanes (128 registers: it
// spills below).
template <int S, int TPC>
constexpr int main_min_blocks() {
  constexpr int lanes = S >= 8 ? 256 : TPC >= 4 ? 512 : 384;
  return blocks_for_lanes(lanes, TPC);
}
// Level 1 of the main backward rescans a chunk in runs of 8 windows (the whole chunk: one load, softplus
// and all-gather of its delta and u) where a channel has 2 or more slices, 2 windows otherwise (not
// measured there): f32 backward 40.4 -> 38.0 ms at L = 2^16, 45.1 -> 42.8 at 2^18, 47.2 -> 45.3 at
// 2^20, bf16 36.4 -> 35.5, 40.8 -> 39.8, 42.2 -> 40.8 against runs of 2 windows (H100, v12).
// MS_BWD_L1_WINDOWS overrides it for studies.
#ifndef MS_BWD_L1_WINDOWS
#define MS_BWD_L1_WINDOWS 8
#endif
template <int TPC>
constexpr int local_run() {
  return TPC >= 2 ? 16 : 8;
}
// The local pass with two or more slices runs at 512 lanes per SM (128 registers) for f32 and 640 (96)
// for bf16: f32 backward -0.2..-0.3 ms at L = 2^18 / 2^20 with 512, bf16 +0.1 (v12).
template <class T, int TPC>
constexpr int local_min_blocks() {
  constexpr int lanes = TPC >= 2 ? (std::is_same_v<T, float> ? 512 : 640) : 512;
  return blocks_for_lanes(lanes, TPC);
}

// Local reverse pass over segment `seg` (>= 1) from a zero adjoint: records the adjoint leaving the
// segment at its start, conj(a_t0) g_t0, and the segment's sum of delta.
template <class T, int NT, bool CPLX, int TPC>
__global__ void __launch_bounds__(kChan * TPC, local_min_blocks<T, TPC>()) bwd_sliced_local_kernel(Params p) {
  constexpr int CW = CPLX ? 2 : 1;
  constexpr int SP = NT / TPC;
  constexpr int S = SP * CW;
  constexpr int R = local_run<TPC>();
  constexpr int RT = R / TPC;
  constexpr int THREADS = kChan * TPC;
  using Tile = TileLoader<T, NT, CW, THREADS>;
  __shared__ __align__(16) float tiles[2][Tile::FLOATS];

  const SlicePos q = slice_pos<TPC>(p, p.local_first);  // the first main segment needs no local pass
  const int b = q.b, d = q.d, N = p.nstate, slice = q.slice;
  const int64_t bd = (int64_t)b * p.dim + d;
  const int c_begin = q.seg * p.seg_chunks;
  const int c_end = min(p.n_chunks, c_begin + p.seg_chunks);
  const int t_end = min(p.len, c_end * kChunk);

  float a2[SP], ai[SP];
#pragma unroll
  for (int j = 0; j < SP; ++j) {
    const int n = slice * SP + j;
    const float* pa = p.A + (int64_t)d * p.A_sd + (int64_t)n * p.A_sn;
    a2[j] = n < N ? pa[0] * kLog2e : 0.f;
    ai[j] = (CPLX && n < N) ? pa[p.A_sc] : 0.f;
  }
  const float bias = p.bias ? p.bias[(int64_t)d * p.bias_s] : 0.f;
  const T* dl_row = static_cast<const T*>(p.delta) + b * p.dl_sb + d * p.dl_sd;
  const T* z_row = p.z ? static_cast<const T*>(p.z) + b * p.z_sb + d * p.z_sd : nullptr;
  const T* o_row = static_cast<const T*>(p.dout) + b * p.o_sb + d * p.o_sd;
  const T* C_base = static_cast<const T*>(p.Cm) + b * p.C_sb + q.g * p.C_sg;

  float cr[S];
#pragma unroll
  for (int i = 0; i < S; ++i) cr[i] = 0.f;
  float dsum = 0.f;
  Tile ldC;
  ldC.load(C_base, p.C_sn, p.C_sc, N, (c_end - 1) * kChunk, p.len);
  const int own = slice * RT;
  const int r_last = (t_end - 1) / R * R;  // first step of the last run with data
  Vec<T, RT> nd, no, nz{};  // nz stays zero without z (its gate is computed and selected away)
  nd.load(dl_row, r_last + own, t_end, p.row_align);
  no.load(o_row, r_last + own, t_end, p.row_align);
  if (z_row) nz.load(z_row, r_last + own, t_end, p.row_align);
  for (int c = c_end - 1; c >= c_begin; --c) {
    const int buf = (c_end - 1 - c) & 1;
    ldC.store(tiles[buf]);
    __syncthreads();
    if (c > c_begin) ldC.load(C_base, p.C_sn, p.C_sc, N, (c - 1) * kChunk, p.len);
    const float* tC = tiles[buf] + slice * S;
    const int t0 = c * kChunk;
#pragma unroll 1
    for (int r = kChunk - R; r >= 0; r -= R) {
      const int tr = t0 + r;
      if (tr >= t_end) continue;
      const Vec<T, RT> dd = nd, oo = no, zz = nz;
      if (tr > c_begin * kChunk) {
        nd.load(dl_row, tr - R + own, t_end, p.row_align);
        no.load(o_row, tr - R + own, t_end, p.row_align);
        if (z_row) nz.load(z_row, tr - R + own, t_end, p.row_align);
      }
      float dl_own[RT], dy_own[RT];
#pragma unroll
      for (int k = 0; k < RT; ++k) {
        const bool valid = tr + own + k < t_end;
        const float x = delta_after_softplus<local_fma_softplus<T>()>(dd[k] + bias, p.softplus);
        dl_own[k] = valid ? x : 0.f;
        float dy = (q.active && valid) ? oo[k] : 0.f;
        const float gate = zz[k] * sigmoidf_fast(zz[k]);  // selected, not branched around: see level 2
        dy = z_row ? dy * gate : dy;
        dy_own[k] = dy;
      }
      float DL[R], DY[R];
      slice_all_gather<TPC, R>(dl_own, DL);
      slice_all_gather<TPC, R>(dy_own, DY);
#pragma unroll
      for (int i = R - 1; i >= 0; --i) {
        const float dl = DL[i], dy = DY[i];
        dsum += dl;
        float Ct[S];
        slice_row<S>(tC + (r + i) * Tile::RS, Ct);
#pragma unroll
        for (int j = 0; j < SP; ++j) {
          if constexpr (CPLX) {
            // g = c + 2 dy conj(C); c <- conj(a) g
            const float gr = fmaf(2.f * dy, Ct[2 * j], cr[2 * j]);
            const float gi = fmaf(-2.f * dy, Ct[2 * j + 1], cr[2 * j + 1]);
            const float e = ex2(dl * a2[j]);
            float sn, cs;
            __sincosf(dl * ai[j], &sn, &cs);
            const float ar = e * cs, aim = e * sn;
            cr[2 * j] = fmaf(ar, gr, aim * gi);
            cr[2 * j + 1] = fmaf(ar, gi, -aim * gr);
          } else {
            cr[j] = ex2(dl * a2[j]) * fmaf(dy, Ct[j], cr[j]);
          }
        }
      }
    }
  }
  if (!q.active) return;
  store_slice<S>(p.seg_local + (bd * p.n_seg + q.seg) * NT * CW, slice * S, NT * CW, cr);
  if (slice == 0) p.seg_dsum[bd * p.n_seg + q.seg] = dsum;
}

// One thread per (b, d, n): walks the local pass's segments (`fine` of them, `per_main` per segment of
// the main pass) from the last, R <- X_f + conj(exp(A dsum_f)) R, and records the adjoint entering each
// main segment from its right into seg_start (n_seg of `p`, the main pass's Params).
template <int NT, bool CPLX>
__global__ void bwd_sliced_combine_kernel(Params p, int fine, int per_main) {
  constexpr int CW = CPLX ? 2 : 1;
  constexpr int S = NT * CW;
  const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (i >= (int64_t)p.batch * p.dim * p.nstate) return;
  const int n = i % p.nstate;
  const int64_t bd = i / p.nstate;
  const int d = bd % p.dim;
  const float* pa = p.A + (int64_t)d * p.A_sd + (int64_t)n * p.A_sn;
  const double ar = pa[0], aim = CPLX ? pa[p.A_sc] : 0.0;
  double rr = 0, ri = 0;
  for (int f = fine - 1; f >= per_main - 1; --f) {
    if (f == fine - 1 || (f + 1) % per_main == 0) {
      float* st = p.seg_start + (bd * p.n_seg + f / per_main) * S + n * CW;
      st[0] = (float)rr;
      if (CPLX) st[1] = (float)ri;
    }
    if (f < per_main) break;
    const double ds = p.seg_dsum[bd * fine + f];
    const float* loc = p.seg_local + (bd * fine + f) * S + n * CW;
    const double e = exp(ar * ds);
    if (CPLX) {
      double sn, cs;
      sincos(aim * ds, &sn, &cs);
      const double pr = e * cs, pim = e * sn;  // conj(P) R
      const double nr = pr * rr + pim * ri + loc[0];
      const double ni = pr * ri - pim * rr + loc[1];
      rr = nr;
      ri = ni;
    } else {
      rr = e * rr + loc[0];
    }
  }
}

// Adds four consecutive floats (16-byte aligned) with one vector atomic on sm_90.
__device__ __forceinline__ void red_add4(float* p, float4 v) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  atomicAdd(reinterpret_cast<float4*>(p), v);
#else
  atomicAdd(p, v.x);
  atomicAdd(p + 1, v.y);
  atomicAdd(p + 2, v.z);
  atomicAdd(p + 3, v.w);
#endif
}

// Stages the chunk's W-step windows of one row (dout or z) into 16-byte slots [NW][kChan] of `stage`, the
// TPC lanes of a channel taking every TPC-th window: asynchronous copies where the rows allow them and the
// chunk is whole, element by element (zeros past t_end) otherwise.
template <class T, int W, int TPC>
__device__ __forceinline__ void stage_rows(T* stage, const T* row, int t0, int t_end, int cl, int slice,
                                           int align) {
  constexpr int NW = kChunk / W, BYTES = W * (int)sizeof(T), SLOT = 16 / (int)sizeof(T);
  static_assert(BYTES == 8 || BYTES == 16, "a window is one 8- or 16-byte copy");
  if (align >= BYTES && t0 + kChunk <= t_end) {
#pragma unroll
    for (int k = slice; k < NW; k += TPC) cp_async<BYTES>(stage + (k * kChan + cl) * SLOT, row + t0 + k * W);
  } else {
#pragma unroll 1
    for (int j = slice * W; j < kChunk; j += TPC * W) {  // j: first step of the window in the chunk
#pragma unroll 1
      for (int i = 0; i < W; ++i)
        stage[(j / W * kChan + cl) * SLOT + i] = t0 + j + i < t_end ? row[t0 + j + i] : from_float<T>(0.f);
    }
  }
}

template <int NT, bool CPLX, int TPC>
struct BwdSmem {
  static constexpr int THREADS = kChan * TPC;
  static constexpr int S = NT / TPC * (CPLX ? 2 : 1);
  static constexpr int NQ = S / 4;
  static constexpr int NW = kChunk / kW;
  // floats: checkpoints [NW][NQ][THREADS] float4, delta after softplus and u [2][NW][kChan] float4,
  // reduction rows [THREADS][kRedPitch], dout and z of the chunk as stored [2][NW][kChan] 16-byte slots
  static constexpr int CKPT = NW * NQ * THREADS * 4;
  static constexpr int DL = NW * kChan * 4;
  static constexpr int RED = THREADS * kRedPitch;
  static constexpr int STAGE = NW * kChan * 4;
  static constexpr size_t bytes() { return sizeof(float) * (CKPT + 2 * DL + RED + 2 * STAGE); }
};

// The main backward pass (see the file comment).
template <class T, int NT, bool CPLX, int TPC>
__global__ void __launch_bounds__(kChan * TPC, main_min_blocks<NT / TPC * (CPLX ? 2 : 1), TPC>()) bwd_sliced_kernel(Params p) {
  constexpr int CW = CPLX ? 2 : 1;
  constexpr int SP = NT / TPC;
  constexpr int S = SP * CW;
  constexpr int W = kW;
  constexpr int WT = W / TPC;   // steps of a window this lane loads and finishes
  constexpr int NW = kChunk / W;
  constexpr int NQ = S / 4;     // groups of four floats per lane
  constexpr int THREADS = kChan * TPC;
  constexpr int R1 = (TPC >= 2 ? MS_BWD_L1_WINDOWS : 2) * W;  // level-1 run
  constexpr int R1T = R1 / TPC;
  using Tile = TileLoader<T, NT, CW, THREADS>;
  using Sm = BwdSmem<NT, CPLX, TPC>;
  static_assert(S % 4 == 0, "whole groups of four floats per lane");
  __shared__ __align__(16) float tiles[2][Tile::FLOATS];
  extern __shared__ __align__(16) float smem[];
  float4* ckpt = reinterpret_cast<float4*>(smem);               // [NW][NQ][THREADS]
  float4* dl_s = reinterpret_cast<float4*>(smem + Sm::CKPT);    // [NW][kChan]
  float4* u_s = reinterpret_cast<float4*>(smem + Sm::CKPT + Sm::DL);  // [NW][kChan]: u as level 1 read it
  float* red = smem + Sm::CKPT + 2 * Sm::DL + (threadIdx.x & ~31) * kRedPitch;  // this warp's rows
  // dout and z of the chunk in their storage type, window k of channel cl at slot k * kChan + cl (W
  // values in the first W * sizeof(T) of 16 bytes); copied asynchronously while level 1 runs.
  constexpr int SLOT = 16 / (int)sizeof(T);
  T* o_s = reinterpret_cast<T*>(smem + Sm::CKPT + 2 * Sm::DL + Sm::RED);
  T* z_s = o_s + Sm::STAGE * (int)sizeof(float) / (int)sizeof(T);

  const SlicePos q = slice_pos<TPC>(p, 0);
  const int b = q.b, d = q.d, N = p.nstate, slice = q.slice, cl = q.cl;
  const int lane = threadIdx.x & 31;
  const int64_t bd = (int64_t)b * p.dim + d;
  const int c_begin = q.seg * p.seg_chunks;
  const int c_end = min(p.n_chunks, c_begin + p.seg_chunks);
  const int t_end = min(p.len, c_end * kChunk);
  const int64_t Lp = (int64_t)p.n_chunks * kChunk;
  const int total = N * CW;

  float a2[SP], ai[SP];
#pragma unroll
  for (int j = 0; j < SP; ++j) {
    const int n = slice * SP + j;
    const float* pa = p.A + (int64_t)d * p.A_sd + (int64_t)n * p.A_sn;
    a2[j] = n < N ? pa[0] * kLog2e : 0.f;
    ai[j] = (CPLX && n < N) ? pa[p.A_sc] : 0.f;
  }
  const float dskip = p.Dskip ? p.Dskip[(int64_t)d * p.D_s] : 0.f;
  const float bias = p.bias ? p.bias[(int64_t)d * p.bias_s] : 0.f;

  // cr: the adjoint arriving at the current step from the future, conj(a_{t+1}) g_{t+1}.
  float cr[S];
  if (p.n_seg > 1 && q.active) {
    load_slice<S>(p.seg_start + (bd * p.n_seg + q.seg) * NT * CW, slice * S, NT * CW, cr);
  } else {
#pragma unroll
    for (int i = 0; i < S; ++i) cr[i] = 0.f;
  }
  float dA_acc[S];
#pragma unroll
  for (int i = 0; i < S; ++i) dA_acc[i] = 0.f;
  float dD_acc = 0.f, dbias_acc = 0.f;

  const T* u_row = static_cast<const T*>(p.u) + b * p.u_sb + d * p.u_sd;
  const T* dl_row = static_cast<const T*>(p.delta) + b * p.dl_sb + d * p.dl_sd;
  const T* z_row = p.z ? static_cast<const T*>(p.z) + b * p.z_sb + d * p.z_sd : nullptr;
  const T* o_row = static_cast<const T*>(p.dout) + b * p.o_sb + d * p.o_sd;
  T* du_row = static_cast<T*>(p.du) + b * p.du_sb + d * p.du_sd;
  T* dd_row = static_cast<T*>(p.ddelta) + b * p.dd_sb + d * p.dd_sd;
  T* dz_row = p.dz ? static_cast<T*>(p.dz) + b * p.dz_sb + d * p.dz_sd : nullptr;
  const T* B_base = static_cast<const T*>(p.Bm) + b * p.B_sb + q.g * p.B_sg;
  const T* C_base = static_cast<const T*>(p.Cm) + b * p.C_sb + q.g * p.C_sg;
  float* dbc = p.dbc + ((int64_t)b * p.groups + q.g) * 2 * NT * CW * Lp;

  // dB/dC reduction roles: this lane adds value rj (0-3 dB, 4-7 dC of a group) of slice rs over 8
  // channels of source group rg; lanes of source group 0 own the result.
  const int rj = lane % 8, rs = (lane / 8) % TPC, rg = lane / (8 * TPC);
  const int64_t red_row = (rj < 4 ? 0 : NT * CW) + rs * S + rj % 4;  // + 4 * group

  auto step_dl = [&](float raw) { return delta_after_softplus<false>(raw + bias, p.softplus); };

  for (int c = c_end - 1; c >= c_begin; --c) {
    const int t0 = c * kChunk;
    // Level 1's first inputs (the chunk's saved entry state, u and delta of its first run) are loaded
    // before the tiles are staged, so their latency overlaps the tiles' instead of following it (v9).
    float h[S];
    load_slice<S>(p.chunk_states + chunk_state_offset(p, b, d, c, total), slice * S, total, h);
    const int own1 = slice * R1T;
    Vec<T, R1T> nu, nd;
    nu.load(u_row, t0 + own1, t_end, p.row_align);
    nd.load(dl_row, t0 + own1, t_end, p.row_align);
    {
      Tile ldB, ldC;  // both loads in flight before either store waits
      ldB.load(B_base, p.B_sn, p.B_sc, N, t0, p.len);
      ldC.load(C_base, p.C_sn, p.C_sc, N, t0, p.len);
      __syncthreads();  // the previous chunk is done with the tiles
      ldB.store(tiles[0]);
      ldC.store(tiles[1]);
      // dout and z of the chunk for level 2, copied into shared memory while level 1 runs (every thread
      // is past level 2 of the previous chunk here): one wait per chunk instead of a load per window
      // whose latency the window did not always cover (the main backward's top stall, v13).
      stage_rows<T, W, TPC>(o_s, o_row, t0, t_end, cl, slice, p.row_align);
      if (z_row) stage_rows<T, W, TPC>(z_s, z_row, t0, t_end, cl, slice, p.row_align);
      __syncthreads();
    }
    const float* tB = tiles[0] + slice * S;
    const float* tC = tiles[1] + slice * S;

    // Level 1: rescan the chunk from its saved entry state, checkpointing every W steps. Each lane
    // computes delta after softplus for its own steps of a run of R1 steps and shares them.
    {
      const int own = own1;
#pragma unroll 1
      for (int r = 0; r < kChunk; r += R1) {
        if (t0 + r >= t_end) break;
        const Vec<T, R1T> uu = nu, dd = nd;
        if (r + R1 < kChunk && t0 + r + R1 < t_end) {
          nu.load(u_row, t0 + r + R1 + own, t_end, p.row_align);
          nd.load(dl_row, t0 + r + R1 + own, t_end, p.row_align);
        }
        float dl_own[R1T], du_own[R1T], u_own[R1T];
#pragma unroll
        for (int k = 0; k < R1T; ++k) {
          // a zero step is the identity: h and the adjoint pass through
          const float x = t0 + r + own + k < t_end ? step_dl(dd[k]) : 0.f;
          dl_own[k] = x;
          u_own[k] = uu[k];
          du_own[k] = x * uu[k];
        }
        // delta and u of the run for level 2 (which then loads no u of its own: v9): this lane's steps
        // r + own .. + R1T
        const int at = ((r + own) / W * kChan + cl) * 4 + own % W;
        put_run(reinterpret_cast<float*>(dl_s) + at, dl_own);
        put_run(reinterpret_cast<float*>(u_s) + at, u_own);
        float DL[R1], DU[R1];
        slice_all_gather<TPC, R1>(dl_own, DL);
        slice_all_gather<TPC, R1>(du_own, DU);
#pragma unroll
        for (int half = 0; half < R1 / W; ++half) {
          const int k = r / W + half;
#pragma unroll
          for (int i = 0; i < NQ; ++i)
            ckpt[(k * NQ + i) * THREADS + threadIdx.x] = make_float4(h[4 * i], h[4 * i + 1], h[4 * i + 2], h[4 * i + 3]);
          if (t0 + (k + 1) * W < t_end) {  // the last window's end state is never needed
#pragma unroll
            for (int i = 0; i < W; ++i) {
              const float dl = DL[half * W + i], du = DU[half * W + i];
              float Bt[S];
              slice_row<S>(tB + (k * W + i) * Tile::RS, Bt);
#pragma unroll
              for (int j = 0; j < SP; ++j) advance_state<CPLX>(h, j, dl, du, a2[j], ai[j], Bt);
            }
          }
        }
      }
    }
    cp_async_wait_all();
    __syncthreads();  // dl_s, u_s, o_s and z_s of the whole chunk (written by every slice of a channel) visible

    // Level 2: windows last to first. Delta and u come from level 1's arrays, dout and z from the chunk's
    // staged rows.
    const int k_last = min(NW - 1, (t_end - 1 - t0) / W);
    const int own = slice * WT;
#pragma unroll 1
    for (int k = k_last; k >= 0; --k) {
      const int tw = t0 + k * W;
      float uu[W], dl[W], du[W], dyp[W], y[W], gB[W], aq_r[W], aq_i[W];
      float dyp_own[WT], dzf_own[WT], dsp_own[WT], u_own[WT], dl_own[WT];
      {
        Vec<T, WT> ro, rz{};  // rz stays zero without z (its gate is computed and selected away)
        ro.load_shared(o_s + (k * kChan + cl) * SLOT + own);
        if (z_row) rz.load_shared(z_s + (k * kChan + cl) * SLOT + own);
        const float4 dl4 = dl_s[k * kChan + cl], u4 = u_s[k * kChan + cl];
        const float dls[W] = {dl4.x, dl4.y, dl4.z, dl4.w}, ru[W] = {u4.x, u4.y, u4.z, u4.w};
#pragma unroll
        for (int i = 0; i < W; ++i) {
          uu[i] = ru[i];
          dl[i] = dls[i];
          du[i] = dl[i] * uu[i];
          y[i] = gB[i] = aq_r[i] = aq_i[i] = 0.f;
        }
#pragma unroll
        for (int k2 = 0; k2 < WT; ++k2) {
          const bool valid = tw + own + k2 < t_end;
          u_own[k2] = pick_own<TPC>(uu, slice, k2);
          dl_own[k2] = pick_own<TPC>(dl, slice, k2);
          // d dl / d delta: sigmoid(delta + bias) = 1 - exp(-softplus(delta + bias)) = -expm1(-dl)
          dsp_own[k2] = p.softplus ? neg_expm1_neg(dl_own[k2]) : 1.f;
          const float o = (q.active && valid) ? ro[k2] : 0.f;
          // out = y silu(z): dy' = dout silu(z), dz = dout y sz (1 + z (1 - sz)). Computed for every step
          // and selected on z (a run-time flag): branched around, the gate's chain ran after the rest
          // (backward -2..-3% with the selects, v13).
          const float zv = rz[k2];
          const float sz = sigmoidf_fast(zv);
          dyp_own[k2] = z_row ? o * zv * sz : o;
          dzf_own[k2] = z_row ? o * sz * fmaf(zv, 1.f - sz, 1.f) : 0.f;
        }
        slice_all_gather<TPC, W>(dyp_own, dyp);
      }
#pragma unroll
      for (int qd = 0; qd < NQ; ++qd) {
        float h4[4], hw[W][4], aw[W][4];
        float hp0[4];  // the state entering the window (h_{t-1} of its first step)
        {
          const float4 v = ckpt[(k * NQ + qd) * THREADS + threadIdx.x];
          h4[0] = v.x; h4[1] = v.y; h4[2] = v.z; h4[3] = v.w;
          hp0[0] = v.x; hp0[1] = v.y; hp0[2] = v.z; hp0[3] = v.w;
        }
        // Forward through the window for these states.
#pragma unroll
        for (int i = 0; i < W; ++i) {
          const float4 bq = reinterpret_cast<const float4*>(tB + (k * W + i) * Tile::RS)[qd];
          const float4 cq = reinterpret_cast<const float4*>(tC + (k * W + i) * Tile::RS)[qd];
          const float Bq[4] = {bq.x, bq.y, bq.z, bq.w}, Cq[4] = {cq.x, cq.y, cq.z, cq.w};
          if constexpr (CPLX) {
#pragma unroll
            for (int j = 0; j < 2; ++j) {
              const int n = 2 * qd + j;
              const float e = ex2(dl[i] * a2[n]);
              float sn, cs;
              __sincosf(dl[i] * ai[n], &sn, &cs);
              const float ar = e * cs, aim = e * sn, hr = h4[2 * j], hi = h4[2 * j + 1];
              aw[i][2 * j] = ar;
              aw[i][2 * j + 1] = aim;
              h4[2 * j] = fmaf(ar, hr, fmaf(-aim, hi, du[i] * Bq[2 * j]));
              h4[2 * j + 1] = fmaf(ar, hi, fmaf(aim, hr, du[i] * Bq[2 * j + 1]));
              y[i] = fmaf(Cq[2 * j], h4[2 * j], fmaf(-Cq[2 * j + 1], h4[2 * j + 1], y[i]));
            }
          } else {
#pragma unroll
            for (int j = 0; j < 4; ++j) {
              const float a = ex2(dl[i] * a2[4 * qd + j]);
              aw[i][j] = a;
              h4[j] = fmaf(a, h4[j], du[i] * Bq[j]);
              y[i] = fmaf(Cq[j], h4[j], y[i]);
            }
          }
#pragma unroll
          for (int j = 0; j < 4; ++j) hw[i][j] = h4[j];
        }
        // Adjoint back through the window; vals[j][i % 2]: dB (j < 4) and dC (j >= 4) of float j % 4 at
        // step i, written to this lane's reduction row two steps at a time (float2).
        __syncwarp();  // the previous group's reads of the rows are done
        float vals[8][2];
#pragma unroll
        for (int i = W - 1; i >= 0; --i) {
          const float4 bq = reinterpret_cast<const float4*>(tB + (k * W + i) * Tile::RS)[qd];
          const float4 cq = reinterpret_cast<const float4*>(tC + (k * W + i) * Tile::RS)[qd];
          const float Bq[4] = {bq.x, bq.y, bq.z, bq.w}, Cq[4] = {cq.x, cq.y, cq.z, cq.w};
          const float dy = dyp[i];
          if constexpr (CPLX) {
#pragma unroll
            for (int j = 0; j < 2; ++j) {
              const int n = 2 * qd + j;
              float& c_r = cr[4 * qd + 2 * j];
              float& c_i = cr[4 * qd + 2 * j + 1];
              const float gr = fmaf(2.f * dy, Cq[2 * j], c_r);        // g = c + 2 dy conj(C)
              const float gi = fmaf(-2.f * dy, Cq[2 * j + 1], c_i);
              vals[2 * j][i % 2] = gr * du[i];                        // dB = du g
              vals[2 * j + 1][i % 2] = gi * du[i];
              vals[4 + 2 * j][i % 2] = 2.f * dy * hw[i][2 * j];       // dC = 2 dy conj(h)
              vals[4 + 2 * j + 1][i % 2] = -2.f * dy * hw[i][2 * j + 1];
              gB[i] = fmaf(gr, Bq[2 * j], fmaf(gi, Bq[2 * j + 1], gB[i]));
              const float ar = aw[i][2 * j], aim = aw[i][2 * j + 1];  // c <- conj(a) g
              c_r = fmaf(ar, gr, aim * gi);
              c_i = fmaf(ar, gi, -aim * gr);
              // Q = conj(g) (a h_{t-1}) = conj(c) h_{t-1}: no cancellation, two instructions fewer
              // than forming a h_{t-1} as h_t - du B
              const float hr = i > 0 ? hw[i - 1][2 * j] : hp0[2 * j];
              const float hi = i > 0 ? hw[i - 1][2 * j + 1] : hp0[2 * j + 1];
              const float Qr = fmaf(c_r, hr, c_i * hi);
              const float Qi = fmaf(c_r, hi, -c_i * hr);
              dA_acc[4 * qd + 2 * j] = fmaf(dl[i], Qr, dA_acc[4 * qd + 2 * j]);
              dA_acc[4 * qd + 2 * j + 1] = fmaf(-dl[i], Qi, dA_acc[4 * qd + 2 * j + 1]);
              aq_r[i] = fmaf(a2[n], Qr, aq_r[i]);
              aq_i[i] = fmaf(ai[n], Qi, aq_i[i]);
            }
          } else {
#pragma unroll
            for (int j = 0; j < 4; ++j) {
              const int n = 4 * qd + j;
              const float g = fmaf(dy, Cq[j], cr[n]);
              vals[j][i % 2] = g * du[i];
              vals[4 + j][i % 2] = dy * hw[i][j];
              gB[i] = fmaf(g, Bq[j], gB[i]);
              cr[n] = aw[i][j] * g;
              const float Q = cr[n] * (i > 0 ? hw[i - 1][j] : hp0[j]);  // g a h_{t-1}
              dA_acc[n] = fmaf(dl[i], Q, dA_acc[n]);
              aq_r[i] = fmaf(a2[n], Q, aq_r[i]);
            }
          }
          if (i % 2 == 0) {
#pragma unroll
            for (int j = 0; j < 8; ++j)
              *reinterpret_cast<float2*>(red + lane * kRedPitch + 4 * j + i) = make_float2(vals[j][0], vals[j][1]);
          }
        }
        // dB/dC of this group: each lane sums one float4 (4 steps of one value) over 8 channels, as two
        // sums of 4 (half the dependent chain after the shared loads).
        __syncwarp();
        auto row_of = [&](int k2) {  // source channel k2 of the 8 this lane adds
          return *reinterpret_cast<const float4*>(red + ((rg * 8 + k2) * TPC + rs) * kRedPitch + 4 * rj);
        };
        auto add_to = [](float4& a, const float4& v) { a.x += v.x; a.y += v.y; a.z += v.z; a.w += v.w; };
        float4 acc = row_of(0), acc2 = row_of(1);
#pragma unroll
        for (int k2 = 2; k2 < 8; k2 += 2) {
          add_to(acc, row_of(k2));
          add_to(acc2, row_of(k2 + 1));
        }
        add_to(acc, acc2);
#pragma unroll
        for (int o = 8 * TPC; o < 32; o *= 2) {
          acc.x += __shfl_xor_sync(0xffffffffu, acc.x, o);
          acc.y += __shfl_xor_sync(0xffffffffu, acc.y, o);
          acc.z += __shfl_xor_sync(0xffffffffu, acc.z, o);
          acc.w += __shfl_xor_sync(0xffffffffu, acc.w, o);
        }
        if (rg == 0) red_add4(dbc + (red_row + 4 * qd) * Lp + tw, acc);
      }
      // Partial sums over this lane's states -> full sums of its own steps.
      float y_o[WT], gB_o[WT], aqr_o[WT], aqi_o[WT];
      slice_reduce_scatter<TPC, W>(y, slice, y_o);
      slice_reduce_scatter<TPC, W>(gB, slice, gB_o);
      slice_reduce_scatter<TPC, W>(aq_r, slice, aqr_o);
      if constexpr (CPLX) slice_reduce_scatter<TPC, W>(aq_i, slice, aqi_o);
      float du_o[WT], dd_o[WT], dz_o[WT];
#pragma unroll
      for (int k2 = 0; k2 < WT; ++k2) {
        const float aqi = CPLX ? aqi_o[k2] : 0.f;
        dz_o[k2] = dzf_own[k2] * fmaf(dskip, u_own[k2], CPLX ? 2.f * y_o[k2] : y_o[k2]);
        du_o[k2] = fmaf(dl_own[k2], gB_o[k2], dskip * dyp_own[k2]);
        // sum_n Re(A_n Q_n), A = a2 ln2 (+ i ai)
        const float ddl = dsp_own[k2] * fmaf(u_own[k2], gB_o[k2], kLn2 * aqr_o[k2] - aqi);
        dd_o[k2] = ddl;
        if (tw + own + k2 < t_end && q.active) {
          dD_acc = fmaf(dyp_own[k2], u_own[k2], dD_acc);
          dbias_acc += ddl;
        }
      }
      if (q.active) {
        store_vec<T, WT>(du_row, tw + own, t_end, p.row_align, du_o);
        store_vec<T, WT>(dd_row, tw + own, t_end, p.row_align, dd_o);
        if (dz_row) store_vec<T, WT>(dz_row, tw + own, t_end, p.row_align, dz_o);
      }
    }
  }
  if (!q.active) return;
#pragma unroll
  for (int j = 0; j < SP; ++j) {
    const int n = slice * SP + j;
    if (n >= N) break;
#pragma unroll
    for (int part = 0; part < CW; ++part)
      atomicAdd(p.dA + (int64_t)d * p.dA_sd + (int64_t)n * p.dA_sn + part * p.dA_sc, dA_acc[j * CW + part]);
  }
  if (p.dD) atomicAdd(p.dD + (int64_t)d * p.dD_s, dD_acc);
  if (p.dbias) atomicAdd(p.dbias + (int64_t)d * p.dbias_s, dbias_acc);
}

template <class T, int NT, bool CPLX, int TPC>
auto prepared_bwd_sliced_kernel() {
  auto k = bwd_sliced_kernel<T, NT, CPLX, TPC>;
  static bool done = [&] {
    MS_CUDA_CHECK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       (int)BwdSmem<NT, CPLX, TPC>::bytes()));
    return true;
  }();
  (void)done;
  return k;
}

// Slices per channel of the backward: slices_for (8 floats of state per lane), or twice as many (4 floats,
// one group per lane) with `narrow` where a slice of 4 floats exists (real N = 16 and 8).
template <int NT, bool CPLX>
constexpr int wide_tpc() { return slices_for<NT, CPLX>(); }
template <int NT, bool CPLX>
constexpr int narrow_tpc() {
  return (!CPLX && NT >= 8) ? 2 * slices_for<NT, CPLX>() : slices_for<NT, CPLX>();
}

#define MS_BWD_TPC_DISPATCH(narrow, NT, CPLX, TPC, ...)                   \
  do {                                                                    \
    if (narrow) {                                                         \
      constexpr int TPC = narrow_tpc<NT, CPLX>();                         \
      __VA_ARGS__;                                                        \
    } else {                                                              \
      constexpr int TPC = wide_tpc<NT, CPLX>();                           \
      __VA_ARGS__;                                                        \
    }                                                                     \
  } while (0)

}  // namespace

int backward_sliced_lanes_per_channel(const KernelKey& key, bool narrow) {
  int r = 0;
  MS_SCAN_DISPATCH(key, T, NT, CPLX, (void)sizeof(T); MS_BWD_TPC_DISPATCH(narrow, NT, CPLX, TPC, r = TPC));
  return r;
}

int backward_sliced_blocks_per_sm(const KernelKey& key, bool narrow) {
  int r = 0;
  MS_SCAN_DISPATCH(key, T, NT, CPLX,
                   MS_BWD_TPC_DISPATCH(narrow, NT, CPLX, TPC,
                                       MS_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                                           &r, prepared_bwd_sliced_kernel<T, NT, CPLX, TPC>(), kChan * TPC,
                                           BwdSmem<NT, CPLX, TPC>::bytes()))));
  return r;
}

int backward_sliced_local_blocks_per_sm(const KernelKey& key, bool narrow) {
  int r = 0;
  MS_SCAN_DISPATCH(key, T, NT, CPLX,
                   MS_BWD_TPC_DISPATCH(narrow, NT, CPLX, TPC,
                                       MS_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                                           &r, bwd_sliced_local_kernel<T, NT, CPLX, TPC>, kChan * TPC, 0))));
  return r;
}

void backward_sliced_local(const KernelKey& key, bool narrow, const Params& lp) {
  if (lp.n_seg <= lp.local_first) return;
  MS_SCAN_DISPATCH(key, T, NT, CPLX,
                   MS_BWD_TPC_DISPATCH(narrow, NT, CPLX, TPC,
                                       bwd_sliced_local_kernel<T, NT, CPLX, TPC>
                                       <<<grid_blocks(lp, lp.n_seg - lp.local_first), kChan * TPC, 0, stream()>>>(lp)));
  MS_CUDA_CHECK_LAUNCH();
}

void backward_sliced_combine(const KernelKey& key, const Params& p, int fine, int per_main) {
  if (p.n_seg < 2) return;
  const int64_t n = (int64_t)p.batch * p.dim * p.nstate;
  MS_SCAN_DISPATCH(key, T, NT, CPLX,
                   (void)sizeof(T);
                   bwd_sliced_combine_kernel<NT, CPLX><<<blocks_for(n, 256), 256, 0, stream()>>>(p, fine, per_main));
  MS_CUDA_CHECK_LAUNCH();
}

void backward_sliced_main(const KernelKey& key, bool narrow, const Params& p) {
  MS_SCAN_DISPATCH(key, T, NT, CPLX,
                   MS_BWD_TPC_DISPATCH(narrow, NT, CPLX, TPC,
                                       prepared_bwd_sliced_kernel<T, NT, CPLX, TPC>()
                                       <<<grid_blocks(p, p.n_seg), kChan * TPC, BwdSmem<NT, CPLX, TPC>::bytes(),
                                          stream()>>>(p)));
  MS_CUDA_CHECK_LAUNCH();
}

}  // namespace ms::cuda::scan
