// The genome manifest of scripts/prepare-genomes.sh, classes built from it, and the io bench.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/dna_bench.h"
#include "io/genome_manifest.h"
#include "tests/io/test_dna_fixtures.h"

namespace ms::dna {
namespace {
namespace fs = std::filesystem;
using test::expect_error;

std::string make_manifest(const std::string& dir, Rng& rng) {
  std::string text = "species\tstrain\tpath\tcontig\tlength\tdescription\n";
  const char* table[][2] = {{"E.Coli", "K12"}, {"E.Coli", "DH1"}, {"S.Aureus", "COL"}, {"S.Aureus", "N315"},
                            {"S.Aureus", "RF122"}};
  for (auto& row : table) {
    fs::create_directories(dir + "/" + row[0]);
    auto g = test::random_genome(rng, 2, 100, 300);
    std::string rel = std::string(row[0]) + "/" + row[1] + ".fa.gz";
    test::write_genome(dir, rel, g, fasta::Compression::bgzf);
    for (const auto& c : g)
      text += std::string(row[0]) + "\t" + row[1] + "\t" + rel + "\t" + c.name + "\t" + std::to_string(c.seq.size()) + "\tdesc\n";
  }
  test::write_file(dir + "/manifest.tsv", text, fasta::Compression::none);
  return dir + "/manifest.tsv";
}

TEST(GenomeManifest, ReadsGenomesAndBuildsClasses) {
  Rng rng(test::test_seed());
  std::string dir = test::temp_dir();
  auto m = read_genome_manifest(make_manifest(dir, rng));
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[1].strain, "DH1");
  EXPECT_EQ(m[1].contigs.size(), 2u);
  EXPECT_EQ(m[1].path, dir + "/E.Coli/DH1.fa.gz");
  EXPECT_EQ(load_genome({m[1].path}).total_length(), m[1].length());

  auto species = species_classes(m, {"DH1", "RF122"});
  ASSERT_EQ(species.size(), 2u);
  EXPECT_EQ(species[0].name, "E.Coli");
  EXPECT_EQ(species[0].files.size(), 1u);
  EXPECT_EQ(species[0].test_files, std::vector<std::string>{dir + "/E.Coli/DH1.fa.gz"});
  EXPECT_EQ(species[1].files.size(), 2u);
  expect_error([&] { species_classes(m, {"nope"}); }, {"test strain 'nope'"});

  auto strains = strain_classes(m, "S.Aureus");
  ASSERT_EQ(strains.size(), 3u);
  EXPECT_EQ(strains[2].name, "RF122");
  expect_error([&] { strain_classes(m, "H.Pylori"); }, {"H.Pylori", "E.Coli, S.Aureus"});

  ClassificationOptions o;
  o.length = 50;
  o.held_out = HeldOut::files;
  ClassificationDataset ds(species, o);
  EXPECT_EQ(ds.num_classes(), 2);
}

TEST(GenomeManifest, Errors) {
  std::string dir = test::temp_dir();
  test::write_file(dir + "/m.tsv", "species\tstrain\tpath\tcontig\tlength\ndesc\nX\tY\tx.fa\tc\tten\n", fasta::Compression::none);
  expect_error([&] { read_genome_manifest(dir + "/m.tsv"); }, {"m.tsv", "line 2"});
  test::write_file(dir + "/m.tsv", "header\nX\tY\tmissing.fa\tc\t10\t\n", fasta::Compression::none);
  expect_error([&] { read_genome_manifest(dir + "/m.tsv"); }, {"line 2", "missing.fa", "prepare-genomes"});
  expect_error([&] { read_genome_manifest(dir + "/none.tsv"); }, {"none.tsv", "prepare-genomes"});
}

TEST(DnaIoBench, MeasuresTheWholeGenome) {
  Rng rng(test::test_seed());
  auto ref = test::random_genome(rng, 3, 5000, 20000);
  std::string path = test::write_genome(test::temp_dir(), "g.fa.gz", ref, fasta::Compression::bgzf);
  DnaIoBenchOptions o;
  o.window = 1000;
  o.batch = 2;
  o.min_seconds = 0.02;
  o.prefetch_threads = 1;
  DnaIoBenchResult r = bench_dna_io(path, o);
  int64_t bases = 0;
  for (const auto& c : ref) bases += static_cast<int64_t>(c.seq.size());
  EXPECT_EQ(r.bases, bases);
  EXPECT_EQ(r.contigs, 3);
  EXPECT_GT(r.stream.per_cpu_s, 0);
  EXPECT_GT(r.load.per_wall_s, 0);
  EXPECT_GT(r.windows.per_cpu_s, 0);
  EXPECT_GT(r.prefetch_windows_per_s, 0);
  std::string table = format_dna_io_bench(r, o);
  EXPECT_NE(table.find("stream into u8 token windows"), std::string::npos);
  EXPECT_NE(table.find("L = 1000"), std::string::npos);
}

}  // namespace
}  // namespace ms::dna
