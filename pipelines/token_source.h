// The data side of next-token pretraining, as a small pluggable struct: what the pretraining pipeline and
// the held-out evaluation need from a data set, and nothing about where the tokens come from. DNA fills it
// from a genome (pipelines/dna_token_source.h); audio can fill it from waveforms without touching the
// pipeline (docs/dna-pipelines.md, "Plugging in other data and models").
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "kernels/tensor.h"
#include "pipelines/synthetic_data.h"  // TokenBatch: inputs, targets (B, L) i32; kIgnoreIndex targets unscored

namespace ms {

struct EvalSpec {
  int64_t length = 0;       // window length
  int64_t batch = 1;        // windows per batch
  int64_t max_windows = 0;  // > 0: only this many windows, spread evenly over the held-out data
};

struct TokenSource {
  std::string name;       // "dna", "audio", ... (logs)
  std::string unit;       // what one target is: "base", "sample" (bits per <unit>)
  int64_t vocab = 0;      // the model's vocabulary must be at least this
  std::string describe;   // one line: files, splits (printed and written to the run folder)

  // Training batch of `step`: a pure function of (step, B, L), so a resumed run sees the same data.
  // Called from prefetch threads: it must be thread-safe.
  std::function<TokenBatch(int64_t step, int64_t batch, int64_t length)> train_batch;

  // Held-out evaluation: a fixed list of windows (the same in every run), in eval_batches(spec) batches;
  // together they score each held-out target once (or an evenly spread subset, spec.max_windows).
  std::function<int64_t(const EvalSpec& spec)> eval_batches;
  std::function<TokenBatch(int64_t index, const EvalSpec& spec)> eval_batch;
};

}  // namespace ms
