#include "pipelines/bench_scan.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "kernels/check.h"
#include "kernels/memory.h"
#include "kernels/random.h"
#include "kernels/selective_scan.h"

#if MAMBASEQ_WITH_CUDA
#include <cuda_runtime.h>
namespace ms::cuda {
cudaStream_t stream();  // kernels/cuda/cuda_common.cuh (a CUDA header)
}
#endif

namespace ms {

std::pair<std::string, std::string> split_scan_impl(const std::string& impl) {
  const size_t slash = impl.find('/');
  MS_CHECK(slash != std::string::npos && slash == impl.rfind('/') && slash > 0 && slash + 1 < impl.size(),
           "bench scan: scan.impls entry \"", impl, "\" is not FWD/BWD (e.g. \"sliced:1/wide:1\")");
  return {impl.substr(0, slash), impl.substr(slash + 1)};
}

#if MAMBASEQ_WITH_CUDA
namespace {

#define BENCH_CUDA(expr)                                                                              \
  do {                                                                                                \
    cudaError_t e_ = (expr);                                                                          \
    MS_CHECK(e_ == cudaSuccess, "bench scan: ", #expr, " failed: ", cudaGetErrorString(e_));          \
  } while (0)

// The official kernel on one H100 (../shared/anchors/h100_selective_scan.md): {L, fwd ms, bwd ms}.
struct Anchor {
  int64_t len;
  double fwd, bwd;
};
const Anchor kAnchorF32[] = {{1 << 10, 57.6, 175.0}, {1 << 12, 46.8, 177.8}, {1 << 14, 40.2, 101.5},
                             {1 << 16, 39.8, 95.5},  {1 << 18, 41.7, 94.0},  {1 << 20, 48.4, 105.3}};
const Anchor kAnchorBf16[] = {{1 << 10, 32.3, 153.0}, {1 << 12, 26.1, 155.5}, {1 << 14, 23.1, 87.8},
                              {1 << 16, 23.1, 86.8},  {1 << 18, 23.4, 85.1},  {1 << 20, 24.0, 92.4}};
constexpr double kAnchorComplexFwd = 89.0;  // f32, L = 65536, B = 16

void anchor_for(ScanBenchRow& row, DType dt, int64_t dim, int64_t state, int64_t tokens) {
  if (dim != 1024 || state != 16 || tokens != (int64_t(1) << 20)) return;
  if (row.complex) {
    if (dt == DType::f32 && row.len == 65536) row.fwd_anchor_ms = kAnchorComplexFwd;
    return;
  }
  const auto* table = dt == DType::f32 ? kAnchorF32 : kAnchorBf16;
  for (int i = 0; i < 6; ++i)
    if (table[i].len == row.len) {
      row.fwd_anchor_ms = table[i].fwd;
      row.bwd_anchor_ms = table[i].bwd;
    }
}

// Fills a CUDA tensor with a random pattern of 2^22 values (uniform in [lo, hi)) repeated: random data
// without a device RNG, cheap to make for multi-GB tensors.
void fill_pattern(const Tensor& t, Rng& rng, double lo, double hi) {
  const int64_t n = t.numel(), period = std::min<int64_t>(n, int64_t(1) << 22);
  Tensor h = Tensor::empty({period}, DType::f64);
  double* p = h.data<double>();
  for (int64_t i = 0; i < period; ++i) p[i] = rng.uniform(lo, hi);
  Tensor chunk = h.to(t.dtype()).to(Device::cuda);
  Tensor flat = t.view({n});
  for (int64_t i = 0; i < n; i += period) {
    const int64_t m = std::min(period, n - i);
    flat.slice(0, i, i + m).copy_(m == period ? chunk : chunk.slice(0, 0, m));
  }
}

struct Events {
  cudaEvent_t a, b;
  Events() {
    BENCH_CUDA(cudaEventCreate(&a));
    BENCH_CUDA(cudaEventCreate(&b));
  }
  ~Events() {
    cudaEventDestroy(a);
    cudaEventDestroy(b);
  }
};

// Median over `iters` timed calls after `warmup` untimed ones; `fn(i)` runs call i.
template <class F>
double median_ms(int warmup, int iters, F&& fn) {
  Events ev;
  for (int i = 0; i < warmup; ++i) fn(i);
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    BENCH_CUDA(cudaEventRecord(ev.a, cuda::stream()));
    fn(warmup + i);
    BENCH_CUDA(cudaEventRecord(ev.b, cuda::stream()));
    BENCH_CUDA(cudaEventSynchronize(ev.b));
    float t = 0;
    BENCH_CUDA(cudaEventElapsedTime(&t, ev.a, ev.b));
    ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  return ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
}

double copy_bandwidth_gbps(int warmup, int iters) {
  const int64_t n = int64_t(1) << 28;  // 1 GiB of f32 each way
  Tensor src = Tensor::empty({n}, DType::f32, Device::cuda), dst = Tensor::empty({n}, DType::f32, Device::cuda);
  src.fill_(1.0);
  const double ms = median_ms(warmup, iters, [&](int) { dst.copy_(src); });
  return 2.0 * n * 4 / (ms * 1e-3) / 1e9;
}

// One set of inputs and outputs for a shape.
struct ScanSet {
  SelectiveScanInputs in;
  Tensor out, dout;
  SelectiveScanGrads g;
  SelectiveScanSaved saved;
};

ScanSet make_set(int64_t B, int64_t D, int64_t L, int64_t N, bool cplx, DType dt, Rng& rng) {
  ScanSet s;
  const Shape bdl{B, D, L};
  const Shape bc = cplx ? Shape{B, 1, N, 2, L} : Shape{B, 1, N, L};
  auto act = [&](const Shape& shape, double lo, double hi) {
    Tensor t = Tensor::empty(shape, dt, Device::cuda);
    fill_pattern(t, rng, lo, hi);
    return t;
  };
  s.in.u = act(bdl, -2, 2);
  s.in.delta = act(bdl, -4, -1);  // softplus -> 0.018 .. 0.31
  s.in.z = act(bdl, -2, 2);
  s.in.B = act(bc, -1, 1);
  s.in.C = act(bc, -1, 1);
  Tensor A = Tensor::empty(cplx ? Shape{D, N, 2} : Shape{D, N});
  for (int64_t d = 0; d < D; ++d)
    for (int64_t n = 0; n < N; ++n) {
      if (cplx) {  // S4D-Lin
        A.set_item((d * N + n) * 2, -0.5);
        A.set_item((d * N + n) * 2 + 1, M_PI * n);
      } else {  // S4D-Real
        A.set_item(d * N + n, -(double)(n + 1));
      }
    }
  s.in.A = A.to(Device::cuda);
  s.in.D = Tensor::full({D}, 1.0, DType::f32, Device::cuda);
  Tensor bias = Tensor::empty({D});
  for (int64_t d = 0; d < D; ++d) {
    const double t = std::exp(std::log(1e-3) + rng.uniform() * (std::log(1e-1) - std::log(1e-3)));
    bias.set_item(d, t + std::log(-std::expm1(-t)));  // inverse softplus
  }
  s.in.delta_bias = bias.to(Device::cuda);
  s.in.delta_softplus = true;
  s.out = Tensor::empty(bdl, dt, Device::cuda);
  s.dout = act(bdl, -1, 1);
  s.g.du = Tensor::empty(bdl, dt, Device::cuda);
  s.g.ddelta = Tensor::empty(bdl, dt, Device::cuda);
  s.g.dz = Tensor::empty(bdl, dt, Device::cuda);
  s.g.dB = Tensor::empty(bc, dt, Device::cuda);
  s.g.dC = Tensor::empty(bc, dt, Device::cuda);
  s.g.dA = Tensor::zeros(s.in.A.shape(), DType::f32, Device::cuda);
  s.g.dD = Tensor::zeros({D}, DType::f32, Device::cuda);
  s.g.ddelta_bias = Tensor::zeros({D}, DType::f32, Device::cuda);
  return s;
}

// Sets MAMBASEQ_SCAN_FWD / MAMBASEQ_SCAN_BWD from "FWD/BWD" while alive; restores the defaults after.
struct ImplScope {
  explicit ImplScope(const std::string& impl) {
    if (impl.empty()) return;
    const auto [fwd, bwd] = split_scan_impl(impl);
    setenv("MAMBASEQ_SCAN_FWD", fwd.c_str(), 1);
    setenv("MAMBASEQ_SCAN_BWD", bwd.c_str(), 1);
    set = true;
  }
  ~ImplScope() {
    if (!set) return;
    unsetenv("MAMBASEQ_SCAN_FWD");
    unsetenv("MAMBASEQ_SCAN_BWD");
  }
  bool set = false;
};

// Times every kernel variant of opt.impls (or the defaults) on one set of inputs.
std::vector<ScanBenchRow> run_shape(const ScanBenchOptions& opt, DType dt, int64_t L, bool cplx, double copy_gbps,
                                    Rng& rng, int64_t l2_bytes) {
  ScanBenchRow row;
  row.dtype = dtype_name(dt);
  row.complex = cplx;
  row.len = L;
  row.batch = std::max<int64_t>(1, opt.tokens / L);
  const int64_t B = row.batch, D = opt.dim, N = opt.state, cw = cplx ? 2 : 1;
  const double es = (double)dtype_size(dt), bdl = (double)B * D * L, bcl = (double)B * N * cw * L;
  row.fwd_bytes = es * (4 * bdl + 2 * bcl);  // read u, delta, z, B, C; write out
  row.bwd_bytes = es * (7 * bdl + 4 * bcl);  // read u, delta, z, dout, B, C; write du, ddelta, dz, dB, dC
  row.fwd_floor_ms = row.fwd_bytes / (copy_gbps * 1e9) * 1e3;
  row.bwd_floor_ms = row.bwd_bytes / (copy_gbps * 1e9) * 1e3;
  anchor_for(row, dt, D, N, opt.tokens);
  // Enough input sets that their total is 4x the L2 cache (one set at the anchor's sizes).
  row.rotation = (int)std::min<int64_t>(8, std::max<int64_t>(1, 4 * l2_bytes / (int64_t)row.bwd_bytes + 1));
  if (row.bwd_bytes > 4.0 * l2_bytes) row.rotation = 1;
  std::vector<ScanSet> sets;
  for (int i = 0; i < row.rotation; ++i) sets.push_back(make_set(B, D, L, N, cplx, dt, rng));
  const bool bwd = opt.backward;
  std::vector<ScanBenchRow> rows;
  const std::vector<std::string> impls = opt.impls.empty() ? std::vector<std::string>{""} : opt.impls;
  for (const std::string& impl : impls) {
    const ImplScope scope(impl);
    ScanBenchRow r = row;
    r.impl = impl;
    r.fwd_ms = median_ms(opt.warmup, opt.iters, [&](int i) {
      ScanSet& s = sets[i % sets.size()];
      selective_scan_forward(s.in, s.out, Tensor(), bwd ? &s.saved : nullptr);
    });
    if (bwd) {
      for (auto& s : sets) selective_scan_forward(s.in, s.out, Tensor(), &s.saved);
      r.bwd_ms = median_ms(opt.warmup, opt.iters, [&](int i) {
        ScanSet& s = sets[i % sets.size()];
        selective_scan_backward(s.in, s.saved, s.dout, s.g);
      });
    }
    cuda_synchronize();
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

ScanBenchResult bench_scan(const ScanBenchOptions& opt) {
  MS_CHECK(cuda_available(), "bench scan: no CUDA GPU is visible (this benchmark times the CUDA kernels)");
  MS_CHECK(opt.tokens > 0 && opt.dim > 0 && opt.state > 0 && opt.iters > 0 && opt.warmup >= 0,
           "bench scan: tokens, dim, state and iters must be positive");
  ScanBenchResult r;
  cudaDeviceProp prop{};
  int dev = 0;
  BENCH_CUDA(cudaGetDevice(&dev));
  BENCH_CUDA(cudaGetDeviceProperties(&prop, dev));
  r.device = prop.name;
  r.copy_gbps = copy_bandwidth_gbps(opt.warmup, opt.iters);
  Rng rng(0x5ca9);
  for (DType dt : opt.dtypes) {
    MS_CHECK(dt == DType::f32 || dt == DType::bf16, "bench scan: dtypes are f32 and bf16, got ", dtype_name(dt));
    for (int64_t L : opt.lengths)
      for (ScanBenchRow& row : run_shape(opt, dt, L, false, r.copy_gbps, rng, prop.l2CacheSize)) r.rows.push_back(row);
  }
  if (opt.complex_row)
    for (ScanBenchRow& row : run_shape(opt, DType::f32, 65536, true, r.copy_gbps, rng, prop.l2CacheSize))
      r.rows.push_back(row);
  return r;
}

#else

ScanBenchResult bench_scan(const ScanBenchOptions&) {
  MS_FAIL("bench scan: this build has no CUDA backend (configure with -DMAMBASEQ_CUDA=ON on a machine with nvcc)");
}

#endif

void print_scan_bench(const ScanBenchResult& r, std::FILE* out) {
  std::fprintf(out, "selective scan on %s; copy bandwidth %.0f GB/s (read + write); floor = bytes that must move / copy bandwidth\n",
               r.device.c_str(), r.copy_gbps);
  bool variants = false;
  for (const ScanBenchRow& w : r.rows) variants = variants || !w.impl.empty();
  if (variants) std::fprintf(out, "%-14s ", "kernels");
  std::fprintf(out, "%-5s %-4s %8s %5s | %8s %7s %6s %7s | %8s %7s %6s %7s\n", "dtype", "A", "L", "B", "fwd ms", "GB/s",
               "floor%", "anchor", "bwd ms", "GB/s", "floor%", "anchor");
  for (const ScanBenchRow& w : r.rows) {
    auto cols = [&](double ms, double bytes, double floor_ms, double anchor) {
      if (ms < 0) {
        std::fprintf(out, " | %8s %7s %6s %7s", "-", "-", "-", "-");
        return;
      }
      char anc[16] = "-";
      if (anchor > 0) std::snprintf(anc, sizeof anc, "%.2fx", anchor / ms);
      std::fprintf(out, " | %8.2f %7.0f %5.1f%% %7s", ms, bytes / (ms * 1e-3) / 1e9, 100.0 * floor_ms / ms, anc);
    };
    if (variants) std::fprintf(out, "%-14s ", w.impl.c_str());
    std::fprintf(out, "%-5s %-4s %8lld %5lld", w.dtype.c_str(), w.complex ? "cplx" : "real", (long long)w.len,
                 (long long)w.batch);
    cols(w.fwd_ms, w.fwd_bytes, w.fwd_floor_ms, w.fwd_anchor_ms);
    cols(w.bwd_ms, w.bwd_bytes, w.bwd_floor_ms, w.bwd_anchor_ms);
    std::fprintf(out, "\n");
  }
  std::fprintf(out, "floor%% = floor ms / measured ms (100%% = at the memory floor); anchor = official kernel ms / ours\n");
}

}  // namespace ms
