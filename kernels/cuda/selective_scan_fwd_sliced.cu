// Selective scan forward, "sliced" layout (v5): a block covers 64 consecutive channels of one group, each
// channel by TPC neighbouring lanes that hold one slice of its N states each (8 floats at most, so about
// 90-170 registers and 12-20 warps per SM instead of 12). Per run of R steps (8-32, fwd_run) every lane
// computes delta after softplus and delta * u for its R/TPC own steps, the lanes of a channel exchange
// them with shuffles, all lanes update their states for the R steps (B and C read as broadcasts from a
// shared tile), the partial sums C.h are reduce-scattered back so each lane finishes (D skip, gate,
// store) its own steps.
// The L split (local pass, combine, main pass) is the same as the v4 kernels' (selective_scan_fwd.cu,
// whose combine kernel is reused). See docs/cuda-scan.md.
#include "kernels/cuda/scan_launch.cuh"
#include "kernels/cuda/scan_sliced.cuh"

namespace ms::cuda::scan {
namespace {

constexpr int kChan = 64;  // channels per block
static_assert(kChan == kThreads, "grid_blocks (scan_launch.cuh) counts blocks of kThreads channels");

struct SlicePos {
  int b, g, seg, d, slice;
  bool active;
};
template <int TPC>
__device__ __forceinline__ SlicePos slice_pos(const Params& p) {
  const int tiles = (p.per_group + kChan - 1) / kChan;
  int bid = blockIdx.x;
  const int tile = bid % tiles;
  bid /= tiles;
  SlicePos q;
  q.b = (bid % (p.batch * p.groups)) / p.groups;
  q.g = bid % p.groups;
  q.seg = bid / (p.batch * p.groups);
  q.slice = threadIdx.x % TPC;
  const int local = tile * kChan + threadIdx.x / TPC;
  q.active = local < p.per_group;
  q.d = q.g * p.per_group + (q.active ? local : p.per_group - 1);  // idle lanes shadow a real channel
  return q;
}

// Steps per run and lanes per SM (register budget) of the kernels with two slices per channel (real
// N = 16): the main pass in runs of 16 steps at 384 lanes (f32, 168 registers) or 512 (bf16, 127), the
// local pass in runs of 32 (bf16: one per chunk) or 16 (f32) at 512 (128 registers). Longer runs give
// each warp more independent work between its shuffles and loads; against runs of 8 at 512 lanes they
// measured (H100, v12 in docs/cuda-scan-notes.md) bf16 forward 9.3 -> 8.15 ms at L = 2^16, 12.85 -> 11.96
// at 2^18, 13.25 -> 12.2 at 2^20 and f32 17.9 -> 13.8 at 2^20. Since v13 (softplus selected) the f32 local
// pass is faster in runs of 16 (12.58 / 13.0 -> 12.40 / 12.78 ms at 2^18 / 2^20; bf16 +0.05 with them),
// and with the B / C tiles staged by copies the bf16 main pass fits 512 lanes (127 registers, no spill;
// f32 spills 96 B): bf16 11.53 / 11.76 -> 11.28 / 11.51 ms at 2^18 / 2^20, 2^14 -2.7%, 2^16 +0.8%. Other
// slice counts keep runs of 8 at 512 lanes (not measured). MS_FWD_* override them for register /
// run-length studies.
#ifndef MS_FWD_TILE_ASYNC
#define MS_FWD_TILE_ASYNC 1
#endif
#ifndef MS_FWD_RUN_MAIN
#define MS_FWD_RUN_MAIN 16
#endif
#ifndef MS_FWD_RUN_LOCAL_F32
#define MS_FWD_RUN_LOCAL_F32 16
#endif
#ifndef MS_FWD_RUN_LOCAL
#define MS_FWD_RUN_LOCAL 32
#endif
#ifndef MS_FWD_LANES_MAIN_BF16
#define MS_FWD_LANES_MAIN_BF16 512
#endif
#ifndef MS_FWD_LANES_MAIN
#define MS_FWD_LANES_MAIN 384
#endif
#ifndef MS_FWD_LANES_LOCAL
#define MS_FWD_LANES_LOCAL 512
#endif
template <class T, int TPC, bool LOCAL>
constexpr int fwd_run() {
  constexpr int local = std::is_same_v<T, float> ? MS_FWD_RUN_LOCAL_F32 : MS_FWD_RUN_LOCAL;
  return TPC == 2 ? (LOCAL ? local : MS_FWD_RUN_MAIN) : 8;
}
template <class T, int NT, bool CPLX, bool LOCAL>
constexpr int fwd_min_blocks() {
  constexpr int tpc = slices_for<NT, CPLX>();
  constexpr int main = std::is_same_v<T, float> ? MS_FWD_LANES_MAIN : MS_FWD_LANES_MAIN_BF16;
  return blocks_for_lanes(tpc == 2 ? (LOCAL ? MS_FWD_LANES_LOCAL : main) : 512, tpc);
}

// LOCAL: scan segment `seg` from a zero state, record its end state and sum of delta.
// !LOCAL: scan from the segment's true start state writing out, chunk states and last_state.
// TPC: lanes per channel (the default, or 4 lanes of 4 states for real N = 16: twice the lanes, for grids
// that then fill the GPU without an L split); MINB: resident blocks per SM the registers must allow.
template <class T, int NT, bool CPLX, bool LOCAL, int TPC = slices_for<NT, CPLX>(),
          int MINB = fwd_min_blocks<T, NT, CPLX, LOCAL>()>
__global__ void __launch_bounds__(kChan * TPC, MINB) fwd_sliced_kernel(Params p) {
  constexpr int CW = CPLX ? 2 : 1;
  constexpr int SP = NT / TPC;  // states per lane
  constexpr int S = SP * CW;    // floats of state per lane
  constexpr int R = fwd_run<T, TPC, LOCAL>();  // steps per run
  constexpr int RT = R / TPC;   // steps per run this lane loads and finishes
  constexpr int THREADS = kChan * TPC;
  static_assert(S % 4 == 0, "a slice is whole float4s of the tile rows");
  using Tile = TileLoader<T, NT, CW, THREADS>;
  __shared__ __align__(16) float tiles[2][LOCAL ? 1 : 2][Tile::FLOATS];

  const SlicePos q = slice_pos<TPC>(p);
  const int b = q.b, d = q.d, N = p.nstate, slice = q.slice;
  const int64_t bd = (int64_t)b * p.dim + d;
  const int c_begin = q.seg * p.seg_chunks;
  const int c_end = min(p.n_chunks, c_begin + p.seg_chunks);
  const int t_end = min(p.len, c_end * kChunk);
  const int total = N * CW;  // floats of a channel's state in h0 / last / chunk_states

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

  float h[S];
  if (!LOCAL && p.n_seg > 1) {
    load_slice<S>(p.seg_start + (bd * p.n_seg + q.seg) * NT * CW, slice * S, NT * CW, h);
  } else if (!LOCAL && p.h0) {
    load_slice<S>(p.h0 + bd * total, slice * S, total, h);
  } else {
#pragma unroll
    for (int i = 0; i < S; ++i) h[i] = 0.f;
  }

  const T* u_row = static_cast<const T*>(p.u) + b * p.u_sb + d * p.u_sd;
  const T* dl_row = static_cast<const T*>(p.delta) + b * p.dl_sb + d * p.dl_sd;
  const T* z_row = p.z ? static_cast<const T*>(p.z) + b * p.z_sb + d * p.z_sd : nullptr;
  T* o_row = static_cast<T*>(p.out) + b * p.o_sb + d * p.o_sd;
  const T* B_base = static_cast<const T*>(p.Bm) + b * p.B_sb + q.g * p.B_sg;
  const T* C_base = static_cast<const T*>(p.Cm) + b * p.C_sb + q.g * p.C_sg;

  float dsum = 0.f;
  // This lane's RT steps of u / delta / z of the next run, loaded one run ahead.
  const int own = slice * RT;
  Vec<T, RT> nu, nd, nz;
  nu.load(u_row, c_begin * kChunk + own, t_end, p.row_align);
  nd.load(dl_row, c_begin * kChunk + own, t_end, p.row_align);
  if (!LOCAL && z_row) nz.load(z_row, c_begin * kChunk + own, t_end, p.row_align);

  // The chunks, in two copies: ASYNC stages B / C by asynchronous copies (copy_tile_pieces) where every
  // chunk of the segment allows it, the other through registers (TileLoader). The copies free the
  // registers that held the next chunk's B / C across a chunk: f32 forward -3.5 / -7% at L = 2^14 /
  // 2^16, bf16 -3% at 2^16, the split shapes +-0 (v13).
  constexpr int NMAT = LOCAL ? 1 : 2;
  __shared__ __align__(16) T tile_raw[CPLX ? 1 : NMAT * NT * kChunk];
  auto scan_chunks = [&](auto async_tag) {
    constexpr bool ASYNC = decltype(async_tag)::value;
    Tile ldB, ldC;
    if constexpr (ASYNC) {
      copy_tile_pieces<T, NT, NMAT, THREADS>(tile_raw, B_base, p.B_sn, C_base, p.C_sn, c_begin * kChunk);
    } else {
      ldB.load(B_base, p.B_sn, p.B_sc, N, c_begin * kChunk, p.len);
      if (!LOCAL) ldC.load(C_base, p.C_sn, p.C_sc, N, c_begin * kChunk, p.len);
    }
    for (int c = c_begin; c < c_end; ++c) {
      const int buf = (c - c_begin) & 1;
      // The chunk state goes out before the next chunk's tile loads are issued: stored after them, it
      // waited for them (v9). Streaming: the backward reads it long after (f32 forward -0.5..-1.5%, v11).
      if (!LOCAL && p.chunk_states && q.active)
        store_slice<S, true>(p.chunk_states + chunk_state_offset(p, b, d, c, total), slice * S, total, h);
      if constexpr (ASYNC) {
        cp_async_wait_all();
        tiles_from_pieces<T, NT, NMAT, THREADS, Tile::RS>(tiles[buf][0], tiles[buf][LOCAL ? 0 : 1], tile_raw);
      } else {
        ldB.store(tiles[buf][0]);
        if (!LOCAL) ldC.store(tiles[buf][LOCAL ? 0 : 1]);
      }
      __syncthreads();
      if (c + 1 < c_end) {  // the next chunk's tiles load while this one is scanned
        if constexpr (ASYNC) {
          copy_tile_pieces<T, NT, NMAT, THREADS>(tile_raw, B_base, p.B_sn, C_base, p.C_sn, (c + 1) * kChunk);
        } else {
          ldB.load(B_base, p.B_sn, p.B_sc, N, (c + 1) * kChunk, p.len);
          if (!LOCAL) ldC.load(C_base, p.C_sn, p.C_sc, N, (c + 1) * kChunk, p.len);
        }
      }
      const float* tB = tiles[buf][0] + slice * S;
      [[maybe_unused]] const float* tC = tiles[buf][LOCAL ? 0 : 1] + slice * S;
      const int t0 = c * kChunk;
#pragma unroll 1
      for (int r = 0; r < kChunk; r += R) {
        const int tr = t0 + r;
        if (tr >= t_end) break;
        const Vec<T, RT> uu = nu, dd = nd;
        [[maybe_unused]] const Vec<T, RT> zz = nz;
        if (tr + R < t_end) {
          nu.load(u_row, tr + R + own, t_end, p.row_align);
          nd.load(dl_row, tr + R + own, t_end, p.row_align);
          if (!LOCAL && z_row) nz.load(z_row, tr + R + own, t_end, p.row_align);
        }
        // Delta after softplus and delta * u of this lane's steps; steps past the end are identity steps
        // (delta 0: decay 1, no input), so the state passes through them unchanged.
        float dl_own[RT], du_own[RT];
#pragma unroll
        for (int k = 0; k < RT; ++k) {
          float x = delta_after_softplus<LOCAL && local_fma_softplus<T>()>(dd[k] + bias, p.softplus);
          // The copy path runs whole chunks only, so there every step is before t_end: without the test
          // (one compare and select per step) the bf16 forward ran 1.1-1.4% faster (v14).
          if constexpr (!ASYNC) x = tr + own + k < t_end ? x : 0.f;
          dl_own[k] = x;
          du_own[k] = x * uu[k];
        }
        float DL[R], DU[R];
        slice_all_gather<TPC, R>(dl_own, DL);
        slice_all_gather<TPC, R>(du_own, DU);
        [[maybe_unused]] float yp[R];
#pragma unroll
        for (int i = 0; i < R; ++i) {
          const float dl = DL[i], du = DU[i];
          float Bt[S];
          slice_row<S>(tB + (r + i) * Tile::RS, Bt);
          if constexpr (LOCAL) {
            dsum += dl;
#pragma unroll
            for (int j = 0; j < SP; ++j) advance_state<CPLX>(h, j, dl, du, a2[j], ai[j], Bt);
          } else {
            float Ct[S];
            slice_row<S>(tC + (r + i) * Tile::RS, Ct);
            // C.h: one sum for real states (an add per step fewer: bf16 forward -1.5% at L = 2^18 / 2^20,
            // v13), two partial sums for complex ones
            float ys[2] = {0.f, 0.f};
#pragma unroll
            for (int j = 0; j < SP; ++j) {
              advance_state<CPLX>(h, j, dl, du, a2[j], ai[j], Bt);
              if constexpr (CPLX)
                ys[j % 2] = fmaf(Ct[2 * j], h[2 * j], fmaf(-Ct[2 * j + 1], h[2 * j + 1], ys[j % 2]));
              else
                ys[0] = fmaf(Ct[j], h[j], ys[0]);
            }
            yp[i] = CPLX ? ys[0] + ys[1] : ys[0];
          }
        }
        if constexpr (!LOCAL) {
          float yo[RT];
          slice_reduce_scatter<TPC, R>(yp, slice, yo);
#pragma unroll
          for (int k = 0; k < RT; ++k) {
            float y = fmaf(dskip, uu[k], CPLX ? 2.f * yo[k] : yo[k]);
            if (z_row) {
              const float zv = zz[k];
              y *= zv * sigmoidf_fast(zv);
            }
            yo[k] = y;
          }
          if (q.active) store_vec<T, RT, true>(o_row, tr + own, t_end, p.row_align, yo);
        }
      }
    }
  };
  if constexpr (!CPLX && MS_FWD_TILE_ASYNC) {
    if (p.bc_vec && N == NT && c_end * kChunk <= p.len) scan_chunks(std::true_type{});
    else scan_chunks(std::false_type{});
  } else {
    scan_chunks(std::false_type{});
  }
  if (!q.active) return;
  if constexpr (LOCAL) {
    store_slice<S>(p.seg_local + (bd * p.n_seg + q.seg) * NT * CW, slice * S, NT * CW, h);
    if (slice == 0) p.seg_dsum[bd * p.n_seg + q.seg] = dsum;
  } else {
    if (p.last && q.seg == p.n_seg - 1) store_slice<S>(p.last + bd * total, slice * S, total, h);
  }
}

// One thread per (b, d, n): walks the local pass's segments (`per_main` of them per segment of the main
// pass) in order, H <- exp(A dsum_f) H + local_f, and records the state entering each main segment into
// seg_start (n_seg of `p`, the main pass's Params). Decays in double: dsum can be large.
template <int NT, bool CPLX>
__global__ void fwd_sliced_combine_kernel(Params p, int fine, int per_main) {
  constexpr int CW = CPLX ? 2 : 1;
  constexpr int S = NT * CW;
  const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (i >= (int64_t)p.batch * p.dim * p.nstate) return;
  const int n = i % p.nstate;
  const int64_t bd = i / p.nstate;
  const int d = bd % p.dim;
  const float* pa = p.A + (int64_t)d * p.A_sd + (int64_t)n * p.A_sn;
  const double ar = pa[0], aim = CPLX ? pa[p.A_sc] : 0.0;
  double hr = 0, hi = 0;
  if (p.h0) {
    hr = p.h0[(bd * p.nstate + n) * CW];
    if (CPLX) hi = p.h0[(bd * p.nstate + n) * CW + 1];
  }
  for (int f = 0;; ++f) {
    if (f % per_main == 0) {
      float* st = p.seg_start + (bd * p.n_seg + f / per_main) * S + n * CW;
      st[0] = (float)hr;
      if (CPLX) st[1] = (float)hi;
      if (f / per_main == p.n_seg - 1) break;
    }
    const double ds = p.seg_dsum[bd * fine + f];
    const float* loc = p.seg_local + (bd * fine + f) * S + n * CW;
    const double e = exp(ar * ds);
    if (CPLX) {
      double sn, cs;
      sincos(aim * ds, &sn, &cs);
      const double pr = e * cs, pim = e * sn;
      const double nr = pr * hr - pim * hi + loc[0];
      const double ni = pr * hi + pim * hr + loc[1];
      hr = nr;
      hi = ni;
    } else {
      hr = e * hr + loc[0];
    }
  }
}

template <class Kernel>
int resident_blocks(Kernel k, int threads) {
  int blocks = 0;
  MS_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, k, threads, 0));
  return blocks;
}

}  // namespace

// The main pass with 4 lanes per channel exists for real N = 16; other keys run their default.
template <class T, int NT, bool CPLX>
constexpr bool has_tpc4() {
  return !CPLX && NT == 16;
}
constexpr int kMainTpc4MinBlocks = 3;  // 256 lanes per block, 24 warps per SM: ~80 registers

int forward_sliced_blocks_per_sm(const KernelKey& key, bool tpc4) {
  int r = 0;
  MS_SCAN_DISPATCH(key, T, NT, CPLX, {
    if constexpr (has_tpc4<T, NT, CPLX>()) {
      if (tpc4) {
        r = resident_blocks(fwd_sliced_kernel<T, NT, CPLX, false, 4, kMainTpc4MinBlocks>, kChan * 4);
        return;
      }
    }
    r = resident_blocks(fwd_sliced_kernel<T, NT, CPLX, false>, kChan * slices_for<NT, CPLX>());
  });
  return r;
}

void forward_sliced_local(const KernelKey& key, const Params& lp, int segments) {
  if (segments < 1) return;
  MS_SCAN_DISPATCH(key, T, NT, CPLX,
                   fwd_sliced_kernel<T, NT, CPLX, true>
                   <<<grid_blocks(lp, segments), kChan * slices_for<NT, CPLX>(), 0, stream()>>>(lp));
  MS_CUDA_CHECK_LAUNCH();
}

void forward_sliced_combine(const KernelKey& key, const Params& p, int fine, int per_main) {
  if (p.n_seg < 2) return;
  const int64_t n = (int64_t)p.batch * p.dim * p.nstate;
  MS_SCAN_DISPATCH(key, T, NT, CPLX,
                   (void)sizeof(T);
                   fwd_sliced_combine_kernel<NT, CPLX><<<blocks_for(n, 256), 256, 0, stream()>>>(p, fine, per_main));
  MS_CUDA_CHECK_LAUNCH();
}

void forward_sliced_main(const KernelKey& key, const Params& p, bool tpc4) {
  MS_SCAN_DISPATCH(key, T, NT, CPLX, {
    if constexpr (has_tpc4<T, NT, CPLX>()) {
      if (tpc4) {
        fwd_sliced_kernel<T, NT, CPLX, false, 4, kMainTpc4MinBlocks>
            <<<grid_blocks(p, p.n_seg), kChan * 4, 0, stream()>>>(p);
        return;
      }
    }
    fwd_sliced_kernel<T, NT, CPLX, false><<<grid_blocks(p, p.n_seg), kChan * slices_for<NT, CPLX>(), 0, stream()>>>(p);
  });
  MS_CUDA_CHECK_LAUNCH();
}

}  // namespace ms::cuda::scan
