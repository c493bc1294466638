// BED reading (split column or names), its errors with line numbers, and the split rules.
#include <gtest/gtest.h>

#include "io/bed.h"
#include "io/dna_dataset.h"
#include "tests/io/test_dna_fixtures.h"

namespace ms::dna {
namespace {
using test::expect_error;

const std::vector<ContigSize> kContigs = {{"chr1", 1000}, {"chr2", 500}, {"chrM", 16}};

std::string bed_file(const std::string& text) {
  std::string path = test::temp_dir() + "/x.bed";
  test::write_file(path, text, fasta::Compression::none);
  return path;
}

TEST(Bed, SplitColumnAsInHyenaDna) {
  auto bed = read_bed(bed_file("# comment\ntrack name=x\nchr1\t0\t600\ttrain\nchr1\t600\t800\tvalid\r\n\n"
                               "chr1\t800\t1000\ttest\nchr2\t0\t500\tval\nchrM\t3\t3\ttrain\n"),
                      kContigs);
  EXPECT_TRUE(bed.has_split_column);
  ASSERT_EQ(bed.records.size(), 5u);
  EXPECT_EQ(bed.records[0].line, 3);
  EXPECT_EQ(bed.records[3].interval.contig, 1);
  EXPECT_EQ(bed.records[3].split, Split::valid);
  SplitIntervals s = bed_splits(bed);
  EXPECT_EQ(s.bases(Split::train), 600);
  EXPECT_EQ(s.bases(Split::valid), 700);
  EXPECT_EQ(s.bases(Split::test), 200);
  EXPECT_TRUE(splits_are_disjoint(s));
}

TEST(Bed, NameColumnsAreIgnored) {
  auto bed = read_bed(bed_file("chr1\t10\t20\tgeneA\t0\t+\nchr2\t5\t9\n"), kContigs);
  EXPECT_FALSE(bed.has_split_column);
  ASSERT_EQ(bed.records.size(), 2u);
  EXPECT_EQ(bed.records[0].interval.start, 10);
  EXPECT_EQ(bed.records[1].interval.end, 9);
  expect_error([&] { bed_splits(bed); }, {"no split column"});
}

TEST(Bed, ErrorsNameTheLine) {
  expect_error([&] { read_bed(bed_file("chr1\t0\t10\nchr1\t50\t40\n"), kContigs); },
               {"x.bed", "line 2", "start 50 is greater than end 40"});
  expect_error([&] { read_bed(bed_file("chr1\t0\t10\n\nchr9\t1\t5\n"), kContigs); },
               {"line 3", "unknown contig 'chr9'"});
  expect_error([&] { read_bed(bed_file("chrM\t0\t17\n"), kContigs); }, {"line 1", "past the end", "16 bases"});
  expect_error([&] { read_bed(bed_file("chr1\t1.5\t10\n"), kContigs); }, {"line 1", "'1.5' is not an integer"});
  expect_error([&] { read_bed(bed_file("chr1\t-1\t10\n"), kContigs); }, {"line 1", "negative"});
  expect_error([&] { read_bed(bed_file("chr1 0 10\n"), kContigs); }, {"line 1", "tab-separated"});
  expect_error([&] { read_bed(bed_file("chr1\t0\t10\ttrain\nchr1\t10\t20\tgene\n"), kContigs); },
               {"line 2", "not a split"});
  expect_error([&] { read_bed(bed_file("# nothing\n"), kContigs); }, {"no intervals"});
  expect_error([&] { read_bed(test::temp_dir() + "/none.bed", kContigs); }, {"none.bed"});
}

TEST(Splits, FractionsCutEachIntervalDeterministically) {
  Rng rng(test::test_seed());
  std::vector<Interval> regions;
  for (int i = 0; i < 20; ++i) {
    int64_t a = static_cast<int64_t>(rng.below(1000)), n = static_cast<int64_t>(rng.below(5000));
    regions.push_back({static_cast<int32_t>(i % 3), a, a + n});
  }
  SplitIntervals s = split_by_fractions(regions, 0.1, 0.2);
  int64_t total = 0;
  for (const auto& r : regions) total += r.length();
  EXPECT_EQ(s.bases(Split::train) + s.bases(Split::valid) + s.bases(Split::test), total);
  EXPECT_NEAR(static_cast<double>(s.bases(Split::test)) / static_cast<double>(total), 0.2, 0.01);
  // Within one interval: train, then valid, then test, touching.
  SplitIntervals one = split_by_fractions({{0, 100, 1100}}, 0.1, 0.2);
  ASSERT_EQ(one[Split::test].size(), 1u);
  EXPECT_EQ(one[Split::train][0].end, 800);
  EXPECT_EQ(one[Split::valid][0].start, 800);
  EXPECT_EQ(one[Split::test][0].start, 900);
  EXPECT_EQ(one[Split::test][0].end, 1100);
  EXPECT_TRUE(splits_are_disjoint(one));
  expect_error([&] { split_by_fractions(regions, 0.5, 0.5); }, {"less than 1"});
  // Overlap detection works.
  SplitIntervals bad;
  bad[Split::train].push_back({0, 0, 100});
  bad[Split::test].push_back({0, 99, 120});
  EXPECT_FALSE(splits_are_disjoint(bad));
}

TEST(Splits, LmDataRules) {
  Rng rng(test::test_seed());
  auto ref = test::random_genome(rng, 4, 1000, 3000);
  std::string dir = test::temp_dir();
  std::string fa = test::write_genome(dir, "g.fa.gz", ref, fasta::Compression::bgzf);
  LmDataOptions o;
  o.fasta = {fa};
  o.test_contigs = {ref[3].name};
  o.valid_contigs = {ref[0].name};
  LmData d = load_lm_data(o);
  EXPECT_EQ(d.splits[Split::test].size(), 1u);
  EXPECT_EQ(d.splits.bases(Split::test), static_cast<int64_t>(ref[3].seq.size()));
  EXPECT_EQ(d.splits.bases(Split::valid), static_cast<int64_t>(ref[0].seq.size()));
  o.test_fraction = 0.1;
  expect_error([&] { load_lm_data(o); }, {"not both"});
  o.valid_contigs = o.test_contigs = {};
  d = load_lm_data(o);
  EXPECT_EQ(d.splits[Split::test].size(), 4u);
  EXPECT_TRUE(splits_are_disjoint(d.splits));
  // A BED with a split column decides alone.
  std::string bed = dir + "/s.bed";
  test::write_file(bed, ref[1].name + "\t0\t500\ttest\n" + ref[2].name + "\t10\t900\ttrain\n", fasta::Compression::none);
  o.bed = bed;
  expect_error([&] { load_lm_data(o); }, {"split column"});
  o.test_fraction = 0;
  d = load_lm_data(o);
  EXPECT_EQ(d.splits.bases(Split::test), 500);
  EXPECT_EQ(d.splits.bases(Split::train), 890);
  EXPECT_NE(d.split_rule.find("s.bed"), std::string::npos);
  o.test_contigs = {"nope"};
  test::write_file(bed, ref[1].name + "\t0\t500\n", fasta::Compression::none);
  expect_error([&] { load_lm_data(o); }, {"no contig named 'nope'"});
}

TEST(Bed, LambdaFixture) {
  auto g = load_genome({test::source_dir() + "/tests/data/lambda_slice.fa"});
  auto s = bed_splits(read_bed(test::source_dir() + "/tests/data/lambda_slice.bed", g));
  EXPECT_EQ(s.bases(Split::train), 3000);
  EXPECT_EQ(s.bases(Split::valid), 500);
  EXPECT_EQ(s.bases(Split::test), 500);
}

}  // namespace
}  // namespace ms::dna
