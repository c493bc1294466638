// CUDA twin of kernels/selective_scan.h: argument checks, parameter blocks, scratch, and the order of
// the kernel launches (selective_scan_fwd.cu, selective_scan_bwd.cu). Layout: docs/cuda-scan.md.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>

#include "kernels/cuda/scan_launch.cuh"
#include "kernels/selective_scan.h"

namespace ms::cuda {
namespace {

using scan::kChunk;
using scan::Params;

// The widest access (bytes, 16 at most) every (B, D, L) row of t allows: the lowest set bit of its address
// and of its batch and channel strides in bytes (16 for an absent tensor).
int row_align(const Tensor& t) {
  if (!t.defined()) return 16;
  const uintptr_t es = dtype_size(t.dtype());
  const uintptr_t bits = reinterpret_cast<uintptr_t>(t.raw()) | (uintptr_t)t.stride(0) * es |
                         (uintptr_t)t.stride(1) * es | uintptr_t(16);
  return (int)(bits & (~bits + 1));
}

// The saved chunk states are stored chunk-major, (B, n_chunks, D, N[, 2]) (scan_common.cuh,
// chunk_state_offset), and handed out as the contract's (B, D, n_chunks, N[, 2]) view of that storage.
Shape chunk_state_storage_shape(const ScanDims& dm, int64_t n_chunks) {
  return dm.complex ? Shape{dm.batch, n_chunks, dm.dim, dm.state, 2} : Shape{dm.batch, n_chunks, dm.dim, dm.state};
}
Tensor new_chunk_states(const ScanDims& dm, int64_t n_chunks) {
  return Tensor::empty(chunk_state_storage_shape(dm, n_chunks), DType::f32, Device::cuda).transpose(1, 2);
}
bool has_chunk_state_layout(const Tensor& t, const ScanDims& dm, int64_t n_chunks) {
  Shape expect = contiguous_strides(chunk_state_storage_shape(dm, n_chunks));
  std::swap(expect[1], expect[2]);
  return t.strides() == expect;
}

void check_max_state(const char* op, int64_t n) {
  MS_CHECK(n >= 1 && n <= 16, op, ": the CUDA scan supports 1 to 16 states (N), got ", n);
}

// Fills the fields shared by forward and backward; n_seg / seg_chunks are set by the caller.
Params make_params(const SelectiveScanInputs& in, const ScanDims& dm) {
  Params p{};
  p.batch = (int)dm.batch;
  p.dim = (int)dm.dim;
  p.len = (int)dm.len;
  p.nstate = (int)dm.state;
  p.groups = (int)dm.groups;
  p.per_group = (int)(dm.dim / dm.groups);
  p.n_chunks = (int)((dm.len + kChunk - 1) / kChunk);
  p.u = in.u.raw();
  p.u_sb = in.u.stride(0);
  p.u_sd = in.u.stride(1);
  p.delta = in.delta.raw();
  p.dl_sb = in.delta.stride(0);
  p.dl_sd = in.delta.stride(1);
  if (in.z.defined()) {
    p.z = in.z.raw();
    p.z_sb = in.z.stride(0);
    p.z_sd = in.z.stride(1);
  }
  const int cplx = dm.complex ? 1 : 0;
  p.Bm = in.B.raw();
  p.B_sb = in.B.stride(0);
  p.B_sg = in.B.stride(1);
  p.B_sn = in.B.stride(2);
  p.B_sc = cplx ? in.B.stride(3) : 0;
  p.Cm = in.C.raw();
  p.C_sb = in.C.stride(0);
  p.C_sg = in.C.stride(1);
  p.C_sn = in.C.stride(2);
  p.C_sc = cplx ? in.C.stride(3) : 0;
  p.A = in.A.data<float>();
  p.A_sd = in.A.stride(0);
  p.A_sn = in.A.stride(1);
  p.A_sc = cplx ? in.A.stride(2) : 0;
  if (in.D.defined()) {
    p.Dskip = in.D.data<float>();
    p.D_s = in.D.stride(0);
  }
  if (in.delta_bias.defined()) {
    p.bias = in.delta_bias.data<float>();
    p.bias_s = in.delta_bias.stride(0);
  }
  p.softplus = in.delta_softplus;
  p.row_align = std::min({row_align(in.u), row_align(in.delta), row_align(in.z)});
  auto bc_aligned = [](const Tensor& t) {
    const size_t es = dtype_size(t.dtype());
    bool ok = reinterpret_cast<uintptr_t>(t.raw()) % 16 == 0;
    for (int i = 0; i + 1 < t.ndim(); ++i) ok = ok && (t.stride(i) * es) % 16 == 0;
    return ok;
  };
  p.bc_vec = bc_aligned(in.B) && bc_aligned(in.C);
  return p;
}

// Main segments of `chunks` chunks each (the last one may be shorter).
void set_segment_chunks(Params& p, int chunks) {
  p.seg_chunks = chunks;
  p.n_seg = (p.n_chunks + chunks - 1) / chunks;
}

// About `segments` main segments of whole chunks (at least one, at most one per chunk).
void cut_into_segments(Params& p, int64_t segments) {
  const int64_t seg = std::min<int64_t>(std::max<int64_t>(segments, 1), p.n_chunks);
  set_segment_chunks(p, (int)((p.n_chunks + seg - 1) / seg));
}

// With a split, the local pass runs on per_main finer segments per main segment, at least as many as fill
// one wave of its own resident blocks (local_blocks_per_sm per SM; with 2 main segments only one is scanned
// locally, which would leave half the GPU idle) and, with max_fine_chunks, local segments of at most that
// many chunks. Main segments become whole local segments; returns per_main.
int split_for_local_pass(Params& p, int64_t local_blocks_per_sm, int max_fine_chunks = 0) {
  const int64_t per_seg = scan::blocks_per_segment(p);
  int per_main = (int)std::max<int64_t>(1, local_blocks_per_sm * sm_count() / (per_seg * (p.n_seg - 1)));
  if (max_fine_chunks > 0) per_main = std::max(per_main, (p.seg_chunks + max_fine_chunks - 1) / max_fine_chunks);
  per_main = std::min(per_main, p.seg_chunks);
  const int fine_chunks = (p.seg_chunks + per_main - 1) / per_main;
  set_segment_chunks(p, fine_chunks * per_main);
  return per_main;
}

// Cuts L into segments (whole chunks), one thread per (b, d, segment). Without a split every block scans
// a whole row; with one, the local pass and the rescan double the exp work, so L is split only when the
// unsplit grid fills less than one wave of resident blocks, and then into as many segments as fit in
// exactly one wave (a second, partial wave would cost a whole block duration).
void split_length(Params& p, int threads_per_sm) {
  const int64_t wave = std::max<int64_t>(1, (int64_t)threads_per_sm / scan::kThreads * sm_count());
  const int64_t blocks_per_seg = scan::blocks_per_segment(p);
  cut_into_segments(p, blocks_per_seg >= wave ? 1 : wave / blocks_per_seg);
}

scan::KernelKey key_of(const ScanDims& dm, DType dt) {
  return scan::KernelKey{dt, scan::padded_states(dm.state), dm.complex};
}

// A kernel choice from the environment variable `var`: NAME or NAME:SEGMENTS, NAME one of `names` (unset
// or empty: "auto"). SEGMENTS (>= 1) forces the number of L segments of the main pass (1: unsplit) in place
// of the wave rule, for measuring split choices (`mambaseq bench scan` variants); *segments = 0 without it.
template <class Impl, size_t K>
Impl read_impl(const char* var, const std::pair<const char*, Impl> (&names)[K], int* segments) {
  const char* e = std::getenv(var);
  std::string name = e && *e ? e : "auto";
  *segments = 0;
  const size_t colon = name.find(':');
  if (colon != std::string::npos) {
    const std::string count = name.substr(colon + 1);
    char* end = nullptr;
    const long v = std::strtol(count.c_str(), &end, 10);
    MS_CHECK(!count.empty() && *end == '\0' && v >= 1 && v <= (1 << 20), var, "=", e,
             ": the part after ':' must be a segment count from 1 to 2^20");
    *segments = static_cast<int>(v);
    name.resize(colon);
  }
  std::string choices;
  for (const auto& [n, impl] : names) {
    if (name == n) return impl;
    choices += (choices.empty() ? "" : ", ") + std::string(n);
  }
  MS_FAIL(var, "=", name, " is not one of ", choices, " (each optionally :SEGMENTS)");
}

// Which kernels run. MAMBASEQ_SCAN_FWD = v4 | sliced | sliced4 | lanes | auto and MAMBASEQ_SCAN_BWD =
// v4 | wide | narrow | auto, each optionally with :SEGMENTS (read at every call, so tests and benchmarks
// can compare them in one process); auto is the default and picks per shape (docs/cuda-scan.md). sliced4:
// the sliced main pass with 4 lanes of 4 states per channel for real N = 16 (other keys: sliced).
enum class FwdImpl { v4, sliced, sliced4, lanes, automatic };
FwdImpl fwd_impl(int* segments) {
  static constexpr std::pair<const char*, FwdImpl> kNames[] = {{"v4", FwdImpl::v4},
                                                               {"sliced", FwdImpl::sliced},
                                                               {"sliced4", FwdImpl::sliced4},
                                                               {"lanes", FwdImpl::lanes},
                                                               {"auto", FwdImpl::automatic}};
  const FwdImpl impl = read_impl("MAMBASEQ_SCAN_FWD", kNames, segments);
  MS_CHECK(impl != FwdImpl::lanes || *segments == 0, "MAMBASEQ_SCAN_FWD=lanes:", *segments,
           ": the lanes kernel does not split L");
  return impl;
}

// MAMBASEQ_SCAN_BWD = v4 | wide | narrow | auto[:SEGMENTS]: v4's kernels, or the sliced ones with 8 (wide)
// or 4 (narrow) floats of state per lane.
enum class BwdImpl { v4, wide, narrow, automatic };
BwdImpl bwd_impl(int* segments) {
  static constexpr std::pair<const char*, BwdImpl> kNames[] = {
      {"v4", BwdImpl::v4}, {"wide", BwdImpl::wide}, {"narrow", BwdImpl::narrow}, {"auto", BwdImpl::automatic}};
  return read_impl("MAMBASEQ_SCAN_BWD", kNames, segments);
}

// Forces `segments` main segments of whole chunks (at most one per chunk); 0 leaves p as it is.
void force_segments(Params& p, int segments) {
  if (segments > 0) cut_into_segments(p, segments);
}

// Cuts L into segments for the sliced kernels (same rule as split_length, in blocks of 64 channels).
void split_length_blocks(Params& p, int blocks_per_sm) {
  split_length(p, blocks_per_sm * scan::kThreads);
}

// The v5 forward. Auto: the sliced kernel, split over L (local pass, combine, main pass) when its unsplit
// grid has fewer than 1.5 blocks per SM, unsplit otherwise; a split has at least a wave of blocks and
// main segments of at most 2048 steps. The split doubles the exps; an SM holding one
// unsplit block does ~0.7x the steps per second of one holding two (H100, anchor D = 1024, bf16: unsplit
// 11.0 vs split 11.6 ms at L = 2^16, B = 16, 256 blocks; 15.5 vs 13.3 at 2^17, B = 8, 128 blocks;
// docs/cuda-scan-notes.md, v8). The lanes-over-time kernel and the 4-lane main pass (sliced4) run only
// when asked for (MAMBASEQ_SCAN_FWD=lanes|sliced4): lanes computes each decay once but measured 1.3-2.5x
// slower than the split sliced scan (v5 run 2); sliced4 fills a wave unsplit at L = 2^16, B = 16 but is
// no faster there than the 2-lane kernel unsplit (f32 12.43 vs 12.30 ms, v8) and slower elsewhere (v6).
// With a split, the local pass runs on per_main finer segments per main segment (split_for_local_pass).
constexpr int kMaxSegChunks = 64;  // 2048 steps
struct FwdPlan {
  FwdImpl impl;
  int per_main = 1;
};
FwdPlan plan_forward(FwdImpl want, int forced_segments, const scan::KernelKey& key, Params& p) {
  p.n_seg = 1;
  p.seg_chunks = p.n_chunks;
  if (want == FwdImpl::v4) {
    split_length(p, scan::forward_threads_per_sm(key));
    force_segments(p, forced_segments);
    return {FwdImpl::v4};
  }
  if (want == FwdImpl::lanes) return {FwdImpl::lanes};
  const int64_t per_seg = scan::blocks_per_segment(p);
  const FwdImpl impl = want == FwdImpl::sliced4 ? FwdImpl::sliced4 : FwdImpl::sliced;
  if (2 * per_seg < 3 * (int64_t)sm_count()) {
    split_length_blocks(p, scan::forward_sliced_blocks_per_sm(key, impl == FwdImpl::sliced4));
    // Main segments of at most kMaxSegChunks chunks: many waves of short segments beat one wave of long
    // ones (H100, f32 / bf16: 2^18 16.8 -> 16.0 / 14.5 -> 13.6 ms, 2^20 19.6 -> 18.5 / 14.6 -> 14.0; v8c).
    if (p.n_seg > 1 && p.seg_chunks > kMaxSegChunks) set_segment_chunks(p, kMaxSegChunks);
  }
  force_segments(p, forced_segments);
  FwdPlan plan{impl};
  if (p.n_seg > 1)  // the local pass runs the default lanes per channel
    plan.per_main = split_for_local_pass(p, scan::forward_sliced_blocks_per_sm(key, false));
  return plan;
}

// The backward's local pass runs on segments of at most 64 chunks (2048 steps): many waves of short
// segments instead of one partial wave of long ones (73% of the resident blocks at the anchor's L = 2^18,
// 91% at 2^20): H100, bwd f32 2^18 / 2^20 46.2 / 51.5 -> 45.5 / 50.2 ms, bf16 41.8 / 43.5 -> 41.1 / 42.6
// (docs/cuda-scan-notes.md, v10c).
constexpr int kMaxLocalChunks = 64;

// Auto for the backward: the wide sliced kernels. v4's kernels were 1-2% faster for bf16 where their
// grid has at least 16 blocks of 64 channels per SM (L <= 2^12 at the anchor shapes, v8) until the wide
// kernel's level 1 moved to whole-chunk runs; since then wide is 6-8% faster there too (bf16 2^10 / 2^12
// 34.9 / 35.2 vs 37.2 / 38.3 ms, H100, v12). v4 stays selectable (MAMBASEQ_SCAN_BWD=v4).
BwdImpl plan_backward(BwdImpl want) {
  return want == BwdImpl::automatic ? BwdImpl::wide : want;
}

}  // namespace

void selective_scan_forward(const SelectiveScanInputs& in, const Tensor& out, const Tensor& last_state,
                            SelectiveScanSaved* saved) {
  const char* op = "selective_scan_forward";
  const ScanDims dm = check_selective_scan(op, in);
  MS_CHECK(in.u.is_cuda(), op, ": inputs must be on CUDA, got ", in.u.describe());
  MS_CHECK(in.u.dtype() == DType::f32 || in.u.dtype() == DType::bf16, op,
           ": the CUDA scan takes f32 or bf16 inputs, got ", in.u.describe());
  check_max_state(op, dm.state);
  check_shape(op, "out", out, {dm.batch, dm.dim, dm.len});
  check_dtype(op, "out", out, in.u.dtype());
  check_inner_contiguous(op, "out", out);
  check_same_device(op, {&in.u, &out, &last_state});
  const Shape st = dm.complex ? Shape{dm.batch, dm.dim, dm.state, 2} : Shape{dm.batch, dm.dim, dm.state};
  if (last_state.defined()) {
    check_shape(op, "last_state", last_state, st);
    check_dtype(op, "last_state", last_state, DType::f32);
  }
  const int64_t cw = dm.complex ? 2 : 1;
  Params p = make_params(in, dm);
  p.out = out.raw();
  p.o_sb = out.stride(0);
  p.o_sd = out.stride(1);
  p.row_align = std::min(p.row_align, row_align(out));
  if (saved) {
    saved->chunk_len = kChunk;
    saved->chunk_states = new_chunk_states(dm, p.n_chunks);
    p.chunk_states = saved->chunk_states.data<float>();
  }
  if (dm.batch * dm.dim * dm.len == 0) return;
  Tensor h0 = in.initial_state.defined() ? in.initial_state.contiguous() : Tensor();
  if (h0.defined()) p.h0 = h0.data<float>();
  const bool last_direct = last_state.defined() && last_state.is_contiguous();
  Tensor last = last_direct ? last_state : (last_state.defined() ? Tensor::empty(st, DType::f32, Device::cuda) : Tensor());
  if (last.defined()) p.last = last.data<float>();

  const scan::KernelKey key = key_of(dm, in.u.dtype());
  int forced_segments = 0;
  const FwdImpl want = fwd_impl(&forced_segments);
  const FwdPlan plan = plan_forward(want, forced_segments, key, p);
  const FwdImpl impl = plan.impl;
  // local segments: per_main per main segment (sliced), the main segments themselves (v4)
  const int fine_chunks = p.seg_chunks / plan.per_main;
  const int fine = p.n_seg > 1 ? (p.n_chunks + fine_chunks - 1) / fine_chunks : 1;
  Tensor seg_local, seg_dsum, seg_start;
  if (p.n_seg > 1) {
    const int64_t S = key.nt * cw;
    seg_local = Tensor::empty({dm.batch, dm.dim, fine, S}, DType::f32, Device::cuda);
    seg_start = Tensor::empty({dm.batch, dm.dim, p.n_seg, S}, DType::f32, Device::cuda);
    seg_dsum = Tensor::empty({dm.batch, dm.dim, fine}, DType::f32, Device::cuda);
    p.seg_local = seg_local.data<float>();
    p.seg_start = seg_start.data<float>();
    p.seg_dsum = seg_dsum.data<float>();
    if (key.nt != dm.state) seg_start.zero_();  // the combine writes real states only; padding stays zero
  }
  if (impl == FwdImpl::v4) {
    scan::forward_local(key, p);
    scan::forward_combine(key, p);
    scan::forward_main(key, p);
  } else if (impl == FwdImpl::sliced || impl == FwdImpl::sliced4) {
    if (p.n_seg > 1) {
      Params lp = p;
      lp.n_seg = fine;
      lp.seg_chunks = fine_chunks;
      scan::forward_sliced_local(key, lp, (p.n_seg - 1) * plan.per_main);  // all but the last main segment
      scan::forward_sliced_combine(key, p, fine, plan.per_main);
    }
    scan::forward_sliced_main(key, p, impl == FwdImpl::sliced4);
  } else {
    scan::forward_lanes(key, p);
  }
  if (last.defined() && !last_direct) last_state.copy_(last);
}

void selective_scan_backward(const SelectiveScanInputs& in, const SelectiveScanSaved& saved, const Tensor& dout,
                             const SelectiveScanGrads& g) {
  const char* op = "selective_scan_backward";
  const ScanDims dm = check_selective_scan(op, in);
  MS_CHECK(in.u.is_cuda(), op, ": inputs must be on CUDA, got ", in.u.describe());
  MS_CHECK(in.u.dtype() == DType::f32 || in.u.dtype() == DType::bf16, op,
           ": the CUDA scan takes f32 or bf16 inputs, got ", in.u.describe());
  check_max_state(op, dm.state);
  const Shape bdl{dm.batch, dm.dim, dm.len};
  check_shape(op, "dout", dout, bdl);
  check_shape(op, "du", g.du, bdl);
  check_shape(op, "ddelta", g.ddelta, bdl);
  check_shape(op, "dA", g.dA, in.A.shape());
  check_shape(op, "dB", g.dB, in.B.shape());
  check_shape(op, "dC", g.dC, in.C.shape());
  if (in.z.defined()) check_shape(op, "dz", g.dz, bdl);
  if (g.dD.defined()) check_shape(op, "dD", g.dD, {dm.dim});
  if (g.ddelta_bias.defined()) check_shape(op, "ddelta_bias", g.ddelta_bias, {dm.dim});
  for (const Tensor* t : {&dout, &g.du, &g.ddelta, &g.dB, &g.dC, &g.dz}) {
    if (!t->defined()) continue;
    check_dtype(op, "dout/du/ddelta/dB/dC/dz", *t, in.u.dtype());
    check_inner_contiguous(op, "dout/du/ddelta/dB/dC/dz", *t);
  }
  for (const Tensor* t : {&g.dA, &g.dD, &g.ddelta_bias})
    if (t->defined()) check_dtype(op, "dA/dD/ddelta_bias", *t, DType::f32);
  check_same_device(op, {&in.u, &dout, &g.du, &g.ddelta, &g.dA, &g.dB, &g.dC, &g.dz, &g.dD, &g.ddelta_bias,
                         &saved.chunk_states});
  const int64_t cw = dm.complex ? 2 : 1;
  const int64_t n_chunks = (dm.len + kChunk - 1) / kChunk;
  const Shape cs_shape = dm.complex ? Shape{dm.batch, dm.dim, n_chunks, dm.state, 2}
                                    : Shape{dm.batch, dm.dim, n_chunks, dm.state};
  MS_CHECK(saved.chunk_len == kChunk && saved.chunk_states.defined() && saved.chunk_states.shape() == cs_shape &&
               saved.chunk_states.dtype() == DType::f32,
           op, ": saved chunk states do not come from the CUDA forward of this input (expected f32 ",
           shape_str(cs_shape), " with chunk_len ", kChunk, "); run selective_scan_forward with `saved` first");
  if (dm.batch * dm.dim * dm.len == 0) {
    return;
  }
  Params p = make_params(in, dm);
  // States saved by this forward are used in place; the same values in another layout (a copy made
  // contiguous, say) are rearranged first.
  Tensor cs = saved.chunk_states;
  if (!has_chunk_state_layout(cs, dm, n_chunks)) {
    cs = new_chunk_states(dm, n_chunks);
    cs.copy_(saved.chunk_states);
  }
  p.chunk_states = cs.data<float>();
  p.dout = dout.raw();
  p.o_sb = dout.stride(0);
  p.o_sd = dout.stride(1);
  p.du = g.du.raw();
  p.du_sb = g.du.stride(0);
  p.du_sd = g.du.stride(1);
  p.ddelta = g.ddelta.raw();
  p.dd_sb = g.ddelta.stride(0);
  p.dd_sd = g.ddelta.stride(1);
  if (in.z.defined()) {
    p.dz = g.dz.raw();
    p.dz_sb = g.dz.stride(0);
    p.dz_sd = g.dz.stride(1);
  }
  p.row_align = std::min({p.row_align, row_align(dout), row_align(g.du), row_align(g.ddelta), row_align(g.dz)});
  p.dA = g.dA.data<float>();
  p.dA_sd = g.dA.stride(0);
  p.dA_sn = g.dA.stride(1);
  p.dA_sc = dm.complex ? g.dA.stride(2) : 0;
  if (g.dD.defined()) {
    p.dD = g.dD.data<float>();
    p.dD_s = g.dD.stride(0);
  }
  if (g.ddelta_bias.defined()) {
    p.dbias = g.ddelta_bias.data<float>();
    p.dbias_s = g.ddelta_bias.stride(0);
  }

  const scan::KernelKey key = key_of(dm, in.u.dtype());
  const int64_t S = key.nt * cw;
  Tensor dbc = Tensor::zeros({dm.batch, dm.groups, 2 * S, (int64_t)p.n_chunks * kChunk}, DType::f32, Device::cuda);
  p.dbc = dbc.data<float>();
  int forced_segments = 0;
  const BwdImpl impl = plan_backward(bwd_impl(&forced_segments));
  const bool narrow = impl == BwdImpl::narrow;
  // The sliced local pass runs on `per_main` finer segments per main segment, as many as fill one wave
  // of its own resident blocks (it has more per SM than the main kernel).
  int per_main = 1;
  if (impl == BwdImpl::v4) {
    split_length(p, scan::backward_threads_per_sm(key));
    force_segments(p, forced_segments);
  } else {
    split_length_blocks(p, scan::backward_sliced_blocks_per_sm(key, narrow));
    force_segments(p, forced_segments);
    if (p.n_seg > 1)
      per_main = split_for_local_pass(p, scan::backward_sliced_local_blocks_per_sm(key, narrow), kMaxLocalChunks);
  }
  const int fine = p.n_seg > 1 ? (p.n_chunks + p.seg_chunks / per_main - 1) / (p.seg_chunks / per_main) : 1;
  Tensor seg_local, seg_dsum, seg_start;
  if (p.n_seg > 1) {
    seg_local = Tensor::empty({dm.batch, dm.dim, fine, S}, DType::f32, Device::cuda);
    seg_start = Tensor::empty({dm.batch, dm.dim, p.n_seg, S}, DType::f32, Device::cuda);
    seg_dsum = Tensor::empty({dm.batch, dm.dim, fine}, DType::f32, Device::cuda);
    p.seg_local = seg_local.data<float>();
    p.seg_start = seg_start.data<float>();
    p.seg_dsum = seg_dsum.data<float>();
    if (key.nt != dm.state) seg_start.zero_();  // padded states of the carried adjoint stay zero
  }
  if (impl == BwdImpl::v4) {
    scan::backward_local(key, p);
    scan::backward_combine(key, p);
    scan::backward_main(key, p);
  } else {
    if (p.n_seg > 1) {
      Params lp = p;
      lp.n_seg = fine;
      lp.seg_chunks = p.seg_chunks / per_main;
      lp.local_first = per_main;  // the first main segment needs no local pass
      scan::backward_sliced_local(key, narrow, lp);
      scan::backward_sliced_combine(key, p, fine, per_main);
    }
    scan::backward_sliced_main(key, narrow, p);
  }
  scan::backward_write_dbc(key, p, g.dB, g.dC);
}

}  // namespace ms::cuda
