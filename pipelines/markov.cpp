#include "pipelines/markov.h"

#include <algorithm>
#include <cmath>

#include "io/dna_vocab.h"
#include "kernels/check.h"

namespace ms {

namespace {

constexpr int kCtxAlphabet = 5;  // A C G T N
constexpr int kMaxOrder = 12;

inline uint8_t ctx_token(uint8_t t) { return t < kCtxAlphabet ? t : static_cast<uint8_t>(dna::kN); }

int64_t pow5(int o) {
  int64_t p = 1;
  for (int i = 0; i < o; ++i) p *= kCtxAlphabet;
  return p;
}

// Adds the targets of tokens[0, n) (a whole interval, one strand) to every order's counts.
void count_run(MarkovModel& m, const uint8_t* tok, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t b = tok[i];
    if (b >= dna::kNumBases) continue;
    const int top = static_cast<int>(std::min<int64_t>(m.order, i));
    int64_t ctx = 0;
    // Order o's context is tok[i-o .. i), oldest first; build it from the nearest token outward.
    int64_t scale = 1;
    ++m.counts[0][b];
    for (int o = 1; o <= top; ++o) {
      ctx += ctx_token(tok[i - o]) * scale;
      scale *= kCtxAlphabet;
      ++m.counts[o][static_cast<size_t>(ctx * dna::kNumBases + b)];
    }
    if (top == m.order) ++m.trained_bases;
  }
}

// The context index of order o for ctx[0, o) (oldest first), matching count_run's encoding.
int64_t context_index(const uint8_t* ctx, int o) {
  int64_t idx = 0, scale = 1;
  for (int j = 1; j <= o; ++j) {
    idx += ctx_token(ctx[o - j]) * scale;
    scale *= kCtxAlphabet;
  }
  return idx;
}

}  // namespace

MarkovModel fit_markov(const dna::Genome& genome, const std::vector<dna::Interval>& train, int order, double alpha,
                       bool both_strands) {
  if (order < 0 || order > kMaxOrder) MS_FAIL("Markov order ", order, " is out of range: it must be in [0, ", kMaxOrder, "]");
  if (!(alpha > 0)) MS_FAIL("Markov smoothing alpha must be > 0, got ", alpha);
  MarkovModel m;
  m.order = order;
  m.alpha = alpha;
  m.counts.resize(static_cast<size_t>(order) + 1);
  for (int o = 0; o <= order; ++o) m.counts[o].assign(static_cast<size_t>(pow5(o) * dna::kNumBases), 0);
  std::vector<uint8_t> rc;
  for (const auto& iv : train) {
    if (iv.length() <= 0) continue;
    const uint8_t* tok = genome.contigs.at(static_cast<size_t>(iv.contig)).tokens.data() + iv.start;
    count_run(m, tok, iv.length());
    if (both_strands) {
      rc.resize(static_cast<size_t>(iv.length()));
      dna::reverse_complement(tok, rc.data(), iv.length());
      count_run(m, rc.data(), iv.length());
    }
  }
  return m;
}

double markov_bits(const MarkovModel& m, const uint8_t* ctx, int o, uint8_t base) {
  MS_CHECK(o >= 0 && o <= m.order && base < dna::kNumBases, "markov_bits: order ", o, ", base ", int(base));
  const uint64_t* row = m.counts[o].data() + context_index(ctx, o) * dna::kNumBases;
  const double total = static_cast<double>(row[0] + row[1] + row[2] + row[3]);
  const double p = (static_cast<double>(row[base]) + m.alpha) / (total + dna::kNumBases * m.alpha);
  return -std::log2(p);
}

MarkovScore score_markov(const MarkovModel& m, const dna::Genome& genome, const std::vector<dna::Window>& windows) {
  MarkovScore s;
  for (const auto& w : windows) {
    MS_CHECK(!w.reverse, "score_markov: held-out windows are read on the forward strand");
    const uint8_t* tok = genome.contigs.at(static_cast<size_t>(w.contig)).tokens.data();
    for (int64_t i = w.start + 1; i < w.end; ++i) {
      if (tok[i] >= dna::kNumBases) continue;
      const int o = static_cast<int>(std::min<int64_t>(m.order, i - w.start));
      s.bits += markov_bits(m, tok + i - o, o, tok[i]);
      ++s.targets;
    }
  }
  return s;
}

}  // namespace ms
