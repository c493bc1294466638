// Fixtures for the DNA pipeline tests: small random genomes written as FASTA in the test's folder, drawn
// from chosen base statistics so that a model has something to learn (or classes something to tell apart).
#pragma once
#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kernels/random.h"
#include "tests/pipelines/cli_runner.h"
#include "tests/test_util.h"

namespace ms::test {

// Bases from a first-order chain: after base b, the next is (b + 1) % 4 with probability `stay`, else
// uniform over the other three. stay = 0.25 is i.i.d. uniform.
inline std::string chain_bases(Rng& rng, int64_t n, double stay) {
  static const char kBases[] = "ACGT";
  std::string s(static_cast<size_t>(n), 'A');
  int prev = static_cast<int>(rng.below(4));
  for (auto& c : s) {
    int b = prev;
    if (rng.uniform() < stay) {
      b = (prev + 1) % 4;
    } else {
      do b = static_cast<int>(rng.below(4));
      while (b == (prev + 1) % 4);
    }
    c = kBases[b];
    prev = b;
  }
  return s;
}

// Independent bases with probabilities p (A, C, G, T).
inline std::string composition_bases(Rng& rng, int64_t n, const std::array<double, 4>& p) {
  static const char kBases[] = "ACGT";
  std::string s(static_cast<size_t>(n), 'A');
  for (auto& c : s) {
    double u = rng.uniform();
    int b = 0;
    while (b < 3 && u >= p[b]) u -= p[b++];
    c = kBases[b];
  }
  return s;
}

struct FastaRecord {
  std::string name, seq;
};

// Writes a plain FASTA (60 bases per line) and returns its path.
inline std::string write_fasta(const std::string& path, const std::vector<FastaRecord>& records) {
  std::ofstream out(path);
  for (const auto& r : records) {
    out << '>' << r.name << '\n';
    for (size_t i = 0; i < r.seq.size(); i += 60) out << r.seq.substr(i, 60) << '\n';
  }
  return path;
}

// Runs the binary inside <root>/cli (test::temp_dir() would wipe the test's folder, fixtures included).
inline CliResult run_cli(const std::string& root, const std::vector<std::string>& args, double timeout_s = 120) {
  std::filesystem::create_directories(root + "/cli");
  return run_mambaseq(args, timeout_s, root + "/cli");
}

// A one-line "mambaseq: error: ..." as the last line of stderr, containing `needle`, and exit status 1.
inline void expect_one_line_error(const CliResult& r, const std::string& needle) {
  EXPECT_EQ(r.status, 1) << r.err;
  std::string e = r.err;
  while (!e.empty() && e.back() == '\n') e.pop_back();
  const size_t at = e.rfind("mambaseq: error: ");
  ASSERT_NE(at, std::string::npos) << e;
  EXPECT_EQ(e.find('\n', at), std::string::npos) << e;
  EXPECT_NE(e.find(needle, at), std::string::npos) << "expected '" << needle << "' in: " << e;
}

inline void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace ms::test
