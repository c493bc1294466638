// Order-k Markov baseline for DNA: P(base | previous k tokens) from counts over the training split with
// additive smoothing (alpha = 1: add-one/Laplace; alpha = 0.5: Krichevsky-Trofimov), scored in bits per
// base on exactly the held-out targets the model is scored on (pipelines/dna_token_source.h).
//
// Bases are A C G T (predicted); contexts are over A C G T N, so an N in the context is a context of its
// own. Near the start of a sequence (fewer than k tokens before a target) the model of the order that fits
// is used, so counts are kept for every order 0..k.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/dna_intervals.h"
#include "io/dna_sampler.h"
#include "io/genome.h"

namespace ms {

struct MarkovModel {
  int order = 2;
  double alpha = 1.0;
  // counts[o][context * 4 + base], context = the previous o tokens in base 5 (oldest first).
  std::vector<std::vector<uint64_t>> counts;
  int64_t trained_bases = 0;  // targets counted (at the full order)
};

// Counts every A C G T position of the intervals (forward strand; both strands when `both_strands`).
// The context of a position never reaches before its interval's start. Orders above 12 are refused
// (5^12 * 4 counters = 2 GB).
MarkovModel fit_markov(const dna::Genome& genome, const std::vector<dna::Interval>& train, int order,
                       double alpha = 1.0, bool both_strands = false);

// -log2 P(base | context) for one target whose context is `ctx` (o tokens, oldest first, o <= order).
double markov_bits(const MarkovModel& m, const uint8_t* ctx, int o, uint8_t base);

struct MarkovScore {
  double bits = 0;        // total
  int64_t targets = 0;    // A C G T targets scored
  double bits_per_base() const { return targets ? bits / static_cast<double>(targets) : 0.0; }
};

// Scores the targets of held-out windows as the model sees them: window w covers [start, end) of its
// contig; every A C G T position in (start, end) is a target, its context the up to k tokens before it
// that lie inside the window (the model sees nothing before the window either).
MarkovScore score_markov(const MarkovModel& m, const dna::Genome& genome, const std::vector<dna::Window>& windows);

}  // namespace ms
