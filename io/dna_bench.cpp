#include "io/dna_bench.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <vector>

#include "io/dna_sampler.h"
#include "io/fasta_stream.h"
#include "io/genome.h"
#include "io/prefetch.h"
#include "kernels/check.h"

namespace ms::dna {
namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double thread_cpu() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Repeats `once` (which returns units of work done) until min_seconds of wall time passed (at least
// twice: the first pass warms caches and allocations and is not counted).
template <class F>
Rate rate(double min_seconds, F&& once) {
  once();
  double w0 = now(), c0 = thread_cpu(), units = 0;
  do units += static_cast<double>(once());
  while (now() - w0 < min_seconds);
  Rate r;
  r.per_cpu_s = units / std::max(thread_cpu() - c0, 1e-9);
  r.per_wall_s = units / (now() - w0);
  return r;
}

}  // namespace

DnaIoBenchResult bench_dna_io(const std::string& fasta, const DnaIoBenchOptions& opt) {
  MS_CHECK(opt.window >= 1 && opt.batch >= 1, "bench io: window and batch must be positive");
  DnaIoBenchResult r;
  r.fasta = fasta;
  std::vector<uint8_t> window(static_cast<size_t>(opt.window));
  r.stream = rate(opt.min_seconds, [&] {
    fasta::FastaStream in(fasta);
    r.compression = fasta::compression_name(in.compression());
    int64_t bases = 0, contigs = 0;
    volatile uint8_t sink = 0;
    while (in.next_contig()) {
      ++contigs;
      for (int64_t n; (n = in.read(window.data(), nullptr, opt.window)) > 0;) {
        bases += n;
        sink = sink + window[static_cast<size_t>(n - 1)];
      }
    }
    r.bases = bases;
    r.contigs = contigs;
    r.text_bytes = in.bytes_read();
    return bases;
  });

  Genome g;
  r.load = rate(opt.min_seconds, [&] {
    g = load_genome({fasta});
    return g.total_length();
  });

  WindowOptions wo;
  wo.seed = opt.seed;
  WindowSampler sampler(g, whole_contigs(g), wo);
  uint64_t step = 0;
  TensorPool pool1;
  r.windows = rate(opt.min_seconds, [&] {
    LmBatch b = lm_batch(sampler, step++, opt.batch, opt.window, &pool1);
    return b.tokens.size(0);
  });
  if (opt.prefetch_threads > 0) {
    TensorPool pool;
    Prefetcher<LmBatch> pf([&](uint64_t s) { return lm_batch(sampler, s, opt.batch, opt.window, &pool); }, 0,
                           opt.prefetch_threads, 2 * opt.prefetch_threads);
    r.prefetch_windows_per_s = rate(opt.min_seconds, [&] { return pf.next().tokens.size(0); }).per_wall_s;
  }
  return r;
}

std::string format_dna_io_bench(const DnaIoBenchResult& r, const DnaIoBenchOptions& opt) {
  char buf[2048];
  const double mb_per_base = static_cast<double>(r.text_bytes) / static_cast<double>(std::max<int64_t>(r.bases, 1)) / 1e6;
  const std::string sampler = "sampler: " + std::to_string(opt.batch) + " x (L+1) i32, L = " + std::to_string(opt.window);
  std::snprintf(buf, sizeof buf,
                "bench io: %s (%s, %lld contigs, %.2f M bases)\n"
                "  %-40s %14s %14s  %s\n"
                "  %-40s %14.1f %14.1f  M bases/s (%.0f MB/s of FASTA text per core)\n"
                "  %-40s %14.1f %14.1f  M bases/s\n"
                "  %-40s %14.1f %14.1f  windows/s (%.0f M tokens/s per core)\n"
                "  %-40s %14s %14.1f  windows/s (%d threads)\n",
                r.fasta.c_str(), r.compression.c_str(), static_cast<long long>(r.contigs), r.bases / 1e6, "measure",
                "per CPU second", "per wall second", "unit",
                "stream into u8 token windows of L", r.stream.per_cpu_s / 1e6, r.stream.per_wall_s / 1e6,
                r.stream.per_cpu_s * mb_per_base, "load genome into memory", r.load.per_cpu_s / 1e6,
                r.load.per_wall_s / 1e6, sampler.c_str(), r.windows.per_cpu_s, r.windows.per_wall_s,
                r.windows.per_cpu_s * static_cast<double>(opt.window + 1) / 1e6, "sampler through the prefetcher", "-",
                r.prefetch_windows_per_s, opt.prefetch_threads);
  return buf;
}

}  // namespace ms::dna
