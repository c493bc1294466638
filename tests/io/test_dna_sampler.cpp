// The pretraining window sampler: determinism from (seed, step, index), content, uniform start
// positions, short intervals, reverse complement, evaluation tiling and prefetching.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "io/dna_sampler.h"
#include "io/dna_vocab.h"
#include "io/prefetch.h"
#include "tests/io/test_dna_fixtures.h"

namespace ms::dna {
namespace {
using test::expect_error;

Genome random_token_genome(Rng& rng, const std::vector<int64_t>& lengths) {
  Genome g;
  g.files = {"memory"};
  for (size_t i = 0; i < lengths.size(); ++i) {
    Contig c;
    c.name = "c" + std::to_string(i);
    c.file = "memory";
    c.tokens.resize(static_cast<size_t>(lengths[i]));
    for (auto& t : c.tokens) t = static_cast<uint8_t>(rng.below(5));
    g.contigs.push_back(std::move(c));
  }
  return g;
}

// The tokens a window must hold, computed independently of fill().
std::vector<int32_t> expected_tokens(const Genome& g, const Window& w, int64_t n) {
  const auto& t = g.contigs[w.contig].tokens;
  std::vector<int32_t> out(t.begin() + w.start, t.begin() + w.end);
  if (w.reverse) {
    std::reverse(out.begin(), out.end());
    for (auto& x : out) x = x == kA ? kT : x == kT ? kA : x == kC ? kG : x == kG ? kC : x;
  }
  out.resize(static_cast<size_t>(n), kPad);
  return out;
}

TEST(WindowSampler, DeterministicAndCorrectContent) {
  Rng rng(test::test_seed());
  Genome g = random_token_genome(rng, {5000, 300, 12000});
  std::vector<Interval> ivs = {{0, 100, 4000}, {1, 50, 250}, {2, 500, 12000}};
  WindowOptions o;
  o.seed = rng.next_u64();
  o.reverse_complement = true;
  WindowSampler a(g, ivs, o), b(g, ivs, o);
  const int64_t L = 257, B = 6;
  int reversed = 0, total = 0;
  for (uint64_t step = 0; step < 40; ++step) {
    LmBatch x = lm_batch(a, step, B, L), y = lm_batch(b, step, B, L);
    ASSERT_EQ(x.tokens.shape(), (Shape{B, L + 1}));
    ASSERT_EQ(x.tokens.dtype(), DType::i32);
    const int32_t* p = x.tokens.data<int32_t>();
    const int32_t* q = y.tokens.data<int32_t>();
    ASSERT_TRUE(std::equal(p, p + B * (L + 1), q)) << "step " << step;
    for (int64_t i = 0; i < B; ++i) {
      const Window& w = x.windows[i];
      bool inside = false;
      for (const auto& iv : ivs) inside = inside || (iv.contig == w.contig && iv.start <= w.start && w.end <= iv.end);
      EXPECT_TRUE(inside);
      EXPECT_EQ(w.end - w.start, w.contig == 1 ? 200 : L + 1);  // the 200-base interval is padded
      auto e = expected_tokens(g, w, L + 1);
      EXPECT_TRUE(std::equal(e.begin(), e.end(), p + i * (L + 1)));
      reversed += w.reverse;
      ++total;
    }
  }
  EXPECT_GT(reversed, total / 4);
  EXPECT_LT(reversed, 3 * total / 4);
  // A different seed or step gives different windows.
  WindowOptions o2 = o;
  o2.seed ^= 1;
  WindowSampler c(g, ivs, o2);
  int same = 0;
  for (uint64_t i = 0; i < 50; ++i) same += c.draw(3, i, L).start == a.draw(3, i, L).start;
  EXPECT_LT(same, 10);
  same = 0;
  for (uint64_t i = 0; i < 50; ++i) same += a.draw(4, i, L).start == a.draw(3, i, L).start;
  EXPECT_LT(same, 10);
}

TEST(WindowSampler, InputsAndTargetsAreShiftedViews) {
  Rng rng(test::test_seed());
  Genome g = random_token_genome(rng, {3000});
  WindowSampler s(g, whole_contigs(g), {});
  LmBatch b = lm_batch(s, 7, 3, 100);
  Tensor in = b.inputs(), tg = b.targets();
  EXPECT_EQ(in.shape(), (Shape{3, 100}));
  EXPECT_EQ(tg.shape(), (Shape{3, 100}));
  EXPECT_EQ(in.stride(1), 1);
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t i = 0; i < 99; ++i) EXPECT_EQ(tg.contiguous().item(r * 100 + i), in.contiguous().item(r * 100 + i + 1));
}

TEST(WindowSampler, EveryStartPositionEquallyLikely) {
  Rng rng(test::test_seed());
  Genome g = random_token_genome(rng, {60, 100, 5});
  std::vector<Interval> ivs = {{0, 0, 60}, {1, 10, 100}, {2, 0, 5}};
  WindowOptions o;
  o.seed = rng.next_u64();
  WindowSampler s(g, ivs, o);
  const int64_t n = 11;
  const int64_t positions = (60 - n + 1) + (90 - n + 1) + 1;  // the 5-base interval: one padded window
  EXPECT_EQ(s.num_windows(n), positions);
  std::map<std::pair<int, int64_t>, int64_t> counts;
  const int64_t draws = positions * 300;
  for (int64_t k = 0; k < draws; ++k) {
    Window w = s.draw(static_cast<uint64_t>(k / 64), static_cast<uint64_t>(k % 64), n);
    counts[{w.contig, w.start}]++;
  }
  EXPECT_EQ(static_cast<int64_t>(counts.size()), positions);
  double chi2 = 0, expect = static_cast<double>(draws) / static_cast<double>(positions);
  for (auto& [k, c] : counts) chi2 += (c - expect) * (c - expect) / expect;
  // 140 degrees of freedom: mean 140, sd ~17; 260 is beyond 7 sd.
  EXPECT_LT(chi2, 260.0);
}

TEST(WindowSampler, ShortIntervalsPadSkipOrError) {
  Rng rng(test::test_seed());
  Genome g = random_token_genome(rng, {1000, 40});
  WindowOptions o;
  o.short_intervals = ShortIntervals::skip;
  WindowSampler skip(g, whole_contigs(g), o);
  for (uint64_t i = 0; i < 200; ++i) EXPECT_EQ(skip.draw(0, i, 100).contig, 0);
  o.short_intervals = ShortIntervals::error;
  WindowSampler err(g, whole_contigs(g), o);
  expect_error([&] { err.draw(0, 0, 100); }, {"c1:1-40", "40 bases", "shorter than the window of 100"});
  EXPECT_EQ(err.draw(0, 0, 40).end - err.draw(0, 0, 40).start, 40);  // fits exactly
  o.short_intervals = ShortIntervals::skip;
  WindowSampler none(g, {{1, 0, 40}}, o);
  expect_error([&] { none.draw(0, 0, 41); }, {"none of the 1 intervals", "41 tokens"});
  expect_error([&] { WindowSampler e(g, {{1, 5, 5}}, o); }, {"no (non-empty) intervals"});
}

TEST(WindowSampler, TilingPredictsEveryBaseOnce) {
  Rng rng(test::test_seed());
  Genome g = random_token_genome(rng, {1000, 300});
  std::vector<Interval> ivs = {{0, 17, 1000}, {1, 0, 300}, {1, 5, 6}};
  const int64_t L = 64;
  auto tiles = tile_windows(ivs, L);
  std::map<std::pair<int, int64_t>, int> predicted;
  WindowSampler s(g, ivs, {});
  for (size_t first = 0; first < tiles.size(); first += 5) {
    LmBatch b = lm_batch_of(s, tiles, first, 5, L);
    for (int64_t r = 0; r < b.tokens.size(0); ++r) {
      const Window& w = b.windows[r];
      auto e = expected_tokens(g, w, L + 1);
      for (int64_t i = 0; i <= L; ++i) EXPECT_EQ(b.tokens.item(r * (L + 1) + i), e[i]);
      for (int64_t pos = w.start + 1; pos < w.end; ++pos) predicted[{w.contig, pos}]++;
    }
  }
  int64_t expect = (1000 - 17 - 1) + (300 - 1);
  EXPECT_EQ(static_cast<int64_t>(predicted.size()), expect);
  for (auto& [k, c] : predicted) EXPECT_EQ(c, 1);
}

TEST(Prefetcher, OrderIsDeterministicWhateverTheTiming) {
  Rng rng(test::test_seed());
  Genome g = random_token_genome(rng, {20000});
  WindowOptions o;
  o.seed = rng.next_u64();
  WindowSampler s(g, whole_contigs(g), o);
  auto make = [&](uint64_t step) {
    // Uneven work so threads finish out of order.
    std::this_thread::sleep_for(std::chrono::microseconds(mix64(step) % 3000));
    return lm_batch(s, step, 2, 128);
  };
  Prefetcher<LmBatch> pf(make, 5, /*threads=*/3, /*capacity=*/4);
  for (uint64_t step = 5; step < 45; ++step) {
    LmBatch b = pf.next();
    LmBatch ref = lm_batch(s, step, 2, 128);
    const int32_t* p = b.tokens.data<int32_t>();
    EXPECT_TRUE(std::equal(p, p + 2 * 129, ref.tokens.data<int32_t>())) << "step " << step;
    EXPECT_LE(pf.ready(), 4u);
  }
  EXPECT_EQ(pf.next_step(), 45u);
}

TEST(Prefetcher, ErrorsReachTheConsumerAtTheirStep) {
  Prefetcher<int> pf([](uint64_t step) -> int {
    if (step == 3) MS_FAIL("bad step 3");
    return static_cast<int>(step) * 10;
  }, 0, 2, 3);
  EXPECT_EQ(pf.next(), 0);
  EXPECT_EQ(pf.next(), 10);
  EXPECT_EQ(pf.next(), 20);
  expect_error([&] { pf.next(); }, {"bad step 3"});
  EXPECT_EQ(pf.next(), 40);
  Prefetcher<int> inline_pf([](uint64_t step) { return static_cast<int>(step); }, 9, 0, 1);
  EXPECT_EQ(inline_pf.next(), 9);
}

}  // namespace
}  // namespace ms::dna

namespace ms::dna {
namespace {

TEST(TensorPool, ReusesOnlyBuffersNobodyHolds) {
  Rng rng(test::test_seed());
  Genome g = random_token_genome(rng, {5000});
  WindowSampler s(g, whole_contigs(g), {});
  TensorPool pool(4);
  LmBatch a = lm_batch(s, 0, 2, 100, &pool);
  LmBatch b = lm_batch(s, 1, 2, 100, &pool);
  EXPECT_NE(a.tokens.raw(), b.tokens.raw());  // a is still held
  LmBatch ref = lm_batch(s, 0, 2, 100);
  EXPECT_TRUE(std::equal(a.tokens.data<int32_t>(), a.tokens.data<int32_t>() + 202, ref.tokens.data<int32_t>()));
  const void* a_mem = a.tokens.raw();
  a = LmBatch();  // dropped: its buffer may come back
  LmBatch c = lm_batch(s, 2, 2, 100, &pool);
  EXPECT_EQ(c.tokens.raw(), a_mem);
  LmBatch c_ref = lm_batch(s, 2, 2, 100);
  EXPECT_TRUE(std::equal(c.tokens.data<int32_t>(), c.tokens.data<int32_t>() + 202, c_ref.tokens.data<int32_t>()));
  LmBatch d = lm_batch(s, 3, 3, 100, &pool);  // another shape: a new buffer
  EXPECT_NE(d.tokens.raw(), b.tokens.raw());
  EXPECT_NE(d.tokens.raw(), c.tokens.raw());
}

}  // namespace
}  // namespace ms::dna
