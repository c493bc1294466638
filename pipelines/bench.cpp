#include "pipelines/bench.h"

#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "io/dna_bench.h"
#include "kernels/memory.h"
#include "kernels/random.h"
#include "kernels/selective_scan.h"
#include "pipelines/bench_scan.h"

namespace ms {

void bind(cfg::Binder& b, ScanBenchSection& c) {
  b.field("lengths", c.lengths, cfg::ge(1), "sequence lengths L (B = tokens / L); empty: the defaults");
  b.field("dtypes", c.dtypes, cfg::one_of({"f32", "bf16"}), "activation dtypes (CUDA)");
  b.field("tokens", c.tokens, cfg::ge(1), "B * L");
  b.field("dim", c.dim, cfg::ge(1), "channels D (CUDA)");
  b.field("state", c.state, cfg::range(1, 16), "state size N");
  b.field("backward", c.backward, "time the backward too");
  b.field("complex_row", c.complex_row, "add the complex-A row (CUDA)");
  b.field("iters", c.iters, cfg::ge(1));
  b.field("warmup", c.warmup, cfg::ge(0));
  b.field("impls", c.impls, "CUDA kernel variants \"FWD/BWD\" to time side by side, e.g. [\"auto/auto\", \"sliced:1/wide:1\"]");
  b.field("cpu_dim", c.cpu_dim, cfg::ge(1), "channels D on the CPU");
}

void bind(cfg::Binder& b, IoBenchSection& c) {
  b.field("fasta", c.fasta, "genome streamed into windows (prepare with scripts/prepare-genomes.sh)");
  b.field("window", c.window, cfg::ge(1));
  b.field("batch", c.batch, cfg::ge(1));
  b.field("min_seconds", c.min_seconds, cfg::gt(0));
}

void bind(cfg::Binder& b, BenchConfig& c) {
  b.field("device", c.device, cfg::one_of({"auto", "cpu", "cuda"}));
  b.field("threads", c.threads, cfg::ge(0), "CPU threads (0: all cores)");
  b.section("scan", c.scan);
  b.section("io", c.io);
  b.section("model", c.model);
  b.section("generate", c.generate);
  b.section("parity", c.parity);
}

namespace {

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

// The CPU reference scan at B = 1 (issue 2: D = 256, L = 2^20, N = 16 in bounded memory).
std::string bench_scan_cpu(const ScanBenchSection& s) {
  const std::vector<int64_t> lengths = s.lengths.empty() ? std::vector<int64_t>{int64_t(1) << 20} : s.lengths;
  std::string table;
  char line[256];
  std::snprintf(line, sizeof line, "CPU selective scan, f32, B = 1, D = %lld, N = %lld, %d threads\n",
                static_cast<long long>(s.cpu_dim), static_cast<long long>(s.state), omp_get_max_threads());
  table += line;
  std::snprintf(line, sizeof line, "%10s %10s %12s %14s %14s\n", "L", "fwd s", "M states/s", "input MiB",
                "peak RSS MiB");
  table += line;
  for (int64_t L : lengths) {
    const int64_t D = s.cpu_dim, N = s.state;
    Rng rng(42);
    auto filled = [&](const Shape& shape, double lo, double hi) {
      Tensor t = Tensor::empty(shape);
      float* p = t.data<float>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.uniform(lo, hi));
      return t;
    };
    SelectiveScanInputs in;
    in.u = filled({1, D, L}, -1, 1);
    in.delta = filled({1, D, L}, -4, 0);
    in.z = filled({1, D, L}, -1, 1);
    in.A = filled({D, N}, -2, -0.1);
    in.B = filled({1, 1, N, L}, -1, 1);
    in.C = filled({1, 1, N, L}, -1, 1);
    in.D = filled({D}, -1, 1);
    in.delta_bias = filled({D}, -1, 0);
    in.delta_softplus = true;
    Tensor out = Tensor::empty({1, D, L});
    const auto t0 = std::chrono::steady_clock::now();
    selective_scan_forward(in, out, Tensor(), nullptr);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double input_mib = (4.0 * D * L + 2.0 * N * L) * 4 / 1048576.0;
    std::snprintf(line, sizeof line, "%10lld %10.2f %12.1f %14.1f %14.1f\n", static_cast<long long>(L), secs,
                  D * L * N / secs / 1e6, input_mib, peak_rss_mib());
    table += line;
  }
  table += "(peak RSS includes the inputs and output; the scan itself keeps O(D * N) state, no (B, D, L, N) buffer)\n";
  return table;
}

std::string bench_scan_any(const BenchConfig& c, bool use_cuda) {
  for (const std::string& impl : c.scan.impls) split_scan_impl(impl);
  if (!use_cuda) {
    MS_CHECK(c.scan.impls.empty(), "bench scan: scan.impls names CUDA kernel variants, but this run is on the CPU (",
             c.device == "cpu" ? "device = \"cpu\"" : "no GPU visible", "); drop --set scan.impls or run on a GPU");
    return bench_scan_cpu(c.scan);
  }
  ScanBenchOptions o;
  if (!c.scan.lengths.empty()) o.lengths = c.scan.lengths;
  o.dtypes.clear();
  for (const std::string& d : c.scan.dtypes) o.dtypes.push_back(d == "bf16" ? DType::bf16 : DType::f32);
  o.tokens = c.scan.tokens;
  o.dim = c.scan.dim;
  o.state = c.scan.state;
  o.backward = c.scan.backward;
  o.complex_row = c.scan.complex_row;
  o.iters = static_cast<int>(c.scan.iters);
  o.warmup = static_cast<int>(c.scan.warmup);
  o.impls = c.scan.impls;
  ScanBenchResult r = bench_scan(o);
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* mem = open_memstream(&buf, &len);
  print_scan_bench(r, mem);
  std::fclose(mem);
  std::string table(buf, len);
  std::free(buf);
  return table;
}

}  // namespace

std::string run_bench(const BenchRequest& req) {
  const BenchConfig c = cfg::load<BenchConfig>("", req.sets);
  if (c.threads > 0) omp_set_num_threads(static_cast<int>(c.threads));
  bool use_cuda = false;
  if (c.device == "cuda") {
    if (!cuda_available()) MS_FAIL("bench: device = \"cuda\" but no CUDA GPU is visible (this build has CUDA: ",
                                   cuda_built() ? "yes" : "no", ")");
    use_cuda = true;
  } else if (c.device == "auto") {
    use_cuda = cuda_available();
  }
  std::string table;
  if (req.what == "scan") {
    table = bench_scan_any(c, use_cuda);
  } else if (req.what == "io") {
    dna::DnaIoBenchOptions o;
    o.window = c.io.window;
    o.batch = c.io.batch;
    o.min_seconds = c.io.min_seconds;
    if (!std::filesystem::exists(c.io.fasta))
      MS_FAIL("bench io: ", c.io.fasta, " does not exist: run scripts/prepare-genomes.sh, or --set io.fasta=PATH");
    table = dna::format_dna_io_bench(dna::bench_dna_io(c.io.fasta, o), o);
  } else if (req.what == "model") {
    table = bench_model(c.model, use_cuda);
  } else if (req.what == "generate") {
    table = bench_generate(c.generate, use_cuda);
  } else if (req.what == "parity") {
    table = bench_parity(c.parity);
  } else {
    MS_FAIL("bench: '", req.what, "' is not a benchmark (scan, model, generate, parity or io)");
  }
  if (!req.out.empty()) {
    std::filesystem::create_directories(req.out);
    std::ofstream(req.out + "/bench_" + req.what + ".txt") << table;
  }
  return table;
}

}  // namespace ms
