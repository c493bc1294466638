// Host-side launchers of the selective-scan kernels (defined in selective_scan_fwd.cu and
// selective_scan_bwd.cu, called from selective_scan.cu). Each dispatches on dtype, padded state count
// NT (4, 8 or 16) and real/complex.
#pragma once
#include "kernels/cuda/scan_common.cuh"

namespace ms::cuda::scan {

constexpr int kThreads = 64;  // channels per block (one thread each)

struct KernelKey {
  DType dtype;
  int nt;        // padded state count: 4, 8 or 16
  bool complex;
};

inline int padded_states(int64_t n) { return n <= 4 ? 4 : n <= 8 ? 8 : 16; }

// Forward: resident threads per SM of the main kernel (sizes the L split), the local pass over all
// segments but the last, the combine over segments, the main pass.
int forward_threads_per_sm(const KernelKey& k);
void forward_local(const KernelKey& k, const Params& p);
void forward_combine(const KernelKey& k, const Params& p);
void forward_main(const KernelKey& k, const Params& p);

// v5 forward (selective_scan_fwd_sliced.cu): 64 channels per block, slices_for<NT, CPLX>() lanes per
// channel (`tpc4`: 4 lanes of 4 states for real N = 16). With an L split the local pass runs on its own,
// finer segments (Params lp: n_seg / seg_chunks of those) so that its grid fills the GPU, `segments` of
// them from the first; the combine walks them and writes the state entering each of the main pass's
// segments (per_main local segments per main one).
int forward_sliced_blocks_per_sm(const KernelKey& k, bool tpc4);
void forward_sliced_local(const KernelKey& k, const Params& lp, int segments);
void forward_sliced_combine(const KernelKey& k, const Params& p, int fine, int per_main);
void forward_sliced_main(const KernelKey& k, const Params& p, bool tpc4);

// v5 forward for few channels and long L (selective_scan_fwd_lanes.cu): lanes over time, no L split.
int forward_lanes_blocks_per_sm(const KernelKey& k);
int64_t forward_lanes_blocks(const Params& p);
void forward_lanes(const KernelKey& k, const Params& p);

int backward_threads_per_sm(const KernelKey& k);
void backward_local(const KernelKey& k, const Params& p);
void backward_combine(const KernelKey& k, const Params& p);
void backward_main(const KernelKey& k, const Params& p);
// v5 backward (selective_scan_bwd_sliced.cu): 64 channels per block, slices_for<NT, CPLX>() lanes per
// channel; the combine is backward_combine above, the dB/dC write-out backward_write_dbc below.
// `narrow`: twice the slices (4 floats of state per lane) where the state count allows it.
int backward_sliced_lanes_per_channel(const KernelKey& k, bool narrow);
int backward_sliced_blocks_per_sm(const KernelKey& k, bool narrow);
// The local pass runs on its own, finer segments (Params lp: n_seg / seg_chunks of those, local_first =
// the first one it covers) so that its grid fills the GPU; the combine walks them and writes the adjoint
// entering each of the main pass's segments (per_main local segments per main segment).
int backward_sliced_local_blocks_per_sm(const KernelKey& k, bool narrow);
void backward_sliced_local(const KernelKey& k, bool narrow, const Params& lp);
void backward_sliced_combine(const KernelKey& k, const Params& p, int fine, int per_main);
void backward_sliced_main(const KernelKey& k, bool narrow, const Params& p);
// Writes the accumulated dB/dC scratch into the (strided, f32 or bf16) gradient tensors.
void backward_write_dbc(const KernelKey& k, const Params& p, const Tensor& dB, const Tensor& dC);

// Number of blocks covering the channels of one group.
inline int channel_tiles(const Params& p) { return (p.per_group + kThreads - 1) / kThreads; }
// Blocks of kThreads channels covering one L segment of every (batch, group); a scan kernel's grid is this
// times its segments.
inline int64_t blocks_per_segment(const Params& p) { return (int64_t)channel_tiles(p) * p.batch * p.groups; }
inline int grid_blocks(const Params& p, int segments) { return (int)(blocks_per_segment(p) * segments); }

}  // namespace ms::cuda::scan

#define MS_SCAN_DISPATCH(key, T, NT, CPLX, ...)                                              \
  do {                                                                                       \
    auto ms_scan_nt_ = [&](auto ms_t_) {                                                     \
      using T = decltype(ms_t_);                                                             \
      auto ms_scan_c_ = [&](auto ms_nt_c_) {                                                 \
        constexpr int NT = decltype(ms_nt_c_)::value;                                        \
        if ((key).complex) {                                                                 \
          constexpr bool CPLX = true;                                                        \
          __VA_ARGS__;                                                                       \
        } else {                                                                             \
          constexpr bool CPLX = false;                                                       \
          __VA_ARGS__;                                                                       \
        }                                                                                    \
      };                                                                                     \
      MS_SCAN_STATES(key)                                                                    \
    };                                                                                       \
    MS_SCAN_DTYPES(key)                                                                      \
  } while (0)

// MS_SCAN_PROBE=NT (a compile flag for register studies) builds the f32 kernels of one state count only.
#ifdef MS_SCAN_PROBE
#define MS_SCAN_DTYPES(key) ms_scan_nt_(float{});
#define MS_SCAN_STATES(key) ms_scan_c_(std::integral_constant<int, MS_SCAN_PROBE>{});
#else
#define MS_SCAN_STATES(key)                                                                  \
  if ((key).nt == 4) ms_scan_c_(std::integral_constant<int, 4>{});                           \
  else if ((key).nt == 8) ms_scan_c_(std::integral_constant<int, 8>{});                      \
  else ms_scan_c_(std::integral_constant<int, 16>{});
#define MS_SCAN_DTYPES(key)                                                                  \
  if ((key).dtype == ::ms::DType::bf16) ms_scan_nt_(__nv_bfloat16{});                        \
  else ms_scan_nt_(float{});
#endif
