// Windows of a genome for next-token pretraining, drawn deterministically from (seed, step, index):
// no hidden state, so a run's data cursor is just its step (docs/dna-io.md, "Determinism").
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "io/dna_intervals.h"
#include "kernels/tensor.h"

namespace ms {
class TensorPool;
}

namespace ms::dna {

// What to do with an interval shorter than the window.
enum class ShortIntervals {
  pad,   // sample it whole (one start position), PAD after its bases; targets at PAD are to be ignored
  skip,  // never sample it
  error  // fail, naming the interval
};
const char* short_intervals_name(ShortIntervals s);
bool parse_short_intervals(std::string_view text, ShortIntervals& out);  // "pad", "skip", "error"

struct WindowOptions {
  uint64_t seed = 0;
  uint64_t stream = 0;              // keeps independent draws apart (e.g. one per split)
  bool reverse_complement = false;  // augmentation: each window is reverse-complemented with probability 1/2
  ShortIntervals short_intervals = ShortIntervals::pad;
};

// Where a window's bases come from: [start, end) of a contig (end - start <= window length; the rest PAD),
// read on the reverse strand when `reverse`.
struct Window {
  int32_t contig = 0;
  int64_t start = 0, end = 0;
  bool reverse = false;
};

class WindowSampler {
 public:
  // Keeps a reference to `genome`, which must outlive the sampler. Empty intervals are dropped.
  WindowSampler(const Genome& genome, std::vector<Interval> intervals, WindowOptions opt);

  // Window `index` of step `step`, `n` tokens long: every start position of every interval (one per
  // interval shorter than n under ShortIntervals::pad) is equally likely. A pure function of
  // (seed, stream, step, index, n) and the intervals.
  Window draw(uint64_t step, uint64_t index, int64_t n) const;
  // Writes the window's n tokens (bases, reverse-complemented when asked, then PAD).
  void fill(const Window& w, int64_t n, int32_t* out) const;
  void fill(const Window& w, int64_t n, uint8_t* out) const;

  const Genome& genome() const { return genome_; }
  const std::vector<Interval>& intervals() const { return intervals_; }
  const WindowOptions& options() const { return opt_; }
  // Number of distinct windows of n tokens (start positions); 0 when none fits.
  int64_t num_windows(int64_t n) const;

 private:
  struct Table {
    int64_t n = 0;
    std::vector<int64_t> cum;  // cum[i] = start positions in intervals [0, i)
  };
  std::shared_ptr<const Table> table(int64_t n) const;

  const Genome& genome_;
  std::vector<Interval> intervals_;
  WindowOptions opt_;
  mutable std::mutex mu_;
  mutable std::vector<std::shared_ptr<const Table>> tables_;  // one per window length seen (warmup: a few)
};

// A next-token-prediction batch: tokens i32 (B, L+1); inputs = tokens[:, :L], targets = tokens[:, 1:]
// (views sharing the storage, unit stride along L). Targets equal to dna::kPad are to be ignored.
struct LmBatch {
  uint64_t step = 0;
  Tensor tokens;
  std::vector<Window> windows;
  int64_t length() const { return tokens.size(1) - 1; }
  Tensor inputs() const { return tokens.slice(1, 0, length()); }
  Tensor targets() const { return tokens.slice(1, 1, length() + 1); }
};

// Batch `step` of `batch` windows of L+1 tokens (window b is draw(step, b, L + 1)). With a pool, the
// token tensor is a recycled buffer (io/prefetch.h).
LmBatch lm_batch(const WindowSampler& s, uint64_t step, int64_t batch, int64_t length, TensorPool* pool = nullptr);

// Evaluation windows covering the intervals once: windows of L+1 tokens starting every L bases, so each
// base but an interval's first is a target exactly once; the last window of an interval is PAD-filled.
std::vector<Window> tile_windows(const std::vector<Interval>& intervals, int64_t length);
// Tokens (B, L+1) i32 for windows [first, first + B) of a tiling (fewer when the tiling ends).
LmBatch lm_batch_of(const WindowSampler& s, const std::vector<Window>& windows, size_t first, int64_t batch,
                    int64_t length);

}  // namespace ms::dna
