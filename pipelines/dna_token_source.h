// DNA as a TokenSource: next-base prediction on a genome's train split (io's WindowSampler + lm_batch),
// held-out evaluation on tiled windows of the valid or test split (each base predicted once).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "io/dna_dataset.h"
#include "pipelines/token_source.h"

namespace ms {

struct DnaSourceOptions {
  uint64_t seed = 0;                 // training windows are a function of (seed, step, index)
  bool reverse_complement = false;   // training augmentation
  dna::ShortIntervals short_intervals = dna::ShortIntervals::pad;
  int64_t max_length = 0;            // longest training window: some training interval must hold it
  dna::Split eval_split = dna::Split::valid;
};

// Targets scored: A C G T only. N (unknown bases), PAD and special tokens become kIgnoreIndex, in
// training and evaluation alike, so "bits per base" is over real bases and comparable with the Markov
// baseline (pipelines/markov.h).
TokenSource dna_token_source(std::shared_ptr<const dna::LmData> data, const DnaSourceOptions& opt);

// The held-out windows the source evaluates at length L (windows of L+1 tokens; targets are the bases
// after each window's first): tile_windows over the split, thinned evenly to max_windows when > 0.
std::vector<dna::Window> dna_eval_windows(const dna::LmData& data, dna::Split split, int64_t length,
                                          int64_t max_windows);

}  // namespace ms
