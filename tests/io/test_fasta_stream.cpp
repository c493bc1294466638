// Sequential FASTA reading (FastaStream, load_genome) against genomes written by the test, and the
// bad-input errors of the issue: missing file, not FASTA, truncated gzip, empty contig, bad characters.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/dna_vocab.h"
#include "io/fasta_stream.h"
#include "io/genome.h"
#include "tests/io/test_dna_fixtures.h"

namespace ms::dna {
namespace {
using fasta::Compression;
using test::expect_error;

void expect_genome_equals(const Genome& g, const std::vector<test::FakeContig>& ref, bool with_mask) {
  ASSERT_EQ(g.contigs.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    const Contig& c = g.contigs[i];
    EXPECT_EQ(c.name, ref[i].name);
    EXPECT_EQ(c.description, ref[i].description);
    ASSERT_EQ(c.length(), static_cast<int64_t>(ref[i].seq.size()));
    std::vector<uint8_t> t(ref[i].seq.size()), m(ref[i].seq.size());
    encode(ref[i].seq, t.data(), m.data());
    EXPECT_EQ(c.tokens, t) << c.name;
    if (with_mask) EXPECT_EQ(c.soft_mask, m) << c.name;
    else EXPECT_TRUE(c.soft_mask.empty());
  }
}

class FastaStreamFormats : public ::testing::TestWithParam<std::tuple<Compression, bool>> {};

TEST_P(FastaStreamFormats, LoadsEveryContigExactly) {
  auto [comp, crlf] = GetParam();
  Rng rng(test::test_seed());
  auto ref = test::random_genome(rng, 5, 1, 20000, /*iupac=*/true);
  std::string path = test::write_genome(test::temp_dir(), "g.fa", ref, comp, crlf);
  for (bool mask : {false, true}) {
    LoadOptions opt;
    opt.keep_soft_mask = mask;
    Genome g = load_genome({path}, opt);
    expect_genome_equals(g, ref, mask);
    EXPECT_EQ(g.contigs[0].file, path);
  }
}

INSTANTIATE_TEST_SUITE_P(All, FastaStreamFormats,
                         ::testing::Combine(::testing::Values(Compression::none, Compression::gzip, Compression::bgzf),
                                            ::testing::Bool()));

TEST(FastaStream, ReadsInArbitraryChunksAndSkips) {
  Rng rng(test::test_seed());
  auto ref = test::random_genome(rng, 6, 1, 300000);
  std::string path = test::write_genome(test::temp_dir(), "g.fa.gz", ref, Compression::bgzf);
  fasta::FastaStream in(path);
  EXPECT_EQ(in.compression(), Compression::bgzf);
  for (size_t i = 0; i < ref.size(); ++i) {
    ASSERT_TRUE(in.next_contig());
    EXPECT_EQ(in.name(), ref[i].name);
    if (i % 3 == 2) continue;  // skipped by next_contig()
    std::vector<uint8_t> tok, mask;
    for (;;) {
      int64_t want = 1 + static_cast<int64_t>(rng.below(5000));
      size_t old = tok.size();
      tok.resize(old + want);
      mask.resize(old + want);
      int64_t n = in.read(tok.data() + old, mask.data() + old, want);
      tok.resize(old + n);
      mask.resize(old + n);
      if (n == 0) break;
    }
    EXPECT_EQ(decode(tok.data(), mask.data(), static_cast<int64_t>(tok.size())), ref[i].seq);
    EXPECT_EQ(in.position(), static_cast<int64_t>(ref[i].seq.size()));
  }
  EXPECT_FALSE(in.next_contig());
  EXPECT_FALSE(in.next_contig());
}

TEST(FastaStream, OnlyContigsAndSeveralFiles) {
  Rng rng(test::test_seed());
  std::string dir = test::temp_dir();
  auto a = test::random_genome(rng, 3, 10, 500);
  auto b = test::random_genome(rng, 2, 10, 500);
  for (auto& c : b) c.name = "b_" + c.name;
  std::string pa = test::write_genome(dir, "a.fa", a, Compression::none);
  std::string pb = test::write_genome(dir, "b.fa.gz", b, Compression::gzip);
  Genome g = load_genome({pa, pb});
  ASSERT_EQ(g.contigs.size(), 5u);
  EXPECT_EQ(g.contigs[3].file_index, 1);
  EXPECT_EQ(g.find(b[1].name), 4);
  EXPECT_EQ(g.find("nope"), -1);
  LoadOptions only;
  only.only_contigs = {a[2].name, b[0].name};
  Genome h = load_genome({pa, pb}, only);
  ASSERT_EQ(h.contigs.size(), 2u);
  EXPECT_EQ(h.contigs[0].name, a[2].name);
  EXPECT_EQ(h.total_length(), static_cast<int64_t>(a[2].seq.size() + b[0].seq.size()));
  only.only_contigs = {"missing_contig"};
  expect_error([&] { load_genome({pa}, only); }, {"missing_contig"});
  // The same contig name in two files is ambiguous unless the file is named.
  Genome dup = load_genome({pa, test::write_genome(dir, "a2.fa", a, Compression::none)});
  expect_error([&] { dup.find(a[0].name); }, {a[0].name, "a2.fa"});
  EXPECT_EQ(dup.find(a[0].name, 1), 3);
}

TEST(FastaErrors, MissingFileDirectoryAndEmpty) {
  std::string dir = test::temp_dir();
  expect_error([&] { load_genome({dir + "/nope.fa"}); }, {"nope.fa", "does not exist"});
  expect_error([&] { load_genome({dir}); }, {"directory"});
  test::write_file(dir + "/empty.fa", "", Compression::none);
  expect_error([&] { load_genome({dir + "/empty.fa"}); }, {"empty.fa", "empty"});
  test::write_file(dir + "/empty.fa.gz", "", Compression::bgzf);
  expect_error([&] { load_genome({dir + "/empty.fa.gz"}); }, {"empty.fa.gz", "empty"});
}

TEST(FastaErrors, NotFasta) {
  std::string dir = test::temp_dir();
  test::write_file(dir + "/x.txt", "hello world\nACGT\n", Compression::none);
  expect_error([&] { load_genome({dir + "/x.txt"}); }, {"x.txt", "not FASTA", "hello world"});
  test::write_file(dir + "/r.fq.gz", "@read1\nACGT\n+\nIIII\n", Compression::bgzf);
  expect_error([&] { load_genome({dir + "/r.fq.gz"}); }, {"r.fq.gz", "FASTQ"});
  test::write_file(dir + "/x.xz", std::string("\xfd" "7zXZ\0\0\0", 8), Compression::none);
  expect_error([&] { load_genome({dir + "/x.xz"}); }, {"xz"});
}

TEST(FastaErrors, TruncatedCompressedFiles) {
  Rng rng(test::test_seed());
  auto ref = test::random_genome(rng, 3, 100000, 200000);
  std::string dir = test::temp_dir();
  for (Compression c : {Compression::gzip, Compression::bgzf}) {
    std::string path = test::write_genome(dir, c == Compression::gzip ? "g.fa.gz" : "g.fa.bgz", ref, c);
    std::string bytes = test::read_text(path);
    for (double frac : {0.5, 0.97}) {  // cut inside a block, and near the end
      std::string cut = dir + "/cut.gz";
      test::write_file(cut, bytes.substr(0, static_cast<size_t>(bytes.size() * frac)), Compression::none);
      expect_error([&] { load_genome({cut}); }, {"cut.gz", "truncated"});
    }
  }
}

TEST(FastaErrors, EmptyContig) {
  std::string dir = test::temp_dir();
  test::write_file(dir + "/a.fa", ">c1\nACGT\n>c2 nothing here\n>c3\nAC\n", Compression::none);
  expect_error([&] { load_genome({dir + "/a.fa"}); }, {"a.fa", "line 3", "'c2'", "empty"});
  test::write_file(dir + "/b.fa.gz", ">c1\nACGT\n>last\n", Compression::bgzf);
  expect_error([&] { load_genome({dir + "/b.fa.gz"}); }, {"b.fa.gz", "'last'", "empty"});
  test::write_file(dir + "/c.fa", ">\nACGT\n", Compression::none);
  expect_error([&] { load_genome({dir + "/c.fa"}); }, {"c.fa", "line 1", "no contig name"});
  test::write_file(dir + "/d.fa", ">x\nACGT\n>x\nAC\n", Compression::none);
  expect_error([&] { load_genome({dir + "/d.fa"}); }, {"d.fa", "line 3", "twice"});
}

TEST(FastaErrors, InvalidCharacterNamesContigLineAndOffset) {
  Rng rng(test::test_seed());
  auto ref = test::random_genome(rng, 3, 2000, 5000);
  const int64_t pos = static_cast<int64_t>(rng.below(ref[1].seq.size()));
  ref[1].seq[pos] = 'X';
  std::string path = test::write_genome(test::temp_dir(), "bad.fa.gz", ref, Compression::bgzf);
  // The file line of the bad base: header lines of contig 0 and 1, contig 0's lines, then its own line.
  auto lines = [](const test::FakeContig& c) { return (static_cast<int64_t>(c.seq.size()) + c.line_width - 1) / c.line_width; };
  const int64_t line = 1 + lines(ref[0]) + 1 + pos / ref[1].line_width + 1;
  expect_error([&] { load_genome({path}); },
               {"bad.fa.gz", "'" + ref[1].name + "'", "'X'", "position " + std::to_string(pos + 1) + " (1-based",
                "0-based offset " + std::to_string(pos), "line " + std::to_string(line)});
  // A space inside a line and a '>' inside a line are errors too.
  std::string dir = test::temp_dir();
  test::write_file(dir + "/s.fa", ">a\nAC GT\n", Compression::none);
  expect_error([&] { load_genome({dir + "/s.fa"}); }, {"0x20", "position 3"});
  test::write_file(dir + "/h.fa", ">a\nACG>T\n", Compression::none);
  expect_error([&] { load_genome({dir + "/h.fa"}); }, {"'>'", "position 4"});
}

}  // namespace
}  // namespace ms::dna
