// Index building and placement (.fai/.gzi next to the FASTA, or in the cache folder when that folder is
// read-only), staleness, plain-gzip refusal, and random access against the known content.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "io/dna_vocab.h"
#include "io/fasta_reader.h"
#include "tests/io/test_dna_fixtures.h"

namespace ms::fasta {
namespace {
namespace fs = std::filesystem;
using test::expect_error;

// Random ranges of every contig read through the index equal the written text (raw and as tokens).
// Returns false (without gtest assertions, so a forked child can use it) on a mismatch.
bool random_access_matches(const IndexedFasta& fa, const std::vector<test::FakeContig>& ref, Rng& rng, int n) {
  if (fa.contigs().size() != ref.size()) return false;
  for (int k = 0; k < n; ++k) {
    int c = static_cast<int>(rng.below(ref.size()));
    const std::string& s = ref[c].seq;
    if (fa.contigs()[c].name != ref[c].name || fa.contigs()[c].length != static_cast<int64_t>(s.size())) return false;
    int64_t a = static_cast<int64_t>(rng.below(s.size())), b = static_cast<int64_t>(rng.below(s.size() + 1));
    if (a > b) std::swap(a, b);
    if (fa.fetch_raw(c, a, b) != s.substr(a, b - a)) return false;
    std::vector<uint8_t> t(b - a), m(b - a);
    fa.fetch(c, a, b, t.data(), m.data());
    if (dna::decode(t.data(), m.data(), b - a) != s.substr(a, b - a)) return false;
  }
  return true;
}

TEST(FastaIndex, BuiltNextToFileForPlainAndBgzip) {
  Rng rng(test::test_seed());
  auto ref = test::random_genome(rng, 4, 1, 100000);
  std::string dir = test::temp_dir();
  for (Compression c : {Compression::none, Compression::bgzf}) {
    std::string path = test::write_genome(dir, c == Compression::none ? "g.fa" : "g.fa.gz", ref, c);
    IndexedFasta fa(path, dir + "/cache");
    EXPECT_FALSE(fa.index().in_cache);
    EXPECT_EQ(fa.index().fai, path + ".fai");
    EXPECT_TRUE(fs::exists(path + ".fai"));
    EXPECT_EQ(fs::exists(path + ".gzi"), c == Compression::bgzf);
    EXPECT_FALSE(fs::exists(dir + "/cache"));
    EXPECT_TRUE(random_access_matches(fa, ref, rng, 200));
    EXPECT_EQ(fa.contig(ref[2].name), 2);
    expect_error([&] { fa.contig("no_such"); }, {"no_such", "g.fa"});
  }
}

TEST(FastaIndex, StaleIndexIsRebuilt) {
  Rng rng(test::test_seed());
  std::string dir = test::temp_dir();
  auto a = test::random_genome(rng, 2, 100, 1000);
  std::string path = test::write_genome(dir, "g.fa.gz", a, Compression::bgzf);
  { IndexedFasta fa(path); }
  auto b = test::random_genome(rng, 3, 100, 1000);
  test::write_genome(dir, "g.fa.gz", b, Compression::bgzf);
  fs::last_write_time(path, fs::last_write_time(path + ".fai") + std::chrono::seconds(5));
  IndexedFasta fa(path);
  EXPECT_TRUE(random_access_matches(fa, b, rng, 50));
}

TEST(FastaIndex, PlainGzipRefusedWithBgzipAdvice) {
  Rng rng(test::test_seed());
  std::string path = test::write_genome(test::temp_dir(), "g.fa.gz", test::random_genome(rng, 2, 10, 100), Compression::gzip);
  EXPECT_EQ(check_fasta_file(path), Compression::gzip);
  expect_error([&] { IndexedFasta fa(path); }, {"g.fa.gz", "plain gzip", "bgzip", "streamed"});
  EXPECT_FALSE(fs::exists(path + ".fai"));
}

TEST(FastaIndex, InconsistentLinesAreAnError) {
  std::string dir = test::temp_dir();
  test::write_file(dir + "/bad.fa", ">a\nACGTACGT\nACG\nACGTACGT\n", Compression::none);
  expect_error([&] { IndexedFasta fa(dir + "/bad.fa"); }, {"bad.fa", "same length"});
}

TEST(FastaIndex, ReadOnlyFolderUsesCache) {
  Rng rng(test::test_seed());
  auto ref = test::random_genome(rng, 3, 1000, 50000);
  std::string dir = test::temp_dir();
  fs::create_directories(dir + "/ro");
  fs::create_directories(dir + "/cache");
  std::string path = test::write_genome(dir + "/ro", "g.fa.gz", ref, Compression::bgzf);
  chmod((dir + "/ro").c_str(), 0555);
  chmod((dir + "/cache").c_str(), 0777);
  chmod(dir.c_str(), 0755);
  // Root ignores permissions, so as root the check runs in a child that drops to user 'nobody'.
  const bool root = geteuid() == 0;
  auto check = [&]() -> int {
    IndexedFasta fa(path, dir + "/cache");
    if (!fa.index().in_cache) return 3;
    if (fa.index().fai.rfind(dir + "/cache/faidx/g.fa.gz.", 0) != 0) return 4;
    if (!fs::exists(fa.index().gzi)) return 5;
    if (!random_access_matches(fa, ref, rng, 100)) return 6;
    IndexedFasta again(path, dir + "/cache");  // reuses the cached index
    return again.index().fai == fa.index().fai ? 0 : 7;
  };
  int rc = 0;
  if (root) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 9;
      if (setgid(65534) == 0 && setuid(65534) == 0) {
        try {
          code = check();
        } catch (const std::exception& e) {
          std::fprintf(stderr, "child: %s\n", e.what());
          code = 2;
        }
      }
      _exit(code);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    rc = WIFEXITED(status) ? WEXITSTATUS(status) : 100;
  } else {
    rc = check();
  }
  chmod((dir + "/ro").c_str(), 0755);
  if (rc == 9) GTEST_SKIP() << "running as root and cannot switch to user nobody to make a folder read-only";
  EXPECT_EQ(rc, 0) << "3: not in cache, 4: wrong cache name, 5: no .gzi, 6: content, 7: not reused, 2: error";
  EXPECT_FALSE(fs::exists(path + ".fai"));
}

}  // namespace
}  // namespace ms::fasta
