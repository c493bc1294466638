// Acceptance test of issue 5: random regions of a multi-contig bgzipped genome, read by our loader (the
// index path and the whole-genome streaming path), print exactly as `samtools faidx` prints them.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/dna_vocab.h"
#include "io/fasta_region.h"
#include "io/genome.h"
#include "tests/io/test_dna_fixtures.h"

namespace ms::fasta {
namespace {
namespace fs = std::filesystem;
using test::expect_error;

std::string samtools_faidx(const std::string& path, const std::vector<std::string>& regions) {
  int rc = -1;
  std::string cmd = "samtools faidx '" + path + "'";
  for (const auto& r : regions) cmd += " '" + r + "'";
  std::string out = test::run_command(cmd, &rc);
  EXPECT_EQ(rc, 0) << cmd;
  return out;
}

bool have_samtools() {
  int rc = -1;
  test::run_command("samtools --version", &rc);
  return rc == 0;
}

// Region strings of every form samtools accepts, at random places (some running past the contig end).
std::vector<std::string> random_regions(Rng& rng, const std::vector<dna::ContigSize>& contigs, int n) {
  std::vector<std::string> out;
  for (int k = 0; k < n; ++k) {
    const auto& c = contigs[rng.below(contigs.size())];
    const int64_t len = c.length;
    int64_t a = 1 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(len)));
    int64_t b = a + static_cast<int64_t>(rng.below(static_cast<uint64_t>(std::min<int64_t>(len, 5000))));
    if (rng.below(8) == 0) b = len + static_cast<int64_t>(rng.below(100));  // past the end: clipped
    switch (rng.below(8)) {
      case 0: out.push_back(c.name); break;
      case 1: out.push_back(c.name + ":" + std::to_string(a)); break;
      case 2: out.push_back(c.name + ":" + std::to_string(a) + "-"); break;
      case 3: out.push_back(c.name + ":-" + std::to_string(b)); break;
      case 4: {  // thousands separators
        std::string s = std::to_string(a), t;
        for (size_t i = 0; i < s.size(); ++i) {
          if (i && (s.size() - i) % 3 == 0) t += ',';
          t += s[i];
        }
        out.push_back(c.name + ":" + t + "-" + std::to_string(b));
        break;
      }
      default: out.push_back(c.name + ":" + std::to_string(a) + "-" + std::to_string(b));
    }
  }
  return out;
}

// Formats regions from the in-memory genome (the streaming loader), soft-mask kept.
std::string from_genome(const dna::Genome& g, const std::vector<std::string>& regions) {
  std::string out;
  auto sizes = dna::contig_sizes(g);
  for (const auto& text : regions) {
    Region r = parse_region(text, sizes);
    const auto& c = g.contigs[r.contig];
    out += format_fasta_record(r.text, dna::decode(c.tokens.data() + r.start, c.soft_mask.data() + r.start, r.end - r.start));
  }
  return out;
}

TEST(FastaSamtools, RandomRegionsOfBgzippedGenomeMatchSamtoolsFaidx) {
  ASSERT_TRUE(have_samtools()) << "samtools is missing: run scripts/install-deps.sh";
  Rng rng(test::test_seed());
  auto ref = test::random_genome(rng, 7, 1, 120000);  // soft-masked runs, N runs, varied line widths
  std::string dir = test::temp_dir();
  fs::create_directories(dir + "/ours");
  fs::create_directories(dir + "/samtools");
  std::string ours = test::write_genome(dir + "/ours", "g.fa.gz", ref, Compression::bgzf);
  std::string theirs = dir + "/samtools/g.fa.gz";
  fs::copy_file(ours, theirs);  // each tool builds its own index

  dna::LoadOptions keep;
  keep.keep_soft_mask = true;
  dna::Genome g = dna::load_genome({ours}, keep);
  auto regions = random_regions(rng, dna::contig_sizes(g), 150);
  const std::string expected = samtools_faidx(theirs, regions);
  ASSERT_GT(expected.size(), 1000u);
  EXPECT_EQ(fetch_regions(ours, regions), expected);
  EXPECT_EQ(from_genome(g, regions), expected);
  // Other line widths (samtools -n).
  int rc = -1;
  std::string w70 = test::run_command("samtools faidx -n 70 '" + theirs + "' '" + regions[0] + "' '" + regions[1] + "'", &rc);
  FetchOptions opt;
  opt.line_width = 70;
  EXPECT_EQ(fetch_regions(ours, {regions[0], regions[1]}, opt), w70);
}

TEST(FastaSamtools, PlainFastaWithCrlfAndTheLambdaFixture) {
  ASSERT_TRUE(have_samtools()) << "samtools is missing: run scripts/install-deps.sh";
  std::string dir = test::temp_dir();
  fs::copy_file(test::source_dir() + "/tests/data/lambda_slice.fa", dir + "/lambda.fa");
  std::vector<std::string> regions = {"lambda:1-3000", "lambda:1-3000:1-70", "lambda:1-3000:71-71",
                                      "lambda:40001-41000:941-1000", "lambda:1-3000:2999-"};
  EXPECT_EQ(fetch_regions(dir + "/lambda.fa", regions), samtools_faidx(dir + "/lambda.fa", regions));
  // Known content of the real sequence: lambda starts GGGCGGCGAC.
  EXPECT_EQ(fetch_regions(dir + "/lambda.fa", {"lambda:1-3000:1-10"}), ">lambda:1-3000:1-10\nGGGCGGCGAC\n");
}

TEST(FastaRegion, ParsingRulesAndErrors) {
  std::vector<dna::ContigSize> c = {{"chr1", 1000}, {"chr2:5", 50}, {"chr2", 80}, {"x", 10}};
  auto r = parse_region("chr1", c);
  EXPECT_EQ(r.contig, 0);
  EXPECT_EQ(r.start, 0);
  EXPECT_EQ(r.end, 1000);
  r = parse_region("chr1:1,000", c);  // thousands separator
  EXPECT_EQ(r.start, 999);
  r = parse_region("chr1:10-20", c);
  EXPECT_EQ(r.start, 9);
  EXPECT_EQ(r.end, 20);
  r = parse_region("chr1:900", c);  // to the end
  EXPECT_EQ(r.end, 1000);
  r = parse_region("chr1:990-5000", c);  // clipped
  EXPECT_EQ(r.end, 1000);
  r = parse_region("{chr2:5}:2-3", c);
  EXPECT_EQ(r.contig, 1);
  EXPECT_EQ(r.start, 1);
  r = parse_region("{chr2}:2-3", c);
  EXPECT_EQ(r.contig, 2);
  expect_error([&] { parse_region("chr2:5", c); }, {"ambiguous", "{chr2:5}"});
  expect_error([&] { parse_region("chr9:1-5", c); }, {"no contig named 'chr9'"});
  expect_error([&] { parse_region("chr1:0-5", c); }, {"1-based"});
  expect_error([&] { parse_region("chr1:20-10", c); }, {"before the start"});
  expect_error([&] { parse_region("chr1:1001-1002", c); }, {"past the end"});
  expect_error([&] { parse_region("chr1:1k-2k", c); }, {"cannot read the range"});
  EXPECT_EQ(format_fasta_record("h", std::string(125, 'A'), 60),
            ">h\n" + std::string(60, 'A') + "\n" + std::string(60, 'A') + "\nAAAAA\n");
  EXPECT_EQ(format_fasta_record("h", "", 60), ">h\n");
}

TEST(FastaSamtools, IupacCodesAreShownAsTheLoaderSeesThem) {
  std::string dir = test::temp_dir();
  test::write_file(dir + "/i.fa", ">a\nACRYacswN\n", Compression::none);
  EXPECT_EQ(fetch_regions(dir + "/i.fa", {"a"}), ">a\nACNNacnnN\n");
  FetchOptions fold;
  fold.fold_case = true;
  EXPECT_EQ(fetch_regions(dir + "/i.fa", {"a:2-5"}, fold), ">a:2-5\nCNNA\n");
  test::write_file(dir + "/bad.fa", ">a\nACGTAC\nAC*T\n", Compression::none);
  expect_error([&] { fetch_regions(dir + "/bad.fa", {"a:2-9"}); }, {"bad.fa", "'a'", "'*'", "position 9 (1-based"});
}

}  // namespace
}  // namespace ms::fasta
