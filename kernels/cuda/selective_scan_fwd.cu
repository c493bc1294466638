// Selective scan forward kernels. One thread owns one channel (b, d) and one segment of the L axis and
// keeps all N states of that channel in registers; the 64 lanes of a block are 64 consecutive channels
// of one group, so at every step they all read the same B[t, :] and C[t, :] (broadcast from a shared
// tile). Segments run in parallel: a local pass computes each segment's end state from zero, a small
// combine turns those into the state entering every segment, and the main pass rescans each segment
// from its true start state writing out, the saved chunk states and last_state. See docs/cuda-scan.md.
#include <type_traits>

#include "kernels/cuda/scan_launch.cuh"

namespace ms::cuda::scan {
namespace {

// Decodes blockIdx.x into (channel tile, batch, group, segment); the channel tile varies fastest so
// blocks that share a B/C tile run together.
struct BlockPos {
  int b, g, seg, d;
  bool active;
};
__device__ __forceinline__ BlockPos block_pos(const Params& p) {
  const int tiles = (p.per_group + kThreads - 1) / kThreads;
  int bid = blockIdx.x;
  const int tile = bid % tiles;
  bid /= tiles;
  BlockPos q;
  q.b = (bid % (p.batch * p.groups)) / p.groups;
  q.g = bid % p.groups;
  q.seg = bid / (p.batch * p.groups);
  const int local = tile * kThreads + threadIdx.x;
  q.active = local < p.per_group;
  // Idle lanes shadow the tile's last real channel so that every load stays in bounds.
  q.d = q.g * p.per_group + (q.active ? local : p.per_group - 1);
  return q;
}

// LOCAL: scan segment `seg` from a zero state and record its end state and sum of delta.
// !LOCAL: scan from the segment's true start state writing out, chunk states and last_state.
template <class T, int NT, bool CPLX, bool LOCAL>
__global__ void __launch_bounds__(kThreads, CPLX ? 4 : 6) fwd_kernel(Params p) {
  constexpr int CW = CPLX ? 2 : 1;
  constexpr int S = NT * CW;
  constexpr int RUN = 8;  // steps per vector load of u / delta / z
  using Tile = TileLoader<T, NT, CW, kThreads>;
  __shared__ __align__(16) float tiles[2][LOCAL ? 1 : 2][Tile::FLOATS];

  const BlockPos q = block_pos(p);
  const int b = q.b, d = q.d, N = p.nstate;
  const int64_t bd = (int64_t)b * p.dim + d;
  const int c_begin = q.seg * p.seg_chunks;
  const int c_end = min(p.n_chunks, c_begin + p.seg_chunks);
  const int t_end = min(p.len, c_end * kChunk);

  float a2[NT], ai[NT];
#pragma unroll
  for (int n = 0; n < NT; ++n) {
    const float* pa = p.A + (int64_t)d * p.A_sd + (int64_t)n * p.A_sn;
    a2[n] = n < N ? pa[0] * kLog2e : 0.f;
    ai[n] = (CPLX && n < N) ? pa[p.A_sc] : 0.f;
  }
  const float dskip = p.Dskip ? p.Dskip[(int64_t)d * p.D_s] : 0.f;
  const float bias = p.bias ? p.bias[(int64_t)d * p.bias_s] : 0.f;

  float h[S];
  if (!LOCAL && p.n_seg > 1) {
    load_state<S>(p.seg_start + (bd * p.n_seg + q.seg) * S, h, S);
  } else if (!LOCAL && p.h0) {
    load_state<S>(p.h0 + bd * N * CW, h, N * CW);
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

  Tile ldB, ldC;
  ldB.load(B_base, p.B_sn, p.B_sc, N, c_begin * kChunk, p.len);
  if (!LOCAL) ldC.load(C_base, p.C_sn, p.C_sc, N, c_begin * kChunk, p.len);
  float dsum = 0.f;
  // u / delta / z of the next run are loaded one run ahead (their latency hides behind a run's work).
  Run<T, RUN> nu, nd, nz;
  nu.load(u_row, c_begin * kChunk, t_end, p.row_align);
  nd.load(dl_row, c_begin * kChunk, t_end, p.row_align);
  if (!LOCAL && z_row) nz.load(z_row, c_begin * kChunk, t_end, p.row_align);

  for (int c = c_begin; c < c_end; ++c) {
    const int buf = (c - c_begin) & 1;
    ldB.store(tiles[buf][0]);
    if (!LOCAL) ldC.store(tiles[buf][LOCAL ? 0 : 1]);
    __syncthreads();
    if (c + 1 < c_end) {  // prefetch the next chunk's tiles while this one is scanned
      ldB.load(B_base, p.B_sn, p.B_sc, N, (c + 1) * kChunk, p.len);
      if (!LOCAL) ldC.load(C_base, p.C_sn, p.C_sc, N, (c + 1) * kChunk, p.len);
    }
    if (!LOCAL && p.chunk_states && q.active)
      store_state<S>(p.chunk_states + chunk_state_offset(p, b, d, c, N * CW), h, N * CW);
    const float* tB = tiles[buf][0];
    const float* tC = tiles[buf][LOCAL ? 0 : 1];
    const int t0 = c * kChunk;
#pragma unroll 1
    for (int r = 0; r < kChunk; r += RUN) {
      const int tr = t0 + r;
      if (tr >= t_end) break;
      const Run<T, RUN> uu = nu, dd = nd, zz = nz;
      if (tr + RUN < t_end) {
        nu.load(u_row, tr + RUN, t_end, p.row_align);
        nd.load(dl_row, tr + RUN, t_end, p.row_align);
        if (!LOCAL && z_row) nz.load(z_row, tr + RUN, t_end, p.row_align);
      }
      float yo[RUN];
#pragma unroll
      for (int i = 0; i < RUN; ++i) {
        yo[i] = 0.f;
        if (tr + i < t_end) {
          float dl = dd[i] + bias;
          if (p.softplus) dl = softplusf(dl);
          const float du = dl * uu[i];
          float Bt[S];
          tile_row<S>(tB, r + i, Bt);
          if constexpr (LOCAL) {
            dsum += dl;
#pragma unroll
            for (int n = 0; n < NT; ++n) {
              if constexpr (CPLX) {
                const float e = ex2(dl * a2[n]);
                float sn, cs;
                __sincosf(dl * ai[n], &sn, &cs);
                const float ar = e * cs, aim = e * sn, hr = h[2 * n], hi = h[2 * n + 1];
                h[2 * n] = fmaf(ar, hr, fmaf(-aim, hi, du * Bt[2 * n]));
                h[2 * n + 1] = fmaf(ar, hi, fmaf(aim, hr, du * Bt[2 * n + 1]));
              } else {
                h[n] = fmaf(ex2(dl * a2[n]), h[n], du * Bt[n]);
              }
            }
          } else {
            float Ct[S];
            tile_row<S>(tC, r + i, Ct);
            float ys[4] = {0.f, 0.f, 0.f, 0.f};  // four partial sums: a short dependency chain
#pragma unroll
            for (int n = 0; n < NT; ++n) {
              if constexpr (CPLX) {
                const float e = ex2(dl * a2[n]);
                float sn, cs;
                __sincosf(dl * ai[n], &sn, &cs);
                const float ar = e * cs, aim = e * sn, hr = h[2 * n], hi = h[2 * n + 1];
                h[2 * n] = fmaf(ar, hr, fmaf(-aim, hi, du * Bt[2 * n]));
                h[2 * n + 1] = fmaf(ar, hi, fmaf(aim, hr, du * Bt[2 * n + 1]));
                ys[n % 4] = fmaf(Ct[2 * n], h[2 * n], fmaf(-Ct[2 * n + 1], h[2 * n + 1], ys[n % 4]));
              } else {
                h[n] = fmaf(ex2(dl * a2[n]), h[n], du * Bt[n]);
                ys[n % 4] = fmaf(Ct[n], h[n], ys[n % 4]);
              }
            }
            const float y0 = (ys[0] + ys[1]) + (ys[2] + ys[3]);
            float y = fmaf(dskip, uu[i], CPLX ? 2.f * y0 : y0);
            if (z_row) {
              const float zv = zz[i];
              y *= zv * sigmoidf_fast(zv);
            }
            yo[i] = y;
          }
        }
      }
      if (!LOCAL && q.active) store_run<T, RUN>(o_row, tr, t_end, p.row_align, yo);
    }
  }
  if (!q.active) return;
  if constexpr (LOCAL) {
    store_state<S>(p.seg_local + (bd * p.n_seg + q.seg) * S, h, S);
    p.seg_dsum[bd * p.n_seg + q.seg] = dsum;
  } else {
    if (p.last && q.seg == p.n_seg - 1) store_state<S>(p.last + bd * N * CW, h, N * CW);
  }
}

// One thread per (b, d, n): walks the segments in order, H_{s+1} = exp(A * dsum_s) H_s + local_s,
// and records the state entering each segment. Decays in double: dsum can be large.
template <int NT, bool CPLX>
__global__ void fwd_combine_kernel(Params p) {
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
  for (int s = 0; s < p.n_seg; ++s) {
    float* st = p.seg_start + (bd * p.n_seg + s) * S + n * CW;
    st[0] = (float)hr;
    if (CPLX) st[1] = (float)hi;
    if (s + 1 == p.n_seg) break;
    const double ds = p.seg_dsum[bd * p.n_seg + s];
    const float* loc = p.seg_local + (bd * p.n_seg + s) * S + n * CW;
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
int resident_threads(Kernel k) {
  int blocks = 0;
  MS_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, k, kThreads, 0));
  return blocks * kThreads;
}

}  // namespace

int forward_threads_per_sm(const KernelKey& key) {
  int r = 0;
  MS_SCAN_DISPATCH(key, T, NT, CPLX, r = resident_threads(fwd_kernel<T, NT, CPLX, false>));
  return r;
}

void forward_local(const KernelKey& key, const Params& p) {
  if (p.n_seg < 2) return;
  MS_SCAN_DISPATCH(key, T, NT, CPLX,
                   fwd_kernel<T, NT, CPLX, true><<<grid_blocks(p, p.n_seg - 1), kThreads, 0, stream()>>>(p));
  MS_CUDA_CHECK_LAUNCH();
}

void forward_combine(const KernelKey& key, const Params& p) {
  if (p.n_seg < 2) return;
  const int64_t n = (int64_t)p.batch * p.dim * p.nstate;
  MS_SCAN_DISPATCH(key, T, NT, CPLX,
                   (void)sizeof(T); fwd_combine_kernel<NT, CPLX><<<blocks_for(n, 256), 256, 0, stream()>>>(p));
  MS_CUDA_CHECK_LAUNCH();
}

void forward_main(const KernelKey& key, const Params& p) {
  MS_SCAN_DISPATCH(key, T, NT, CPLX,
                   fwd_kernel<T, NT, CPLX, false><<<grid_blocks(p, p.n_seg), kThreads, 0, stream()>>>(p));
  MS_CUDA_CHECK_LAUNCH();
}

}  // namespace ms::cuda::scan
