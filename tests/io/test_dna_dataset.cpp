// The classification data set: classes from FASTA files, disjoint train/test regions under each
// held-out rule (no test base ever appears in a training segment), balanced evaluation, and its errors.
#include <gtest/gtest.h>

#include "io/dna_dataset.h"
#include "io/dna_vocab.h"
#include "tests/io/test_dna_fixtures.h"

namespace ms::dna {
namespace {
using fasta::Compression;
using test::expect_error;

struct Fixture {
  std::vector<ClassSource> classes;
  std::vector<std::string> all_contig_names;
};

// Three classes; class 0 has two files (one with 3 contigs), class 1 one file with 2 contigs, class 2 two
// files. Contig names are unique across files; each class's last file is also offered as a test file.
Fixture make_classes(Rng& rng, const std::string& dir, bool with_test_files) {
  Fixture f;
  const int files_per_class[] = {2, 1, 2};
  int k = 0;
  for (int c = 0; c < 3; ++c) {
    ClassSource cs;
    cs.name = "species_" + std::to_string(c);
    for (int i = 0; i < files_per_class[c] + (with_test_files ? 1 : 0); ++i, ++k) {
      auto g = test::random_genome(rng, 1 + static_cast<int>(rng.below(3)), 3000, 9000);
      const std::string stem = std::string("f").append(std::to_string(k));
      for (auto& ct : g) {
        ct.name = std::string(stem).append("_").append(ct.name);
        f.all_contig_names.push_back(ct.name);
      }
      std::string path = test::write_genome(dir, stem + ".fa.gz", g, Compression::bgzf);
      (with_test_files && i == files_per_class[c] ? cs.test_files : cs.files).push_back(path);
    }
    f.classes.push_back(cs);
  }
  return f;
}

// Checks every training segment against every test interval of the same genome, and segment contents.
void check_no_leak_and_content(const ClassificationDataset& ds, int steps, int64_t B) {
  const Genome& g = ds.genome();
  const int64_t L = ds.options().length;
  std::vector<std::vector<uint8_t>> seen(g.contigs.size());  // bases covered by training segments
  for (size_t i = 0; i < g.contigs.size(); ++i) seen[i].assign(static_cast<size_t>(g.contigs[i].length()), 0);
  std::vector<int> label_count(ds.num_classes(), 0);
  for (int step = 0; step < steps; ++step) {
    ClassBatch b = ds.batch(static_cast<uint64_t>(step), B);
    ASSERT_EQ(b.tokens.shape(), (Shape{B, L}));
    ASSERT_EQ(b.labels.shape(), (Shape{B}));
    for (int64_t i = 0; i < B; ++i) {
      const ClassSample& s = b.samples[i];
      EXPECT_EQ(b.labels.item(i), s.label);
      label_count[s.label]++;
      ASSERT_EQ(s.window.end - s.window.start, L);
      // The segment lies in one training interval of its own class.
      bool inside = false;
      for (const auto& iv : ds.intervals(s.label)[Split::train])
        inside = inside || (iv.contig == s.window.contig && iv.start <= s.window.start && s.window.end <= iv.end);
      EXPECT_TRUE(inside);
      // Content (forward or reverse complement).
      const auto& t = g.contigs[s.window.contig].tokens;
      for (int64_t j = 0; j < L; ++j) {
        int expect = s.window.reverse ? complement(t[s.window.end - 1 - j]) : t[s.window.start + j];
        ASSERT_EQ(b.tokens.item(i * L + j), expect);
      }
      for (int64_t p = s.window.start; p < s.window.end; ++p) seen[s.window.contig][p] = 1;
    }
  }
  for (int c = 0; c < ds.num_classes(); ++c) {
    EXPECT_GT(label_count[c], steps * B / ds.num_classes() / 2) << "class " << c;
    for (Split sp : {Split::valid, Split::test})
      for (const auto& iv : ds.intervals(c)[sp])
        for (int64_t p = iv.start; p < iv.end; ++p)
          ASSERT_EQ(seen[iv.contig][p], 0) << split_name(sp) << " base " << g.contigs[iv.contig].name << ":" << p + 1
                                           << " was in a training segment";
  }
  // Evaluation samples: balanced labels, inside their split, the same on every call.
  for (uint64_t k = 0; k < 60; ++k) {
    ClassSample s = ds.eval_sample(Split::test, k);
    EXPECT_EQ(s.label, static_cast<int>(k % ds.num_classes()));
    EXPECT_FALSE(s.window.reverse);
    bool inside = false;
    for (const auto& iv : ds.intervals(s.label)[Split::test])
      inside = inside || (iv.contig == s.window.contig && iv.start <= s.window.start && s.window.end <= iv.end);
    EXPECT_TRUE(inside);
    EXPECT_EQ(ds.eval_sample(Split::test, k).window.start, s.window.start);
  }
  ClassBatch e = ds.eval_batch(Split::test, 7, 5);
  EXPECT_EQ(e.labels.item(0), 7 % ds.num_classes());
}

TEST(ClassificationDataset, HeldOutRangesNeverLeak) {
  Rng rng(test::test_seed());
  Fixture f = make_classes(rng, test::temp_dir(), false);
  ClassificationOptions o;
  o.length = 500;
  o.seed = rng.next_u64();
  o.held_out = HeldOut::ranges;
  o.valid_fraction = 0.1;
  o.test_fraction = 0.25;
  o.reverse_complement = true;
  ClassificationDataset ds(f.classes, o);
  EXPECT_EQ(ds.num_classes(), 3);
  EXPECT_TRUE(ds.has_split(Split::valid));
  for (int c = 0; c < 3; ++c) EXPECT_TRUE(splits_are_disjoint(ds.intervals(c)));
  check_no_leak_and_content(ds, 150, 8);
  // Same seed, same batches; determinism survives re-loading.
  ClassificationDataset again(f.classes, o);
  for (uint64_t step : {0u, 17u, 149u}) {
    ClassBatch a = ds.batch(step, 8), b = again.batch(step, 8);
    for (int64_t i = 0; i < a.tokens.numel(); ++i) ASSERT_EQ(a.tokens.item(i), b.tokens.item(i));
  }
}

TEST(ClassificationDataset, HeldOutContigsAndFiles) {
  Rng rng(test::test_seed());
  std::string dir = test::temp_dir();
  {
    Fixture f = make_classes(rng, dir, true);
    ClassificationOptions o;
    o.length = 700;
    o.seed = rng.next_u64();
    o.held_out = HeldOut::files;
    ClassificationDataset ds(f.classes, o);
    EXPECT_FALSE(ds.has_split(Split::valid));
    for (int c = 0; c < 3; ++c)
      for (const auto& iv : ds.intervals(c)[Split::test])
        EXPECT_EQ(ds.genome().contigs[iv.contig].file, f.classes[c].test_files[0]);
    check_no_leak_and_content(ds, 100, 6);
  }
  {
    // Hold out the first contig of each class's first file.
    Fixture f = make_classes(rng, dir, false);
    ClassificationOptions o;
    o.length = 700;
    o.held_out = HeldOut::contigs;
    Genome probe = load_genome({f.classes[0].files[0], f.classes[1].files[0], f.classes[2].files[0]});
    for (const auto& c : probe.contigs)
      if (c.name.find("_chr1") != std::string::npos) o.test_contigs.push_back(c.name);
    ASSERT_EQ(o.test_contigs.size(), 3u);
    ClassificationDataset ds(f.classes, o);
    for (int c = 0; c < 3; ++c) {
      ASSERT_EQ(ds.intervals(c)[Split::test].size(), 1u);
      EXPECT_EQ(ds.genome().contigs[ds.intervals(c)[Split::test][0].contig].name, o.test_contigs[c]);
    }
    check_no_leak_and_content(ds, 100, 6);
    o.test_contigs.push_back("not_a_contig");
    expect_error([&] { ClassificationDataset bad(f.classes, o); }, {"not_a_contig"});
  }
}

TEST(ClassificationDataset, Errors) {
  Rng rng(test::test_seed());
  std::string dir = test::temp_dir();
  Fixture f = make_classes(rng, dir, false);
  ClassificationOptions o;
  o.length = 500;
  expect_error([&] { ClassificationDataset ds({f.classes[0]}, o); }, {"at least 2 classes"});
  auto twice = f.classes;
  twice[1].files.push_back(twice[0].files[0]);
  expect_error([&] { ClassificationDataset ds(twice, o); }, {"listed twice", "species_0", "species_1"});
  o.held_out = HeldOut::files;
  expect_error([&] { ClassificationDataset ds(f.classes, o); }, {"species_0", "no test files"});
  // Contig shorter than the window.
  o.held_out = HeldOut::ranges;
  auto small = f.classes;
  small[2].files = {test::write_genome(dir, "tiny.fa", {{"tiny", "", "ACGTACGTAC", 60}}, Compression::none)};
  expect_error([&] { ClassificationDataset ds(small, o); }, {"species_2", "tiny", "segment of 500 bases"});
  o.length = 20000;  // longer than every contig
  expect_error([&] { ClassificationDataset ds(f.classes, o); }, {"species_0", "segment of 20000 bases"});
}

}  // namespace
}  // namespace ms::dna
