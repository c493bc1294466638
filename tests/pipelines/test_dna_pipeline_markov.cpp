// The order-k Markov baseline: exact bits on sequences counted by hand, contexts limited to the window,
// N in contexts, both strands, and agreement with a direct count on random data.
#include <cmath>

#include "io/dna_vocab.h"
#include "pipelines/markov.h"
#include "tests/pipelines/test_dna_pipeline_util.h"

namespace ms {
namespace {

dna::Genome genome_of(const std::vector<std::string>& seqs) {
  dna::Genome g;
  for (size_t i = 0; i < seqs.size(); ++i) {
    dna::Contig c;
    c.name = std::to_string(i);
    c.name.insert(c.name.begin(), 'c');  // not "c" + to_string(i): GCC 12 warns falsely (-Wrestrict) on that
    c.tokens = dna::encode(seqs[i]);
    g.contigs.push_back(std::move(c));
  }
  return g;
}

TEST(Markov, OrderOneAddOneByHand) {
  // Train "ACAC": order-1 counts after A: {C: 2}; after C: {A: 1}.
  // Held out "CAG" (one window, targets A and G):
  //   A after C: (1 + 1) / (1 + 4) = 2/5;  G after A: (0 + 1) / (2 + 4) = 1/6.
  dna::Genome g = genome_of({"ACAC", "CAG"});
  MarkovModel m = fit_markov(g, {{0, 0, 4}}, 1, 1.0);
  MarkovScore s = score_markov(m, g, {{1, 0, 3, false}});
  EXPECT_EQ(s.targets, 2);
  EXPECT_NEAR(s.bits, std::log2(5.0 / 2.0) + std::log2(6.0), 1e-12);
  EXPECT_NEAR(s.bits_per_base(), std::log2(15.0) / 2, 1e-12);
}

TEST(Markov, OrderTwoUsesTheOrderThatFitsInTheWindow) {
  // Order 2 on the same data: the first target of a window has one base of context, so order 1 scores it
  // (2/5 as above); G after "CA": order-2 counts of "ACAC" are {AC: A}, {CA: C}, so (0 + 1) / (1 + 4).
  dna::Genome g = genome_of({"ACAC", "CAG"});
  MarkovModel m = fit_markov(g, {{0, 0, 4}}, 2, 1.0);
  MarkovScore s = score_markov(m, g, {{1, 0, 3, false}});
  EXPECT_NEAR(s.bits, std::log2(5.0 / 2.0) + std::log2(5.0), 1e-12);
  // Two windows that split "CAG" as the model's tiling would ([0,2) and [1,3)): the second window's
  // target G now sees only "A" (order 1: 1/6).
  MarkovScore t = score_markov(m, g, {{1, 0, 2, false}, {1, 1, 3, false}});
  EXPECT_EQ(t.targets, 2);
  EXPECT_NEAR(t.bits, std::log2(5.0 / 2.0) + std::log2(6.0), 1e-12);
}

TEST(Markov, KtSmoothingNContextsAndBothStrands) {
  // alpha = 1/2 (KT), order 1, train "ANAT": the N is no target, so the order-1 counts are
  // {after N: A} and {after A: T}. Held-out "NAT": A after N: (1 + .5) / (1 + 4 * .5) = 1/2, and T after
  // A likewise.
  dna::Genome g = genome_of({"ANAT", "NAT"});
  MarkovModel m = fit_markov(g, {{0, 0, 4}}, 1, 0.5);
  MarkovScore s = score_markov(m, g, {{1, 0, 3, false}});
  EXPECT_EQ(s.targets, 2);
  EXPECT_NEAR(s.bits, 2.0, 1e-12);
  // N is never a target: "ANAT" as a window has targets N, A, T, of which two are scored.
  MarkovScore n = score_markov(m, g, {{0, 0, 4, false}});
  EXPECT_EQ(n.targets, 2);
  // Both strands: "AC" and its reverse complement "GT": order 0 counts A, C, G, T once each.
  dna::Genome h = genome_of({"AC"});
  MarkovModel both = fit_markov(h, {{0, 0, 2}}, 0, 1.0, true);
  EXPECT_EQ(both.counts[0], (std::vector<uint64_t>{1, 1, 1, 1}));
  const uint8_t none = 0;
  EXPECT_NEAR(markov_bits(both, &none, 0, dna::kG), 2.0, 1e-12);
}

TEST(Markov, AgreesWithADirectCountOnRandomData) {
  Rng rng(test::test_seed());
  const std::string train = test::chain_bases(rng, 5000, 0.6), held = test::chain_bases(rng, 700, 0.6);
  dna::Genome g = genome_of({train, held});
  const int k = 3;
  MarkovModel m = fit_markov(g, {{0, 0, 5000}}, k, 1.0);
  // Direct: for each held-out target with k bases of context in the window, count by string search.
  const std::vector<dna::Window> windows{{1, 0, 700, false}};
  MarkovScore s = score_markov(m, g, windows);
  double bits = 0;
  for (int64_t i = 1; i < 700; ++i) {
    const int o = static_cast<int>(std::min<int64_t>(k, i));
    const std::string ctx = held.substr(static_cast<size_t>(i - o), static_cast<size_t>(o));
    double n_ctx = 0, n_hit = 0;
    for (int64_t j = o; j < 5000; ++j)
      if (train.compare(static_cast<size_t>(j - o), static_cast<size_t>(o), ctx) == 0) {
        ++n_ctx;
        n_hit += train[static_cast<size_t>(j)] == held[static_cast<size_t>(i)];
      }
    bits += -std::log2((n_hit + 1) / (n_ctx + 4));
  }
  EXPECT_EQ(s.targets, 699);
  EXPECT_NEAR(s.bits, bits, 1e-9 * bits);
  // A first-order chain with stay 0.6 has entropy H = -(.6 log .6 + 3 * .4/3 log .4/3): Markov order 3
  // from 5000 bases lands close to it.
  const double h = -(0.6 * std::log2(0.6) + 0.4 * std::log2(0.4 / 3));
  EXPECT_NEAR(s.bits_per_base(), h, 0.15);
}

TEST(Markov, RefusesOrdersItCannotHold) {
  dna::Genome g = genome_of({"ACGT"});
  EXPECT_THROW(fit_markov(g, {{0, 0, 4}}, 13), Error);
  EXPECT_THROW(fit_markov(g, {{0, 0, 4}}, 2, 0.0), Error);
}

}  // namespace
}  // namespace ms
