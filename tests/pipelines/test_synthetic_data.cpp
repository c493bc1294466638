#include "pipelines/synthetic_data.h"

#include "tests/test_util.h"

namespace ms {
namespace {

TEST(SelectiveCopying, DataTokensAreScatteredAndRecalledInOrder) {
  SelectiveCopyingSpec spec{.vocab = 16, .n_memorize = 16, .length = 512};
  TokenBatch b = selective_copying_batch(spec, test::test_seed(), 7, 8);
  ASSERT_EQ(b.inputs.shape(), (Shape{8, 512}));
  for (int64_t r = 0; r < 8; ++r) {
    std::vector<int> data, recalled;
    for (int64_t t = 0; t < 512 - 16; ++t) {
      const int tok = static_cast<int>(b.inputs.item(r * 512 + t));
      ASSERT_LT(tok, 15);
      if (tok != 0) data.push_back(tok);
      EXPECT_EQ(b.targets.item(r * 512 + t), kIgnoreIndex);
    }
    for (int64_t t = 512 - 16; t < 512; ++t) {
      EXPECT_EQ(b.inputs.item(r * 512 + t), 15);
      recalled.push_back(static_cast<int>(b.targets.item(r * 512 + t)));
    }
    EXPECT_EQ(data, recalled);
    EXPECT_EQ(data.size(), 16u);
  }
}

TEST(SelectiveCopying, DeterministicPerStepAndDifferentAcrossSteps) {
  SelectiveCopyingSpec spec{.length = 256};
  const uint64_t seed = test::test_seed();
  TokenBatch a = selective_copying_batch(spec, seed, 3, 4), b = selective_copying_batch(spec, seed, 3, 4);
  TokenBatch c = selective_copying_batch(spec, seed, 4, 4);
  EXPECT_EQ(test::rel_l2_error(a.inputs, b.inputs), 0.0);
  EXPECT_GT(test::rel_l2_error(a.inputs, c.inputs), 0.0);
}

TEST(InductionHeads, TriggerAppearsTwiceAndTheAnswerFollowsTheFirst) {
  InductionHeadsSpec spec{.vocab = 16};
  for (int64_t L : {4, 64, 1000}) {
    TokenBatch b = induction_heads_batch(spec, L, test::test_seed(), 1, 16);
    for (int64_t r = 0; r < 16; ++r) {
      int64_t first = -1, count = 0;
      for (int64_t t = 0; t < L; ++t) {
        if (b.inputs.item(r * L + t) == 15) {
          if (first < 0) first = t;
          ++count;
        }
        if (t < L - 1) {
          EXPECT_EQ(b.targets.item(r * L + t), kIgnoreIndex);
        }
      }
      ASSERT_EQ(count, 2);
      ASSERT_LT(first, L - 2);
      EXPECT_EQ(b.inputs.item(r * L + L - 1), 15);
      EXPECT_EQ(b.targets.item(r * L + L - 1), b.inputs.item(r * L + first + 1));
    }
  }
}

TEST(SyntheticData, RejectsImpossibleSpecs) {
  EXPECT_THROW(selective_copying_batch({.vocab = 3}, 1, 0, 1), Error);
  EXPECT_THROW(selective_copying_batch({.n_memorize = 16, .length = 20}, 1, 0, 1), Error);
  EXPECT_THROW(induction_heads_batch({}, 3, 1, 0, 1), Error);
}

}  // namespace
}  // namespace ms
