// The sequence-length warmup schedule shared by the training pipelines.
#include <gtest/gtest.h>

#include "io/seq_len_schedule.h"
#include "tests/io/test_dna_fixtures.h"

namespace ms {
namespace {
using test::expect_error;

TEST(SeqLenWarmup, DoublesOnScheduleUpToMax) {
  SeqLenSchedule s{1 << 20, 1 << 10, 100};
  EXPECT_EQ(seq_len_at(s, 0), 1024);
  EXPECT_EQ(seq_len_at(s, 99), 1024);
  EXPECT_EQ(seq_len_at(s, 100), 2048);
  EXPECT_EQ(seq_len_at(s, 950), 1024 << 9);
  EXPECT_EQ(seq_len_at(s, 1000), 1 << 20);
  EXPECT_EQ(seq_len_at(s, 1'000'000'000), 1 << 20);
  EXPECT_EQ(seq_len_at({3000, 1000, 10}, 25), 3000);  // capped when not a power of two apart
  EXPECT_EQ(seq_len_at({4096, 0, 0}, 0), 4096);       // no warmup
  const SeqLenKeys keys{"run.toml", "data.length", "data.warmup_start", "data.warmup_stage_steps"};
  check_schedule(s, keys);
  expect_error([&] { check_schedule({1024, 2048, 10}, keys); },
               {"run.toml: data.warmup_start = 2048 is longer than data.length = 1024"});
  expect_error([&] { check_schedule({1024, 512, 0}, keys); }, {"data.warmup_start = 512 needs data.warmup_stage_steps >= 1"});
  expect_error([&] { check_schedule({1024, -1, 10}, keys); }, {"data.warmup_start = -1 must be >= 0"});
  expect_error([&] { check_schedule({0, 0, 0}, keys); }, {"data.length = 0 must be at least 1"});
}

}  // namespace
}  // namespace ms
