// Held-out evaluation shared by the pipelines: next-token loss over a TokenSource's evaluation windows
// (loss in nats, bits per token, perplexity), and classification scores (accuracy, per-class accuracy,
// confusion matrix) with their files in the run folder.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "pipelines/sequence_model.h"
#include "pipelines/token_source.h"

namespace ms {

struct LmEval {
  int64_t length = 0;     // window length
  int64_t windows = 0;    // sequences evaluated
  int64_t targets = 0;    // tokens scored
  double loss = 0;        // mean cross-entropy (nats per token)
  double accuracy = 0;    // share of targets whose argmax is right
  double seconds = 0;
  double bits() const;        // bits per token: loss / ln 2
  double perplexity() const;  // exp(loss)
};

// Every evaluation batch of `source` for `spec` (window length, windows per forward, subset).
LmEval evaluate_lm(const SequenceModel& model, const TokenSource& source, const EvalSpec& spec);

// ---------------------------------------------------------------- classification

struct Confusion {
  std::vector<std::string> classes;
  std::vector<std::vector<int64_t>> counts;  // [true][predicted]
  double loss_sum = 0;                       // cross-entropy summed over samples (nats)

  Confusion(std::vector<std::string> names = {});  // NOLINT: implicit from a list of names
  void add(int truth, int predicted);
  int64_t total() const;
  int64_t correct() const;
  double accuracy() const;
  double class_accuracy(int c) const;  // recall of class c (NaN-free: 0 when it has no samples)
  double loss() const { return total() ? loss_sum / static_cast<double>(total()) : 0.0; }
};

// A readable table: one row per true class (counts by predicted class, then its accuracy), and the
// overall accuracy below it.
std::string format_confusion(const Confusion& c);
// Writes <dir>/confusion.tsv (header "true\\predicted", one row per true class) and
// <dir>/per_class.tsv (class, samples, correct, accuracy), atomically.
void write_confusion(const std::string& dir, const Confusion& c);

}  // namespace ms
