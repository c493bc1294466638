// Loader throughput (what `mambaseq bench io` reports): streaming a (bgzipped) genome into token windows
// on one core, loading it into memory, and the sampler's windows per second at long window lengths.
#pragma once
#include <cstdint>
#include <string>

namespace ms::dna {

struct DnaIoBenchOptions {
  int64_t window = int64_t(1) << 20;  // L (tokens per window)
  int64_t batch = 1;                  // windows per sampler batch
  double min_seconds = 1.0;           // each measurement repeats until it has run this long
  int prefetch_threads = 2;           // for the prefetched sampler figure (0 skips it)
  uint64_t seed = 0;
};

// Rates per second of the measuring thread's CPU time (what one core does, even on a busy machine)
// and per second of wall-clock time (what this run saw).
struct Rate {
  double per_cpu_s = 0, per_wall_s = 0;
};

struct DnaIoBenchResult {
  std::string fasta, compression;
  int64_t bases = 0, contigs = 0, text_bytes = 0;
  Rate stream;   // bases/s streaming into u8 token windows of L (decompress + tokenize + validate), one thread
  Rate load;     // bases/s of load_genome (one token array per contig), one thread
  Rate windows;  // windows/s of lm_batch (batch, L+1) i32 from the in-memory genome, one thread
  double prefetch_windows_per_s = 0;  // wall-clock windows/s through Prefetcher with prefetch_threads workers
};

DnaIoBenchResult bench_dna_io(const std::string& fasta, const DnaIoBenchOptions& opt = {});
std::string format_dna_io_bench(const DnaIoBenchResult& r, const DnaIoBenchOptions& opt);  // a table

}  // namespace ms::dna
